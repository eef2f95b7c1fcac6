import io
import time
import wave

import numpy as np
import pytest

from xiaobao.voice.speech import SAMPLE_RATE, SpeechCache, wav_bytes


def read_wav(data: bytes) -> tuple[int, np.ndarray]:
    with wave.open(io.BytesIO(data)) as w:
        assert (w.getnchannels(), w.getsampwidth()) == (1, 2)
        return w.getframerate(), np.frombuffer(w.readframes(w.getnframes()), "<i2")


def test_the_cache_keeps_the_most_recently_used_entries(tmp_path):
    cache = SpeechCache(tmp_path, entries=2)
    for key in ("a", "b"):
        cache.put(key, key.encode())
        time.sleep(0.01)
    assert cache.get("a") == b"a"  # used: now newer than b
    time.sleep(0.01)
    cache.put("c", b"c")
    assert cache.get("b") is None and cache.get("a") == b"a" and cache.get("c") == b"c"
    assert not list(tmp_path.glob("*.part"))


def test_official_audio_is_kept_until_its_reply_goes(tmp_path):
    cache = SpeechCache(tmp_path, entries=None)  # unbounded: as many as the official replies' sentences
    for key in ("a", "b", "c"):
        cache.put(key, key.encode())
    assert all(key in cache for key in ("a", "b", "c"))
    assert cache.keep({"a", "c"}) == 1
    assert "b" not in cache and cache.get("a") == b"a" and cache.get("c") == b"c"


def test_wav_bytes_clip_to_16_bit():
    rate, samples = read_wav(wav_bytes(np.array([0.0, 0.5, 2.0, -2.0], np.float32)))
    assert rate == SAMPLE_RATE and samples.tolist() == [0, 16383, 32767, -32767]


@pytest.mark.slow
def test_a_sentence_is_spoken_and_its_audio_kept(speaker):
    assert "ʨ" in speaker.phonemes("居住证")  # Mandarin IPA, what the model was trained on
    assert speaker.key("您好。") != speaker.key("您好！") and "zf_xiaobei|1.0" in speaker.key("您好。")  # text, voice, speed
    started = time.perf_counter()
    first = speaker.sentence_wav("您好，我是小宝。")
    synthesised = time.perf_counter() - started
    rate, samples = read_wav(first)
    assert rate == SAMPLE_RATE and 0.8 < len(samples) / rate < 4  # about a second and a half of speech
    assert np.abs(samples).max() > 3000  # not silence
    started = time.perf_counter()
    assert speaker.sentence_wav("您好，我是小宝。") == first  # from the cache
    assert time.perf_counter() - started < synthesised / 5


@pytest.mark.slow
def test_a_text_of_several_sentences_becomes_one_wav(speaker):
    _, one = read_wav(speaker.wav("您好。"))
    _, two = read_wav(speaker.wav("您好。您好。"))
    assert len(two) > 2 * len(one)  # both sentences and the pause between them
    _, nothing = read_wav(speaker.wav("。"))
    assert len(nothing) == 0
