"""小宝's voice measured on this machine:

- speech recognition: the character error rate (CER) on our own sets of spoken government-service
  questions (eval/data/voice-tuning.jsonl, 30 questions the recogniser's settings were chosen on, and
  eval/data/voice-evaluation.jsonl, 105 questions for evaluation only), each spoken by both vendored
  voices, clean and with white noise at 20 dB and 10 dB signal-to-noise ratio; latency per clip;
- speech synthesis: real-time factor; the first audio of an official reply made ahead (the official
  cache that `xiaobao voice prepare` and `xiaobao serve` fill) and synthesised on the spot;
- the round trip of official replies: spoken, recognised, compared;
- end to end (`--e2e N`, on the knowledge base of `xiaobao init`): a spoken question → transcript →
  answer → the first sentence's audio, timed from the end of the recording, by the path the answer
  took. Generated answers need the chat model answering (XIAOBAO_LLM_URL or a running local model
  server); without it they fall back to quoting the passage, and the result says so;
- end to end through a running server (`--served URL`), on eval/data/voice-generated.jsonl (questions
  about the demo pack's guides and policies, written to need the model): the recording posted to the
  transcription route, the transcript to the streamed messages route, the current-answer audio route
  opened as the answer begins; the end of speech → first audio, and its parts.

Synthetic speech is a proxy for real recordings: real callers' accents, rooms and microphones are
harder, and both voices speak clearly.

    python -m xiaobao.eval.voice [--sets tuning evaluation] [--voices …] [--limit N] [--clean] [--replies N]
                                 [--beam N] [--no-terms] [--e2e N] [--json FILE]
    python -m xiaobao.eval.voice --served http://127.0.0.1:8000 [--voices zf_xiaobei] [--json FILE]

Spoken questions are kept in the data directory's cache (cache/voice-eval), so that a second run with
other recogniser settings only listens; the models are joined into the models folder if missing."""

from __future__ import annotations

import json
import os
import tempfile
import time
import unicodedata
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from xiaobao.assistant.model_files import WHISPER_BASE, prepare_model
from xiaobao.operations.metrics import percentile
from xiaobao.services import Services, make_speaker
from xiaobao.settings import Settings
from xiaobao.voice.listening import PROMPT, RATE, BadAudio, Listener
from xiaobao.voice.rehearsal import prepare
from xiaobao.voice.speech import SAMPLE_RATE, VOICES, Speaker, SpeechCache, wav_bytes
from xiaobao.voice.text import normalise, sentences

DATA = Path(__file__).resolve().parent / "data"
SETS = {"tuning": DATA / "voice-tuning.jsonl", "evaluation": DATA / "voice-evaluation.jsonl", "generated": DATA / "voice-generated.jsonl"}
QA = Path(__file__).resolve().parents[1] / "demo" / "knowledge" / "qa.jsonl"
NOISE_DB = (None, 20, 10)


def questions(name: str) -> list[str]:
    return [json.loads(line)["question"] for line in SETS[name].read_text(encoding="utf-8").splitlines() if line.strip()]


def demo_answers() -> list[str]:
    return [json.loads(line)["answer"] for line in QA.read_text(encoding="utf-8").splitlines() if line.strip()]


def scored(text: str) -> list[str]:
    """What CER compares: full-width forms folded (NFKC), letters lower-cased, digits as they are read
    (voice/text.normalise: 2025年 → 二零二五年, 3个 → 三个, 12345 → 幺二三四五) with 幺 and 两 as 一
    and 二, then Chinese characters, letters and digits only (punctuation and spaces dropped)."""
    text = normalise(unicodedata.normalize("NFKC", text).lower()).translate(str.maketrans("幺两", "一二"))
    return [c for c in text if "\u4e00" <= c <= "\u9fff" or c.isalnum()]


def cer(reference: str, heard: str) -> float:
    """Edit distance over the reference's length, on the characters `scored` keeps."""
    ref, hyp = scored(reference), scored(heard)
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


def heard_text(listener: Listener, wav: bytes) -> str:
    try:
        return listener.transcribe(wav).text
    except BadAudio:  # nothing heard: every character missed
        return ""


def stats(values: list[float], digits: int = 3) -> dict:
    return {"p50": round(percentile(values, 50), digits), "p95": round(percentile(values, 95), digits), "n": len(values)}


