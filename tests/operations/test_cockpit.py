"""The cockpit (数据驾驶舱) against seeded data of known counts: every promise per department and item,
the service index, the pre-aggregates (the same figures stored or computed live), the exports and
the scheduled reports."""

import datetime as dt
import io

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from xiaobao.assistant.store import ChatSession, Citation, Handoff, ToolCall, Turn
from xiaobao.govdata.records import Application, GovRecord
from xiaobao.govdata.workdays import CHINA
from xiaobao.operations import periodic
from xiaobao.operations.cockpit import AggregatedThrough, DailyFigures, application_facts
from xiaobao.operations.metrics import Period
from xiaobao.server import create_app

pytestmark = pytest.mark.databases  # SQLite and PostgreSQL

TODAY = dt.datetime.now(CHINA).date()
YESTERDAY = TODAY - dt.timedelta(days=1)
CIVIL, POLICE = "宝山区民政局", "宝山区公安分局"
ALLOWANCE, PERMIT = "高龄津贴申领", "居住证办理"


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    """A moment in China time, stored as every time is: in UTC."""
    return dt.datetime.combine(day, dt.time(hour, minute), CHINA).astimezone(dt.UTC)


def iso(day: dt.date, hour: int, minute: int = 0) -> str:
    return at(day, hour, minute).isoformat()


@pytest.fixture
def seeded(engine, services):
    """Yesterday: three cases (two of the 民政局, one of the 公安分局, two of them completed), two
    conversations each ending in a hand-off, a prefill of 3 of 4 fields, one Q&A entry cited. Stored
    through yesterday, as the schedule leaves it (cases count from stored days: T+1)."""
    with Session(services.db_engine) as session:
        session.add_all([
            GovRecord(kind="item", ref="IT-A", data={"id": "IT-A", "name": ALLOWANCE, "department": CIVIL, "applicant": "person"}),
            GovRecord(kind="item", ref="IT-B", data={"id": "IT-B", "name": PERMIT, "department": POLICE, "applicant": "person"}),
            # online, 12 minutes from starting to fill in, completed by the promised date, first time
            Application(id="A1", item=ALLOWANCE, item_id="IT-A", applicant_ref="c-1", status="已办结", promised_date=YESTERDAY,
                        timeline=[{"at": iso(YESTERDAY, 10), "event": "开始填报"},
                                  {"at": iso(YESTERDAY, 10, 12), "event": "网上申请已提交"},
                                  {"at": iso(YESTERDAY, 18), "event": "已办结"}]),
            # at a window, corrected, completed after the promised date
            Application(id="A2", item=ALLOWANCE, item_id="IT-A", applicant_ref="c-2", status="已办结",
                        promised_date=YESTERDAY - dt.timedelta(days=1),
                        timeline=[{"at": iso(YESTERDAY, 11), "event": "窗口申请已提交"},
                                  {"at": iso(YESTERDAY, 15), "event": "需补正：缺户口簿"},
                                  {"at": iso(YESTERDAY, 20), "event": "审核通过，已办结"}]),
            # online (said by the case system's own fields), 30 minutes, still in progress
            Application(id="B1", item=PERMIT, item_id="IT-B", applicant_ref="c-3", status="审核中",
                        promised_date=TODAY + dt.timedelta(days=9),
                        timeline=[{"at": iso(YESTERDAY, 8, 30), "kind": "started", "event": "填报"},
                                  {"at": iso(YESTERDAY, 9), "kind": "submitted", "channel": "online", "event": "提交"}]),
        ])  # fmt: skip
        for n, (department, item, reply_after, outcome) in enumerate(
            ((CIVIL, ALLOWANCE, 20, "resolved"), (POLICE, PERMIT, None, "unresolved"))
        ):
            chat = ChatSession(id=f"s-{n}")
            session.add(chat)
            answer = Turn(session_id=chat.id, role="assistant", text="答", path="verbatim", department=department, item=item,
                          created_at=at(YESTERDAY, 14, n))  # fmt: skip
            session.add(answer)
            session.flush()
            if n == 0:
                session.add(Citation(turn_id=answer.id, number=1, citation="c", group="qa:qa-1", doc_type="qa", text="t"))
                fields = [{"value": "王"}, {"value": None}, {"value": "1"}, {"value": "2"}]
                tool = Turn(session_id=chat.id, role="assistant", text="已预填", path="tool", department=department, item=item,
                            created_at=at(YESTERDAY, 14, 5))  # fmt: skip
                tool.tool_calls.append(ToolCall(name="prefill_form", arguments={}, result={"fields": fields}, ok=True))
                session.add(tool)
            asked = at(YESTERDAY, 15, n)
            reply = asked + dt.timedelta(seconds=reply_after) if reply_after else None
            session.add(Handoff(session_id=chat.id, reason="r", status="closed", created_at=asked, first_reply_at=reply,
                                closed_at=asked + dt.timedelta(seconds=120), outcome=outcome))  # fmt: skip
        session.commit()
    services.cockpit.refresh(TODAY)
    return services.cockpit


