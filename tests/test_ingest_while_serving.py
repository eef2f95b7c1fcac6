"""Ingest and evaluate while the service runs: the embedded index admits one process, so `xiaobao
ingest` and `xiaobao eval verbatim` on the data directory of a running `xiaobao serve` go through the
service (ingest as a background job with progress; both authorised by the token the service left in
its data directory); other commands say what to do. A command that opens the database itself (`xiaobao
users add`) leaves the service's database working."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.assistant.test_llm_server import free_port
from tests.test_crash import XIAOBAO, start
from xiaobao.api.deps import LOCAL_TOKEN
from xiaobao.operations import running
from xiaobao.server import create_app

QA = {"id": "qa-new", "question": "新生儿落户去哪里办？", "answer": "新生儿落户请到户籍所在地派出所办理。"}


def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "new"
    folder.mkdir()
    (folder / "qa.jsonl").write_text(json.dumps(QA, ensure_ascii=False) + "\n", encoding="utf-8")
    return folder


def test_the_note_of_a_running_service(tmp_path):
    note = running.announce(tmp_path, "http://127.0.0.1:8000")
    assert running.found(tmp_path) == note and oct((tmp_path / running.NOTE).stat().st_mode & 0o777) == "0o600"
    running.withdraw(tmp_path, note)
    assert running.found(tmp_path) is None and not (tmp_path / running.NOTE).exists()
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    (tmp_path / running.NOTE).write_text(json.dumps({"pid": gone.pid, "url": "http://x", "token": "t"}), encoding="utf-8")
    assert running.found(tmp_path) is None and not (tmp_path / running.NOTE).exists()  # stale: its process is gone


def test_ingest_as_a_job_of_the_service(services, tmp_path):
    app = create_app(services, with_ui=False)
    app.state.local_token = "local-secret"
    client = TestClient(app)
    body = {"paths": [str(corpus(tmp_path))]}
    assert client.post("/api/editor/ingest", json=body).status_code == 403
    assert client.post("/api/editor/ingest", json=body, headers={LOCAL_TOKEN: "guess"}).status_code == 403
    headers = {LOCAL_TOKEN: "local-secret"}
    missing = client.post("/api/editor/ingest", json={"paths": [str(tmp_path / "nowhere")]}, headers=headers)
    assert missing.status_code == 422 and "路径不存在" in missing.json()["detail"]
    job = client.post("/api/editor/ingest", json=body, headers=headers)
    assert job.status_code == 202 and job.json()["files_total"] == 1
    deadline = time.monotonic() + 60
    while (state := client.get(f"/api/editor/ingest/{job.json()['id']}", headers=headers).json())["status"] == "running":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert state["status"] == "done" and state["files_done"] == 1 and state["summary"]["added"] >= 1
    assert services.kb.retriever.search("新生儿落户", 3)[0].group == "qa:qa-new"
    assert client.get("/api/editor/ingest/nope", headers=headers).status_code == 404


@pytest.mark.slow
def test_xiaobao_ingest_while_xiaobao_serve_runs(tmp_path):
    data = tmp_path / "var"
    init = subprocess.run([XIAOBAO, "--data-dir", str(data), "init", "--no-llm"], capture_output=True, text=True)
    assert init.returncode == 0, init.stderr
    port = free_port()
    server = start(data, port, None)
    try:
        assert running.found(data).url == f"http://127.0.0.1:{port}"
        done = subprocess.run(
            [XIAOBAO, "--data-dir", str(data), "ingest", str(corpus(tmp_path))], capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "交给服务在后台导入" in done.stdout and "导入结果" in done.stdout and "WouldBlock" not in done.stdout + done.stderr
        session = httpx.post(f"http://127.0.0.1:{port}/api/sessions", json={}).json()
        reply = httpx.post(
            f"http://127.0.0.1:{port}/api/sessions/{session['session_id']}/messages",
            json={"text": "新生儿落户去哪里办？"},
            headers={"X-Session-Key": session["session_key"]},
        ).json()
        assert "派出所" in reply["text"]  # the service answers from what was just ingested
        other = subprocess.run([XIAOBAO, "--data-dir", str(data), "search", "落户"], capture_output=True, text=True, timeout=300)
        said = other.stdout.replace("\n", "")  # the terminal's line breaks
        assert other.returncode != 0 and "小宝服务正在运行" in said and "另一个数据目录" in said
        second = subprocess.run(
            [XIAOBAO, "--data-dir", str(data), "serve", "--port", str(free_port())], capture_output=True, text=True, timeout=300
        )
        said = second.stdout.replace("\n", "")
        assert second.returncode == 2 and "小宝服务正在运行" in said and "错误：2" not in said  # said once
        evaluated = subprocess.run(
            [XIAOBAO, "--data-dir", str(data), "eval", "verbatim", "--json", str(tmp_path / "v.json")],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert evaluated.returncode == 0, evaluated.stdout + evaluated.stderr
        assert (
            "通过服务评测" in evaluated.stdout and json.loads((tmp_path / "v.json").read_text())["sets"]["evaluation"]["paraphrases"] >= 20
        )
        # a staff account added beside the service: the service's database keeps working (db.py's lock)
        added = subprocess.run(
            [XIAOBAO, "--data-dir", str(data), "users", "add", "bianji", "--role", "editor", "--name", "编辑", "--password", "password-1"],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert added.returncode == 0, added.stdout + added.stderr
        assert (data / "xiaobao.db-shm").exists()  # not deleted from under the service by the command's exit
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as editor:
            assert editor.post("/api/staff/login", json={"username": "bianji", "password": "password-1"}).status_code == 200
            assert editor.get("/api/editor/gaps").status_code == 200
            assert editor.get("/api/staff/search", params={"q": "新生儿落户去哪里办？"}).json()["decision"] == "verbatim"
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(180)  # a graceful stop: the schedule, the index and the database closed
    assert not (data / running.NOTE).exists()  # withdrawn when the service stops
