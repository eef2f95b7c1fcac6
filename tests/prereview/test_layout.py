import io
import math

import docx

from xiaobao.prereview.extract import read_docx
from xiaobao.prereview.layout import boxes, canonical, paired_lines, split_label, table_lines, typed_lines
from xiaobao.prereview.review import labelled


def test_labels_are_known_in_their_variants():
    assert canonical("名　　称") == "名称"
    assert canonical("法定代表人（负责人）") == "法定代表人"
    assert canonical("联系电话(手机)：") == "联系电话"
    assert canonical("统一社会信用代码（注册号）") == "统一社会信用代码"
    assert canonical("公民身份号码") == canonical("身份证号码") == "身份证号"
    assert canonical("单位名称") == "企业名称" and canonical("住址") == "住所"
    assert canonical("出租方") is None and canonical("上海示例科技有限公司") is None


def test_a_typed_label_needs_a_separator_an_ocr_box_does_not():
    assert split_label("名 称  上海示例科技有限公司") == ("名称", "上海示例科技有限公司")
    assert split_label("法定代表人（负责人）：赵示例") == ("法定代表人", "赵示例")
    assert split_label("名称变更登记") is None  # a word that starts like a label
    assert split_label("名称上海示例科技有限公司", loose=True) == ("名称", "上海示例科技有限公司")
    assert typed_lines("身份证号码：310113194003010027\n第一条 甲方") == ["身份证号：310113194003010027", "第一条 甲方"]


def ocr(rows, angle_deg=0.0):
    """RapidOCR-like results for boxes given as (text, x, y, width, height), the page turned by angle_deg."""
    angle = math.radians(angle_deg)

    def turn(x, y):
        return [x * math.cos(angle) - y * math.sin(angle), x * math.sin(angle) + y * math.cos(angle)]

    return [([turn(x, y), turn(x + w, y), turn(x + w, y + h), turn(x, y + h)], text, 0.99) for text, x, y, w, h in rows]


def test_licence_labels_beside_and_above_their_values_on_a_tilted_photo():
    licence = ocr(
        [
            ("营业执照", 500, 80, 280, 70),
            ("统一社会信用代码", 70, 240, 180, 24),
            ("91310113MA1GK1234K", 70, 275, 300, 30),  # under its label
            ("名", 70, 380, 22, 24),  # a letter-spaced label OCR cut in two
            ("称", 160, 380, 22, 24),
            ("上海示例科技有限公司", 250, 378, 260, 28),
            ("注册资本", 740, 380, 90, 24),
            ("人民币100万元整", 900, 378, 200, 28),
            ("营业期限", 740, 446, 90, 24),
            ("2019年05月20日至2039年1", 900, 444, 330, 28),
            ("1月08日", 900, 488, 100, 28),  # the value wrapped onto a second line
            ("法定代表人", 70, 446, 110, 24),
            ("赵示例", 250, 444, 80, 28),
        ],
        angle_deg=6,
    )
    watermark = ocr([("仅供办理食品经营许可使用", 300, 300, 500, 30)], angle_deg=36)
    lines = paired_lines(boxes(licence + watermark))
    assert lines[0] == "营业执照"
    assert "统一社会信用代码：91310113MA1GK1234K" in lines
    assert "名称：上海示例科技有限公司" in lines and "注册资本：人民币100万元整" in lines
    assert "法定代表人：赵示例" in lines
    assert "营业期限：2019年05月20日至2039年11月08日" in lines
    assert not any("仅供" in line for line in lines)


def test_id_card_lines_with_two_labels_and_a_form_row_with_an_empty_cell():
    card = ocr([("姓名", 60, 55, 50, 24), ("张示例", 160, 50, 90, 30), ("性别", 60, 125, 50, 24), ("男", 160, 120, 30, 30),
                ("民族", 270, 125, 50, 24), ("汉", 370, 120, 30, 30), ("公民身份号码", 60, 450, 150, 24),
                ("310113194003010027", 250, 443, 300, 32)])  # fmt: skip
    assert paired_lines(boxes(card)) == ["姓名：张示例", "性别：男", "民族：汉", "身份证号：310113194003010027"]
    form = ocr([("联系人", 64, 200, 75, 24), ("赵示例", 324, 200, 75, 24), ("联系电话（手机）", 594, 200, 190, 24),
                ("经营项目", 64, 290, 100, 24), ("√预包装食品销售", 324, 290, 220, 24)])  # fmt: skip
    lines = paired_lines(boxes(form))
    assert "联系电话：" in lines and "联系人：赵示例" in lines and "经营项目：√预包装食品销售" in lines


