"""Question files as in shared/data/eval (and eval/data): one JSON object per line with `question`,
and optionally `relevant` ({law, article} objects or ids), `gov`, `complete`, `expect`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Question:
    text: str
    relevant: set[str]
    gov: bool = False
    expect_refusal: bool = False


def gold_keys(rec: dict) -> set[str]:
    """A record's gold units as retrieval keys (xiaobao.knowledge.retriever.unit_key): law|article for
    statutes, the id otherwise."""
    return {f"{r['law']}|{r['article']}" if isinstance(r, dict) else str(r) for r in rec.get("relevant") or []}


def load_questions(path: Path, limit: int | None = None, require_gold: bool = False) -> list[Question]:
    """With `require_gold`, questions without relevant items, or whose gold could not be fully mapped
    (`complete` false), are left out."""
    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            relevant = gold_keys(rec)
            question = Question(str(rec["question"]).strip(), relevant, bool(rec.get("gov")), rec.get("expect") == "refuse")
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"{path}:{number} 不是有效的问题记录：{exc}") from exc
        if question.text and (not require_gold or (relevant and rec.get("complete", True))):
            questions.append(question)
        if limit and len(questions) >= limit:
            break
    if not questions:
        raise ValueError(f"{path} 中没有可评测的问题")
    return questions
