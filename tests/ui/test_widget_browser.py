"""The embeddable widget on a plain HTML page of another site (the portal): one <script> tag gives a
floating 问小宝 button; it opens the chat in a panel, and a question is answered there — in Chromium,
on a desktop and on a phone."""

import functools
import http.server
import threading
from pathlib import Path

from tests.assistant.test_llm_server import free_port
from xiaobao.eval.serving import serving
from xiaobao.server import create_app

PORTAL = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>宝山区“一网通办”</title></head>
<body><h1>宝山区“一网通办”</h1><p>办事指南、政策法规、办件查询。</p>
<script src="{site}/widget.js" defer></script></body></html>
"""


def test_a_portal_page_gets_xiaobao_with_one_script_tag(services, engine, browser, tmp_path: Path):
    site_port, portal_port = free_port(), free_port()
    site, portal = f"http://127.0.0.1:{site_port}", f"http://127.0.0.1:{portal_port}"
    (tmp_path / "index.html").write_text(PORTAL.format(site=site), encoding="utf-8")
    # the portal must be allowed to frame the chat page
    services.settings = services.settings.model_copy(update={"frame_ancestors": f"'self' {portal}"})
    files = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    plain = http.server.ThreadingHTTPServer(("127.0.0.1", portal_port), files)
    threading.Thread(target=plain.serve_forever, daemon=True).start()
    try:
        with serving(create_app(services), site_port):
            for name, viewport in (("desktop", {"width": 1200, "height": 850}), ("phone", {"width": 390, "height": 844})):
                page = browser.new_page(viewport=viewport)
                page.goto(portal + "/index.html", wait_until="load")
                page.click("#xiaobao-widget")
                chat = page.frame_locator("#xiaobao-widget-panel")
                chat.locator("#question textarea").wait_for(timeout=30_000)
                chat.locator("#question textarea").fill("政务服务中心几点上班？")
                chat.locator("#send").click()
                chat.locator("#chat details summary").first.wait_for(timeout=30_000)
                assert "答复口径：政务服务中心几点上班？" in chat.locator("#chat").inner_text()
                assert page.get_attribute("#xiaobao-widget", "aria-expanded") == "true"
                page.screenshot(path=str(tmp_path / f"widget-{name}.png"))
                page.click("#xiaobao-widget")  # folds the panel away
                assert page.locator("#xiaobao-widget-panel").is_hidden()
                page.close()
    finally:
        plain.shutdown()
