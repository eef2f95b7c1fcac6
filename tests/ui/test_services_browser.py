"""The service tools in the chat page, in a real Chromium: pick a sample identity, ask which
policies apply, upload materials for pre-review and read the result."""

import re
import time
from pathlib import Path

from tests.ui.test_materials_chat_browser import choose_identity
from xiaobao.ui import chat

CASES = Path(__file__).resolve().parents[2] / "eval" / "data" / "prereview"


def test_policies_and_prereview_in_the_chat(services_data, site, page, tmp_path: Path):
    page.goto(site + "/", wait_until="domcontentloaded")
    choose_identity(page, "上海示例科技有限公司（企业，示例）")
    page.fill("#question textarea", "我们企业能享受哪些政策")
    page.click("#send")
    page.get_by_text("可享受 2 项").wait_for(timeout=20_000)
    assert "宝山区科技型企业研发投入奖励" in page.locator("#chat").inner_text()

    page.get_by_text("材料预审：上传申请材料").click()
    assert "将文件拖放到此处\n- 或 -\n点击上传" in page.locator("#uploads").inner_text()  # en-US browser too
    page.click("#prereview")  # nothing uploaded yet: a notice, and the conversation stays on screen
    notice = page.locator("[data-testid=toast-body]").first
    notice.get_by_text("请选择事项并上传至少一份材料").wait_for(timeout=10_000)
    assert notice.inner_text().startswith("提示")  # not Gradio's "Warning"
    page.wait_for_timeout(500)
    assert "宝山区科技型企业研发投入奖励" in page.locator("#chat").inner_text()  # no "Error" badge over it
    page.locator("#item input").click()
    page.get_by_role("option", name="食品经营许可证新办（BS-ITEM-007）").click()
    folder = CASES / "case-0002"  # demo-enterprise-1's food-licence case with one material missing
    files = [str(f) for f in sorted(folder.iterdir()) if f.name != "case.json"]
    page.locator("#uploads input[type=file]").set_input_files(files)
    page.wait_for_timeout(1500)  # Gradio uploads the files before the button can use them
    # what screen readers say is Chinese too: Gradio says "File upload", "Remove this file", "Close" and
    # "common.upload" in every browser and leaves markup in a message's label (the chat's hidden clear
    # button aside)
    said = page.evaluate("""() => [...document.querySelectorAll('[aria-label], [title]')]
        .flatMap(e => [e.getAttribute('aria-label'), e.getAttribute('title')]).filter(v => v && v !== 'Clear')""")
    assert [v for v in said if re.search(r"[A-Za-z]{3}|<", v.removesuffix(".txt").removesuffix(".png"))] == []
    assert page.get_by_role("textbox", name="问题").count() == 1  # the question box's name, not "Textbox"
    page.click("#prereview")
    page.get_by_text("材料预审：").last.wait_for(timeout=60_000)
    page.get_by_text("项不通过").wait_for(timeout=60_000)
    page.screenshot(path=str(tmp_path / "services.png"), full_page=True)
    chat = page.locator("#chat").inner_text()
    assert "《食品经营许可证新办》材料预审：" in chat and "未找到" in chat
    assert "可享受 2 项" in chat  # the earlier answer is still there


def test_report_a_matter_from_the_chat_page(site, page, services):
    page.goto(site + "/", wait_until="domcontentloaded")
    page.get_by_text("“办不成事”反映").wait_for(timeout=30_000)
    page.get_by_text("“办不成事”反映").click()
    page.fill("#problem textarea", "营业执照变更在网上提交了三次都被退回，没有说明原因")
    page.fill("#contact textarea", "王先生 13900000000")
    page.click("#report")
    page.get_by_text("查询编号 BCS").wait_for(timeout=15_000)
    number = services.reports.list()[0]["tracking_no"]
    assert number in page.locator("#chat").inner_text()
    page.fill("#question textarea", number)
    page.click("#send")
    page.get_by_text("当前状态：已受理").wait_for(timeout=15_000)


def test_a_question_sent_at_once_after_choosing_an_identity_is_asked_as_that_identity(services_data, site, page, engine, monkeypatch):
    """The question box is closed while the identity switch runs (ui/chat.py `typing`, `LOCK_JS`): a
    question typed at once waits for the new session instead of going to the one being replaced. The
    server's answers (the lock, the switch) are made slow here, as they are on a loaded server: the
    box must be closed in the browser before the server has said anything."""
    page.goto(site + "/", wait_until="domcontentloaded")
    page.locator("#identity input").wait_for(timeout=30_000)
    page.wait_for_function("localStorage.getItem('xiaobao-chat') !== null", timeout=30_000)
    create, lock = engine.create_session, chat.typing
    monkeypatch.setattr(engine, "create_session", lambda **kwargs: time.sleep(2) or create(**kwargs))
    monkeypatch.setattr(chat, "typing", lambda allowed: time.sleep(0 if allowed else 1.5) or lock(allowed))
    page.locator("#identity input").click()
    page.get_by_role("option", name="上海示例科技有限公司（企业，示例）").click()
    page.fill("#question textarea", "我们企业能享受哪些政策")  # no wait: Playwright types as soon as the box takes text
    page.click("#send")
    page.get_by_text("可享受 2 项").wait_for(timeout=20_000)
    page.wait_for_timeout(1000)  # a late switch would replace the chat now
    shown = page.locator("#chat").inner_text()
    assert "我们企业能享受哪些政策" in shown and "可享受 2 项" in shown
