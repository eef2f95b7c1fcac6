"""The registered-address library (企业住所地址库, 无忧快注): whether a company may be registered at
an address without proving the premises itself, and which park (园区, 集中登记地) the address belongs to.

A citizen writes an address as they like (全角数字, 2号楼 / 2栋 / 2幢, 3楼301 / 301室, with or
without 上海市宝山区); `standardise` turns it into the one form the library keeps
(上海市宝山区沪太路6655号2幢301室), and `check_address` looks it up through the `Directory`: the unit itself,
else the building or number it lies in when the library lists that whole (scope "building")."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass

from xiaobao.govdata.records import Directory, RegisteredAddress

CITY, DISTRICT = "上海市", "宝山区"
OTHER_DISTRICTS = ("黄浦", "徐汇", "长宁", "静安", "普陀", "虹口", "杨浦", "闵行", "嘉定", "浦东新", "金山", "松江", "青浦", "奉贤", "崇明")
_DIGITS = "零一二三四五六七八九"
# a road, then its number: 沪太路6655号, 沪太公路1号, 样板街8号, 共和新路100弄
_ROAD_END = re.compile(r"(?:公路|大道|路|街|巷)(?=\d)")
# where the words before an address end: a stop character, or anything that is not a Chinese character
_BEFORE_ROAD = re.compile(r"[\u4e00-\u9fff]{1,10}$")
_STOP = "用在以把是吗问的要想"
_TOWN = re.compile(r"^[\u4e00-\u9fff]{2,4}?(?:镇|街道)(?=[\u4e00-\u9fff]{2})")
# one part after the road's number: a number (or letter) and its unit
_PART = re.compile(r"([A-Z]?\d+[A-Z]?|[A-Z]|[一二三四五六七八九十]+)(号楼|幢|栋|座|号|弄|单元|层|楼|室|房|铺|-)?")
_UNITS = {"号楼": "幢", "栋": "幢", "座": "幢", "楼": "层", "房": "室", "铺": "室"}


class AddressError(ValueError):
    """No address could be read from the text (no_address), or it lies in another district; the
    message says which and what to write."""

    def __init__(self, message: str, no_address: bool = True) -> None:
        super().__init__(message)
        self.no_address = no_address


def _number(text: str) -> str:
    """一 … 九十九 as digits (三层 → 3, 十二 → 12); anything else (digits, letters, 三四) stays as it is."""
    if len(text) == 1 and text in _DIGITS[1:]:
        return str(_DIGITS.index(text))
    tens = re.fullmatch(f"([{_DIGITS[1:]}]?)十([{_DIGITS[1:]}]?)", text)
    if tens is None:
        return text
    return str((_DIGITS.index(tens.group(1)) if tens.group(1) else 1) * 10 + (_DIGITS.index(tens.group(2)) if tens.group(2) else 0))


def _parts(tail: str, after: str) -> list[str]:
    """The parts after the road's number (after = 号 or 弄), each as number + standard unit."""
    parts: list[str] = []
    pos = 0
    while pos < len(tail) and (found := _PART.match(tail, pos)):
        number, unit = _number(found.group(1)), found.group(2)
        pos = found.end()
        if unit == "-":  # 2-301: a building (under a 弄, a 号) and its room
            unit = "号" if after == "弄" and not parts else "幢"
            parts.append(number + unit)
            continue
        if unit is None:  # a bare number: the room, once the building is given
            if number.isdigit() or parts:
                parts.append(number + "室")
            break
        unit = _UNITS.get(unit, unit)
        if unit == "号" and after != "弄":  # 6655号2号: the second 号 is a building
            unit = "幢"
        parts.append(number + unit)
    # 3层301室: the floor is in the room's number already
    floor = next((p for p in parts if p.endswith("层")), None)
    room = next((p for p in parts if p.endswith("室")), None)
    if floor and room and room.startswith(floor[:-1]):
        parts.remove(floor)
    return parts


