"""Check digits of the two numbers every form carries: the unified social credit code of an
organisation (GB 32100-2015) and the citizen ID number (GB 11643-1999)."""

from __future__ import annotations

import datetime as dt
import re

CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, S, V, Z
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"

CREDIT_CODE = re.compile(r"(?<![0-9A-Z])[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}(?![0-9A-Z])")
ID_NUMBER = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")


def credit_check_char(first17: str) -> str:
    total = sum(CREDIT_CHARS.index(c) * w for c, w in zip(first17, _CREDIT_WEIGHTS, strict=True))
    return CREDIT_CHARS[(31 - total % 31) % 31]


def valid_credit_code(code: str) -> bool:
    code = code.strip().upper()
    if len(code) != 18 or any(c not in CREDIT_CHARS for c in code):
        return False
    return credit_check_char(code[:17]) == code[17]


def id_check_char(first17: str) -> str:
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def valid_id_number(number: str) -> bool:
    number = number.strip().upper()
    if not re.fullmatch(r"\d{17}[\dX]", number):
        return False
    try:
        dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    return id_check_char(number[:17]) == number[17]