def application_docx(phone: str) -> bytes:
    document = docx.Document()
    document.add_paragraph("食品经营许可申请书")
    table = document.add_table(rows=3, cols=4)
    first = table.rows[0].cells
    merged = first[1].merge(first[3])  # the name over three columns
    first[0].text, merged.text = "企业名称", "上海示例科技有限公司"
    for cell, text in zip(table.rows[1].cells, ["统一社会信用代码", "91310113MA1GK1234K", "法定代表人（负责人）", "赵示例"], strict=True):
        cell.text = text
    for cell, text in zip(table.rows[2].cells, ["联系人", "赵示例", "联系电话（手机）", phone], strict=True):
        cell.text = text
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_docx_tables_are_read_as_cell_grids():
    table = docx.Document(io.BytesIO(application_docx(""))).tables[0]
    assert table_lines(table) == ["企业名称：上海示例科技有限公司", "统一社会信用代码：91310113MA1GK1234K", "法定代表人：赵示例",
                                  "联系人：赵示例", "联系电话："]  # fmt: skip
    text = read_docx("申请书.docx", application_docx("021-00000001")).text
    assert text.splitlines()[0] == "食品经营许可申请书"
    assert labelled(text, ("统一社会信用代码",)) == "91310113MA1GK1234K"  # not run into the next label
    assert labelled(text, ("联系电话",)) == "021-00000001"
    assert labelled(read_docx("申请书.docx", application_docx("")).text, ("联系电话",)) is None


def test_a_value_belongs_to_its_labels_line_even_when_ocr_boxes_overlap():
    """A photo held askew: OCR's box of 女 reaches back over the end of 性别 and starts right under the
    name; it is 性别's value, not the name wrapping (赵示例女). The address likewise is 住址's, not the
    birth date's second line."""
    card = ocr([("姓名", 139, 291, 108, 34), ("赵示例", 238, 290, 100, 35), ("性别", 140, 359, 83, 38), ("女", 206, 353, 76, 49),
                ("出生", 141, 431, 70, 35), ("1992年9月9日", 230, 429, 281, 36), ("住址", 140, 502, 71, 33),
                ("上海市宝山区示例园区1", 204, 499, 357, 36), ("号楼", 238, 540, 74, 44)])  # fmt: skip
    assert paired_lines(boxes(card)) == ["姓名：赵示例", "性别：女", "出生：1992年9月9日", "住所：上海市宝山区示例园区1号楼"]


def test_a_label_cell_that_wraps_keeps_its_value():
    """法定代表人（负责人） wrapped in its cell: the open bracket does not take the value box in, and
    the label's second line is part of the label."""
    assert canonical("法定代表人（负责") == "法定代表人" and canonical("法定代表人（负责孙测试", cut=False) is None
    form = ocr([("统一社会信用代码", 145, 322, 202, 32), ("91310113MA1L5X7D2K", 412, 320, 259, 31), ("法定代表人（负责", 748, 301, 225, 31),
                ("人）", 750, 336, 50, 30), ("孙测试", 1012, 314, 83, 32), ("经营场所", 145, 412, 202, 32),
                ("上海", 412, 412, 188, 32)])  # fmt: skip
    assert paired_lines(boxes(form)) == ["统一社会信用代码：91310113MA1L5X7D2K", "法定代表人：孙测试", "经营场所：上海"]
    merged = ocr([("法定代表人（负责人", 748, 301, 225, 31), ("孙测试", 1012, 314, 83, 32)])
    assert paired_lines(boxes(merged)) == ["法定代表人：孙测试"]
