"""小宝's voice measured on this machine, through the composition root's own speaker and listener:

- speech synthesis: real-time factor (seconds of CPU per second of speech), and the time to the first
  sentence's audio of an official reply, synthesised and then from the sentence cache;
- speech recognition: latency per clip, and the character error rate (CER) on the demo pack's citizen
  questions (each Q&A entry's question and its alternative phrasings) spoken by both vendored voices,
  clean and with white noise at 20 dB and 10 dB signal-to-noise ratio;
- the round trip of official replies: synthesised, recognised, compared (CER).

Synthetic speech is a proxy for real recordings: real callers' accents, rooms and microphones are
harder, and the same model family did not make the speech and hear it, but the voices are clean.

    python -m xiaobao.eval.voice [QUESTIONS] [REPLIES] [--json FILE]

The models are taken from the data directory's models folder (joined there if missing); the sentence
cache is a temporary one."""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import numpy as np

from xiaobao.assistant.model_files import KOKORO_82M, WHISPER_BASE, prepare_model
from xiaobao.operations.metrics import percentile
from xiaobao.services import Services
from xiaobao.settings import Settings
from xiaobao.voice.listening import RATE, BadAudio
from xiaobao.voice.speech import SAMPLE_RATE, VOICES, wav_bytes
from xiaobao.voice.text import sentences

QA = Path(__file__).resolve().parents[1] / "demo" / "knowledge" / "qa.jsonl"
NOISE_DB = (None, 20, 10)


def demo_qa() -> list[dict]:
    return [json.loads(line) for line in QA.read_text(encoding="utf-8").splitlines() if line.strip()]


def cer(reference: str, heard: str) -> float:
    """Edit distance over the reference's length, on Chinese characters, letters and digits only."""
    keep = lambda s: [c for c in s if "\u4e00" <= c <= "\u9fff" or c.isalnum()]  # noqa: E731
    ref, hyp = keep(reference), keep(heard)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1] / max(1, len(ref))


def with_noise(audio: np.ndarray, snr_db: float | None, rng: np.random.Generator) -> np.ndarray:
    if snr_db is None:
        return audio
    power = float(np.mean(audio**2)) / (10 ** (snr_db / 10))
    return audio + rng.normal(0, np.sqrt(power), audio.size)


def heard_text(listener, wav: bytes) -> str:
    try:
        return listener.transcribe(wav).text
    except BadAudio:  # nothing heard: every character missed
        return ""


def run(settings: Settings, questions: int = 24, replies: int = 12) -> dict:
    entries = demo_qa()
    asked = [q for e in entries for q in [e["question"], *e.get("alternatives", [])]][:questions]
    answers = [e["answer"] for e in entries][:replies]
    for package in (KOKORO_82M, WHISPER_BASE):
        prepare_model(package, settings.models_dir)
    rng = np.random.default_rng(0)
    result: dict = {"questions": len(asked), "replies": len(answers), "voices": list(VOICES)}
    with tempfile.TemporaryDirectory(prefix="xiaobao-voice-") as tmp:
        (Path(tmp) / "models").symlink_to(settings.models_dir.resolve())  # the joined models, not the live cache
        base = settings.model_copy(update={"data_dir": Path(tmp)})
        synth_seconds = spoken_seconds = 0.0
        first_audio: list[float] = []
        cached_audio: list[float] = []
        heard_seconds: list[float] = []
        clip_seconds: list[float] = []
        errors: dict[str, list[float]] = {}
        round_trip: list[float] = []
        for voice in VOICES:
            with Services(base.model_copy(update={"voice_name": voice})) as services:
                speaker, listener = services.speaker, services.listener
                for question in asked:
                    started = time.perf_counter()
                    audio = speaker.synthesise(question)
                    synth_seconds += time.perf_counter() - started
                    spoken_seconds += audio.size / SAMPLE_RATE
                    clip = listener.decode(wav_bytes(audio, SAMPLE_RATE))
                    for snr in NOISE_DB:
                        started = time.perf_counter()
                        heard = heard_text(listener, wav_bytes(with_noise(clip, snr, rng), RATE))
                        heard_seconds.append(time.perf_counter() - started)
                        clip_seconds.append(clip.size / RATE)
                        errors.setdefault(f"{voice} {'clean' if snr is None else f'{snr} dB'}", []).append(cer(question, heard))
                if voice != VOICES[0]:
                    continue
                for answer in answers:  # official replies, in the default voice
                    first = sentences(answer)[0]
                    started = time.perf_counter()
                    speaker.sentence_wav(first)
                    first_audio.append(time.perf_counter() - started)
                    started = time.perf_counter()
                    speaker.sentence_wav(first)
                    cached_audio.append(time.perf_counter() - started)
                    round_trip.append(cer(answer, heard_text(listener, speaker.wav(answer))))
    result["tts_real_time_factor"] = round(synth_seconds / spoken_seconds, 3)
    result["tts_first_audio_s"] = {"p50": round(percentile(first_audio, 50), 3), "p95": round(percentile(first_audio, 95), 3)}
    result["tts_first_audio_cached_s"] = {"p50": round(percentile(cached_audio, 50), 4), "p95": round(percentile(cached_audio, 95), 4)}
    result["asr_seconds"] = {
        "p50": round(percentile(heard_seconds, 50), 3),
        "p95": round(percentile(heard_seconds, 95), 3),
        "mean_clip_s": round(float(np.mean(clip_seconds)), 2),
    }
    result["asr_cer"] = {name: round(float(np.mean(values)), 4) for name, values in errors.items()}
    result["round_trip_cer"] = {"mean": round(float(np.mean(round_trip)), 4), "max": round(max(round_trip), 4)}
    return result


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m xiaobao.eval.voice", description="小宝's voice measured on this machine")
    parser.add_argument("questions", type=int, nargs="?", default=24, help="demo questions spoken (of 110)")
    parser.add_argument("replies", type=int, nargs="?", default=12, help="official replies spoken and heard back (of 37)")
    parser.add_argument("--json", type=Path, help="write the result here too")
    options = parser.parse_args()
    report = json.dumps(run(Settings(), options.questions, options.replies), ensure_ascii=False, indent=2)
    print(report)
    if options.json:
        options.json.write_text(report + "\n", encoding="utf-8")
