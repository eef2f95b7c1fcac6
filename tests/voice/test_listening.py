import io
import wave

import numpy as np
import pytest

from xiaobao.eval.voice import cer
from xiaobao.voice.listening import AudioTooLong, BadAudio

pytestmark = pytest.mark.slow


def pcm_wav(samples: np.ndarray, rate: int = 16_000) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((samples * 32767).astype("<i2").tobytes())
    return out.getvalue()


def test_spoken_and_heard_back(speaker, listener):
    """Round trip: 小宝's own voice, transcribed in simplified Chinese, close to what was said."""
    said = "请问办理居住证需要带什么材料？"
    heard = listener.transcribe(speaker.wav(said))
    assert cer(said, heard.text) <= 0.2, heard.text
    assert "證" not in heard.text and "請" not in heard.text
    assert 1.5 < heard.seconds < 6


def test_silence_noise_and_non_audio_get_a_clear_message(listener):
    with pytest.raises(BadAudio, match="没有听到说话声"):
        listener.transcribe(pcm_wav(np.zeros(16_000 * 2)))
    with pytest.raises(BadAudio, match="无法读取"):
        listener.transcribe(b"%PDF-1.4 not audio at all" * 100)
    with pytest.raises(BadAudio, match="没有听清"):  # steady hum: no speech for the VAD to find
        listener.transcribe(pcm_wav(0.05 * np.sin(np.arange(16_000 * 2) * 2 * np.pi * 50 / 16_000)))


def test_a_recording_left_running_is_refused(listener):
    with pytest.raises(AudioTooLong, match="上限 30 秒"):
        listener.transcribe(pcm_wav(0.01 * np.random.default_rng(0).standard_normal(16_000 * 31)))
