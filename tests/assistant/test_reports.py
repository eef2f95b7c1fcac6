"""办不成事 tracking numbers: unguessable, and found however a citizen types them."""

import re

from sqlalchemy.orm import Session

from xiaobao.assistant.reports import ALPHABET, IssueReport
from xiaobao.assistant.router import TRACKING_NO, route


def test_tracking_numbers_cannot_be_enumerated(services):
    numbers = [services.reports.submit(f"第{i}次反映：窗口说材料不全办不成")["tracking_no"] for i in range(40)]
    shape = re.compile(rf"BCS\d{{8}}[{ALPHABET}]{{12}}")
    assert all(shape.fullmatch(n) for n in numbers), numbers[:3]
    assert len(set(numbers)) == len(numbers) and not set("01OILU") & {c for n in numbers for c in n[11:]}
    # 30^12 numbers a day: ~59 bits after the date, where the first format had 16
    assert len(ALPHABET) ** 12 > 2**58


def test_lookup_is_case_insensitive_and_tolerates_spacing(services):
    number = services.reports.submit("办理居住证跑了三次还没办成")["tracking_no"]
    spaced = f" {number[:3].lower()} {number[3:11]}-{number[11:15].lower()} {number[15:19]}\t{number[19:]}\n"
    assert services.reports.lookup(spaced)["tracking_no"] == number
    assert services.reports.lookup(number.lower())["status_name"] == "已受理"


def test_numbers_of_the_first_format_are_still_found(services):
    with Session(services.db_engine) as session:
        session.add(IssueReport(tracking_no="BCS20240501A3F9", description="旧编号的反映"))
        session.commit()
    assert services.reports.lookup("bcs20240501a3f9")["tracking_no"] == "BCS20240501A3F9"
    assert route("查一下 BCS20240501A3F9 的进展").arguments == {"tracking_no": "BCS20240501A3F9"}


def test_the_router_recognises_new_numbers_in_chat_text(services):
    number = services.reports.submit("办理居住证跑了三次还没办成")["tracking_no"]
    for said in (f"查询{number}", f"我的编号是 {number.lower()}，办得怎么样了", f"编号 {number[:11]} {number[11:15]} {number[15:]}"):
        found = route(said)
        assert found.intent == "report", said
        assert services.reports.lookup(found.arguments["tracking_no"])["tracking_no"] == number
    assert TRACKING_NO.search(f"{number}X".upper()) is None  # not a number inside a longer code
