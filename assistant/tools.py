"""The tools Xiaobao can use, as an explicit registry with JSON schemas. Every argument is checked
against the schema and the database before a tool runs; a tool never sees another person's data."""

from __future__ import annotations

import datetime as dt
import hmac
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from xiaobao.assistant import handoffs
from xiaobao.assistant.reports import ReportError, ReportNotFound, Reports
from xiaobao.assistant.router import Route
from xiaobao.assistant.store import Citation, KnowledgeGap, ToolCall, Turn
from xiaobao.govdata.addresses import AddressError, check_address
from xiaobao.govdata.bundles import Bundle, BundleError, Bundles, asking, check_answers, choose, next_question, plan, preset_answers
from xiaobao.govdata.library import Library
from xiaobao.govdata.materials import Template, Templates, document, generate, pdf
from xiaobao.govdata.policies import matches_for
from xiaobao.govdata.prefill import applicant_records, prefill
from xiaobao.govdata.records import Directory, ServiceItem
from xiaobao.identity.access import SessionKeys
from xiaobao.prereview.review import ReviewBusy, Reviewer


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
LOGIN_FIRST = "这项服务需要先实名登录（个人或企业），登录后我可以用您本人的信息为您办理。"
_MYSELF = {"我", "本人", "我本人", "我自己", "自己", "是我", "就我", "我来"}
_STOP = re.compile(r"(算了|不写了|不用了|不要了|不生成了|先不(写|生成|弄)了?|取消|停止)[吧啊。！!]*")
# yes to the material Xiaobao offered next (好的 / 可以 / 开始吧 / 继续生成)
_GO = re.compile(
    r"(好|好的|好啊|好吧|可以|可以的|行|嗯|是|是的|要|需要|开始|继续|下一份|生成)[吧啊呀，,]*(开始|继续|生成)?(吧|生成)?[。！!]*"
)
RENDER = {"docx": document, "pdf": pdf}
LINK_SECONDS = 600  # a signed download link stays valid 10 to 20 minutes (the same link for 10 minutes)


def _signature(keys: SessionKeys, session_id: str, template_id: str, kind: str, expires: int) -> str:
    # the service's HMAC over what the link opens; "download" keeps it from being any session's key
    return keys.issue(f"download\n{session_id}\n{template_id}\n{kind}\n{expires}")


