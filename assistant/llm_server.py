"""Starts and supervises the local llama.cpp server (llama-cpp-python's OpenAI-compatible server):
waits until it answers, restarts it when it dies, stops it cleanly, and keeps its log."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import httpx

log = logging.getLogger("xiaobao.llm_server")
# what a build with llama.cpp's AMX kernels says as it loads; those kernels crash on some Xeons (llama.cpp
# issues 20824, 26954), and the Makefile builds without them, but a .venv from before keeps its build
AMX_BUILD = b"AMX model buffer"
AMX_HINT = "本机的 llama.cpp 带 AMX 内核，已知在部分至强处理器上崩溃：删除 .venv 后重新执行 make run，会不带 AMX 重新编译"


def llama_cpp_command(model_path: Path, host: str, port: int, threads: int, ctx: int, alias: str) -> list[str]:
    # No `--cache`: llama-cpp-python's RAM prompt cache keeps every prompt's logits (~300 MB each
    # with this vocabulary) without counting them, so it never evicts; in our answer evaluation the
    # server grew to 22 GB and was OOM-killed after ~70 answers. Without it the server still reuses
    # the previous request's matching prefix, which is what the fixed system prompt needs.
    return [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(model_path),
        "--model_alias", alias,
        "--host", host,
        "--port", str(port),
        "--n_ctx", str(ctx),
        "--n_threads", str(threads),
        "--n_threads_batch", str(threads),
        # the server answers one request at a time; by default a request arriving meanwhile ends the
        # one being streamed ([DONE] after its next chunk): a citizen's answer cut mid-sentence, or a
        # judgment with no verdict. Xiaobao's own line (Slots) decides who waits.
        "--interrupt_requests", "False",
    ]  # fmt: skip


def _child_setup(nice: int) -> Callable[[], None]:
    """What the child does before exec: ask Linux to send SIGTERM when our process goes away, however
    it goes (uvicorn re-raises SIGTERM after its shutdown, so `finally` blocks do not always run); and
    step back in the scheduler by `nice`, so that on shared cores the API's requests (official replies,
    hand-offs) get the CPU before the model's next token."""

    def setup() -> None:
        if sys.platform.startswith("linux"):
            import ctypes

            ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
        if nice:
            os.nice(nice)

    return setup


class ModelServer:
    """One supervised server process. `command` is the full command line; `health_url` answers 200
    once the model is loaded."""

    def __init__(self, command: Sequence[str], health_url: str, log_path: Path, startup_timeout: float = 180.0, nice: int = 0) -> None:
        self.command = list(command)
        self.nice = nice
        self.health_url = health_url
        self.log_path = log_path
        self.startup_timeout = startup_timeout
        self.restarts = 0
        self._process: subprocess.Popen | None = None
        self._log_start = 0  # where the current process's lines begin in the (appended) log
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._monitor: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def healthy(self) -> bool:
        try:
            return httpx.get(self.health_url, timeout=2.0).status_code == 200
        except httpx.HTTPError:
            return False

    def _spawn(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as out:
            self._log_start = out.tell()
            self._process = subprocess.Popen(
                self.command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, preexec_fn=_child_setup(self.nice)
            )
        log.info("model server started, pid %s", self._process.pid)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._process and self._process.poll() is not None:
                raise RuntimeError(f"模型服务启动失败（退出码 {self._process.returncode}），日志见 {self.log_path}")
            if self.healthy():
                return
            time.sleep(0.25)
        raise RuntimeError(f"模型服务 {self.startup_timeout:.0f} 秒内没有就绪，日志见 {self.log_path}")

    def _crash_hint(self) -> str:
        """Why a server that crashed did, where its own lines say: a hint the deployer can act on."""
        if self._process is None or self._process.returncode != -signal.SIGSEGV:
            return ""
        with self.log_path.open("rb") as log_file:
            log_file.seek(self._log_start)
            return f" ({AMX_HINT})" if AMX_BUILD in log_file.read() else ""

    def start(self, supervise: bool = True, check_interval: float = 2.0) -> None:
        """Start the server and wait until it answers; with `supervise`, restart it whenever it dies."""
        with self._lock:
            self._spawn()
        self._wait_ready()
        if supervise:
            self._stop.clear()
            self._monitor = threading.Thread(target=self._watch, args=(check_interval,), daemon=True, name="model-server-monitor")
            self._monitor.start()

    def _watch(self, interval: float) -> None:
        while not self._stop.wait(interval):
            with self._lock:
                if self._stop.is_set() or self._process is None or self._process.poll() is None:
                    continue
                log.warning("model server exited with %s; restarting%s", self._process.returncode, self._crash_hint())
                self.restarts += 1
                self._spawn()
            try:
                self._wait_ready()
            except RuntimeError as exc:
                log.error("%s", exc)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._monitor:
            self._monitor.join(timeout)
        with self._lock:
            if self._process and self._process.poll() is None:
                self._process.terminate()
                try:
                    self._process.wait(timeout)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait()
            self._process = None

    def __enter__(self) -> ModelServer:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
