"""小宝's voice for a citizen's session: an answer spoken as a stream of sentences' audio, a recorded
question transcribed. Both need the session's key, like every session route, and are off with
XIAOBAO_VOICE=false. One audio request speaks a whole answer, so it counts once against the budget."""

import base64
import logging
from collections.abc import Iterable, Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, File, HTTPException, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from xiaobao.api.deps import Owned, RowId, ServicesDep, read_upload
from xiaobao.api.sessions import sse
from xiaobao.voice.speech import Speaker
from xiaobao.voice.text import sentences

log = logging.getLogger(__name__)
AUDIO_STREAM = {
    200: {
        "content": {"text/event-stream": {}},
        "description": "服务器推送事件（SSE）：每句一个 audio 事件 {text：这句的字幕（原文，去掉引用标记 [1]）, "
        "wav：这句的 24 kHz 单声道 WAV（base64）}，"
        "按顺序、每句一合成好就发出；最后 end 事件。合成失败时发 error 事件 {detail} 并结束。",
    }
}


def voice_on(services: ServicesDep) -> None:
    if not services.settings.voice:
        raise HTTPException(404, "语音功能未开启。")


router = APIRouter(dependencies=[Depends(voice_on)], tags=["语音"])


class TranscriptOut(BaseModel):
    text: str = Field(description="识别出的文字（简体），请让用户确认或修改后再作为问题发送。")
    seconds: float = Field(description="录音时长（秒）。")


def spoken(speaker: Speaker, said: Iterable[str]) -> StreamingResponse:
    """Each sentence's audio as an SSE event, as soon as it is synthesised (or found made ahead)."""

    def feed() -> Iterator[str]:
        for sentence in said:
            try:
                wav = speaker.sentence_wav(sentence)
            except Exception:  # onnxruntime and the phonemiser raise their own types
                log.exception("speaking %r failed", sentence)
                yield sse("error", {"detail": "语音合成出错，这句以后的内容请看文字。"})
                return
            yield sse("audio", {"text": sentence, "wav": base64.b64encode(wav).decode("ascii")})
        yield sse("end", {})

    return StreamingResponse(feed(), media_type="text/event-stream")


@router.get("/api/sessions/{session_id}/turns/current/audio", response_class=StreamingResponse, responses=AUDIO_STREAM)
def current_audio(services: ServicesDep, session_id: Owned) -> StreamingResponse:
    """朗读本会话正在给出（或刚刚给出）的答复：每句核对通过、一显示就合成并推送，一个请求读完整条答复。
    聊天页的数字人在答复开始显示时调用。官方答复口径的音频已提前合成，立即可得。"""
    recital = services.recitals.latest(session_id)
    if recital is None:
        raise HTTPException(404, "这个会话还没有要朗读的答复。")
    return spoken(services.speaker, recital.follow())  # the speaker is loaded first: a missing model is a 503, not a cut stream


@router.get("/api/sessions/{session_id}/turns/{turn_id}/audio", response_class=StreamingResponse, responses=AUDIO_STREAM)
def turn_audio(services: ServicesDep, session_id: Owned, turn_id: RowId) -> StreamingResponse:
    """朗读本会话中已保存的一条答复（turn_id 取自提问接口 final 事件或历史消息）：逐句合成并推送。"""
    turns = services.engine.history(session_id, after=max(0, turn_id - 1))
    turn = next((t for t in turns if t["turn_id"] == turn_id and t["role"] == "assistant"), None)
    if turn is None:
        raise HTTPException(404, "这个会话中没有这条答复。")
    return spoken(services.speaker, sentences(turn["text"]))


@router.post("/api/sessions/{session_id}/transcription")
async def transcription(
    services: ServicesDep, session_id: Owned, audio: Annotated[UploadFile, File(description="录音：WebM/Ogg/MP4/MP3/WAV。")]
) -> TranscriptOut:
    """语音提问：录音转文字（不保存录音）。听不清、不是音频 → 422；太大或太长 → 413。"""
    data = await read_upload(audio, "录音", services.settings.voice_max_bytes)
    heard = await run_in_threadpool(services.listener.transcribe, data)  # seconds of CPU: off the event loop
    return TranscriptOut(text=heard.text, seconds=heard.seconds)
