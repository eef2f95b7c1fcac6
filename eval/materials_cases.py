"""Writes eval/data/materials-cases.jsonl, the labelled set of `xiaobao eval materials`:
`python -m xiaobao.eval.materials_cases` (deterministic; seed below).

Each case is one synthetic applicant (valid check digits, not a real person or company), one
template, the applicant's answers and the expected document: every field's value and the source it
must come from (a record path, "answer", "today"), or null where the applicant must be asked. The
expectations are written here from what each form field means (EXPECTED below: 经营场所 is the
enterprise's registered 经营场所, never its 住所), not read back from the generator. Scenarios:

* complete — every source present, every question answered;
* unanswered — sources present, nothing answered: the applicant-only fields are asked;
* missing — one record field absent: asked (or taken from the answer when one is given);
* conflict — an answer differs from the government's value: the government's value stays;
* invalid — an answer that is not a valid value (phone, ID number): asked again;
* loose — the phone not on record, the applicant types it with full-width digits and spaces;
* fallback — the credit code blank in the 法人库 row but on the electronic 营业执照: taken from it;
* partial — the first half of the applicant-only fields answered, the rest asked;
* ocr — the 法人库 row lacks the 住所 (the food licence: also the legal representative's ID number;
  the collective contract: the credit code, and there is no electronic 营业执照), and the applicant's
  electronic material library holds uploads that passed pre-review, with what the pre-review read in
  them (`library`): taken from those (source upload.<material>.<label>);
* ocr_expired — as ocr, but the 营业执照 in the library has expired: what only it says is asked;
* ocr_conflict — the 法人库 has the 住所 and the 营业执照 read says another: the 法人库's stays, the
  difference is reported;
* ocr_other_owner — as ocr, but the library materials are another applicant's: not used, asked.
* ocr_misread — as ocr, but the number the upload gave (the legal representative's ID number; the
  collective contract's credit code) has a wrong check digit: no value, asked.

The templates added later (公司章程, 集体合同审查申请表) come after the first five, the ocr scenarios after
those and ocr_misread last, so the cases written before them stay as they were.

A case's `library` lists the materials in the electronic material library at the time: each with its
`owner` (the applicant's ref, or another's), `type` (the material as items name it), `valid_until`
and `read` (label → value as the pre-review read it).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from xiaobao.govdata.codes import CREDIT_CHARS, credit_check_char, id_check_char, valid_credit_code, valid_id_number

OUT = Path(__file__).resolve().parent / "data" / "materials-cases.jsonl"
SEED = 20261202
ON = "2026-03-01"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"
ROADS = ["友谊路", "牡丹江路", "淞滨路", "共和新路", "沪太路", "殷高西路", "长江西路", "同济路"]
TRADES = ["餐饮管理", "食品销售", "商贸", "烘焙", "供应链"]

# what each field of each template must hold: a record path, "answer" (only the applicant knows it)
# or "today"; a field with two paths takes the first that the records have
EXPECTED = {
    "food-licence-application": {
        "enterprise_name": ["enterprise.name"],
        "credit_code": ["enterprise.credit_code", "enterprise.licence.营业执照.number", "upload.营业执照.统一社会信用代码"],
        "legal_rep": ["enterprise.legal_rep"],
        "legal_rep_id": ["enterprise.legal_rep_id", "upload.法定代表人身份证件.身份证号"],
        "address": ["enterprise.address", "upload.营业执照.住所"],  # the registered 住所, as the licence states it
        "premises": ["enterprise.premises"],
        "phone": ["enterprise.contact_phone"],
        "business_items": ["answer"],
        "date": ["today"],
    },
    "individual-business-application": {
        "operator_name": ["person.name"],
        "gender": ["person.gender"],
        "id_number": ["person.id_number"],
        "phone": ["person.phone"],
        "hukou_address": ["person.hukou_address"],
        "shop_name": ["answer"],
        "premises": ["answer"],
        "business_scope": ["answer"],
        "date": ["today"],
    },
    "premises-use-commitment": {
        "operator_name": ["person.name"],
        "id_number": ["person.id_number"],
        "premises": ["answer"],
        "use_until": ["answer"],
        "phone": ["person.phone"],
        "date": ["today"],
    },
    "shareholder-decision": {
        "company_name": ["answer"],
        "shareholder": ["person.name"],
        "id_number": ["person.id_number"],
        "phone": ["person.phone"],
        "capital": ["answer"],
        "scope": ["answer"],
        "director": ["answer"],
        "date": ["today"],
    },
    "residence-use-commitment": {
        "company_name": ["answer"],
        "residence": ["answer"],  # the company's 住所, never the founder's own address
        "use_until": ["answer"],
        "promisor": ["person.name"],
        "id_number": ["person.id_number"],
        "phone": ["person.phone"],
        "date": ["today"],
    },
    "articles-of-association": {
        "company_name": ["answer"],
        "residence": ["answer"],  # the company's 住所, never the founder's own address
        "shareholder": ["person.name"],
        "id_number": ["person.id_number"],
        "capital": ["answer"],
        "contribution": ["answer"],
        "paid_by": ["answer"],
        "scope": ["answer"],
        "director": ["answer"],
        "supervisor": ["answer"],
        "date": ["today"],
    },
    "collective-contract-review": {
        "enterprise_name": ["enterprise.name"],
        "credit_code": ["enterprise.credit_code", "enterprise.licence.营业执照.number", "upload.营业执照.统一社会信用代码"],
        "legal_rep": ["enterprise.legal_rep"],
        "address": ["enterprise.address", "upload.营业执照.住所"],
        "employees": ["enterprise.employees"],
        "union_name": ["answer"],
        "contract_type": ["answer"],
        "contract_term": ["answer"],
        "adopted_on": ["answer"],
        "contact": ["answer"],  # who sends it in: not the legal representative unless they say so
        "phone": ["enterprise.contact_phone"],
        "date": ["today"],
    },
}
ENTERPRISE = {"food-licence-application", "collective-contract-review"}
# the record fields a scenario may leave out, and a field whose answer it may give in their place
OPTIONAL = {
    "food-licence-application": {"legal_rep_id": "legal_rep_id", "premises": "premises", "contact_phone": "phone"},
    "individual-business-application": {"gender": "gender", "phone": "phone", "hukou_address": "hukou_address"},
    "premises-use-commitment": {"phone": "phone"},
    "shareholder-decision": {"phone": "phone"},
    "residence-use-commitment": {"phone": "phone"},
    "articles-of-association": {},  # a person's name and ID number are always on record
    "collective-contract-review": {"address": "address", "employees": "employees", "contact_phone": "phone"},
}


def name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))


def id_number(rng: random.Random) -> str:
    first = f"310113{rng.randint(1960, 2002)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
    return first + id_check_char(first)


def credit_code(rng: random.Random) -> str:
    first = "91310113" + "".join(rng.choice(CREDIT_CHARS) for _ in range(9))
    return first + credit_check_char(first)


def address(rng: random.Random) -> str:
    return f"上海市宝山区{rng.choice(ROADS)}{rng.randint(1, 999)}号"


def person(rng: random.Random, n: int) -> dict:
    return {
        "ref": f"eval-person-{n}",
        "name": name(rng),
        "id_number": id_number(rng),
        "gender": rng.choice(["男", "女"]),
        "phone": f"139{rng.randint(0, 99999999):08d}",
        "address": address(rng),
        "hukou_address": address(rng),
    }


def enterprise(rng: random.Random, n: int) -> dict:
    code, rep = credit_code(rng), name(rng)
    where = address(rng)
    return {
        "ref": f"eval-enterprise-{n}",
        "name": f"上海{name(rng)}{rng.choice(TRADES)}有限公司",
        "credit_code": code,
        "legal_rep": rep,
        "legal_rep_id": id_number(rng),
        "address": where,
        "premises": where + rng.choice(["一层", "101室", "东侧商铺"]),
        "contact_phone": f"021-{rng.randint(10000000, 69999999)}",
        "licences": [{"name": "营业执照", "number": code, "expires": None}],
    }


def answer_for(field: str, rng: random.Random) -> str:
    if field in LATER_ANSWERS:
        return LATER_ANSWERS[field](rng)
    return {
        "business_items": rng.choice(["预包装食品销售", "热食类食品制售", "糕点类食品制售（含裱花蛋糕）"]),
        "shop_name": f"{rng.choice(SURNAMES)}记{rng.choice(['小吃店', '便利店', '面馆'])}",
        "premises": address(rng),
        "business_scope": rng.choice(["日用百货零售", "小吃服务", "服装零售"]),
        "use_until": f"{rng.randint(2027, 2031)}年{rng.randint(1, 12)}月{rng.randint(1, 28)}日",
        "gender": rng.choice(["男", "女"]),
        "phone": f"137{rng.randint(0, 99999999):08d}",
        "hukou_address": address(rng),
        "legal_rep_id": id_number(rng),
        "company_name": f"上海{name(rng)}{rng.choice(TRADES)}有限公司",
        "capital": f"{rng.choice([10, 50, 100, 500])}万元",
        "scope": rng.choice(["软件开发；信息技术咨询服务", "食品销售", "货物进出口"]),
        "director": name(rng),
        "residence": address(rng) + rng.choice(["201室", "3楼", "A座501室"]),
    }[field]


# the fields of the templates added later, drawn only when asked for (so the earlier cases stay as written)
LATER_ANSWERS = {
    "contribution": lambda rng: rng.choice(["货币", "货币、实物"]),
    "paid_by": lambda rng: f"{rng.randint(2027, 2031)}年{rng.randint(1, 12)}月{rng.randint(1, 28)}日",
    "supervisor": name,
    "address": address,
    "employees": lambda rng: str(rng.randint(12, 800)),
    "union_name": lambda rng: f"{rng.choice(['上海', '宝山区'])}{name(rng)}{rng.choice(TRADES)}有限公司工会委员会",
    "contract_type": lambda rng: rng.choice(["综合性集体合同", "工资专项集体合同", "女职工权益保护专项集体合同"]),
    "contract_term": lambda rng: f"{rng.randint(2026, 2027)}年{rng.randint(1, 12)}月1日至{rng.randint(2028, 2030)}年12月31日",
    "adopted_on": lambda rng: f"2026年{rng.randint(1, 2)}月{rng.randint(1, 28)}日",
    "contact": name,
}


def value_at(path: str, records: dict) -> str | None:
    kind, _, rest = path.partition(".")
    record = records.get(kind) or {}
    if rest.startswith("licence."):
        licence, _, attribute = rest.removeprefix("licence.").rpartition(".")
        return next((lic.get(attribute) for lic in record.get("licences", []) if lic["name"] == licence), None)
    value = record.get(rest)
    return str(value) if value not in (None, "") else None  # a number (职工人数) as the document prints it


# what a number must be to be a value at all (a misread one is none)
VALID = {"credit_code": valid_credit_code, "legal_rep_id": valid_id_number}


def usable(library: list[dict], owner: str) -> dict[str, dict]:
    """What may fill a field: the applicant's own library materials that have not expired, by type."""
    return {m["type"]: m["read"] for m in library if m["owner"] == owner and (m["valid_until"] is None or m["valid_until"] >= ON)}


