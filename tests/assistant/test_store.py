"""How a source is named to a citizen (cited_as): one function for the sources line while the model
writes, the chat page's citations and the OpenAI-compatible API's 出处."""

from xiaobao.assistant.store import cited_as


def test_an_official_reply_is_named_by_its_question_never_the_bare_label_or_its_id():
    entry = {"question": "政务服务中心几点上班？", "department": "区行政服务中心"}
    assert cited_as("答复口径 qa-0025", entry) == "答复口径：政务服务中心几点上班？（区行政服务中心）"
    assert cited_as("答复口径 qa-0025", {"question": "政务服务中心几点上班？"}) == "答复口径：政务服务中心几点上班？"
    assert cited_as("答复口径 qa-0025", {"question": None}) == "答复口径：（未登记问题）"
    assert cited_as("《示例区高龄津贴办法》第一条 kb-00001", None) == "《示例区高龄津贴办法》第一条"


def test_the_sources_line_names_the_entry_s_question_while_the_model_writes(engine):
    events = list(engine.stream(engine.create_session(), "政务服务中心上班时间"))
    sources = next(value for kind, value in events if kind == "sources")
    assert sources[0] == {"number": 1, "citation": "答复口径：政务服务中心几点上班？"}
    assert all(s["citation"] != "答复口径" for s in sources)