def standardise(text: str) -> list[str]:
    """The standard address of the first address in `text`, as its parts: [上海市宝山区沪太路, 6655号,
    2幢, 301室] ("".join gives the address). Raises AddressError when there is none, or when it lies in
    another district (the library is Baoshan's)."""
    plain = re.sub(r"\s", "", unicodedata.normalize("NFKC", text)).upper().replace("—", "-")
    plain = plain.rpartition(":")[2] if ":" in plain and _ROAD_END.search(plain.rpartition(":")[2]) else plain
    for other in OTHER_DISTRICTS:
        if f"{other}区" in plain:
            raise AddressError(f"企业住所地址库只收录{DISTRICT}的地址，这个地址在{other}区。", no_address=False)
    plain = plain.rpartition(DISTRICT)[2] if DISTRICT in plain else plain.rpartition("上海市")[2]
    road_end = _ROAD_END.search(plain)
    if road_end is None:
        raise AddressError("没有读出地址。请写出路名和门牌号，例如：宝山区沪太路6655号2幢301室。")
    before = plain[: road_end.start()]
    before = re.split(f"[{_STOP}]", before)[-1]
    road = _BEFORE_ROAD.search(before)
    if road is None:
        raise AddressError("没有读出路名。请写出路名和门牌号，例如：宝山区沪太路6655号2幢301室。")
    name = _TOWN.sub("", road.group(0)) + road_end.group(0)
    rest = plain[road_end.end() :]
    number = re.match(r"(\d+)(号|弄)?", rest)
    after = number.group(2) or "号"
    return [f"{CITY}{DISTRICT}{name}", number.group(1) + after, *_parts(rest[number.end() :], after)]


@dataclass
class AddressCheck:
    asked: str  # what the citizen wrote
    standard: str  # the standardised address
    entry: RegisteredAddress | None  # the library's entry: this unit, or the building it lies in

    @property
    def in_library(self) -> bool:
        return self.entry is not None

    def to_dict(self) -> dict:
        return {
            **asdict(self),
            "entry": self.entry.model_dump(mode="json") if self.entry else None,
            "in_library": self.in_library,
            "may_register": self.in_library and self.entry.status == "可登记",
            "waives_proof": self.in_library and self.entry.status == "可登记" and self.entry.waives_proof,
        }

    def summary(self) -> str:
        """The answer in words."""
        entry = self.entry
        if entry is None:
            return (
                f"标准地址：{self.standard}。这个地址不在企业住所地址库中，以它登记住所需要按一般程序提交住所（经营场所）"
                "使用证明（如产权证明、租赁合同）。也可以选择地址库中园区或集中登记地的地址。"
            )
        sample = "（示例数据）" if entry.sample else ""
        where = f"标准地址：{self.standard}。在企业住所地址库中{sample}，属于“{entry.park}”（{entry.kind}）"
        where += "。" if entry.address == self.standard else f"，该{entry.kind}登记的是整个“{entry.address}”。"
        if entry.status != "可登记":
            return where + f"但目前{entry.status}，暂不能以此地址新设登记。" + (f"{entry.note}。" if entry.note else "")
        proof = "办理设立登记时可免于提交住所使用证明。" if entry.waives_proof else "但以此地址登记仍需提交住所使用证明。"
        return where + proof + (f"说明：{entry.note}。" if entry.note else "")


def check_address(directory: Directory, text: str) -> AddressCheck:
    """Standardise the citizen's address and look it up: the address itself, else the building (and
    then the number) it lies in, where the library lists that whole. Raises AddressError."""
    parts = standardise(text)
    standard = "".join(parts)
    for end in range(len(parts), 1, -1):
        entry = directory.address("".join(parts[:end]))
        if entry is not None and (end == len(parts) or entry.scope == "building"):
            return AddressCheck(text, standard, entry)
    return AddressCheck(text, standard, None)