def expectation(template: str, records: dict, answers: dict, library: list[dict] | None = None) -> dict:
    """Each field's expected {value, source} (None: to be asked), from EXPECTED and the case's data."""
    expected = {}
    kind = "enterprise" if template in ENTERPRISE else "person"
    read = usable(library or [], records[kind]["ref"])
    for field, paths in EXPECTED[template].items():
        found = None
        for path in paths:
            if path == "today":
                found = {"value": ON, "source": "today"}
            elif path.startswith("upload."):
                _, material, label = path.split(".")
                if not VALID.get(field, bool)(read.get(material, {}).get(label, "")):  # absent, or a number misread
                    continue
                found = {"value": read[material][label], "source": path}
            elif path == "answer" or value_at(path, records) is None:
                continue
            else:
                found = {"value": value_at(path, records), "source": path}
            break
        if found is None and field in answers and answers[field] is not None:
            found = {"value": answers[field], "source": "answer"}
        expected[field] = found
    return expected


def case(n: int, template: str, scenario: str, rng: random.Random) -> dict:
    kind = "enterprise" if template in ENTERPRISE else "person"
    records = {kind: enterprise(rng, n) if kind == "enterprise" else person(rng, n)}
    if "enterprise.employees" in str(EXPECTED[template]):
        records[kind]["employees"] = rng.randint(12, 800)
    asked = [f for f, paths in EXPECTED[template].items() if paths == ["answer"]]
    answers = {f: answer_for(f, rng) for f in asked} if scenario != "unanswered" else {}
    if scenario == "partial":
        answers = {f: answers[f] for f in asked[: len(asked) // 2]}
    bad = {}  # answers as typed, after the expectation: refused (invalid) or read as the plain value (loose)
    conflicts = []  # fields whose answer differs from the government's value
    if scenario.startswith("missing"):
        dropped, field = rng.choice(sorted(OPTIONAL[template].items()))
        records[kind].pop(dropped)
        if scenario == "missing_answered":
            answers[field] = answer_for(field, rng)
    elif scenario == "conflict":
        field = rng.choice([f for f, paths in EXPECTED[template].items() if paths[0].startswith(kind)])
        answers[field] = "（与登记不同）" + str(value_at(EXPECTED[template][field][0], records))
        conflicts.append(field)
    elif scenario == "invalid":
        record_field, field = next((k, v) for k, v in OPTIONAL[template].items() if v in ("phone", "legal_rep_id"))
        records[kind].pop(record_field)
        bad[field] = "12345" if field == "phone" else "310113199913320000"
    elif scenario == "loose":  # the number the applicant types, with full-width digits and spaces
        records[kind].pop(next(k for k, v in OPTIONAL[template].items() if v == "phone"))
        plain = answers["phone"] = answer_for("phone", rng)
        full_width = "".join(chr(ord(c) + 0xFEE0) for c in plain[:3])
        bad["phone"] = f"{full_width} {plain[3:7]} {plain[7:]}"
    elif scenario == "fallback":
        records[kind]["credit_code"] = ""  # a blank column in the 法人库 row
    expected = expectation(template, records, answers)
    answers = {k: v for k, v in answers.items() if k not in bad} | bad
    return {
        "id": f"mat-{n:03d}",
        "template": template,
        "scenario": scenario,
        "on": ON,
        "person": records.get("person"),
        "enterprise": records.get("enterprise"),
        "answers": answers,
        "expected": expected,
        "conflicts": conflicts,
    }


SCENARIOS = {
    "food-licence-application": ["complete", "unanswered", "missing", "missing_answered", "conflict", "invalid", "loose", "fallback"],
    "individual-business-application": ["complete", "unanswered", "missing", "missing_answered", "conflict", "invalid", "loose"],
    "premises-use-commitment": ["complete", "unanswered", "missing", "missing_answered", "conflict", "invalid", "loose"],
    "shareholder-decision": ["complete", "unanswered", "missing", "missing_answered", "conflict", "invalid", "loose"],
    "residence-use-commitment": ["complete", "unanswered", "missing", "missing_answered", "conflict", "invalid", "loose"],
    "articles-of-association": ["complete", "unanswered", "partial", "conflict"],
    "collective-contract-review": [
        "complete",
        "unanswered",
        "partial",
        "missing",
        "missing_answered",
        "conflict",
        "invalid",
        "loose",
        "fallback",
    ],  # fmt: skip
}


def ocr_case(n: int, template: str, scenario: str, rng: random.Random) -> dict:
    """The applicant's verified uploads in the library, with what the pre-review read in them."""
    firm = enterprise(rng, n)
    where = address(rng)  # the 住所 the 营业执照 states
    licence_read = {"名称": firm["name"], "统一社会信用代码": firm["credit_code"], "住所": where, "法定代表人": firm["legal_rep"]}
    card_read = {"姓名": firm["legal_rep"], "身份证号": firm["legal_rep_id"]}
    if scenario == "ocr_misread":  # one character read wrong: the check digit no longer fits
        wrong = {"collective-contract-review": (licence_read, "统一社会信用代码"), "food-licence-application": (card_read, "身份证号")}
        read, label = wrong[template]
        read[label] = misread(read[label])
    owner = firm["ref"] if scenario != "ocr_other_owner" else f"eval-enterprise-{n + 1000}"
    licence_until = "2025-12-31" if scenario == "ocr_expired" else rng.choice([None, "2039-06-30"])
    library = [{"owner": owner, "type": "营业执照", "valid_until": licence_until, "read": licence_read}]
    conflicts = []
    if scenario == "ocr_conflict":  # the 法人库 has a 住所; the licence read says another
        firm["address"] = address(rng)
        conflicts.append("address")
    else:
        firm.pop("address")
        if template == "food-licence-application":
            firm.pop("legal_rep_id")
            library.append({"owner": owner, "type": "法定代表人身份证件", "valid_until": "2040-01-01", "read": card_read})
        else:  # a blank credit code and no electronic licence: only the upload has it
            firm["credit_code"] = ""
            firm["licences"] = []
    records = {"enterprise": firm}
    if "enterprise.employees" in str(EXPECTED[template]):
        firm["employees"] = rng.randint(12, 800)
    answers = {f: answer_for(f, rng) for f, paths in EXPECTED[template].items() if paths == ["answer"]}
    return {
        "id": f"mat-{n:03d}",
        "template": template,
        "scenario": scenario,
        "on": ON,
        "person": None,
        "enterprise": firm,
        "library": library,
        "answers": answers,
        "expected": expectation(template, records, answers, library),
        "conflicts": conflicts,
    }


def misread(code: str) -> str:
    """The code with its third character (a digit in both kinds of code) read one higher: its check
    character no longer fits."""
    return code[:2] + str((int(code[2]) + 1) % 10) + code[3:]


OCR_SCENARIOS = ["ocr", "ocr_expired", "ocr_conflict", "ocr_other_owner"]


def build(per_scenario: int = 11) -> list[dict]:
    rng = random.Random(SEED)
    cases = []
    for template, scenarios in SCENARIOS.items():
        for scenario in scenarios:
            for _ in range(per_scenario):
                cases.append(case(len(cases) + 1, template, scenario, rng))
    for template in sorted(ENTERPRISE):
        for scenario in OCR_SCENARIOS:
            for _ in range(per_scenario):
                cases.append(ocr_case(len(cases) + 1, template, scenario, rng))
    for template in sorted(ENTERPRISE):
        for _ in range(per_scenario):
            cases.append(ocr_case(len(cases) + 1, template, "ocr_misread", rng))
    return cases


def main() -> None:
    cases = build()
    OUT.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in cases), encoding="utf-8")
    print(f"{len(cases)} cases → {OUT}")


if __name__ == "__main__":
    main()
