"""The service tools through the dialogue engine (chat → tool → answer) and through the HTTP API."""

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from xiaobao.assistant.tools import verdict
from xiaobao.prereview.review import ReviewBusy
from xiaobao.server import create_app

CASES = Path(__file__).resolve().parents[2] / "eval" / "data" / "prereview"
BUNDLES = Path(__file__).resolve().parents[2] / "demo" / "bundles"
ONE_PERSON_COMPANY = {"form": "有限责任公司", "food": "否", "seal": "否", "invoice": "否", "staff": "否"}
ARTICLE_ANSWERS = {
    "company_name": "上海示例软件有限公司",
    "residence": "上海市宝山区沪太路6655号2幢301室",
    "capital": "100万元",
    "contribution": "货币",
    "paid_by": "2031年3月1日",
    "scope": "软件开发",
    "director": "张示例",
    "supervisor": "李示例",
}


def ask(engine, user, text):
    return engine.respond(engine.create_session(demo_ref=user), text)


def test_progress_lists_and_details_only_the_user_s_own_cases(engine, services_data):
    listed = ask(engine, "demo-enterprise-1", "我的办件进度")
    assert listed.path == "tool" and "BS20240004" in listed.text
    detail = ask(engine, "demo-enterprise-1", "BS20240004 办到哪一步了")
    assert "企业稳岗补贴申领" in detail.text and detail.data["status"]
    other = ask(engine, "demo-enterprise-1", "BS20240003 进度")  # demo-citizen-2's case
    missing = ask(engine, "demo-enterprise-1", "BS20999999 进度")
    assert other.text == missing.text.replace("BS20999999", "BS20240003") and not other.data["found"]


def test_prefill_in_the_chat(engine, services_data):
    reply = ask(engine, "demo-citizen-1", "帮我预填高龄津贴的表")
    assert reply.path == "tool" and reply.data["fill_rate"] == 1.0 and "张示例（来源：人口库）" in reply.text
    again = ask(engine, "demo-citizen-2", "个体户再来一单")
    assert again.data["missing"] == [] and "上次申请 BS20240003" in again.text
    assert "需要先实名登录" in ask(engine, None, "帮我预填高龄津贴").text
    assert "目前可以预填" in ask(engine, "demo-citizen-1", "帮我填表").text
    assert "企业" in ask(engine, "demo-citizen-1", "帮我预填稳岗补贴").text  # an enterprise's form, a person's login


def test_policy_matching_in_the_chat(engine, services_data):
    reply = ask(engine, "demo-enterprise-2", "我们企业能享受哪些政策")
    assert [m["policy_id"] for m in reply.data["matches"] if m["eligible"]] == ["POL-001", "POL-004"]
    assert "可享受 2 项" in reply.text and "✗ 宝山区科技型企业研发投入奖励" in reply.text
    assert "需要以企业身份登录" in ask(engine, "demo-citizen-1", "免申即享").text


def test_prereview_through_the_engine(engine, services_data):
    folder = CASES / "case-0001"  # a clean food-licence case of demo-enterprise-1
    files = [(f.name, f.read_bytes()) for f in sorted(folder.iterdir()) if f.name != "case.json"]
    session = engine.create_session(demo_ref="demo-enterprise-1")
    assert "材料预审" in engine.respond(session, "帮我预审一下材料").text
    reply = engine.prereview(session, "BS-ITEM-007", files)
    assert reply.intent == "prereview" and reply.data["counts"]["fail"] == 0, reply.text
    # the same materials under another enterprise's login do not match its records
    other = engine.prereview(engine.create_session(demo_ref="demo-enterprise-2"), "BS-ITEM-007", files)
    assert {(p["material_id"], p["point"]) for p in other.data["points"] if p["result"] == "fail"} == {
        ("licence", "record"),
        ("legal_rep_id", "record"),
    }


@pytest.fixture
def client(services, services_data):
    return TestClient(create_app(services, with_ui=False))


def session_for(client, user):
    created = client.post("/api/sessions", json={"user_ref": user}).json()
    client.headers["X-Session-Key"] = created["session_key"]
    return created["session_id"]


