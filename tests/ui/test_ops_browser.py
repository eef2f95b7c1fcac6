"""The operations dashboard in a real Chromium: an admin logs in and sees the numbers and the charts."""

from pathlib import Path

from tests.ui.conftest import sign_in


def test_admin_sees_the_dashboard(services, site, page, engine, tmp_path: Path):
    services.accounts.add("root", "password-1", "admin")
    engine.respond(engine.create_session(), "办事大厅什么时候开门")
    engine.respond(engine.create_session(), "火星移民签证怎么办理")
    services.reports.submit("营业执照变更网上办不成", contact="王先生")

    sign_in(page, site + "/staff/ops", "root", "**/staff/ops")
    page.locator("#kpis .kpi").first.wait_for(timeout=15_000)
    kpis = page.locator("#kpis").inner_text()
    assert "会话" in kpis and "知识使用率" in kpis
    # the consoles' CSP forbids eval, which wait_for_function's string predicates need: poll from here
    page.locator("#charts img").first.wait_for(timeout=30_000)
    page.wait_for_load_state("networkidle", timeout=30_000)
    assert page.evaluate("[...document.querySelectorAll('#charts img')].every(i => i.complete && i.naturalWidth > 0)")
    assert page.locator("#charts img").count() == 5
    assert "营业执照变更网上办不成" in page.locator("#reports").inner_text()
    assert page.locator("#exports a").count() == 18
    page.screenshot(path=str(tmp_path / "ops.png"), full_page=True)
    # 办不成事 are assigned and closed in labelled dialogs, not the browser's bare prompt()
    page.get_by_role("button", name="分派").click()
    dialog = page.get_by_role("dialog", name="分派办不成事")
    dialog.get_by_label("承办部门或人员").fill("区市场监管局")
    dialog.get_by_role("button", name="确定").click()
    page.get_by_text("区市场监管局").wait_for(timeout=10_000)
    page.get_by_role("button", name="办结").click()
    page.get_by_role("dialog", name="办结办不成事").get_by_role("button", name="取消").click()  # cancelling changes nothing
    page.locator("dialog").wait_for(state="detached", timeout=5_000)
    assert "已办结" not in page.locator("#reports").inner_text()


def test_admin_page_shows_hand_off_figures_users_and_audit(services, site, page, engine):
    services.accounts.add("root", "password-1", "admin")
    engine.respond(engine.create_session(), "转人工")
    report = services.reports.submit("营业执照变更网上办不成", contact="王先生")
    services.reports.assign(report["tracking_no"], "区市场监管局", actor="root")
    sign_in(page, site + "/staff/admin", "root", "**/staff/admin")
    page.locator("#audit tr").first.wait_for(timeout=15_000)
    assert "转人工\n1" in page.locator("#stats").inner_text()
    assert "root" in page.locator("#users").inner_text() and "登录" in page.locator("#audit").inner_text()
    # readable: Chinese actions and objects, details as labelled fields, a 办不成事 filter
    page.select_option("#type", "report")
    page.click("#filter")
    # the filtered table (the action's name also appears outside it, in the page's own labels)
    page.locator("#audit tr").first.filter(has_text="分派办不成事").wait_for(timeout=10_000)
    row = page.locator("#audit tr").first.inner_text()
    assert f"办不成事 {report['tracking_no']}" in row and "交给：区市场监管局" in row and "{" not in row
