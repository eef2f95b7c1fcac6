"""The dialogue engine: one turn = guard → route → (tool | retrieve → verbatim reply | grounded
generation with checked citations | no guess) → stored. Every turn is stored, whatever happens."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field

from sqlalchemy import Engine as DbEngine
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xiaobao.assistant import answerability, citations, guard, judge, quotes
from xiaobao.assistant.llm import LLM, LLMUnavailable, ModelBusy, SharedSlots, Slots
from xiaobao.assistant.router import rewrite, route, rules
from xiaobao.assistant.store import (
    ChatSession,
    Citation,
    KnowledgeGap,
    Rating,
    ToolCall,
    Turn,
    add_notice,
    cited_as,
    official_entry,
    turn_dict,
)
from xiaobao.assistant.telemetry import ERRORS, LLM_FIRST_TOKEN_SECONDS, LLM_SECONDS, LLM_TOKENS, RETRIEVAL_SECONDS
from xiaobao.assistant.tools import Tools
from xiaobao.govdata.records import is_sample_identity
from xiaobao.identity.citizens import CitizenVerifier
from xiaobao.ingest.screening import suspicious
from xiaobao.knowledge.base import KnowledgeBase
from xiaobao.knowledge.index import DENSE, SearchFilter
from xiaobao.knowledge.retriever import Hit, unit_key
from xiaobao.prompts import load as load_prompt
from xiaobao.settings import Settings

LABEL_OFFICIAL = "官方答复口径"
LABEL_AI = "本回答由人工智能生成，仅供参考"
LABEL_QUOTE = "官方资料原文摘录"
OFFER_HUMAN = "如需进一步帮助，可以点击“转人工”，由线上人工帮办为您解答。"
NO_ANSWER = "抱歉，小宝在现有知识库中没有找到可以准确回答这个问题的内容，不敢乱说。" + OFFER_HUMAN
GREETING = "您好，我是宝山区“智慧好办”智能助手小宝。可以问我办事指南、政策法规、办件进度，也可以随时转人工。"
MODEL_CUT = "回答中断：智能问答服务暂时不可用，以上内容已核对出处。" + OFFER_HUMAN
# why a quote is given instead of Xiaobao's own words (see quotes.py)
QUOTE_BUSY = "当前咨询人数较多，小宝先为您摘录官方资料原文："
QUOTE_DOWN = "智能问答服务暂时不可用，小宝先为您摘录官方资料原文："
QUOTE_CUT = "小宝没能用自己的话准确转述，以下是官方资料原文摘录："
MODEL_DOWN = "抱歉，智能问答服务暂时不可用。" + OFFER_HUMAN
MODEL_BUSY = "当前咨询人数较多，智能问答暂时排不上。" + OFFER_HUMAN
SEARCHING = "小宝正在查找资料…"
DECLINED = "资料中没有相关内容"  # what prompts/answer_system.md tells the model to say when the passages do not answer
ESCALATED = "小宝连续两次没能回答您的问题，已为您转接线上人工帮办，请稍候。"
RATED_BAD = "您对小宝的回答不太满意，已为您转接线上人工帮办，请稍候。"
NOT_AN_ORDER = "小宝只依据官方资料回答政务服务问题，不能按要求改变规则、扮演他人或透露内部设定。" + OFFER_HUMAN


# which tool serves which routed intent
_INTENTS = {
    "handoff_to_human": "handoff",
    "get_application_progress": "progress",
    "prefill_form": "prefill",
    "match_policies": "policy",
    "prereview_materials": "prereview",
    "report_unresolved": "report",
    "bundle_guide": "bundle",
    "generate_material": "material",
    "registered_address": "address",
}


class SessionNotFound(LookupError):
    pass


class IdentityRefused(ValueError):
    """A client asked for an identity the server cannot grant (a demo identity outside demo mode)."""


class TurnNotFound(LookupError):
    pass


@dataclass
class Reply:
    session_id: str
    turn_id: int
    text: str
    path: str
    intent: str
    label: str | None
    citations: list[dict] = field(default_factory=list)
    offer_human: bool = False
    ttft_ms: float | None = None
    total_ms: float | None = None
    checked: dict = field(default_factory=dict)
    usage: dict = field(default_factory=dict)  # the model's tokens: prompt_tokens (where the server reports it), completion_tokens
    data: dict = field(default_factory=dict)  # a tool's structured result (prefilled fields, policy matches, review points…)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Draft:
    """What a turn produced, before it is stored."""

    text: str
    path: str
    label: str | None = None
    hits: list[Hit] = field(default_factory=list)  # the cited passages, in citation order
    offer_human: bool = False
    tool_calls: list[dict] = field(default_factory=list)
    gap: str | None = None  # why the question goes to the knowledge-gap queue
    trace: list[dict] = field(default_factory=list)
    checked: dict = field(default_factory=dict)  # generated answers: sentences kept / cut by the citation check
    usage: dict = field(default_factory=dict)


def _session(session: Session, session_id: str) -> ChatSession:
    chat = session.get(ChatSession, session_id)
    if chat is None:
        raise SessionNotFound(session_id)
    return chat


def _last(session: Session, session_id: str, role: str, column):
    """One column of the session's latest turn by `role` (a long session's turns are not all loaded)."""
    return session.scalar(select(column).where(Turn.session_id == session_id, Turn.role == role).order_by(Turn.id.desc()).limit(1))


def _phrasings(hit: Hit) -> str:
    """A Q&A entry's standard question, its similar phrasings and the one retrieval matched."""
    p = hit.payload
    return " ".join([str(p.get("question") or ""), *map(str, p.get("alternatives") or []), str(p.get("text") or "")])