def speakers(settings: Settings) -> dict[str, Speaker]:
    """A speaker per voice, its sentences kept in cache/voice-eval (unbounded: the sets are fixed)."""
    cache = SpeechCache(settings.cache_dir / "voice-eval", None)
    return {voice: make_speaker(settings, voice, cache) for voice in VOICES}


def recognition(listener: Listener, voices: dict[str, Speaker], name: str, noise: tuple = NOISE_DB, limit: int | None = None) -> dict:
    """CER per voice and noise level on one question set (its first `limit` questions), the clean
    misses, time per clip."""
    rng = np.random.default_rng(0)
    errors: dict[str, list[float]] = {}
    seconds, lengths, misses = [], [], []
    asked = questions(name)[:limit]
    for voice, speaker in voices.items():
        for question in asked:
            clip = listener.decode(speaker.sentence_wav(question))
            for snr in noise:
                started = time.perf_counter()
                heard = heard_text(listener, wav_bytes(with_noise(clip, snr, rng), RATE))
                seconds.append(time.perf_counter() - started)
                lengths.append(clip.size / RATE)
                error = cer(question, heard)
                errors.setdefault(f"{voice} {'clean' if snr is None else f'{snr} dB'}", []).append(error)
                if snr is None and error > 0:
                    misses.append({"voice": voice, "said": question, "heard": heard, "cer": round(error, 3)})
    return {
        "questions": len(asked),
        "cer": {level: round(float(np.mean(values)), 4) for level, values in errors.items()},
        "cer_clean_both_voices": round(float(np.mean([v for k, vs in errors.items() if k.endswith("clean") for v in vs])), 4),
        "seconds_per_clip": {**stats(seconds), "mean_clip_s": round(float(np.mean(lengths)), 2)},
        "clean_misses": sorted(misses, key=lambda m: -m["cer"]),
    }


def synthesis(settings: Settings, listener: Listener, replies: list[str]) -> dict:
    """Official replies: made ahead (timed), their first audio from the official cache and
    synthesised on the spot, the real-time factor, and the round trip through recognition."""
    with tempfile.TemporaryDirectory(prefix="xiaobao-voice-") as tmp:
        official = SpeechCache(Path(tmp) / "official", None)
        speaker = make_speaker(settings, settings.voice_name, None, official)
        speaker.synthesise("您好。")  # loading (jieba's dictionary) is not counted
        made = prepare(speaker, replies)
        cached, fresh, synth_s, spoken_s, round_trip = [], [], 0.0, 0.0, []
        bare = make_speaker(settings, settings.voice_name)  # no cache at all
        for reply in replies:
            first = sentences(reply)[0]
            started = time.perf_counter()
            speaker.sentence_wav(first)
            cached.append(time.perf_counter() - started)
            started = time.perf_counter()
            audio = bare.synthesise(first)
            took = time.perf_counter() - started
            fresh.append(took)
            synth_s, spoken_s = synth_s + took, spoken_s + audio.size / SAMPLE_RATE
            round_trip.append(cer(reply, heard_text(listener, speaker.wav(reply))))
    return {
        "replies": len(replies),
        "prepared": {"sentences": made.sentences, "seconds": made.seconds},
        "first_audio_made_ahead_s": stats(cached, 4),
        "first_audio_synthesised_s": stats(fresh),
        "real_time_factor": round(synth_s / spoken_s, 3),
        "round_trip_cer": {"mean": round(float(np.mean(round_trip)), 4), "max": round(max(round_trip), 4)},
    }


def demo_questions() -> list[str]:
    return [json.loads(line)["question"] for line in QA.read_text(encoding="utf-8").splitlines() if line.strip()]


