"""一件事 guidance through the chat (one question at a time, through the engine) and the API, and
bundle versions in the editor API."""

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import session
from xiaobao.assistant.router import rules
from xiaobao.server import create_app

BUNDLES = Path(__file__).resolve().parents[2] / "demo" / "bundles"


@pytest.fixture
def seeded(services, services_data):
    services.bundles.seed(BUNDLES)
    return services


@pytest.fixture
def client(seeded):
    seeded.accounts.add("zhang", "password-1", "editor", "张编辑")
    return TestClient(create_app(seeded, with_ui=False))


def test_the_chat_walks_a_citizen_through_a_bundle(engine, seeded):
    chat = engine.create_session(demo_ref="demo-citizen-1")
    first = engine.respond(chat, "我要开饭店需要办哪些事")
    assert first.intent == "bundle" and "《开办企业一件事》（示例数据）" in first.text and "您打算以什么形式经营" in first.text
    assert first.data["answers"] == {"food": "是"}  # 开饭店 already says it sells food
    assert "是否需要刻制公章" in engine.respond(chat, "有限责任公司").text
    assert "没有听明白" not in engine.respond(chat, "不需要").text
    assert engine.respond(chat, "你好").intent == "greeting"  # anything else is answered as usual; the walk waits
    assert "是否招用员工" in engine.respond(chat, "要").text
    done = engine.respond(chat, "没有")
    assert done.intent == "bundle" and done.data["done"]
    assert [i["name"] for i in done.data["items"]] == [
        "有限责任公司设立登记（一人有限责任公司）",
        "食品经营许可证新办",
        "新办纳税人发票申领",
    ]
    assert "股东身份证件" in done.data["waived"] and "股东决定" in done.data["to_submit"]
    assert "· 股东决定（有限责任公司设立登记（一人有限责任公司）），小宝可以帮您生成" in done.text
    assert "政府已有数据（人口库），免于提交" in done.text and "办结后共享" in done.text
    assert engine.respond(chat, "是").intent != "bundle"  # the walk is over


def test_what_routes_to_a_bundle():
    for text in ("我要开饭店需要办哪些事", "开办企业一件事", "孩子出生了要办哪些手续", "快退休了都要办什么", "注册公司要办哪些事"):
        assert rules(text).intent == "bundle", text
    for text in ("退休手续怎么办", "开店需要啥证", "新生儿医保怎么参保", "退休金怎么算", "开公司最低要多少钱"):
        assert rules(text).intent != "bundle", text  # one step of it, asked about: a knowledge question


def test_a_bundle_is_found_by_name_and_anonymous_users_are_told_to_log_in(engine, seeded):
    chat = engine.create_session()
    reply = engine.respond(chat, "退休一件事")
    assert reply.intent == "bundle" and "您是以什么身份参保的" in reply.text
    engine.respond(chat, "2")
    done = engine.respond(chat, "否")
    assert done.data["done"] and "实名登录后" in done.text and done.data["forms"] == []
    unknown = engine.respond(engine.create_session(), "养猫一件事")
    assert "目前可以办理：出生一件事、开办企业一件事、退休一件事" in unknown.text


def test_the_api_gives_the_plan_with_prefilled_forms(client):
    assert {b["name"] for b in client.get("/api/bundles").json()} == {"开办企业一件事", "出生一件事", "退休一件事"}
    sid = session(client, "demo-citizen-2")
    url = f"/api/sessions/{sid}/bundles/business-startup"
    asked = client.post(url, json={"answers": {"form": "个体工商户"}}).json()
    assert asked["data"]["question"]["id"] == "food" and not asked["data"]["done"]
    answers = {"form": "个体工商户", "food": "否", "invoice": "否", "staff": "否"}
    done = client.post(url, json={"answers": answers}).json()["data"]
    assert done["done"] and [i["item_id"] for i in done["items"]] == ["BS-ITEM-001"]
    (form,) = done["forms"]
    assert form["item_id"] == "BS-ITEM-001" and form["missing"] == ["个体户名称", "经营范围"]
    assert done["to_submit"] == ["个体工商户登记（备案）申请书", "经营场所使用证明"] and done["waived"] == ["经营者身份证件"]


def test_bad_requests_get_a_reason_and_change_nothing(client):
    sid = session(client, "demo-citizen-1")
    assert client.post(f"/api/sessions/{sid}/bundles/no-such", json={}).status_code == 404
    bad = client.post(f"/api/sessions/{sid}/bundles/birth", json={"answers": {"hukou": "也许"}})
    assert bad.status_code == 422 and "应为：是、否" in bad.json()["detail"]
    unknown = client.post(f"/api/sessions/{sid}/bundles/birth", json={"answers": {"pets": "是"}})
    assert unknown.status_code == 422 and "没有问题 pets" in unknown.json()["detail"]
    client.headers["X-Session-Key"] = "wrong"
    assert client.post(f"/api/sessions/{sid}/bundles/birth", json={}).status_code == 403
    assert client.get("/api/bundles/birth", params={"version": 9}).status_code == 404
    assert client.get("/api/bundles/no-such").status_code == 404


def test_editors_save_new_versions_and_old_ones_stay_readable(client):
    bundle = client.get("/api/bundles/retirement").json()
    assert bundle["version"] == 1
    bundle["questions"][2]["text"] = "是否有外地社保缴费记录需要转入？"
    body = {"bundle": {k: v for k, v in bundle.items() if k != "version"}, "note": "问法更口语"}
    assert client.put("/api/editor/bundles/retirement", json=body).status_code == 401  # not logged in
    login = client.post("/api/staff/login", json={"username": "zhang", "password": "password-1"})
    assert login.status_code == 200
    saved = client.put("/api/editor/bundles/retirement", json=body).json()
    assert saved["version"] == 2 and saved["author"] == "zhang"
    assert client.get("/api/bundles/retirement").json()["questions"][2]["text"] == "是否有外地社保缴费记录需要转入？"
    assert client.get("/api/bundles/retirement", params={"version": 1}).json()["questions"][2]["text"].startswith("是否有外省市")
    assert [v["note"] for v in client.get("/api/editor/bundles/retirement/versions").json()] == ["retirement.json", "问法更口语"]
    broken = {**body, "bundle": {**body["bundle"], "items": []}}
    refused = client.put("/api/editor/bundles/retirement", json=broken)
    assert refused.status_code == 422 and "一件事配置有误" in refused.json()["detail"]
    assert client.get("/api/bundles/retirement").json()["version"] == 2
    assert client.get("/api/editor/bundles/no-such/versions").status_code == 404
