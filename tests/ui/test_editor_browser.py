"""An editor answers an unanswered question in the console, in a real Chromium: the gap shows with its
due date, the answer is saved as a draft and published, and Xiaobao then gives it verbatim."""

from pathlib import Path

from tests.ui.conftest import sign_in


def test_editor_answers_a_gap_and_publishes(site, page, services, engine, tmp_path: Path):
    services.accounts.add("zhang", "password-1", "editor", "张编辑")
    assert engine.respond(engine.create_session(), "火星移民签证怎么办理").path == "refused"

    sign_in(page, site + "/staff/login?next=/staff/editor", "zhang", "**/staff/editor")
    row = page.locator("#gaps tr", has_text="火星移民签证怎么办理")
    row.wait_for(timeout=10_000)
    row.get_by_role("button", name="撰写答复").click()
    assert page.input_value("#f-question") == "火星移民签证怎么办理"
    page.fill("#f-answer", "本区不受理火星签证。")
    page.click("#save")
    page.get_by_text("kb-00001（草稿").wait_for(timeout=10_000)
    page.click("#publish")
    page.get_by_text("kb-00001（已发布").wait_for(timeout=10_000)
    page.screenshot(path=str(tmp_path / "editor.png"), full_page=True)
    assert page.locator("#versions tr").count() == 2  # create, publish

    reply = engine.respond(engine.create_session(), "火星移民签证怎么办理")
    assert reply.path == "verbatim" and reply.text == "本区不受理火星签证。"

    page.click("#tabs button[data-tab='hits']")
    page.fill("#hit-q", "火星移民签证怎么办理")
    page.click("#hit-go")
    page.get_by_text("直接给出官方答复口径").wait_for(timeout=10_000)