def end_to_end(services: Services, voices: dict[str, Speaker], asked: list[str]) -> dict:
    """A spoken question (小宝's voice) → transcript → answer → the first sentence's audio, timed from
    the end of the recording; by the path the answer took (an official reply, a generated answer…).
    A first pass answers each question once (loading the models) and the official replies it gave
    are spoken ahead, as `xiaobao serve` does; then the timed pass."""
    speaker, listener, engine = services.speaker, services.listener, services.engine
    recordings = {q: voices[services.settings.voice_name].sentence_wav(q) for q in asked}  # made before any clock starts
    given = [engine.respond(engine.create_session(), heard_text(listener, wav) or q) for q, wav in recordings.items()]
    prepare(speaker, [reply.text for reply in given if reply.path == "verbatim"])
    by_path: dict[str, list[float]] = {}
    parts: dict[str, list[float]] = {"transcribe": [], "to_first_sentence": [], "first_audio": []}
    for question, wav in recordings.items():
        session_id = engine.create_session()
        started = time.perf_counter()
        heard = heard_text(listener, wav) or question
        transcribed = time.perf_counter()
        first, path = None, "?"
        for kind, value in engine.stream(session_id, heard):
            if kind == "sentence" and first is None:
                first, answered = value, time.perf_counter()
            if kind == "final":
                path = value.path
                if first is None:
                    first, answered = value.text, time.perf_counter()
        if sentences(first or ""):
            speaker.sentence_wav(sentences(first)[0])  # what the audio route sends first
        done = time.perf_counter()
        by_path.setdefault(path, []).append(done - started)
        parts["transcribe"].append(transcribed - started)
        parts["to_first_sentence"].append(answered - transcribed)
        parts["first_audio"].append(done - answered)
    every = [v for values in by_path.values() for v in values]
    return {
        "questions": len(asked),
        "end_of_speech_to_first_audio_s": stats(every, 2),
        "by_path": {path: stats(values, 2) for path, values in by_path.items()},
        "parts_s": {name: stats(values, 2) for name, values in parts.items()},
    }


def _events(response) -> Iterator[tuple[str, dict]]:
    """The server-sent events of a streamed response, as (event, data)."""
    kind = None
    for line in response.iter_lines():
        if line.startswith("event: "):
            kind = line[7:]
        elif line.startswith("data: ") and kind:
            yield kind, json.loads(line[6:])


def _first_audio(client, path: str, headers: dict, started: float) -> tuple[float, str] | None:
    """When the audio stream's first sentence arrived (seconds after `started`) and its text; the
    stream is closed then, so the rest is not synthesised."""
    with client.stream("GET", path, headers=headers) as audio:
        for kind, data in _events(audio):
            return (time.perf_counter() - started, data["text"]) if kind == "audio" else None
    return None


def served_end_to_end(client, recordings: dict[str, bytes]) -> dict:
    """Through a running server (`client`: an httpx.Client on `xiaobao serve`), as the chat page's
    avatar does it: for each spoken question a new session; the recording posted to …/transcription (the clock starts as the upload
    starts: the end of speech), the transcript posted to …/messages as a stream, and
    …/turns/current/audio opened as soon as that stream has begun; timed to its first `audio` event.
    The parts, each from the end of the one before: transcription; retrieval and the decision (to the
    `sources` event: the model is about to be asked); the model's first token (its prefill, from the
    reply's ttft_ms); the first sentence's other tokens and its citation check (to the first `sentence`
    event); the first clause's synthesis (to the first `audio` event)."""
    rows = []
    with ThreadPoolExecutor(1) as listening:
        for question, wav in recordings.items():
            created = client.post("/api/sessions", json={}).json()
            session = f"/api/sessions/{created['session_id']}"
            headers = {"X-Session-Key": created["session_key"]}
            at: dict[str, float] = {}
            started = time.perf_counter()
            heard = client.post(f"{session}/transcription", headers=headers, files={"audio": ("q.wav", wav, "audio/wav")}).json()["text"]
            at["transcribed"] = time.perf_counter() - started
            final: dict = {}
            asked = time.perf_counter() - started  # the engine's clock (ttft_ms) starts a few milliseconds later
            with client.stream("POST", f"{session}/messages", headers=headers, json={"text": heard, "stream": True}) as answer:
                first_audio = listening.submit(_first_audio, client, f"{session}/turns/current/audio", headers, started)
                for kind, data in _events(answer):
                    at.setdefault(kind, time.perf_counter() - started)
                    final = data if kind == "final" else final
            audio = first_audio.result()
            if audio:
                at["first_audio"] = audio[0]
            if final.get("ttft_ms"):
                at["first_token"] = asked + final["ttft_ms"] / 1000
            rows.append(
                {
                    "said": question,
                    "heard": heard,
                    "path": final.get("path"),
                    "first_clause": audio[1] if audio else None,
                    "prompt_tokens": final.get("usage", {}).get("prompt_tokens"),
                    "at_s": {k: round(v, 2) for k, v in at.items()},
                    "load_average": round(os.getloadavg()[0], 2),
                }
            )
    generated = [r for r in rows if r["path"] == "generated" and "first_audio" in r["at_s"]]
    by_path: dict[str, list[float]] = {}
    for row in rows:
        if "first_audio" in row["at_s"]:
            by_path.setdefault(row["path"], []).append(row["at_s"]["first_audio"])

    def part(row: dict, end: str, start: str | None) -> float:
        return row["at_s"][end] - (row["at_s"][start] if start else 0.0)

    parts = {
        "transcription": ("transcribed", None),
        "retrieval_and_decision": ("sources", "transcribed"),
        "model_first_token": ("first_token", "sources"),
        "first_sentence_and_check": ("sentence", "first_token"),
        "first_clause_synthesis": ("first_audio", "sentence"),
    }
    return {
        "questions": len(rows),
        "generated": len(generated),
        "end_of_speech_to_first_audio_s": stats([r["at_s"]["first_audio"] for r in generated], 2) if generated else None,
        "by_path": {path: stats(values, 2) for path, values in by_path.items()},
        "parts_s": {name: stats([part(r, *ends) for r in generated], 2) for name, ends in parts.items()} if generated else None,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "rows": rows,
    }


