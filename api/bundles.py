"""一件事 bundles (情形引导): the bundles and their questions for anyone; what applies for the
session's own user; and, for editors, new versions of a bundle (the older ones stay readable)."""

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query
from pydantic import BaseModel, Field

from xiaobao.api.deps import Editor, Owned, ServicesDep
from xiaobao.govdata.bundles import BundleError

router = APIRouter()
BundleId = Annotated[str, Path(min_length=1, max_length=64)]
NO_BUNDLE = "没有这个“一件事”。"


class AnswersIn(BaseModel):
    answers: dict[str, Annotated[str, Field(max_length=50)]] = Field(
        default_factory=dict, description='情形问题的回答：问题编号 → 选项（如 {"form": "有限责任公司", "food": "是"}）'
    )


class BundleIn(BaseModel):
    bundle: dict = Field(description="一件事配置（格式见 docs/SERVICES.md“一件事”）；编号须与地址中的一致")
    note: str = Field("", max_length=200, description="本次修改的说明")


def summary(bundle, version: int) -> dict:
    return {"id": bundle.id, "name": bundle.name, "version": version, "sample": bundle.sample, "questions": len(bundle.questions)}


@router.get("/api/bundles", tags=["办事服务"])
def bundles(services: ServicesDep) -> list[dict]:
    """The bundles in their current versions."""
    return [summary(b, v) for b, v in services.bundles.all()]


@router.get("/api/bundles/{bundle_id}", tags=["办事服务"])
def bundle(services: ServicesDep, bundle_id: BundleId, version: Annotated[int | None, Query(ge=1, le=1_000_000)] = None) -> dict:
    """A bundle (questions, items, materials with their conditions): the current version or the one asked for."""
    found = services.bundles.get(bundle_id, version)
    if found is None:
        raise HTTPException(404, NO_BUNDLE if version is None else f"“一件事”{bundle_id} 没有第 {version} 版。")
    return {"version": found[1], **found[0].model_dump(mode="json")}


@router.post("/api/sessions/{session_id}/bundles/{bundle_id}", tags=["办事服务"])
def plan(services: ServicesDep, session_id: Owned, bundle_id: BundleId, body: AnswersIn) -> dict:
    """The next question for these answers, or (all asked) the items that apply, the session user's
    prefilled forms, and the materials to submit or waived (政府已有数据、电子材料库已有、本一件事中办结共享)."""
    if services.bundles.get(bundle_id) is None:
        raise HTTPException(404, NO_BUNDLE)
    arguments = {"bundle": bundle_id, "answers": body.answers}
    reply = services.engine.use_tool(session_id, "bundle_guide", arguments, f"一件事 {bundle_id}")
    if reply.data.get("reason") == "bad_answer":
        raise HTTPException(422, reply.text)
    return reply.to_dict()


@router.get("/api/editor/bundles/{bundle_id}/versions", tags=["知识编辑"])
def versions(services: ServicesDep, bundle_id: BundleId, editor: Editor) -> list[dict]:
    """Every saved version of a bundle, oldest first, with who saved it and why."""
    found = services.bundles.versions(bundle_id)
    if not found:
        raise HTTPException(404, NO_BUNDLE)
    return found


@router.put("/api/editor/bundles/{bundle_id}", tags=["知识编辑"])
def save(services: ServicesDep, bundle_id: BundleId, body: BundleIn, editor: Editor) -> dict:
    """Save a bundle as its next version (a new id starts at version 1), in use at once; audited."""
    try:
        return services.bundles.save(bundle_id, body.bundle, editor.username, body.note)
    except BundleError as exc:
        raise HTTPException(422, str(exc)) from None
