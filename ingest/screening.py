"""Text that reads as an instruction to the model: it has no place in a question, a document or an answer."""

from __future__ import annotations

import re

INJECTION = re.compile(
    r"(忽略|无视|忘记|不要理会|跳过)(掉)?(你)?(之前|以上|上述|前面|先前|所有|全部|一切)?(的)?(所有|全部)?(指令|指示|规则|要求|设定|提示|限制)"
    r"|(系统|开发者)(提示词|提示|指令|消息)|【?system( prompt)?】?[:：]|prompt|越狱|jailbreak|developer mode"
    r"|你(现在)?(是|扮演|充当)(一个)?(不受限制|没有限制|新的)|扮演.{0,10}(官员|区长|局长|工作人员|客服)|不受(任何)?(限制|约束)"
    r"|我是.{0,10}(区长|局长|领导|管理员)|(标记|设置|改)(为|成)(已)?(通过|批准|办结)|引用(资料|条款|口径)?\s*[\[【［]\d+[\]】］]"
    r"|ignore (all |any )?(the )?(previous|prior|above|earlier) (instructions|rules|prompts?)|disregard (all |the )?(previous|above)"
    r"|you are now|act as|pretend (to be|you are)|reveal (your|the) (system )?(prompt|instructions)",
    re.IGNORECASE,
)


def suspicious(text: str) -> str | None:
    """The part of the text that reads as an instruction to the model, if any."""
    found = INJECTION.search(text)
    return found.group(0) if found else None


def strip_injections(text: str) -> tuple[str, list[str]]:
    """The text without the sentences that give the model orders, and those sentences."""
    kept, removed = [], []
    for sentence in re.split(r"(?<=[。！？!?；;\n])", text):
        (removed if suspicious(sentence) else kept).append(sentence)
    return "".join(kept).strip(), [s.strip() for s in removed]
