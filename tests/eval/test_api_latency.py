from tests.assistant.test_llm_server import free_port
from tests.conftest import write
from xiaobao.eval.api_latency import measure, qa_phrasings
from xiaobao.server import create_app


def test_measures_verbatim_replies_through_http(services, engine, tmp_path):
    qa = write(
        tmp_path / "qa.jsonl",
        '{"id": "qa-1", "question": "政务服务中心几点上班？", "alternatives": ["办事大厅什么时候开门"], "answer": "x"}',
    )
    questions = qa_phrasings(qa)
    assert questions == ["政务服务中心几点上班？", "办事大厅什么时候开门"]
    result = measure(create_app(services, with_ui=False), questions, rounds=2, port=free_port())
    assert result["paths"] == {"verbatim": 4} and result["verbatim_requests"] == 4
    assert 0 < result["p50_ms"] <= result["p95_ms"] <= result["max_ms"]
