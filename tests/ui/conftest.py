import shutil

import pytest

from tests.assistant.test_llm_server import free_port
from xiaobao.eval.serving import serving
from xiaobao.server import create_app

CHROMIUM = shutil.which("chromium")


def pytest_collection_modifyitems(items):
    for item in items:
        item.add_marker(pytest.mark.slow)
        if CHROMIUM is None:
            item.add_marker(pytest.mark.skip(reason="Debian chromium is not installed"))


@pytest.fixture
def site(services, engine):
    with serving(create_app(services), free_port()) as url:
        yield url


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    return browser.new_page(viewport={"width": 1000, "height": 900})


def sign_in(page, url: str, username: str, landing: str) -> None:
    """Open a staff page, log in on the form it shows (password-1, as the tests create accounts) and
    wait to land on `landing` (a glob)."""
    page.goto(url, wait_until="domcontentloaded")
    page.fill("#username", username)
    page.fill("#password", "password-1")
    page.click("#submit")
    page.wait_for_url(landing, timeout=10_000)