def by(rows: list[dict], department: str) -> dict:
    return next(r for r in rows if r["department"] == department)


def values(row: dict) -> dict:
    return {k: f["value"] for k, f in row["indicators"].items()}


def test_every_promise_on_known_data(seeded):
    report = seeded.report(Period(YESTERDAY, TODAY))
    civil, police = by(report["departments"], CIVIL), by(report["departments"], POLICE)
    assert values(civil) == {"application_minutes": 12.0, "on_time": 0.5, "online": 0.5, "prefill": 0.75, "first_time": 0.5,
                             "helper_resolution": 1.0, "first_response": 1.0}  # fmt: skip
    assert values(police) == {"application_minutes": 30.0, "on_time": None, "online": 1.0, "prefill": None, "first_time": None,
                              "helper_resolution": 0.0, "first_response": 0.0}  # fmt: skip
    assert civil["indicators"]["on_time"]["met"] is False and civil["indicators"]["prefill"]["met"] is True
    assert police["indicators"]["on_time"]["met"] is None  # 无数据, not a miss
    # the index: the mean over the figures with data of value / target (capped at 1; target / value for minutes)
    assert civil["index"] == round(100 * (1 + 0.5 + 0.5 / 0.9 + 1 + 0.5 / 0.9 + 1 + 1) / 7, 1) and civil["index_basis"] == "7/7"
    assert police["index"] == round(100 * (20 / 30 + 1 + 0 + 0) / 4, 1) and police["index_basis"] == "4/7"
    district = report["district"]
    assert values(district)["application_minutes"] == 21.0 and values(district)["online"] == round(2 / 3, 4)
    assert district["volume"]["applications"] == 3 and district["volume"]["completed"] == 2 and district["volume"]["handoffs"] == 2
    knowledge = district["knowledge"]
    assert (knowledge["published_qa"], knowledge["used_qa"], knowledge["indicators"]["kb_usage"]["value"]) == (2, 1, 0.5)
    assert knowledge["indicators"]["kb_size"]["value"] == sum(knowledge["entries_by_type"].values()) > 0
    assert knowledge["indicators"]["kb_size"]["met"] is False  # a test corpus, not 20,000 entries
    items = {(r["department"], r["item"]): r for r in report["items"]}
    assert values(items[(CIVIL, ALLOWANCE)])["prefill"] == 0.75 and items[(POLICE, PERMIT)]["volume"]["applications"] == 1
    one = seeded.report(Period(YESTERDAY, TODAY, department=POLICE))
    assert [r["department"] for r in one["departments"]] == [POLICE]


def test_stored_days_give_the_figures_computed_live(seeded):
    with Session(seeded.db_engine) as session:  # today: one more answer citing the other entry
        answer = Turn(session_id="s-0", role="assistant", text="答", path="verbatim", department=CIVIL, item=ALLOWANCE,
                      created_at=at(TODAY, 0, 5))  # fmt: skip
        session.add(answer)
        session.flush()
        session.add(Citation(turn_id=answer.id, number=1, citation="c", group="qa:qa-2", doc_type="qa", text="t"))
        session.commit()
    live = seeded.report(Period(YESTERDAY, TODAY))  # yesterday stored, today computed
    assert live["aggregated_through"] == YESTERDAY.isoformat() and live["district"]["volume"]["answers"] == 4
    assert live["district"]["knowledge"]["indicators"]["kb_usage"]["value"] == 1.0
    with Session(seeded.db_engine) as session:
        assert session.query(DailyFigures).filter(DailyFigures.day == TODAY).count() == 0  # today stays live
    assert seeded.refresh(TODAY + dt.timedelta(days=1))["through"] == TODAY.isoformat()
    stored = seeded.report(Period(YESTERDAY, TODAY))
    assert {k: v for k, v in stored.items() if k != "aggregated_through"} == {k: v for k, v in live.items() if k != "aggregated_through"}
    # a late fact within the reopened days is picked up by the next refresh
    with Session(seeded.db_engine) as session:
        session.add(Turn(session_id="s-1", role="assistant", text="答", path="refused", department=POLICE, item=PERMIT,
                         created_at=at(YESTERDAY, 20)))  # fmt: skip
        session.commit()
    seeded.refresh(TODAY + dt.timedelta(days=1))
    assert by(seeded.report(Period(YESTERDAY, YESTERDAY))["departments"], POLICE)["volume"]["refused"] == 1


