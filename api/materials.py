"""Application materials generated for the session's verified user (申请材料自动生成): the templates,
and one material filled from the user's own records — as JSON (values, sources, questions) or as DOCX."""

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Response
from pydantic import BaseModel, Field

from xiaobao.api.deps import Owned, ServicesDep
from xiaobao.govdata.materials import document

router = APIRouter()
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


class MaterialIn(BaseModel):
    material: str = Field(
        min_length=1, max_length=100, description="模板编号或材料名称，如 food-licence-application 或“食品经营许可申请书”"
    )
    answers: dict[str, Annotated[str, Field(max_length=500)]] = Field(
        default_factory=dict, description="申请人对提问的回答：字段名 → 值（数据源已有的字段以数据源为准）"
    )


@router.get("/api/materials/templates", tags=["办事服务"])
def templates(services: ServicesDep) -> list[dict]:
    """The material templates: for which item and material, each field and where it is filled from."""
    return [t.model_dump(mode="json") for t in services.templates.all().values()]


@router.post("/api/sessions/{session_id}/materials", tags=["办事服务"], responses={200: {"content": {DOCX: {}}}})
def generate_material(
    services: ServicesDep, session_id: Owned, body: MaterialIn, format: Annotated[Literal["json", "docx"], Query()] = "json"
):
    """Fill a material from the session user's own records and answers. JSON: every value with its
    source, the questions still open, conflicts with the government's data. DOCX: the document,
    once nothing is missing (else 422 with the questions)."""
    reply = services.engine.use_tool(session_id, "generate_material", body.model_dump(), f"生成材料 {body.material}")
    result = reply.data
    if result.get("reason") == "anonymous":
        raise HTTPException(403, reply.text)
    if result.get("reason") in ("no_template", "no_record", "unknown_fields"):
        raise HTTPException(404 if result["reason"] == "no_template" else 422, reply.text)
    if format == "json":
        return reply.to_dict()
    if result["questions"]:
        raise HTTPException(422, "还缺少：" + "；".join(q["question"] for q in result["questions"]))
    template = services.templates.all()[result["template"]]
    filename = f"{result['template']}.docx"
    return Response(document(template, result), media_type=DOCX, headers={"Content-Disposition": f'attachment; filename="{filename}"'})
