"""免申即享 matching, table-driven: every (enterprise, policy) pair with its hand-computed result."""

import datetime as dt

import pytest

from tests.conftest import DEMO_SERVICES
from xiaobao.govdata.policies import evaluate, matches_for, push_list
from xiaobao.govdata.records import Enterprise

ON = dt.date(2026, 11, 27)


def demo(kind, shape):
    return {
        r.ref if hasattr(r, "ref") else r.id: r
        for r in map(shape.model_validate_json, (DEMO_SERVICES / f"{kind}.jsonl").read_text().splitlines())
    }


@pytest.fixture(scope="module")
def enterprises():
    def made_up(ref: str, **fields) -> Enterprise:
        return Enterprise(ref=ref, name=ref, credit_code="91310113MA1GK1234K", legal_rep="x", district="宝山区", **fields)

    extra = {  # the cases the demo pack lacks: bad credit on a blocking policy, missing data
        "blocked-1": made_up("blocked-1", industry="软件和信息技术服务业", size="小型", employees=20, revenue_wan=500,
                             established=dt.date(2020, 1, 1), credit="失信"),
        "nodata-1": made_up("nodata-1", size="小型"),
    }  # fmt: skip
    return {**demo("enterprises", Enterprise), **extra}


@pytest.fixture(scope="module")
def policies():
    from xiaobao.govdata.records import Policy

    return demo("policies", Policy)


EXPECTED = {  # (enterprise, policy) -> status
    ("demo-enterprise-1", "POL-001"): "eligible",  # 宝山, 小型, 45 staff
    ("demo-enterprise-1", "POL-002"): "eligible",  # software, revenue 1,800 万 ≤ 20,000
    ("demo-enterprise-1", "POL-003"): "not_eligible",  # founded 2019: 7.5 years
    ("demo-enterprise-1", "POL-004"): "not_eligible",  # not catering
    ("demo-enterprise-1", "POL-005"): "not_eligible",  # not manufacturing
    ("demo-enterprise-2", "POL-001"): "eligible",  # 微型, 8 staff
    ("demo-enterprise-2", "POL-002"): "not_eligible",  # catering
    ("demo-enterprise-2", "POL-003"): "not_eligible",  # founded 2023-08-01: 3.3 years
    ("demo-enterprise-2", "POL-004"): "eligible",  # catering with a valid food licence
    ("demo-enterprise-2", "POL-005"): "not_eligible",
    ("demo-enterprise-3", "POL-001"): "not_eligible",  # 中型 (失信 matters only when the rules pass)
    ("demo-enterprise-3", "POL-002"): "not_eligible",
    ("demo-enterprise-3", "POL-003"): "not_eligible",
    ("demo-enterprise-3", "POL-004"): "not_eligible",
    ("demo-enterprise-3", "POL-005"): "flagged",  # qualifies, but 失信 and the policy flags rather than blocks
    ("demo-enterprise-4", "POL-001"): "not_eligible",  # registered in 嘉定区
    ("demo-enterprise-4", "POL-002"): "not_eligible",
    ("demo-enterprise-4", "POL-003"): "not_eligible",
    ("demo-enterprise-4", "POL-004"): "not_eligible",
    ("demo-enterprise-4", "POL-005"): "not_eligible",
    ("blocked-1", "POL-001"): "blocked",  # qualifies, 失信, the policy blocks
    ("blocked-1", "POL-002"): "blocked",
    ("blocked-1", "POL-003"): "not_eligible",  # founded 2020
    ("nodata-1", "POL-001"): "unknown",  # no headcount on record
    ("nodata-1", "POL-003"): "unknown",  # no founding date
    ("nodata-1", "POL-004"): "not_eligible",  # no industry on record, but no food licence either: a known failure decides
}


@pytest.mark.parametrize(("enterprise", "policy"), sorted(EXPECTED))
def test_hand_computed_eligibility(enterprises, policies, enterprise, policy):
    match = evaluate(policies[policy], enterprises[enterprise], ON)
    assert match.status == EXPECTED[(enterprise, policy)], match.reason
    assert match.eligible == (match.status in ("eligible", "flagged"))
    assert len(match.rules) == len(policies[policy].rules) and match.reason


def test_explanations_and_views(enterprises, policies):
    match = evaluate(policies["POL-003"], enterprises["demo-enterprise-2"], ON)
    assert match.reason == "不符合：成立年限不超过3（实际：3.3）"
    mine = matches_for(enterprises["demo-enterprise-2"], list(policies.values()), ON)
    assert [m.policy_id for m in mine if m.eligible] == ["POL-001", "POL-004"]
    pushed = push_list(policies["POL-001"], list(enterprises.values()), ON)
    assert [p["enterprise"] for p in pushed] == ["上海示例科技有限公司", "上海样板餐饮管理有限公司"]


def test_an_expired_licence_does_not_count(enterprises, policies):
    caterer = enterprises["demo-enterprise-2"]
    stale = caterer.model_copy(update={"licences": [lic.model_copy(update={"expires": dt.date(2026, 1, 1)}) for lic in caterer.licences]})
    assert evaluate(policies["POL-004"], stale, ON).status == "not_eligible"
