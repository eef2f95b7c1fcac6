import pytest

from xiaobao.ingest.splitter import sentences, split


def test_sentences_keep_end_punctuation_and_closing_quotes():
    assert sentences("他说：“可以。”然后走了！好吗？\n下一行") == ["他说：“可以。”", "然后走了！", "好吗？", "下一行"]


def test_split_never_cuts_inside_a_sentence():
    text = "第一句话很短。第二句话稍微长一点点。第三句。"
    chunks = split(text, size=12, overlap=0)
    assert chunks == ["第一句话很短。", "第二句话稍微长一点点。", "第三句。"]
    assert "".join(chunks) == text


def test_split_overlaps_by_whole_sentences():
    chunks = split("甲。乙。丙。丁。", size=4, overlap=1)
    assert chunks == ["甲。乙。", "乙。丙。", "丙。丁。"]


def test_overlong_sentence_is_its_own_chunk():
    long = "长" * 50 + "。"
    assert split("短。" + long + "尾。", size=10, overlap=0) == ["短。", long, "尾。"]


def test_bad_arguments():
    with pytest.raises(ValueError):
        split("文本。", size=0)
