"""The abuse paths a security test of the HTTP API found, each tried again and refused: identity from
an unverified claim, budgets bypassed or missing, formula injection in exports, a 500 on a lone
surrogate, cross-site staff requests, cookies and headers, an open /metrics, and a helper reading
another helper's transcript."""

import datetime as dt
import io
import json

import jwt
import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from xiaobao.server import create_app

ISSUER, AUDIENCE, SECRET = "https://sso.example.gov.cn", "xiaobao", "a-shared-secret-of-the-portal-32b"


def configure(services, **settings) -> TestClient:
    """A client of an app over the services with these settings (the services built from settings are rebuilt)."""
    services.settings = services.settings.model_copy(update=settings)
    for built in ("budgets", "citizens", "reviewer", "accounts"):
        services.__dict__.pop(built, None)
    services.engine.settings, services.engine.citizens = services.settings, services.citizens
    return TestClient(create_app(services, with_ui=False))


def id_token(sub="citizen-1", expires_in=300, issuer=ISSUER, key=SECRET, jti=None) -> str:
    at = dt.datetime.now(dt.UTC)
    claims = {"iss": issuer, "aud": AUDIENCE, "sub": sub, "iat": at, "exp": at + dt.timedelta(seconds=expires_in)}
    return jwt.encode({**claims, **({"jti": jti} if jti else {})}, key, algorithm="HS256")


def test_identity_only_from_a_verified_token(services, engine):
    client = configure(services, demo_mode=False, sso_issuer=ISSUER, sso_audience=AUDIENCE, sso_hs256_secret=SECRET)
    claimed = client.post("/api/sessions", json={"user_ref": "citizen-1"})
    assert claimed.status_code == 403 and "统一身份认证" in claimed.json()["detail"]

    token = id_token(jti="t-1")
    created = client.post("/api/sessions", json={"id_token": token}).json()
    key = {"X-Session-Key": created["session_key"]}
    mine = client.get(f"/api/sessions/{created['session_id']}/applications", params={"application_id": "BS20240001"}, headers=key)
    assert mine.status_code == 200 and "窗口核验原件" in mine.json()["text"]

    for bad, says in (
        (id_token(expires_in=-120), "过期"),
        (id_token(issuer="https://evil.example.com"), "不是本区"),
        (id_token(key="another-secret-of-the-same-size-x"), "无效"),
        (token, "已被使用"),  # replayed on another session
    ):
        refused = client.post("/api/sessions", json={"id_token": bad})
        assert refused.status_code == 401 and says in refused.json()["detail"]


def test_forwarded_for_is_believed_only_from_trusted_proxies(services, engine):
    client = configure(services, rate_limit_per_client=3)
    codes = [client.get("/api/tools", headers={"X-Forwarded-For": f"10.0.0.{i}"}).status_code for i in range(4)]
    assert codes == [200, 200, 200, 429]  # a made-up address is no new client

    client = configure(services, rate_limit_per_client=3, trusted_proxies=["testclient"])
    codes = [client.get("/api/tools", headers={"X-Forwarded-For": f"10.0.1.{i}"}).status_code for i in range(4)]
    assert codes == [200, 200, 200, 200]  # behind a trusted proxy, each address is its own client


def test_new_sessions_the_facade_and_the_chat_page_have_budgets(services, engine):
    client = configure(services, rate_limit_sessions_per_client=2, rate_limit_per_session=2)
    assert [client.post("/api/sessions", json={}).status_code for _ in range(3)] == [201, 201, 429]

    client = configure(services, rate_limit_sessions_per_client=0, rate_limit_per_session=2)
    first = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "你好"}]}).json()
    metadata = {"session_id": first["xiaobao"]["session_id"], "session_key": first["xiaobao"]["session_key"]}
    again = [
        client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "你好"}], "metadata": metadata}).status_code
        for _ in range(3)
    ]
    assert again == [200, 200, 429]  # continuing a session spends that session's budget

    client = configure(services, rate_limit_per_client=2)
    assert [client.post("/chat/gradio_api/queue/join", json={}).status_code for _ in range(3)][-1] == 429


def test_exports_cannot_carry_formulas(services, engine):
    services.accounts.add("root", "password-1", "admin")
    client = configure(services)
    client.post("/api/staff/login", json={"username": "root", "password": "password-1"})
    for text in ('=HYPERLINK("http://evil.example.com","点我")', "+1+1 办不成", "@SUM(A1) 办不成事", "-2+3 办不成事"):
        assert client.post("/api/reports", json={"description": text}).status_code in (200, 201)
    csv_text = client.get("/api/ops/export/reports", params={"format": "csv"}).content.decode("utf-8-sig")
    assert "'=HYPERLINK" in csv_text and "'+1+1" in csv_text and "'@SUM" in csv_text and "'-2+3" in csv_text
    book = load_workbook(io.BytesIO(client.get("/api/ops/export/reports", params={"format": "xlsx"}).content))
    cells = [c for row in book.active.iter_rows(min_row=2) for c in row if isinstance(c.value, str) and c.value.startswith("=")]
    assert cells and all(c.data_type == "s" for c in cells)  # text, not a formula


