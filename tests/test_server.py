import json

import pytest
from fastapi.testclient import TestClient

from tests.conftest import citing
from xiaobao.server import create_app


@pytest.fixture
def client(services, engine):
    return TestClient(create_app(services, with_ui=False))


def new_session(client, **body) -> str:
    """A new session; the client sends its key from now on, as the citizen's page would."""
    response = client.post("/api/sessions", json=body)
    assert response.status_code == 201
    created = response.json()
    client.headers["X-Session-Key"] = created["session_key"]
    return created["session_id"]


def events(response) -> list[tuple[str, dict]]:
    out = []
    for block in response.text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        out.append((lines["event"], json.loads(lines["data"])))
    return out


def test_ask_and_read_history(client):
    session = new_session(client)
    reply = client.post(f"/api/sessions/{session}/messages", json={"text": "办事大厅什么时候开门"}).json()
    assert reply["path"] == "verbatim" and reply["label"] == "官方答复口径"
    history = client.get(f"/api/sessions/{session}/messages").json()
    assert [t["role"] for t in history] == ["user", "assistant"]
    assert history[1]["citations"][0]["citation"] == "答复口径 qa-1"


def test_streamed_answer_ends_with_the_checked_reply(client, llm):
    llm.answers = [citing("第一条", "年满九十周岁的本区户籍老人每月领取高龄津贴400元[{n}]。")]
    session = new_session(client)
    response = client.post(f"/api/sessions/{session}/messages", json={"text": "九十岁老人高龄津贴每月多少钱", "stream": True})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    received = events(response)
    assert [kind for kind, _ in received[:2]] == ["status", "sources"]  # at once: looking, then what was found
    assert received[1][1]["sources"][0] == {"number": 1, "citation": "《示例区高龄津贴办法》第一条"}
    assert {kind for kind, _ in received[2:-1]} == {"sentence"}
    kind, final = received[-1]
    assert kind == "final" and final["path"] == "generated" and final["citations"][0]["number"] == 1
    assert "".join(d["text"] for _, d in received[2:-1]) == final["text"]  # what was shown is what stays


def test_rating_and_handoff(client):
    session = new_session(client)
    reply = client.post(f"/api/sessions/{session}/messages", json={"text": "你好"}).json()
    assert client.post(f"/api/sessions/{session}/turns/{reply['turn_id']}/rating", json={"value": "good"}).status_code == 204
    assert client.post(f"/api/sessions/{session}/turns/99999/rating", json={"value": "good"}).status_code == 404
    assert client.post(f"/api/sessions/{session}/turns/{reply['turn_id']}/rating", json={"value": "meh"}).status_code == 422
    handed = client.post(f"/api/sessions/{session}/handoff", json={}).json()
    assert handed["path"] == "handoff"


@pytest.mark.parametrize(
    ("method", "url", "body", "status"),
    [
        ("post", "/api/sessions/nope/messages", {"text": "你好"}, 403),
        ("get", "/api/sessions/nope/messages", None, 403),
        ("post", "/api/sessions/nope/turns/1/rating", {"value": "good"}, 403),
        ("post", "/v1/chat/completions", {"messages": [{"role": "system", "content": "x"}]}, 422),
        ("post", "/v1/chat/completions", {"messages": []}, 422),
    ],
)
def test_bad_requests_get_4xx(client, method, url, body, status):
    response = getattr(client, method)(url, **({"json": body} if body is not None else {}), headers={"X-Session-Key": "x"})
    assert response.status_code == status
    assert "detail" in response.json()


def test_bad_messages_get_a_clear_422(client):
    session = new_session(client)
    for text in ["\x00\x01", "问" * 600]:
        for stream in (False, True):
            response = client.post(f"/api/sessions/{session}/messages", json={"text": text, "stream": stream})
            assert response.status_code == 422, response.text
    assert client.get(f"/api/sessions/{session}/messages").json() == []


