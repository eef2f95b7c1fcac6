"""The hand-off desk: the queue of sessions waiting for a human, and what helpers do with them —
claim (one helper only), reply, transfer, give back to Xiaobao, close with an outcome — and what the
waiting citizen sees: the place in the queue, the helpers online, cancelling. A helper who stops being
seen has their sessions put back in the queue. Every change of a hand-off is a move of the state
machine in assistant/handoffs.py, made in the same transaction as the notice the citizen sees."""

from __future__ import annotations

import datetime as dt
import math
import statistics

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from xiaobao.assistant import handoffs
from xiaobao.assistant.guard import mask
from xiaobao.assistant.handoffs import HELD, HandoffConflict
from xiaobao.assistant.store import ChatSession, Handoff, KnowledgeGap, Turn, add_notice, turn_dict
from xiaobao.db import aware, now
from xiaobao.identity import audit
from xiaobao.identity.accounts import Accounts, Staff, StaffUser
from xiaobao.staff.editorial import Editorial

MAX_REPLY = 2000
OUTCOMES = {"resolved": "已解决", "unresolved": "未解决", "referred": "已转相关部门"}


def _seconds(start: dt.datetime | None, end: dt.datetime | None) -> float | None:
    return round((aware(end) - aware(start)).total_seconds(), 1) if start and end else None


def _minutes(seconds: float) -> str:
    return f"{max(1, math.ceil(seconds / 60))} 分钟"


def _last_question(turns: list[Turn], before: int | None = None) -> str:
    """The citizen's last message (before turn `before`, when given)."""
    return next((t.text for t in reversed(turns) if t.role == "user" and (before is None or t.id < before)), "")


class DeskError(ValueError):
    """Bad input; the text says why, in Chinese."""


class HandoffNotFound(LookupError):
    pass


Conflict = HandoffConflict  # the hand-off is not in a state that allows this (claimed by someone else, closed…)
TYPICAL_WAIT_S = 60.0  # a helper's time to first reply, until there are hand-offs to measure it on


