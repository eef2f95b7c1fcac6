"""Material templates for editors (申请材料模板): each template in its current version or an older
one, its versions, and saving a new version — in use at once, the older ones stay readable. A new
material is a new template saved here: no code change."""

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query
from pydantic import BaseModel, Field

from xiaobao.api.deps import Editor, ServicesDep
from xiaobao.govdata.materials import TemplateError, fits, validated

router = APIRouter(tags=["知识编辑"])
TemplateId = Annotated[str, Path(min_length=1, max_length=64)]
NO_TEMPLATE = "没有这个材料模板。"


class TemplateIn(BaseModel):
    template: dict = Field(description="材料模板（格式见 docs/SERVICES.md“申请材料自动生成”）；编号须与地址中的一致")
    note: str = Field("", max_length=200, description="本次修改的说明")


@router.get("/api/editor/templates")
def templates(services: ServicesDep, editor: Editor) -> list[dict]:
    """Every template in its current version: which item and material it is, how many fields."""
    return [
        {"id": t.id, "name": t.name, "version": t.version, "item_id": t.item_id, "material_id": t.material_id, "fields": len(t.fields)}
        for t in services.templates.all().values()
    ]


@router.get("/api/editor/templates/{template_id}")
def template(
    services: ServicesDep, template_id: TemplateId, editor: Editor, version: Annotated[int | None, Query(ge=1, le=1_000_000)] = None
) -> dict:
    """A template: its current version, or the version asked for."""
    found = services.templates.get(template_id, version)
    if found is None:
        raise HTTPException(404, NO_TEMPLATE if version is None else f"材料模板 {template_id} 没有第 {version} 版。")
    return found.model_dump(mode="json")


@router.get("/api/editor/templates/{template_id}/versions")
def versions(services: ServicesDep, template_id: TemplateId, editor: Editor) -> list[dict]:
    """Every saved version of a template, oldest first, with who saved it and why."""
    found = services.templates.versions(template_id)
    if not found:
        raise HTTPException(404, NO_TEMPLATE)
    return found


@router.put("/api/editor/templates/{template_id}")
def save(services: ServicesDep, template_id: TemplateId, body: TemplateIn, editor: Editor) -> dict:
    """Save a template as its next version (a new id starts at version 1), in use at once; audited.
    Its material must be one of its item's materials (their review points check what it generates)."""
    try:
        checked = validated(body.template)
    except TemplateError as exc:
        raise HTTPException(422, str(exc)) from None
    if checked.id != template_id:
        raise HTTPException(422, f"模板中的编号 {checked.id} 与地址中的 {template_id} 不一致")
    if problem := fits(checked, services.directory.item(checked.item_id)):
        raise HTTPException(422, f"材料模板有误：{problem}")
    return services.templates.save(checked, editor.username, body.note)
