"""The electronic material library (电子材料库) of the session's verified user: list, see, download,
delete, and keep a generated material. Anonymous sessions get 403; another owner's material is 404,
like one that does not exist."""

import datetime as dt
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Path, Response
from pydantic import BaseModel, Field

from xiaobao.api.deps import Owned, ServicesDep
from xiaobao.govdata.materials import document

router = APIRouter(tags=["电子材料库"])
MaterialId = Annotated[str, Path(min_length=1, max_length=32)]
LOGIN_FIRST = "电子材料库需要先实名登录，只有本人可以查看和使用自己的材料。"
NOT_FOUND = "您的电子材料库中没有这份材料。"


class KeepIn(BaseModel):
    material: str = Field(min_length=1, max_length=100, description="模板编号或材料名称，如 shareholder-decision")
    answers: dict[str, Annotated[str, Field(max_length=500)]] = Field(default_factory=dict, description="申请人对提问的回答")
    valid_until: dt.date | None = Field(None, description="有效期至（YYYY-MM-DD）；不填为长期有效")


def owner(services: ServicesDep, session_id: Owned) -> str:
    """The session's verified user: the library is theirs alone."""
    user_ref = services.engine.user_of(session_id)
    if user_ref is None:
        raise HTTPException(403, LOGIN_FIRST)
    return user_ref


@router.get("/api/sessions/{session_id}/library")
def materials(services: ServicesDep, session_id: Owned) -> list[dict]:
    """The user's materials with type, validity (expired ones are listed but not reused) and SHA-256."""
    return services.library.list(owner(services, session_id))


@router.get("/api/sessions/{session_id}/library/{material_id}")
def material(services: ServicesDep, session_id: Owned, material_id: MaterialId) -> dict:
    found = services.library.get(owner(services, session_id), material_id)
    if found is None:
        raise HTTPException(404, NOT_FOUND)
    return found


@router.get("/api/sessions/{session_id}/library/{material_id}/file")
def material_file(services: ServicesDep, session_id: Owned, material_id: MaterialId) -> Response:
    found = services.library.content(owner(services, session_id), material_id)
    if found is None:
        raise HTTPException(404, NOT_FOUND)
    name, data = found
    disposition = f"attachment; filename=\"material\"; filename*=UTF-8''{quote(name)}"
    return Response(data, media_type="application/octet-stream", headers={"Content-Disposition": disposition})


@router.delete("/api/sessions/{session_id}/library/{material_id}", status_code=204)
def delete(services: ServicesDep, session_id: Owned, material_id: MaterialId) -> None:
    """Delete the material now (its bytes too); the audit log records that it was deleted."""
    if not services.library.delete(owner(services, session_id), material_id):
        raise HTTPException(404, NOT_FOUND)


@router.post("/api/sessions/{session_id}/library", status_code=201)
def keep_generated(services: ServicesDep, session_id: Owned, body: KeepIn) -> dict:
    """Accept a generated material (filled from the user's records and answers) into the library.
    Uploads join the library by passing pre-review (POST /api/sessions/{id}/prereview)."""
    user_ref = owner(services, session_id)
    arguments = {"material": body.material, "answers": body.answers}
    reply = services.engine.use_tool(session_id, "generate_material", arguments, f"存入材料库 {body.material}")
    result = reply.data
    if result.get("reason"):
        raise HTTPException(404 if result.get("reason") == "no_template" else 422, reply.text)
    if result.get("questions"):
        raise HTTPException(422, "还缺少：" + "；".join(q["question"] for q in result["questions"]))
    template = services.templates.all()[result["template"]]
    data = document(template, result)
    entry, _ = services.library.keep(
        user_ref, template.name, f"{template.name}.docx", data, "generated", body.valid_until, template.item_id
    )
    return entry
