"""A citizen asks for a human in the chat page; a helper logs in to the console in another browser,
claims the session and replies; the citizen's chat shows the reply. Two real Chromium contexts."""

from pathlib import Path


def test_citizen_hands_off_helper_claims_and_replies(site, browser, services, tmp_path: Path):
    services.accounts.add("li", "password-1", "helper", "李明")
    citizen = browser.new_page(viewport={"width": 1000, "height": 900})
    citizen.goto(site + "/", wait_until="domcontentloaded")
    citizen.locator("#question textarea").wait_for(timeout=30_000)
    citizen.fill("#question textarea", "我要找人工")
    citizen.click("#send")
    citizen.get_by_text("已为您转接线上人工帮办").wait_for(timeout=15_000)

    helper = browser.new_context(viewport={"width": 1300, "height": 900}).new_page()
    helper.goto(site + "/staff/helper", wait_until="domcontentloaded")  # not logged in: the login page
    helper.fill("#username", "li")
    helper.fill("#password", "wrong-password")
    helper.click("#submit")
    helper.get_by_text("用户名或密码错误").wait_for(timeout=10_000)
    helper.fill("#password", "password-1")
    helper.click("#submit")
    helper.wait_for_url("**/staff/helper", timeout=10_000)
    helper.locator("#queue .card").first.wait_for(timeout=10_000)
    assert "我要找人工" in helper.locator("#queue").inner_text()
    helper.locator("#queue .card button").first.click()  # 接入
    helper.locator("#reply").wait_for(state="visible", timeout=10_000)
    helper.fill("#reply", "您好，我是线上帮办李明，请问需要办理什么事项？")
    helper.click("#send")
    helper.locator("#transcript .msg.helper").wait_for(timeout=10_000)
    helper.screenshot(path=str(tmp_path / "helper.png"), full_page=True)

    # the citizen's page polls every 2 s: the reply appears, marked as a human reply
    citizen.get_by_text("请问需要办理什么事项").wait_for(timeout=15_000)
    chat = citizen.locator("#chat").inner_text()
    assert "人工帮办 李明" in chat and "李明已接入" in chat
    citizen.screenshot(path=str(tmp_path / "citizen.png"), full_page=True)

    # the citizen answers; the helper sees it in the transcript
    citizen.fill("#question textarea", "我想办居住证")
    citizen.click("#send")
    helper.locator("#transcript").get_by_text("我想办居住证").wait_for(timeout=15_000)
