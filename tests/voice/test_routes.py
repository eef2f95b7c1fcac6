"""The voice routes over the real models: an answer spoken as one stream of sentences' audio (the
answer being given, and a stored one), a recording transcribed, and every refusal a clear 4xx that
stores nothing."""

import base64
import io
import json

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests.voice.test_listening import pcm_wav
from xiaobao.eval.voice import served_end_to_end
from xiaobao.server import create_app

pytestmark = pytest.mark.slow


@pytest.fixture
def client(voiced):
    client = TestClient(create_app(voiced, with_ui=False))
    created = client.post("/api/sessions", json={}).json()
    client.headers["X-Session-Key"] = created["session_key"]
    client.session_id = created["session_id"]
    return client


def events(response) -> list[tuple[str, dict]]:
    blocks = [b for b in response.text.split("\n\n") if b.strip()]
    return [(b.split("\n")[0].removeprefix("event: "), json.loads(b.split("\n")[1].removeprefix("data: "))) for b in blocks]


def test_the_answer_being_given_is_spoken_in_one_stream_and_heard_back(client, services, engine):  # engine: the knowledge
    url = f"/api/sessions/{client.session_id}/turns/current/audio"
    assert client.get(url).status_code == 404  # nothing asked yet
    # an API client's answer stream passes through the recitals, as the chat page's does (ui/chat.py); an official reply
    client.post(f"/api/sessions/{client.session_id}/messages", json={"text": "政务服务中心几点上班？", "stream": True})
    spoken = client.get(url)
    assert spoken.status_code == 200 and spoken.headers["content-type"].startswith("text/event-stream")
    (kind, sentence), (end, _) = events(spoken)
    assert (kind, sentence["text"], end) == ("audio", "工作日9:00至17:00。", "end")  # the caption is the text as written
    wav = base64.b64decode(sentence["wav"])
    assert wav[:4] == b"RIFF"
    assert len(list((services.settings.cache_dir / "speech").glob("*.wav"))) == 1  # kept for the next time
    heard = client.post(f"/api/sessions/{client.session_id}/transcription", files={"audio": ("q.wav", wav, "audio/wav")})
    assert heard.status_code == 200, heard.text
    assert "工作日" in heard.json()["text"] and heard.json()["seconds"] > 1


def test_a_stored_answer_is_spoken_by_its_turn(client, engine):
    reply = client.post(f"/api/sessions/{client.session_id}/messages", json={"text": "政务服务中心几点上班？"}).json()
    spoken = client.get(f"/api/sessions/{client.session_id}/turns/{reply['turn_id']}/audio")
    assert [kind for kind, _ in events(spoken)] == ["audio", "end"]
    question = reply["turn_id"] - 1  # the citizen's own turn is not an answer to speak
    assert client.get(f"/api/sessions/{client.session_id}/turns/{question}/audio").status_code == 404
    other = client.post("/api/sessions", json={}).json()
    assert (
        client.get(
            f"/api/sessions/{other['session_id']}/turns/{reply['turn_id']}/audio", headers={"X-Session-Key": other["session_key"]}
        ).status_code
        == 404
    )
    assert (
        client.get(f"/api/sessions/{client.session_id}/turns/{reply['turn_id']}/audio", headers={"X-Session-Key": "wrong"}).status_code
        == 403
    )
    assert "/api/sessions/{session_id}/turns/current/audio" in client.get("/openapi.json").json()["paths"]


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
    assert client.post(url, files={"audio": ("q.wav", b"x", "audio/wav")}, headers={"X-Session-Key": "wrong"}).status_code == 403
    assert not (services.settings.data_dir / "uploads").exists()


def test_voice_can_be_turned_off(client, services):
    services.settings = services.settings.model_copy(update={"voice": False})
    response = client.get(f"/api/sessions/{client.session_id}/turns/current/audio")
    assert response.status_code == 404 and response.json()["detail"] == "语音功能未开启。"


def test_the_end_to_end_measurement_goes_through_the_routes(client, speaker, engine):  # engine: the knowledge
    """eval/voice.served_end_to_end against the app: the speech route, the streamed answer, the audio route."""
    question = "政务服务中心几点上班？"
    measured = served_end_to_end(client, {question: speaker.sentence_wav(question)})
    (row,) = measured["rows"]
    assert row["said"] == question and row["heard"] and row["first_clause"]  # what was heard, answered and spoken
    assert 0 < row["at_s"]["transcribed"] <= row["at_s"]["status"] <= row["at_s"]["final"] <= row["at_s"]["first_audio"]
    assert measured["generated"] == 0 and measured["by_path"][row["path"]]["n"] == 1  # an official reply or a refusal
