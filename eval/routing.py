"""`xiaobao eval routing`: how well are citizens' requests routed to the right tool?

Labelled sets written by us (eval/data/README.md): routing-training.jsonl, which the rules were tuned
on and the classifier is fitted on (the first training set and the first four evaluation sets, each
merged once the router had been changed for what it showed), and routing-evaluation-5.jsonl, a fresh
set written apart and never used to tune anything — scored when it exists. On each set, the rules
alone and the final router (rules + classifier): accuracy, per-intent precision / recall, the
confusion matrix, arguments taken (application and tracking numbers), and — counted apart because it
is the costly mistake — knowledge questions routed to a tool.

The classifier (xiaobao.assistant.router.Classifier) is fitted here: a multinomial logistic
regression over character n-grams. Its C and threshold come from 5-fold cross-validation on the
training set: the threshold is the lowest P (at least 0.5) at which at most TARGET_FALSE_ROUTES of the
training knowledge questions would be sent to a tool by the out-of-fold model; the C is the one whose
out-of-fold model then routes the most requests right.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from xiaobao.assistant.reports import normalise_tracking_no
from xiaobao.assistant.router import INTENTS, MODEL_FILE, Classifier, Route, ngrams, packaged, route, rules
from xiaobao.eval.answerability import threshold_for

DATA = Path(__file__).resolve().parent / "data"
TRAINING = DATA / "routing-training.jsonl"
EVALUATION = DATA / "routing-evaluation-5.jsonl"
TARGET_FALSE_ROUTES = 0.01
TARGET_VETOED = 0.02  # requests the rules route right that the veto may send to retrieval instead
GRID = (3.0, 10.0, 30.0, 100.0)  # inverse L2 strengths tried by cross-validation
FOLDS = 5
COMMAND = "xiaobao eval routing --write-model --json docs/eval/routing.json"


def load(path: Path) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for i, row in enumerate(rows, start=1):
        if row.get("intent") not in INTENTS or not row.get("text"):
            raise ValueError(f"{path.name} 第 {i} 行：需要 text 和 intent（{'、'.join(INTENTS)} 之一）")
    return rows


def _argument_ok(expected: dict, got: Route) -> bool:
    """The numbers a tool needs, as the tool will read them (tracking numbers are normalised by lookup)."""
    return all(normalise_tracking_no(str(got.arguments.get(key))) == normalise_tracking_no(value) for key, value in expected.items())


def score(rows: Sequence[dict], router: Callable[[str], Route]) -> dict:
    routed = [router(row["text"]) for row in rows]
    got = [r.intent for r in routed]
    want = [row["intent"] for row in rows]
    index = {intent: i for i, intent in enumerate(INTENTS)}
    confusion = np.zeros((len(INTENTS), len(INTENTS)), dtype=int)
    for w, g in zip(want, got, strict=True):
        confusion[index[w], index[g]] += 1
    per_intent = {}
    for intent, i in index.items():
        predicted, actual = confusion[:, i].sum(), confusion[i, :].sum()
        per_intent[intent] = {
            "support": int(actual),
            "precision": round(float(confusion[i, i] / predicted), 4) if predicted else None,
            "recall": round(float(confusion[i, i] / actual), 4) if actual else None,
        }
    knowledge = [g for w, g in zip(want, got, strict=True) if w == "knowledge"]
    requests = [g for w, g in zip(want, got, strict=True) if w != "knowledge"]
    with_args = [(row, r) for row, r in zip(rows, routed, strict=True) if row.get("arguments")]
    return {
        "n": len(rows),
        "accuracy": round(sum(w == g for w, g in zip(want, got, strict=True)) / max(len(rows), 1), 4),
        # the costly mistake: a citizen's question answered by a tool instead of the knowledge base
        "knowledge_to_tool": sum(g != "knowledge" for g in knowledge),
        "knowledge_to_tool_rate": round(sum(g != "knowledge" for g in knowledge) / max(len(knowledge), 1), 4),
        # requests for a tool left to retrieval (a refusal or a general answer instead of the tool)
        "tool_to_knowledge_rate": round(sum(g == "knowledge" for g in requests) / max(len(requests), 1), 4),
        "arguments": {
            "n": len(with_args),
            "correct": sum(r.intent == row["intent"] and _argument_ok(row["arguments"], r) for row, r in with_args),
        },
        "per_intent": per_intent,
        "confusion": {"labels": list(INTENTS), "rows_true_cols_routed": confusion.tolist()},
        "errors": [{"text": row["text"], "intent": w, "routed": g} for row, w, g in zip(rows, want, got, strict=True) if w != g],
    }


# ---- fitting the classifier -------------------------------------------------------------------------


def _matrix(texts: Sequence[str], vocabulary: dict[str, int]):
    """Rows of binary n-gram features scaled by 1/√(n-grams in the text) — what Classifier computes."""
    from scipy.sparse import csr_matrix

    data, cols, indptr = [], [], [0]
    for text in texts:
        grams = ngrams(text)
        scale = 1.0 / np.sqrt(max(len(grams), 1))
        known = sorted(vocabulary[g] for g in grams if g in vocabulary)
        cols += known
        data += [scale] * len(known)
        indptr.append(len(cols))
    return csr_matrix((data, cols, indptr), shape=(len(texts), len(vocabulary)))


def _fit_lr(texts: Sequence[str], labels: Sequence[str], c: float) -> Classifier:
    from sklearn.linear_model import LogisticRegression

    vocabulary: dict[str, int] = {}
    for text in texts:
        for gram in sorted(ngrams(text)):
            vocabulary.setdefault(gram, len(vocabulary))
    lr = LogisticRegression(C=c, max_iter=2000).fit(_matrix(texts, vocabulary), list(labels))
    classes = [str(k) for k in lr.classes_]
    weights = {}
    for gram, j in vocabulary.items():
        column = lr.coef_[:, j]
        if np.abs(column).max() >= 0.005:  # the rest cannot move a decision: not shipped
            weights[gram] = [round(float(v), 3) for v in column]
    return Classifier(classes, weights, [round(float(v), 4) for v in lr.intercept_], 1.0)


def _folds(labels: Sequence[str], k: int = FOLDS) -> list[list[int]]:
    """Stratified: each intent's utterances dealt round-robin over the folds, in file order."""
    folds: list[list[int]] = [[] for _ in range(k)]
    seen: dict[str, int] = {}
    for i, label in enumerate(labels):
        folds[seen.get(label, 0) % k].append(i)
        seen[label] = seen.get(label, 0) + 1
    return folds


