"""`xiaobao eval judge`: fitting the judge's rule, and the command's run on a small fixed set (test fakes)."""

from contextlib import nullcontext

import pytest

from tests.conftest import FakeEmbedder, ScriptedLLM
from tests.eval.test_truth import _files, _topic_model
from xiaobao.assistant import judge
from xiaobao.eval.judge import fit, measure, plot, run_judge_eval
from xiaobao.eval.results import write


def _rows() -> list[dict]:
    """20 present (10 gold with a yes, 10 with P 0.5 but a no) and 20 left out (P up to 0.6, all no but one)."""
    present = [{"removed": False, "p": 0.3, "gold": True, "verdict": 3.0} for _ in range(10)]
    present += [{"removed": False, "p": 0.5, "gold": False, "verdict": -2.0} for _ in range(10)]
    absent = [{"removed": True, "p": 0.2 + 0.02 * i, "gold": False, "verdict": -1.0} for i in range(19)]
    absent.append({"removed": True, "p": 0.4, "gold": False, "verdict": 3.0})
    return [{"id": str(i), **r} for i, r in enumerate(present + absent)]


def test_the_fit_finds_what_p_alone_cannot_separate():
    rows = _rows()
    model = _topic_model()
    fitted = fit(rows, model, "qwen")
    measured = measure(rows, fitted, p_threshold=0.45)
    assert measured["with_judge"]["correct_when_present"] == 0.5 and measured["with_judge"]["false_answer_rate"] <= 0.05
    assert measured["p_alone"]["correct_when_present"] == 0.0  # P alone answers the wrong ones, never the right
    # the floor: below it even the highest verdict seen cannot reach the threshold
    assert judge.logit(fitted.floor) + fitted.weight * 3.0 == pytest.approx(fitted.threshold, abs=1e-3)
    assert fitted.sure == model.verbatim_threshold and fitted.answerability == judge.fingerprint(model)
    assert measured["asked"] == 1.0


def test_the_command_on_a_small_fixed_set(settings, tmp_path):
    queries, corpus, _ = _files(tmp_path)
    llm = ScriptedLLM()
    llm.verdicts = [{"是": -0.1, "否": -2.5}] * 20
    fitted, result = run_judge_eval(
        settings, 10, 10, lambda services: nullcontext(), queries, [corpus], embedder=FakeEmbedder(), llm=llm, model=_topic_model()
    )
    assert set(result["splits"]) == {"training", "held-out"}
    assert len(result["splits"]["training"]["rows"]) == 4 and len(result["splits"]["held-out"]["rows"]) == 2  # 交通委 is held out
    assert len(llm.judged) == 6 and all("【资料】\n[1] 资料：" in m[1]["content"] for m in llm.judged)
    assert fitted.weight in (0.5, 1.0, 1.5, 2.0, 2.5, 3.0)
    chart = write(result, tmp_path / "judge.json", plot)
    assert chart.exists() and chart.stat().st_size > 10_000
