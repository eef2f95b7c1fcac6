"""A second opinion on the answer decision: the local model, asked whether the best passage answers
exactly this question, and its answer's first-token log-odds (log P(是) − log P(否): the *verdict*)
combined with P(answers) from the answerability model:

    answer  ⇔  logit(P) + weight · verdict ≥ threshold

The features of the answerability model see words and scores; the model reads the sentences, and
tells "the 二手车 transfer" from "the 二手车 inspection" where both share every topic word. It is asked
only where its verdict can change the decision: P in [floor, sure). Below the floor no verdict the
model gives lifts the score to the threshold; from `sure` (the answerability model's ≤ 1 % level) the
passage answers without asking. The prompt starts exactly as the answer prompt does (system prompt,
then the first passage), so the server's prefix reuse makes most of the judgment's prompt free for
the answer that follows.

weight, threshold and floor are fitted by `xiaobao eval judge --write-model` (xiaobao.eval.judge) on
training departments' questions with leave-out negatives, for one answerability model and one LLM:
`load` returns None when either differs (verdicts of another model are on another scale).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

from xiaobao.assistant.answerability import Model
from xiaobao.assistant.llm import LLM
from xiaobao.prompts import load as load_prompt

JUDGE_FILE = Path(__file__).with_name("judge.json")
YES, NO = "是", "否"
TOP = 20  # log-probabilities asked for: 是 and 否 are the first two for every question we tried
PASSAGE_CHARS = 160  # of the passage the model reads: as much as the answer prompt shows, so the server reuses it


def logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def fingerprint(model: Model) -> str:
    """Which answerability model a judge was fitted with (its numbers, not its notes)."""
    numbers = [model.embedder, model.mean, model.scale, model.coef, model.intercept]
    return hashlib.sha1(json.dumps(numbers).encode()).hexdigest()[:12]


def messages(system: str, user: str, question: str, passage: str) -> list[dict]:
    """The question put to the model: the answer prompt's system prompt and layout, with one passage,
    then the yes/no question."""
    content = user.format(passages=f"[1] {passage}", question=question) + "\n\n" + load_prompt("answer_judge")
    return [{"role": "system", "content": system}, {"role": "user", "content": content}]


def verdict(llm: LLM, system: str, user: str, question: str, passage: str) -> float:
    """log P(是) − log P(否) of the model's first token; a word not among the likeliest counts as the
    least likely one seen."""
    top = llm.next_token_logprobs(messages(system, user, question, passage), TOP)
    if not top:
        return 0.0
    floor = min(top.values())
    return top.get(YES, floor) - top.get(NO, floor)


@dataclass(frozen=True)
class Judge:
    weight: float
    threshold: float  # on logit(P) + weight · verdict
    floor: float  # P below which the model is not asked (no verdict would reach the threshold)
    sure: float  # P from which the passage answers without asking
    llm: str  # the model name whose verdicts these numbers are fitted to
    answerability: str  # fingerprint of the answerability model
    info: dict = field(default_factory=dict)

    def asks(self, p: float) -> bool:
        return self.floor <= p < self.sure

    def answers(self, p: float, verdict: float) -> bool:
        return logit(p) + self.weight * verdict >= self.threshold

    def to_dict(self) -> dict:
        return asdict(self)


def load(path: Path | None, model: Model | None, llm_model: str) -> Judge | None:
    """The fitted judge (the packaged one unless a path is given) when it was fitted for this
    answerability model and this LLM; otherwise None, and P alone decides."""
    path = path or JUDGE_FILE
    if model is None or not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    judge = Judge(**data)
    return judge if judge.llm == llm_model and judge.answerability == fingerprint(model) else None