def run(settings: Settings, sets: list[str], replies: int, beam: int, terms: bool, e2e: int, noise: tuple = NOISE_DB, **chosen) -> dict:
    """`chosen`: voices (names), limit (questions of each set)."""
    prepare_model(WHISPER_BASE, settings.models_dir)
    voices = {v: s for v, s in speakers(settings).items() if v in chosen.get("voices", VOICES)}
    result: dict = {"voices": list(voices), "beam_size": beam, "service_terms": terms, "noise_db": list(noise)}
    with Services(settings) as services:
        listener = services.listener
        listener.beam_size = beam
        if not terms:
            listener.prompt = PROMPT
        result["prompt"] = listener.prompt
        for name in sets:
            result[name] = recognition(listener, voices, name, noise, chosen.get("limit"))
        if replies:
            result["synthesis"] = synthesis(settings, listener, demo_answers()[:replies])
        if e2e:  # half the demo's own questions (official replies), half from the evaluation set
            asked = demo_questions()[: e2e // 2] + questions("evaluation")[: e2e - e2e // 2]
            model = services.llm.healthy()
            result["end_to_end"] = {"chat_model": "running" if model else "not running: generated answers fall back to quoting"}
            result["end_to_end"] |= end_to_end(services, voices, asked)
    return result


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m xiaobao.eval.voice", description="小宝's voice measured on this machine")
    parser.add_argument("--sets", nargs="*", choices=sorted(SETS), default=["tuning", "evaluation"], help="question sets heard")
    parser.add_argument("--replies", type=int, default=12, help="official replies spoken ahead, timed and heard back (of 37)")
    parser.add_argument("--beam", type=int, default=1, help="the recogniser's beam size")
    parser.add_argument("--no-terms", action="store_true", help="without the service's words in the recogniser's prompt")
    parser.add_argument("--e2e", type=int, default=0, help="spoken questions answered end to end (half official replies)")
    parser.add_argument("--clean", action="store_true", help="clean speech only (no noise added)")
    parser.add_argument("--voices", nargs="*", choices=VOICES, default=list(VOICES), help="voices that speak the questions")
    parser.add_argument("--limit", type=int, help="only the first N questions of each set")
    parser.add_argument("--served", metavar="URL", help="only end to end through this running server, on the generated-answer set")
    parser.add_argument("--json", type=Path, help="write the result here too")
    options = parser.parse_args()
    noise = (None,) if options.clean else NOISE_DB
    chosen = {"voices": options.voices, "limit": options.limit}
    if options.served:  # the recordings are made (or found in the cache) before any clock starts
        import httpx

        spoken = speakers(Settings())[options.voices[0]]
        recordings = {q: spoken.sentence_wav(q) for q in questions("generated")[: options.limit]}
        with httpx.Client(base_url=options.served, timeout=300) as client:
            result = served_end_to_end(client, recordings)
    else:
        result = run(Settings(), options.sets, options.replies, options.beam, not options.no_terms, options.e2e, noise, **chosen)
    report = json.dumps(result, ensure_ascii=False, indent=2)
    print(report)
    if options.json:
        options.json.write_text(report + "\n", encoding="utf-8")
