"""An editor changes a 一件事 bundle in the console, in a real Chromium: the current version's JSON
is shown, a change is saved as the next version and used at once, the old version stays readable."""

import re
from pathlib import Path

from playwright.sync_api import expect

from tests.ui.conftest import sign_in

BUNDLES = Path(__file__).resolve().parents[2] / "demo" / "bundles"


def test_editor_saves_a_new_version_of_a_bundle(site, page, services, tmp_path: Path):
    services.bundles.seed(BUNDLES)
    services.accounts.add("zhang", "password-1", "editor", "张编辑")
    sign_in(page, site + "/staff/login?next=/staff/editor", "zhang", "**/staff/editor")
    page.click("#tabs button[data-tab='bundles']")
    page.locator("#bundle-pick option", has_text="退休一件事（第 1 版，示例数据）").wait_for(state="attached", timeout=10_000)
    page.select_option("#bundle-pick", "retirement")
    # not wait_for_function: the consoles' CSP forbids the eval it needs once it polls a second time
    expect(page.locator("#bundle-json")).to_have_value(re.compile("退休一件事"), timeout=10_000)
    text = page.input_value("#bundle-json")
    page.fill("#bundle-json", text.replace("是否有外省市的养老保险缴费记录需要转入？", "是否有外地社保缴费记录需要转入？"))
    page.fill("#bundle-note", "问法更口语")
    page.click("#bundle-save")
    page.locator("#bundle-pick option", has_text="退休一件事（第 2 版").wait_for(state="attached", timeout=10_000)
    page.locator("#bundle-versions tr", has_text="问法更口语").wait_for(timeout=10_000)
    assert services.bundles.get("retirement")[0].questions[2].text == "是否有外地社保缴费记录需要转入？"

    page.locator("#bundle-versions tr", has_text="retirement.json").get_by_role("button", name="查看").click()
    # version 1 fully shown (its row marked as the one being viewed) before it is edited: version 2 also
    # says 外省市 (in a material's name), and a late response would overwrite the edit
    page.locator("#bundle-versions tr.active", has_text="retirement.json").wait_for(timeout=10_000)
    assert "是否有外省市的养老保险缴费记录需要转入" in page.input_value("#bundle-json")
    page.fill("#bundle-json", "{ not json")
    page.click("#bundle-save")
    page.get_by_text("配置不是有效的 JSON").wait_for(timeout=10_000)
    page.screenshot(path=str(tmp_path / "bundles.png"), full_page=True)
    assert services.bundles.get("retirement")[1] == 2  # nothing saved
