"""开办企业一件事 from the first question to downloaded, pre-reviewed documents, in a real Chromium: a
sample citizen logs in with a demo identity, answers the situation questions one at a time, gets the
plan, says “好的” and answers what no data source knows for each material the plan offers, then
clicks the DOCX and PDF links under each finished material. Every downloaded file is put through the
pre-review here, and the page must have shown 通过 next to it."""

import os
import time
from pathlib import Path

from tests.api.test_materials import ARTICLES, BUNDLES

SHOTS = Path(os.environ.get("XIAOBAO_SCREENSHOTS", "")) if os.environ.get("XIAOBAO_SCREENSHOTS") else None
MATERIALS = {
    "公司章程": "articles-of-association",
    "股东决定": "shareholder-decision",
    "住所（经营场所）使用承诺书": "residence-use-commitment",
}


def chat_text(page) -> str:
    return page.locator("#chat").inner_text()


def say(page, text: str, expect: str, timeout: float = 30.0) -> str:
    """Send a message and wait until `expect` appears once more than before; the chat's text then."""
    before = chat_text(page).count(expect)
    page.fill("#question textarea", text)
    page.click("#send")
    deadline = time.monotonic() + timeout
    while (shown := chat_text(page)).count(expect) <= before:
        assert time.monotonic() < deadline, f"“{expect}” did not appear after “{text}”:\n{shown[-600:]}"
        time.sleep(0.2)
    return shown


def shoot(page, tmp_path: Path, name: str) -> None:
    page.screenshot(path=str((SHOTS or tmp_path) / f"{name}.png"), full_page=True)


# The walk below takes the chat page itself or the widget's panel (its iframe's frame): both offer the
# same locator, fill and click.
def choose_identity(chat, name: str = "张示例（个人，示例）") -> None:
    """Choose a sample identity (the citizen 张示例 unless named) and wait until the page holds the new
    session (the session it keeps in localStorage changed): the greeting alone is already there from the
    anonymous session, and a switch that lands after the first message starts a fresh chat under it."""
    chat.locator("#identity input").wait_for(timeout=30_000)
    chat.locator("#chat").get_by_text("您好，我是宝山区").first.wait_for(timeout=30_000)
    chat.wait_for_function("localStorage.getItem('xiaobao-chat') !== null", timeout=30_000)
    before = chat.evaluate("localStorage.getItem('xiaobao-chat')")
    chat.locator("#identity input").click()
    chat.get_by_role("option", name=name).click()
    chat.wait_for_function("(before) => localStorage.getItem('xiaobao-chat') !== before", arg=before, timeout=30_000)
    chat.locator("#chat").get_by_text("您好，我是宝山区").first.wait_for(timeout=30_000)


def plan_a_company(chat) -> str:
    """开办企业一件事 for a limited company without food, seal, invoices or staff; the chat's text
    once the plan is shown."""
    say(chat, "开办企业一件事", "您打算以什么形式经营？")
    say(chat, "有限责任公司", "是否经营餐饮或销售食品")
    say(chat, "否", "是否需要刻制公章？")
    say(chat, "否", "是否需要申领发票？")
    say(chat, "否", "是否招用员工")
    return say(chat, "否", "小宝现在就可以为您生成")


def make_the_articles(chat) -> str:
    """After the plan: 公司章程, one question at a time, until the document is made; the chat's text then."""
    shown = say(chat, "好的", "还需要 8 项信息")
    for left in range(7, -1, -1):
        asked = shown[shown.rindex("还需要") :]
        answer = next(value for words, value in ARTICLES.items() if words in asked)
        shown = say(chat, answer, f"还需要 {left} 项信息" if left else "接下来可以生成《股东决定》")
    return shown


def test_a_citizen_goes_from_the_first_question_to_pre_reviewed_downloads(services, services_data, site, page, tmp_path):
    services.bundles.seed(BUNDLES)
    page.goto(site + "/", wait_until="domcontentloaded")
    choose_identity(page)
    plan = plan_a_company(page)
    shoot(page, tmp_path, "materials-plan")
    assert "· 公司章程（有限责任公司设立登记（一人有限责任公司）），小宝可以帮您生成" in plan
    assert "《公司章程》、《股东决定》、《住所（经营场所）使用承诺书》" in plan

    make_the_articles(page)
    # 股东决定: everything known (records and this session's answers); the commitment asks one thing
    say(page, "好的", "接下来可以生成《住所（经营场所）使用承诺书》")
    say(page, "好的", "该住所可以使用到哪一天")
    say(page, "2029年12月31日", "《住所（经营场所）使用承诺书》下载")
    shown = chat_text(page)
    for name in MATERIALS:
        block = shown[shown.rindex(f"《{name}》下载") :].split("\n")[1:3]
        assert all("预审：通过" in line for line in block), block  # DOCX and PDF, each passed
    page.locator("#chat a", has_text="下载 PDF").last.scroll_into_view_if_needed()
    shoot(page, tmp_path, "materials-downloads")

    person = services.directory.person("demo-citizen-1")
    templates = services.templates.all()
    for index, (name, template_id) in enumerate(MATERIALS.items()):
        template = templates[template_id]
        item = services.directory.item(template.item_id)
        for kind in ("DOCX", "PDF"):
            link = page.locator("#chat a", has_text=f"下载 {kind}").nth(index)
            assert "session_key" not in (link.get_attribute("href") or "") and "signature=" in link.get_attribute("href")
            with page.expect_download() as caught:
                link.click()
            saved = tmp_path / f"{name}.{kind.lower()}"
            caught.value.save_as(saved)
            data = saved.read_bytes()
            assert data.startswith(b"%PDF-" if kind == "PDF" else b"PK"), (name, kind, data[:40])
            review = services.reviewer.review(item, [(saved.name, data)], person, None)
            points = [p for p in review.points if p.material_id == template.material_id]
            assert points and all(p.result == "pass" for p in points), (name, kind, [(p.label, p.result, p.evidence) for p in points])