def _dense(hit: Hit) -> float:
    return hit.signals.get(DENSE, (0, 0.0))[1]


def _trace(hits: list[Hit], probabilities: list[float] | None = None) -> list[dict]:
    out = [{"citation": h.citation, "score": round(h.score, 4), "signals": h.signals} for h in hits]
    for row, p in zip(out, probabilities or [], strict=False):
        row["p_answers"] = round(p, 4)
    return out


def hit_text(hit: Hit) -> str:
    return hit.payload.get("answer") or hit.payload.get("text", "")


def passage_text(hit: Hit, limit: int) -> str:
    """A passage as the model sees it: where it comes from, then (the start of) its text."""
    return f"{citations.scrub_ids(hit.citation) or '资料'}：{hit_text(hit)[:limit]}"


@dataclass
class Assessment:
    """Triage's result: the candidates (re-ranked by P(answers) when a model decides), the decision,
    the probabilities (empty on the cosine fallback) and the threshold they were held to. The decision
    is "verbatim", "generate", "refuse", or "judge": the model's verdict decides (judge.py)."""

    hits: list[Hit]
    decision: str
    probabilities: list[float] = field(default_factory=list)
    threshold: float | None = None

    def evidence(self, limit: int) -> list[Hit]:
        """The passages a generated answer may use: the best, and those after it that are themselves
        likely to answer (at least half the answer threshold), never a merely similar one."""
        if not self.probabilities or self.threshold is None:
            return self.hits[:limit]
        keep = [h for i, (h, p) in enumerate(zip(self.hits, self.probabilities, strict=True)) if i == 0 or p >= self.threshold / 2]
        return keep[:limit]


