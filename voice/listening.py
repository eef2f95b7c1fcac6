"""Speech recognition: Whisper base (CTranslate2, int8) through faster-whisper, in Mandarin, with its
built-in voice activity detection trimming silence. Whisper writes traditional characters unless told
otherwise, so it is prompted in simplified Chinese and its output is converted (OpenCC t2s) as well.
The prompt also names the service's own words — its service items, their other names and their
departments, from the directory — so that a rare word (居住证, 稳岗补贴) is heard as itself rather
than as a more common homophone, and a homophone of one of them that is still written is put right
after (`corrected`). Whisper keeps only the last 223 tokens of a prompt, so the prompt is cut to fit
by counting the model's own tokens (more than one a character on average): a longer one lost its
beginning, the instruction to write simplified Chinese and the common terms with it."""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

RATE = 16_000  # what Whisper listens at
PROMPT = "以下是普通话的政务服务咨询，使用简体中文。"
# words of every government service, beside the directory's own; written once, not from any test set
COMMON_TERMS = ("一网通办", "随申办", "政务服务中心", "身份证", "户口", "社保", "医保", "公积金", "营业执照", "办件进度", "人工帮办")
PROMPT_TERMS = 60  # the service's words kept for the prompt and the homophone step
PROMPT_TOKENS = 223  # Whisper reads at most this many tokens of prompt: the last ones
QUIET = 0.003  # RMS below this is silence (a muted or unplugged microphone)


class BadAudio(ValueError):
    """The upload is not audio we can read, or nobody speaks in it."""


class AudioTooLong(ValueError):
    """Longer than a question (a recording left running)."""


@dataclass(frozen=True)
class Transcript:
    text: str
    seconds: float  # length of the recording


def vocabulary(phrases: Iterable[str]) -> list[str]:
    """The service's words for the prompt: each phrase once, without a trailing （…） note or the
    district's name in front (宝山区民政局 → 民政局), common terms first."""
    terms = []
    for phrase in (*COMMON_TERMS, *phrases):
        term = re.sub(r"（[^）]*）$", "", phrase.strip()).removeprefix("宝山区")
        if len(term) >= 2 and term not in terms:
            terms.append(term)
    return terms[:PROMPT_TERMS]


def _sounds(text: str) -> list[str]:
    """Each character's syllable, tones aside (a character that is not Chinese stands for itself)."""
    from pypinyin import lazy_pinyin  # installed with misaki[zh]

    return [lazy_pinyin(c)[0] if "\u4e00" <= c <= "\u9fff" else c for c in text]


def corrected(text: str, terms: list[str]) -> str:
    """The service's words put right where Whisper wrote a homophone: a run of Chinese characters
    that sounds like a term, syllable for syllable with the tones aside, becomes the term (攻击金 →
    公积金, 以往通办 → 一网通办, 营业直照 → 营业执照); the longest term first."""
    sounds = _sounds(text)
    heard = sorted(((_sounds(t), t) for t in terms if all("\u4e00" <= c <= "\u9fff" for c in t)), key=lambda st: -len(st[1]))
    out, i = [], 0
    while i < len(text):
        term = next((t for sound, t in heard if sounds[i : i + len(t)] == sound), None)
        out.append(term or text[i])
        i += len(term) if term else 1
    return "".join(out)


def prompt(terms: Iterable[str], tokens: Callable[[str], int]) -> str:
    """The instruction and as many of the terms, in order, as fit in PROMPT_TOKENS (`tokens`: how
    many tokens the model makes of a text)."""

    def written(chosen: list[str]) -> str:
        return f"{PROMPT}常见词：{'、'.join(chosen)}。" if chosen else PROMPT

    chosen: list[str] = []
    for term in terms:
        if tokens(written([*chosen, term])) > PROMPT_TOKENS:
            break
        chosen.append(term)
    return written(chosen)


class Listener:
    def __init__(self, model_dir: Path, threads: int, max_seconds: float, terms: Iterable[str] = (), beam_size: int = 1) -> None:
        import opencc
        from faster_whisper import WhisperModel

        self._model = WhisperModel(str(model_dir), device="cpu", compute_type="int8", cpu_threads=threads, local_files_only=True)
        self._simplified = opencc.OpenCC("t2s")
        self.max_seconds = max_seconds
        self.terms = list(terms)
        self.prompt, self.beam_size = prompt(self.terms, self.tokens), beam_size
        self._lock = threading.Lock()  # one recognition at a time: the cores are shared with the chat model

    def tokens(self, text: str) -> int:
        """How many tokens Whisper makes of a prompt (faster-whisper encodes it after a space)."""
        return len(self._model.hf_tokenizer.encode(" " + text).ids)

    def decode(self, data: bytes) -> np.ndarray:
        """Any container and codec the browser records (WebM/Opus, Ogg, MP4/AAC, WAV) → 16 kHz mono."""
        from faster_whisper.audio import decode_audio

        try:
            audio = decode_audio(io.BytesIO(data), sampling_rate=RATE)
        except Exception as exc:  # PyAV raises its own error types for each kind of bad input
            raise BadAudio("无法读取这段录音：请上传 WebM、Ogg、MP4、MP3 或 WAV 格式的音频。") from exc
        if audio.size == 0:
            raise BadAudio("这段录音是空的，请重新录音。")
        return audio

    def transcribe(self, data: bytes) -> Transcript:
        audio = self.decode(data)
        seconds = audio.size / RATE
        if seconds > self.max_seconds:
            raise AudioTooLong(f"录音太长（{seconds:.0f} 秒，上限 {self.max_seconds:.0f} 秒）：请说得简短一些，一次问一个问题。")
        if float(np.sqrt(np.mean(audio**2))) < QUIET:
            raise BadAudio("没有听到说话声：请检查麦克风，按住按钮说话。")
        with self._lock:
            segments, _ = self._model.transcribe(  # a question needs no timestamps: a fifth less time, no worse
                audio, language="zh", initial_prompt=self.prompt, vad_filter=True, beam_size=self.beam_size, without_timestamps=True
            )
            text = "".join(segment.text for segment in segments).strip()
        if not text:
            raise BadAudio("没有听清您说的话：请靠近麦克风再说一遍。")
        return Transcript(corrected(self._simplified.convert(text), self.terms), round(seconds, 2))