def test_openai_facade_with_the_official_client(client, llm):
    """The `openai` package against the facade: answers, a stream of checked sentences, continuation
    of the same session, usage, /v1/models and a Chinese 422."""
    from openai import OpenAI

    api = OpenAI(base_url="http://testserver/v1", api_key="unused", http_client=client)
    ask = [{"role": "user", "content": "办事大厅什么时候开门"}]
    answer = api.chat.completions.create(model="xiaobao", messages=ask)
    content = answer.choices[0].message.content
    assert "工作日9:00至17:00" in content and "答复口径：政务服务中心几点上班？" in content and "官方答复口径" in content
    assert "qa-1" not in content  # no internal id in what the citizen reads
    assert answer.usage.total_tokens == 0  # an official reply costs the model nothing

    llm.answers = [citing("第一条", "年满九十周岁的本区户籍老人每月领取高龄津贴400元[{n}]。本区户籍老人每人每月领取[{n}]。")]
    question = [{"role": "user", "content": "九十岁老人高龄津贴每月多少钱"}]
    stream = api.chat.completions.create(model="xiaobao", messages=question, stream=True)
    chunks = list(stream)
    deltas = [c.choices[0].delta.content for c in chunks if c.choices[0].delta.content]
    # the sentences arrive one by one as they pass the check, then the sources and label
    assert deltas[:2] == ["年满九十周岁的本区户籍老人每月领取高龄津贴400元[1]。", "本区户籍老人每人每月领取[1]。"]
    assert "出处" in deltas[-1]
    extra = [c.model_extra.get("xiaobao", {}) for c in chunks]
    assert extra[1] == {"status": "小宝正在查找资料…"} and "sources" in extra[2]  # before any sentence
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop" and last.usage.completion_tokens > 0
    details = last.model_extra["xiaobao"]
    metadata = {"session_id": details["session_id"], "session_key": details["session_key"]}
    again = api.chat.completions.create(model="xiaobao", messages=ask, metadata=metadata)
    assert again.model_extra["xiaobao"]["session_id"] == details["session_id"]

    assert [m.id for m in api.models.list()] == ["xiaobao"]
    empty = client.post("/v1/chat/completions", json={"messages": []})
    assert empty.status_code == 422 and "messages" in empty.json()["message"] and "请求的内容有误" in empty.json()["message"]


def test_tool_registry_is_published(client):
    names = [t["function"]["name"] for t in client.get("/api/tools").json()]
    assert names == [
        "search_knowledge",
        "get_application_progress",
        "prefill_form",
        "service_guide",
        "generate_material",
        "registered_address",
        "bundle_guide",
        "match_policies",
        "prereview_materials",
        "report_unresolved",
        "handoff_to_human",
    ]


def test_openapi_docs(client):
    assert client.get("/docs").status_code == 200
    assert "/v1/chat/completions" in client.get("/openapi.json").json()["paths"]


def test_a_citizen_reads_only_their_own_session(client):
    mine = new_session(client)
    client.post(f"/api/sessions/{mine}/messages", json={"text": "办事大厅什么时候开门"})
    my_key = client.headers["X-Session-Key"]
    theirs = new_session(client)
    reply = client.post(f"/api/sessions/{theirs}/messages", json={"text": "你好"}).json()
    client.headers["X-Session-Key"] = my_key  # with my key, their session is refused whichever route
    assert client.get(f"/api/sessions/{theirs}/messages").status_code == 403
    assert client.get(f"/api/sessions/{theirs}").status_code == 403
    assert client.post(f"/api/sessions/{theirs}/messages", json={"text": "你好"}).status_code == 403
    assert client.post(f"/api/sessions/{theirs}/handoff", json={}).status_code == 403
    assert client.post(f"/api/sessions/{theirs}/turns/{reply['turn_id']}/rating", json={"value": "bad"}).status_code == 403
    # nor can their answer be rated through my session
    assert client.post(f"/api/sessions/{mine}/turns/{reply['turn_id']}/rating", json={"value": "bad"}).status_code == 404
    del client.headers["X-Session-Key"]
    assert client.get(f"/api/sessions/{mine}/messages").status_code == 403
    body = {"messages": [{"role": "user", "content": "你好"}], "metadata": {"session_id": theirs, "session_key": my_key}}
    assert client.post("/v1/chat/completions", json=body).status_code == 403
    for console in ("/api/helpdesk/board", "/api/editor/gaps", "/api/admin/audit"):
        assert client.get(console).status_code == 401


def test_chat_page_is_mounted(services, engine):
    with TestClient(create_app(services)) as client:
        assert client.get("/", follow_redirects=False).headers["location"] == "/chat/"
        page = client.get("/chat/")
        assert page.status_code == 200 and "小宝" in page.text


def test_a_turn_renders_with_its_label_first_its_citations_and_escaped_html():
    from xiaobao.ui.chat import render_turn

    turn = {"role": "assistant", "text": "答复<script>[1]", "label": "本回答由人工智能生成，仅供参考", "helper": None,
            "citations": [{"number": 1, "citation": "《办法》第一条", "text": "原文", "entry": None}]}  # fmt: skip
    text = render_turn(turn)
    assert text.startswith('<span class="label">【本回答由人工智能生成，仅供参考】</span>')
    assert "&lt;script&gt;" in text and "<details><summary>[1] 《办法》第一条</summary>原文</details>" in text
    cited = {"number": 2, "citation": "《办法》第二条", "text": "原文", "entry": None, "version_date": "2024-03-01"}
    assert render_turn({**turn, "citations": [cited]}).count("<summary>[2] 《办法》第二条（2024-03-01 版）</summary>") == 1
