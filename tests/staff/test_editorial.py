import datetime as dt
import io
import json

import pytest
from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from xiaobao.assistant.store import KnowledgeGap
from xiaobao.govdata.workdays import add_working_days, china_date
from xiaobao.staff.editorial import EditorialError, parse_import


def refused(engine, text: str) -> None:
    assert engine.respond(engine.create_session(), text).path == "refused"


def test_the_loop_refused_question_to_official_reply(engine, editorial):
    question = "火星移民签证怎么办理"
    refused(engine, question)
    groups = editorial.gap_groups()
    assert groups[0]["topic"] == question and not groups[0]["overdue"]
    assert groups[0]["due_date"] == add_working_days(china_date(dt.datetime.now(dt.UTC)), 5).isoformat()
    gap_ids = [g["id"] for g in groups[0]["gaps"]]

    draft = editorial.create({"question": question, "answer": "本区不受理火星签证。", "alternatives": ["火星签证在哪办"]}, "zhang", gap_ids)
    assert draft["status"] == "draft" and draft["code"] == "kb-00001"
    assert engine.respond(engine.create_session(), question).path == "refused"  # a draft is not searchable

    published = editorial.publish(draft["id"], "zhang")
    assert published["status"] == "published" and editorial.gap_groups() == []
    reply = engine.respond(engine.create_session(), question)
    assert reply.path == "verbatim" and reply.text == "本区不受理火星签证。" and reply.citations[0]["citation"] == "答复口径 kb-00001"
    with Session(engine.db_engine) as session:  # the gap it was written for, and the same question asked meanwhile
        gaps = session.scalars(select(KnowledgeGap)).all()
        assert len(gaps) == 2 and {(g.status, g.entry_id) for g in gaps} == {("answered", draft["id"])}


def test_similar_questions_are_grouped(engine, editorial):
    for text in ("火星移民签证怎么办理", "火星移民签证怎么办", "海底隧道通行证去哪里领"):
        refused(engine, text)
    groups = editorial.gap_groups()
    assert sorted(g["count"] for g in groups) == [1, 2]


def test_versions_edits_and_retirement(engine, editorial):
    entry = editorial.create({"question": "火星签证怎么办理", "answer": "不受理。"}, "zhang")
    editorial.publish(entry["id"], "zhang")
    editorial.update(entry["id"], {"answer": "本区不受理火星签证。"}, "wang")
    assert engine.respond(engine.create_session(), "火星签证怎么办理").text == "本区不受理火星签证。"  # an edit is live at once
    retired = editorial.retire(entry["id"], "li", "政策调整")
    assert retired["status"] == "retired"
    assert engine.respond(engine.create_session(), "火星签证怎么办理").path != "verbatim"
    history = editorial.get(entry["id"])["versions"]
    assert [(v["action"], v["actor"]) for v in history] == [("create", "zhang"), ("publish", "zhang"), ("edit", "wang"), ("retire", "li")]
    assert history[2]["changes"]["answer"] == ["不受理。", "本区不受理火星签证。"]
    with pytest.raises(EditorialError):
        editorial.update(entry["id"], {"answer": "x"}, "wang")
    assert editorial.entries("retired")[0]["id"] == entry["id"]  # retired, not deleted


def test_future_policies_warn_until_published_and_answer_from_their_date(engine, editorial):
    today = dt.date.today()
    soon = editorial.create({"question": "新津贴何时发放", "answer": "下月起发放。", "effective_from": today.isoformat()}, "zhang")
    later = editorial.create(
        {"question": "明年的新规", "answer": "x", "effective_from": (today + dt.timedelta(days=60)).isoformat()}, "zhang"
    )
    assert [w["id"] for w in editorial.warnings()] == [soon["id"]]
    assert soon["publish_by"] < soon["effective_from"]
    editorial.publish(soon["id"], "zhang")
    assert editorial.warnings() == []
    editorial.publish(later["id"], "zhang")
    assert engine.respond(engine.create_session(), "明年的新规").path != "verbatim"  # not in effect yet


def test_bad_fields_are_refused():
    from xiaobao.staff.editorial import clean_fields

    for raw in ({"question": ""}, {"effective_from": "2026-13-01"}, {"question": "问" * 300}, {"colour": "red"},
                {"effective_from": "2026-05-01", "effective_to": "2026-01-01"}):  # fmt: skip
        with pytest.raises(EditorialError):
            clean_fields(raw)


def test_import_previews_rows_with_their_errors():
    csv_text = (
        "问题,相似问法,答复,生效日期\n"
        "居住证怎么办,居住证在哪办|居住证材料,带身份证到社区事务受理中心。,2026-01-01\n"
        ",,没有问题的答复,\n"
        "居住证怎么办,,重复,\n"
        "坏日期,,答复,2026-02-30\n"
    )
    rows = parse_import("qa.csv", csv_text.encode("utf-8-sig"))
    assert [r.row for r in rows] == [2, 3, 4, 5]
    assert rows[0].errors == [] and rows[0].fields["alternatives"] == ["居住证在哪办", "居住证材料"]
    assert rows[1].errors == ["缺少问题"] and "重复" in rows[2].errors[0] and "日期" in rows[3].errors[0]

    book = Workbook()
    book.active.append(["question", "answer", "effective_from"])
    book.active.append(["营业执照怎么办", "到区行政服务中心办理。", dt.datetime(2026, 3, 1)])
    data = io.BytesIO()
    book.save(data)
    (row,) = parse_import("qa.xlsx", data.getvalue())
    assert row.errors == [] and row.fields["effective_from"] == dt.date(2026, 3, 1)

    jsonl = "\n".join([json.dumps({"question": "a", "answer": "b"}), "{broken", json.dumps(["not", "an", "object"])])
    rows = parse_import("qa.jsonl", jsonl.encode())
    assert [bool(r.errors) for r in rows] == [False, True, True]

    for name, data in (("qa.pdf", b"%PDF"), ("qa.csv", b"\xff\xfe\x00bad"), ("qa.xlsx", b"not a zip"), ("qa.csv", "答复\nx\n".encode())):
        with pytest.raises(EditorialError):
            parse_import(name, data)


def test_import_creates_drafts_or_published_entries(engine, editorial):
    rows = parse_import("qa.csv", "问题,答复\n居住证怎么办,带身份证到社区事务受理中心。\n,坏行\n".encode())
    created = editorial.import_rows(rows, "zhang", publish=True)
    assert [e["status"] for e in created] == ["published"]
    assert engine.respond(engine.create_session(), "居住证怎么办").path == "verbatim"


def test_overdue_gaps_come_first(engine, editorial):
    refused(engine, "火星移民签证怎么办理")
    refused(engine, "海底隧道通行证去哪里领")
    with Session(engine.db_engine) as session:  # the second was asked before the National Day holiday of 2026, the first had no due date
        old, legacy = session.scalars(select(KnowledgeGap).order_by(KnowledgeGap.id.desc())).all()
        old.created_at, old.due_date = dt.datetime(2026, 9, 30, 2, 0), dt.date(2026, 10, 13)
        legacy.due_date = None
        session.commit()
    groups = editorial.gap_groups(on=dt.date(2026, 10, 14))
    assert [g["topic"] for g in groups] == ["海底隧道通行证去哪里领", "火星移民签证怎么办理"]
    assert groups[0]["overdue"] and not groups[1]["overdue"] and groups[1]["due_date"]
