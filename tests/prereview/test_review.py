import datetime as dt

import pytest

from xiaobao.prereview.extract import Ocr, Unreadable, extract
from xiaobao.prereview.review import blank, end_date, find_code, labelled


def test_labelled_values_stop_at_the_line_end():
    text = "企业名称：上海示例科技有限公司\n联系电话：\n经营项目：预包装食品销售\n个体户名称：某某店"
    assert labelled(text, ("企业名称",)) == "上海示例科技有限公司"
    assert labelled(text, ("联系电话",)) is None  # empty, not the next line's value
    assert labelled(text, ("名称",)) is None  # 个体户名称 is not 名称


def test_codes_survive_ocr_confusions():
    assert find_code("统一社会信用代码：9131O113MA1GK1234K", "credit_code") == "91310113MA1GK1234K"
    assert find_code("公民身份号码：3101131940030l0027", "id_number") == "310113194003010027"
    assert find_code("无号码", "id_number") is None


def test_validity_dates():
    assert end_date("营业期限：2019年5月20日 至 长期") == ("长期", None)
    assert end_date("有效期限：2018.05.01-2038.05.01") == ("2038-05-01", dt.date(2038, 5, 1))
    assert end_date("租赁期限：2024年1月1日至2025年12月31日") == ("2025-12-31", dt.date(2025, 12, 31))
    assert end_date("签订日期：2024年1月1日") is None
    # the ways a lease or a card states its term
    assert end_date("第二条 租期：自2024年3月1日起到2027年2月28日止。") == ("2027-02-28", dt.date(2027, 2, 28))
    assert end_date("第二条 租期 2024.03.01—2027.02.28") == ("2027-02-28", dt.date(2027, 2, 28))
    assert end_date("租期：2024-03-01 到 2027-02-28") == ("2027-02-28", dt.date(2027, 2, 28))
    assert end_date("有效期限：2020.01.01-长期") == ("长期", None)
    assert end_date("营业期限：2019 年 5 月 20 日至 2039 年 5 月 19 日") == ("2039-05-19", dt.date(2039, 5, 19))
    assert end_date("出生：1990年1月1日\n签订日期：2024年2月20日\n联系电话：021-00000001") is None


def test_a_printed_label_with_nothing_beside_it_is_blank():
    text = "联系电话：\n经营场所：上海市宝山区样板街8号\n经营范围：/"
    assert blank(text, "联系电话") and blank(text, "经营范围") and not blank(text, "经营场所") and not blank(text, "企业名称")


def test_unreadable_files_say_why():
    ocr = Ocr()
    for name, data, message in (
        ("a.png", b"not an image", "无法打开这张图片"),
        ("a.pdf", b"%PDF-1.4 broken", "无法读取这个 PDF"),
        ("a.docx", b"PK broken", "无法读取这个 DOCX"),
        ("a.txt", "文本".encode("gbk"), "不是 UTF-8"),
        ("a.exe", b"MZ", "不支持的文件类型"),
        ("a.txt", b"", "文件是空的"),
    ):
        with pytest.raises(Unreadable, match=message):
            extract(name, data, ocr)


def test_blur_and_orientation_are_detected():
    from xiaobao.eval.prereview_cases import FONT, render

    pytest.importorskip("PIL")
    import random
    from pathlib import Path

    if not Path(FONT).exists():
        pytest.skip("the CJK font that renders test scans is not installed")
    lines = ["营业执照", "统一社会信用代码：91310113MA1GK1234K", "名称：上海示例科技有限公司"]
    ocr = Ocr()
    sharp = extract("a.png", render(lines, random.Random(1)), ocr)
    assert not sharp.blurred and sharp.rotated == 0 and "91310113MA1GK1234K" in sharp.text
    assert extract("b.png", render(lines, random.Random(1), blur=True), ocr).blurred
    turned = extract("c.png", render(lines, random.Random(1), rotate=90), ocr)
    assert turned.rotated and "上海示例科技有限公司" in turned.text


def test_only_confident_ocr_reads_can_fail_a_number():
    from xiaobao.prereview.extract import Extracted

    scan = Extracted("a.png", "", scanned=True, line_confidence={"统一社会信用代码：91310113MA1K3T205W": 0.972, "名称：X": 0.999})
    assert not scan.sure_of("91310113MA1K3T205W") and scan.sure_of("X") and not scan.sure_of("NOT-THERE")
    assert Extracted("a.txt", "代码：123").sure_of("123")  # typed text is what it says


def test_the_values_read_under_the_review_s_labels_are_kept_only_when_read_confidently():
    from xiaobao.prereview.extract import Extracted
    from xiaobao.prereview.review import read_fields

    code, name, where = "91310113MA1GK1234K", "上海示例科技有限公司", "上海市宝山区示例园区1号楼"
    text = f"营业执照\n统一社会信用代码：9131O113MA1GK1234K\n名称：{name}\n住所：{where}\n法定代表人：/\n备注：无关"
    assert read_fields(Extracted("营业执照.txt", text)) == {"统一社会信用代码": code, "名称": name, "住所": where}
    confidence = {f"统一社会信用代码：{code}": 0.999, f"名称：{name}": 0.999, f"住所：{where}": 0.95}
    scan = Extracted("营业执照.png", text, scanned=True, line_confidence=confidence)
    assert read_fields(scan) == {"统一社会信用代码": code, "名称": name}  # the 住所 was a shaky read
