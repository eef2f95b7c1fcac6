import io
import wave

import numpy as np
import pytest

from xiaobao.eval.voice import cer
from xiaobao.voice.listening import PROMPT, PROMPT_TOKENS, AudioTooLong, BadAudio, corrected, prompt, vocabulary


def pcm_wav(samples: np.ndarray, rate: int = 16_000) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((samples * 32767).astype("<i2").tobytes())
    return out.getvalue()


def test_the_prompt_names_the_services_words_once_without_the_districts_name():
    terms = vocabulary(["居住证办理", "居住证", "宝山区公安分局", "宝山区小微企业稳岗补贴（示例）", "户口", "证"])
    assert terms[0] == "一网通办" and terms.count("户口") == 1 and "证" not in terms
    assert {"居住证办理", "公安分局", "小微企业稳岗补贴"} <= set(terms)
    assert prompt(terms, len).startswith(PROMPT) and "、居住证办理、" in prompt(terms, len)
    assert len(vocabulary(f"事项{i}" for i in range(500))) == 60
    assert prompt([], len) == PROMPT


def test_the_prompt_fits_the_tokens_whisper_reads_keeping_its_beginning():
    """Whisper keeps a prompt's last 223 tokens: a longer one lost the instruction and the common terms."""
    terms = vocabulary(f"事项{i}" for i in range(500))
    two_per_character = prompt(terms, lambda text: 2 * len(text))
    assert two_per_character.startswith(f"{PROMPT}常见词：一网通办、") and two_per_character.endswith("。")
    assert 2 * len(two_per_character) <= PROMPT_TOKENS < 2 * len(two_per_character) + 10  # as many terms as fit
    assert len(prompt(terms, len)) > len(two_per_character)


def test_the_prompt_is_counted_in_the_models_tokens(listener):
    fitted = prompt(vocabulary(f"稳岗补贴事项{i}" for i in range(500)), listener.tokens)
    assert fitted.startswith(PROMPT) and listener.tokens(fitted) <= PROMPT_TOKENS < listener.tokens(fitted) + 12
    assert listener.tokens(fitted) > len(fitted)  # more tokens than characters: counting characters overran


def test_homophones_of_the_services_words_are_put_right():
    terms = vocabulary(["居住证办理", "居住证"])
    assert corrected("住房攻击金怎么提取", terms) == "住房公积金怎么提取"  # same syllables, tones aside
    assert corrected("以往通办上能查营业直照吗?", terms) == "一网通办上能查营业执照吗?"
    assert corrected("居住证办理要多久", terms) == "居住证办理要多久"  # the longest term, and as written
    assert corrected("居入正怎么办", terms) == "居入正怎么办"  # another syllable (ru ≠ zhu): left as heard
    assert corrected("可以报销吗", terms) == "可医保销吗"  # the price: a two-character term can be a false friend


def test_cer_compares_what_was_said_not_how_it_was_written():
    assert cer("请拨打12345热线。", "请拨打一二三四五热线") == 0  # digits as read, 幺 as 一, punctuation dropped
    assert cer("2025年起，补贴2000元", "二零二五年起补贴两千元") == 0
    assert cer("ＡＢ证件", "ab证件") == 0  # full width folded, letters lower-cased
    assert cer("居住证", "居入正") == pytest.approx(2 / 3)
    assert cer("居住证", "") == 1


@pytest.mark.slow
def test_spoken_and_heard_back(speaker, listener):
    """Round trip: 小宝's own voice, transcribed in simplified Chinese, close to what was said."""
    said = "请问办理居住证需要带什么材料？"
    heard = listener.transcribe(speaker.wav(said))
    assert cer(said, heard.text) <= 0.2, heard.text
    assert "證" not in heard.text and "請" not in heard.text
    assert 1.5 < heard.seconds < 6


@pytest.mark.slow
def test_silence_noise_and_non_audio_get_a_clear_message(listener):
    with pytest.raises(BadAudio, match="没有听到说话声"):
        listener.transcribe(pcm_wav(np.zeros(16_000 * 2)))
    with pytest.raises(BadAudio, match="无法读取"):
        listener.transcribe(b"%PDF-1.4 not audio at all" * 100)
    with pytest.raises(BadAudio, match="没有听清"):  # steady hum: no speech for the VAD to find
        listener.transcribe(pcm_wav(0.05 * np.sin(np.arange(16_000 * 2) * 2 * np.pi * 50 / 16_000)))


@pytest.mark.slow
def test_a_recording_left_running_is_refused(listener):
    with pytest.raises(AudioTooLong, match="上限 30 秒"):
        listener.transcribe(pcm_wav(0.01 * np.random.default_rng(0).standard_normal(16_000 * 31)))
