"""The staff API over HTTP: the whole knowledge loop, the helper desk, permissions and bad input."""

import pytest
from fastapi.testclient import TestClient

from xiaobao.assistant.llm import LLMUnavailable
from xiaobao.server import create_app


@pytest.fixture
def app(services, engine):
    for username, role in (("li", "helper"), ("zhang", "editor"), ("root", "admin")):
        services.accounts.add(username, "password-1", role, {"li": "李明", "zhang": "张编辑", "root": "管理员"}[username])
    return create_app(services, with_ui=False)


def login(app, username: str) -> TestClient:
    client = TestClient(app)
    response = client.post("/api/staff/login", json={"username": username, "password": "password-1"})
    assert response.status_code == 200 and "xiaobao_staff" in response.cookies
    return client


def citizen(app) -> tuple[TestClient, str]:
    client = TestClient(app)
    created = client.post("/api/sessions", json={}).json()
    client.headers["X-Session-Key"] = created["session_key"]
    return client, created["session_id"]


def ask(client, session, text) -> dict:
    response = client.post(f"/api/sessions/{session}/messages", json={"text": text})
    assert response.status_code == 200, response.text
    return response.json()


def test_refused_question_becomes_an_official_reply(app):
    person, session = citizen(app)
    assert ask(person, session, "火星移民签证怎么办理")["path"] == "refused"

    editor = login(app, "zhang")
    (group,) = editor.get("/api/editor/gaps").json()
    assert group["topic"] == "火星移民签证怎么办理" and group["due_date"]
    body = {"question": group["topic"], "answer": "本区不受理火星签证。", "gap_ids": [g["id"] for g in group["gaps"]]}
    draft = editor.post("/api/editor/entries", json=body)
    assert draft.status_code == 201
    entry_id = draft.json()["id"]
    assert editor.post(f"/api/editor/entries/{entry_id}/publish").json()["status"] == "published"
    assert editor.get("/api/editor/gaps").json() == []

    again, session = citizen(app)
    reply = ask(again, session, "火星移民签证怎么办理")
    assert reply["path"] == "verbatim" and reply["text"] == "本区不受理火星签证。" and reply["label"] == "官方答复口径"

    hits = editor.get("/api/staff/search", params={"q": "火星移民签证怎么办理"}).json()
    assert hits["decision"] == "verbatim" and hits["hits"][0]["citation"] == "答复口径 kb-00001"
    versions = editor.get(f"/api/editor/entries/{entry_id}").json()["versions"]
    assert [v["action"] for v in versions] == ["create", "publish"]


def test_a_helper_answers_a_citizen_over_http(app):
    person, session = citizen(app)
    assert person.post(f"/api/sessions/{session}/handoff", json={}).json()["path"] == "handoff"
    assert person.get(f"/api/sessions/{session}").json()["status"] == "queued"
    helper = login(app, "li")
    (waiting,) = helper.get("/api/helpdesk/board").json()["queued"]
    assert helper.post(f"/api/helpdesk/{waiting['id']}/claim").status_code == 200
    assert login(app, "root").post(f"/api/helpdesk/{waiting['id']}/claim").status_code == 409  # already taken
    last = person.get(f"/api/sessions/{session}/messages").json()[-1]["turn_id"]
    assert helper.post(f"/api/helpdesk/{waiting['id']}/reply", json={"text": "您好，请问有什么可以帮您？"}).status_code == 200
    new = person.get(f"/api/sessions/{session}/messages", params={"after": last}).json()
    assert [(t["role"], t["helper"], t["text"]) for t in new] == [("helper", "李明", "您好，请问有什么可以帮您？")]
    assert ask(person, session, "我想问居住证")["path"] == "human"
    suggestion = helper.post(f"/api/helpdesk/{waiting['id']}/suggestion").json()
    assert suggestion["question"] == "我想问居住证" and suggestion["text"]
    closed = helper.post(
        f"/api/helpdesk/{waiting['id']}/close", json={"outcome": "resolved", "save_as_knowledge": True, "answer": "请带身份证。"}
    )
    assert closed.json()["draft"]["question"] == "我想问居住证"
    assert helper.get("/api/helpdesk/stats").json()["answered"] == 1


def test_roles_and_login_are_enforced(app):
    anonymous = TestClient(app)
    assert anonymous.get("/api/helpdesk/board").status_code == 401
    assert anonymous.get("/staff/helper", follow_redirects=False).headers["location"] == "/staff/login?next=/staff/helper"
    assert anonymous.get("/staff/login").status_code == 200
    assert anonymous.post("/api/staff/login", json={"username": "li", "password": "wrong-pass"}).status_code == 401
    helper, editor, admin = login(app, "li"), login(app, "zhang"), login(app, "root")
    assert helper.get("/api/editor/gaps").status_code == 403 and helper.get("/api/admin/audit").status_code == 403
    assert editor.get("/api/helpdesk/board").status_code == 403 and editor.get("/api/admin/audit").status_code == 403
    assert helper.get("/staff/editor", follow_redirects=False).status_code == 303
    assert helper.get("/staff/helper").status_code == 200 and "线上帮办工作台" in helper.get("/staff/helper").text
    for url in ("/api/helpdesk/board", "/api/editor/gaps", "/api/admin/audit", "/api/admin/users"):
        assert admin.get(url).status_code == 200
    assert TestClient(app).get("/api/staff/me", headers={"Authorization": "Bearer nonsense"}).status_code == 401
    audit = admin.get("/api/admin/audit").json()
    assert {"login", "login_failed"} <= {e["action"] for e in audit}
    helper.post("/api/staff/logout")
    assert helper.get("/api/helpdesk/board").status_code == 401


