"""Application materials generated for the session's verified user (申请材料自动生成): the templates,
one material filled from the user's own records — as JSON (values, sources, questions), DOCX or PDF —
and the download of what the chat generated; and the registered-address library (企业住所地址库)."""

from typing import Annotated, Literal

from fastapi import APIRouter, Header, HTTPException, Path, Query, Response
from pydantic import BaseModel, Field

from xiaobao.api.deps import NOT_YOURS, Owned, ServicesDep, SessionId
from xiaobao.assistant.tools import valid_download
from xiaobao.govdata.addresses import AddressError, check_address
from xiaobao.govdata.materials import Template, document, pdf

router = APIRouter()
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
FILES = {"docx": (DOCX, document), "pdf": ("application/pdf", pdf)}
Format = Annotated[Literal["json", "docx", "pdf"], Query(description="json：字段、来源与提问；docx / pdf：生成的文件")]


class MaterialIn(BaseModel):
    material: str = Field(
        min_length=1, max_length=100, description="模板编号或材料名称，如 food-licence-application 或“食品经营许可申请书”"
    )
    answers: dict[str, Annotated[str, Field(max_length=500)]] = Field(
        default_factory=dict, description="申请人对提问的回答：字段名 → 值（数据源已有的字段以数据源为准）"
    )


def _file(template: Template, generated: dict, format: str) -> Response:
    media, render = FILES[format]
    headers = {"Content-Disposition": f'attachment; filename="{template.id}.{format}"'}
    return Response(render(template, generated), media_type=media, headers=headers)


@router.get("/api/materials/templates", tags=["办事服务"])
def templates(services: ServicesDep) -> list[dict]:
    """The material templates: for which item and material, each field and where it is filled from."""
    return [t.model_dump(mode="json") for t in services.templates.all().values()]


@router.post(
    "/api/sessions/{session_id}/materials",
    tags=["办事服务"],
    responses={200: {"content": {DOCX: {}, "application/pdf": {}}}},
)
def generate_material(services: ServicesDep, session_id: Owned, body: MaterialIn, format: Format = "json"):
    """Fill a material from the session user's own records and answers. JSON: every value with its
    source, the questions still open, conflicts with the government's data, and once complete the
    download links. DOCX / PDF: the document, once nothing is missing (else 422 with the questions)."""
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
    return _file(services.templates.all()[result["template"]], result, format)


@router.get(
    "/api/sessions/{session_id}/materials/{template_id}",
    tags=["办事服务"],
    responses={200: {"content": {DOCX: {}, "application/pdf": {}}}},
)
def download_material(
    services: ServicesDep,
    session_id: SessionId,
    template_id: Annotated[str, Path(max_length=100)],
    format: Annotated[Literal["docx", "pdf"], Query(description="docx 或 pdf")] = "docx",
    expires: Annotated[int | None, Query(description="签名链接的到期时间（聊天页面给出）")] = None,
    signature: Annotated[str | None, Query(max_length=128, description="签名链接的签名（聊天页面给出）")] = None,
    x_session_key: Annotated[str | None, Header()] = None,
) -> Response:
    """The material this session last generated completely from the template (the chat's download
    links), as the applicant confirmed it. Only for the session's verified user; opened with the
    session key (header), or by the short-lived signed link the chat page shows (`expires`,
    `signature`: the session key never goes into a URL)."""
    keys = services.session_keys
    signed = expires is not None and signature is not None
    if not (valid_download(keys, session_id, template_id, format, expires, signature) if signed else keys.valid(session_id, x_session_key)):
        raise HTTPException(403, "下载链接已过期或无效，请回到对话页面重新点击下载。" if signed else NOT_YOURS)
    if services.engine.user_of(session_id) is None:
        raise HTTPException(403, "下载生成的材料需要先实名登录。")
    generated = services.tools.generated_material(session_id, template_id)
    template = services.templates.all().get(template_id)
    if generated is None or template is None:
        raise HTTPException(404, "这个会话还没有生成完整的这份材料，请先在对话中回答小宝的提问。")
    if generated["version"] != template.version:
        raise HTTPException(409, f"《{template.name}》的模板已更新，请重新生成。")
    return _file(template, generated, format)


@router.get("/api/addresses/check", tags=["办事服务"])
def check_registered_address(
    services: ServicesDep,
    address: Annotated[str, Query(min_length=1, max_length=200, description="地址，如“宝山区沪太路6655号2幢301室”")],
) -> dict:
    """The registered-address library (企业住所地址库 / 无忧快注): the address standardised, whether it is
    in the library, which park (园区, 集中登记地) it belongs to and whether the proof of premises may
    be waived. Public information: no session needed. No address in the text, or one in another
    district: 422 saying so."""
    try:
        found = check_address(services.directory, address)
    except AddressError as exc:
        raise HTTPException(422, str(exc)) from None
    return {**found.to_dict(), "summary": found.summary()}