class Engine:
    def __init__(
        self,
        settings: Settings,
        kb: KnowledgeBase,
        llm: LLM,
        tools: Tools,
        db_engine: DbEngine,
        citizens: CitizenVerifier,
        slots: Slots | SharedSlots,
    ) -> None:
        self.settings, self.kb, self.llm, self.tools = settings, kb, llm, tools
        self.db_engine, self.citizens = db_engine, citizens
        self.slots = slots  # the line for the model: this process's, or every worker's (Redis)
        self.content = guard.ContentFilter.load(settings.sensitive_words_file)
        self._system = load_prompt("answer_system")
        # the answer decision: a model fitted for this embedder, else the cosine fallback (see triage)
        self.answerability = answerability.load_model(settings.answerability_model, kb.embedder.model_id)
        # the model's second opinion where P alone is unsure (judge.py); only with the threshold it was fitted with
        asked = settings.answer_judge and settings.answer_probability is None
        self.judge = judge.load(settings.judge_model, self.answerability, settings.llm_model) if asked else None
        self._user = load_prompt("answer_user")

    # sessions -------------------------------------------------------------------------------

    def create_session(self, demo_ref: str | None = None, channel: str = "web", *, credential: str | None = None) -> str:
        """A new session: anonymous; or the citizen a verified credential names (the portal's ID token);
        or, in demo mode only, one of the demo pack's sample identities. The identity is fixed for the
        session's life. Raises CredentialRejected or IdentityRefused, with the reason in Chinese."""
        chat = ChatSession(id=str(uuid.uuid4()), channel=channel)
        if credential:
            chat.user_ref, chat.identity = self.citizens.verify(credential, chat.id).user_ref, "credential"
        elif demo_ref:
            if not self.settings.demo_mode:
                raise IdentityRefused("身份只能来自统一身份认证登录；演示身份仅在演示模式下可用。")
            if not is_sample_identity(self.db_engine, demo_ref):
                raise IdentityRefused("没有这个演示身份。")
            chat.user_ref, chat.identity = demo_ref, "demo"
        with Session(self.db_engine) as session:
            session.add(chat)
            session.commit()
            return chat.id

    def _trusted(self, chat: ChatSession) -> str | None:
        """The session's user, if the server verified who it is (a demo identity counts only while
        demo mode is on; sessions stored before identities were verified count as anonymous)."""
        if chat.identity == "credential" or (chat.identity == "demo" and self.settings.demo_mode):
            return chat.user_ref
        return None

    def history(self, session_id: str, after: int = 0) -> list[dict]:
        """The session's turns (those after turn id `after`, for clients that poll for new ones)."""
        with Session(self.db_engine) as session:
            _session(session, session_id)
            turns = session.scalars(select(Turn).where(Turn.session_id == session_id, Turn.id > after).order_by(Turn.id))
            return [turn_dict(t) for t in turns]

    def status(self, session_id: str) -> str:
        with Session(self.db_engine) as session:
            return _session(session, session_id).status

    def rate(self, turn_id: int, value: str, comment: str | None = None, session_id: str | None = None) -> None:
        """Store a rating. An unhelpful answer is a gap the editors should close; a second one in a
        session hands it to a human."""
        with Session(self.db_engine) as session:
            turn = session.get(Turn, turn_id)
            if turn is None or turn.role != "assistant" or (session_id is not None and turn.session_id != session_id):
                raise TurnNotFound(turn_id)
            session.add(Rating(turn_id=turn_id, value=value, comment=comment))
            bad_before = 0
            if value == "bad":
                question = session.scalars(
                    select(Turn).where(Turn.session_id == turn.session_id, Turn.id < turn_id, Turn.role == "user").order_by(Turn.id.desc())
                ).first()
                if question is not None:
                    session.add(
                        KnowledgeGap(session_id=turn.session_id, turn_id=turn_id, question=question.text, reason="rated_bad", trace={})
                    )
                bad_before = session.scalar(
                    select(func.count()).select_from(Rating).join(Turn).where(Turn.session_id == turn.session_id, Rating.value == "bad")
                )
            session.commit()
            session_id, status, user_ref = turn.session_id, turn.session.status, self._trusted(turn.session)
        if bad_before >= 2 and status == "bot":  # this rating is the second 不满意 (it is counted: flushed before the query)
            result = self.tools.call("handoff_to_human", {"reason": "连续评价不满意"}, session_id=session_id, user_ref=user_ref)
            if result.ok:
                with Session(self.db_engine) as session:
                    add_notice(session, session_id, RATED_BAD)
                    session.commit()

    def handoff(self, session_id: str, reason: str) -> Reply:
        """The 转人工 button: queue the session for a human helper."""
        return self.use_tool(session_id, "handoff_to_human", {"reason": reason}, reason)

    def use_tool(self, session_id: str, name: str, arguments: dict, said: str) -> Reply:
        """Run a tool for the session's own user, outside a chat message (a button, an API call);
        stored as a turn like any other. `said` is what the turn records as asked."""
        user_ref = self.user_of(session_id)
        result = self.tools.call(name, arguments, session_id=session_id, user_ref=user_ref)
        return self._store(session_id, said, _INTENTS.get(name, "tool"), self._draft(name, arguments, result), None, 0.0)

    def prereview(self, session_id: str, item_id: str, files: list[tuple[str, bytes]]) -> Reply:
        """Pre-review uploaded materials for an item, against the session user's own records."""
        user_ref = self.user_of(session_id)
        started = time.perf_counter()
        result = self.tools.prereview(item_id, files, user_ref)
        arguments = {"item": item_id, "files": [name for name, _ in files]}
        said = f"上传材料预审：{'、'.join(arguments['files']) or '（无）'}"
        return self._store(
            session_id,
            said,
            "prereview",
            self._draft("prereview_materials", arguments, result),
            None,
            (time.perf_counter() - started) * 1000,
        )

    def user_of(self, session_id: str) -> str | None:
        """The session's verified user; None when anonymous (for the routes that act for that user)."""
        with Session(self.db_engine) as session:
            return self._trusted(_session(session, session_id))

    # one turn ---------------------------------------------------------------------------------

    def respond(self, session_id: str, message: str) -> Reply:
        reply = None
        for kind, value in self.stream(session_id, message):
            if kind == "final":
                reply = value
        assert reply is not None
        return reply

    def stream(self, session_id: str, message: str) -> Iterator[tuple[str, object]]:
        """What the citizen may see, as it comes: ("status", text) once the question is stored;
        ("sources", [{number, citation}]) when the model is about to write from those passages;
        ("sentence", text) for each sentence of a generated answer once it has passed the citation
        check (the final reply's text starts with exactly these sentences); then ("final", Reply).
        Raises BadMessage or SessionNotFound before anything is stored or yielded."""
        checked = guard.check(message)
        started = time.perf_counter()
        with Session(self.db_engine) as session:
            chat = _session(session, session_id)
            previous, last_path = _last(session, session_id, "user", Turn.text), _last(session, session_id, "assistant", Turn.path)
            question = Turn(session_id=session_id, role="user", text=checked.text, flags={"pii": checked.pii} if checked.pii else {})
            session.add(question)
            session.commit()  # the question is kept even if answering fails
            user_ref, status, question_id = self._trusted(chat), chat.status, question.id
        yield "status", SEARCHING

        if word := self.content.find(checked.text):
            guard.log.warning("sensitive input refused in session %s: %s", session_id, word)
            draft = Draft(guard.BLOCKED, "blocked")
            draft.checked = {"sensitive": word}
            yield "final", self._store(session_id, checked.text, "blocked", draft, None, (time.perf_counter() - started) * 1000)
            return
        if status == "human":  # a helper holds the session: Xiaobao stays silent, the helper sees the message
            # (while it only waits in the queue, Xiaobao keeps answering what it knows)
            yield "final", Reply(session_id, question_id, "", "human", "human", None, total_ms=(time.perf_counter() - started) * 1000)
            return
        intent = self.tools.continuing(session_id, checked.text) or route(checked.text)  # a 一件事 walk's answer, or routed
        if rules(checked.text).intent == "knowledge":  # an answer to what a material being generated asked (no classifier guess)
            intent = self.tools.pending_material(session_id, checked.text) or intent
        first_token: list[float] = []
        if intent.intent == "knowledge":
            ordered = suspicious(checked.text)
            draft = yield from self._answer(rewrite(checked.text, previous), first_token, started, ordered)
            if draft.path == "refused" and last_path == "refused" and status == "bot":  # two in a row Xiaobao cannot answer
                arguments = {"reason": "连续两次无法回答"}
                handed = self.tools.call("handoff_to_human", arguments, session_id=session_id, user_ref=user_ref)
                if handed.ok:
                    draft.text, draft.offer_human = ESCALATED, False
                    draft.tool_calls.append({"name": "handoff_to_human", "arguments": arguments, "result": handed.data, "ok": True})
        else:
            draft = self._tool_turn(intent.intent, intent.arguments, session_id, user_ref)
        total = (time.perf_counter() - started) * 1000
        reply = self._store(session_id, checked.text, intent.intent, draft, first_token[0] if first_token else None, total)
        yield "final", reply

    def _tool_turn(self, intent: str, arguments: dict, session_id: str, user_ref: str | None) -> Draft:
        if intent == "greeting":
            return Draft(GREETING, "greeting")
        name = next(tool for tool, i in _INTENTS.items() if i == intent)
        if name == "handoff_to_human":
            arguments = {"reason": arguments.get("reason") or "用户要求转人工"}
        return self._draft(name, arguments, self.tools.call(name, arguments, session_id=session_id, user_ref=user_ref))

    @staticmethod
    def _draft(name: str, arguments: dict, result) -> Draft:
        return Draft(
            result.text,
            "handoff" if name == "handoff_to_human" else "tool",
            offer_human=result.offer_human,
            tool_calls=[{"name": name, "arguments": arguments, "result": result.data, "ok": result.ok}],
        )

    def warm_model(self) -> None:
        """Puts the answer prompt's fixed beginning through the model once: the server keeps the last
        prompt's prefix, so the first citizen after a start does not pay for the system prompt and the
        weights' first read from disk (measured: 9.0 s → 5.0 s for the first answer). Quietly nothing when the
        model is busy or down."""
        try:
            with self.slots.hold():
                self.llm.complete(self._prompt("", ""), max_tokens=1)
        except (ModelBusy, LLMUnavailable):
            pass

    def _prompt(self, numbered: str, question: str) -> list[dict]:
        """The answer prompt: the system prompt first, a fixed prefix the server's prompt cache reuses."""
        return [
            {"role": "system", "content": self._system},
            {"role": "user", "content": self._user.format(passages=numbered, question=question)},
        ]

    def triage(self, question: str) -> tuple[list[Hit], str]:
        """What retrieval finds for a question and what Xiaobao would do with it — "verbatim" (the first
        hit is the official reply), "generate" or "refuse" — without asking the model."""
        assessment = self.assess(question)
        return assessment.hits, assessment.decision

    def assess(self, question: str) -> Assessment:
        """The answer decision. With a fitted answerability model (the default embedder): candidates
        re-ranked by P(this passage answers this question); refuse when the best P is below
        answer_probability. Without one (another embedder, the tests' fake): the dense-cosine fallback."""
        s = self.settings
        with RETRIEVAL_SECONDS.time():
            hits = self.kb.retriever.search(question, 8, SearchFilter(on_date=dt.date.today()))
        model = self.answerability
        probs: dict[int, float] = {}
        if model is not None and hits:
            assessed = answerability.assess(model, self.kb.tokenizer, question, hits, s.answer_probability)
            probs = {id(h): p for h, p in zip(assessed.hits, assessed.probabilities, strict=True)}
            fused, hits = hits, assessed.hits
        else:
            fused = hits
        # An official reply is given verbatim only when one Q&A entry near the top, about what the question
        # asks (its materials, time, place, fee or conditions: answerability.ASPECTS) and about the same
        # transaction (applying, 注销, 变更, 补办, 续期, 年检: answerability.ACTIONS) and holding the thing it
        # names (护理补贴 is not 津贴: answerability.things_held) and every other district or group of people it
        # names (嘉定区, 港澳台居民, 个体户, 799: answerability.qualifiers_held), is both close to the question and
        # clearly closer than any other such entry, and no entry the checks turned away is clearly closer
        # still (it would say what the question is about; without it, turning the right entry away handed
        # the question to its neighbour — 高龄津贴怎么申请 → the amount reply). Two entries about the same allowance
        # ("how to apply", "how much") can both pass the threshold: then the entry whose matched phrasing
        # holds every topic term of the question wins, if only one does (新生儿医保怎么参保: 新生儿怎么参加医保,
        # not 新生儿医保怎么缴费); otherwise the model composes. With a model it must also be likely to answer.
        asked, acted = answerability.aspects(question), answerability.actions(question)

        def about_the_same(h: Hit) -> bool:
            phrasings, answer = _phrasings(h), str(h.payload.get("answer") or "")
            return (
                asked <= answerability.aspects(phrasings)
                and answerability.aspects(str(h.payload.get("text") or "")) <= asked
                and acted == answerability.actions(phrasings)
                and answerability.things_held(self.kb.tokenizer, question, phrasings.lower(), answer.lower())
                and answerability.qualifiers_held(question, phrasings, answer)
            )

        found = [h for h in fused[:3] if h.payload.get("doc_type") == "qa"]
        qas = sorted(filter(about_the_same, found), key=_dense, reverse=True)
        close = [h for h in qas if _dense(qas[0]) >= s.verbatim_threshold and _dense(qas[0]) - _dense(h) < s.verbatim_margin]
        if len(close) > 1:
            holding = [h for h in close if citations.topic_supported(self.kb.tokenizer, question, h.payload.get("text", "").lower())]
            close = holding if len(holding) == 1 else close
        if len(close) == 1 and all(_dense(h) - _dense(close[0]) < s.verbatim_margin for h in found):
            verbatim_p = s.verbatim_probability if s.verbatim_probability is not None else (model.verbatim_threshold if model else 0.0)
            if model is None or probs[id(close[0])] >= verbatim_p:
                ranked = [close[0], *(h for h in hits if h is not close[0])]
                return Assessment(ranked, "verbatim", [probs[id(h)] for h in ranked] if probs else [])
        if model is not None:
            threshold = s.answer_probability if s.answer_probability is not None else model.answer_threshold
            best = probs[id(hits[0])] if hits else 0.0
            decision = "judge" if self.judge and self.judge.asks(best) else "generate" if hits and best >= threshold else "refuse"
            return Assessment(hits, decision, [probs[id(h)] for h in hits], threshold)
        if not hits or max(_dense(h) for h in hits) < s.evidence_threshold:
            return Assessment(hits, "refuse")
        return Assessment(hits, "generate")

    def suggest(self, question: str) -> dict:
        """Xiaobao's answer to a question, not stored: the draft a helper sees beside the reply box."""
        answering = self._answer(question, [], time.perf_counter())
        try:
            while True:
                next(answering)
        except StopIteration as done:
            draft: Draft = done.value
        return {
            "text": draft.text,
            "path": draft.path,
            "label": draft.label,
            "citations": [{"number": i, "citation": h.citation, "text": hit_text(h)} for i, h in enumerate(draft.hits, start=1)],
        }

    def _answer(self, question: str, first_token: list[float], started: float, ordered: str | None = None):
        s = self.settings
        assessment = self.assess(question)
        hits, decision = assessment.hits, assessment.decision
        trace = _trace(hits, assessment.probabilities)
        if ordered:  # not even an official reply: it would read as the answer to what was ordered
            guard.log.warning("instruction-like question not answered: %s", ordered)
            return Draft(NOT_AN_ORDER, "blocked", offer_human=True, trace=trace, checked={"injection": ordered})
        if decision == "verbatim":
            return Draft(hits[0].payload["answer"], "verbatim", LABEL_OFFICIAL, [hits[0]], trace=trace)
        if decision == "judge":
            decision, said = self.judged(question, assessment)
            if said is not None:
                trace[0]["verdict"] = round(said, 3)
            if decision == "refuse":
                return Draft(NO_ANSWER, "refused", offer_human=True, gap="judged_unanswerable", trace=trace)
        if decision == "refuse":
            return Draft(NO_ANSWER, "refused", offer_human=True, gap="no_evidence", trace=trace)

        evidence = assessment.evidence(s.answer_passages)
        # an official reply is named by its entry's question (cited_as), not the bare 答复口径
        named = [(h.citation, official_entry(h.payload) if h.payload.get("doc_type") == "qa" else None) for h in evidence]
        yield "sources", [{"number": i, "citation": cited_as(*pair)} for i, pair in enumerate(named, start=1)]
        passages = [passage_text(h, s.answer_passage_chars) for h in evidence]
        numbered = "\n".join(f"[{i}] {p}" for i, p in enumerate(passages, start=1))
        messages = self._prompt(numbered, question)
        checked = citations.CheckedStream(passages, self.kb.tokenizer, refuse=self.content.find)
        tokens, usage = 0, {}
        try:
            with self.slots.hold():  # ModelBusy when the line for the model is full
                asked = time.perf_counter()
                for token in self.llm.stream(messages, s.llm_max_tokens, usage):
                    if not first_token:
                        first_token.append((time.perf_counter() - started) * 1000)
                        LLM_FIRST_TOKEN_SECONDS.observe(time.perf_counter() - asked)
                    tokens += 1
                    for sentence in checked.feed(token):  # only checked sentences are shown, never raw tokens
                        yield "sentence", sentence
                for sentence in checked.finish():
                    yield "sentence", sentence
                LLM_SECONDS.observe(time.perf_counter() - asked)
                LLM_TOKENS.inc(tokens)  # the server streams one token per chunk
        except ModelBusy:  # the line for the model is full: an answer at once, not a 503
            return self._without_model(question, evidence, assessment, QUOTE_BUSY, MODEL_BUSY, trace)
        except LLMUnavailable:
            ERRORS.labels("llm_unavailable").inc()
            if checked.shown:  # what was shown stays; the citizen is told the rest did not come
                cited = [evidence[n - 1] for n in checked.cited]
                return Draft(f"{checked.text}（{MODEL_CUT}）", "error", LABEL_AI, cited, offer_human=True, trace=trace)
            return self._without_model(question, evidence, assessment, QUOTE_DOWN, MODEL_DOWN, trace)
        used = {"prompt_tokens": usage.get("prompt_tokens", 0), "completion_tokens": usage.get("completion_tokens", tokens)}
        stats = {"kept": len(checked.shown), "cut": len(checked.dropped), "attributed": checked.attributed}
        if checked.sensitive:  # the output filter: the model said what we do not say
            guard.log.warning("sensitive output withheld: %s", checked.sensitive)
            stats["sensitive"] = checked.sensitive
        if not checked.shown:
            if checked.sensitive:
                return Draft(guard.BLOCKED, "blocked", trace=trace, checked=stats)
            # The model found no answer in the passages, or could not retell them: evidence against the
            # decision. Quote only when the passage is answerable beyond that doubt (see sure_enough).
            if any(DECLINED in sentence for sentence in checked.dropped) or not self.sure_enough(assessment):
                return Draft(NO_ANSWER, "refused", offer_human=True, gap="unsupported_answer", trace=trace, checked=stats)
            return self._quoted(question, evidence[0], QUOTE_CUT, trace, gap="answer_cut", checked=stats, usage=used)
        # sentences the check cut are something the knowledge base could not back, and an answer from a
        # passage the answerability model is not sure answers (P below its ≤ 1 % level, see sure_enough)
        # is a doubt: the editors see both (without a model there is no calibrated P to doubt)
        doubtful = self.answerability is not None and not self.sure_enough(assessment)
        gap = "answer_cut" if checked.dropped else "low_confidence" if doubtful else None
        if checked.dropped:
            stats["dropped"] = checked.dropped
        cited = [evidence[n - 1] for n in checked.cited]
        return Draft(checked.text, "generated", LABEL_AI, cited, gap=gap, trace=trace, checked=stats, usage=used)

    def judged(self, question: str, assessment: Assessment) -> tuple[str, float | None]:
        """The judge's decision on a "judge" assessment, "generate" or "refuse", and the model's
        verdict; when the model cannot be asked (busy, down) P alone decides and the verdict is None."""
        assert self.judge is not None and assessment.threshold is not None
        p = assessment.probabilities[0]
        passage = passage_text(assessment.hits[0], judge.PASSAGE_CHARS)
        try:
            with self.slots.hold():
                said = judge.verdict(self.llm, self._system, self._user, question, passage)
        except (ModelBusy, LLMUnavailable):
            return ("generate" if p >= assessment.threshold else "refuse"), None
        return ("generate" if self.judge.answers(p, said) else "refuse"), said

    def sure_enough(self, assessment: Assessment) -> bool:
        """Whether the best passage may be quoted although the model's sentences were all cut: P at the
        model's stricter threshold (fitted for ≤ 1 % false answers; measured: quoting at the answer
        threshold answered 3 of 32 left-out questions from a neighbour), or without a model the
        verbatim cosine."""
        if assessment.probabilities and self.answerability is not None:
            return assessment.probabilities[0] >= self.answerability.verbatim_threshold
        return bool(assessment.hits) and _dense(assessment.hits[0]) >= self.settings.verbatim_threshold

    def _without_model(self, question: str, evidence: list[Hit], assessment: Assessment, quote: str, down: str, trace: list) -> Draft:
        """No model to write the answer: the passage's own words when it surely answers, otherwise the
        sources found and the offer of a person."""
        if self.sure_enough(assessment):
            return self._quoted(question, evidence[0], quote, trace)
        refs = "；".join(citations.scrub_ids(h.citation) for h in evidence[:3])
        return Draft(f"{down}可参考：{refs}。", "error", offer_human=True, trace=trace)

    def _quoted(self, question: str, hit: Hit, why: str, trace: list[dict], gap: str | None = None, **stats) -> Draft:
        """The passage's own sentences that answer the question, as a quote; `stats`: checked, usage."""
        text = quotes.quote(self.kb.tokenizer, question, hit_text(hit), hit.payload.get("doc_type", ""))
        return Draft(f"{why}\n“{text}”[1]", "quoted", LABEL_QUOTE, [hit], offer_human=True, gap=gap, trace=trace, **stats)

    def _store(self, session_id: str, question: str, intent: str, draft: Draft, ttft: float | None, total: float) -> Reply:
        with Session(self.db_engine) as session:
            about = draft.hits[0].payload if draft.hits else (draft.tool_calls[0]["result"] if draft.tool_calls else {})
            turn = Turn(
                session_id=session_id,
                role="assistant",
                text=draft.text,
                path=draft.path,
                intent=intent,
                label=draft.label,
                department=about.get("department"),
                item=about.get("item"),
                ttft_ms=ttft,
                total_ms=total,
                flags={"checked": draft.checked} if draft.checked else {},
            )
            if entries := {
                str(n): official_entry(h.payload) for n, h in enumerate(draft.hits, start=1) if h.payload.get("doc_type") == "qa"
            }:
                turn.flags = {**turn.flags, "entries": entries}
            # a statute is cited with the version (date) of the law it was read from
            versions = {str(n): h.payload["version_date"] for n, h in enumerate(draft.hits, start=1) if h.payload.get("version_date")}
            if versions:
                turn.flags = {**turn.flags, "versions": versions}
            for number, hit in enumerate(draft.hits, start=1):
                turn.citations.append(
                    Citation(
                        number=number,
                        citation=hit.citation,
                        group=hit.group,
                        doc_type=hit.payload.get("doc_type", ""),
                        text=hit_text(hit),
                    )
                )
            for call in draft.tool_calls:
                turn.tool_calls.append(ToolCall(**call))
            session.add(turn)
            session.flush()
            if draft.gap:
                session.add(
                    KnowledgeGap(session_id=session_id, turn_id=turn.id, question=question, reason=draft.gap, trace={"hits": draft.trace})
                )
            session.commit()
            return Reply(
                session_id=session_id,
                turn_id=turn.id,
                text=draft.text,
                path=draft.path,
                intent=intent,
                label=draft.label,
                citations=[
                    {
                        "number": c.number,
                        "citation": c.citation,
                        "text": c.text,
                        "doc_type": c.doc_type,
                        "key": unit_key(h.payload),
                        "entry": entries.get(str(c.number)),  # an official reply's question, department, date, version
                        "version_date": versions.get(str(c.number)),  # a statute's version
                    }
                    for c, h in zip(turn.citations, draft.hits, strict=True)
                ],
                offer_human=draft.offer_human,
                ttft_ms=ttft,
                total_ms=total,
                checked=draft.checked,
                usage=draft.usage,
                data=draft.tool_calls[0]["result"] if draft.tool_calls else {},
            )
