"""一件事 bundles: situations decide the items and materials, waivers come from the records, the
library and the bundle's own earlier items; bundles are versioned data."""

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from xiaobao.db import now
from xiaobao.govdata.bundles import (
    WALK_MINUTES,
    Bundle,
    BundleError,
    BundleWalk,
    check_answers,
    choose,
    next_question,
    plan,
    preset_answers,
    validated,
)
from xiaobao.govdata.records import Person
from xiaobao.identity.audit import AuditEntry

FOLDER = Path(__file__).resolve().parents[2] / "demo" / "bundles"
PERSON = Person(ref="p-1", name="张示例", id_number="310113194003010027", hukou_address="上海市宝山区示例路1弄1号")


def demo(bundle_id: str) -> Bundle:
    return Bundle.model_validate(json.loads((FOLDER / f"{bundle_id}.json").read_text(encoding="utf-8")))


def test_the_demo_bundles_are_valid_sample_data():
    bundles = [validated(json.loads(p.read_text(encoding="utf-8"))) for p in sorted(FOLDER.glob("*.json"))]
    assert {b.name for b in bundles} >= {"开办企业一件事", "出生一件事", "退休一件事"}
    assert all(b.sample for b in bundles)


def test_the_answers_decide_the_questions_asked_and_the_items():
    bundle = demo("business-startup")
    assert next_question(bundle, {}).id == "form"
    # 是否需要刻章 is asked of a company only
    assert next_question(bundle, {"form": "个体工商户", "food": "是"}).id == "invoice"
    assert next_question(bundle, {"form": "有限责任公司", "food": "是"}).id == "seal"
    answers = {"form": "有限责任公司", "food": "是", "seal": "否", "invoice": "是", "staff": "否"}
    result = plan(bundle, 1, answers, (PERSON, None), {})
    assert [i["name"] for i in result.items] == ["有限责任公司设立登记（一人有限责任公司）", "食品经营许可证新办", "新办纳税人发票申领"]
    shop = plan(bundle, 1, {**answers, "form": "个体工商户", "food": "否"}, (PERSON, None), {})
    assert [i["item_id"] for i in shop.items] == ["BS-ITEM-001", None]


def test_materials_are_waived_by_records_the_library_and_earlier_items():
    bundle = demo("business-startup")
    answers = {"form": "有限责任公司", "food": "是", "seal": "否", "invoice": "否", "staff": "否"}
    library = {"股东决定": {"id": "m1", "name": "股东决定.docx", "valid_until": "2099-01-01"}}
    result = plan(bundle, 1, answers, (PERSON, None), library)
    waived = {(m.name, m.item): m.reason for m in result.waived}
    assert "人口库" in waived[("股东身份证件", "有限责任公司设立登记（一人有限责任公司）")]
    assert "电子材料库已有（股东决定.docx，有效期至 2099-01-01）" in waived[("股东决定", "有限责任公司设立登记（一人有限责任公司）")]
    assert "办结后共享" in waived[("营业执照", "食品经营许可证新办")]
    assert [m.name for m in result.to_submit] == ["公司章程", "住所（经营场所）使用承诺书", "食品经营许可申请书", "经营场所使用证明"]
    # without the data the government holds, the same material must be submitted
    bare = plan(bundle, 1, answers, (Person(ref="p-2", name="无", id_number=""), None), {})
    assert "股东身份证件" in [m.name for m in bare.to_submit]
    # not identified: what may be waived is said to depend on logging in
    anonymous = plan(bundle, 1, answers, None, {})
    assert {m.name for m in anonymous.materials if m.status == "login"} >= {"股东身份证件", "股东决定"}


def test_birth_and_retirement_bundles():
    birth = plan(demo("birth"), 1, {"hukou": "是", "medical": "否", "maternity": "否"}, (PERSON, None), {})
    assert [i["name"] for i in birth.items] == ["出生医学证明签发", "新生儿户口登记"]
    assert {m.name for m in birth.waived} == {"父母身份证件", "出生医学证明", "父母户口簿"}
    assert [m.name for m in birth.to_submit] == ["父母结婚证"]
    retire = plan(demo("retirement"), 1, {"kind": "灵活就业人员", "transfer": "否"}, (PERSON, None), {})
    assert "退休申请（单位申报）" not in [i["name"] for i in retire.items]
    assert [m.name for m in retire.to_submit] == ["本人银行账户"]  # the person's record has no bank account


