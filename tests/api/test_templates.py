"""Material templates in the editor API: versions saved and read, bad templates refused with the
reason; a template added here is generated at once through the API and the chat (no code change);
and what the pre-review read in a verified upload fills a generated material, for its owner only."""

import io

import pytest
from docx import Document
from fastapi.testclient import TestClient

from tests.conftest import session
from xiaobao.identity.audit import entries
from xiaobao.server import create_app

# a new material for the food licence's 经营场所使用证明 (BS-ITEM-007 premises): an enterprise's own commitment
NEW = {
    "id": "enterprise-premises-commitment",
    "name": "企业经营场所使用承诺书",
    "item_id": "BS-ITEM-007",
    "material_id": "premises",
    "applicant": "enterprise",
    "fields": [
        {"name": "enterprise_name", "label": "企业名称", "sources": ["enterprise.name", "upload.营业执照.名称"]},
        {"name": "credit_code", "label": "统一社会信用代码", "type": "credit_code", "sources": ["enterprise.credit_code"]},
        {"name": "premises", "label": "经营场所", "sources": ["enterprise.premises"], "question": "请提供经营场所的详细地址。"},
        {"name": "use_until", "label": "使用期限至", "question": "经营场所的使用期限到哪一天？（如：2030年12月31日）"},
        {"name": "date", "label": "承诺日期", "sources": ["today"]},
    ],
    "body": ["本企业承诺：{premises}由本企业合法使用，使用期限至{use_until}，所提交信息真实有效。"],
}


@pytest.fixture
def client(services, services_data):
    services.accounts.add("zhang", "password-1", "editor", "张编辑")
    return TestClient(create_app(services, with_ui=False))


def login(client) -> None:
    assert client.post("/api/staff/login", json={"username": "zhang", "password": "password-1"}).status_code == 200


def test_editors_list_read_and_version_templates(client):
    assert client.get("/api/editor/templates").status_code == 401  # not logged in
    assert client.put(f"/api/editor/templates/{NEW['id']}", json={"template": NEW}).status_code == 401
    login(client)
    listed = {t["id"]: t for t in client.get("/api/editor/templates").json()}
    assert listed["food-licence-application"] == {
        "id": "food-licence-application",
        "name": "食品经营许可申请书",
        "version": 1,
        "item_id": "BS-ITEM-007",
        "material_id": "application",
        "fields": 9,
    }
    food = client.get("/api/editor/templates/food-licence-application").json()
    food["fields"][-2]["question"] = "请问申请哪些经营项目？（如：热食类食品制售）"
    saved = client.put("/api/editor/templates/food-licence-application", json={"template": food, "note": "问法更口语"})
    assert saved.status_code == 200 and (saved.json()["version"], saved.json()["author"]) == (2, "zhang")
    assert client.get("/api/editor/templates/food-licence-application").json()["fields"][-2]["question"].startswith("请问申请哪些")
    old = client.get("/api/editor/templates/food-licence-application", params={"version": 1}).json()
    assert old["version"] == 1 and old["fields"][-2]["question"].startswith("请问申请的经营项目")
    versions = client.get("/api/editor/templates/food-licence-application/versions").json()
    assert [(v["version"], v["author"], v["note"]) for v in versions] == [
        (1, "seed", "food-licence-application.json"),
        (2, "zhang", "问法更口语"),
    ]
    published = [(e["actor"], e["object_id"]) for e in entries(client.app.state.services.db_engine) if e["action"] == "publish_template"]
    assert published == [("zhang", "food-licence-application")]
    assert client.get("/api/editor/templates/no-such").status_code == 404
    assert client.get("/api/editor/templates/no-such/versions").status_code == 404
    assert client.get("/api/editor/templates/food-licence-application", params={"version": 9}).status_code == 404


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"body": ["{nowhere}"]}, "正文引用了未定义的字段：nowhere"),
        ({"material_id": "nothing"}, "没有材料 nothing"),
        ({"item_id": "BS-NONE"}, "事项 BS-NONE 不在事项目录中"),
        ({"id": "other-id"}, "与地址中的 enterprise-premises-commitment 不一致"),
        ({"fields": [{"name": "a", "label": "A", "sources": ["person.name"]}], "body": []}, "不是企业的记录"),
        ({"fields": "none"}, "材料模板有误：fields"),
    ],
)
def test_a_bad_template_is_refused_with_the_reason_and_changes_nothing(client, change, reason):
    login(client)
    refused = client.put(f"/api/editor/templates/{NEW['id']}", json={"template": {**NEW, **change}})
    assert refused.status_code == 422 and reason in refused.json()["detail"]
    assert client.get(f"/api/editor/templates/{NEW['id']}").status_code == 404


