"""The registered-address library: an address as citizens write it, standardised, and looked up
through the Directory (the unit, else the building the library lists whole)."""

import json

import pytest

from tests.conftest import DEMO_SERVICES
from xiaobao.govdata.addresses import AddressError, check_address, standardise


@pytest.mark.parametrize(
    "written, standard",
    [
        ("这个地址能注册公司吗：宝山区沪太路６６５５号２号楼３楼３０１", "上海市宝山区沪太路6655号2幢301室"),
        ("我想用沪太路6655号2-301注册公司", "上海市宝山区沪太路6655号2幢301室"),
        ("上海市宝山区沪太路6655号2栋301房", "上海市宝山区沪太路6655号2幢301室"),
        ("共和新路100弄2-301", "上海市宝山区共和新路100弄2号301室"),
        ("长江西路500号A座12层1201室", "上海市宝山区长江西路500号A幢1201室"),
        ("上海市宝山区罗店镇美丹路12号", "上海市宝山区美丹路12号"),
        ("宝山区友谊路街道友谊路1号5栋1203室可以注册吗", "上海市宝山区友谊路1号5幢1203室"),
        ("请问殷高西路200号1幢三层", "上海市宝山区殷高西路200号1幢3层"),
        ("沪太公路1号", "上海市宝山区沪太公路1号"),
        ("样板街8号", "上海市宝山区样板街8号"),
        ("沪太路1号十二幢二十三层", "上海市宝山区沪太路1号12幢23层"),
        ("沪太路1号十十幢", "上海市宝山区沪太路1号十十幢"),  # not a numeral: kept as written, never an error
    ],
)
def test_an_address_is_standardised_however_it_is_written(written, standard):
    assert "".join(standardise(written)) == standard


def test_the_library_s_own_addresses_are_already_standard():
    for line in (DEMO_SERVICES / "addresses.jsonl").read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        assert "".join(standardise(entry["address"])) == entry["address"] and entry["sample"] is True


@pytest.mark.parametrize(
    "text, message, no_address",
    [
        ("浦东新区张江路1号", "只收录宝山区的地址，这个地址在浦东新区", False),
        ("宝山区哪里可以注册公司", "没有读出地址", True),
        ("", "没有读出地址", True),
    ],
)
def test_no_address_or_another_district_is_said_so(text, message, no_address):
    with pytest.raises(AddressError, match=message) as raised:
        standardise(text)
    assert raised.value.no_address is no_address


def test_a_unit_a_whole_building_a_suspended_one_and_one_not_in_the_library(services_data):
    unit = check_address(services_data, "共和新路100弄2号302室")
    assert unit.entry.id == "ADDR-005" and unit.to_dict()["waives_proof"] and unit.entry.kind == "集中登记地"
    assert "属于“示例众创空间”（集中登记地）" in unit.summary() and "（示例数据）" in unit.summary()
    room = check_address(services_data, "沪太路6655号2幢808室")  # the whole 2幢 is in the library
    assert room.entry.id == "ADDR-001" and "整个“上海市宝山区沪太路6655号2幢”" in room.summary()
    assert check_address(services_data, "沪太路6655号3幢103室").entry is None  # 3幢: only 101室 and 102室
    factory = check_address(services_data, "牡丹江路88号")
    assert factory.to_dict()["may_register"] and not factory.to_dict()["waives_proof"] and "仍需提交住所使用证明" in factory.summary()
    paused = check_address(services_data, "殷高西路200号1幢101室")
    assert paused.in_library and not paused.to_dict()["may_register"] and "暂停登记" in paused.summary()
    outside = check_address(services_data, "沪太路1号")
    assert not outside.in_library and outside.standard == "上海市宝山区沪太路1号" and "不在企业住所地址库中" in outside.summary()
