"""The cockpit (数据驾驶舱) in a real Chromium, over the seeded data of known counts of the cockpit's
own tests: the promises, each department's figures and index, 无数据 where a source is missing, the
charts and the exports."""

from pathlib import Path

from tests.operations.test_cockpit import CIVIL, POLICE, TODAY, YESTERDAY, seeded  # noqa: F401  (the fixture)
from tests.ui.conftest import sign_in


def test_admin_sees_the_promises_per_department(services, site, page, seeded, tmp_path: Path):  # noqa: F811
    services.accounts.add("root", "password-1", "admin")
    sign_in(page, site + "/staff/ops", "root", "**/staff/ops")
    page.fill("#start", YESTERDAY.isoformat())
    page.fill("#end", TODAY.isoformat())
    page.click("#apply")
    page.locator("#dep-rows").get_by_text("80.2（7/7）").wait_for(timeout=30_000)
    promises = page.locator("#promises").inner_text()
    assert page.locator("#promises .kpi").count() == 9
    assert "平均申请时长\n21 分钟\n承诺 ≤ 20 分钟 · 未达标" in promises and "网上办理率\n66.7%" in promises
    rows = {r.split("\t")[0]: r.split("\t") for r in page.locator("#dep-rows tr").all_inner_texts()}
    assert rows[CIVIL][1:5] == ["80.2（7/7）", "12 分钟", "50.0%", "50.0%"]
    assert rows[POLICE][5] == "无数据" and "nodata" in page.locator("#dep-rows tr").nth(1).locator("td").nth(5).get_attribute("class")
    page.wait_for_load_state("networkidle", timeout=30_000)
    # the consoles' CSP forbids eval, which wait_for_function's string predicates need: asked from here
    assert page.evaluate("[...document.querySelectorAll('#cockpit-charts img')].every(i => i.complete && i.naturalWidth > 0)")
    assert page.locator("#cockpit-xlsx").get_attribute("href").startswith("/api/ops/cockpit/export.xlsx?start=")
    assert "暂无" in page.locator("#scheduled").inner_text()
    page.locator("#cockpit").screenshot(path=str(tmp_path / "cockpit.png"))
