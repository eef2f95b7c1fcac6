"""开办企业一件事 on the chat page, in a real Chromium: a sample citizen asks what opening a restaurant
takes, answers the situation questions one at a time, and gets the items, what must be submitted and
what is waived."""

from pathlib import Path

from tests.ui.test_materials_chat_browser import choose_identity

BUNDLES = Path(__file__).resolve().parents[2] / "demo" / "bundles"


def say(page, text: str, expect: str) -> None:
    page.fill("#question textarea", text)
    page.click("#send")
    page.locator("#chat").get_by_text(expect).last.wait_for(timeout=20_000)


def test_a_citizen_walks_through_a_bundle_in_the_chat(services, services_data, site, page, tmp_path: Path):
    services.bundles.seed(BUNDLES)
    page.goto(site + "/", wait_until="domcontentloaded")
    choose_identity(page)
    say(page, "我要开饭店需要办哪些事", "您打算以什么形式经营？")
    say(page, "有限公司", "是否需要刻制公章？")
    say(page, "不需要", "是否需要申领发票？")
    say(page, "需要", "是否招用员工")
    say(page, "没有", "需要办理 3 件事")
    page.screenshot(path=str(tmp_path / "bundle.png"), full_page=True)
    chat = page.locator("#chat").inner_text()
    assert "食品经营许可证新办" in chat and "新办纳税人发票申领" in chat
    assert "股东决定" in chat and "小宝可以帮您生成" in chat
    assert "免于提交的材料" in chat and "政府已有数据（人口库）" in chat
