"""The chat page in a real headless Chromium, on a desktop and on a phone: ask, see the streamed
answer with its citation, rate it; press 转人工 while an answer is still being written and lose
nothing; the helper's reply arrives pushed and in order; a reload keeps the conversation and the
hand-off; waiting is honest and can be cancelled."""

import os
import time
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.conftest import citing
from xiaobao.assistant.store import Handoff, Rating

SHOTS = Path(os.environ.get("XIAOBAO_SCREENSHOTS", "")) if os.environ.get("XIAOBAO_SCREENSHOTS") else None
PHONE = {"width": 390, "height": 844}


def shoot(page, tmp_path: Path, name: str) -> None:
    """A screenshot, kept in XIAOBAO_SCREENSHOTS when set (to look at), else in the test's tmp dir."""
    page.screenshot(path=str((SHOTS or tmp_path) / f"{name}.png"))


def open_chat(page, site: str) -> None:
    page.goto(site + "/", wait_until="load")
    page.locator("#question textarea").wait_for(timeout=30_000)
    see(page, "您好，我是宝山区", timeout=30_000)


def slow(llm, per_char: float = 0.04) -> None:
    """The scripted model writes at a human-visible pace, so a click can land mid-answer."""
    stream = llm.stream

    def paced(messages, max_tokens, usage=None):
        for char in stream(messages, max_tokens, usage):
            time.sleep(per_char)
            yield char

    llm.stream = paced


def see(page, text: str, timeout: float) -> None:
    page.locator("#chat").get_by_text(text).first.wait_for(timeout=timeout)


def bubbles(page) -> list[str]:
    return page.locator("#chat .message").all_inner_texts()


def in_view(page, viewport: dict, *controls: str) -> None:
    for control in controls:
        box = page.locator(control).bounding_box()
        assert box and box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"], control


def test_ask_rate_and_hand_off(site, page, engine, llm, tmp_path):
    llm.answers = [citing("第一条", "年满九十周岁的本区户籍老人每月领取高龄津贴400元[{n}]。")]
    open_chat(page, site)
    page.fill("#question textarea", "九十岁老人高龄津贴每月多少钱")
    page.click("#send")
    answer = page.locator("#chat details summary").first
    answer.wait_for(timeout=30_000)
    assert "《示例区高龄津贴办法》第一条" in answer.inner_text()
    assert bubbles(page)[-1].startswith("【本回答由人工智能生成")  # the label at the top of its bubble
    answer.click()  # the citation opens to show the cited text
    assert "年满九十周岁的本区户籍老人" in page.locator("#chat details").first.inner_text()
    shoot(page, tmp_path, "chat-desktop")

    page.locator("#chat button[aria-label='赞']").last.click()  # worded in Chinese in any browser
    page.click("#human")
    page.get_by_text("已为您转接线上人工帮办").wait_for(timeout=10_000)
    deadline = time.monotonic() + 5
    with Session(engine.db_engine) as session:
        while time.monotonic() < deadline and not session.scalars(select(Rating)).first():
            time.sleep(0.1)
        assert session.scalars(select(Rating)).one().value == "good"
        assert session.scalars(select(Handoff)).one().reason == "用户点击转人工"


