import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.conftest import citing
from xiaobao.assistant.engine import LABEL_AI, LABEL_OFFICIAL, SessionNotFound
from xiaobao.assistant.guard import BadMessage
from xiaobao.assistant.llm import LLMUnavailable
from xiaobao.assistant.store import Citation, Handoff, KnowledgeGap, Turn
from xiaobao.prompts import load as load_prompt
from xiaobao.services import Services


def gaps(engine):
    with Session(engine.db_engine) as session:
        return session.scalars(select(KnowledgeGap)).all()


def test_greeting(engine):
    reply = engine.respond(engine.create_session(), "你好")
    assert reply.path == "greeting" and "小宝" in reply.text


def test_published_qa_is_returned_verbatim_with_its_source(engine, llm):
    reply = engine.respond(engine.create_session(), "办事大厅什么时候开门")
    assert reply.path == "verbatim" and reply.label == LABEL_OFFICIAL
    assert reply.text == "工作日9:00至17:00。"
    assert reply.citations[0]["citation"] == "答复口径 qa-1"
    assert llm.calls == []  # no generation


def test_future_qa_is_not_yet_an_answer(engine):
    reply = engine.respond(engine.create_session(), "新政策什么时候实施？")
    assert reply.path != "verbatim"


def test_grounded_answer_keeps_checked_citations(engine, llm):
    llm.answers = [citing("第一条", "年满九十周岁的本区户籍老人每月领取高龄津贴400元[{n}]。")]
    reply = engine.respond(engine.create_session(), "九十岁老人高龄津贴每月多少钱")
    assert reply.path == "generated" and reply.label == LABEL_AI
    assert reply.text == "年满九十周岁的本区户籍老人每月领取高龄津贴400元[1]。"  # renumbered to what is cited
    (citation,) = reply.citations
    assert citation["number"] == 1 and citation["citation"] == "《示例区高龄津贴办法》第一条"
    assert citation["key"] == "示例区高龄津贴办法|第一条" and citation["doc_type"] == "statute"
    assert reply.checked == {"kept": 1, "cut": 0, "attributed": 0}
    prompt = llm.calls[0][1]["content"]
    assert "第一条" in prompt and "九十岁老人高龄津贴每月多少钱" in prompt
    assert llm.calls[0][0]["role"] == "system"


def test_an_invented_amount_is_cut_and_the_question_becomes_a_gap(engine, llm):
    llm.answers = ["年满九十周岁的老人每月领取高龄津贴800元[1]。"]
    reply = engine.respond(engine.create_session(), "九十岁老人高龄津贴每月多少钱")
    # not sure enough of the passage to quote it instead (see test_answerability for the quote)
    assert reply.path == "refused" and reply.offer_human and "800" not in reply.text
    assert [g.reason for g in gaps(engine)] == ["unsupported_answer"]


def test_no_evidence_no_guess(engine, llm):
    engine.settings = engine.settings.model_copy(update={"evidence_threshold": 0.99})
    reply = engine.respond(engine.create_session(), "明天上海天气怎么样")
    assert reply.path == "refused" and reply.offer_human and llm.calls == []
    gap = gaps(engine)[0]
    assert gap.reason == "no_evidence" and gap.question == "明天上海天气怎么样" and "hits" in gap.trace


def test_follow_up_question_is_rewritten_from_the_session(engine, llm):
    llm.answers = [citing("第一条", "每月领取高龄津贴400元[{n}]。"), citing("第二条", "申请高龄津贴需要提供身份证和户口簿[{n}]。")]
    session = engine.create_session()
    engine.respond(session, "高龄津贴发多少")
    engine.respond(session, "它需要什么材料")
    assert "高龄津贴发多少 它需要什么材料" in llm.calls[1][1]["content"]


def test_progress_only_for_the_applicant(engine):
    own = engine.respond(engine.create_session(demo_ref="citizen-1"), "BS20240001 的进度")
    assert own.path == "tool" and "审核中" in own.text and "窗口核验原件" in own.text
    other = engine.respond(engine.create_session(demo_ref="citizen-2"), "查一下BS20240001办到哪了")
    missing = engine.respond(engine.create_session(demo_ref="citizen-2"), "查一下BS20249999办到哪了")
    assert "没有查到" in other.text and "审核中" not in other.text
    assert other.text.replace("BS20240001", "X") == missing.text.replace("BS20249999", "X")  # same answer: nothing revealed
    anonymous = engine.respond(engine.create_session(), "BS20240001 进度")
    assert "实名登录" in anonymous.text


