"""Generated application materials: values from the sources with their source (the government's
records, then what the pre-review read in the applicant's uploads), questions for what no source
knows, conflicts, bad templates, templates' versions in the database, and the round trip through the
pre-review."""

import datetime as dt
import io
import json

import pytest
from docx import Document
from pypdf import PdfReader

from tests.conftest import DEMO_SERVICES
from xiaobao.govdata.materials import Template, TemplateError, clean, document, fits, generate, pdf, validated
from xiaobao.govdata.records import Enterprise, Person
from xiaobao.identity.audit import entries

DAY = dt.date(2026, 3, 1)


def record(kind, ref):
    shape, name = (Person, "persons") if kind == "person" else (Enterprise, "enterprises")
    rows = [json.loads(line) for line in (DEMO_SERVICES / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()]
    return shape.model_validate(next(r for r in rows if r["ref"] == ref))


@pytest.fixture
def templates(services, services_data):
    return services.templates.all()


def test_every_value_carries_its_source_and_the_rest_is_asked(templates):
    food = templates["food-licence-application"]
    result = generate(food, None, record("enterprise", "demo-enterprise-2"), on=DAY)
    sources = {f.name: (f.value, f.source) for f in result.fields}
    assert sources["credit_code"] == ("91310113MA1K3T2Q5W", "法人库")
    assert sources["premises"] == ("上海市宝山区样板街8号一层", "法人库") and sources["date"] == ("2026-03-01", "生成日期")
    assert [q["name"] for q in result.questions] == ["business_items"] and not result.complete
    done = generate(food, None, record("enterprise", "demo-enterprise-2"), {"business_items": "热食类食品制售"}, on=DAY)
    assert done.complete and next(f for f in done.fields if f.name == "business_items").source == "申请人填写"


def test_a_missing_source_is_asked_never_filled_from_another_field(templates):
    # the company's 住所 is asked: the founder's own address is not it
    founder = generate(templates["residence-use-commitment"], record("person", "demo-citizen-1"), None, on=DAY)
    assert "residence" in [q["name"] for q in founder.questions]
    # demo-enterprise-4 has a 住所 but no 经营场所 and no phone: neither is guessed
    result = generate(templates["food-licence-application"], None, record("enterprise", "demo-enterprise-4"), on=DAY)
    assert {q["name"] for q in result.questions} == {"premises", "phone", "legal_rep_id", "business_items"}
    assert next(f for f in result.fields if f.name == "premises").value is None


def test_the_government_s_data_wins_over_a_differing_answer_and_bad_answers_are_refused(templates):
    answers = {"phone": "13800000000", "shop_name": "示例小吃", "premises": "上海市宝山区示例路8号", "business_scope": "小吃"}
    result = generate(templates["individual-business-application"], record("person", "demo-citizen-1"), None, answers, on=DAY)
    assert next(f for f in result.fields if f.name == "phone").value == "13900000001"
    assert result.conflicts == ["联系电话：您提供“13800000000”，人口库为“13900000001”，已按人口库填写"] and result.complete
    # demo-citizen-3 has no phone: the answer fills it, when it is a phone number
    bad = generate(templates["individual-business-application"], record("person", "demo-citizen-3"), None, {"phone": "12345"}, on=DAY)
    assert bad.rejected and "phone" in [q["name"] for q in bad.questions]


def test_a_field_that_may_not_equal_an_earlier_one_is_asked_again(templates):
    articles = templates["articles-of-association"]
    same = generate(articles, record("person", "demo-citizen-1"), None, {"director": "张示例", "supervisor": " 张示例 "}, on=DAY)
    assert "监事“张示例”：不能与执行董事相同" in same.rejected and "supervisor" in [q["name"] for q in same.questions]
    other = generate(articles, record("person", "demo-citizen-1"), None, {"director": "张示例", "supervisor": "李示例"}, on=DAY)
    assert next(f for f in other.fields if f.name == "supervisor").value == "李示例"


def test_numbers_are_read_as_people_type_them_and_text_is_kept_as_written():
    assert clean("１３９ 0000 0001", "phone") == clean("139-0000-0001", "phone") == "13900000001"
    assert clean("021-12345678", "phone") == "021-12345678"
    assert clean(" 3101131940030100２７ ", "id_number") == "310113194003010027"
    assert clean(" 糕点类食品制售（含裱花蛋糕） ", "text") == "糕点类食品制售（含裱花蛋糕）"


@pytest.mark.parametrize(
    "change, message",
    [
        ({"body": ["{nowhere}"]}, "未定义的字段：nowhere"),
        ({"fields": [{"name": "a", "label": "A"}], "body": ["{a:>999999999}"]}, "不能带格式或转换"),
        ({"fields": [{"name": "a", "label": "A"}], "body": ["{a!r}"]}, "不能带格式或转换"),
        ({"fields": [{"name": "a", "label": "A"}], "body": ["{a.__class__}"]}, "未定义的字段"),
        ({"body": ["第{}条"]}, "没有写字段名"),
        ({"body": ["{a"]}, "花括号不成对"),
        ({"fields": [{"name": "a", "label": "A", "differs_from": ["b"]}, {"name": "b", "label": "B"}]}, "只能列出它之前的字段"),
        ({"fields": [{"name": "a", "label": "A", "sources": ["person.name"]}]}, "不是企业的记录"),
        ({"fields": [{"name": "a", "label": "A"}, {"name": "a", "label": "B"}]}, "字段名重复"),
    ],
)
def test_bad_templates_are_refused_with_the_file_named(services, tmp_path, change, message):
    good = {"id": "t", "name": "测试材料", "item_id": "BS-ITEM-007", "material_id": "application", "applicant": "enterprise", "fields": []}
    (tmp_path / "t.json").write_text(json.dumps({**good, **change}), encoding="utf-8")
    with pytest.raises(TemplateError, match=f"t.json 有误.*{message}"):
        services.templates.seed(tmp_path)
    assert services.templates.all() == {}  # nothing of the folder is stored


def test_an_incomplete_generation_makes_no_document(templates):
    food = templates["food-licence-application"]
    result = generate(food, None, record("enterprise", "demo-enterprise-2"), on=DAY)
    with pytest.raises(TemplateError, match="还缺少：经营项目"):
        document(food, result.to_dict())


ROUND_TRIP = [
    ("food-licence-application", "enterprise", "demo-enterprise-2", {"business_items": "预包装食品销售"}),
    (
        "individual-business-application",
        "person",
        "demo-citizen-1",
        {"shop_name": "示例小吃店", "premises": "宝山区示例路8号", "business_scope": "小吃"},
    ),
    ("premises-use-commitment", "person", "demo-citizen-2", {"premises": "宝山区样板街2号", "use_until": "2029年6月30日"}),
    (
        "shareholder-decision",
        "person",
        "demo-citizen-1",
        {"company_name": "上海示例软件有限公司", "capital": "100万元", "scope": "软件开发", "director": "张示例"},
    ),
    (
        "residence-use-commitment",
        "person",
        "demo-citizen-1",
        {"company_name": "上海示例软件有限公司", "residence": "宝山区示例园区2号楼", "use_until": "长期"},
    ),
    (
        "articles-of-association",
        "person",
        "demo-citizen-1",
        {
            "company_name": "上海示例软件有限公司",
            "residence": "上海市宝山区沪太路6655号2幢301室",
            "capital": "100万元",
            "contribution": "货币",
            "paid_by": "2031年3月1日",
            "scope": "软件开发",
            "director": "张示例",
            "supervisor": "李演示",
        },
    ),
    (
        "collective-contract-review",
        "enterprise",
        "demo-enterprise-1",
        {
            "union_name": "上海示例科技有限公司工会委员会",
            "contract_type": "工资专项集体合同",
            "contract_term": "2026年4月1日至2029年3月31日",
            "adopted_on": "2026年3月20日",
            "contact": "王示例",
        },
    ),
]


@pytest.mark.parametrize("suffix", ["docx", "pdf"])
@pytest.mark.parametrize("template_id, kind, ref, answers", ROUND_TRIP)
def test_a_generated_material_passes_its_pre_review(services, services_data, template_id, kind, ref, answers, suffix):
    template: Template = services.templates.all()[template_id]
    person, enterprise = (record(kind, ref), None) if kind == "person" else (None, record(kind, ref))
    generated = generate(template, person, enterprise, answers)
    assert generated.complete, generated.questions
    if suffix == "docx":
        data = document(template, generated.to_dict())
        properties = Document(io.BytesIO(data)).core_properties
        assert properties.title == template.name and "←申请人填写" in properties.comments
    else:
        data = pdf(template, generated.to_dict())
        assert data.startswith(b"%PDF-") and PdfReader(io.BytesIO(data)).metadata.title == template.name
    review = services.reviewer.review(services_data.item(template.item_id), [(f"{template.name}.{suffix}", data)], person, enterprise)
    mine = {p.point: p.result for p in review.points if p.material_id == template.material_id}
    # same_name compares with the 营业执照, another material not uploaded here: it cannot be decided
    assert {point: result for point, result in mine.items() if point != "same_name"} == dict.fromkeys(
        [p for p in mine if p != "same_name"], "pass"
    )
    assert mine.get("same_name") in (None, "uncertain") and len(mine) >= 2


def test_the_pdf_holds_the_document_s_chinese_text_and_its_sources(templates):
    food = templates["food-licence-application"]
    done = generate(food, None, record("enterprise", "demo-enterprise-2"), {"business_items": "糕点类食品制售（含裱花蛋糕）"}, on=DAY)
    reader = PdfReader(io.BytesIO(pdf(food, done.to_dict())))
    text = "".join(page.extract_text() for page in reader.pages)
    assert (
        "食品经营许可申请书" in text and "企业名称：上海样板餐饮管理有限公司" in text and "经营项目：糕点类食品制售（含裱花蛋糕）" in text
    )
    assert "经营项目←申请人填写" in reader.metadata["/Keywords"]
    with pytest.raises(TemplateError, match="还缺少：经营项目"):
        pdf(food, generate(food, None, record("enterprise", "demo-enterprise-2"), on=DAY).to_dict())


def test_a_template_is_found_by_its_name_or_an_alias(services, services_data):
    found = services.templates.find
    assert found("我要写公司章程").id == found("帮我生成一份有限责任公司章程").id == "articles-of-association"
    assert found("帮我生成集体合同审查申请表").id == "collective-contract-review" and found("股东决定").id == "shareholder-decision"
    assert found("营业执照") is None


OWN = {"id": "own", "name": "自定义材料", "item_id": "BS-ITEM-001", "material_id": "premises", "applicant": "person", "fields": []}


def write_template(folder, data) -> None:
    folder.mkdir(exist_ok=True)
    (folder / f"{data['id']}.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def test_templates_are_versioned_in_the_database_and_a_changed_file_is_the_next_version(services, tmp_path):
    templates = services.templates
    write_template(tmp_path, {**OWN, "version": 7})  # a file's own number is not the stored version's
    assert templates.seed(tmp_path) == 1 and templates.seed(tmp_path) == 0  # unchanged: nothing new
    assert templates.get("own").version == 1 and templates.find("自定义材料").id == "own"
    write_template(tmp_path, {**OWN, "aliases": ["我的材料"]})
    assert templates.seed(tmp_path) == 1 and templates.get("own").aliases == ["我的材料"] and templates.get("own").version == 2
    edited = validated({**OWN, "name": "自定义材料（修订）"})
    saved = templates.save(edited, "editor-1", "改名")
    assert saved["version"] == 3 and saved["template"]["name"] == "自定义材料（修订）"
    assert templates.seed(tmp_path) == 0  # the file's content is an older version: the editor's stays in use
    assert templates.all()["own"].name == "自定义材料（修订）" and templates.get("own", 1).aliases == []
    assert [(v["version"], v["author"], v["note"]) for v in templates.versions("own")] == [
        (1, "seed", "own.json"),
        (2, "seed", "own.json"),
        (3, "editor-1", "改名"),
    ]
    assert templates.get("own", 9) is None and templates.versions("nothing") == []
    assert [(e["action"], e["object_id"], e["detail"]["version"]) for e in entries(services.db_engine)] == [("publish_template", "own", 3)]
    # what was generated says which version it was made with
    assert generate(templates.get("own"), record("person", "demo-citizen-1"), None).version == 3


def test_a_template_must_be_one_of_its_item_s_materials(services_data):
    item = services_data.item("BS-ITEM-001")
    assert fits(validated(OWN), item) is None
    assert "没有材料 nothing" in fits(validated({**OWN, "material_id": "nothing"}), item) and "premises（经营场所使用证明）" in fits(
        validated({**OWN, "material_id": "nothing"}), item
    )
    assert "申请人是个人，模板的申请人是企业" in fits(validated({**OWN, "applicant": "enterprise"}), item)
    assert fits(validated({**OWN, "item_id": "BS-NONE"}), None) == "事项 BS-NONE 不在事项目录中"


# what the pre-review read in an enterprise's verified uploads (library readings, by material type)
READ = {
    "营业执照": {
        "名称": "上海样板餐饮管理有限公司",
        "统一社会信用代码": "91310113MA1K3T2Q5W",
        "住所": "上海市宝山区样板街8号",
        "法定代表人": "钱样板",
    },
    "法定代表人身份证件": {"姓名": "钱样板", "身份证号": "310113200101010061"},
}


def test_an_upload_s_read_values_fill_what_the_government_s_records_lack(templates):
    food = templates["food-licence-application"]
    lacking = record("enterprise", "demo-enterprise-2").model_copy(update={"address": None, "legal_rep_id": None})
    result = generate(food, None, lacking, {"business_items": "热食类食品制售"}, on=DAY, uploads=READ)
    filled = {f.name: (f.value, f.source, f.path) for f in result.fields}
    assert filled["address"] == ("上海市宝山区样板街8号", "电子材料库（营业执照，上传识别）", "upload.营业执照.住所")
    assert filled["legal_rep_id"][::2] == ("310113200101010061", "upload.法定代表人身份证件.身份证号")
    assert filled["credit_code"][1] == "法人库" and result.complete and result.conflicts == []
    # without the uploads the same fields are asked
    asked = generate(food, None, lacking, {"business_items": "热食类食品制售"}, on=DAY)
    assert {q["name"] for q in asked.questions} == {"address", "legal_rep_id"}


def test_the_government_s_data_wins_over_an_upload_that_differs_and_a_misread_number_is_not_used(templates):
    food = templates["food-licence-application"]
    read = {"营业执照": {**READ["营业执照"], "住所": "上海市宝山区样板街18号"}, "法定代表人身份证件": {"身份证号": "310113200101010062"}}
    enterprise = record("enterprise", "demo-enterprise-2")
    result = generate(food, None, enterprise, on=DAY, uploads=read)
    assert next(f for f in result.fields if f.name == "address").source == "法人库"
    said = "住所：电子材料库（营业执照，上传识别）为“上海市宝山区样板街18号”，法人库为“上海市宝山区样板街8号”，已按法人库填写"
    assert result.conflicts == [said]
    # an ID number whose check digit fails is no value: asked, not filled
    missing = generate(food, None, enterprise.model_copy(update={"legal_rep_id": None}), on=DAY, uploads=read)
    assert "legal_rep_id" in [q["name"] for q in missing.questions]
    # an answer that differs from an upload's value: the upload's value stays, the difference is said
    lacking = enterprise.model_copy(update={"address": None})
    answered = generate(food, None, lacking, {"address": "别处"}, on=DAY, uploads=READ)
    upload = "电子材料库（营业执照，上传识别）"
    assert answered.conflicts == [f"住所：您提供“别处”，{upload}为“上海市宝山区样板街8号”，已按{upload}填写"]


@pytest.mark.parametrize(
    "sources, message",
    [
        (["upload.营业执照"], "应写作 upload.材料名称.标签"),
        (["upload..住所"], "应写作 upload.材料名称.标签"),
        (["upload.营业执照.住所", "person.address"], "政府数据来源 person.address 应排在上传材料识别的来源之前"),
    ],
)
def test_upload_sources_are_written_as_material_and_label_after_the_records(sources, message):
    with pytest.raises(TemplateError, match=message):
        validated({**OWN, "fields": [{"name": "a", "label": "A", "sources": sources}]})
