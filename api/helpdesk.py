"""The online helpers' desk: the board of waiting hand-offs, claiming one, replying, Xiaobao's draft
reply, transfer, giving back and closing (optionally saving the answer as knowledge)."""

from typing import Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from xiaobao.api.deps import Helper, ServicesDep
from xiaobao.operations.metrics import handoff_stats

router = APIRouter(tags=["线上帮办"])


class ReplyIn(BaseModel):
    text: str = Field(min_length=1, max_length=2000)


class TransferIn(BaseModel):
    to: str = Field(min_length=1, max_length=64)


class CloseIn(BaseModel):
    outcome: Literal["resolved", "unresolved", "referred"]
    save_as_knowledge: bool = False
    question: str = Field("", max_length=200)
    answer: str = Field("", max_length=5000)


# the fixed paths come before /api/helpdesk/{handoff_id}, which would otherwise take them
@router.get("/api/helpdesk/board")
def board(services: ServicesDep, helper: Helper) -> dict:
    return services.desk.board(helper)


@router.get("/api/helpdesk/stats")
def stats(services: ServicesDep, helper: Helper) -> dict:
    """First responses and outcomes of every hand-off so far (the dashboard has them per period)."""
    with Session(services.db_engine) as session:
        return handoff_stats(session)


@router.post("/api/helpdesk/{handoff_id}/claim")
def claim(services: ServicesDep, handoff_id: int, helper: Helper) -> dict:
    return services.desk.claim(handoff_id, helper)


@router.get("/api/helpdesk/{handoff_id}")
def detail(services: ServicesDep, handoff_id: int, helper: Helper) -> dict:
    return services.desk.detail(handoff_id, helper)


@router.post("/api/helpdesk/{handoff_id}/reply")
def reply(services: ServicesDep, handoff_id: int, body: ReplyIn, helper: Helper) -> dict:
    return services.desk.reply(handoff_id, helper, body.text)


@router.post("/api/helpdesk/{handoff_id}/suggestion")
def suggestion(services: ServicesDep, handoff_id: int, helper: Helper) -> dict:
    """Xiaobao's draft answer to the citizen's last question (not sent)."""
    question = services.desk.detail(handoff_id, helper)["last_question"]
    if not question:
        raise HTTPException(422, "这个会话里还没有群众的提问")
    return {"question": question, **services.engine.suggest(question)}


@router.post("/api/helpdesk/{handoff_id}/transfer")
def transfer(services: ServicesDep, handoff_id: int, body: TransferIn, helper: Helper) -> dict:
    return services.desk.transfer(handoff_id, helper, body.to)


@router.post("/api/helpdesk/{handoff_id}/return")
def give_back(services: ServicesDep, handoff_id: int, helper: Helper) -> dict:
    return services.desk.give_back(handoff_id, helper)


@router.post("/api/helpdesk/{handoff_id}/close")
def close(services: ServicesDep, handoff_id: int, body: CloseIn, helper: Helper) -> dict:
    return services.desk.close(handoff_id, helper, body.outcome, body.save_as_knowledge, body.question, body.answer)
