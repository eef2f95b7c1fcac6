"""The voice routes over the real models: a sentence spoken, a recording transcribed, and every
refusal a clear 4xx that stores nothing."""

import io

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests.voice.test_listening import pcm_wav
from xiaobao.server import create_app

pytestmark = pytest.mark.slow


@pytest.fixture
def client(voiced):
    client = TestClient(create_app(voiced, with_ui=False))
    created = client.post("/api/sessions", json={}).json()
    client.headers["X-Session-Key"] = created["session_key"]
    client.session_id = created["session_id"]
    return client


def test_speak_then_transcribe(client, services):
    spoken = client.post(f"/api/sessions/{client.session_id}/speech", json={"text": "请拨打12345热线。"})
    assert spoken.status_code == 200 and spoken.headers["content-type"] == "audio/wav"
    assert spoken.content[:4] == b"RIFF"
    assert len(list((services.settings.cache_dir / "speech").glob("*.wav"))) == 1  # kept for the next time
    heard = client.post(f"/api/sessions/{client.session_id}/transcription", files={"audio": ("q.wav", spoken.content, "audio/wav")})
    assert heard.status_code == 200, heard.text
    assert "热线" in heard.json()["text"] and heard.json()["seconds"] > 1


def test_refusals_are_clear_and_nothing_is_stored(client, services):
    url = f"/api/sessions/{client.session_id}/transcription"
    silent = client.post(url, files={"audio": ("q.wav", pcm_wav(np.zeros(16_000)), "audio/wav")})
    assert silent.status_code == 422 and "没有听到说话声" in silent.json()["detail"]
    not_audio = client.post(url, files={"audio": ("q.webm", b"<html>hello</html>" * 50, "audio/webm")})
    assert not_audio.status_code == 422 and "无法读取" in not_audio.json()["detail"]
    long = pcm_wav(0.01 * np.random.default_rng(0).standard_normal(16_000 * 61))  # under the 2 MB limit
    too_long = client.post(url, files={"audio": ("q.wav", long, "audio/wav")})
    assert too_long.status_code == 413 and "录音太长" in too_long.json()["detail"]
    too_big = client.post(url, files={"audio": ("q.wav", io.BytesIO(b"\0" * (2 * 1024 * 1024 + 1)), "audio/wav")})
    assert too_big.status_code == 413 and "录音太大" in too_big.json()["detail"]
    assert client.post(f"/api/sessions/{client.session_id}/speech", json={"text": "问" * 301}).status_code == 422
    assert client.post(url, files={"audio": ("q.wav", b"x", "audio/wav")}, headers={"X-Session-Key": "wrong"}).status_code == 403
    assert not (services.settings.data_dir / "uploads").exists()


def test_voice_can_be_turned_off(client, services):
    services.settings = services.settings.model_copy(update={"voice": False})
    response = client.post(f"/api/sessions/{client.session_id}/speech", json={"text": "您好"})
    assert response.status_code == 404 and response.json()["detail"] == "语音功能未开启。"
