"""The tools Xiaobao can use, as an explicit registry with JSON schemas. Every argument is checked
against the schema and the database before a tool runs; a tool never sees another person's data."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from assistant.store import Application, ChatSession, Citation, Handoff, KnowledgeGap, Turn


@dataclass
class ToolResult:
    text: str
    ok: bool = True
    data: dict = field(default_factory=dict)
    offer_human: bool = False


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    parameters: dict  # JSON schema of the arguments
    run: Callable[..., ToolResult]

    def schema(self) -> dict:
        """The OpenAI-style function description, for models and clients that use one."""
        return {"type": "function", "function": {"name": self.name, "description": self.description, "parameters": self.parameters}}


_APPLICATION_ID = re.compile(r"^[A-Z]{2,4}\d{6,12}$")


class Tools:
    def __init__(self, db: Engine, search: Callable[[str], list] | None = None) -> None:
        self.db = db
        self._search = search
        self.registry: dict[str, Tool] = {
            t.name: t
            for t in (
                Tool(
                    "search_knowledge",
                    "检索官方知识库（政策、法规、办事指南、答复口径）",
                    {"type": "object", "properties": {"query": {"type": "string", "minLength": 1}}, "required": ["query"]},
                    self.search_knowledge,
                ),
                Tool(
                    "get_application_progress",
                    "查询本人名下办件的进度",
                    {
                        "type": "object",
                        "properties": {"application_id": {"type": "string", "pattern": _APPLICATION_ID.pattern}},
                        "required": ["application_id"],
                    },
                    self.get_application_progress,
                ),
                Tool(
                    "prefill_form",
                    "用政府已有数据预填办事表单",
                    {"type": "object", "properties": {"item_id": {"type": "string"}}, "required": []},
                    self.prefill_form,
                ),
                Tool("match_policies", "查找企业可享受的免申即享政策", {"type": "object", "properties": {}}, self.match_policies),
                Tool(
                    "handoff_to_human",
                    "转接线上人工帮办",
                    {"type": "object", "properties": {"reason": {"type": "string"}}, "required": ["reason"]},
                    self.handoff_to_human,
                ),
            )
        }

    def call(self, name: str, arguments: dict, *, session_id: str, user_ref: str | None) -> ToolResult:
        tool = self.registry.get(name)
        if tool is None:
            return ToolResult(f"未知的工具：{name}", ok=False)
        missing = [key for key in tool.parameters.get("required", []) if not arguments.get(key)]
        unknown = set(arguments) - set(tool.parameters.get("properties", {}))
        if unknown:
            return ToolResult("参数有误。", ok=False, data={"unknown": sorted(unknown)})
        if missing and name == "get_application_progress":
            return ToolResult("请告诉我您的办件编号（例如 BS20240001），我来为您查询进度。", ok=False, data={"missing": missing})
        if missing:
            return ToolResult("参数不完整。", ok=False, data={"missing": missing})
        return tool.run(session_id=session_id, user_ref=user_ref, **arguments)

    def search_knowledge(self, *, query: str, session_id: str, user_ref: str | None) -> ToolResult:
        hits = self._search(query) if self._search else []
        return ToolResult("；".join(h.citation for h in hits[:5]) or "没有找到相关内容。", data={"hits": len(hits)})

    def get_application_progress(self, *, application_id: str, session_id: str, user_ref: str | None) -> ToolResult:
        application_id = application_id.strip().upper()
        if not _APPLICATION_ID.match(application_id):
            return ToolResult("办件编号格式不对，请核对后再试（例如 BS20240001）。", ok=False)
        if user_ref is None:
            return ToolResult("查询办件进度需要先实名登录，登录后我可以为您查询本人名下的办件。", ok=False, data={"reason": "anonymous"})
        with Session(self.db) as db:
            application = db.get(Application, application_id)
            # someone else's case and a case that does not exist get the same answer
            if application is None or application.applicant_ref != user_ref:
                return ToolResult(
                    f"没有查到您名下编号为 {application_id} 的办件，请核对编号。",
                    ok=False,
                    data={"application_id": application_id, "found": False},
                    offer_human=True,
                )
            today = dt.date.today()
            overdue = application.promised_date is not None and application.promised_date < today and application.status != "已办结"
            lines = [f"办件 {application.id}（{application.item}）当前状态：{application.status}。"]
            if application.timeline:
                last = application.timeline[-1]
                lines.append(f"最近进展：{last['at'][:10]} {last['event']}。")
            if application.next_step:
                lines.append(f"下一步：{application.next_step}。")
            if application.promised_date:
                lines.append(f"承诺办结日期：{application.promised_date.isoformat()}" + ("，已超期，建议转人工催办。" if overdue else "。"))
            data = {"application_id": application.id, "status": application.status, "overdue": overdue}
            return ToolResult("".join(lines), data=data, offer_human=overdue)

    def prefill_form(self, *, session_id: str, user_ref: str | None, item_id: str | None = None) -> ToolResult:
        return ToolResult(
            "智能预填功能即将开通，目前请在办事页面填写表单；如需帮助可转人工。", ok=False, data={"available": False}, offer_human=True
        )

    def match_policies(self, *, session_id: str, user_ref: str | None) -> ToolResult:
        return ToolResult(
            "“免申即享”政策匹配功能即将开通；您可以先问我具体政策的适用条件，或转人工咨询。",
            ok=False,
            data={"available": False},
            offer_human=True,
        )

    def handoff_to_human(self, *, reason: str, session_id: str, user_ref: str | None) -> ToolResult:
        """Queue the session for the helpers, with what Xiaobao found so far as evidence."""
        with Session(self.db) as db:
            session = db.get(ChatSession, session_id)
            if session.status != "bot":
                return ToolResult("您已在人工帮办的队列中，工作人员会尽快回复您，请稍候。", data={"already": session.status})
            session.status = "queued"
            gap = db.scalars(select(KnowledgeGap).where(KnowledgeGap.session_id == session_id).order_by(KnowledgeGap.id.desc())).first()
            cited = db.scalars(
                select(Citation).join(Turn).where(Turn.session_id == session_id).order_by(Citation.id.desc()).limit(3)
            ).all()
            evidence = [{"citation": c.citation, "text": c.text[:300], "cited": True} for c in cited]
            evidence += [{**hit, "cited": False} for hit in (gap.trace.get("hits", []) if gap else [])[:5]]
            handoff = Handoff(session_id=session_id, reason=reason[:200], evidence=evidence)
            db.add(handoff)
            db.commit()
            return ToolResult("已为您转接线上人工帮办，工作时间内 1 分钟内会有工作人员回复您，请稍候。", data={"handoff_id": handoff.id})
