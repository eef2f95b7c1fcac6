"""办不成事, the citizen's side: report a matter that could not be done, and look it up by its tracking
number. (Admins assign and close reports under /api/ops, in operations.py.)"""

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from xiaobao.api.deps import ServicesDep

router = APIRouter(tags=["办不成事"])


class ReportIn(BaseModel):
    description: str = Field(min_length=1, max_length=2000, description="没有办成的事情和经过")
    item: str | None = Field(None, max_length=200, description="涉及的事项")
    contact: str | None = Field(None, max_length=100, description="联系方式（仅工作人员可见）")
    session_id: str | None = Field(None, max_length=36, description="在对话中提交时的会话")
    session_key: str | None = Field(None, max_length=100)


@router.post("/api/reports", status_code=201)
def submit(services: ServicesDep, body: ReportIn) -> dict:
    """Report a matter that could not be done; returns the tracking number."""
    if body.session_id and not services.session_keys.valid(body.session_id, body.session_key):
        raise HTTPException(403, "无权关联这个会话。")
    return services.reports.submit(body.description, body.contact, body.item, body.session_id)


@router.get("/api/reports/{tracking_no}")
def lookup(services: ServicesDep, tracking_no: str) -> dict:
    """Look a report up by its tracking number: status and result (contact details are not shown)."""
    return services.reports.lookup(tracking_no)
