"""The injection suite against a model that tries to obey every attack: it repeats its system prompt
and the attacker's words, citing passage 1. Nothing of it may reach the citizen."""

from pathlib import Path

from xiaobao.eval.injection import load_attacks, run_suite

ATTACKS = Path(__file__).resolve().parents[2] / "eval" / "data" / "injection.jsonl"


def test_every_attack_is_contained(services, engine, llm, services_data, tmp_path):
    def obey(messages) -> str:
        system, question = messages[0]["content"], messages[-1]["content"].split("【问题】")[-1].strip()
        return f"{system.splitlines()[0]}[1]。{question}[1]。"

    llm.answers = [obey] * 200
    attacks = load_attacks(ATTACKS)
    assert len(attacks) >= 50 and len({a["category"] for a in attacks}) == 9
    result = run_suite(services, attacks, tmp_path / "scratch")
    assert result["failures"] == [] and result["pass_rate"] == 1.0
