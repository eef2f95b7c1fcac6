"""An editor changes and adds material templates in the console (tab 材料模板), in a real Chromium:
the current version's JSON is shown, a change is saved as the next version and used at once, the old
version stays readable, a bad template is refused with the reason, and a new material is added."""

import json
import re
from pathlib import Path

from playwright.sync_api import expect

from tests.api.test_templates import NEW
from tests.ui.conftest import sign_in


def test_editor_versions_and_adds_material_templates(site, page, services, services_data, tmp_path: Path):
    services.accounts.add("zhang", "password-1", "editor", "张编辑")
    sign_in(page, site + "/staff/login?next=/staff/editor", "zhang", "**/staff/editor")
    page.click("#tabs button[data-tab='templates']")
    page.locator("#template-pick option", has_text="食品经营许可申请书（BS-ITEM-007，第 1 版）").wait_for(state="attached", timeout=10_000)
    page.select_option("#template-pick", "food-licence-application")
    expect(page.locator("#template-json")).to_have_value(re.compile("食品经营许可申请书"), timeout=10_000)
    text = page.input_value("#template-json")
    assert '"version"' not in text  # the stored version is shown in the list, not edited
    page.fill("#template-json", text.replace("请问申请的经营项目", "请问您申请哪些经营项目"))
    page.fill("#template-note", "问法更口语")
    page.click("#template-save")
    page.locator("#template-pick option", has_text="食品经营许可申请书（BS-ITEM-007，第 2 版）").wait_for(state="attached", timeout=10_000)
    page.locator("#template-versions tr", has_text="问法更口语").wait_for(timeout=10_000)
    assert services.templates.get("food-licence-application").fields[-2].question.startswith("请问您申请哪些经营项目")

    page.locator("#template-versions tr", has_text="food-licence-application.json").get_by_role("button", name="查看").click()
    expect(page.locator("#template-json")).to_have_value(re.compile("请问申请的经营项目"), timeout=10_000)

    page.click("#template-new")
    page.fill("#template-json", json.dumps({**NEW, "body": ["{nowhere}"]}, ensure_ascii=False, indent=2))
    page.click("#template-save")
    page.get_by_text("正文引用了未定义的字段：nowhere").wait_for(timeout=10_000)
    assert services.templates.get(NEW["id"]) is None  # nothing saved
    page.fill("#template-json", json.dumps(NEW, ensure_ascii=False, indent=2))
    page.fill("#template-note", "新增材料")
    page.click("#template-save")
    added = page.locator("#template-pick option", has_text="企业经营场所使用承诺书（BS-ITEM-007，第 1 版）")
    added.wait_for(state="attached", timeout=10_000)
    page.locator("#template-versions tr", has_text="新增材料").wait_for(timeout=10_000)
    page.screenshot(path=str(tmp_path / "templates.png"), full_page=True)
    assert services.templates.find("企业经营场所使用承诺书").version == 1
