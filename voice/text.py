"""Written Chinese as it is read aloud, before grapheme-to-phoneme conversion: dates, times, amounts,
percentages and ranges as words; ID-like digit strings (phone numbers, hotlines, ID and tracking
numbers) digit by digit, as a clerk reads them; 《》 titles without their brackets, citation marks not at all.
Then the text is cut into sentences, each synthesised (and sent) on its own so speech starts early;
a sentence is also the avatar's caption, so citation marks ([1]) are dropped there: the chat page
shows the sources, a subtitle that reads "[1]" says nothing."""

from __future__ import annotations

import re

DIGITS = "零一二三四五六七八九"
SPELLED = "零幺二三四五六七八九"  # digit by digit, 1 is read 幺 so that 1 and 7 are not confused
ID_LIKE = 5  # digit strings this long or longer are codes, not quantities (12345, 021-…, ID numbers)
SENTENCE_END = "。！？；!?;\n"
CLAUSE = 24  # characters: longer sentences are cut at a comma, into clauses of about this length (at about
# real time on two busy cores, a clause is heard a few seconds after it is checked; a whole sentence, ten or more)
LONGEST = 60  # characters: cut here when there is no comma (the model takes at most 510 phonemes)
FIRST = 12  # characters: the text's first piece, if longer, is cut at its first comma, for the first audio
# (of an answer: what the citizen waits for) comes from the shortest clause there is


def number(digits: str) -> str:
    """A quantity in words: 1500 → 一千五百, 3.5 → 三点五, 2000 → 两千."""
    import cn2an  # a third of a second to import: not at every start of the CLI

    words = cn2an.an2cn(digits)
    return re.sub(r"^二(?=[千万亿])", "两", words)


def spelled(code: str) -> str:
    """A code digit by digit; X (the check digit of an ID number) as 叉, other letters kept."""
    return "".join(SPELLED[int(c)] if c.isdigit() else "叉" if c in "xX" else c for c in code)


def _date(match: re.Match) -> str:
    year, month, day = match.group("y"), match.group("m"), match.group("d")
    words = "".join(DIGITS[int(c)] for c in year) + "年" if year else ""
    if month:
        words += number(str(int(month))) + "月"
    if day:
        words += number(str(int(day))) + ("日" if match.group("unit") != "号" else "号")
    return words


def _time(match: re.Match) -> str:
    hour, minute = int(match.group(1)), int(match.group(2))
    words = ("两" if hour == 2 else number(str(hour))) + "点"
    if minute:
        words += ("零" if minute < 10 else "") + number(str(minute)) + "分"
    return words


CITATION = re.compile(r"\[\d+\]")
RULES: list[tuple[re.Pattern, object]] = [
    (re.compile(r"https?://\S+|www\.\S+"), "页面上的网址"),  # a URL is not read out; the caption shows it
    (CITATION, ""),
    (re.compile(r"[《》〈〉「」『』【】]"), ""),  # title brackets
    # dates: 2024年3月5日, 2024-03-05, 2024/3/5, 3月5日, 2024年
    (re.compile(r"(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})(?P<unit>)"), _date),
    (re.compile(r"(?:(?P<y>\d{4})年)?(?P<m>\d{1,2})月(?:(?P<d>\d{1,2})(?P<unit>[日号]))?"), _date),
    (re.compile(r"(?P<y>\d{4})年(?P<m>)(?P<d>)(?P<unit>)"), _date),
    (re.compile(r"(?<!\d)([01]?\d|2[0-3])[:：]([0-5]\d)(?!\d)"), _time),
    # codes: long digit strings, with hyphens (021-12345678) or an ID number's trailing X
    (re.compile(rf"\d[\d-]{{{ID_LIKE - 2},}}\d[xX]?|\d{{{ID_LIKE},}}[xX]?"), lambda m: spelled(m.group().replace("-", ""))),
    (re.compile(r"(\d+(?:\.\d+)?)\s*[%％]"), lambda m: "百分之" + number(m.group(1))),
    (re.compile(r"(\d+(?:\.\d+)?)\s*[-~～—]\s*(\d+(?:\.\d+)?)"), lambda m: f"{number(m.group(1))}至{number(m.group(2))}"),
    (re.compile(r"\d+(?:\.\d+)?"), lambda m: number(m.group())),
]


def normalise(text: str) -> str:
    """The text as it is spoken (digits and symbols in words)."""
    for pattern, replacement in RULES:
        text = pattern.sub(replacement, text)
    return re.sub(r"\s+", " ", text).strip()


def _within_number(piece: str, i: int) -> bool:
    """A mark between two digits is part of a time or an amount (9:00, 1,500), not a pause."""
    return piece[i - 1].isdigit() and piece[i + 1].isdigit()


def _cut(piece: str, earliest: bool = False) -> int | None:
    """Where to cut a piece longer than a clause: after the last comma (or colon) within CLAUSE
    characters (`earliest`: the first), else after the first one; a list's 、 only when there is no
    comma; else at LONGEST."""
    for marks in ("，,：:", "、"):
        found = [i + 1 for i, c in enumerate(piece[:LONGEST]) if c in marks and 0 < i < len(piece) - 1 and not _within_number(piece, i)]
        if found:
            within = [i for i in found if i <= CLAUSE]
            return (within[0] if earliest else within[-1]) if within else found[0]
    return LONGEST if len(piece) > LONGEST else None


def sentences(text: str, first: bool = True) -> list[str]:
    """The text's sentences in order (each ending with its punctuation), long ones cut into clauses:
    each piece is synthesised on its own, and a short first piece is heard sooner. `first`: the text
    is the beginning of what is spoken, so its first piece is cut at its first comma when longer than
    FIRST (false for a sentence added to an answer already being spoken)."""
    text = CITATION.sub("", text)
    pieces = [p.strip() for p in re.split(rf"(?<=[{SENTENCE_END}])", text) if re.search(r"\w", p)]  # punctuation alone says nothing
    out: list[str] = []
    for piece in pieces:
        while len(piece) > (FIRST if first and not out else CLAUSE) and (cut := _cut(piece, earliest=first and not out)):
            out.append(piece[:cut])
            piece = piece[cut:].strip()
        if piece:
            out.append(piece)
    return out
