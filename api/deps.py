"""What routes depend on, declared once: the services, the citizen's own session, the logged-in staff
member and their role, and reading an upload within its limit."""

import hmac
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Path, Request, UploadFile

from xiaobao.identity.accounts import Staff
from xiaobao.services import Services

COOKIE = "xiaobao_staff"
MAX_UPLOAD = 20 * 1024 * 1024
NOT_YOURS = "无权访问这个会话（缺少或错误的 X-Session-Key）。"


def services_of(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(services_of)]
SessionId = Annotated[str, Path(min_length=1, max_length=36)]
# a stored row id: a number no database column holds is a 422, not a 500 (the fuzzer sent 10^20)
MAX_ROW_ID = 2**31 - 1
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]


def own_session(services: ServicesDep, session_id: SessionId, x_session_key: Annotated[str | None, Header()] = None) -> str:
    """The session, if the caller holds its key: whether another session exists is not revealed."""
    if not services.session_keys.valid(session_id, x_session_key):
        raise HTTPException(403, NOT_YOURS)
    return session_id


Owned = Annotated[str, Depends(own_session)]


def token_of(request: Request) -> str | None:
    """A staff token: the bearer header (API clients) or the login cookie (the consoles)."""
    header = request.headers.get("authorization", "")
    return header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else request.cookies.get(COOKIE)


def signed_in(services: ServicesDep, request: Request) -> Staff | None:
    return services.accounts.authenticate(token_of(request))


MaybeStaff = Annotated[Staff | None, Depends(signed_in)]


def logged_in(staff: MaybeStaff) -> Staff:
    if staff is None:
        raise HTTPException(401, "请先登录")
    return staff


Anyone = Annotated[Staff, Depends(logged_in)]


def with_role(*roles: str) -> Callable[[Staff], Staff]:
    """A dependency: a logged-in account that has one of the roles (an admin has every role), or 401 / 403."""

    def check(staff: Anyone) -> Staff:
        if not any(staff.can(role) for role in roles):
            raise HTTPException(403, "您的账号无权进行此操作")
        return staff

    return check


LOCAL_TOKEN = "X-Xiaobao-Local-Token"
LOCAL_OPERATOR = "本机命令行"


def local_operator(request: Request, token: Annotated[str | None, Header(alias=LOCAL_TOKEN)] = None) -> str:
    """The local operator: the caller holds the token `xiaobao serve` wrote into its data directory
    (operations/running.py), i.e. a command on the same machine and data directory (`xiaobao ingest`,
    `xiaobao eval verbatim`). Only it may name paths on the server's disk; others upload files."""
    expected = getattr(request.app.state, "local_token", None)
    if not expected or not token or not hmac.compare_digest(token, expected):
        raise HTTPException(403, "按服务器上的路径导入只限本机与服务同一数据目录的 xiaobao 命令；请在知识编辑台上传文件。")
    return LOCAL_OPERATOR


def tester(request: Request, staff: MaybeStaff, token: Annotated[str | None, Header(alias=LOCAL_TOKEN)] = None) -> str:
    """Who may run hit tests: a helper or editor, or the local command line (evaluations of a data
    directory that the running service holds)."""
    if token is not None:
        return local_operator(request, token)
    return with_role("helper", "editor")(logged_in(staff)).username


Local = Annotated[str, Depends(local_operator)]
Tester = Annotated[str, Depends(tester)]
Helper = Annotated[Staff, Depends(with_role("helper"))]
Editor = Annotated[Staff, Depends(with_role("editor"))]
Admin = Annotated[Staff, Depends(with_role("admin"))]
HelperOrEditor = Annotated[Staff, Depends(with_role("helper", "editor"))]


async def read_upload(upload: UploadFile, subject: str = "文件", limit: int = MAX_UPLOAD) -> bytes:
    """The upload's bytes, reading no more than the limit: 413 past it."""
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise HTTPException(413, f"{subject}太大（上限 {limit / 1024 / 1024:g} MB）")
    return data
