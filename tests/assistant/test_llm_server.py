import os
import signal
import socket
import sys
import time
from pathlib import Path

import pytest

from xiaobao.assistant.llm import OpenAICompatibleLLM
from xiaobao.assistant.llm_server import ModelServer

FAKE = Path(__file__).with_name("fake_openai_server.py")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    port = free_port()
    srv = ModelServer([sys.executable, str(FAKE), str(port)], f"http://127.0.0.1:{port}/v1/models", tmp_path / "llm.log", 20)
    srv.base_url = f"http://127.0.0.1:{port}/v1"
    yield srv
    srv.stop()


def test_start_answer_and_stop(server):
    server.start(supervise=False)
    llm = OpenAICompatibleLLM(server.base_url, "fake")
    assert llm.complete([{"role": "user", "content": "你好"}], 16).text == "回声：你好"
    assert "".join(llm.stream([{"role": "user", "content": "好"}], 16)) == "回声：好"
    pid = server.pid
    server.stop()
    assert not server.healthy()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_the_model_server_steps_back_in_the_scheduler(tmp_path):
    port = free_port()
    srv = ModelServer([sys.executable, str(FAKE), str(port)], f"http://127.0.0.1:{port}/v1/models", tmp_path / "llm.log", 20, nice=7)
    try:
        srv.start(supervise=False)
        # the API's process keeps its priority; the model's is 7 steps lower
        assert os.getpriority(os.PRIO_PROCESS, srv.pid) == os.getpriority(os.PRIO_PROCESS, 0) + 7
    finally:
        srv.stop()


def test_a_killed_server_is_restarted(server):
    server.start(check_interval=0.2)
    os.kill(server.pid, signal.SIGKILL)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not (server.restarts and server.healthy()):
        time.sleep(0.2)
    assert server.restarts == 1 and server.healthy()


def test_a_crash_of_an_amx_build_says_how_to_rebuild(server, caplog):
    def said_on_restart(sig: int, loaded_amx: bool) -> str:
        caplog.clear()
        restarts = server.restarts
        if loaded_amx:  # as llama.cpp prints it while loading
            with server.log_path.open("a") as log:
                log.write("load_tensors:          AMX model buffer size =   950.71 MiB\n")
        os.kill(server.pid, sig)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not (server.restarts > restarts and server.healthy()):
            time.sleep(0.2)
        return caplog.text

    hint = "删除 .venv 后重新执行 make run"
    server.start(check_interval=0.2)
    assert hint not in said_on_restart(signal.SIGTERM, loaded_amx=True)  # stopped, not crashed
    assert hint in said_on_restart(signal.SIGSEGV, loaded_amx=True)  # how the AMX kernels' fault ends
    assert hint not in said_on_restart(signal.SIGSEGV, loaded_amx=False)  # the AMX line was an earlier process's


def test_a_server_that_cannot_start_is_a_clear_error(tmp_path):
    srv = ModelServer([sys.executable, "-c", "raise SystemExit(3)"], "http://127.0.0.1:9/v1/models", tmp_path / "llm.log", 10)
    with pytest.raises(RuntimeError, match="退出码 3"):
        srv.start()


def test_the_server_dies_with_its_parent(tmp_path):
    """Whatever ends the process that started it (here SIGKILL), the model server goes too."""
    import subprocess
    import textwrap

    port = free_port()
    script = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from xiaobao.assistant.llm_server import ModelServer
        health = "http://127.0.0.1:{port}/v1/models"
        srv = ModelServer([sys.executable, {str(FAKE)!r}, "{port}"], health, Path({str(tmp_path / "l.log")!r}), 20)
        srv.start(supervise=False)
        print(srv.pid, flush=True)
        time.sleep(60)
    """)
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[2])
    child = int(parent.stdout.readline())
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(child, signal.SIGKILL)
    pytest.fail("the model server outlived its parent")
