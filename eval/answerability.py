"""`xiaobao eval answerability`: fit the answerability model (xiaobao.assistant.answerability) from data.

Data: FAQ questions with their gold answer ids (shared/data eval/bj-faq-dev.jsonl over
corpus/bj-faq-dev-answers.jsonl), read at run time. For each question the retriever's top candidates
give feature rows:
- present: the gold answer (when retrieved) is a positive, every other candidate a negative;
- left out: the gold answer is filtered out of the retrieved list and what retrieval then returns
  (with margins recomputed over that list) are negatives — the "neighbouring passage" a system
  answers from when the knowledge base lacks the answer.
Split by department: the model and its thresholds are fitted on the training departments only; the
held-out departments are for evaluation (`xiaobao eval truth`) and never used to tune.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from xiaobao.assistant.answerability import FEATURES, MODEL_FILE, Candidate, Model, candidates, features, topic_terms
from xiaobao.eval.questions import gold_keys
from xiaobao.knowledge.index import SearchFilter
from xiaobao.knowledge.retriever import unit_key
from xiaobao.settings import Settings

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
QUERIES = SHARED / "eval" / "bj-faq-dev.jsonl"
CORPUS = SHARED / "corpus" / "bj-faq-dev-answers.jsonl"
# Held out for evaluation: 首都之窗 and 交通委 touch the same topics (社保, 医保, 交通), so they are held
# out together, with 人力资源社会保障局 (社保 again): no held-out topic leaks in through a training department.
HELD_OUT = ("人力资源社会保障局", "首都之窗", "交通委")
TOP = 10  # candidates kept per question
TRAIN_TOP = 5  # candidates per list that become training rows
TARGET_FALSE_ANSWERS = 0.05
TARGET_FALSE_VERBATIM = 0.01
COMMAND = "xiaobao --data-dir var/truth eval answerability --write-model"


@dataclass
class Case:
    id: str
    question: str
    department: str
    gold: list[str]
    full: list[Candidate]  # what retrieval returns
    left: list[Candidate]  # the same with the gold answer filtered out

    @property
    def held_out(self) -> bool:
        return self.department in HELD_OUT

    @property
    def removed(self) -> bool:
        """Half of the questions are asked with their gold answer removed (fixed by the id)."""
        return zlib.crc32(self.id.encode()) % 2 == 1


def read_queries(path: Path, limit: int | None = None) -> list[dict]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            rec = json.loads(line)
            if rec.get("relevant") and rec.get("complete", True):  # every gold unit mapped (lecoqa marks the rest)
                out.append(rec)
        if limit and len(out) >= limit:
            break
    return out


def _cand(c: Candidate) -> dict:
    return asdict(c)


def collect(
    settings: Settings,
    queries_file: Path = QUERIES,
    corpus: Sequence[Path] = (CORPUS,),
    limit: int | None = None,
    ingest: Callable | None = None,
    on_case: Callable | None = None,
    embedder=None,
) -> tuple[list[Case], str]:
    """Retrieve every question once (cached under the data dir: the embedding model is slow); the
    cases and the embedder's model id."""
    from xiaobao.eval.retrieval import corpus_collection, ingest_quietly
    from xiaobao.services import Services

    queries = read_queries(queries_file, limit)
    key = json.dumps(
        [str(queries_file.resolve()), sorted(str(p.resolve()) for p in corpus), limit, TOP, settings.fusion, settings.fusion_weights,
         embedder.model_id if embedder else settings.embedder, settings.embed_chars, settings.candidates, queries_file.stat().st_size],
        ensure_ascii=False,
    )  # fmt: skip
    cached = settings.cache_dir / f"answerability-cases-{hashlib.sha1(key.encode()).hexdigest()[:12]}.json"
    with Services(settings, collection=corpus_collection(corpus), embedder=embedder) as services:
        kb = services.kb
        (ingest or ingest_quietly)(services, list(corpus))
        if cached.exists():
            data = json.loads(cached.read_text(encoding="utf-8"))
            loaded = [Case(**{**d, "full": [Candidate(**c) for c in d["full"]], "left": [Candidate(**c) for c in d["left"]]}) for d in data]
            return loaded, kb.embedder.model_id
        cases = []
        for rec in queries:
            gold = sorted(gold_keys(rec))
            hits = kb.retriever.search(rec["question"], TOP + len(gold), SearchFilter())
            cands = candidates(hits, key=lambda h: unit_key(h.payload))
            case = Case(
                str(rec["id"]),
                rec["question"],
                rec.get("department") or "",
                gold,
                cands[:TOP],
                [c for c in cands if c.key not in gold][:TOP],
            )
            cases.append(case)
            if on_case:
                on_case(case)
        model_id = kb.embedder.model_id
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_text(
        json.dumps(
            [{**asdict(c), "full": [_cand(x) for x in c.full], "left": [_cand(x) for x in c.left]} for c in cases], ensure_ascii=False
        ),
        encoding="utf-8",
    )
    return cases, model_id


