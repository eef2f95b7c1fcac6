import json
from pathlib import Path

import pytest

from tests.conftest import STATUTE, write
from xiaobao.ingest.loaders import LoadFailed, LoadOptions, load_file

OPTIONS = LoadOptions(chunk_chars=60, chunk_overlap=0, article_max_chars=100)


def load(path: Path, root: Path | None = None):
    return load_file(path, str(path), root or path.parent, OPTIONS)


def test_statute_one_chunk_per_article_with_citation(tmp_path):
    path = write(tmp_path / "地方法规" / "示例市物业管理条例(2020-01-01).md", STATUTE)
    loaded = load(path, tmp_path)
    labels = [c.meta["article"] for c in loaded.chunks]
    assert labels == ["第一条", "第二条", "第三条", "第十条之一"]
    second = loaded.chunks[1]
    assert second.citation == "《示例市物业管理条例》第二条"
    assert second.text == "第二条 本条例适用于本市行政区域内的物业管理活动。\n业主大会应当依法履行职责。"
    assert second.meta["chapter"] == "第一章 总则"
    assert loaded.chunks[2].meta["chapter"] == "第二章 业主"
    assert second.meta["category"] == "地方法规"
    assert (loaded.version_key, loaded.version_date) == ("示例市物业管理条例", "2020-01-01")
    assert "2020年1月1日" not in " ".join(c.text for c in loaded.chunks)  # the preamble is not an article


def test_long_article_is_split_and_keeps_its_citation(tmp_path):
    body = "第五条 " + "。".join(["物业服务企业应当公开收费标准和服务内容"] * 12) + "。"
    path = write(tmp_path / "长条例.md", f"# 长条例\n\n{body}\n")
    chunks = load(path).chunks
    assert len(chunks) > 1
    assert {c.citation for c in chunks} == {"《长条例》第五条"}
    assert len({c.group for c in chunks}) == 1
    assert len({c.id for c in chunks}) == len(chunks)
    assert all(len(c.text) <= 100 for c in chunks)


def test_law_without_articles_falls_back_to_paragraph_chunks(tmp_path):
    path = write(tmp_path / "批复.md", "# 关于某问题的批复\n\n<!-- INFO END -->\n\n一、同意。\n\n二、请遵照执行。\n")
    loaded = load(path)
    assert loaded.chunks and loaded.chunks[0].doc_type == "document"
    assert loaded.chunks[0].citation == "《关于某问题的批复》第1段"
    assert loaded.version_key == "关于某问题的批复"


def test_service_guide_chunks_per_section(tmp_path):
    rec = {
        "id": "G1",
        "name": "居住证办理",
        "department": "公安分局",
        "item_type": "公共服务",
        "conditions": "在本区居住半年",
        "materials": ["身份证", "居住证明"],
        "location": None,
        "time_limit_promised": "5(工作日)",
    }
    chunks = load(write(tmp_path / "guides.jsonl", json.dumps(rec, ensure_ascii=False) + "\n")).chunks
    sections = [c.meta["section"] for c in chunks]
    assert sections == ["概述", "受理条件", "申请材料", "承诺时限"]
    materials = chunks[2]
    assert materials.citation == "《居住证办理》办事指南·申请材料"
    assert "1. 身份证\n2. 居住证明" in materials.text
    assert materials.meta["department"] == "公安分局" and materials.meta["item"] == "居住证办理"


def test_qa_entries_match_on_every_phrasing_and_skip_drafts(tmp_path):
    lines = [
        {
            "id": "qa-1",
            "question": "怎么转人工？",
            "alternatives": ["人工客服在哪"],
            "answer": "输入转人工。",
            "item": None,
            "department": "中心",
            "effective_from": "2024-01-01",
            "effective_to": None,
            "status": "published",
        },
        {"id": "qa-2", "question": "草稿", "alternatives": [], "answer": "未发布", "status": "draft"},
    ]
    text = "\n".join(json.dumps(x, ensure_ascii=False) for x in lines)
    chunks = load(write(tmp_path / "qa.jsonl", text)).chunks
    assert [c.text for c in chunks] == ["怎么转人工？", "人工客服在哪"]
    assert {c.group for c in chunks} == {"qa:qa-1"}
    assert chunks[0].meta["answer"] == "输入转人工。"
    assert chunks[0].meta["effective_from"] == 20240101 and chunks[0].meta["effective_to"] is None


def test_malformed_jsonl_lines_are_reported_and_skipped(tmp_path):
    text = '{"id": "a", "text": "第一段内容。"}\n{broken\n["not", "an", "object"]\n{"id": "b", "text": "第二段。"}\n'
    loaded = load(write(tmp_path / "records.jsonl", text))
    assert [c.meta["doc_id"] for c in loaded.chunks] == ["a", "b"]
    assert [p.line for p in loaded.problems] == [2, 3]


def test_html_and_text_documents(tmp_path):
    html = (
        "<html><head><title>页</title><script>var x;</script></head>"
        "<body><h1>常见问题</h1><p>问：几点上班？</p><p>答：九点。</p></body></html>"
    )
    chunks = load(write(tmp_path / "faq.html", html)).chunks
    assert chunks[0].title == "常见问题"
    assert "var x" not in chunks[0].text and "九点" in chunks[0].text
    txt = load(write(tmp_path / "说明.txt", "第一段。\n\n第二段。")).chunks
    assert txt[0].title == "说明" and txt[0].citation == "《说明》第1段"


def test_docx_document(tmp_path):
    import docx

    document = docx.Document()
    document.add_paragraph("高龄津贴按月发放。")
    document.add_paragraph("九十岁以上每月四百元。")
    path = tmp_path / "津贴.docx"
    document.save(str(path))
    chunks = load(path).chunks
    assert "四百元" in "".join(c.text for c in chunks)


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("binary.txt", b"\x00\x01\x02abc", "二进制"),
        ("gbk.txt", "中文内容".encode("gbk"), "UTF-8"),
        ("empty.txt", b"   \n", "没有可读取的文字"),
        ("broken.pdf", b"%PDF-1.4 not really", "无法解析"),
    ],
)
def test_bad_files_fail_with_a_clear_message(tmp_path, name, data, message):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(LoadFailed) as info:
        load(path)
    assert message in info.value.message


def test_pdf_document(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure = plt.figure()
    figure.text(0.1, 0.5, "Service hours: nine to five. Bring your ID card.")
    path = tmp_path / "hours.pdf"
    figure.savefig(path)
    plt.close(figure)
    chunks = load(path).chunks
    assert chunks[0].doc_type == "document" and "Bring your ID card." in chunks[0].text
