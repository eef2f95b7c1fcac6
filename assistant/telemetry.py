"""What the dialogue records for Prometheus: model latency and tokens, retrieval latency, errors by kind."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

LLM_SECONDS = Histogram("xiaobao_llm_seconds", "Time to generate one answer with the model", buckets=(0.5, 1, 2, 4, 8, 16, 32, 64))
LLM_FIRST_TOKEN_SECONDS = Histogram(
    "xiaobao_llm_first_token_seconds", "Time to the model's first token", buckets=(0.25, 0.5, 1, 2, 4, 8, 16)
)
LLM_TOKENS = Counter("xiaobao_llm_tokens_total", "Tokens the model generated")
RETRIEVAL_SECONDS = Histogram(
    "xiaobao_retrieval_seconds", "Hybrid retrieval latency", buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1)
)
ERRORS = Counter("xiaobao_errors_total", "Errors by kind", ["kind"])
