"""Importing a published service catalogue: the mapping, bad lines, re-imports, the demo items on
top, and the real Guangdong guides (when ../shared/data is there)."""

import json
from pathlib import Path

import pytest

from tests.conftest import DEMO_SERVICES, write
from xiaobao.govdata.catalogue import CatalogueError, import_catalogue, working_days

GUANGDONG = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "corpus" / "service-guides" / "guangdong-2021.jsonl"
GUIDE = {
    "id": "11440000MB2C90000X4442000001",
    "name": "户外广告设施设置审批",
    "department": "示例市城市管理局",
    "item_type": "行政许可",
    "level": "市级",
    "conditions": "设置户外广告设施符合规划。",
    "materials": ["设置申请表", "设计效果图"],
    "location": "办理地点：示例市政务服务中心",
    "time_limit_legal": "20(工作日)",
    "time_limit_promised": "5(工作日)",
    "phone": "020-00000000",
    "url": None,
    "service_objects": ["企业法人", "其他组织"],
}


def lines(*records) -> str:
    return "\n".join(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in records) + "\n"


def test_a_guide_becomes_a_service_item_with_its_guide(services, services_data, tmp_path):
    person_item = {**GUIDE, "id": "P-1", "name": "个人事项", "service_objects": ["自然人", "企业法人"], "time_limit_promised": "即办"}
    demo_clash = {**GUIDE, "id": "BS-ITEM-007", "name": "同编号的外部事项"}
    path = write(tmp_path / "guides.jsonl", lines(GUIDE, person_item, "{not json", {"id": "X"}, demo_clash, ""))
    ticks = []
    summary = import_catalogue(services.db_engine, path, "示例省", on_item=lambda: ticks.append(1))
    assert (summary.read, summary.added, summary.kept_sample, len(ticks)) == (5, 2, 1, 3)
    assert [e.split("：")[0] for e in summary.errors] == ["第 3 行", "第 4 行"]
    item = services_data.item(GUIDE["id"])
    assert (item.applicant, item.promised_days, item.department) == ("enterprise", 5, "示例市城市管理局")
    assert item.guide.region == "示例省" and item.guide.materials == ["设置申请表", "设计效果图"] and item.guide.url is None
    assert item.form == [] and item.materials == []  # nothing to prefill or pre-review: the guide only
    other = services_data.item("P-1")
    assert other.applicant == "person" and other.promised_days is None and other.guide.time_limit_promised == "即办"
    assert services_data.item("BS-ITEM-007").name == "食品经营许可证新办"  # the demo item is kept
    assert [i.id for i in services_data.items()][:6] == [
        "BS-ITEM-001",
        "BS-ITEM-003",
        "BS-ITEM-005",
        "BS-ITEM-006",
        "BS-ITEM-007",
        "BS-ITEM-008",
    ]


def test_reimport_updates_in_place(services, services_data, tmp_path):
    path = write(tmp_path / "guides.jsonl", lines(GUIDE))
    import_catalogue(services.db_engine, path, "示例省")
    assert import_catalogue(services.db_engine, path, "示例省").unchanged == 1
    write(path, lines({**GUIDE, "time_limit_promised": "3(工作日)"}))
    assert import_catalogue(services.db_engine, path, "示例省").updated == 1
    assert services_data.item(GUIDE["id"]).promised_days == 3
    with pytest.raises(CatalogueError, match="无法读取"):
        import_catalogue(services.db_engine, tmp_path / "absent.jsonl", "示例省")


def test_working_days():
    assert [working_days(t) for t in ("7(工作日)", "30（工作日）", "即办", None)] == [7, 30, None, None]


def test_the_guide_tool_answers_from_an_imported_item_and_names_its_region(services, services_data, tmp_path):
    import_catalogue(services.db_engine, write(tmp_path / "g.jsonl", lines(GUIDE)), "示例省")
    reply = services.tools.call("service_guide", {"item": "户外广告"}, session_id="s", user_ref=None)
    assert reply.ok and reply.text.startswith("以下为示例省发布的办事指南，不是宝山区的规定")
    assert "1. 设置申请表；2. 设计效果图" in reply.text and "法定 20(工作日)，承诺 5(工作日)" in reply.text
    assert "办理地点：示例市政务服务中心" in reply.text and "办理地点：办理地点" not in reply.text
    demo = services.tools.call("service_guide", {"item": "食品经营许可证新办"}, session_id="s", user_ref=None)
    assert "宝山区市场监督管理局" in demo.text and "示例省" not in demo.text
    assert not services.tools.call("service_guide", {"item": "不存在的事项"}, session_id="s", user_ref=None).ok


@pytest.mark.skipif(not GUANGDONG.exists(), reason="../shared/data is not here")
def test_the_real_guangdong_guides_import_completely(services, services_data):
    summary = import_catalogue(services.db_engine, GUANGDONG, "广东省")
    assert (summary.read, summary.added, summary.errors) == (2262, 2262, [])
    assert (summary.with_materials, summary.with_conditions) == (809, 1303)
    items = services_data.items()
    demo_items = sum(1 for line in (DEMO_SERVICES / "items.jsonl").read_text(encoding="utf-8").splitlines() if line.strip())
    assert len(items) == 2262 + demo_items and items[0].id == "BS-ITEM-001"
    priced = services_data.item("11440000006939756B2440101007000")
    assert priced.name == "临时价格干预范围事项提价申报" and priced.promised_days == 7 and priced.guide.materials == ["提价申报申请报告"]


def test_the_import_command_shows_a_summary_and_fails_on_bad_lines(tmp_path):
    from typer.testing import CliRunner

    from xiaobao.cli import app

    path = write(tmp_path / "guides.jsonl", lines(GUIDE, "{bad"))
    result = CliRunner().invoke(app, ["--data-dir", str(tmp_path / "var"), "catalogue", "import", str(path), "--region", "示例省"])
    assert result.exit_code == 1 and "读取 2 个事项：新增 1" in result.output and "第 2 行" in result.output
    missing = CliRunner().invoke(app, ["--data-dir", str(tmp_path / "var"), "catalogue", "import", str(path)])
    assert missing.exit_code == 2  # --region is required
