import logging

from tests.conftest import citing
from xiaobao.assistant import guard
from xiaobao.assistant.guard import ContentFilter, MaskingFilter, mask


def test_personal_numbers_are_masked():
    text = "身份证310113194003010027，电话13812345678，卡号6222021234567890123，代码91310113MA1GK1234K"
    assert mask(text) == "身份证【身份证号】，电话【手机号】，卡号【银行卡号】，代码【统一社会信用代码】"


def test_logs_are_masked():
    record = logging.LogRecord("xiaobao", logging.INFO, __file__, 1, "caller %s asked", ("13812345678",), None)
    assert MaskingFilter().filter(record) and record.getMessage() == "caller 【手机号】 asked"


def test_tracebacks_and_stacks_are_masked_too():
    import io

    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(MaskingFilter())
    log = logging.getLogger("xiaobao.test_masking")
    log.addHandler(handler)
    log.propagate = False
    try:
        try:
            raise ValueError("no record for 310113194003010027, caller 13812345678")
        except ValueError:
            log.exception("lookup failed for %s", "13812345678")
        log.warning("here", stack_info=True)
    finally:
        log.removeHandler(handler)
    text = out.getvalue()
    assert "Traceback" in text and "ValueError: no record for 【身份证号】, caller 【手机号】" in text
    assert "lookup failed for 【手机号】" in text
    assert "310113194003010027" not in text and "13812345678" not in text


def test_the_content_filter_sees_through_spacing_and_punctuation(tmp_path):
    default = ContentFilter.load(None)
    assert default.find("哪里可以 办·假 证？") == "办假证" and default.find("居住证怎么办") is None
    words = tmp_path / "words.txt"
    words.write_text("# 本区的词表\n违禁词\n", encoding="utf-8")
    assert ContentFilter.load(words).find("这是违 禁词") == "违禁词" and ContentFilter.load(words).find("办假证") is None


def test_sensitive_input_and_output_are_refused_and_logged(engine, llm, caplog):
    with caplog.at_level(logging.WARNING, logger="xiaobao.guard"):
        reply = engine.respond(engine.create_session(), "哪里能办假证")
    assert reply.path == "blocked" and reply.text == guard.BLOCKED and llm.calls == []
    assert "办假证" in caplog.text
    engine.content = ContentFilter(["户籍老人"])  # a word the model's answer will contain, the question does not
    llm.answers = [citing("第一条", "年满九十周岁的本区户籍老人每月领取高龄津贴400元[{n}]。")]
    reply = engine.respond(engine.create_session(), "九十岁老人高龄津贴每月多少钱")
    assert reply.path == "blocked" and "户籍老人" not in reply.text
