"""Xiaobao's tools over HTTP: the tool list, the service catalogue, and the services a citizen uses in
their session (applications, form prefill, policy matching, pre-review of uploaded materials)."""

from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, Query, UploadFile
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from xiaobao.api.deps import Owned, ServicesDep, read_upload

router = APIRouter()


class PrefillIn(BaseModel):
    item: str = Field(min_length=1, max_length=100, description="事项编号或名称，如 BS-ITEM-005 或“高龄津贴”")
    again: bool = Field(False, description="再来一单：以本人最近一次同类申请为底")


@router.get("/api/tools", tags=["工具"])
def tools(services: ServicesDep) -> list[dict]:
    """The tools Xiaobao can use, with the JSON schemas of their arguments."""
    return [tool.schema() for tool in services.tools.registry.values()]


@router.get("/api/services/items", tags=["办事服务"])
def service_items(services: ServicesDep) -> list[dict]:
    """The service catalogue: items with their form fields and materials (review points)."""
    return [item.model_dump(mode="json") for item in services.directory.items()]


@router.get("/api/sessions/{session_id}/applications", tags=["办事服务"])
def my_applications(services: ServicesDep, session_id: Owned, application_id: Annotated[str | None, Query(max_length=20)] = None) -> dict:
    """The identified user's applications, or one application's progress."""
    arguments = {"application_id": application_id} if application_id else {}
    said = f"查询办件 {application_id or ''}".strip()
    return services.engine.use_tool(session_id, "get_application_progress", arguments, said).to_dict()


@router.post("/api/sessions/{session_id}/prefill", tags=["办事服务"])
def prefill_form(services: ServicesDep, session_id: Owned, body: PrefillIn) -> dict:
    """Prefill an item's form from the government's data for the session's identified user."""
    arguments = {"item": body.item, "again": body.again}
    return services.engine.use_tool(session_id, "prefill_form", arguments, f"预填 {body.item}").to_dict()


@router.get("/api/sessions/{session_id}/policies", tags=["办事服务"])
def my_policies(services: ServicesDep, session_id: Owned) -> dict:
    """免申即享: every policy checked against the session's enterprise, rule by rule."""
    return services.engine.use_tool(session_id, "match_policies", {}, "我可以享受哪些政策").to_dict()


@router.post("/api/sessions/{session_id}/prereview", tags=["办事服务"])
async def prereview(
    services: ServicesDep,
    session_id: Owned,
    item_id: Annotated[str, Form(max_length=40, description="事项编号，如 BS-ITEM-007")],
    files: Annotated[list[UploadFile], File(description="申请材料：PDF、图片、DOCX、TXT，每份不超过 20 MB")],
) -> dict:
    """Pre-review uploaded materials against the item's review points. Too many files or bytes: 413
    before anything is read; every worker busy: 503 with Retry-After."""
    services.reviewer.check([(upload.filename or "未命名", upload.size or 0) for upload in files])
    uploads = [(upload.filename or "未命名", await read_upload(upload, f"{upload.filename} ")) for upload in files]
    reply = await run_in_threadpool(services.engine.prereview, session_id, item_id, uploads)  # OCR is CPU work
    # the chat shows these replies as they are; an API client is told the review could not be done
    review = reply.data
    if review.get("reason") == "no_item":
        raise HTTPException(422, reply.text)
    if review.get("unreadable") and len(review["unreadable"]) == len(uploads):
        raise HTTPException(422, "；".join(review["unreadable"]))
    return reply.to_dict()
