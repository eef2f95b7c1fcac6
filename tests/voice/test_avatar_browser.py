"""小宝's avatar on the chat page in a real headless Chromium, with the real voice models: an answer
is spoken sentence by sentence with captions while the mouth follows the audio (the speaking state
is screenshotted), and a recorded question goes through push-to-talk into the question box."""

import os
import shutil
import time
from pathlib import Path

import pytest

from tests.assistant.test_llm_server import free_port
from tests.conftest import citing
from xiaobao.eval.serving import serving
from xiaobao.server import create_app

CHROMIUM = shutil.which("chromium")
SHOTS = Path(os.environ["XIAOBAO_SCREENSHOTS"]) if os.environ.get("XIAOBAO_SCREENSHOTS") else None
pytestmark = [pytest.mark.slow, pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed")]
QUESTION = "请问办理居住证需要带什么材料？"


@pytest.fixture
def site(voiced, engine):
    with serving(create_app(voiced), free_port()) as url:
        yield url


@pytest.fixture
def page(speaker, tmp_path):
    """Chromium whose microphone plays a recording of QUESTION (spoken by 小宝's own voice)."""
    from playwright.sync_api import sync_playwright

    recording = tmp_path / "question.wav"
    recording.write_bytes(speaker.wav(QUESTION))
    flags = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream", f"--use-file-for-fake-audio-capture={recording}"]
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--autoplay-policy=no-user-gesture-required", *flags]
        )
        yield browser.new_page(viewport={"width": 1000, "height": 900})
        browser.close()


def shoot(page, tmp_path: Path, name: str) -> None:
    page.screenshot(path=str((SHOTS or tmp_path) / f"{name}.png"))


def open_chat(page, site: str) -> None:
    page.goto(site + "/", wait_until="load")
    page.locator("#question textarea").wait_for(timeout=30_000)
    page.wait_for_function("() => document.getElementById('xb-avatar')?.dataset.key", timeout=30_000)


def test_an_answer_is_spoken_with_captions_and_a_moving_mouth(site, page, llm, tmp_path):
    # one sentence, spoken as two clauses (voice/text.sentences), each the caption while it is heard
    llm.answers = [citing("第一条", "年满九十周岁的本区户籍老人，每人每月领取高龄津贴400元[{n}]。")]
    asked = []
    page.on("request", lambda request: asked.append(request.url) if "/api/sessions/" in request.url else None)
    open_chat(page, site)
    page.locator("#question textarea").fill("高龄津贴每月多少钱")
    page.locator("#send").click()
    page.wait_for_selector("#xb-avatar[data-state='speaking']", timeout=60_000)
    assert page.locator("#xb-caption").inner_text() == "年满九十周岁的本区户籍老人，"
    openings = []
    for _ in range(20):
        openings.append(float(page.evaluate("() => document.getElementById('xb-mouth').style.getPropertyValue('--open') || '0'")))
        time.sleep(0.05)
    shoot(page, tmp_path, "avatar-speaking")
    assert max(openings) > 0.2 and len(set(openings)) > 3  # the mouth moves with the audio
    page.wait_for_function("() => document.getElementById('xb-caption').textContent.includes('400元')", timeout=60_000)
    last = page.locator("#xb-caption").inner_text()
    assert "四百" not in last and last.endswith("400元。")  # the text as written, the citation mark left to the page
    page.wait_for_selector("#xb-avatar[data-state='idle']", timeout=60_000)
    assert page.locator("#xb-mouth").evaluate("m => m.style.getPropertyValue('--open')") == "0"
    assert [url.rsplit("/", 3)[-3:] for url in asked] == [["turns", "current", "audio"]]  # the whole answer from one request


def test_push_to_talk_puts_the_transcript_in_the_question_box(site, page, tmp_path):
    open_chat(page, site)
    page.locator("#xb-talk").click()
    page.wait_for_selector("#xb-avatar[data-state='listening']", timeout=10_000)
    time.sleep(4)  # the fake microphone plays the question (about 3 s)
    page.locator("#xb-talk").click()
    page.wait_for_function("() => document.querySelector('#question textarea').value.length > 3", timeout=60_000)
    heard = page.locator("#question textarea").input_value()
    assert "办理" in heard and "材料" in heard, heard  # 居住证 itself comes back as 居入正 or similar: synthetic speech, base model
    assert "可以修改后再按" in page.locator("#xb-caption").inner_text()
    shoot(page, tmp_path, "avatar-heard")


def test_mute_and_fold_are_kept_and_work_by_keyboard(site, page):
    open_chat(page, site)
    page.locator("#xb-mute").focus()
    page.keyboard.press("Enter")
    assert page.locator("#xb-mute").get_attribute("aria-pressed") == "false"
    page.locator("#xb-fold").focus()
    page.keyboard.press("Enter")
    assert not page.locator("#xb-face, .xb-card").first.is_visible()
    page.reload(wait_until="load")
    page.wait_for_function("() => document.getElementById('xb-avatar')?.dataset.applied", timeout=30_000)
    assert page.locator(".xb-unfold").is_visible() and not page.locator(".xb-card").is_visible()
    page.locator(".xb-unfold").click()
    assert page.locator(".xb-card").is_visible() and page.locator("#xb-mute").get_attribute("aria-pressed") == "false"


def test_on_a_phone_the_card_starts_folded_and_opens_on_request(site, page):
    page.set_viewport_size({"width": 390, "height": 844})
    open_chat(page, site)
    page.wait_for_function("() => document.getElementById('xb-avatar')?.dataset.applied", timeout=30_000)
    assert page.locator(".xb-unfold").is_visible() and not page.locator(".xb-card").is_visible()  # the chat stays readable
    # folded, it waits in the title row, over no message (above the input row it covered the newest one)
    button, chat = page.locator(".xb-unfold").bounding_box(), page.locator("#chat").bounding_box()
    assert button["y"] + button["height"] <= chat["y"]
    page.locator(".xb-unfold").click()
    assert page.locator(".xb-card").is_visible()
