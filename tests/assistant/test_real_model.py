"""The real local model (Qwen2.5-Coder-1.5B Q4_K_M) behind the real llama.cpp server, over HTTP."""

import json
import os
import signal
import threading
import time

import pytest

from tests.assistant.test_llm_server import free_port
from xiaobao.assistant.llm import OpenAICompatibleLLM
from xiaobao.assistant.llm_server import ModelServer, llama_cpp_command
from xiaobao.assistant.model_files import QWEN_1_5B, prepare_model

pytestmark = pytest.mark.slow
QUESTION = "九十岁老人每月领多少高龄津贴？"


@pytest.fixture(scope="module")
def model_server(tmp_path_factory):
    model = prepare_model(QWEN_1_5B, tmp_path_factory.mktemp("models"))
    port = free_port()
    command = llama_cpp_command(model, "127.0.0.1", port, os.cpu_count() or 2, 2048, "qwen")
    server = ModelServer(command, f"http://127.0.0.1:{port}/v1/models", tmp_path_factory.mktemp("logs") / "llm.log")
    server.base_url = f"http://127.0.0.1:{port}/v1"
    server.start(check_interval=0.5)
    yield server
    server.stop()


def test_json_schema_output_is_valid(model_server):
    llm = OpenAICompatibleLLM(model_server.base_url, "qwen", schema_style="json_object")
    schema = {"type": "object", "properties": {"intent": {"type": "string", "enum": ["progress", "knowledge"]}}, "required": ["intent"]}
    result = llm.complete([{"role": "user", "content": "“我的居住证办到哪一步了”属于哪类意图？"}], 30, json_schema=schema)
    assert json.loads(result.text)["intent"] in ("progress", "knowledge")


def test_grounded_answer_from_the_real_model(engine, model_server):
    engine.llm = OpenAICompatibleLLM(model_server.base_url, "qwen")
    reply = engine.respond(engine.create_session(), QUESTION)
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from xiaobao.assistant.store import KnowledgeGap

    with Session(engine.db_engine) as session:
        print("DEBUG", reply.checked, [(g.reason, g.trace) for g in session.scalars(select(KnowledgeGap))])
    assert reply.path == "generated", reply.text
    assert "400" in reply.text and reply.citations[0]["citation"] == "《示例区高龄津贴办法》第一条"
    assert reply.ttft_ms is not None and reply.ttft_ms < reply.total_ms


class KilledMidAnswer:
    """The real client, except that the server is killed (SIGKILL) as soon as it has begun to answer."""

    def __init__(self, llm: OpenAICompatibleLLM, pid: int) -> None:
        self.llm, self.pid = llm, pid

    def stream(self, messages, max_tokens, usage=None):
        for i, token in enumerate(self.llm.stream(messages, max_tokens)):
            if i == 0:
                os.kill(self.pid, signal.SIGKILL)
            yield token


def test_a_request_arriving_while_an_answer_streams_waits_instead_of_cutting_it(model_server):
    """llama-cpp-python's server ends a stream when another request arrives, unless told not to
    (llm_server.llama_cpp_command): the answer must run to its end, the judgment after it."""
    llm = OpenAICompatibleLLM(model_server.base_url, "qwen")
    deltas: list[str] = []
    started = threading.Event()

    def answer() -> None:
        for delta in llm.stream([{"role": "user", "content": "请用三百字介绍上海。"}], 60):
            deltas.append(delta)
            started.set()

    streaming = threading.Thread(target=answer)
    streaming.start()
    assert started.wait(120)
    verdict = llm.next_token_logprobs([{"role": "user", "content": "只回答是或否：天是蓝的吗？"}], 5)
    streaming.join(120)
    assert len(deltas) >= 40  # 60 tokens asked for; cut, it stopped a chunk after the other request came
    assert "是" in verdict


def test_killing_the_model_server_mid_answer(engine, model_server):
    engine.llm = KilledMidAnswer(OpenAICompatibleLLM(model_server.base_url, "qwen"), model_server.pid)
    session = engine.create_session()
    final = [value for kind, value in engine.stream(session, QUESTION) if kind == "final"][0]
    assert final.path == "error" and final.offer_human and "转人工" in final.text
    assert [t["role"] for t in engine.history(session)] == ["user", "assistant"]  # the turn is stored
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (model_server.restarts and model_server.healthy()):
        time.sleep(0.5)
    assert model_server.healthy()  # the supervisor brought it back


@pytest.mark.parametrize(
    ("question", "neighbour", "answer"),
    [
        (
            "宝山区养犬登记在哪里办理",
            "宝山区企业登记服务窗口位于宝山区政务服务中心1号窗口，办理公司设立登记。",
            "养犬登记可到居住地派出所或通过一网通办办理养犬登记证。",
        ),
        (
            "二手车在外地怎么年检",
            "二手车在外地办理转移登记，需携带机动车登记证书、行驶证和买卖双方身份证明到车辆管理所办理。",
            "机动车在外地检验，可直接到当地检验机构检验，无需办理委托手续。",
        ),
    ],
)
def test_the_real_model_judges_the_answer_above_its_neighbour(model_server, question, neighbour, answer):
    """The judge's verdict (assistant/judge.py) through the server's logprobs: a ranking signal, not a
    yes/no (neighbours also get a positive verdict; the fitted weight and threshold turn it into a decision)."""
    from xiaobao.assistant import judge
    from xiaobao.prompts import load

    llm = OpenAICompatibleLLM(model_server.base_url, "qwen")
    system, user = load("answer_system"), load("answer_user")
    said = {text: judge.verdict(llm, system, user, question, f"资料：{text}") for text in (neighbour, answer)}
    assert said[answer] > said[neighbour]
