"""The embeddable widget on a plain HTML page of another site (the portal): one <script> tag gives a
floating 问小宝 button; it opens the chat in a panel, where a question is answered — in Chromium, on
a desktop and on a phone — and a generated material is downloaded. The portal is on localhost and
小宝 on 127.0.0.1: two sites, so the panel is a third-party frame, which this Chromium denies storage
(the page must load all the same: it raised an error and at times never loaded)."""

import functools
import http.server
import io
import threading
import zipfile
from pathlib import Path

import pytest

from tests.api.test_materials import BUNDLES
from tests.assistant.test_llm_server import free_port
from tests.ui.test_materials_chat_browser import choose_identity, make_the_articles, plan_a_company

PORTAL = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>宝山区“一网通办”</title></head>
<body><h1>宝山区“一网通办”</h1><p>办事指南、政策法规、办件查询。</p>
<script src="{site}/widget.js" defer></script></body></html>
"""


@pytest.fixture
def portal(services, site, tmp_path: Path):
    """The portal's page with the widget's tag, served from another site that may frame the chat page."""
    port = free_port()
    origin = f"http://localhost:{port}"
    services.settings = services.settings.model_copy(update={"frame_ancestors": f"'self' {origin}"})
    (tmp_path / "index.html").write_text(PORTAL.format(site=site), encoding="utf-8")
    files = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    plain = http.server.ThreadingHTTPServer(("127.0.0.1", port), files)
    threading.Thread(target=plain.serve_forever, daemon=True).start()
    yield origin + "/index.html"
    plain.shutdown()


def open_panel(page, portal: str) -> tuple:
    """Open the portal page and click 问小宝; the panel's frame (the chat page) and the script errors
    the page raises from then on (a list that fills as they come)."""
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(portal, wait_until="load")
    page.click("#xiaobao-widget")
    page.frame_locator("#xiaobao-widget-panel").locator("#question textarea").wait_for(timeout=30_000)
    return page.locator("#xiaobao-widget-panel").element_handle().content_frame(), errors


def test_a_portal_page_gets_xiaobao_with_one_script_tag(browser, portal, tmp_path: Path):
    for name, viewport in (("desktop", {"width": 1200, "height": 850}), ("phone", {"width": 390, "height": 844})):
        page = browser.new_page(viewport=viewport)
        chat, errors = open_panel(page, portal)
        chat.locator("#question textarea").fill("政务服务中心几点上班？")
        chat.locator("#send").click()
        chat.locator("#chat details summary").first.wait_for(timeout=30_000)
        assert "答复口径：政务服务中心几点上班？" in chat.locator("#chat").inner_text()
        assert page.get_attribute("#xiaobao-widget", "aria-expanded") == "true"
        page.screenshot(path=str(tmp_path / f"widget-{name}.png"))
        page.click("#xiaobao-widget")  # folds the panel away
        assert page.locator("#xiaobao-widget-panel").is_hidden()
        assert errors == []
        page.close()


def test_a_citizen_downloads_a_generated_material_from_the_panel(services, services_data, browser, portal, tmp_path: Path):
    """The same walk as on the chat page, in the panel on a phone, to the 公司章程; both links download
    from inside the frame (signed links: no cookie or stored key is needed)."""
    services.bundles.seed(BUNDLES)
    page = browser.new_page(viewport={"width": 390, "height": 844})
    chat, errors = open_panel(page, portal)
    choose_identity(chat)
    plan_a_company(chat)
    shown = make_the_articles(chat)
    block = shown[shown.rindex("《公司章程》下载") :].split("\n")[1:3]
    assert all("预审：通过" in line for line in block), block
    for kind in ("DOCX", "PDF"):
        link = chat.locator("#chat a", has_text=f"下载 {kind}")
        link.scroll_into_view_if_needed()
        with page.expect_download() as caught:
            link.click()
        data = Path(caught.value.path()).read_bytes()
        if kind == "PDF":
            assert data.startswith(b"%PDF-"), data[:40]
        else:
            assert "word/document.xml" in zipfile.ZipFile(io.BytesIO(data)).namelist()
    page.screenshot(path=str(tmp_path / "widget-downloads.png"))
    assert errors == []
    page.close()
