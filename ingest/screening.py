"""Text that reads as an instruction to the model: it has no place in a question, a document or an answer.

Matching runs on a normalised copy of the text — NFKC (full-width letters, compatibility forms),
traditional characters as simplified (OpenCC t2s), lower case, no spacing between Chinese characters
and, for most patterns, no spacing or punctuation at all — so 忽 略 以 上 指 令, 無視之前的所有規則 and
ｉｇｎｏｒｅ ａｌｌ ｐｒｅｖｉｏｕｓ ｉｎｓｔｒｕｃｔｉｏｎｓ read as what they are. What is returned is always the
original text (the span that matched, or its sentence), never the normalised copy.

The patterns are tuned on the statute corpus and the service guides (`python -m xiaobao.eval.screening`):
official text speaks of 越狱, of rights 不受限制 and of 系统提示 on a web form, so those words count only
in the shape of an order to the model."""

from __future__ import annotations

import re
import unicodedata
from functools import cache

# matched on the squeezed view: no spaces, no punctuation, no symbols
_SQUEEZED = re.compile(
    r"(忽略|无视|忘记|忘掉|不要理会|不用理会|别管|跳过)(掉)?(你)?(之前|以上|上述|前面|先前|此前|所有|全部|一切)?(的)?(所有|全部|任何)?"
    r"(你的)?(审查|审核|权限|安全|内容)?(指令|指示|规则|设定|提示词|限制|系统提示|检查)"
    r"|(系统|开发者)(提示词|指令)|你的?提示词|(开发者|设计者)(给|对)你.{0,6}(规则|指令|设定|要求)|(开发者|管理员|上帝)模式"
    r"|(你|助手|模型|ai)(现在|从现在开始|已经)?(是|扮演|充当|成为)(一个)?(不受限制|没有限制|无限制|新的)"
    r"|扮演.{0,10}(官员|区长|局长|工作人员|客服)"
    r"|(你|助手|模型|ai).{0,8}不受(任何)?(限制|约束)|从现在(开始|起)(你)?不受(任何)?(限制|约束)"
    r"|我是.{0,10}(区长|局长|领导|管理员)"
    r"|(标记|设置|改)(为|成)(已)?(通过|批准|办结)"
    r"|越狱(模式|版|指令|提示)|jailbreak|developermode"
    r"|ignore(all|any)?(the|your)?(previous|prior|above|earlier)(instructions?|rules|prompts?)"
    r"|disregard(all|the)?(previous|above)|reveal(your|the)(system)?(prompt|instructions)|systemprompt|systemmessage"
    r"|instructions(were|have)you(been)?given",
)
# matched on the plain view (punctuation kept, spaces only between words of other scripts): headers
# that announce an order, citation markers, short English phrases that need their word boundaries
_PLAIN = re.compile(
    r"[【\[]\s?(系统|system|指令|管理员)(\s?(提示|消息|指令|prompt|message))?\s?[】\]]"
    r"|(系统|开发者)(提示|消息)\s?[:：]\s?(?=[\u4e00-\u9fff]{0,12}(你|以后|今后|每次|所有|把|将|忽略|告诉|回答|发送|附上))"
    r"|(?<![a-z])system( prompt)?\s?[:：]|(?<![a-z])prompt(?![a-z])"
    r"|引用(资料|条款|口径)?\s?[\[【［]\d+[\]】］]"
    r"|(?<![a-z])(you are now|act as|pretend (to be|you are))(?![a-z])",
)
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


@cache
def _converter():
    import opencc

    return opencc.OpenCC("t2s")


def _simplified(text: str) -> str:
    converted = _converter().convert(text)
    if len(converted) == len(text):
        return converted
    return "".join(c if len(c := _converter().convert(ch)) == 1 else ch for ch in text)  # keep one character per character


def _views(text: str) -> tuple[str, list[int], str, list[int]]:
    """(plain view, its map to original positions, squeezed view, its map)."""
    chars: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        for n in unicodedata.normalize("NFKC", ch):
            if unicodedata.category(n) in ("Cc", "Cf") and n not in "\n\t":
                continue  # control and zero-width characters hide words
            chars.append(n)
            where.append(i)
    folded = _simplified("".join(chars)).lower()
    following, after = [""] * len(folded), ""  # the next character that is not a space
    for k in range(len(folded) - 1, -1, -1):
        following[k] = after
        if not folded[k].isspace():
            after = folded[k]
    plain, plain_at = [], []
    for k, ch in enumerate(folded):
        if ch.isspace():
            before, after = (plain[-1] if plain else ""), following[k]
            if not before or not after or before == " " or _CJK.match(before) or _CJK.match(after):
                continue  # spacing next to a Chinese character is not a word break
            ch = " "
        plain.append(ch)
        plain_at.append(where[k])
    squeezed = [(ch, at) for ch, at in zip(plain, plain_at, strict=True) if unicodedata.category(ch)[0] in "LNM"]
    return "".join(plain), plain_at, "".join(ch for ch, _ in squeezed), [at for _, at in squeezed]


def matches(text: str) -> list[tuple[int, int]]:
    """Where in the original text something reads as an instruction: (start, end) spans, in order."""
    if not text:
        return []
    plain, plain_at, squeezed, squeezed_at = _views(text)
    spans = set()
    for view, at, pattern in ((plain, plain_at, _PLAIN), (squeezed, squeezed_at, _SQUEEZED)):
        spans.update((at[m.start()], at[m.end() - 1] + 1) for m in pattern.finditer(view) if m.end() > m.start())
    return sorted(spans)


def suspicious(text: str) -> str | None:
    """The part of the text that reads as an instruction to the model, if any (as written)."""
    found = matches(text)
    return text[found[0][0] : found[0][1]] if found else None


_SENTENCE_END = re.compile(r"(?<=[。！？!?；;\n])")


def flags(text: str) -> list[dict]:
    """A flag for each sentence that reads as an instruction: {"reason": "instruction_like", "span":
    what matched, "sentence": its sentence}, both as written. The text itself is never changed."""
    found, start = [], 0
    for sentence in _SENTENCE_END.split(text):
        for a, b in matches(sentence):
            found.append({"reason": "instruction_like", "span": sentence[a:b], "sentence": sentence.strip(), "at": start + a})
            break
        start += len(sentence)
    return found