def test_bulk_import_and_document_upload(app, tmp_path):
    editor = login(app, "zhang")
    csv_file = "问题,答复\n居住证怎么办,带身份证到社区事务受理中心。\n,缺问题\n".encode()
    preview = editor.post("/api/editor/import", files={"file": ("qa.csv", csv_file)}).json()
    assert (preview["valid"], preview["invalid"], preview["created"]) == (1, 1, 0)
    assert preview["rows"][1]["errors"] == ["缺少问题"]
    done = editor.post("/api/editor/import", files={"file": ("qa.csv", csv_file)}, data={"commit": "true"}).json()
    assert done["created"] == 1 and editor.get("/api/editor/entries", params={"status": "draft"}).json()[0]["question"] == "居住证怎么办"

    text = "宝山区示例通知：社区事务受理中心周六上午增设延时服务窗口。".encode()
    uploaded = editor.post("/api/editor/documents", files={"file": ("延时服务通知.txt", text)})
    assert uploaded.status_code == 200 and uploaded.json()["added"] >= 1
    hits = editor.get("/api/staff/search", params={"q": "周六延时服务窗口"}).json()["hits"]
    assert any("延时服务" in h["text"] for h in hits)

    for name, data, status in (
        ("x.exe", b"MZ", 422),
        ("empty.txt", b"", 422),
        ("bin.txt", b"\x00\x01\x02" * 100, 422),
        ("qa.pdf", b"%PDF", 422),
    ):
        url = "/api/editor/import" if name == "qa.pdf" else "/api/editor/documents"
        response = editor.post(url, files={"file": (name, data)})
        assert response.status_code == status, (name, response.text)
        assert "detail" in response.json()


@pytest.mark.parametrize(
    ("method", "url", "body", "status"),
    [
        ("post", "/api/helpdesk/999/claim", None, 404),
        ("get", "/api/editor/entries/999", None, 404),
        ("get", "/api/editor/entries/126205522806600073216", None, 422),  # no column holds it (was a 500)
        ("post", "/api/helpdesk/126205522806600073216/claim", None, 422),
        ("post", "/api/editor/entries", {"question": "", "answer": "x"}, 422),
        ("post", "/api/editor/entries", {"question": "q", "answer": "a", "effective_from": "tomorrow"}, 422),
        ("post", "/api/editor/entries", {"question": "q", "answer": "a", "gap_ids": [12345]}, 422),
        ("post", "/api/editor/gaps/dismiss", {"ids": []}, 422),
        ("post", "/api/editor/gaps/dismiss", {"ids": [7071020000773691392]}, 422),  # no column holds it (was a 500)
        ("post", "/api/editor/entries", {"question": "q", "answer": "a", "gap_ids": [-3]}, 422),
        ("post", "/api/helpdesk/1/close", {"outcome": "whatever"}, 422),
    ],
)
def test_bad_staff_requests_get_4xx(app, method, url, body, status):
    admin = login(app, "root")
    response = getattr(admin, method)(url, **({"json": body} if body is not None else {}))
    assert response.status_code == status, response.text
    assert "detail" in response.json()


def test_the_hit_test_asks_the_model_where_its_verdict_decides(app, engine, llm, monkeypatch):
    """An editor sees what a citizen would get: where P alone is unsure the model is asked, and its
    verdict and the resulting decision are shown; no answer is written."""
    from tests.assistant.test_judge import NO, QUESTION, YES, _topic_model, a_judge

    engine.answerability = _topic_model()
    engine.judge = a_judge(engine.answerability, sure=0.999)
    editor = login(app, "zhang")
    llm.verdicts = [YES, NO]
    said_yes, said_no = (editor.get("/api/staff/search", params={"q": QUESTION}).json() for _ in range(2))
    assert said_yes["decision"] == "judge" and 0 < said_yes["probability"] < 1
    assert said_yes["judged"] == {"decision": "generate", "verdict": 2.95}
    assert said_no["judged"] == {"decision": "refuse", "verdict": -2.95}
    assert len(llm.judged) == 2 and llm.calls == []
    unjudged = editor.get("/api/staff/search", params={"q": QUESTION, "ask_model": "false"}).json()
    assert unjudged["decision"] == "judge" and unjudged["judged"] is None and len(llm.judged) == 2

    plain = editor.get("/api/staff/search", params={"q": "政务服务中心几点上班？"}).json()
    assert plain["decision"] == "verbatim" and plain["judged"] is None

    def down(messages, top):
        raise LLMUnavailable("connection refused")

    monkeypatch.setattr(llm, "next_token_logprobs", down)
    unasked = editor.get("/api/staff/search", params={"q": QUESTION}).json()["judged"]
    assert unasked == {"decision": "generate", "verdict": None}  # P alone, as for a citizen: P ≥ the answer threshold
