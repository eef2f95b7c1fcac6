"""免申即享: evaluate each policy's machine-readable rules against an enterprise profile, explain every
rule's result in Chinese, and apply the policy's stance on bad credit (失信)."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field

from xiaobao.govdata.records import Enterprise, Policy, Rule

FIELD_NAMES = {
    "industry": "所属行业",
    "size": "企业规模",
    "district": "注册地",
    "age_years": "成立年限",
    "revenue_wan": "上年营业收入（万元）",
    "employees": "参保职工人数",
    "licence": "持有许可证",
}


@dataclass
class RuleResult:
    rule: str  # the condition, in words
    actual: str  # what the profile says
    passed: bool | None  # None: the profile lacks the data


@dataclass
class Match:
    policy_id: str
    policy: str
    department: str
    benefit: str
    eligible: bool
    status: str  # eligible | flagged | not_eligible | blocked | unknown
    reason: str
    rules: list[RuleResult] = field(default_factory=list)
    auto_grant: bool = True

    def to_dict(self) -> dict:
        return asdict(self)


def years_between(start: dt.date, end: dt.date) -> float:
    return (end - start).days / 365.25


def _profile_value(enterprise: Enterprise, name: str, on: dt.date):
    if name == "age_years":
        return round(years_between(enterprise.established, on), 1) if enterprise.established else None
    if name == "licence":
        return [lic.name for lic in enterprise.licences if lic.expires is None or lic.expires >= on]
    return getattr(enterprise, name)


def _describe(rule: Rule) -> str:
    name = FIELD_NAMES[rule.field]
    value = "、".join(rule.value) if isinstance(rule.value, list) else f"{rule.value:g}" if isinstance(rule.value, float) else rule.value
    return {"in": f"{name}为{value}", "not_in": f"{name}不是{value}", ">=": f"{name}不少于{value}", "<=": f"{name}不超过{value}",
            "has": f"持有有效的{value}"}[rule.op]  # fmt: skip


def evaluate_rule(rule: Rule, enterprise: Enterprise, on: dt.date) -> RuleResult:
    actual = _profile_value(enterprise, rule.field, on)
    described = _describe(rule)
    if actual is None:
        return RuleResult(described, "无数据", None)
    if rule.op == "has":
        return RuleResult(described, "、".join(actual) or "无有效许可证", rule.value in actual)
    if rule.op in ("in", "not_in"):
        inside = actual in rule.value
        return RuleResult(described, str(actual), inside if rule.op == "in" else not inside)
    number = float(actual)
    return RuleResult(described, f"{number:g}", number >= float(rule.value) if rule.op == ">=" else number <= float(rule.value))


def evaluate(policy: Policy, enterprise: Enterprise, on: dt.date | None = None) -> Match:
    on = on or dt.date.today()
    results = [evaluate_rule(rule, enterprise, on) for rule in policy.rules]
    base = {"policy_id": policy.id, "policy": policy.name, "department": policy.department, "benefit": policy.benefit, "rules": results}
    base["auto_grant"] = policy.auto_grant
    failed = [r for r in results if r.passed is False]
    unknown = [r for r in results if r.passed is None]
    if failed:
        return Match(
            **base, eligible=False, status="not_eligible", reason="不符合：" + "；".join(f"{r.rule}（实际：{r.actual}）" for r in failed)
        )
    if unknown:
        return Match(**base, eligible=False, status="unknown", reason="缺少数据，无法判断：" + "；".join(r.rule for r in unknown))
    if enterprise.credit == "失信" and policy.credit == "block":
        return Match(**base, eligible=False, status="blocked", reason="条件均符合，但企业被列为失信主体，依政策规定不予享受")
    if enterprise.credit == "失信" and policy.credit == "flag":
        return Match(**base, eligible=True, status="flagged", reason="条件均符合；企业为失信主体，须经人工复核后兑现")
    return Match(
        **base, eligible=True, status="eligible", reason="条件均符合" + ("，无需申请即可享受" if policy.auto_grant else "，请提出申请")
    )


def matches_for(enterprise: Enterprise, policies: list[Policy], on: dt.date | None = None) -> list[Match]:
    """Every policy's result for one enterprise: eligible ones first (您可享受的政策)."""
    order = {"eligible": 0, "flagged": 1, "unknown": 2, "blocked": 3, "not_eligible": 4}
    return sorted((evaluate(p, enterprise, on) for p in policies), key=lambda m: order[m.status])


def push_list(policy: Policy, enterprises: list[Enterprise], on: dt.date | None = None) -> list[dict]:
    """The operator's push list for one policy: the enterprises that qualify, flagged ones marked."""
    out = []
    for enterprise in enterprises:
        match = evaluate(policy, enterprise, on)
        if match.eligible:
            out.append(
                {"enterprise": enterprise.name, "credit_code": enterprise.credit_code, "status": match.status, "reason": match.reason}
            )
    return out
