"""A citizen asks for a human in the chat page; a helper, logged in to the console in another browser,
hears of it pushed (a server-sent event, not the 20 s fallback poll), claims the session and replies;
the citizen's chat shows the reply, pushed too. Two real Chromium contexts."""

import time
from pathlib import Path

PUSHED_WITHIN_S = 5.0  # well under the 20 s the console polls at while its event stream is up


def test_citizen_hands_off_helper_claims_and_replies(site, browser, services, tmp_path: Path):
    services.accounts.add("li", "password-1", "helper", "李明")
    helper = browser.new_context(viewport={"width": 1300, "height": 900}).new_page()
    helper.goto(site + "/staff/helper", wait_until="domcontentloaded")  # not logged in: the login page
    helper.fill("#username", "li")
    helper.fill("#password", "wrong-password")
    helper.click("#submit")
    helper.get_by_text("用户名或密码错误").wait_for(timeout=10_000)
    helper.fill("#password", "password-1")
    helper.click("#submit")
    helper.wait_for_url("**/staff/helper", timeout=10_000)
    helper.get_by_text("暂无排队的群众").wait_for(timeout=10_000)
    helper.wait_for_timeout(2500)  # past the first reads: from here on only a push is this quick

    citizen = browser.new_page(viewport={"width": 1000, "height": 900})
    citizen.goto(site + "/", wait_until="load")
    citizen.locator("#question textarea").wait_for(timeout=30_000)
    citizen.fill("#question textarea", "我要找人工")
    citizen.click("#send")
    citizen.locator("#chat").get_by_text("已为您转接线上人工帮办").wait_for(timeout=15_000)
    pressed = time.monotonic()
    helper.locator("#queue .card").first.wait_for(timeout=PUSHED_WITHIN_S * 1000)
    assert time.monotonic() - pressed < PUSHED_WITHIN_S
    assert "我要找人工" in helper.locator("#queue").inner_text()
    citizen.locator("#waiting").get_by_text("在线帮办 1 人").wait_for(timeout=10_000)  # li is online

    helper.locator("#queue .card button").first.click()  # 接入
    helper.locator("#reply").wait_for(state="visible", timeout=10_000)
    helper.fill("#reply", "您好，我是线上帮办李明，请问需要办理什么事项？")
    helper.click("#send")
    helper.locator("#transcript .msg.helper").wait_for(timeout=10_000)
    helper.screenshot(path=str(tmp_path / "helper.png"), full_page=True)

    citizen.locator("#chat").get_by_text("请问需要办理什么事项").wait_for(timeout=PUSHED_WITHIN_S * 1000)
    chat = citizen.locator("#chat").inner_text()
    assert "人工帮办 李明" in chat and "李明已接入" in chat
    citizen.screenshot(path=str(tmp_path / "citizen.png"), full_page=True)

    # the citizen answers; the helper sees it in the transcript, pushed; the reply box stays usable
    citizen.fill("#question textarea", "我想办居住证")
    citizen.click("#send")
    helper.locator("#transcript").get_by_text("我想办居住证").wait_for(timeout=PUSHED_WITHIN_S * 1000)
    assert helper.locator("#reply").is_visible()