def test_progress_without_a_number_asks_for_it_and_overdue_is_flagged(engine):
    ask = engine.respond(engine.create_session(demo_ref="citizen-1"), "我的办件进度怎么样了")
    assert "办件编号" in ask.text
    late = engine.respond(engine.create_session(demo_ref="citizen-2"), "BS20240002进度")
    assert "已超期" in late.text and late.offer_human


def test_handoff_queues_the_session_xiaobao_answers_while_it_waits_and_is_silent_once_a_helper_holds_it(engine, llm, services):
    chat = engine.create_session()
    reply = engine.respond(chat, "转人工")
    assert reply.path == "handoff" and "人工" in reply.text
    with Session(engine.db_engine) as session:
        handoff = session.scalars(select(Handoff)).one()
        assert handoff.session_id == chat
    assert engine.respond(chat, "政务服务中心几点上班？").path == "verbatim" and engine.status(chat) == "queued"
    services.accounts.add("li", "password-1", "helper", "李明")
    services.desk.claim(handoff.id, services.accounts.login("li", "password-1")[1])
    again = engine.respond(chat, "九十岁老人高龄津贴每月多少钱")
    assert again.path == "human" and again.text == "" and llm.calls == []
    assert [t["role"] for t in engine.history(chat)][-2:] == ["system", "user"]  # kept for the helper


def test_sensitive_topics_and_repeated_failures_go_to_a_human(engine):
    complaint = engine.respond(engine.create_session(), "我要投诉窗口工作人员")
    assert complaint.path == "handoff"
    chat = engine.create_session()
    first = engine.respond(chat, "火星移民签证怎么办理")
    assert first.path == "refused" and first.offer_human and engine.status(chat) == "bot"
    second = engine.respond(chat, "月球上的户口怎么迁")
    assert second.path == "refused" and "转接" in second.text and engine.status(chat) == "queued"
    with Session(engine.db_engine) as session:
        handoff = session.scalars(select(Handoff).where(Handoff.session_id == chat)).one()
        assert handoff.reason == "连续两次无法回答"


def test_two_bad_ratings_hand_the_session_over(engine):
    session = engine.create_session()
    first = engine.respond(session, "办事大厅什么时候开门")
    engine.rate(first.turn_id, "bad")
    assert engine.status(session) == "bot"
    second = engine.respond(session, "办事大厅什么时候开门")
    engine.rate(second.turn_id, "bad")
    assert engine.status(session) == "queued"
    assert engine.history(session)[-1]["role"] == "system"


def test_model_failure_mid_answer_is_stored_with_a_hand_off_offer(engine, llm):
    llm.answers = ["年满九十周岁的本区户籍老人每月领取高龄津贴400元[1]。"]  # breaks after 3 tokens
    llm.fail_after = 3
    session = engine.create_session()
    events = list(engine.stream(session, "九十岁老人高龄津贴每月多少钱"))
    assert [kind for kind, _ in events] == ["status", "sources", "final"]  # no sentence was complete: none was shown
    reply = events[-1][1]
    assert reply.path == "error" and reply.offer_human and "暂时不可用" in reply.text and "高龄津贴办法" in reply.text
    assert [t["role"] for t in engine.history(session)] == ["user", "assistant"]


@pytest.mark.databases
def test_everything_survives_a_restart(services, engine, llm, fake_embedder):
    llm.answers = [citing("第一条", "年满九十周岁的本区户籍老人每月领取高龄津贴400元[{n}]。")]
    chat = engine.create_session()
    reply = engine.respond(chat, "九十岁老人高龄津贴每月多少钱")
    engine.rate(reply.turn_id, "bad", "没说清楚")
    services.close()
    with Services(services.settings, embedder=fake_embedder, llm=llm) as restarted_services:
        history = restarted_services.engine.history(chat)
    assert [t["path"] for t in history] == [None, "generated"]
    assert history[1]["citations"][0]["citation"] == "《示例区高龄津贴办法》第一条"
    with Session(engine.db_engine) as session:
        assert session.scalars(select(Citation)).one().group.startswith("示例区高龄津贴办法")
        assert session.scalars(select(Turn).where(Turn.role == "assistant")).one().ttft_ms is not None
    assert [g.reason for g in gaps(engine)] == ["rated_bad"]


