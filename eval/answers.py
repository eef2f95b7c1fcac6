"""`xiaobao eval answers`: the whole engine per question — which path it took, whether its citations
are right, whether the model's sentences were supported, refusals out of scope, and time."""

from __future__ import annotations

from collections import Counter

from xiaobao.eval.questions import Question
from xiaobao.operations.metrics import percentile


def run_answer_eval(engine, cases: list[Question], on_case=None) -> dict:
    paths: Counter = Counter()
    cited = correct = kept = cut = uncited = 0
    refused_oos = oos = 0
    ttft, total = [], []
    for case in cases:
        reply = engine.respond(engine.create_session(channel="eval"), case.text)
        paths[reply.path] += 1
        if reply.ttft_ms is not None:
            ttft.append(reply.ttft_ms)
        total.append(reply.total_ms or 0.0)
        if case.expect_refusal:
            oos += 1
            refused_oos += reply.path == "refused"
        if reply.path == "generated":
            uncited += not reply.citations
            kept += reply.checked.get("kept", 0)
            cut += reply.checked.get("cut", 0)
        elif reply.path == "refused":
            cut += reply.checked.get("cut", 0)
        if reply.path in ("generated", "verbatim", "quoted") and case.relevant:
            for c in reply.citations:
                cited += 1
                correct += c.get("key") in case.relevant
        if on_case:
            on_case(case, reply)
    return {
        "n": len(cases),
        "citation_precision": correct / cited if cited else None,
        "support_rate": kept / (kept + cut) if kept + cut else None,
        "uncited_generated": uncited,
        "refusal_rate_out_of_scope": refused_oos / oos if oos else None,
        "paths": dict(paths),
        "ttft_p50_ms": percentile(ttft, 50) if ttft else None,
        "ttft_p95_ms": percentile(ttft, 95) if ttft else None,
        "total_p50_ms": percentile(total, 50),
    }
