"""小宝's voice for a citizen's session: a sentence spoken (WAV), a recorded question transcribed.
Both need the session's key, like every session route, and are off with XIAOBAO_VOICE=false."""

from typing import Annotated

from fastapi import APIRouter, Depends, File, HTTPException, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, Field

from xiaobao.api.deps import Owned, ServicesDep, read_upload

MAX_SPOKEN = 300  # characters one request may have spoken: a few sentences of an answer


def voice_on(services: ServicesDep) -> None:
    if not services.settings.voice:
        raise HTTPException(404, "语音功能未开启。")


router = APIRouter(dependencies=[Depends(voice_on)], tags=["语音"])


class SpeechIn(BaseModel):
    text: str = Field(min_length=1, max_length=MAX_SPOKEN, description="要朗读的文字，通常是答复中核对通过的一句。")


class TranscriptOut(BaseModel):
    text: str = Field(description="识别出的文字（简体），请让用户确认或修改后再作为问题发送。")
    seconds: float = Field(description="录音时长（秒）。")


@router.post(
    "/api/sessions/{session_id}/speech",
    response_class=Response,
    responses={200: {"content": {"audio/wav": {}}, "description": "24 kHz 单声道 WAV"}},
)
def speech(services: ServicesDep, session_id: Owned, body: SpeechIn) -> Response:
    """朗读一段文字（WAV）。数字、日期、证件号等按读法朗读；读过的句子有缓存（官方答复口径原文会反复出现）。"""
    return Response(services.speaker.wav(body.text), media_type="audio/wav")


@router.post("/api/sessions/{session_id}/transcription")
async def transcription(
    services: ServicesDep, session_id: Owned, audio: Annotated[UploadFile, File(description="录音：WebM/Ogg/MP4/MP3/WAV。")]
) -> TranscriptOut:
    """语音提问：录音转文字（不保存录音）。听不清、不是音频 → 422；太大或太长 → 413。"""
    data = await read_upload(audio, "录音", services.settings.voice_max_bytes)
    heard = await run_in_threadpool(services.listener.transcribe, data)  # seconds of CPU: off the event loop
    return TranscriptOut(text=heard.text, seconds=heard.seconds)
