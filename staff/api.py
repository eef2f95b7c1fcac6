"""The staff side of the HTTP API: login, the helper desk, the editor's knowledge workflow and the
admin's audit log. Every route needs a logged-in account with the right role."""

# No `from __future__ import annotations` here: FastAPI must resolve the route-local Annotated aliases.
from collections.abc import Callable
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, Response, UploadFile
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from xiaobao.govdata import policies
from xiaobao.identity import audit
from xiaobao.identity.accounts import AccountError, Accounts, Staff
from xiaobao.ingest.loaders import SUPPORTED
from xiaobao.operations.metrics import handoff_stats
from xiaobao.services import Services
from xiaobao.staff.editorial import FIELDS, parse_import

COOKIE = "xiaobao_staff"
MAX_UPLOAD = 20 * 1024 * 1024


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)


class ReplyIn(BaseModel):
    text: str = Field(min_length=1, max_length=2000)


class TransferIn(BaseModel):
    to: str = Field(min_length=1, max_length=64)


class CloseIn(BaseModel):
    outcome: Literal["resolved", "unresolved", "referred"]
    save_as_knowledge: bool = False
    question: str = Field("", max_length=200)
    answer: str = Field("", max_length=5000)


class EntryIn(BaseModel):
    question: str | None = Field(None, max_length=200)
    alternatives: list[str] | None = None
    answer: str | None = Field(None, max_length=5000)
    item: str | None = Field(None, max_length=200)
    department: str | None = Field(None, max_length=100)
    effective_from: str | None = Field(None, max_length=10, description="YYYY-MM-DD")
    effective_to: str | None = Field(None, max_length=10, description="YYYY-MM-DD")
    source: str | None = Field(None, max_length=200)
    gap_ids: list[int] = Field(default_factory=list, description="这条答复口径回答的待答问题。")

    def fields(self) -> dict:
        return self.model_dump(include=set(FIELDS), exclude_unset=True)


class DismissIn(BaseModel):
    ids: list[int] = Field(min_length=1)
    note: str = Field("", max_length=200)


class RetireIn(BaseModel):
    reason: str = Field("", max_length=200)