def signed_download(keys: SessionKeys, session_id: str, template_id: str, kind: str, now: float | None = None) -> str:
    """A short-lived link to a generated material, for a page that must not put the session key in a
    URL (the chat page): it names the file and its expiry, signed with the service's secret."""
    expires = (int(now or time.time()) // LINK_SECONDS + 2) * LINK_SECONDS
    signature = _signature(keys, session_id, template_id, kind, expires)
    return f"/api/sessions/{session_id}/materials/{template_id}?format={kind}&expires={expires}&signature={signature}"


def valid_download(keys: SessionKeys, session_id: str, template_id: str, kind: str, expires: int, signature: str) -> bool:
    now = time.time()
    if not now < expires <= now + 2 * LINK_SECONDS:
        return False
    return hmac.compare_digest(_signature(keys, session_id, template_id, kind, expires).encode(), signature.encode(errors="replace"))


def verdict(review: dict | None) -> str:
    """A generated document's pre-review, as shown next to its download."""
    if review is None:
        return "预审：暂时繁忙，未能检查，提交前可在“材料预审”中上传检查"
    if review["result"] == "pass":
        return f"预审：通过（{review['points']} 项要点）"
    word = "不通过" if review["result"] == "fail" else "需人工确认"
    return f"预审：{word}（{'；'.join(review['problems'])}）"


def _valid_until(review, material_id: str) -> dt.date | None:
    """The end of validity the pre-review read on a material: its unexpired point's evidence is
    "有效期至 YYYY-MM-DD" (or 长期, no end); None where the material has no such point."""
    for point in review.points:
        if point.material_id == material_id and point.check == "unexpired":
            shown = point.evidence.removeprefix("有效期至 ")
            return dt.date.fromisoformat(shown) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", shown) else None
    return None


class Tools:
    def __init__(
        self,
        db_engine: Engine,
        directory: Directory,
        reports: Reports,
        reviewer: Reviewer,
        search: Callable[[str], list] | None = None,
        templates: Templates | None = None,
        bundles: Bundles | None = None,
        library: Library | None = None,
    ) -> None:
        self.db_engine = db_engine
        self.directory = directory
        self.reports = reports
        self.reviewer = reviewer
        self.templates = templates
        self.bundles = bundles
        self.library = library
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
                    "查询本人名下办件的进度；不给编号时列出本人的办件",
                    {"type": "object", "properties": {"application_id": {"type": "string", "pattern": _APPLICATION_ID.pattern}}},
                    self.get_application_progress,
                ),
                Tool(
                    "prefill_form",
                    "用政府已有数据预填办事表单（item 为事项编号或名称；again=true 表示以上一次申请为底“再来一单”）",
                    {"type": "object", "properties": {"item": {"type": "string"}, "again": {"type": "boolean"}}},
                    self.prefill_form,
                ),
                Tool(
                    "service_guide",
                    "查询事项的办事指南：办理部门、受理条件、申请材料、办理时限（item 为事项编号或名称）",
                    {"type": "object", "properties": {"item": {"type": "string", "minLength": 1}}, "required": ["item"]},
                    self.service_guide,
                ),
                Tool(
                    "generate_material",
                    "用政府已有数据生成申请材料（DOCX、PDF），数据里没有的逐项询问申请人（material：材料或事项名称；answers：已回答的字段；"
                    "stop：不再生成）",
                    {
                        "type": "object",
                        "properties": {
                            "material": {"type": "string", "minLength": 1},
                            "answers": {"type": "object"},
                            "stop": {"type": "boolean"},
                        },
                    },
                    self.generate_material,
                ),
                Tool(
                    "registered_address",
                    "查询企业住所地址库（无忧快注）：地址标准化后是否在库、属于哪个园区或集中登记地、能否免于提交住所使用证明"
                    "（address：地址，或含地址的一句话）",
                    {"type": "object", "properties": {"address": {"type": "string", "minLength": 1}}, "required": ["address"]},
                    self.registered_address,
                ),
                Tool(
                    "bundle_guide",
                    "“一件事”情形引导：逐一询问申请人的情形，最后列出要办的事项、预填的表单、需提交和免于提交的材料"
                    "（text：申请人的话；bundle：一件事编号；answers：一次给出的情形回答 {问题编号: 选项}；answer：对当前问题的回答）",
                    {
                        "type": "object",
                        "properties": {
                            "text": {"type": "string"},
                            "bundle": {"type": "string"},
                            "answers": {"type": "object"},
                            "answer": {"type": "string"},
                        },
                    },
                    self.bundle_guide,
                ),
                Tool(
                    "match_policies",
                    "查找本企业可享受的免申即享政策，逐条说明是否符合",
                    {"type": "object", "properties": {}},
                    self.match_policies,
                ),
                Tool(
                    "prereview_materials",
                    "预审上传的申请材料（材料通过接口或页面上传）",
                    {"type": "object", "properties": {"item": {"type": "string"}, "files": {"type": "array", "items": {"type": "string"}}}},
                    self.prereview_hint,
                ),
                Tool(
                    "report_unresolved",
                    "“办不成事”反映：登记一件没有办成的事，给出查询编号；或按编号查询办理情况",
                    {
                        "type": "object",
                        "properties": {"text": {"type": "string"}, "contact": {"type": "string"}, "tracking_no": {"type": "string"}},
                    },
                    self.report_unresolved,
                ),
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
        if missing:
            return ToolResult("参数不完整。", ok=False, data={"missing": missing})
        return tool.run(session_id=session_id, user_ref=user_ref, **arguments)

    def find_item(self, text: str | None) -> ServiceItem | None:
        """The service item named by id, name or alias in the text (the longest name that occurs)."""
        if not text:
            return None
        items = self.directory.items()
        exact = next((i for i in items if i.id == text.strip()), None)
        if exact:
            return exact
        named = [(len(name), item) for item in items for name in (item.name, *item.aliases) if name in text]
        return max(named, key=lambda pair: pair[0])[1] if named else None

    def search_knowledge(self, *, query: str, session_id: str, user_ref: str | None) -> ToolResult:
        hits = self._search(query) if self._search else []
        return ToolResult("；".join(h.citation for h in hits[:5]) or "没有找到相关内容。", data={"hits": len(hits)})

    def get_application_progress(self, *, session_id: str, user_ref: str | None, application_id: str | None = None) -> ToolResult:
        if user_ref is None:
            return ToolResult("查询办件进度需要先实名登录，登录后我可以为您查询本人名下的办件。", ok=False, data={"reason": "anonymous"})
        mine = self.directory.applications(user_ref)
        if not application_id:
            if not mine:
                return ToolResult("您名下暂时没有办件。", data={"applications": []})
            lines = [f"· {a['id']} {a['item']}：{a['status']}" for a in mine[-5:]]
            return ToolResult(
                "您名下的办件：\n" + "\n".join(lines) + "\n告诉我办件编号可以查看详细进度。", data={"applications": [a["id"] for a in mine]}
            )
        application_id = application_id.strip().upper()
        if not _APPLICATION_ID.match(application_id):
            return ToolResult("办件编号格式不对，请核对后再试（例如 BS20240001）。", ok=False)
        application = next((a for a in mine if a["id"] == application_id), None)
        # someone else's case and a case that does not exist get the same answer
        if application is None:
            return ToolResult(
                f"没有查到您名下编号为 {application_id} 的办件，请核对编号。",
                ok=False,
                data={"application_id": application_id, "found": False},
                offer_human=True,
            )
        promised = dt.date.fromisoformat(application["promised_date"]) if application["promised_date"] else None
        overdue = promised is not None and promised < dt.date.today() and application["status"] != "已办结"
        lines = [f"办件 {application['id']}（{application['item']}）当前状态：{application['status']}。"]
        for event in application["timeline"]:
            lines.append(f"\n· {event['at'][:16].replace('T', ' ')} {event['event']}")
        if application["next_step"]:
            lines.append(f"\n下一步：{application['next_step']}。")
        if promised:
            lines.append(f"\n承诺办结日期：{promised.isoformat()}" + ("，已超期，建议转人工催办。" if overdue else "。"))
        data = {
            "application_id": application["id"],
            "status": application["status"],
            "overdue": overdue,
            "timeline": application["timeline"],
        }
        return ToolResult("".join(lines), data=data, offer_human=overdue)

    def prefill_form(self, *, session_id: str, user_ref: str | None, item: str | None = None, again: bool = False) -> ToolResult:
        if user_ref is None:
            return ToolResult(LOGIN_FIRST, ok=False, data={"reason": "anonymous"})
        mine = self.directory.applications(user_ref)
        service = self.find_item(item)
        previous = None
        if again:  # 再来一单: the latest application of that item (or the latest at all)
            candidates = [a for a in mine if service is None or a.get("item_id") == service.id]
            previous = candidates[-1] if candidates else None
            if previous and service is None:
                service = self.directory.item(previous.get("item_id") or "")
        if service is None:
            names = "、".join(i.name for i in self.directory.items() if i.form)
            return ToolResult(f"请告诉我要办理哪个事项，目前可以预填：{names}。", ok=False, data={"reason": "no_item"})
        person, enterprise = applicant_records(self.directory, service, user_ref)
        if person is None and enterprise is None:
            kind = "企业" if service.applicant == "enterprise" else "个人"
            return ToolResult(
                f"《{service.name}》需要以{kind}身份申请，没有找到您的{kind}登记信息。", ok=False, data={"reason": "no_record"}
            )
        result = prefill(service, person, enterprise, previous)
        lines = [f"已为您预填《{service.name}》（{result.filled}/{len(result.fields)} 项）："]
        lines += [f"· {f.label}：{f.value}（来源：{f.source}）" for f in result.fields if f.value is not None]
        if result.missing:
            lines.append(f"还需要您填写：{'、'.join(result.missing)}。")
        mine = self.library.reusable(user_ref) if self.library else {}
        reusable = [mine[m.name] for m in service.materials if m.name in mine]
        if reusable:  # offered instead of asked for again
            kept = "、".join(m["type"] + (f"（有效期至 {m['valid_until']}）" if m["valid_until"] else "") for m in reusable)
            lines.append(f"您的电子材料库中已有：{kept}，提交时可直接复用，无需再次上传。")
        lines.append("请核对以上信息，确认无误后提交。")
        return ToolResult("\n".join(lines), data={**result.to_dict(), "reusable": [m["id"] for m in reusable]})

    def service_guide(self, *, session_id: str, user_ref: str | None, item: str) -> ToolResult:
        """An item's guide: the district's own items first, then an imported catalogue's (named as such)."""
        service = self.find_item(item) or next((i for i in self.directory.items() if item.strip() in i.name), None)
        if service is None:
            return ToolResult(f"没有找到“{item}”这个事项，请换个说法，或告诉我事项编号。", ok=False, data={"reason": "no_item"})
        lines = [f"《{service.name}》（{service.id}），办理部门：{service.department}。"]
        guide = service.guide
        if guide is not None:
            lines[0] = f"以下为{guide.region}发布的办事指南，不是宝山区的规定：" + lines[0]
            if guide.conditions:
                lines.append(f"受理条件：{guide.conditions}")
            if guide.materials:
                lines.append("申请材料：" + "；".join(f"{n}. {m}" for n, m in enumerate(guide.materials, start=1)))
            limits = {"法定": guide.time_limit_legal, "承诺": guide.time_limit_promised}
            if any(limits.values()):
                lines.append("办理时限：" + "，".join(f"{kind} {limit}" for kind, limit in limits.items() if limit))
            # some guides write the label into the value itself ("办理地点：…")
            place = guide.location.removeprefix("办理地点：") if guide.location else None
            more = {"办理地点": place, "咨询电话": guide.phone, "网上办理": guide.url}
            lines += [f"{label}：{value}" for label, value in more.items() if value]
        else:
            if service.materials:
                lines.append("申请材料：" + "；".join(f"{n}. {m.name}" for n, m in enumerate(service.materials, start=1)))
            if service.promised_days:
                lines.append(f"承诺办结时限：{service.promised_days} 个工作日")
        return ToolResult("\n".join(lines), data={"item": service.model_dump(mode="json")})

    def generate_material(
        self,
        *,
        session_id: str,
        user_ref: str | None,
        material: str | None = None,
        answers: dict | None = None,
        stop: bool = False,
    ) -> ToolResult:
        if user_ref is None:
            return ToolResult(LOGIN_FIRST, ok=False, data={"reason": "anonymous"})
        templates = self.templates.all() if self.templates else {}
        template = self.templates.find(material) if self.templates else None
        if template is None:
            service = self.find_item(material)
            template = next((t for t in templates.values() if service and t.item_id == service.id), None)
        if template is None:
            names = "、".join(t.name for t in templates.values())
            return ToolResult(f"这份材料暂不能自动生成，目前可以生成：{names}。", ok=False, data={"reason": "no_template"})
        if stop:
            text = f"好的，《{template.name}》先不生成了。需要时说“帮我生成{template.name}”即可重新开始。"
            return ToolResult(text, data={"template": template.id, "stopped": True})
        service = self.directory.item(template.item_id)
        person, enterprise = applicant_records(self.directory, service, user_ref) if service else (None, None)
        if person is None and enterprise is None:
            kind = "企业" if template.applicant == "enterprise" else "个人"
            text = f"《{template.name}》需要以{kind}身份申请，没有找到您的{kind}登记信息。"
            return ToolResult(text, ok=False, data={"reason": "no_record"})
        unknown = sorted(set(answers or {}) - {f.name for f in template.fields})
        if unknown:
            fields = "、".join(f"{f.name}（{f.label}）" for f in template.fields)
            text = f"《{template.name}》没有这些字段：{'、'.join(unknown)}。可以回答的字段：{fields}。"
            return ToolResult(text, ok=False, data={"reason": "unknown_fields", "unknown": unknown})
        reused = {}
        if answers is None:  # a start in the chat: what the applicant already told this session is not asked again
            reused = {k: v for k, v in self._answered(session_id).items() if k in {f.name for f in template.fields if not f.sources}}
            answers = reused
        if person is not None:  # 执行董事由谁担任？——“我本人”: the applicant's own name, as the 人口库 has it
            answers = {k: person.name if str(v).strip() in _MYSELF else v for k, v in answers.items()}
        uploads = self.library.readings(user_ref) if self.library else None  # what the pre-review read in the user's uploads
        result = generate(template, person, enterprise, answers, uploads=uploads)
        lines = [f"《{template.name}》已填写 {len(result.fields) - len(result.questions)}/{len(result.fields)} 项："]
        lines += [f"· {f.label}：{f.value}（来源：{f.source}）" for f in result.fields if f.value is not None]
        if reused:
            lines.append("已沿用您在本次对话中的回答：" + "、".join(f.label for f in template.fields if f.name in reused) + "。")
        lines += [f"！{c}" for c in result.conflicts] + [f"！{r}，请重新提供" for r in result.rejected]
        data = result.to_dict()
        if result.questions:  # one question at a time: the next message answers it (pending_material)
            lines.append(f"还需要 {len(result.questions)} 项信息。{result.questions[0]['question']}")
            return ToolResult("\n".join(lines), data=data)
        url = f"/api/sessions/{session_id}/materials/{template.id}"
        data["downloads"] = {kind: f"{url}?format={kind}" for kind in RENDER}
        # the round trip: the generated document goes through the same pre-review as an upload
        data["prereview"] = {kind: self._review_generated(template, data, kind, person, enterprise) for kind in RENDER}
        lines.append("材料已生成，可以下载 DOCX 或 PDF（链接见下方）；提交前请核对。")
        lines.append("；".join(f"{kind.upper()} {verdict(review)}" for kind, review in data["prereview"].items()))
        following = self._offered_next(session_id, template.id)
        if following:
            data["next"] = following.id
            lines.append(f"接下来可以生成《{following.name}》，回复“好的”继续。")
        return ToolResult("\n".join(lines), data=data)

    def _review_generated(self, template: Template, generated: dict, kind: str, person, enterprise) -> dict | None:
        """The pre-review's points for this material on the generated file; None when the reviewer is busy."""
        service = self.directory.item(template.item_id)
        try:
            review = self.reviewer.review(service, [(f"{template.name}.{kind}", RENDER[kind](template, generated))], person, enterprise)
        except ReviewBusy:
            return None
        points = [p for p in review.points if p.material_id == template.material_id]
        results = {p.result for p in points}
        result = "fail" if "fail" in results or not points else "uncertain" if results - {"pass"} else "pass"
        problems = [f"{p.label}：{p.evidence}" for p in points if p.result != "pass"] or ([] if points else ["事项没有这份材料的预审要点"])
        return {"result": result, "points": len(points), "problems": problems}

    def _material_calls(self, session_id: str) -> list[ToolCall]:
        """The session's successful generate_material and bundle_guide calls, newest first."""
        with Session(self.db_engine) as session:
            query = (
                select(ToolCall)
                .join(Turn)
                .where(Turn.session_id == session_id, ToolCall.name.in_(["generate_material", "bundle_guide"]), ToolCall.ok.is_(True))
                .order_by(ToolCall.id.desc())
            )
            return list(session.scalars(query))

    def _answered(self, session_id: str) -> dict[str, str]:
        """What the applicant answered for materials earlier in the session, by field name (the latest answer wins)."""
        answered: dict[str, str] = {}
        for call in self._material_calls(session_id):
            if call.name == "generate_material":
                for f in call.result.get("fields", []):
                    if f["path"] == "answer":
                        answered.setdefault(f["name"], f["value"])
        return answered

    def _offered_next(self, session_id: str, done: str) -> Template | None:
        """The next material the session's latest 一件事 plan offered that is not yet generated since."""
        generated = {done}
        for call in self._material_calls(session_id):
            if call.name == "bundle_guide":
                if "offer" not in call.result:
                    continue
                offered = [t for t in call.result["offer"] if t not in generated]
                return self.templates.all().get(offered[0]) if offered and self.templates else None
            if call.result.get("complete"):
                generated.add(call.result["template"])
        return None

    def _last_call(self, session_id: str) -> ToolCall | None:
        """The generate_material or bundle_guide call that gave the session's latest reply."""
        with Session(self.db_engine) as session:
            last = session.scalars(
                select(Turn).where(Turn.session_id == session_id, Turn.role == "assistant").order_by(Turn.id.desc()).limit(1)
            ).first()
            names = ("generate_material", "bundle_guide")
            return next((c for c in last.tool_calls if c.name in names and c.ok), None) if last else None

    def pending_material(self, session_id: str, text: str) -> Route | None:
        """The message as the answer to the question the session's latest reply asked while generating a
        material (it asks one at a time); “算了” stops it. After a 一件事 plan or a finished material that
        offered the next one, “好的” starts that one. Only the very next message answers: anything said
        in between ends the dialogue, and asking for the material again starts it afresh."""
        last = self._last_call(session_id)
        result = last.result if last else {}
        offered = (result.get("offer") or [None])[0] if last and last.name == "bundle_guide" else result.get("next")
        if offered and _GO.fullmatch(text.strip()):
            return Route("material", {"material": offered})
        if last is None or last.name != "generate_material" or not result.get("questions"):
            return None
        if _STOP.fullmatch(text.strip()):
            return Route("material", {"material": result["template"], "stop": True})
        kept = {f["name"]: f["value"] for f in result["fields"] if f["path"] == "answer"}  # a refused answer is asked again
        return Route("material", {"material": result["template"], "answers": {**kept, result["questions"][0]["name"]: text.strip()}})

    def finished_materials(self, session_id: str) -> dict[int, dict]:
        """The session's latest complete generation of each template, by the turn that showed it (its
        download links are on that turn)."""
        with Session(self.db_engine) as session:
            calls = session.scalars(
                select(ToolCall)
                .join(Turn)
                .where(Turn.session_id == session_id, ToolCall.name == "generate_material", ToolCall.ok.is_(True))
                .order_by(ToolCall.id.desc())
            )
            latest: dict[str, tuple[int, dict]] = {}
            for call in calls:
                if call.result.get("complete"):
                    latest.setdefault(call.result["template"], (call.turn_id, call.result))
            return dict(latest.values())

    def generated_material(self, session_id: str, template_id: str) -> dict | None:
        """The session's latest complete generation of a template (for its download links)."""
        return next((r for r in self.finished_materials(session_id).values() if r["template"] == template_id), None)

    def registered_address(self, *, session_id: str, user_ref: str | None, address: str) -> ToolResult:
        """Public information: anyone may ask, no login needed."""
        try:
            found = check_address(self.directory, address)
        except AddressError as exc:
            parks = sorted({(a.park, a.kind, a.sample) for a in self.directory.addresses()})
            listed = "、".join(f"{park}（{kind}{'，示例数据' if sample else ''}）" for park, kind, sample in parks)
            text = f"{exc}" + (f"地址库现有：{listed}。" if listed and exc.no_address else "")
            return ToolResult(text, ok=False, data={"reason": "no_address" if exc.no_address else "other_district"})
        return ToolResult(found.summary(), data=found.to_dict())

    def continuing(self, session_id: str, text: str) -> Route | None:
        """The message as the answer to the question a 一件事 walk of the session waits on, if it is one
        (a choice, its number, 需要 / 不需要); anything else is routed as usual and the walk waits."""
        walk = self.bundles.walk(session_id) if self.bundles and len(text.strip()) <= 20 else None
        question = next_question(walk[0], walk[2]) if walk else None
        return Route("bundle", {"answer": text}) if question and choose(question, text) else None

    def bundle_guide(
        self,
        *,
        session_id: str,
        user_ref: str | None,
        text: str | None = None,
        bundle: str | None = None,
        answers: dict | None = None,
        answer: str | None = None,
    ) -> ToolResult:
        """A bundle's questions one at a time in the chat (the session keeps the answers), or at once
        (`answers`, the API); at the end what applies for the session's own user."""
        if self.bundles is None:
            return ToolResult("暂不提供“一件事”引导。", ok=False, data={"reason": "no_bundle"})
        if answer is not None and not bundle:
            walk = self.bundles.walk(session_id)
            question = next_question(walk[0], walk[2]) if walk else None
            if question is None:
                text = "目前没有进行中的“一件事”引导，请告诉我要办哪件事，例如“开办企业一件事”。"
                return ToolResult(text, ok=False, data={"reason": "no_walk"})
            choice = choose(question, answer)
            if choice is None:
                return ToolResult(f"没有听明白您的回答。{asking(question)}", ok=False, data={"reason": "bad_answer"})
            found, version, given = walk
            return self._walk(session_id, user_ref, found, version, {**given, question.id: choice})
        pair = self.bundles.get(bundle) if bundle else self.bundles.find(text)
        if pair is None:
            names = "、".join(b.name for b, _ in self.bundles.all())
            return ToolResult(f"没有找到这件事的情形引导，目前可以办理：{names}。", ok=False, data={"reason": "no_bundle"})
        found, version = pair
        if answers is not None:  # all at once: nothing is kept for the session
            try:
                return self._bundle_reply(user_ref, found, version, check_answers(found, answers))
            except BundleError as exc:
                return ToolResult(str(exc), ok=False, data={"reason": "bad_answer"})
        return self._walk(session_id, user_ref, found, version, preset_answers(found, text or ""))

    def _walk(self, session_id: str, user_ref: str | None, bundle: Bundle, version: int, answers: dict) -> ToolResult:
        reply = self._bundle_reply(user_ref, bundle, version, answers)
        self.bundles.remember(session_id, bundle.id, version, answers, done=reply.data["done"])
        return reply

    def _bundle_reply(self, user_ref: str | None, bundle: Bundle, version: int, answers: dict) -> ToolResult:
        title = f"《{bundle.name}》" + ("（示例数据）" if bundle.sample else "")
        question = next_question(bundle, answers)
        if question is not None:
            known = "；".join(f"{q.text.rstrip('？')}：{answers[q.id]}" for q in bundle.questions if q.id in answers)
            text = f"{title}情形引导。" + (f"已知：{known}。" if known else "") + f"请问{asking(question)}"
            data = {"bundle": bundle.id, "name": bundle.name, "version": version, "answers": answers, "done": False}
            return ToolResult(text, data={**data, "question": question.model_dump()})
        records = (self.directory.person(user_ref), self.directory.enterprise(user_ref)) if user_ref else None
        result = plan(bundle, version, answers, records, self.library.reusable(user_ref) if self.library and user_ref else {})
        templates = self.templates.all() if self.templates else {}  # one read for the whole plan
        offer = []  # the materials Xiaobao can generate for this user now, in the bundle's order
        for need in result.to_submit:
            template = self._template_for(bundle, need, templates)
            need.template = template.id if template else None
            if template and template.id not in offer and self._can_generate(template, user_ref):
                offer.append(template.id)
        lines = [f"{title}根据您的情形，需要办理 {len(result.items)} 件事："]
        lines += [f"{n}. {i['name']}" + (f"（{i['department']}）" if i["department"] else "") for n, i in enumerate(result.items, start=1)]
        lines.append("")
        forms = []
        for entry in result.items:
            service = self.directory.item(entry["item_id"]) if entry["item_id"] and user_ref else None
            person, enterprise = applicant_records(self.directory, service, user_ref) if service and service.form else (None, None)
            if person or enterprise:
                filled = prefill(service, person, enterprise)
                forms.append(filled.to_dict())
                more = f"，还需填写：{'、'.join(filled.missing)}" if filled.missing else ""
                lines.append(f"· 表单《{service.name}》已预填 {filled.filled}/{len(filled.fields)} 项{more}")
        if result.to_submit:  # a blank line before a section: on the chat page it is not part of the list above
            lines.append("\n需要提交的材料：")
            for need in result.to_submit:
                if need.template in offer:
                    note = "，小宝可以帮您生成"
                elif need.template:
                    kind = "企业" if templates[need.template].applicant == "enterprise" else "个人"
                    note = f"，以{kind}身份实名登录后小宝可以帮您生成"
                else:
                    note = f"，{need.reason}" if need.reason else ""
                lines.append(f"· {need.name}（{need.item}）{note}")
        if result.waived:
            lines.append("\n免于提交的材料（少填少交）：")
            lines += [f"· {need.name}（{need.item}）：{need.reason}" for need in result.waived]
        if user_ref is None:
            lines.append("\n实名登录后，小宝可以为您预填表单，并核验哪些材料政府已有、可以免交。")
        if offer:  # “好的” starts the first (pending_material); each finished one offers the next
            first = templates[offer[0]].name
            lines.append(f"\n小宝现在就可以为您生成：{'、'.join(f'《{templates[t].name}》' for t in offer)}。")
            lines.append(f"回复“好的”从《{first}》开始，我会逐项询问数据里没有的信息；也可以说“生成{templates[offer[-1]].name}”。")
        return ToolResult("\n".join(lines), data={**result.to_dict(), "done": True, "forms": forms, "offer": offer})

    def _template_for(self, bundle: Bundle, need, templates: dict[str, Template]) -> Template | None:
        """The template that generates a bundle's material: one of that name, or the template of the
        catalogue item's material of that name (经营场所使用证明 is made as a 经营场所使用承诺书)."""
        item_id = next((i.item_id for i in bundle.items if i.name == need.item), None)
        service = self.directory.item(item_id) if item_id else None
        material = next((m.id for m in service.materials if m.name == need.name), None) if service else None
        named = (t for t in templates.values() if t.name == need.name or (t.item_id == item_id and t.material_id == material))
        return next(named, None)

    def _can_generate(self, template: Template, user_ref: str | None) -> bool:
        """Whether the user's own records are of the template's kind (a person cannot yet make a company's material)."""
        service = self.directory.item(template.item_id) if user_ref else None
        return service is not None and any(applicant_records(self.directory, service, user_ref))

    def match_policies(self, *, session_id: str, user_ref: str | None) -> ToolResult:
        enterprise = self.directory.enterprise(user_ref) if user_ref else None
        if enterprise is None:
            return ToolResult(
                "“免申即享”政策匹配需要以企业身份登录，登录后我会用贵企业的登记信息逐条核对政策条件。",
                ok=False,
                data={"reason": "no_enterprise"},
            )
        matches = matches_for(enterprise, self.directory.policies())
        usable = [m for m in matches if m.eligible]
        lines = [f"根据{enterprise.name}的登记信息，共核对 {len(matches)} 项政策，可享受 {len(usable)} 项："]
        for m in usable:
            lines.append(f"✓ {m.policy}：{m.benefit}。{m.reason}。")
        for m in matches:
            if not m.eligible:
                lines.append(f"✗ {m.policy}：{m.reason}。")
        return ToolResult("\n".join(lines), data={"matches": [m.to_dict() for m in matches]})

    def prereview_hint(self, *, session_id: str, user_ref: str | None, item: str | None = None, files: list | None = None) -> ToolResult:
        """In words only: materials arrive as uploads (the page's 材料预审 panel, or the API)."""
        return ToolResult("请在对话框下方的“材料预审”中选择事项并上传材料（PDF、图片、DOCX 或 TXT），我会逐项检查并告诉您哪些需要修改。")

    def prereview(self, item_id: str, files: list[tuple[str, bytes]], user_ref: str | None) -> ToolResult:
        service = self.directory.item(item_id)
        if service is None or not service.materials:
            names = "、".join(f"{i.name}（{i.id}）" for i in self.directory.items() if i.materials)
            return ToolResult(f"这个事项暂不支持材料预审，目前支持：{names}。", ok=False, data={"reason": "no_item"})
        if not files:
            return ToolResult("请至少上传一份材料。", ok=False, data={"reason": "no_files"})
        person, enterprise = applicant_records(self.directory, service, user_ref) if user_ref else (None, None)
        reused = self._reusable(service, files, user_ref)
        review = self.reviewer.review(service, [*files, *((m["name"], m["content"]) for m in reused)], person, enterprise)
        kept = self._keep_passed(service, files, review, user_ref)
        lines = [review.summary()]
        if reused:
            lines.append("已复用您电子材料库中的：" + "、".join(m["type"] for m in reused) + "（无需再次上传）。")
        if kept:
            lines.append("通过预审的" + "、".join(m["type"] for m in kept) + "已存入您的电子材料库，下次办事可直接复用；可随时删除。")
        data = {**review.to_dict(), "reused": [m["id"] for m in reused], "kept": [m["id"] for m in kept]}
        return ToolResult("\n".join(lines), data=data)

    def _reusable(self, service: ServiceItem, files: list[tuple[str, bytes]], user_ref: str | None) -> list[dict]:
        """The owner's valid library materials for those of the item's materials no uploaded file is named as."""
        if not (self.library and user_ref):
            return []
        mine, named = self.library.reusable(user_ref), " ".join(name for name, _ in files)
        found = []
        for material in service.materials:
            kept = mine.get(material.name)
            if kept and not any(k in named for k in material.keywords):
                _, content = self.library.content(user_ref, kept["id"])
                found.append({**kept, "content": content})
        return found

    def _keep_passed(self, service: ServiceItem, files: list[tuple[str, bytes]], review, user_ref: str | None) -> list[dict]:
        """Uploads whose material passed every review point go to the owner's library (once per content)."""
        if not (self.library and user_ref):
            return []
        names = {m.id: m.name for m in service.materials}
        kept = []
        for name, data in files:
            material = review.files.get(name)
            results = [p.result for p in review.points if p.material_id == material]
            if material and results and all(r == "pass" for r in results):
                until = _valid_until(review, material)
                read = review.read.get(name)
                entry, new = self.library.keep(user_ref, names[material], name, data, "prereview", until, service.id, read=read)
                kept += [entry] if new else []
        return kept

    def report_unresolved(
        self, *, session_id: str, user_ref: str | None, text: str = "", contact: str | None = None, tracking_no: str | None = None
    ) -> ToolResult:
        """Look a report up by its number, or file one: the citizen's own description when there is one
        (the 办不成事 form), else the questions asked before in the session (said in the chat)."""
        if tracking_no:
            try:
                found = self.reports.lookup(tracking_no)
            except ReportNotFound:
                return ToolResult(f"没有查到编号为 {tracking_no} 的“办不成事”反映，请核对编号。", ok=False, data={"found": False})
            result = f"，办理结果：{found['result']}" if found["result"] else ""
            return ToolResult(f"您反映的事项（编号 {found['tracking_no']}）当前状态：{found['status_name']}{result}。", data=found)
        with Session(self.db_engine) as session:
            asked = session.scalars(
                select(Turn.text).where(Turn.session_id == session_id, Turn.role == "user").order_by(Turn.id.desc()).limit(4)
            )
            context = "；".join(reversed(list(asked)))
        try:
            filed = self.reports.submit(text or context, contact, session_id=session_id)
        except ReportError as exc:
            return ToolResult(str(exc), ok=False, data={"reason": "invalid"})
        return ToolResult(
            f"已登记您反映的“办不成事”，查询编号 {filed['tracking_no']}。工作人员会跟进办理，您可以随时发送这个编号查询进展。",
            data=filed,
        )

    def handoff_to_human(self, *, reason: str, session_id: str, user_ref: str | None) -> ToolResult:
        """Queue the session for the helpers, with what Xiaobao found so far as evidence. The page shows
        the place in the queue and the helpers online (HelpDesk.waiting), so this says nothing about when."""
        with Session(self.db_engine) as session:
            gap = session.scalars(
                select(KnowledgeGap).where(KnowledgeGap.session_id == session_id).order_by(KnowledgeGap.id.desc())
            ).first()
            cited = session.scalars(
                select(Citation).join(Turn).where(Turn.session_id == session_id).order_by(Citation.id.desc()).limit(3)
            ).all()
            evidence = [{"citation": c.citation, "text": c.text[:300], "cited": True} for c in cited]
            evidence += [{**hit, "cited": False} for hit in (gap.trace.get("hits", []) if gap else [])[:5]]
            handoff = handoffs.request(session, session_id, reason, evidence)
            if handoff is None:
                return ToolResult("您已在人工帮办的队列中或正由帮办服务，请稍候。", data={"already": True})
            session.commit()
            return ToolResult("已为您转接线上人工帮办，正在排队。排队期间小宝仍可以回答您的问题。", data={"handoff_id": handoff.id})