@pytest.mark.parametrize("path", ["/api/reports", "/api/sessions", "/api/staff/login"])
def test_a_lone_surrogate_is_a_422_not_a_500(services, engine, path):
    client = configure(services)
    body = '{"description": "\\ud800 身份证 310101199001011234", "user_ref": "\\ud800", "username": "\\ud800", "password": 5}'
    response = client.post(path, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code in (403, 422) and "310101199001011234" not in response.text


def test_staff_requests_from_another_origin_are_refused(services, engine):
    services.accounts.add("zhang", "password-1", "editor")
    client = configure(services)
    client.post("/api/staff/login", json={"username": "zhang", "password": "password-1"})
    entry = {"question": "新问题？", "answer": "新答复。"}
    foreign = client.post("/api/editor/entries", json=entry, headers={"Origin": "http://testserver:9999"})
    assert foreign.status_code == 403 and "跨站" in foreign.json()["detail"]
    assert client.post("/api/editor/entries", json=entry, headers={"Origin": "http://testserver"}).status_code in (200, 201)
    page = client.get("/staff/editor")
    assert (
        "frame-ancestors 'self'" in page.headers["content-security-policy"]
        and "default-src 'self'" in page.headers["content-security-policy"]
    )


def test_the_staff_cookie_is_secure_behind_https(services, engine):
    services.accounts.add("li", "password-1", "helper")
    login = {"username": "li", "password": "password-1"}
    plain = configure(services).post("/api/staff/login", json=login)
    assert "secure" not in plain.headers["set-cookie"].lower()
    proxied = configure(services, trusted_proxies=["testclient"]).post(
        "/api/staff/login", json=login, headers={"X-Forwarded-Proto": "https"}
    )
    assert "secure" in proxied.headers["set-cookie"].lower()
    forced = configure(services, secure_cookies=True).post("/api/staff/login", json=login)
    assert "secure" in forced.headers["set-cookie"].lower()


def test_metrics_can_need_a_token(services, engine):
    client = configure(services, metrics_token="scrape-me")
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer scrape-me"}).status_code == 200


def test_a_helper_reads_only_queued_own_or_admin_transcripts(services, engine):
    for name, role in (("li", "helper"), ("wang", "helper"), ("root", "admin")):
        services.accounts.add(name, "password-1", role)
    client = configure(services)
    created = client.post("/api/sessions", json={}).json()
    client.post(f"/api/sessions/{created['session_id']}/handoff", json={}, headers={"X-Session-Key": created["session_key"]})

    def login(name):
        staff = TestClient(client.app)
        staff.post("/api/staff/login", json={"username": name, "password": "password-1"})
        return staff

    li, wang, root = login("li"), login("wang"), login("root")
    (queued,) = li.get("/api/helpdesk/board").json()["queued"]
    assert wang.get(f"/api/helpdesk/{queued['id']}").status_code == 200  # waiting: any helper may look before claiming
    li.post(f"/api/helpdesk/{queued['id']}/claim")
    li.post(f"/api/helpdesk/{queued['id']}/close", json={"outcome": "resolved"})
    assert wang.get(f"/api/helpdesk/{queued['id']}").status_code == 404  # another helper's: as if it did not exist
    assert li.get(f"/api/helpdesk/{queued['id']}").status_code == 200 and root.get(f"/api/helpdesk/{queued['id']}").status_code == 200
    reads = [e for e in root.get("/api/admin/audit").json() if e["action"] == "read_transcript"]
    assert {e["actor"] for e in reads} >= {"li", "wang", "root"}
    assert json.dumps(reads, ensure_ascii=False)


def test_an_upload_batch_over_the_limits_is_refused_before_it_is_read(services, engine):
    client = configure(services, upload_max_files=2)
    created = client.post("/api/sessions", json={}).json()
    files = [("files", (f"材料{i}.txt", "营业执照".encode(), "text/plain")) for i in range(3)]
    response = client.post(
        f"/api/sessions/{created['session_id']}/prereview",
        data={"item_id": "BS-ITEM-007"},
        files=files,
        headers={"X-Session-Key": created["session_key"]},
    )
    assert response.status_code == 413 and "最多上传 2 个文件" in response.json()["detail"]


def test_a_locked_username_is_a_429_with_retry_after(services, engine):
    services.accounts.add("li", "password-1", "helper")
    client = configure(services, login_max_failures=2)
    wrong = [client.post("/api/staff/login", json={"username": "li", "password": "wrong-one"}).status_code for _ in range(2)]
    locked = client.post("/api/staff/login", json={"username": "li", "password": "password-1"})
    assert wrong == [401, 429] and locked.status_code == 429  # the attempt that reaches the limit is locked out already
    assert int(locked.headers["Retry-After"]) > 0
