"""A client for any OpenAI-compatible chat endpoint: our local llama.cpp server, vLLM, or a hosted model."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

import httpx


class LLMUnavailable(RuntimeError):
    """The model endpoint did not answer; callers degrade (verbatim replies, search, hand-off)."""


@dataclass
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int
    seconds: float


class LLM(Protocol):
    model: str

    def complete(self, messages: Sequence[dict], max_tokens: int, json_schema: dict | None = None) -> Completion: ...

    def stream(self, messages: Sequence[dict], max_tokens: int, usage: dict | None = None) -> Iterator[str]: ...

    def next_token_logprobs(self, messages: Sequence[dict], top: int) -> dict[str, float]: ...


class OpenAICompatibleLLM:
    """Chat completions over HTTP. Temperature 0: answers about government services should not vary
    between two citizens asking the same thing."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        timeout: float = 120.0,
        transport: httpx.BaseTransport | None = None,
        schema_style: str = "json_object",
    ) -> None:
        if schema_style not in ("json_object", "json_schema"):
            raise ValueError("schema_style must be 'json_object' (llama.cpp) or 'json_schema' (OpenAI, vLLM)")
        self._schema_style = schema_style
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.model = model
        self._client = httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout, transport=transport)

    def _body(self, messages: Sequence[dict], max_tokens: int, stream: bool, json_schema: dict | None = None) -> dict:
        body = {"model": self.model, "messages": list(messages), "max_tokens": max_tokens, "temperature": 0, "stream": stream}
        if json_schema is not None:
            # two dialects of the same request: llama-cpp-python's server, and OpenAI's (also vLLM's)
            if self._schema_style == "json_object":
                body["response_format"] = {"type": "json_object", "schema": json_schema}
            else:
                body["response_format"] = {"type": "json_schema", "json_schema": {"name": "reply", "schema": json_schema, "strict": True}}
        return body

    def complete(self, messages: Sequence[dict], max_tokens: int, json_schema: dict | None = None) -> Completion:
        started = time.perf_counter()
        try:
            response = self._client.post("/chat/completions", json=self._body(messages, max_tokens, False, json_schema))
            response.raise_for_status()
            data = response.json()
            text = data["choices"][0]["message"]["content"] or ""
        except (httpx.HTTPError, KeyError, IndexError, ValueError) as exc:
            raise LLMUnavailable(f"模型服务不可用：{exc}") from exc
        usage = data.get("usage") or {}
        return Completion(text, usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0), time.perf_counter() - started)

    def _events(self, body: dict) -> Iterator[dict]:
        """The server-sent events of a streamed request, parsed, until `data: [DONE]`."""
        try:
            with self._client.stream("POST", "/chat/completions", json=body) as response:
                response.raise_for_status()
                for line in response.iter_lines():
                    if not line.startswith("data:"):
                        continue
                    payload = line[5:].strip()
                    if payload == "[DONE]":
                        return
                    yield json.loads(payload)
        except (httpx.HTTPError, ValueError) as exc:
            raise LLMUnavailable(f"模型服务中断：{exc}") from exc

    def stream(self, messages: Sequence[dict], max_tokens: int, usage: dict | None = None) -> Iterator[str]:
        """Text deltas as the model produces them. Where the server reports token usage (OpenAI, vLLM,
        llama.cpp's own server; llama-cpp-python's does not when streaming) it is written into `usage`."""
        body = {**self._body(messages, max_tokens, True), "stream_options": {"include_usage": True}}
        for data in self._events(body):
            if usage is not None and data.get("usage"):
                usage.update(data["usage"])
            choices = data.get("choices") or [{}]
            delta = (choices[0].get("delta") or {}).get("content")
            if delta:
                yield delta

    def next_token_logprobs(self, messages: Sequence[dict], top: int) -> dict[str, float]:
        """The log-probabilities of the `top` likeliest first tokens of the reply (one token generated).
        Streamed on purpose: for a plain request llama-cpp-python's server (which needs its default
        logits_all for this) takes the log-softmax of every prompt token's logits, ~1 s on 2 cores;
        streamed, only of the one token it reports."""
        body = {**self._body(messages, 1, True), "logprobs": True, "top_logprobs": top}
        try:
            for data in self._events(body):
                content = ((data.get("choices") or [{}])[0].get("logprobs") or {}).get("content")
                if content:
                    return {t["token"]: float(t["logprob"]) for t in content[0].get("top_logprobs") or []}
        except (AttributeError, KeyError, IndexError, TypeError, ValueError) as exc:
            raise LLMUnavailable(f"模型服务不可用：{exc}") from exc
        raise LLMUnavailable("模型服务没有返回 logprobs")

    def healthy(self) -> bool:
        try:
            return self._client.get("/models", timeout=2.0).status_code == 200
        except httpx.ReadTimeout:
            return True  # connected, busy answering: llama.cpp's server serves one request at a time, /models too
        except httpx.HTTPError:
            return False

    def close(self) -> None:
        self._client.close()