def training_rows(tokenizer, cases: Sequence[Case], top: int = TRAIN_TOP) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = [], []
    for case in cases:
        terms = topic_terms(tokenizer, case.question)
        for lst, can_be_gold in ((case.full, True), (case.left, False)):
            if not lst:
                continue
            rows = features(tokenizer, case.question, lst, terms)
            for c, row in list(zip(lst, rows, strict=True))[:top]:
                xs.append(row)
                ys.append(1 if can_be_gold and c.key in case.gold else 0)
    return np.array(xs, dtype=float), np.array(ys, dtype=int)


def best_probability(model: Model, tokenizer, case: Case, removed: bool) -> tuple[float, str | None]:
    """P of the best candidate and its key, asked with the gold present or removed."""
    lst = case.left if removed else case.full
    if not lst:
        return 0.0, None
    probs = model.score(tokenizer, case.question, lst)
    i = int(np.argmax(probs))
    return probs[i], lst[i].key


def threshold_for(values: Sequence[float], target: float) -> float:
    """The lowest threshold at which at most `target` of `values` reach it (P ≥ threshold answers)."""
    ordered = sorted(values, reverse=True)
    allowed = int(np.floor(target * len(ordered)))
    if allowed >= len(ordered):
        return 0.0
    return float(np.nextafter(ordered[allowed], np.inf))


def _fit_lr(tokenizer, cases: Sequence[Case], embedder: str, c: float) -> Model:
    from sklearn.linear_model import LogisticRegression

    x, y = training_rows(tokenizer, cases)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    lr = LogisticRegression(C=c, max_iter=1000).fit((x - mean) / scale, y)
    rounded = [round(float(v), 6) for v in lr.coef_[0]]
    model = Model(
        embedder,
        [round(float(v), 6) for v in mean],
        [round(float(v), 6) for v in scale],
        rounded,
        round(float(lr.intercept_[0]), 6),
        0.5,
        0.5,
    )
    model.info = {"rows": int(len(y)), "positives": int(y.sum())}
    return model


def department_folds(cases: Sequence[Case], min_size: int = 100) -> list[list[Case]]:
    """The training departments as folds; the small ones (under min_size questions) pooled into one."""
    by: dict[str, list[Case]] = {}
    for case in cases:
        by.setdefault(case.department, []).append(case)
    folds = [group for group in by.values() if len(group) >= min_size]
    small = [case for group in by.values() if len(group) < min_size for case in group]
    return [*folds, small] if small else folds


def left_out_departments(tokenizer, train: Sequence[Case], model: Model, c: float) -> list[tuple[list[Case], Model]]:
    """Each department fold of `train` with a model fitted without it: the P a new department gets.
    (With a single fold, `model` itself.)"""
    folds = department_folds(train)
    out = []
    for fold in folds:
        inside = {id(case) for case in fold}
        rest = [case for case in train if id(case) not in inside]
        out.append((fold, _fit_lr(tokenizer, rest, model.embedder, c) if rest and len(folds) > 1 else model))
    return out


def fit(tokenizer, cases: Sequence[Case], embedder: str, c: float = 1.0) -> Model:
    """Logistic regression on the training departments. The thresholds come from leave-one-department-out
    probabilities within them (a model fitted without a department, asked that department's questions
    with their gold left out): a new department is what the threshold has to hold for, and the
    held-out departments stay untouched."""
    train = [case for case in cases if not case.held_out]
    model = _fit_lr(tokenizer, train, embedder, c)
    folds = left_out_departments(tokenizer, train, model, c)
    absent = [best_probability(fold_model, tokenizer, case, removed=True)[0] for fold, fold_model in folds for case in fold]
    model.answer_threshold = round(threshold_for(absent, TARGET_FALSE_ANSWERS), 4)
    model.verbatim_threshold = round(max(model.answer_threshold, threshold_for(absent, TARGET_FALSE_VERBATIM)), 4)
    model.info = {
        "command": COMMAND,
        "data": f"{QUERIES.name} over {CORPUS.name} (shared/data, read at run time)",
        "train_departments": sorted({case.department for case in train}),
        "held_out_departments": list(HELD_OUT),
        "train_questions": len(train),
        **model.info,
        "C": c,
        "thresholds": f"answer: ≤{TARGET_FALSE_ANSWERS:.0%} of training questions answered with their gold left out, "
        f"scored leave-one-department-out over {len(folds)} folds; verbatim: ≤{TARGET_FALSE_VERBATIM:.0%}",
        "features": dict(zip(FEATURES, model.coef, strict=True)),
    }
    return model


def write_model(model: Model, path: Path = MODEL_FILE) -> Path:
    path.write_text(json.dumps(model.to_dict(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path
