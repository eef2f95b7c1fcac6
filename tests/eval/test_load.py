import asyncio

from tests.assistant.test_llm_server import free_port
from xiaobao.eval.load import Load, run
from xiaobao.eval.serving import serving
from xiaobao.server import create_app


def test_concurrent_citizens_on_the_verbatim_and_hand_off_paths(services, engine):
    services.settings = services.settings.model_copy(
        update={"rate_limit_per_client": 0, "rate_limit_per_session": 0, "rate_limit_sessions_per_client": 0}
    )
    load = Load(sessions=8, seconds=2, think=(0.05, 0.1), mix={"verbatim": 4, "handoff": 1})
    with serving(create_app(services, with_ui=False), free_port()) as url:
        phrasings = ["办事大厅什么时候开门", "政务服务中心几点上班？"]
        result = asyncio.run(run(url, load, {"verbatim": phrasings, "handoff": phrasings}))
    assert result["errors"] == 0 and result["requests"] > 20
    verbatim = result["by_kind"]["verbatim"]
    assert verbatim["ok"] == verbatim["requests"] and verbatim["paths"] == {"verbatim": verbatim["ok"]}
    # nobody claims the hand-offs: while they wait in the queue Xiaobao keeps answering
    assert set(result["by_kind"]["handoff"]["paths"]) == {"handoff", "verbatim"}
    assert sum(result["citizens_by_kind"].values()) == 8
