"""The hand-off state machine: which moves a hand-off may make, in one table, and the one function
that makes them. A hand-off is requested by a turn (the 转人工 button, a routed question, two refusals,
two 不满意), waits in the queue, is claimed by one helper, answered, and ends returned to Xiaobao,
closed with an outcome, or cancelled by the citizen:

    (request) → queued → claimed → answered → closed (outcome: returned | resolved | unresolved | referred)
                  ↑  ╰──────────────────────────→ closed (outcome: cancelled, by the citizen)
                  ╰── requeue (the helper went offline)

Every move is one conditional UPDATE (the row changes only if it is still in a state the move allows)
plus the session's status, in the caller's transaction: of two moves racing (a claim and a cancel, two
claims, a request while an answer streams), exactly one wins and the other gets HandoffConflict."""

from __future__ import annotations

from sqlalchemy import case, select, update
from sqlalchemy.orm import Session

from xiaobao.assistant.store import ChatSession, Handoff

QUEUED, CLAIMED, ANSWERED, CLOSED = "queued", "claimed", "answered", "closed"
HELD = (CLAIMED, ANSWERED)  # a helper holds the session
OPEN = (QUEUED, *HELD)

# move → (the states it may start from, the state it ends in)
MOVES: dict[str, tuple[tuple[str, ...], str]] = {
    "claim": ((QUEUED,), CLAIMED),
    "answer": (HELD, ANSWERED),
    "transfer": (HELD, CLAIMED),  # the colleague has not answered yet
    "requeue": (HELD, QUEUED),
    "cancel": ((QUEUED,), CLOSED),
    "close": (HELD, CLOSED),
}
# what the session's status is while its hand-off is in a state: Xiaobao answers unless a helper holds it
SESSION_STATUS = {QUEUED: "queued", CLAIMED: "human", ANSWERED: "human", CLOSED: "bot"}

# hand-offs that go to the front of the queue: complaints and other sensitive topics (the router's
# reason "敏感话题：投诉"…), and citizens Xiaobao has failed twice
URGENT_REASONS = ("连续两次无法回答", "连续评价不满意")


class HandoffConflict(RuntimeError):
    """The hand-off is not in a state that allows this move; the text says why, in Chinese."""


def urgent(reason: str) -> bool:
    return reason.startswith("敏感话题") or reason in URGENT_REASONS


def request(session: Session, session_id: str, reason: str, evidence: list[dict]) -> Handoff | None:
    """Queue the session for the helpers, or None if it is already queued or held. The session's
    status flips bot → queued in one conditional UPDATE, so two requests at once make one hand-off."""
    flipped = session.execute(
        update(ChatSession).where(ChatSession.id == session_id, ChatSession.status == "bot").values(status=QUEUED)
    ).rowcount
    if not flipped:
        return None
    handoff = Handoff(session_id=session_id, reason=reason[:200], evidence=evidence, status=QUEUED)
    session.add(handoff)
    session.get(ChatSession, session_id, populate_existing=True)  # the live-update hook sees the session change
    return handoff


def move(session: Session, handoff_id: int, name: str, **values) -> Handoff:
    """Make a move in the caller's transaction; HandoffConflict when the hand-off's state forbids it."""
    sources, target = MOVES[name]
    moved = session.execute(
        update(Handoff).where(Handoff.id == handoff_id, Handoff.status.in_(sources)).values(status=target, **values)
    ).rowcount
    handoff = session.get(Handoff, handoff_id, populate_existing=True)
    if not moved:
        raise HandoffConflict(_why(handoff.status if handoff else None, name))
    chat = session.get(ChatSession, handoff.session_id, populate_existing=True)
    chat.status = SESSION_STATUS[target]
    return handoff


def _why(state: str | None, name: str) -> str:
    if state is None:
        return "没有这个转人工会话"
    if state == CLOSED:
        return "这个会话已结束"
    if state == QUEUED:
        return "请先接入这个会话"
    return "这个会话已被帮办接入" if name in ("claim", "cancel") else "这个会话由其他帮办负责"


def queue(session: Session) -> list[Handoff]:
    """The waiting hand-offs in the order helpers should take them: urgent ones first, then by age."""
    front = case((Handoff.reason.like("敏感话题%"), 0), (Handoff.reason.in_(URGENT_REASONS), 0), else_=1)
    return list(session.scalars(select(Handoff).where(Handoff.status == QUEUED).order_by(front, Handoff.id)))


def current(session: Session, session_id: str) -> Handoff | None:
    """The session's open hand-off, if any."""
    return session.scalars(select(Handoff).where(Handoff.session_id == session_id, Handoff.status.in_(OPEN))).first()