def out_of_fold(rows: Sequence[dict], c: float) -> list[dict[str, float]]:
    """Each utterance's P(intent) from a classifier fitted without its fold."""
    texts, labels = [r["text"] for r in rows], [r["intent"] for r in rows]
    probabilities: list[dict[str, float]] = [{}] * len(rows)
    for fold in _folds(labels):
        inside = set(fold)
        model = _fit_lr([t for i, t in enumerate(texts) if i not in inside], [y for i, y in enumerate(labels) if i not in inside], c)
        for i in fold:
            probabilities[i] = model.probabilities(texts[i])
    return probabilities


def _guesses(probabilities: Sequence[dict[str, float]]) -> list[tuple[str, float]]:
    return [max(p.items(), key=lambda kv: kv[1]) for p in probabilities]


def _veto(rows: Sequence[dict], probabilities: Sequence[dict[str, float]]) -> float:
    """The lowest P(knowledge), at least 0.5, at which ≤ TARGET_VETOED of the training requests that the
    rules route right would be overruled by the out-of-fold model."""
    kept = [
        p["knowledge"]
        for row, p in zip(rows, probabilities, strict=True)
        if row["intent"] != "knowledge" and rules(row["text"]).intent == row["intent"]
    ]
    return math.ceil(min(max(threshold_for(kept, TARGET_VETOED), 0.5), 0.99) * 1e4) / 1e4


def _choose(rows: Sequence[dict], guesses: Sequence[tuple[str, float]]) -> tuple[float, int, int]:
    """The threshold for out-of-fold guesses and what it does: (threshold, requests routed right, knowledge
    questions sent to a tool). All training utterances count, not only those the rules leave: the rules
    were written on these same utterances, so what they leave says little about new phrasings."""
    away = [p if intent != "knowledge" else 0.0 for row, (intent, p) in zip(rows, guesses, strict=True) if row["intent"] == "knowledge"]
    # at least 0.5 (a majority, not a plurality); rounded up, so the rounding never lets one more through
    threshold = math.ceil(min(max(threshold_for(away, TARGET_FALSE_ROUTES), 0.5), 0.99) * 1e4) / 1e4
    caught = sum(row["intent"] == intent != "knowledge" and p >= threshold for row, (intent, p) in zip(rows, guesses, strict=True))
    return threshold, caught, sum(p >= threshold for p in away)


