"""Generated materials over HTTP and in the tool: only the session's verified user's own records."""

import io

import pytest
from docx import Document
from fastapi.testclient import TestClient

from xiaobao.server import create_app


@pytest.fixture
def client(services, services_data):
    return TestClient(create_app(services, with_ui=False))


def session(client, demo_ref=None) -> str:
    created = client.post("/api/sessions", json={"user_ref": demo_ref} if demo_ref else {}).json()
    client.headers["X-Session-Key"] = created["session_key"]
    return created["session_id"]


def test_questions_then_the_docx_for_the_user_s_own_enterprise(client):
    sid = session(client, "demo-enterprise-2")
    url = f"/api/sessions/{sid}/materials"
    asked = client.post(url, json={"material": "食品经营许可申请书"}).json()
    assert asked["data"]["questions"][0]["name"] == "business_items" and "请问申请的经营项目" in asked["text"]
    assert "上海样板餐饮管理有限公司（来源：法人库）" in asked["text"]
    assert client.post(url + "?format=docx", json={"material": "food-licence-application"}).status_code == 422
    response = client.post(
        url + "?format=docx", json={"material": "food-licence-application", "answers": {"business_items": "热食类食品制售"}}
    )
    assert response.status_code == 200 and response.headers["content-type"].endswith("wordprocessingml.document")
    text = "\n".join(p.text for p in Document(io.BytesIO(response.content)).paragraphs)
    assert "企业名称：上海样板餐饮管理有限公司" in text and "经营项目：热食类食品制售" in text


def test_bad_requests_change_nothing_and_say_why(client):
    sid = session(client, "demo-citizen-1")
    url = f"/api/sessions/{sid}/materials"
    unknown = client.post(url, json={"material": "不存在的材料"})
    assert unknown.status_code == 404 and "目前可以生成" in unknown.json()["detail"]
    assert client.post(url, json={"material": "食品经营许可申请书"}).status_code == 422  # an enterprise's material, a person's login
    assert client.post(url, json={"material": ""}).status_code == 422
    typo = client.post(url, json={"material": "个体工商户登记（备案）申请书", "answers": {"shop": "示例小吃"}})
    assert typo.status_code == 422 and "没有这些字段：shop" in typo.json()["detail"] and "shop_name（个体户名称）" in typo.json()["detail"]
    anonymous = session(client)
    assert client.post(f"/api/sessions/{anonymous}/materials", json={"material": "食品经营许可申请书"}).status_code == 403
    client.headers["X-Session-Key"] = "wrong"
    assert client.post(url, json={"material": "食品经营许可申请书"}).status_code == 403


def test_templates_are_listed(client):
    listed = {t["id"]: t for t in client.get("/api/materials/templates").json()}
    assert {"food-licence-application", "individual-business-application", "premises-use-commitment"} <= set(listed)
    assert listed["food-licence-application"]["fields"][0]["sources"] == ["enterprise.name"]