def test_bad_input_and_unknown_sessions(engine):
    session = engine.create_session()
    with pytest.raises(BadMessage):
        engine.respond(session, "   \x00 ")
    with pytest.raises(BadMessage):
        engine.respond(session, "问" * 501)
    with pytest.raises(SessionNotFound):
        engine.respond("no-such-session", "你好")
    assert engine.history(session) == []


def test_two_close_qa_entries_are_not_answered_verbatim(engine, ingestor, tmp_path):
    from tests.conftest import write

    write(tmp_path / "more" / "qa2.jsonl", '{"id": "qa-9", "question": "办事大厅什么时候开门", "answer": "另一条口径。"}')
    ingestor.ingest([tmp_path / "more"])
    reply = engine.respond(engine.create_session(), "办事大厅什么时候开门")
    assert reply.path != "verbatim"  # two entries equally close: no single official reply to give


def test_search_tool_reaches_the_knowledge_base(engine):
    result = engine.tools.call("search_knowledge", {"query": "高龄津贴"}, session_id="s", user_ref=None)
    assert "示例区高龄津贴办法" in result.text and result.data["hits"] > 0


def test_only_checked_sentences_are_shown_and_none_is_withdrawn(engine, llm):
    def answer(messages) -> str:
        return (
            citing("第二条", "申请高龄津贴需要提供身份证和户口簿[{n}]。")(messages)
            + "火星移民需要护照和签证[1]。"  # supported by no passage
            + citing("第一条", "年满九十周岁的本区户籍老人每月领取高龄津贴400元[{n}]。")(messages)
        )

    llm.answers = [answer]
    events = list(engine.stream(engine.create_session(), "高龄津贴怎么申请，每月多少钱"))
    shown = [value for kind, value in events if kind == "sentence"]
    final = events[-1][1]
    assert "".join(shown) == final.text  # exactly what was shown stays, in order
    assert len(shown) == 2 and not any("火星" in sentence for sentence in shown)  # the unsupported one never showed
    assert [c["number"] for c in final.citations] == [1, 2] and shown[0].endswith("[1]。") and shown[1].endswith("[2]。")


def test_a_model_failure_after_shown_sentences_keeps_them(engine, llm):
    first = "申请高龄津贴需要提供身份证和户口簿[{n}]。"
    llm.answers = [lambda messages: citing("第二条", first)(messages) + "年满九十周岁的本区户籍老人每月领取高龄津贴400元[1]。"]
    llm.fail_after = len(first) + 6  # the second sentence has begun, and never completes
    events = list(engine.stream(engine.create_session(), "高龄津贴怎么申请"))
    shown = [value for kind, value in events if kind == "sentence"]
    final = events[-1][1]
    assert len(shown) == 1 and final.path == "error" and final.text.startswith(shown[0]) and "转人工" in final.text
    assert final.citations[0]["citation"] == "《示例区高龄津贴办法》第二条"


def test_when_the_model_finds_no_answer_in_the_passages_xiaobao_refuses_rather_than_quotes(engine, llm):
    llm.answers = ["资料中没有相关内容。"]
    reply = engine.respond(engine.create_session(), "九十岁老人高龄津贴每月多少钱")
    assert reply.path == "refused" and reply.offer_human and [g.reason for g in gaps(engine)] == ["unsupported_answer"]


def test_a_quote_is_the_passage_sentences_that_answer_the_question():
    from xiaobao.assistant.quotes import QUOTE_CHARS, quote
    from xiaobao.knowledge.lexical import Tokenizer

    filler = "本办法适用于本区户籍居民。" * 12
    passage = f"{filler}新生儿出生后，监护人可在出生后三个月内为其办理城乡居民医保参保登记，可通过一网通办或社区事务受理中心办理。{filler}"
    text = quote(Tokenizer(), "新生儿医保怎么参保", passage)
    assert text.startswith("新生儿出生后") and "一网通办" in text and len(text) <= QUOTE_CHARS
    assert quote(Tokenizer(), "新生儿医保怎么参保", "短的原文。") == "短的原文。"  # a short passage is quoted whole


def test_warming_the_model_sends_the_answer_prompts_opening_and_is_quiet_when_the_model_is_down(engine, llm, monkeypatch):
    engine.warm_model()
    (opening,) = llm.calls
    assert opening[0]["content"] == load_prompt("answer_system") and opening[1]["content"].startswith("【资料】")

    def down(*args, **kwargs):
        raise LLMUnavailable("refused")

    monkeypatch.setattr(llm, "complete", down)
    engine.warm_model()  # no exception: a service starts without its model
