"""The hand-off desk: the queue of sessions waiting for a human, and what helpers do with them —
claim (one helper only), reply, transfer, give back to Xiaobao, close with an outcome. A helper who
stops being seen has their sessions put back in the queue."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from xiaobao.assistant.guard import mask
from xiaobao.assistant.store import ChatSession, Handoff, KnowledgeGap, Turn, add_notice, turn_dict
from xiaobao.db import aware, now
from xiaobao.identity import audit
from xiaobao.identity.accounts import Accounts, Staff, StaffUser
from xiaobao.staff.editorial import Editorial

MAX_REPLY = 2000
OUTCOMES = {"resolved": "已解决", "unresolved": "未解决", "referred": "已转相关部门"}


def _seconds(start: dt.datetime | None, end: dt.datetime | None) -> float | None:
    return round((aware(end) - aware(start)).total_seconds(), 1) if start and end else None


class DeskError(ValueError):
    """Bad input; the text says why, in Chinese."""


class HandoffNotFound(LookupError):
    pass


class Conflict(RuntimeError):
    """The hand-off is not in a state that allows this (claimed by someone else, closed…)."""


class HelpDesk:
    def __init__(self, db_engine: Engine, accounts: Accounts, editorial: Editorial, offline_after: float = 120.0) -> None:
        self.db_engine = db_engine
        self.accounts = accounts
        self.editorial = editorial
        self.offline_after = dt.timedelta(seconds=offline_after)

    # the queue ----------------------------------------------------------------------------------

    def board(self, helper: Staff) -> dict:
        """What a helper's console shows: the queue with waiting times, their own sessions, and the
        colleagues online (to transfer to)."""
        self.requeue_offline()
        moment = now()
        with Session(self.db_engine) as session:
            open_ = list(session.scalars(select(Handoff).where(Handoff.status != "closed").order_by(Handoff.id)))
            last = self._last_turns(session, [h.session_id for h in open_])
            online = self.accounts.online(moment - self.offline_after)
            colleagues = session.scalars(
                select(StaffUser).where(StaffUser.username.in_(online), StaffUser.role.in_(("helper", "admin")), StaffUser.active.is_(True))
            )
            return {
                "queued": [self._summary(h, last, moment) for h in open_ if h.status == "queued"],
                "mine": [self._summary(h, last, moment) for h in open_ if h.status == "claimed" and h.helper == helper.username],
                "others": len([h for h in open_ if h.status == "claimed" and h.helper != helper.username]),
                "helpers": [{"username": u.username, "display_name": u.display_name} for u in colleagues if u.username != helper.username],
            }

    def requeue_offline(self) -> int:
        """Sessions held by helpers not seen for `offline_after` go back to the queue."""
        cutoff = now() - self.offline_after
        with Session(self.db_engine) as session:
            online = self.accounts.online(cutoff)
            stale = list(session.scalars(select(Handoff).where(Handoff.status == "claimed", Handoff.helper.not_in(online))))
            for handoff in stale:
                audit.record(session, "system", "requeue_offline", "handoff", handoff.id, helper=handoff.helper)
                handoff.status, handoff.helper, handoff.claimed_at = "queued", None, None
                handoff.requeued = (handoff.requeued or 0) + 1
                session.get(ChatSession, handoff.session_id).status = "queued"
                add_notice(session, handoff.session_id, "帮办人员暂时离开，已为您重新排队，请稍候。")
            session.commit()
            return len(stale)

    # one hand-off -------------------------------------------------------------------------------

    def claim(self, handoff_id: int, helper: Staff) -> dict:
        with Session(self.db_engine) as session:
            # one conditional UPDATE, first statement of the transaction: of two helpers claiming at
            # once, exactly one changes the row
            claimed = session.execute(
                update(Handoff)
                .where(Handoff.id == handoff_id, Handoff.status == "queued")
                .values(status="claimed", helper=helper.username, claimed_at=now())
            ).rowcount
            if not claimed:
                session.rollback()
                handoff = session.get(Handoff, handoff_id)
                if handoff is None:
                    raise HandoffNotFound(handoff_id)
                raise Conflict("这个会话已被其他帮办接入" if handoff.status == "claimed" else "这个会话已结束")
            handoff = session.get(Handoff, handoff_id)
            session.get(ChatSession, handoff.session_id).status = "human"
            add_notice(session, handoff.session_id, f"线上帮办{helper.display_name}已接入，正在为您服务。")
            audit.record(session, helper.username, "claim", "handoff", handoff_id, session=handoff.session_id)
            session.commit()
        return self.detail(handoff_id, helper)

    def detail(self, handoff_id: int, helper: Staff) -> dict:
        """The hand-off with the whole conversation and the evidence Xiaobao had: for a session still
        waiting in the queue, the helper's own, or an admin (another helper's is "not found"); every read
        of a transcript is in the audit log."""
        with Session(self.db_engine) as session:
            handoff = self._get(session, handoff_id)
            if not (handoff.status == "queued" or handoff.helper == helper.username or helper.can("admin")):
                raise HandoffNotFound(handoff_id)
            audit.record(session, helper.username, "read_transcript", "handoff", handoff_id)
            session.commit()
            chat = session.get(ChatSession, handoff.session_id)
            return {
                **self._times(handoff),
                "id": handoff.id,
                "session_id": handoff.session_id,
                "user_ref": chat.user_ref if chat.identity else None,
                "identity": chat.identity,  # credential (实名) | demo (演示身份) | None (匿名)
                "channel": chat.channel,
                "reason": handoff.reason,
                "status": handoff.status,
                "helper": handoff.helper,
                "mine": handoff.helper == helper.username,
                "outcome": handoff.outcome,
                "evidence": handoff.evidence,
                "transcript": [turn_dict(t) for t in chat.turns],
                "last_question": next((t.text for t in reversed(chat.turns) if t.role == "user"), ""),
                "last_reply": next((t.text for t in reversed(chat.turns) if t.role == "helper"), ""),
            }

    def reply(self, handoff_id: int, helper: Staff, text: str) -> dict:
        text = (text or "").strip()
        if not text:
            raise DeskError("回复不能为空")
        if len(text) > MAX_REPLY:
            raise DeskError(f"回复不能超过 {MAX_REPLY} 字")
        with Session(self.db_engine) as session:
            handoff = self._held(session, handoff_id, helper)
            turn = Turn(
                session_id=handoff.session_id,
                role="helper",
                text=text,
                path="human",
                label="人工帮办",
                flags={"helper": helper.display_name},
            )
            session.add(turn)
            if handoff.first_reply_at is None:
                handoff.first_reply_at = now()
            audit.record(session, helper.username, "reply", "handoff", handoff_id, chars=len(text))
            session.commit()
            return turn_dict(turn)

    def transfer(self, handoff_id: int, helper: Staff, to_username: str) -> dict:
        with Session(self.db_engine) as session:
            target = session.scalar(select(StaffUser).where(StaffUser.username == to_username, StaffUser.active.is_(True)))
            if target is None or target.role not in ("helper", "admin"):
                raise DeskError(f"没有可接手的帮办：{to_username}")
            if to_username not in self.accounts.online(now() - self.offline_after):
                raise DeskError(f"{target.display_name} 当前不在线，不能转给他/她")
            handoff = self._held(session, handoff_id, helper)
            handoff.helper = to_username
            add_notice(session, handoff.session_id, f"已为您转接线上帮办{target.display_name}。")
            audit.record(session, helper.username, "transfer", "handoff", handoff_id, to=to_username)
            session.commit()
        return {"id": handoff_id, "helper": to_username, "mine": False}  # the transcript is the colleague's now

    def give_back(self, handoff_id: int, helper: Staff) -> dict:
        """Return the session to Xiaobao: the hand-off ends with outcome "returned"."""
        return self._end(handoff_id, helper, "returned", "人工服务已结束，小宝继续为您服务。")

    def close(
        self, handoff_id: int, helper: Staff, outcome: str, save_as_knowledge: bool = False, question: str = "", answer: str = ""
    ) -> dict:
        """End the hand-off with an outcome. An unresolved question becomes a knowledge gap; with
        `save_as_knowledge`, the helper's answer becomes a draft Q&A entry (personal numbers masked)."""
        if outcome not in OUTCOMES:
            raise DeskError(f"结果须为 {'、'.join(OUTCOMES)} 之一")
        view = self.detail(handoff_id, helper)
        question = mask((question or view["last_question"]).strip())
        answer = mask((answer or view["last_reply"]).strip())
        if save_as_knowledge and not (question and answer):
            raise DeskError("保存为知识需要问题和答复")
        result = self._end(handoff_id, helper, outcome, "本次人工服务已结束，感谢您的耐心。还有问题可以继续问小宝。")
        if outcome == "unresolved" and question:
            with Session(self.db_engine) as session:
                session.add(
                    KnowledgeGap(
                        session_id=view["session_id"], question=question, reason="helper_unresolved", trace={"handoff": handoff_id}
                    )
                )
                session.commit()
        if save_as_knowledge:
            with Session(self.db_engine) as session:
                gaps = list(
                    session.scalars(
                        select(KnowledgeGap.id).where(KnowledgeGap.session_id == view["session_id"], KnowledgeGap.status == "open")
                    )
                )
            source = f"线上帮办 {helper.display_name}（转人工 #{handoff_id}）"
            result["draft"] = self.editorial.create({"question": question, "answer": answer, "source": source}, helper.username, gaps)
        return result

    # --------------------------------------------------------------------------------------------

    def _end(self, handoff_id: int, helper: Staff, outcome: str, notice: str) -> dict:
        with Session(self.db_engine) as session:
            handoff = self._held(session, handoff_id, helper)
            handoff.status, handoff.outcome, handoff.closed_at = "closed", outcome, now()
            session.get(ChatSession, handoff.session_id).status = "bot"
            add_notice(session, handoff.session_id, notice)
            audit.record(session, helper.username, "close", "handoff", handoff_id, outcome=outcome)
            session.commit()
            return {"id": handoff_id, "status": "closed", "outcome": outcome}

    def _get(self, session: Session, handoff_id: int) -> Handoff:
        handoff = session.get(Handoff, handoff_id)
        if handoff is None:
            raise HandoffNotFound(handoff_id)
        return handoff

    def _held(self, session: Session, handoff_id: int, helper: Staff) -> Handoff:
        """The hand-off, if this helper holds it (an admin may act on any claimed one)."""
        handoff = self._get(session, handoff_id)
        if handoff.status != "claimed":
            raise Conflict("请先接入这个会话" if handoff.status == "queued" else "这个会话已结束")
        if handoff.helper != helper.username and helper.role != "admin":
            raise Conflict("这个会话由其他帮办负责")
        return handoff

    @staticmethod
    def _last_turns(session: Session, session_ids: list[str]) -> dict[str, Turn]:
        latest = (
            select(func.max(Turn.id)).where(Turn.session_id.in_(session_ids), Turn.role.in_(("user", "helper"))).group_by(Turn.session_id)
        )
        return {t.session_id: t for t in session.scalars(select(Turn).where(Turn.id.in_(latest)))}

    @staticmethod
    def _times(handoff: Handoff) -> dict:
        return {
            "queued_at": aware(handoff.created_at).isoformat(),
            "claimed_at": aware(handoff.claimed_at).isoformat() if handoff.claimed_at else None,
            "first_reply_at": aware(handoff.first_reply_at).isoformat() if handoff.first_reply_at else None,
            "closed_at": aware(handoff.closed_at).isoformat() if handoff.closed_at else None,
            "first_response_s": _seconds(handoff.created_at, handoff.first_reply_at),
        }

    def _summary(self, handoff: Handoff, last: dict[str, Turn], moment: dt.datetime) -> dict:
        turn = last.get(handoff.session_id)
        return {
            **self._times(handoff),
            "id": handoff.id,
            "session_id": handoff.session_id,
            "reason": handoff.reason,
            "helper": handoff.helper,
            "waiting_s": _seconds(handoff.created_at, moment),
            "last_message": turn.text[:60] if turn else "",
            # the citizen spoke last: someone owes them an answer
            "awaiting_reply": bool(turn and turn.role == "user"),
        }