def token_of(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    return header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else request.cookies.get(COOKIE)


async def read_upload(file: UploadFile) -> bytes:
    data = await file.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise HTTPException(413, f"文件太大（上限 {MAX_UPLOAD // 1024 // 1024} MB）")
    if not data:
        raise HTTPException(422, "文件是空的")
    return data


def logged_in(accounts: Accounts) -> Callable[..., Staff]:
    """A dependency: the logged-in account, or 401."""

    def current(request: Request) -> Staff:
        staff = accounts.authenticate(token_of(request))
        if staff is None:
            raise HTTPException(401, "请先登录")
        return staff

    return current


def with_role(accounts: Accounts, name: str) -> Callable[..., Staff]:
    """A dependency: a logged-in account that has the role (an admin has every role), or 401 / 403."""
    current = logged_in(accounts)

    def check(staff: Annotated[Staff, Depends(current)]) -> Staff:
        if not staff.can(name):
            raise HTTPException(403, "您的账号无权进行此操作")
        return staff

    return check


def build_router(services: Services) -> APIRouter:
    router = APIRouter()
    engine, accounts, desk, editorial = services.engine, services.accounts, services.desk, services.editorial
    current = logged_in(accounts)

    def role(name: str) -> Callable[..., Staff]:
        return with_role(accounts, name)

    Helper = Annotated[Staff, Depends(role("helper"))]
    Editor = Annotated[Staff, Depends(role("editor"))]
    Admin = Annotated[Staff, Depends(role("admin"))]
    Anyone = Annotated[Staff, Depends(current)]

    # login -------------------------------------------------------------------------------------

    @router.post("/api/staff/login", tags=["工作人员"])
    def login(body: LoginIn, response: Response) -> dict:
        try:
            token, staff = accounts.login(body.username, body.password)
        except AccountError as exc:
            raise HTTPException(401, str(exc)) from None
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict", max_age=int(accounts.token_life.total_seconds()))
        return {**staff.to_dict(), "token": token}

    @router.post("/api/staff/logout", status_code=204, tags=["工作人员"])
    def logout(request: Request, response: Response) -> None:
        if token := token_of(request):
            accounts.logout(token)
        response.delete_cookie(COOKIE)

    @router.get("/api/staff/me", tags=["工作人员"])
    def me(staff: Anyone) -> dict:
        return staff.to_dict()

    @router.get("/api/staff/search", tags=["工作人员"])
    def search(staff: Anyone, q: Annotated[str, Query(min_length=1, max_length=500)], k: Annotated[int, Query(ge=1, le=30)] = 10) -> dict:
        """Hit testing: what Xiaobao retrieves for a question, with scores, and what it would do."""
        if not (staff.can("helper") or staff.can("editor")):
            raise HTTPException(403, "您的账号无权进行此操作")
        hits, decision = engine.triage(q)
        return {
            "decision": decision,
            "hits": [
                {
                    "citation": h.citation,
                    "doc_type": h.payload.get("doc_type"),
                    "score": round(h.score, 4),
                    "signals": {name: round(score, 4) for name, (_rank, score) in h.signals.items()},
                    "text": (h.payload.get("answer") or h.payload.get("text", ""))[:400],
                    "question": h.payload.get("question"),
                }
                for h in hits[:k]
            ],
        }

    # helpers -----------------------------------------------------------------------------------

    @router.get("/api/helpdesk/board", tags=["线上帮办"])
    def board(helper: Helper) -> dict:
        return desk.board(helper)

    @router.get("/api/helpdesk/stats", tags=["线上帮办"])
    def stats(helper: Helper) -> dict:
        """First responses and outcomes of every hand-off so far (the dashboard has them per period)."""
        with Session(desk.db_engine) as session:
            return handoff_stats(session)

    @router.post("/api/helpdesk/{handoff_id}/claim", tags=["线上帮办"])
    def claim(handoff_id: int, helper: Helper) -> dict:
        return desk.claim(handoff_id, helper)

    @router.get("/api/helpdesk/{handoff_id}", tags=["线上帮办"])
    def detail(handoff_id: int, helper: Helper) -> dict:
        return desk.detail(handoff_id, helper)

    @router.post("/api/helpdesk/{handoff_id}/reply", tags=["线上帮办"])
    def reply(handoff_id: int, body: ReplyIn, helper: Helper) -> dict:
        return desk.reply(handoff_id, helper, body.text)

    @router.post("/api/helpdesk/{handoff_id}/suggestion", tags=["线上帮办"])
    def suggestion(handoff_id: int, helper: Helper) -> dict:
        """Xiaobao's draft answer to the citizen's last question (not sent)."""
        question = desk.detail(handoff_id, helper)["last_question"]
        if not question:
            raise HTTPException(422, "这个会话里还没有群众的提问")
        return {"question": question, **engine.suggest(question)}

    @router.post("/api/helpdesk/{handoff_id}/transfer", tags=["线上帮办"])
    def transfer(handoff_id: int, body: TransferIn, helper: Helper) -> dict:
        return desk.transfer(handoff_id, helper, body.to)

    @router.post("/api/helpdesk/{handoff_id}/return", tags=["线上帮办"])
    def give_back(handoff_id: int, helper: Helper) -> dict:
        return desk.give_back(handoff_id, helper)

    @router.post("/api/helpdesk/{handoff_id}/close", tags=["线上帮办"])
    def close(handoff_id: int, body: CloseIn, helper: Helper) -> dict:
        return desk.close(handoff_id, helper, body.outcome, body.save_as_knowledge, body.question, body.answer)

    # editors -----------------------------------------------------------------------------------

    @router.get("/api/editor/gaps", tags=["知识编辑"])
    def gaps(editor: Editor) -> list[dict]:
        return editorial.gap_groups()

    @router.post("/api/editor/gaps/dismiss", tags=["知识编辑"])
    def dismiss(body: DismissIn, editor: Editor) -> dict:
        return {"dismissed": editorial.dismiss_gaps(body.ids, editor.username, body.note)}

    @router.get("/api/editor/entries", tags=["知识编辑"])
    def entries(editor: Editor, status: Literal["draft", "published", "retired"] | None = None) -> list[dict]:
        return editorial.entries(status)

    @router.post("/api/editor/entries", status_code=201, tags=["知识编辑"])
    def create(body: EntryIn, editor: Editor) -> dict:
        return editorial.create(body.fields(), editor.username, body.gap_ids)

    @router.get("/api/editor/entries/{entry_id}", tags=["知识编辑"])
    def entry(entry_id: int, editor: Editor) -> dict:
        return editorial.get(entry_id)

    @router.patch("/api/editor/entries/{entry_id}", tags=["知识编辑"])
    def edit(entry_id: int, body: EntryIn, editor: Editor) -> dict:
        return editorial.update(entry_id, body.fields(), editor.username)

    @router.post("/api/editor/entries/{entry_id}/publish", tags=["知识编辑"])
    def publish(entry_id: int, editor: Editor) -> dict:
        return editorial.publish(entry_id, editor.username)

    @router.post("/api/editor/entries/{entry_id}/retire", tags=["知识编辑"])
    def retire(entry_id: int, editor: Editor, body: RetireIn | None = None) -> dict:
        return editorial.retire(entry_id, editor.username, (body or RetireIn()).reason)

    @router.get("/api/editor/warnings", tags=["知识编辑"])
    def warnings(editor: Editor) -> list[dict]:
        return editorial.warnings()

    @router.post("/api/editor/import", tags=["知识编辑"])
    async def bulk_import(
        editor: Editor,
        file: Annotated[
            UploadFile, File(description="CSV / XLSX / JSONL，表头：问题、相似问法、答复、事项、部门、生效日期、失效日期、来源")
        ],
        commit: Annotated[bool, Form(description="false：只预览；true：导入没有错误的行")] = False,
        publish: Annotated[bool, Form(description="导入后直接发布（否则为草稿）")] = False,
    ) -> dict:
        rows = parse_import(file.filename or "", await read_upload(file))
        created = editorial.import_rows(rows, editor.username, publish) if commit else []
        return {
            "rows": [
                {"row": r.row, "fields": {k: str(v) if v is not None else None for k, v in r.fields.items()}, "errors": r.errors}
                for r in rows
            ],
            "valid": sum(not r.errors for r in rows),
            "invalid": sum(bool(r.errors) for r in rows),
            "created": len(created),
        }

    @router.post("/api/editor/documents", tags=["知识编辑"])
    async def upload_document(
        editor: Editor, file: Annotated[UploadFile, File(description="md / txt / html / pdf / docx / jsonl")]
    ) -> dict:
        """Add a document to the knowledge base: stored under the data directory and ingested now."""
        from pathlib import Path

        name = Path(file.filename or "").name
        if Path(name).suffix.lower() not in SUPPORTED:
            raise HTTPException(422, f"不支持的文件类型；支持 {'、'.join(sorted(SUPPORTED))}")
        data = await read_upload(file)
        target = services.settings.uploads_dir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        summary = editorial.ingestor.ingest([target])
        with_problems = [p.message for p in summary.problems]
        if summary.files_failed:
            target.unlink()
            raise HTTPException(422, "；".join(with_problems) or "文件无法读取")
        audit.record_now(services.db_engine, editor.username, "upload_document", "document", name, chunks=summary.added + summary.updated)
        return {"file": name, "added": summary.added, "updated": summary.updated, "unchanged": summary.unchanged, "problems": with_problems}

    # admins ------------------------------------------------------------------------------------

    @router.get("/api/admin/audit", tags=["管理员"])
    def audit_log(
        admin: Admin,
        actor: Annotated[str | None, Query(max_length=64)] = None,
        object_type: Annotated[str | None, Query(max_length=20)] = None,
        limit: Annotated[int, Query(ge=1, le=2000)] = 200,
    ) -> list[dict]:
        return audit.entries(services.db_engine, limit, actor, object_type)

    @router.get("/api/admin/policies/{policy_id}/push-list", tags=["管理员"])
    def push_list(policy_id: str, admin: Admin) -> list[dict]:
        """免申即享 push list: the enterprises that qualify for one policy (失信 ones flagged or left out, as the policy says)."""
        directory = services.directory
        policy = next((p for p in directory.policies() if p.id == policy_id), None)
        if policy is None:
            raise HTTPException(404, "没有这项政策。")
        return policies.push_list(policy, directory.enterprises())

    @router.get("/api/admin/users", tags=["管理员"])
    def users(admin: Admin) -> list[dict]:
        return accounts.users()

    return router
