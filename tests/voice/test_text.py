import pytest

from xiaobao.voice.text import normalise, sentences


@pytest.mark.parametrize(
    ("written", "spoken"),
    [
        ("请于2024年3月5日前办理", "请于二零二四年三月五日前办理"),
        ("生效日期2024-03-05。", "生效日期二零二四年三月五日。"),
        ("3月8号上午", "三月八号上午"),
        ("2025年起执行", "二零二五年起执行"),
        ("拨打12345热线", "拨打幺二三四五热线"),
        ("电话021-66778899", "电话零二幺六六七七八八九九"),
        ("身份证号31011319900101123X", "身份证号三幺零幺幺三幺九九零零幺零幺幺二三叉"),
        ("补贴1500元", "补贴一千五百元"),
        ("补贴2000元", "补贴两千元"),
        ("占比5%", "占比百分之五"),
        ("3.5公里", "三点五公里"),
        ("3-5个工作日", "三至五个工作日"),
        ("工作时间9:00至17:30", "工作时间九点至十七点三十分"),
        ("下午2:05", "下午两点零五分"),
        ("依据《上海市居住证管理办法》[1]第3条", "依据上海市居住证管理办法第三条"),
        ("详见https://example.gov.cn/a?b=1 。", "详见页面上的网址 。"),
    ],
)
def test_written_forms_are_read_as_a_clerk_reads_them(written, spoken):
    assert normalise(written) == spoken


def test_sentences_keep_their_punctuation_and_long_ones_are_cut_at_a_comma():
    assert sentences("您好！请问办什么事？\n居住证。") == ["您好！", "请问办什么事？", "居住证。"]
    long = "需要携带身份证、户口本、" + "租赁合同" * 14 + "，以及照片。"
    pieces = sentences(long)
    assert "".join(pieces) == long
    assert all(len(p) <= 60 for p in pieces) and len(pieces) >= 2
    clauses = "申请人需携带身份证、户口本和租赁合同，到宝山区政务服务中心三号窗口办理，工作日均可。"
    assert sentences(clauses) == ["申请人需携带身份证、户口本和租赁合同，", "到宝山区政务服务中心三号窗口办理，工作日均可。"]
    assert sentences("您好，我是小宝，很高兴为您服务。", first=False) == ["您好，我是小宝，很高兴为您服务。"]  # short: whole
    assert sentences("工作日9:00至17:00，1,500元。", first=False) == ["工作日9:00至17:00，1,500元。"]  # 9:00, 1,500: no pause


def test_the_first_clause_of_what_is_spoken_is_the_shortest_there_is():
    """The citizen waits for the first audio: the text's first piece is cut at its first comma."""
    assert sentences("您好，我是小宝，很高兴为您服务。") == ["您好，", "我是小宝，很高兴为您服务。"]
    assert sentences("办理居住证，需要身份证和租赁合同。好的，谢谢。") == ["办理居住证，", "需要身份证和租赁合同。", "好的，谢谢。"]
    assert sentences("工作日9:00至17:00办理。") == ["工作日9:00至17:00办理。"]  # no comma: whole
    assert sentences("您好，请问。") == ["您好，请问。"]  # short enough as it is
    listed = "需要身份证、户口本、结婚证、房产证、租赁合同、社保缴费证明、居住证明和照片。"
    assert sentences(listed)[0].endswith("、") and "".join(sentences(listed)) == listed  # no comma: at a list's 、


def test_citation_marks_are_neither_spoken_nor_captioned():
    assert sentences("在宝山区政务服务中心办理[1]。需带身份证[2]。", first=False) == ["在宝山区政务服务中心办理。", "需带身份证。"]
    assert sentences("办理。[1]") == ["办理。"]  # a mark after the full stop is no sentence of its own


def test_nothing_to_say_is_no_sentence():
    assert sentences("  \n ") == [] and sentences("……。") == []