def test_service_tools_over_http(client):
    assert {i["id"] for i in client.get("/api/services/items").json()} >= {"BS-ITEM-001", "BS-ITEM-007"}
    session = session_for(client, "demo-citizen-2")
    filled = client.post(f"/api/sessions/{session}/prefill", json={"item": "BS-ITEM-001"}).json()
    assert filled["data"]["missing"] == ["个体户名称", "经营范围"]
    assert client.get(f"/api/sessions/{session}/applications").json()["data"]["applications"] == ["BS20240003"]
    refused = client.get(f"/api/sessions/{session}/applications", params={"application_id": "BS20240004"}).json()
    assert refused["data"]["found"] is False
    assert client.post(f"/api/sessions/{session}/prefill", json={"item": ""}).status_code == 422

    session = session_for(client, "demo-enterprise-2")
    matches = client.get(f"/api/sessions/{session}/policies").json()["data"]["matches"]
    assert {m["policy_id"]: m["status"] for m in matches}["POL-004"] == "eligible"


def test_prereview_over_http_with_bad_uploads(client):
    session = session_for(client, "demo-citizen-2")
    folder = CASES / "case-0004"  # a person case
    files = [("files", (f.name, f.read_bytes())) for f in sorted(folder.iterdir()) if f.name != "case.json"]
    response = client.post(f"/api/sessions/{session}/prereview", data={"item_id": "BS-ITEM-001"}, files=files)
    assert response.status_code == 200 and response.json()["data"]["points"]
    broken = [("files", ("身份证.png", b"not an image")), ("files", ("申请书.docx", b"PK\x03\x04 broken"))]
    response = client.post(f"/api/sessions/{session}/prereview", data={"item_id": "BS-ITEM-001"}, files=broken)
    assert response.status_code == 422 and "无法打开这张图片" in response.json()["detail"]
    response = client.post(f"/api/sessions/{session}/prereview", data={"item_id": "BS-ITEM-003"}, files=files)
    assert response.status_code == 422 and "不支持材料预审" in response.json()["detail"]
    mixed = [*files[:1], ("files", ("scan.exe", b"MZ"))]
    review = client.post(f"/api/sessions/{session}/prereview", data={"item_id": "BS-ITEM-001"}, files=mixed).json()
    assert any("不支持的文件类型" in message for message in review["data"]["unreadable"])
    assert "不支持的文件类型" in review["text"]


def test_huge_uploads_are_refused(client):
    session = session_for(client, "demo-citizen-2")
    huge = b"0" * (20 * 1024 * 1024 + 1)
    response = client.post(f"/api/sessions/{session}/prereview", data={"item_id": "BS-ITEM-001"}, files=[("files", ("申请书.txt", huge))])
    assert response.status_code == 413 and "太大" in response.json()["detail"]


def test_a_generated_document_s_pre_review_is_said_plainly():
    assert verdict({"result": "pass", "points": 4, "problems": []}) == "预审：通过（4 项要点）"
    failed = {"result": "fail", "points": 4, "problems": ["身份证号码校验位正确：校验位不符"]}
    assert verdict(failed) == "预审：不通过（身份证号码校验位正确：校验位不符）"
    unsure = {"result": "uncertain", "points": 5, "problems": ["与营业执照名称一致：未提交营业执照"]}
    assert verdict(unsure) == "预审：需人工确认（与营业执照名称一致：未提交营业执照）"
    assert "暂时繁忙" in verdict(None)  # the reviewer was busy: said so, not 通过


def test_only_a_plain_yes_takes_up_an_offered_material(engine, services, services_data):
    services.bundles.seed(BUNDLES)
    sid = engine.create_session(demo_ref="demo-citizen-1")
    done = engine.use_tool(sid, "generate_material", {"material": "公司章程", "answers": ARTICLE_ANSWERS}, "生成公司章程")
    assert done.data["complete"] and "next" not in done.data  # no 一件事 plan offered anything in this session
    assert engine.tools.pending_material(sid, "好的") is None
    engine.use_tool(sid, "bundle_guide", {"bundle": "business-startup", "answers": ONE_PERSON_COMPANY}, "开办企业一件事")
    offered = engine.tools.pending_material(sid, "好的，开始吧")
    assert offered.intent == "material" and offered.arguments == {"material": "articles-of-association"}
    assert engine.tools.pending_material(sid, "好的高龄津贴怎么申请") is None  # a question, not a yes


def test_a_busy_reviewer_is_said_and_the_material_is_still_made(engine, services, services_data, monkeypatch):
    def busy(*args, **kwargs):
        raise ReviewBusy("预审繁忙")

    monkeypatch.setattr(services.tools.reviewer, "review", busy)
    sid = engine.create_session(demo_ref="demo-citizen-1")
    done = engine.use_tool(sid, "generate_material", {"material": "公司章程", "answers": ARTICLE_ANSWERS}, "生成公司章程")
    assert done.data["complete"] and done.data["prereview"] == {"docx": None, "pdf": None} and done.data["downloads"]
    assert "DOCX 预审：暂时繁忙，未能检查" in done.text
