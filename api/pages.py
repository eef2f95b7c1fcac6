"""The staff consoles' pages and their assets. A console is served only to a logged-in account with
its role; anyone else is sent to the login page."""

from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path
from fastapi.responses import FileResponse, RedirectResponse

from xiaobao.api.deps import MaybeStaff

PAGES = FilePath(__file__).resolve().parents[1] / "ui" / "static"
STAFF_PAGES = {  # page -> (the role it needs, its file)
    "helper": ("helper", "helper.html"),
    "editor": ("editor", "editor.html"),
    "admin": ("admin", "admin.html"),
    "ops": ("admin", "ops.html"),
}
router = APIRouter(include_in_schema=False)
chat_entry = APIRouter(include_in_schema=False)  # only where the chat page is mounted


# before /staff/{page}, which would otherwise take it
@router.get("/staff/login")
def login_page() -> FileResponse:
    return FileResponse(PAGES / "login.html")


@router.get("/staff/static/{name}")
def staff_asset(name: Annotated[str, Path(pattern=r"^[a-z]+\.(js|css)$")]) -> FileResponse:
    if not (PAGES / name).is_file():
        raise HTTPException(404, "没有这个文件。")
    return FileResponse(PAGES / name)


@router.get("/staff/{page}", response_model=None)
def staff_page(page: str, staff: MaybeStaff) -> FileResponse | RedirectResponse:
    """The consoles are served only to a logged-in account with the page's role."""
    if page not in STAFF_PAGES:
        raise HTTPException(404, "没有这个页面。")
    role, file = STAFF_PAGES[page]
    if staff is None or not staff.can(role):
        return RedirectResponse(f"/staff/login?next=/staff/{page}", status_code=303)
    return FileResponse(PAGES / file)


@chat_entry.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/chat/")


@chat_entry.get("/widget.js")
def widget() -> FileResponse:
    """The embeddable widget: a portal page includes this one script to get the 小宝 button and panel."""
    return FileResponse(PAGES / "widget.js", media_type="text/javascript")


@chat_entry.get("/chat-assets/{name}")
def chat_asset(name: Annotated[str, Path(pattern=r"^avatar\.(js|css)$")]) -> FileResponse:
    """The digital human's script and style (ui/avatar.py), from this server like everything else."""
    return FileResponse(PAGES / name)
