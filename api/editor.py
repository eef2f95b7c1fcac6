"""The knowledge editors' workflow: unanswered questions (gaps), Q&A entries from draft to published
or retired, warnings, bulk import, and documents added to the knowledge base — also by the local
`xiaobao ingest` while the service holds the data directory (a background job with progress)."""

from pathlib import Path as FilePath
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, HTTPException, UploadFile
from pydantic import BaseModel, Field

from xiaobao.api.deps import MAX_ROW_ID, Editor, Local, RowId, ServicesDep, read_upload
from xiaobao.staff.editorial import FIELDS, parse_import
from xiaobao.staff.jobs import JobBusy

GapId = Annotated[int, Field(ge=1, le=MAX_ROW_ID)]

router = APIRouter(tags=["知识编辑"])


class EntryIn(BaseModel):
    question: str | None = Field(None, max_length=200)
    alternatives: list[str] | None = None
    answer: str | None = Field(None, max_length=5000)
    item: str | None = Field(None, max_length=200)
    department: str | None = Field(None, max_length=100)
    effective_from: str | None = Field(None, max_length=10, description="YYYY-MM-DD")
    effective_to: str | None = Field(None, max_length=10, description="YYYY-MM-DD")
    source: str | None = Field(None, max_length=200)
    gap_ids: list[GapId] = Field(default_factory=list, description="这条答复口径回答的待答问题。")

    def fields(self) -> dict:
        return self.model_dump(include=set(FIELDS), exclude_unset=True)


class DismissIn(BaseModel):
    ids: list[GapId] = Field(min_length=1)
    note: str = Field("", max_length=200)


class RetireIn(BaseModel):
    reason: str = Field("", max_length=200)


async def read_file(file: UploadFile) -> bytes:
    data = await read_upload(file)
    if not data:
        raise HTTPException(422, "文件是空的")
    return data


@router.get("/api/editor/gaps")
def gaps(services: ServicesDep, editor: Editor) -> list[dict]:
    return services.editorial.gap_groups()


@router.post("/api/editor/gaps/dismiss")
def dismiss(services: ServicesDep, body: DismissIn, editor: Editor) -> dict:
    return {"dismissed": services.editorial.dismiss_gaps(body.ids, editor.username, body.note)}


@router.get("/api/editor/entries")
def entries(services: ServicesDep, editor: Editor, status: Literal["draft", "published", "retired"] | None = None) -> list[dict]:
    return services.editorial.entries(status)


@router.post("/api/editor/entries", status_code=201)
def create(services: ServicesDep, body: EntryIn, editor: Editor) -> dict:
    return services.editorial.create(body.fields(), editor.username, body.gap_ids)


@router.get("/api/editor/entries/{entry_id}")
def entry(services: ServicesDep, entry_id: RowId, editor: Editor) -> dict:
    return services.editorial.get(entry_id)


@router.patch("/api/editor/entries/{entry_id}")
def edit(services: ServicesDep, entry_id: RowId, body: EntryIn, editor: Editor) -> dict:
    return services.editorial.update(entry_id, body.fields(), editor.username)


@router.post("/api/editor/entries/{entry_id}/publish")
def publish(services: ServicesDep, entry_id: RowId, editor: Editor) -> dict:
    return services.editorial.publish(entry_id, editor.username)


@router.post("/api/editor/entries/{entry_id}/retire")
def retire(services: ServicesDep, entry_id: RowId, editor: Editor, body: RetireIn | None = None) -> dict:
    return services.editorial.retire(entry_id, editor.username, (body or RetireIn()).reason)


@router.get("/api/editor/warnings")
def warnings(services: ServicesDep, editor: Editor) -> list[dict]:
    return services.editorial.warnings()


@router.post("/api/editor/import")
async def bulk_import(
    services: ServicesDep,
    editor: Editor,
    file: Annotated[UploadFile, File(description="CSV / XLSX / JSONL，表头：问题、相似问法、答复、事项、部门、生效日期、失效日期、来源")],
    commit: Annotated[bool, Form(description="false：只预览；true：导入没有错误的行")] = False,
    publish: Annotated[bool, Form(description="导入后直接发布（否则为草稿）")] = False,
) -> dict:
    rows = parse_import(file.filename or "", await read_file(file))
    created = services.editorial.import_rows(rows, editor.username, publish) if commit else []
    return {
        "rows": [
            {"row": r.row, "fields": {k: str(v) if v is not None else None for k, v in r.fields.items()}, "errors": r.errors} for r in rows
        ],
        "valid": sum(not r.errors for r in rows),
        "invalid": sum(bool(r.errors) for r in rows),
        "created": len(created),
    }


@router.post("/api/editor/documents")
async def upload_document(
    services: ServicesDep, editor: Editor, file: Annotated[UploadFile, File(description="md / txt / html / pdf / docx / jsonl")]
) -> dict:
    """Add a document to the knowledge base: stored under the data directory and ingested now."""
    return services.editorial.add_document(file.filename or "", await read_file(file), editor.username)


class IngestIn(BaseModel):
    paths: list[str] = Field(min_length=1, max_length=100, description="服务器上的文件或文件夹（绝对路径）")


@router.post("/api/editor/ingest", status_code=202)
def start_ingest(services: ServicesDep, body: IngestIn, operator: Local) -> dict:
    """Ingest files on the server's disk as a background job; poll GET /api/editor/ingest/{id}."""
    try:
        return services.ingest_jobs.start([FilePath(p) for p in body.paths], operator)
    except FileNotFoundError as exc:
        raise HTTPException(422, str(exc)) from None
    except JobBusy as exc:
        raise HTTPException(409, str(exc)) from None


@router.get("/api/editor/ingest/{job_id}")
def ingest_job(services: ServicesDep, job_id: str, operator: Local) -> dict:
    """A job's progress (files done of total, chunks embedded) and, once done, its summary."""
    job = services.ingest_jobs.get(job_id)
    if job is None:
        raise HTTPException(404, "没有这个导入任务")
    return job