class HelpDesk:
    def __init__(self, db_engine: Engine, accounts: Accounts, editorial: Editorial, offline_after: float = 120.0) -> None:
        self.db_engine = db_engine
        self.accounts = accounts
        self.editorial = editorial
        self.offline_after = dt.timedelta(seconds=offline_after)

    # the queue ----------------------------------------------------------------------------------

    def board(self, helper: Staff) -> dict:
        """What a helper's console shows: the queue in the order to take it (complaints and twice-failed
        citizens first) with waiting times, their own sessions, and the colleagues online."""
        self.requeue_offline()
        moment = now()
        with Session(self.db_engine) as session:
            queued = handoffs.queue(session)
            held = list(session.scalars(select(Handoff).where(Handoff.status.in_(HELD)).order_by(Handoff.id)))
            last = self._last_turns(session, [h.session_id for h in (*queued, *held)])
            colleagues = self._online_helpers(session)
            return {
                "queued": [self._summary(h, last, moment) for h in queued],
                "mine": [self._summary(h, last, moment) for h in held if h.helper == helper.username],
                "others": len([h for h in held if h.helper != helper.username]),
                "helpers": [{"username": u.username, "display_name": u.display_name} for u in colleagues if u.username != helper.username],
            }

    def requeue_offline(self) -> int:
        """Sessions held by helpers not seen for `offline_after` go back to the queue."""
        cutoff = now() - self.offline_after
        with Session(self.db_engine) as session:
            online = self.accounts.online(cutoff)
            stale = list(session.scalars(select(Handoff).where(Handoff.status.in_(HELD), Handoff.helper.not_in(online))))
            for handoff in stale:
                audit.record(session, "system", "requeue_offline", "handoff", handoff.id, helper=handoff.helper)
                requeued = (handoff.requeued or 0) + 1
                handoffs.move(session, handoff.id, "requeue", helper=None, claimed_at=None, requeued=requeued)
                add_notice(session, handoff.session_id, "帮办人员暂时离开，已为您重新排队，请稍候。")
            session.commit()
            return len(stale)

    def waiting(self, session_id: str) -> dict | None:
        """What the citizen's page says about their hand-off: the place in the queue and an estimate
        from the helpers actually online (none online: said so), or who is serving them; None without
        an open hand-off."""
        with Session(self.db_engine) as session:
            handoff = handoffs.current(session, session_id)
            if handoff is None:
                return None
            if handoff.status in HELD:
                helper = session.scalar(select(StaffUser.display_name).where(StaffUser.username == handoff.helper))
                return {"status": handoff.status, "helper": helper, "text": f"线上帮办{helper or ''}正在为您服务。"}
            queue = handoffs.queue(session)
            position = next(i for i, h in enumerate(queue, start=1) if h.id == handoff.id)
            online = len(self._online_helpers(session))
            view = {"status": handoff.status, "position": position, "helpers_online": online, "estimate_s": None}
            if not online:
                view["text"] = (
                    f"您在人工队列第 {position} 位。目前没有帮办人员在线：您可以直接留言，帮办上线后会看到并回复；"
                    "等待期间小宝会继续回答它知道的问题。"
                )
                return view
            view["estimate_s"] = math.ceil(position / online) * self._typical_wait(session)
            view["text"] = (
                f"您在人工队列第 {position} 位，在线帮办 {online} 人，预计约 {_minutes(view['estimate_s'])}内接入。"
                "等待期间小宝会继续回答它知道的问题。"
            )
            return view

    def cancel(self, session_id: str) -> dict:
        """The citizen stops waiting: the queued hand-off ends "cancelled" and Xiaobao carries on."""
        with Session(self.db_engine) as session:
            handoff = handoffs.current(session, session_id)
            if handoff is None:
                raise DeskError("您当前没有在等待人工帮办")
            handoffs.move(session, handoff.id, "cancel", outcome="cancelled", closed_at=now())
            add_notice(session, session_id, "您已取消等待人工帮办，小宝继续为您服务。")
            audit.record(session, "citizen", "cancel", "handoff", handoff.id)
            session.commit()
            return {"id": handoff.id, "status": "closed", "outcome": "cancelled"}

    # one hand-off -------------------------------------------------------------------------------

    def claim(self, handoff_id: int, helper: Staff) -> dict:
        with Session(self.db_engine) as session:
            self._get(session, handoff_id)
            # one conditional UPDATE: of two helpers claiming at once, exactly one changes the row
            handoff = handoffs.move(session, handoff_id, "claim", helper=helper.username, claimed_at=now())
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
            turns = chat.turns
            last_reply = next((t for t in reversed(turns) if t.role == "helper"), None)
            return {
                **self._times(handoff),
                "id": handoff.id,
                "session_id": handoff.session_id,
                "user_ref": chat.user_ref if chat.identity else None,
                "identity": chat.identity,  # credential (实名) | demo (演示身份) | None (匿名)
                "channel": chat.channel,
                "reason": handoff.reason,
                "urgent": handoffs.urgent(handoff.reason),
                "status": handoff.status,
                "helper": handoff.helper,
                "mine": handoff.helper == helper.username,
                "outcome": handoff.outcome,
                "evidence": handoff.evidence,
                "transcript": [turn_dict(t) for t in turns],
                "last_question": _last_question(turns),
                # what 保存为知识 starts from: the question the helper's last reply answered (the
                # citizen may have said "好的，…" after it), and that reply
                "answered_question": _last_question(turns, last_reply.id if last_reply else None) or _last_question(turns),
                "last_reply": last_reply.text if last_reply else "",
            }

    def reply(self, handoff_id: int, helper: Staff, text: str) -> dict:
        text = (text or "").strip()
        if not text:
            raise DeskError("回复不能为空")
        if len(text) > MAX_REPLY:
            raise DeskError(f"回复不能超过 {MAX_REPLY} 字")
        with Session(self.db_engine) as session:
            handoff = self._held(session, handoff_id, helper)
            handoffs.move(session, handoff_id, "answer", first_reply_at=handoff.first_reply_at or now())
            turn = Turn(
                session_id=handoff.session_id,
                role="helper",
                text=text,
                path="human",
                label="人工帮办",
                flags={"helper": helper.display_name},
            )
            session.add(turn)
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
            handoffs.move(session, handoff_id, "transfer", helper=to_username)
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
        question = mask((question or view["answered_question"]).strip())
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
            handoffs.move(session, handoff_id, "close", outcome=outcome, closed_at=now())
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
        """The hand-off, if this helper holds it (an admin may act on any held one)."""
        handoff = self._get(session, handoff_id)
        if handoff.status not in HELD:
            raise Conflict("请先接入这个会话" if handoff.status == "queued" else "这个会话已结束")
        if handoff.helper != helper.username and helper.role != "admin":
            raise Conflict("这个会话由其他帮办负责")
        return handoff

    def _online_helpers(self, session: Session) -> list[StaffUser]:
        online = self.accounts.online(now() - self.offline_after)
        return list(
            session.scalars(
                select(StaffUser).where(StaffUser.username.in_(online), StaffUser.role.in_(("helper", "admin")), StaffUser.active.is_(True))
            )
        )

    @staticmethod
    def _typical_wait(session: Session) -> float:
        """The median time to a first reply over the last 20 answered hand-offs."""
        rows = session.execute(
            select(Handoff.created_at, Handoff.first_reply_at)
            .where(Handoff.first_reply_at.is_not(None))
            .order_by(Handoff.id.desc())
            .limit(20)
        ).all()
        return round(statistics.median(_seconds(a, b) for a, b in rows)) if rows else TYPICAL_WAIT_S

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
            "urgent": handoffs.urgent(handoff.reason),
            "helper": handoff.helper,
            "waiting_s": _seconds(handoff.created_at, moment),
            "last_message": turn.text[:60] if turn else "",
            # the citizen spoke last: someone owes them an answer
            "awaiting_reply": bool(turn and turn.role == "user"),
        }