def say(client, sid, text) -> dict:
    response = client.post(f"/api/sessions/{sid}/messages", json={"text": text})
    assert response.status_code == 200, response.text
    return response.json()


def test_a_template_added_by_an_editor_is_generated_at_once_in_the_api_and_the_chat(client, services):
    login(client)
    assert client.put(f"/api/editor/templates/{NEW['id']}", json={"template": NEW, "note": "新增材料"}).json()["version"] == 1
    sid = session(client, "demo-enterprise-2")
    asked = client.post(f"/api/sessions/{sid}/materials", json={"material": "企业经营场所使用承诺书"}).json()
    assert asked["data"]["template"] == NEW["id"] and asked["data"]["version"] == 1
    assert "经营场所：上海市宝山区样板街8号一层（来源：法人库）" in asked["text"] and "使用期限到哪一天" in asked["text"]
    # in the chat: the request, the one question, then the document
    first = say(client, sid, "帮我生成企业经营场所使用承诺书")
    assert first["intent"] == "material" and "使用期限到哪一天" in first["text"]
    done = say(client, sid, "2030年12月31日")
    assert done["data"]["complete"] and done["data"]["downloads"]["docx"].endswith(f"/materials/{NEW['id']}?format=docx")
    docx = client.get(done["data"]["downloads"]["docx"])
    assert docx.status_code == 200
    text = "\n".join(p.text for p in Document(io.BytesIO(docx.content)).paragraphs)
    assert "使用期限至：2030年12月31日" in text and "企业名称：上海样板餐饮管理有限公司" in text
    # the document passes its material's review points (已提交场所使用证明, 租赁期限未届满)
    reviewed = client.post(
        f"/api/sessions/{sid}/prereview", data={"item_id": "BS-ITEM-007"}, files=[("files", ("企业经营场所使用承诺书.docx", docx.content))]
    ).json()
    assert {p["point"]: p["result"] for p in reviewed["data"]["points"] if p["material_id"] == "premises"} == {
        "present": "pass",
        "unexpired": "pass",
    }


# demo-enterprise-4's 法人库 row has no legal representative's ID number; their ID card says it
ID_CARD = "居民身份证\n姓名：周演示\n性别：男\n公民身份号码：310113198001010013\n有效期限：2020.01.01-2040.01.01\n"


def test_what_the_pre_review_read_in_a_passed_upload_fills_the_owner_s_generated_material(client):
    owner = session(client, "demo-enterprise-4")
    uploaded = client.post(
        f"/api/sessions/{owner}/prereview", data={"item_id": "BS-ITEM-007"}, files=[("files", ("法定代表人身份证.txt", ID_CARD.encode()))]
    ).json()
    assert uploaded["data"]["read"]["法定代表人身份证.txt"]["身份证号"] == "310113198001010013"
    kept = client.get(f"/api/sessions/{owner}/library").json()
    assert [(m["type"], m["read"]["身份证号"]) for m in kept] == [("法定代表人身份证件", "310113198001010013")]
    generated = client.post(f"/api/sessions/{owner}/materials", json={"material": "食品经营许可申请书"}).json()
    legal_rep_id = next(f for f in generated["data"]["fields"] if f["name"] == "legal_rep_id")
    assert (legal_rep_id["value"], legal_rep_id["source"]) == ("310113198001010013", "电子材料库（法定代表人身份证件，上传识别）")
    assert "身份证号：310113198001010013（来源：电子材料库（法定代表人身份证件，上传识别））" in generated["text"]
    # deleted from the library, it is asked again (another owner's library is never read: tests/govdata/test_library.py)
    assert client.delete(f"/api/sessions/{owner}/library/{kept[0]['id']}").status_code == 204
    again = client.post(f"/api/sessions/{owner}/materials", json={"material": "食品经营许可申请书"}).json()
    assert "legal_rep_id" in [q["name"] for q in again["data"]["questions"]]
