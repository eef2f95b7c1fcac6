"""Every metric against seeded data of known counts."""

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from tests.conftest import citing
from xiaobao.assistant.store import ChatSession, Turn
from xiaobao.govdata.workdays import CHINA
from xiaobao.identity.accounts import Accounts
from xiaobao.operations.metrics import Period
from xiaobao.staff.helpdesk import HelpDesk

pytestmark = pytest.mark.databases  # SQLite and PostgreSQL

TODAY = dt.datetime.now(CHINA).date()


@pytest.fixture
def seeded(engine, llm, services):
    """Four sessions: an official reply rated 好评, a refusal rated 差评 with a comment, a generated
    answer followed by a hand-off a helper resolves, and a greeting."""
    a = engine.create_session()
    engine.rate(engine.respond(a, "办事大厅什么时候开门").turn_id, "good")
    b = engine.create_session()
    engine.rate(engine.respond(b, "火星移民签证怎么办理").turn_id, "bad", "没用")
    c = engine.create_session()
    llm.answers = [citing("第一条", "年满九十周岁的本区户籍老人每月领取高龄津贴400元[{n}]。")]
    assert engine.respond(c, "九十岁老人高龄津贴每月多少钱").path == "generated"
    engine.respond(c, "转人工")
    accounts: Accounts = services.accounts
    accounts.add("li", "password-1", "helper")
    li = accounts.login("li", "password-1")[1]
    desk: HelpDesk = services.desk
    (queued,) = desk.board(li)["queued"]
    desk.claim(queued["id"], li)
    desk.reply(queued["id"], li, "您好")
    desk.close(queued["id"], li, "resolved")
    engine.respond(engine.create_session(), "你好")
    return services.metrics


def test_every_metric_on_known_data(seeded):
    report = seeded.report(Period(TODAY, TODAY))
    assert (report["sessions"], report["questions"], report["answers"]) == (4, 5, 5)
    assert {k: v for k, v in report["paths"].items() if v} == {"verbatim": 1, "generated": 1, "refused": 1, "handoff": 1, "greeting": 1}
    assert report["resolution"] == {"sessions": 4, "xiaobao_alone": 0.5, "with_helpers": 0.75}
    h = report["handoffs"]
    assert (h["count"], h["answered"], h["within_60s"], h["helper_resolution_rate"]) == (1, 1, 1.0, 1.0)
    assert h["buckets"]["0-15s"] == 1 and h["outcomes"]["resolved"] == 1
    r = report["ratings"]
    assert (r["good"], r["bad"], r["good_share"]) == (1, 1, 0.5) and [c["comment"] for c in r["comments"]] == ["没用"]
    assert report["gaps"] == {"open": 2, "overdue": 0, "filed": 2, "answered": 0, "answered_on_time": None}
    k = report["knowledge"]
    assert (k["published_qa"], k["used_qa"], k["usage_rate"], k["never_used"]) == (2, 1, 0.5, ["qa-2"])
    assert k["size_by_type"] == {"qa": 3, "statute": 2}
    expected_day = {"date": TODAY.isoformat(), "answers": 5, "sessions": 4, "verbatim": 1, "generated": 1, "refused": 1, "handoff": 1}
    assert report["daily"] == [expected_day]
    (row,) = report["by_department"]
    assert (row["answers"], row["good"], row["bad"]) == (5, 1, 1)


def test_periods_and_departments(seeded, engine):
    with Session(engine.db_engine) as session:  # two answers from the 民政局 a week ago, one of them refused
        chat = ChatSession()
        session.add(chat)
        session.flush()
        week_ago = dt.datetime.combine(TODAY - dt.timedelta(days=7), dt.time(10), CHINA)
        for path in ("verbatim", "refused"):
            session.add(Turn(session_id=chat.id, role="assistant", text="x", path=path, department="宝山区民政局", created_at=week_ago))
        session.commit()
    report = seeded.report(Period(TODAY - dt.timedelta(days=7), TODAY, department="宝山区民政局"))
    assert (report["sessions"], report["answers"], report["paths"]["refused"]) == (1, 2, 1)
    assert report["resolution"]["xiaobao_alone"] == 0.0
    assert [d["answers"] for d in report["daily"]] == [2, 0, 0, 0, 0, 0, 0, 0]
    assert seeded.report(Period(TODAY - dt.timedelta(days=3), TODAY - dt.timedelta(days=1)))["answers"] == 0
