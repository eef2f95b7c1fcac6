"""Input guard: clean the message, refuse what cannot be a question, note personal data; the
content filter for words the service does not engage with; masking of personal data in logs."""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from xiaobao.govdata.codes import CREDIT_CODE, ID_NUMBER

MAX_CHARS = 500

PII_PATTERNS = {
    "id_card": ID_NUMBER,
    "phone": re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)"),
    "credit_code": CREDIT_CODE,
    "bank_card": re.compile(r"(?<!\d)\d{16,19}(?!\d)"),
}


PII_LABELS = {"id_card": "【身份证号】", "phone": "【手机号】", "credit_code": "【统一社会信用代码】", "bank_card": "【银行卡号】"}


def mask(text: str) -> str:
    """The text with personal numbers replaced by what they are, for anything that outlives the
    conversation (knowledge candidates, exports)."""
    for name, pattern in PII_PATTERNS.items():  # ID numbers before card numbers: 18 digits match both
        text = pattern.sub(PII_LABELS[name], text)
    return text


class BadMessage(ValueError):
    """The message cannot be processed; the text says why, in Chinese."""


@dataclass
class Checked:
    text: str
    pii: list[str] = field(default_factory=list)


def check(message: str) -> Checked:
    # control characters (but not line breaks) carry no meaning and can hide instructions
    text = "".join(ch for ch in message if ch in "\n\t" or unicodedata.category(ch)[0] != "C").strip()
    if not text:
        raise BadMessage("消息不能为空。")
    if len(text) > MAX_CHARS:
        raise BadMessage(f"消息太长了（{len(text)} 字），请控制在 {MAX_CHARS} 字以内。")
    found = [name for name, pattern in PII_PATTERNS.items() if pattern.search(text)]
    if "id_card" in found and "bank_card" in found and not PII_PATTERNS["bank_card"].search(PII_PATTERNS["id_card"].sub("", text)):
        found.remove("bank_card")  # an 18-digit ID number also looks like a card number
    return Checked(text, found)


# a small sample list; a deployment supplies the district's own (XIAOBAO_SENSITIVE_WORDS_FILE)
DEFAULT_SENSITIVE_WORDS = ("办假证", "代开发票", "买卖身份证", "出售个人信息", "赌博网站", "代办黑户", "刷单返利")
BLOCKED = "抱歉，这个问题小宝不能回答。如有需要，可以拨打12345市民服务热线。"
log = logging.getLogger("xiaobao.guard")


class ContentFilter:
    """Words the assistant neither answers about nor says; matched after removing spaces and
    punctuation, so 办 假 证 is 办假证."""

    def __init__(self, words) -> None:
        self.words = sorted({w.strip() for w in words if w.strip()}, key=len, reverse=True)

    @classmethod
    def load(cls, path: Path | None) -> ContentFilter:
        if path is None:
            return cls(DEFAULT_SENSITIVE_WORDS)
        return cls(line for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith("#"))

    def find(self, text: str) -> str | None:
        squeezed = re.sub(r"[\s\W_]+", "", text)
        return next((w for w in self.words if w in squeezed), None)


class MaskingFilter(logging.Filter):
    """Masks ID, phone, credit-code and bank-card numbers in every log record: its message, and the
    exception and stack it carries (an exception's text often quotes the input that caused it). The
    traceback is formatted here, masked and kept as `exc_text`, which formatters print instead of
    formatting `exc_info` again; `exc_info` is dropped so no handler formats the raw one."""

    _format = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask(record.getMessage())
        record.args = ()
        if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
            record.exc_text = self._format.formatException(record.exc_info)
        record.exc_info = None
        if record.exc_text:
            record.exc_text = mask(record.exc_text)
        if record.stack_info:
            record.stack_info = mask(record.stack_info)
        return True
