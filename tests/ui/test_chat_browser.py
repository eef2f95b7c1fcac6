"""The chat page in a real headless Chromium: ask, see the streamed answer with its citation, rate it,
ask for a human."""

import time

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.conftest import citing
from xiaobao.assistant.store import Handoff, Rating


def test_ask_rate_and_hand_off(site, page, engine, llm, tmp_path):
    llm.answers = [citing("第一条", "年满九十周岁的本区户籍老人每月领取高龄津贴400元[{n}]。")]
    page.goto(site + "/", wait_until="domcontentloaded")
    page.locator("#question textarea").wait_for(timeout=30_000)
    page.fill("#question textarea", "九十岁老人高龄津贴每月多少钱")
    page.click("#send")
    answer = page.locator("#chat details summary").first
    answer.wait_for(timeout=30_000)
    assert "《示例区高龄津贴办法》第一条" in answer.inner_text()
    assert "人工智能生成" in page.locator("#chat").inner_text()
    answer.click()  # the citation opens to show the cited text
    assert "年满九十周岁的本区户籍老人" in page.locator("#chat details").first.inner_text()
    page.screenshot(path=str(tmp_path / "chat.png"), full_page=True)

    page.locator("#chat button[aria-label='Like']").last.click()
    page.click("#human")
    page.get_by_text("已为您转接线上人工帮办").wait_for(timeout=10_000)
    deadline = time.monotonic() + 5
    with Session(engine.db_engine) as session:
        while time.monotonic() < deadline and not session.scalars(select(Rating)).first():
            time.sleep(0.1)
        assert session.scalars(select(Rating)).one().value == "good"
        assert session.scalars(select(Handoff)).one().reason == "用户点击转人工"