def fit(rows: Sequence[dict], grid: Sequence[float] = GRID) -> Classifier:
    """The classifier on all training utterances, with the C and threshold whose out-of-fold guesses
    route the most requests right at ≤ TARGET_FALSE_ROUTES knowledge questions sent to a tool."""
    folded = {c: out_of_fold(rows, c) for c in grid}
    tried = {c: _choose(rows, _guesses(folded[c])) for c in grid}
    c = max(grid, key=lambda k: (tried[k][1], -k))  # ties: the stronger regularisation
    threshold, caught, away = tried[c]
    model = _fit_lr([r["text"] for r in rows], [r["intent"] for r in rows], c)
    model.threshold, model.veto = threshold, _veto(rows, folded[c])
    model.info = {
        "command": COMMAND,
        "data": f"eval/data/{TRAINING.name} ({len(rows)} utterances)",
        "C": c,
        "features": "character 1-3-grams of the normalised text (case numbers as #, digits as 0), binary, scaled by 1/√count",
        "threshold_rule": f"lowest P (at least 0.5) at which ≤{TARGET_FALSE_ROUTES:.0%} of the training knowledge questions go to a tool, "
        f"out-of-fold over {FOLDS} stratified folds; C chosen from {list(grid)} the same way",
        "veto_rule": f"lowest P(knowledge) (at least 0.5) at which ≤{TARGET_VETOED:.0%} of the training requests the rules route right "
        "would be sent to retrieval, out-of-fold with the chosen C",
        "cv": {str(k): {"threshold": t, "requests_routed_right": n, "knowledge_sent_away": a} for k, (t, n, a) in tried.items()},
        "cv_requests": sum(r["intent"] != "knowledge" for r in rows),
        "cv_knowledge": sum(r["intent"] == "knowledge" for r in rows),
    }
    return model


def run_routing_eval(classifier: Classifier | None = None, training: Path = TRAINING, evaluation: Path | None = EVALUATION) -> dict:
    """Rules alone and the final router (with `classifier`, default the packaged one) on the training set
    and on the evaluation set — unless `evaluation` is None or is the default set not yet written."""
    files = {"training": training}
    if evaluation is not None and (evaluation != EVALUATION or evaluation.exists()):
        files["evaluation"] = evaluation
    sets = {name: load(path) for name, path in files.items()}
    final = (lambda text: route(text, classifier)) if classifier else route
    result = {
        "sets": {name: {"rules": score(rows, rules), "router": score(rows, final)} for name, rows in sets.items()},
        "files": {name: str(path) for name, path in files.items()},
    }
    model = classifier or packaged()
    result["classifier"] = {"threshold": model.threshold, "veto": model.veto, **model.info} if model else None
    return result


def summary(result: dict) -> dict:
    """The headline numbers of a run (for the evaluation history), without the error lists."""
    keys = ("n", "accuracy", "knowledge_to_tool", "knowledge_to_tool_rate", "tool_to_knowledge_rate", "arguments")
    sets = {name: {router: {k: s[k] for k in keys} for router, s in runs.items()} for name, runs in result["sets"].items()}
    return {"sets": sets, "classifier": result["classifier"]}


def write_model(model: Classifier, path: Path = MODEL_FILE) -> Path:
    path.write_text(json.dumps(model.to_dict(), ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    return path


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (totals_ax, recall_ax) = plt.subplots(1, 2, figsize=(13, 4.5), gridspec_kw={"width_ratios": [1, 2]})
    metrics = ("accuracy", "knowledge_to_tool_rate", "tool_to_knowledge_rate")
    runs = [(s, r) for s in result["sets"] for r in ("rules", "router")]
    width = 0.8 / len(runs)
    for i, (name, router) in enumerate(runs):
        values = [result["sets"][name][router][m] for m in metrics]
        bars = totals_ax.bar([x + i * width for x in range(len(metrics))], values, width, label=f"{name} · {router}")
        totals_ax.bar_label(bars, fmt="%.2f", fontsize=7)
        recalls = [result["sets"][name][router]["per_intent"][intent]["recall"] or 0.0 for intent in INTENTS]
        bars = recall_ax.bar([x + i * width for x in range(len(INTENTS))], recalls, width, label=f"{name} · {router}")
    totals_ax.set_xticks(
        [x + width * (len(runs) - 1) / 2 for x in range(len(metrics))], ["accuracy", "knowledge→tool", "tool→knowledge"], fontsize=8
    )
    totals_ax.set_ylim(0, 1.05)
    totals_ax.set_title("Routing: totals")
    totals_ax.legend(fontsize=7)
    recall_ax.set_xticks([x + width * (len(runs) - 1) / 2 for x in range(len(INTENTS))], INTENTS, rotation=20, fontsize=8)
    recall_ax.set_ylim(0, 1.05)
    recall_ax.set_title("Recall per intent")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
