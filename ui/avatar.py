"""小宝's digital human on the chat page: our own drawing (SVG in ui/static/avatar.html)
with idle, listening, thinking and speaking states. The script (ui/static/avatar.js) speaks the
answer to a question sent from the page: one request per answer (GET …/turns/current/audio) streams
each checked sentence's audio as soon as the server has it (the chat's answer stream passes through
services.recitals, voice/recital.py), and it is played in order; it moves the mouth with the
loudness of the audio being played (WebAudio), shows captions, and records push-to-talk questions
(MediaRecorder → POST …/transcription) into the question box, to be read and corrected before
sending. Off with XIAOBAO_VOICE=false; a citizen can mute it or fold it away."""

from __future__ import annotations

import html
from pathlib import Path

import gradio as gr

STATIC = Path(__file__).resolve().parent / "static"
ASSETS = ("avatar.js", "avatar.css")  # served by api/pages.py at /chat-assets/
HEAD = '<link rel="stylesheet" href="/chat-assets/avatar.css"><script src="/chat-assets/avatar.js" defer></script>'


def panel() -> gr.HTML:
    """The avatar's place on the page (filled with the session's credentials by `credentials`)."""
    return gr.HTML(credentials({}), elem_id="avatar-host", padding=False)


def credentials(stored: dict | None) -> str:
    """The avatar with the page's session id and key, which the script sends with its voice requests
    (the same key the page already holds for the session)."""
    stored = stored or {}
    data = f'data-session="{html.escape(stored.get("id") or "")}" data-key="{html.escape(stored.get("key") or "")}"'
    return (STATIC / "avatar.html").read_text(encoding="utf-8").replace("data-credentials", data)