def test_hand_off_mid_stream_helper_reply_and_reload(site, browser, services, engine, llm, tmp_path):
    services.accounts.add("li", "password-1", "helper", "李明")
    helper = services.accounts.login("li", "password-1")[1]
    llm.answers = [citing("第一条", "年满九十周岁的本区户籍老人每月领取高龄津贴400元[{n}]。申请时需要提供身份证和户口簿[{n}]。")]
    slow(llm)
    page = browser.new_page(viewport={"width": 1000, "height": 900})
    open_chat(page, site)
    page.fill("#question textarea", "九十岁老人高龄津贴每月多少钱")
    page.click("#send")
    see(page, "400元", timeout=30_000)
    page.click("#human")  # the answer is still being written
    see(page, "已为您转接线上人工帮办", timeout=10_000)
    see(page, "户口簿", timeout=30_000)  # the answer still completes
    page.locator("#chat details").first.wait_for(timeout=10_000)
    page.locator("#waiting").get_by_text("人工队列第 1 位").wait_for(timeout=10_000)

    (waiting,) = services.desk.board(helper)["queued"]
    detail = services.desk.claim(waiting["id"], helper)
    said = " ".join(t["text"] for t in detail["transcript"])
    assert "九十岁老人高龄津贴" in said and "已为您转接" in said and "户口簿" in said  # the helper has the transcript
    services.desk.reply(waiting["id"], helper, "您好，我是李明，高龄津贴还有什么不清楚的？")
    see(page, "我是李明", timeout=5_000)  # pushed, not the 15 s poll
    page.locator("#waiting").get_by_text("李明正在为您服务").wait_for(timeout=5_000)
    page.fill("#question textarea", "要本人去吗")
    page.click("#send")
    see(page, "要本人去吗", timeout=10_000)
    services.desk.reply(waiting["id"], helper, "可以委托家属代办。")
    see(page, "可以委托家属代办", timeout=5_000)
    order = bubbles(page)
    assert order.index(next(b for b in order if "要本人去吗" in b)) < order.index(next(b for b in order if "委托家属" in b))
    assert next(b for b in order if "我是李明" in b).startswith("【人工帮办 李明】")
    shoot(page, tmp_path, "handoff-desktop")

    page.reload(wait_until="load")  # the conversation and the hand-off come back
    see(page, "可以委托家属代办", timeout=30_000)
    assert bubbles(page) == order
    page.locator("#waiting").get_by_text("李明正在为您服务").wait_for(timeout=10_000)


@pytest.mark.parametrize("viewport", [PHONE])
def test_phone_waiting_is_honest_and_can_be_cancelled(site, browser, services, engine, tmp_path, viewport):
    page = browser.new_page(viewport=viewport, is_mobile=True, has_touch=True)
    open_chat(page, site)
    in_view(page, viewport, "#question textarea", "#send", "#human")  # without scrolling
    assert page.locator("#chat").bounding_box()["width"] >= viewport["width"] - 20  # no wide margins on a phone
    page.fill("#question textarea", "政务服务中心几点上班？")
    page.click("#send")
    summary = page.locator("#chat details summary").first
    summary.wait_for(timeout=30_000)
    assert summary.inner_text() == "[1] 答复口径：政务服务中心几点上班？"  # the entry, not its id qa-1
    assert bubbles(page)[-1].startswith("【官方答复口径】")
    summary.click()
    assert "官方答复口径" in page.locator("#chat details").first.inner_text() and "qa-1" not in page.locator("#chat").inner_text()

    page.click("#human")
    notice = page.locator("#waiting")
    notice.get_by_text("目前没有帮办人员在线").wait_for(timeout=10_000)  # nobody is logged in
    in_view(page, viewport, "#question textarea", "#send", "#human", "#cancel-wait")
    shoot(page, tmp_path, "waiting-phone")
    page.fill("#question textarea", "政务服务中心几点上班？")  # Xiaobao still answers while the session waits
    page.click("#send")
    page.wait_for_function("document.querySelectorAll('#chat details').length >= 2", timeout=30_000)
    page.click("#cancel-wait")
    see(page, "您已取消等待人工帮办", timeout=10_000)
    notice.wait_for(state="hidden", timeout=10_000)
    in_view(page, viewport, "#send", "#human")
    shoot(page, tmp_path, "chat-phone")

    # what lies below the docked input row can be scrolled clear of it and tapped (a tap on a spot the
    # dock covers fails: Playwright checks which element would receive it)
    page.get_by_text("“办不成事”反映").click(timeout=5_000)
    page.locator("#problem textarea").wait_for(timeout=5_000)
    page.locator("#large-text input").click(timeout=5_000)
    page.wait_for_function("document.body.classList.contains('large')", timeout=5_000)
    in_view(page, viewport, "#send", "#human")
    shoot(page, tmp_path, "large-phone")