def test_replies_are_read_as_choices():
    bundle = demo("business-startup")
    form, food = bundle.questions[0], bundle.questions[1]
    assert choose(form, "个体户吧") == "个体工商户" and choose(form, "有限公司") == "有限责任公司"  # a choice said short
    assert choose(form, "合伙企业") is None
    assert choose(form, "个体工商户") == choose(form, "2") == "个体工商户"
    assert choose(form, "开个有限责任公司") == "有限责任公司"
    assert [choose(food, t) for t in ("需要", "不需要", "有的", "没有", "是的", "1", "天气")] == ["是", "否", "是", "否", "是", "是", None]
    assert [choose(food, t) for t in ("暂时不招", "目前还没有", "暂不需要", "先要着")] == ["否", "否", "否", "是"]  # hedged
    assert preset_answers(bundle, "我要开饭店需要办哪些事") == {"food": "是"}
    with pytest.raises(BundleError, match="没有问题 colour"):
        check_answers(bundle, {"colour": "红"})
    with pytest.raises(BundleError, match="应为：有限责任公司、个体工商户"):
        check_answers(bundle, {"form": "合伙企业"})


def test_a_bundle_that_refers_to_nothing_is_refused_with_the_reason():
    data = json.loads((FOLDER / "birth.json").read_text(encoding="utf-8"))
    data["materials"][0]["item"] = "不存在的事项"
    with pytest.raises(BundleError, match="不存在的事项"):
        validated(data)
    data = json.loads((FOLDER / "birth.json").read_text(encoding="utf-8"))
    data["questions"][2]["when"] = {"medical": ["也许"]}
    with pytest.raises(BundleError, match="“也许”不是问题 medical 的选项"):
        validated(data)


@pytest.mark.databases
def test_versions_are_kept_and_the_newest_is_used(services):
    bundles = services.bundles
    assert bundles.seed(FOLDER) == 3 and bundles.seed(FOLDER) == 0
    data = bundles.get("birth")[0].model_dump(mode="json")
    data["questions"][0]["text"] = "新生儿是否在宝山区落户？"
    saved = bundles.save("birth", data, "editor-1", "改问法")
    assert saved["version"] == 2 and bundles.get("birth")[1] == 2
    assert bundles.get("birth")[0].questions[0].text == "新生儿是否在宝山区落户？"
    assert bundles.get("birth", 1)[0].questions[0].text == "新生儿是否随父母一方在本市落户？"  # the old one stays readable
    assert [v["author"] for v in bundles.versions("birth")] == ["seed", "editor-1"]
    with pytest.raises(BundleError, match="不一致"):
        bundles.save("retirement", data, "editor-1")
    with pytest.raises(BundleError, match="questions"):
        bundles.save("birth", {**data, "questions": []}, "editor-1")
    assert bundles.get("birth")[1] == 2  # refused saves change nothing
    with Session(services.db_engine) as session:
        assert session.scalars(select(AuditEntry.action).where(AuditEntry.object_id == "birth")).all() == ["publish_bundle"]
    assert bundles.find("孩子出生了要办哪些手续")[0].id == "birth"
    assert bundles.find("我要开饭店需要办哪些事")[0].id == "business-startup"
    assert bundles.find("我想开个公司，要办哪些手续")[0].id == "business-startup"  # 开个公司 names 开公司
    assert bundles.find("开家小吃店要办什么")[0].id == "business-startup"
    assert bundles.find("居住证") is None


def test_a_walk_left_too_long_is_over(services):
    bundles = services.bundles
    bundles.seed(FOLDER)
    bundles.remember("s-1", "birth", 1, {"hukou": "是"}, done=False)
    assert bundles.walk("s-1")[2] == {"hukou": "是"}
    with Session(services.db_engine) as session:
        session.get(BundleWalk, "s-1").updated_at = now() - dt.timedelta(minutes=WALK_MINUTES + 1)
        session.commit()
    assert bundles.walk("s-1") is None
    bundles.remember("s-1", "birth", 1, {}, done=True)  # a finished walk is forgotten
    with Session(services.db_engine) as session:
        assert session.get(BundleWalk, "s-1") is None