def test_cases_count_from_stored_days(seeded):
    """Before any refresh the cases are not counted (T+1), while the conversations are, live."""
    with Session(seeded.db_engine) as session:
        session.query(DailyFigures).delete()
        session.query(AggregatedThrough).delete()
        session.commit()
    report = seeded.report(Period(YESTERDAY, TODAY))
    assert report["aggregated_through"] is None and report["district"]["volume"]["applications"] == 0
    assert report["district"]["indicators"]["online"]["value"] is None and report["district"]["volume"]["answers"] == 3


def test_what_a_timeline_says():
    case = Application(
        id="X", item="i", applicant_ref="r", status="审核中", timeline=[{"at": "2026-01-05T09:00:00+08:00", "event": "已受理"}]
    )
    assert application_facts(case) == {"submitted": dt.datetime.fromisoformat("2026-01-05T09:00:00+08:00"), "online": None}
    assert application_facts(Application(id="Y", item="i", applicant_ref="r", status="审核中", timeline=[])) == {}


def test_periods_of_the_scheduled_reports():
    wednesday = dt.date(2026, 12, 2)
    assert periodic.last_complete("week", wednesday) == Period(dt.date(2026, 11, 23), dt.date(2026, 11, 29))
    assert periodic.last_complete("month", wednesday) == Period(dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    assert periodic.last_complete("month", dt.date(2026, 1, 1)) == Period(dt.date(2025, 12, 1), dt.date(2025, 12, 31))


@pytest.fixture
def admin(services):
    services.accounts.add("root", "password-1", "admin")
    services.accounts.add("li", "password-1", "helper")
    client = TestClient(create_app(services, with_ui=False))
    client.post("/api/staff/login", json={"username": "root", "password": "password-1"})
    return client


def test_cockpit_api_exports_and_scheduled_reports(admin, seeded, services):
    window = {"start": YESTERDAY.isoformat(), "end": TODAY.isoformat()}
    report = admin.get("/api/ops/cockpit", params=window).json()
    assert by(report["departments"], CIVIL)["indicators"]["prefill"]["value"] == 0.75
    xlsx = admin.get("/api/ops/cockpit/export.xlsx", params=window)
    book = load_workbook(io.BytesIO(xlsx.content))
    assert book.sheetnames == ["总览", "各部门", "各事项"] and len(book["总览"]._images) == 2
    overview = {row[0]: row[1:4] for row in book["总览"].iter_rows(min_row=3, values_only=True) if row[0]}
    assert overview["平均申请时长"] == ("21.0 分钟", "≤ 20 分钟", "未达标")
    assert overview["承诺时限内办结率"] == ("50.0%", "≥ 100%", "未达标")
    departments = {row[0]: row for row in book["各部门"].iter_rows(min_row=2, values_only=True)}
    assert departments[POLICE][3:5] == ("30.0 分钟", "无数据")
    pdf = admin.get("/api/ops/cockpit/export.pdf", params=window)
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF") and b"STSong-Light" in pdf.content
    for name in ("cockpit_targets", "cockpit_index"):
        png = admin.get(f"/api/ops/charts/{name}.png", params=window)
        assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    assert admin.post("/api/ops/cockpit/refresh").json()["through"] == YESTERDAY.isoformat()

    written = periodic.write_due(services.cockpit, services.settings.data_dir / "reports", TODAY)
    assert sorted(p.suffix for p in written) == [".pdf", ".pdf", ".xlsx", ".xlsx"]
    assert periodic.write_due(services.cockpit, services.settings.data_dir / "reports", TODAY) == []  # once per period
    listed = admin.get("/api/ops/cockpit/scheduled").json()
    assert len(listed) == 4 and any(f["name"].startswith("周报-") for f in listed)
    assert admin.get(f"/api/ops/cockpit/scheduled/{listed[0]['name']}").status_code == 200
    assert admin.get("/api/ops/cockpit/scheduled/..%2Fxiaobao.db").status_code == 404

    helper = TestClient(admin.app)
    helper.post("/api/staff/login", json={"username": "li", "password": "password-1"})
    assert helper.get("/api/ops/cockpit").status_code == 403
