import asyncio

from tests.assistant.test_llm_server import free_port
from xiaobao.eval.handoff_bench import Scenario, simulate
from xiaobao.eval.serving import serving
from xiaobao.server import create_app


def test_simulated_citizens_get_first_responses_from_simulated_helpers(services):
    tokens = []
    for i in range(2):
        services.accounts.add(f"h{i}", "password-1", "helper")
        tokens.append(services.accounts.login(f"h{i}", "password-1")[0])
    scenario = Scenario(citizens=5, helpers=2, arrival_seconds=0.5, console_poll=0.2, chat_poll=0.2, typing=(0.05, 0.1), wrap_up=0.05)
    with serving(create_app(services, with_ui=False), free_port()) as url:
        result = asyncio.run(simulate(url, tokens, scenario))
    assert result["handoffs"] == result["answered"] == 5 and result["errors"] == 0
    assert result["first_response_within_60s"] == 1.0
    first = result["first_response"]
    assert 0 < first["p50_s"] <= first["p95_s"] <= first["max_s"] < 10
    assert result["queued_to_seen"]["n"] == 5 and result["posted_to_visible"]["n"] == 5