class ModelBusy(RuntimeError):
    """Every generation slot is taken and the waiting line is full: try again shortly."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("当前咨询人数较多，请稍后再试，或点击“转人工”。")
        self.retry_after = retry_after


class Slots:
    """A bounded line for the model: `running` answers at once, at most `waiting` more in line, the
    rest refused at once (ModelBusy) rather than left waiting without end."""

    def __init__(self, running: int, waiting: int, timeout: float) -> None:
        self._running = threading.BoundedSemaphore(running)
        self._lock = threading.Lock()
        self._inside = 0
        self.capacity = running + waiting
        self.timeout = timeout

    @contextmanager
    def hold(self):
        with self._lock:
            if self._inside >= self.capacity:
                raise ModelBusy(retry_after=5)
            self._inside += 1
        try:
            if not self._running.acquire(timeout=self.timeout):
                raise ModelBusy(retry_after=10)
            try:
                yield
            finally:
                self._running.release()
        finally:
            with self._lock:
                self._inside -= 1


# Take a place in a line kept in Redis: a sorted set of holders, each with the moment its lease ends
# (on the Redis server's clock); ended leases are dropped first, so a worker killed while holding a
# place gives it back when its lease runs out.
TAKE_PLACE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
return 1
"""


class SharedSlots:
    """The bounded line of Slots kept in Redis, so that every API worker sharing one model shares one
    line: `running` answers at once over all workers, `waiting` more in line, the rest refused at once.
    A waiting request polls for a running place (every 50 ms: small next to an answer's seconds). If
    Redis cannot be reached the request is refused (ModelBusy) rather than let past the bound."""

    POLL = 0.05
    LEASE = 900  # seconds: longer than any answer (llm_timeout bounds each model call)

    def __init__(self, redis, running: int, waiting: int, timeout: float, prefix: str = "xiaobao:model-line") -> None:
        self.running, self.capacity, self.timeout = running, running + waiting, timeout
        self._redis = redis
        self._take = redis.register_script(TAKE_PLACE)
        self._inside, self._generating = f"{prefix}:inside", f"{prefix}:running"

    def _took(self, key: str, limit: int, token: str) -> bool:
        from redis import RedisError

        try:
            return bool(self._take(keys=[key], args=[limit, token, self.LEASE]))
        except RedisError as error:
            raise ModelBusy(retry_after=5) from error

    @contextmanager
    def hold(self):
        token = os.urandom(8).hex()
        if not self._took(self._inside, self.capacity, token):
            raise ModelBusy(retry_after=5)
        try:
            deadline = time.monotonic() + self.timeout
            while not self._took(self._generating, self.running, token):
                if time.monotonic() >= deadline:
                    raise ModelBusy(retry_after=10)
                time.sleep(self.POLL)
            try:
                yield
            finally:
                self._redis.zrem(self._generating, token)
        finally:
            self._redis.zrem(self._inside, token)
