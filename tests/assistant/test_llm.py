import json

import httpx
import pytest

from xiaobao.assistant.llm import LLMUnavailable, OpenAICompatibleLLM


def client(handler, schema_style="json_schema") -> OpenAICompatibleLLM:
    return OpenAICompatibleLLM("http://model/v1", "qwen", api_key="k", transport=httpx.MockTransport(handler), schema_style=schema_style)


def test_complete_sends_a_deterministic_request_and_reads_usage():
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen["body"] = json.loads(request.content)
        seen["auth"] = request.headers["authorization"]
        return httpx.Response(
            200, json={"choices": [{"message": {"content": "好的"}}], "usage": {"prompt_tokens": 5, "completion_tokens": 2}}
        )

    result = client(handler).complete([{"role": "user", "content": "你好"}], max_tokens=16, json_schema={"type": "object"})
    assert (result.text, result.prompt_tokens, result.completion_tokens) == ("好的", 5, 2)
    body = seen["body"]
    assert body["temperature"] == 0 and body["max_tokens"] == 16 and body["stream"] is False
    assert body["response_format"]["json_schema"]["schema"] == {"type": "object"}
    assert seen["auth"] == "Bearer k"

    client(handler, "json_object").complete([{"role": "user", "content": "你好"}], 16, json_schema={"type": "object"})
    assert seen["body"]["response_format"] == {"type": "json_object", "schema": {"type": "object"}}


def test_stream_yields_deltas_until_done():
    events = [
        {"choices": [{"delta": {"role": "assistant"}}]},
        {"choices": [{"delta": {"content": "你"}}]},
        {"choices": [{"delta": {"content": "好"}}]},
    ]
    body = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n" + 'data: {"ignored": true}\n\n'

    def handler(request):
        return httpx.Response(200, text=body, headers={"content-type": "text/event-stream"})

    assert list(client(handler).stream([{"role": "user", "content": "hi"}], 8)) == ["你", "好"]


@pytest.mark.parametrize("response", [httpx.Response(500, text="boom"), httpx.Response(200, json={"nothing": 1})])
def test_errors_become_llm_unavailable(response):
    with pytest.raises(LLMUnavailable):
        client(lambda request: response).complete([{"role": "user", "content": "x"}], 4)


def test_connection_refused_is_unavailable():
    def refuse(request):
        raise httpx.ConnectError("refused")

    llm = client(refuse)
    with pytest.raises(LLMUnavailable):
        list(llm.stream([{"role": "user", "content": "x"}], 4))
    assert llm.healthy() is False


def sse(*events) -> str:
    return "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"


def test_next_token_logprobs_reads_the_first_streamed_token():
    seen = {}
    top = [{"token": "是", "logprob": -0.1}, {"token": "否", "logprob": -2.5}]
    body = sse(
        {"choices": [{"delta": {"role": "assistant"}, "logprobs": None}]},
        {"choices": [{"delta": {"content": "是"}, "logprobs": {"content": [{"token": "是", "logprob": -0.1, "top_logprobs": top}]}}]},
    )

    def handler(request):
        seen["body"] = json.loads(request.content)
        return httpx.Response(200, text=body, headers={"content-type": "text/event-stream"})

    assert client(handler).next_token_logprobs([{"role": "user", "content": "是吗"}], 20) == {"是": -0.1, "否": -2.5}
    assert {k: seen["body"][k] for k in ("stream", "max_tokens", "logprobs", "top_logprobs")} == {
        "stream": True, "max_tokens": 1, "logprobs": True, "top_logprobs": 20,
    }  # fmt: skip


def test_a_stream_without_logprobs_is_unavailable():
    def handler(request):
        return httpx.Response(200, text=sse({"choices": [{"delta": {"content": "是"}}]}), headers={"content-type": "text/event-stream"})

    with pytest.raises(LLMUnavailable):
        client(handler).next_token_logprobs([{"role": "user", "content": "是吗"}], 20)


@pytest.mark.parametrize(("failure", "healthy"), [(httpx.ReadTimeout("busy"), True), (httpx.ConnectError("refused"), False)])
def test_a_busy_model_server_is_healthy_an_unreachable_one_is_not(failure, healthy):
    def handler(request):
        raise failure

    assert client(handler).healthy() is healthy
