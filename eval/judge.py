"""`xiaobao eval judge`: fit and measure the judge (xiaobao.assistant.judge) with the real model.

The cases are `eval answerability`'s (bj-faq-dev, half asked with the gold answer left out, split by
department). For a fixed sample of training-department questions, the best candidate by P(answers)
is put to the model as the engine puts it, and its verdict kept; P there comes from the answerability
model fitted without the question's department, as for the answer threshold. The weight (from a
small grid) and the threshold are chosen for the most correct answers with at most 5 % of left-out
questions answered, on training questions only; `floor` is the P below which even the highest verdict seen
cannot reach the threshold. The held-out departments' sample is scored once with the fitted rule,
beside P alone (the answerability model's own threshold) on the same questions.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from xiaobao.assistant import citations, judge
from xiaobao.assistant.answerability import Model
from xiaobao.assistant.llm import LLM
from xiaobao.eval.answerability import CORPUS, QUERIES, TARGET_FALSE_ANSWERS, Case, collect, left_out_departments, threshold_for
from xiaobao.prompts import load as load_prompt
from xiaobao.settings import Settings

WEIGHTS = (0.5, 1.0, 1.5, 2.0, 2.5, 3.0)
COMMAND = "xiaobao --data-dir var/truth eval judge --write-model"


def sample(cases: Sequence[Case], held_out: bool, each: int) -> list[Case]:
    """`each` questions asked with their gold present and `each` with it left out, from one split, in
    an order fixed by the ids (not the file's: consecutive rows are one department's series)."""
    pool = sorted((c for c in cases if c.held_out == held_out), key=lambda c: zlib.crc32(("judge" + c.id).encode()))
    return [c for c in pool if not c.removed][:each] + [c for c in pool if c.removed][:each]


def verdicts(llm: LLM, model_for: Callable[[Case], Model], tokenizer, cases: Sequence[Case], on_case: Callable | None = None) -> list[dict]:
    """Per case: P of the best candidate (by the answerability model `model_for` the case), whether it
    is the gold, and the model's verdict on it. The passage reads as the engine's passage_text: 资料 (a
    FAQ answer's id is its only title) and its text."""
    system, user = load_prompt("answer_system"), load_prompt("answer_user")
    rows = []
    for case in cases:
        lst = case.left if case.removed else case.full
        if lst:
            probs = model_for(case).score(tokenizer, case.question, lst)
            best = lst[int(np.argmax(probs))]
            passage = f"资料：{citations.scrub_ids(best.text).strip()[: judge.PASSAGE_CHARS]}"
            said = judge.verdict(llm, system, user, case.question, passage)
            row = {"id": case.id, "removed": case.removed, "p": max(probs), "gold": best.key in case.gold, "verdict": said}
        else:
            row = {"id": case.id, "removed": case.removed, "p": 0.0, "gold": False, "verdict": 0.0}
        rows.append(row)
        if on_case:
            on_case(row)
    return rows


def _score(row: dict, weight: float, sure: float) -> float:
    return np.inf if row["p"] >= sure else judge.logit(row["p"]) + weight * row["verdict"]


def rates(rows: Sequence[dict], answers: Callable[[dict], bool]) -> dict:
    present = [r for r in rows if not r["removed"]]
    absent = [r for r in rows if r["removed"]]
    n = max(len(present), 1)
    return {
        "present": len(present),
        "absent": len(absent),
        "correct_when_present": round(sum(answers(r) and r["gold"] for r in present) / n, 4),
        "wrong_when_present": round(sum(answers(r) and not r["gold"] for r in present) / n, 4),
        "refused_answerable": round(sum(not answers(r) for r in present) / n, 4),
        "false_answer_rate": round(sum(map(answers, absent)) / max(len(absent), 1), 4),
    }


def fit(rows: Sequence[dict], model: Model, llm_model: str) -> judge.Judge:
    """The weight and threshold with the most correct answers at ≤ 5 % false answers on `rows`."""
    sure = model.verbatim_threshold
    absent = [r for r in rows if r["removed"]]
    grid = []
    for weight in WEIGHTS:
        threshold = threshold_for([_score(r, weight, sure) for r in absent], TARGET_FALSE_ANSWERS)
        correct = sum(_score(r, weight, sure) >= threshold and r["gold"] for r in rows if not r["removed"])
        grid.append({"weight": weight, "threshold": round(threshold, 4), "correct": correct})
    best = max(grid, key=lambda g: (g["correct"], -g["weight"]))
    weight, threshold = best["weight"], best["threshold"]
    highest = max(r["verdict"] for r in rows)
    floor = 1 / (1 + np.exp(-(threshold - weight * highest)))
    info = {"command": COMMAND, "questions": len(rows), "grid": grid, "highest_verdict": round(highest, 3)}
    return judge.Judge(weight, threshold, round(float(floor), 4), sure, llm_model, judge.fingerprint(model), info)


def run_judge_eval(
    settings: Settings,
    each: int,
    held_out_each: int,
    running: Callable,
    queries_file: Path = QUERIES,
    corpus: Sequence[Path] = (CORPUS,),
    ingest: Callable | None = None,
    on_case: Callable | None = None,
    embedder=None,
    llm: LLM | None = None,
    model: Model | None = None,
) -> tuple[judge.Judge, dict]:
    """Fit the judge on `each` + `each` training questions, then score it on `held_out_each` +
    `held_out_each` held-out ones. `running(services)`: a context that keeps the model served;
    `model`: the answerability model (default: the one for the embedder)."""
    from xiaobao.assistant.answerability import load_model
    from xiaobao.knowledge.lexical import Tokenizer
    from xiaobao.services import Services

    cases, model_id = collect(settings, queries_file, corpus, ingest=ingest, embedder=embedder)
    model = model or load_model(settings.answerability_model, model_id)
    if model is None:
        raise ValueError(f"没有为嵌入模型 {model_id} 拟合的可答性模型：先运行 xiaobao eval answerability --write-model")
    tokenizer = Tokenizer(settings.cache_dir)
    train_cases, c = [case for case in cases if not case.held_out], float(model.info.get("C", 1.0))
    with Services(settings, embedder=embedder, llm=llm) as services, running(services):
        # training questions get the P of a model fitted without their department, the P the answer
        # threshold was chosen on: in-sample P is surer of itself than a new department's P will be
        unseen = {case.id: fold_model for fold, fold_model in left_out_departments(tokenizer, train_cases, model, c) for case in fold}
        train = verdicts(services.llm, lambda case: unseen[case.id], tokenizer, sample(cases, False, each), on_case)
        fitted = fit(train, model, settings.llm_model)
        splits = {"training": train}
        if held_out_each:
            splits["held-out"] = verdicts(services.llm, lambda case: model, tokenizer, sample(cases, True, held_out_each), on_case)
    result = {
        "judge": fitted.to_dict(),
        "answer_threshold": model.answer_threshold,
        "splits": {name: {"measured": measure(rows, fitted, model.answer_threshold), "rows": rows} for name, rows in splits.items()},
    }
    return fitted, result


def write_model(fitted: judge.Judge, path=judge.JUDGE_FILE):
    path.write_text(json.dumps(fitted.to_dict(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


def measure(rows: Sequence[dict], fitted: judge.Judge, p_threshold: float) -> dict:
    """P alone and P with the judge, on the same questions; how often the model was asked."""
    return {
        "p_alone": rates(rows, lambda r: r["p"] >= p_threshold),
        "with_judge": rates(rows, lambda r: r["p"] >= fitted.sure or (fitted.asks(r["p"]) and fitted.answers(r["p"], r["verdict"]))),
        "asked": round(sum(fitted.asks(r["p"]) for r in rows) / max(len(rows), 1), 4),
    }


def curve(rows: Sequence[dict], score: Callable[[dict], float]) -> list[dict]:
    """(false-answer rate, correct when present) at every threshold the scores offer."""
    present = [r for r in rows if not r["removed"]]
    absent = [r for r in rows if r["removed"]]
    points = []
    for t in sorted({score(r) for r in rows if np.isfinite(score(r))}):
        points.append(
            {
                "false_answer_rate": sum(score(r) >= t for r in absent) / max(len(absent), 1),
                "correct_when_present": sum(score(r) >= t and r["gold"] for r in present) / max(len(present), 1),
            }
        )
    return points


def plot(result: dict, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fitted = result["judge"]
    fig, axes = plt.subplots(1, len(result["splits"]), figsize=(6 * len(result["splits"]), 4.5), squeeze=False)
    for ax, (name, split) in zip(axes[0], result["splits"].items(), strict=True):
        rows = split["rows"]
        for label, score in (
            ("P alone", lambda r: judge.logit(r["p"])),
            (f"P + {fitted['weight']}·verdict", lambda r: _score(r, fitted["weight"], fitted["sure"])),
        ):
            points = curve(rows, score)
            ax.plot([p["false_answer_rate"] for p in points], [p["correct_when_present"] for p in points], marker=".", label=label)
        ax.axvline(0.05, color="grey", linestyle="--", linewidth=0.8)
        ax.set_xlabel("false-answer rate (gold left out)")
        ax.set_ylabel("correct when present")
        ax.set_title(f"{name}: {split['measured']['p_alone']['present']} present / {split['measured']['p_alone']['absent']} left out")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
