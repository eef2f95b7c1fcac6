"""A second, independent pre-review case set, for evaluation only: materials laid out as the real
documents are, not as the reviewer was first built to read them. Nothing here is tuned on the
reviewer, and the reviewer is never tuned on these cases (docs/SERVICES.md).

    python -m xiaobao.eval.prereview_field_cases var/prereview_field --n 120

What differs from the first set (eval/prereview_cases.py):
- 营业执照 in the horizontal or the vertical edition: letter-spaced labels (名　　称) beside their
  values with no colon, two columns, the credit code under its label, a red seal over the issue date;
- 居民身份证 front and back on one page (姓名 / 性别 民族 / 出生 / 住址 / 公民身份号码; 签发机关 /
  有效期限 2020.01.01-2040.01.01 or 长期), often with a "仅供…使用" watermark across it;
- applications as DOCX tables (four columns, a value merged across three cells, bracketed labels such
  as 法定代表人（负责人）, an empty value cell when a field is missing) or as photographed forms;
- leases whose term reads 租期：自…起到…止, …至…, 2024.03.01—2027.02.28 or 2024-03-01 到 2027-02-28;
- every scan a photograph: turned 3–8°, uneven light, sensor noise, JPEG 60–85, sometimes in
  perspective; on its side (rotated_scan) or out of focus (blurred_scan) when that is the defect.

A case is a folder in the first set's format (case.json beside the files), so `xiaobao eval
prereview` scores both. Needs a CJK font (Debian: fonts-wqy-microhei) to render.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import math
import random
import shutil
from pathlib import Path

from xiaobao.eval.prereview import write_case
from xiaobao.eval.prereview_cases import FONT, as_docx, load
from xiaobao.govdata.codes import CREDIT_CHARS
from xiaobao.govdata.records import Enterprise, Person, ServiceItem

ON = dt.date(2026, 12, 1)  # the review date of every case
ENTERPRISE_DEFECTS = ("clean", "missing_material", "bad_code", "bad_id_number", "name_mismatch", "expired", "missing_field",
                      "blurred_scan", "rotated_scan")  # fmt: skip
PERSON_DEFECTS = ("clean", "missing_material", "bad_id_number", "name_mismatch", "expired", "missing_field", "blurred_scan",
                  "rotated_scan")  # fmt: skip
INK = (30, 30, 35)
RED = (215, 40, 40)


def _font(size: int):
    from PIL import ImageFont

    return ImageFont.truetype(FONT, size)


def spaced(label: str, width: int = 4) -> str:
    """A short label spread over the width of a long one, as printed certificates do (名　　称)."""
    if len(label) >= width or len(label) < 2:
        return label
    gap = "\u3000" * ((width - len(label)) // (len(label) - 1))
    return gap.join(label)


def cn_date(day: dt.date, padded: bool = False) -> str:
    return f"{day.year}年{day.month:02d}月{day.day:02d}日" if padded else f"{day.year}年{day.month}月{day.day}日"


def wrap(text: str, width: int) -> list[str]:
    return [text[i : i + width] for i in range(0, len(text), width)] or [""]


# ---------------------------------------------------------------- pictures


def seal(image, centre: tuple[int, int], radius: int, text: str) -> None:
    """A red round seal, drawn translucent over whatever is beneath it."""
    from PIL import Image, ImageDraw

    layer = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    x, y = centre
    colour = (*RED, 170)
    draw.ellipse((x - radius, y - radius, x + radius, y + radius), outline=colour, width=max(3, radius // 14))
    star = radius // 4
    draw.regular_polygon((x, y, star), 5, fill=colour)
    font = _font(max(12, radius // 5))
    for i, ch in enumerate(text):  # the characters along the upper rim
        angle = math.pi * (1.15 + 0.7 * i / max(1, len(text) - 1))
        cx, cy = x + 0.72 * radius * math.cos(angle), y + 0.72 * radius * math.sin(angle)
        draw.text((cx, cy), ch, font=font, fill=colour, anchor="mm")
    image.paste(Image.alpha_composite(image.convert("RGBA"), layer).convert("RGB"))


def watermark(image, text: str, rng: random.Random) -> None:
    """Grey text repeated diagonally across the page, as people stamp copies of their ID card."""
    from PIL import Image, ImageDraw

    layer = Image.new("RGBA", (image.width * 2, image.height * 2), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    font = _font(rng.choice((26, 30, 34)))
    for row in range(0, layer.height, 120):
        draw.text(((row // 120) % 2 * 90, row), ("   " + text) * 6, font=font, fill=(120, 120, 120, rng.randint(55, 85)))
    layer = layer.rotate(rng.uniform(20, 35), center=(layer.width // 2, layer.height // 2))
    layer = layer.crop((image.width // 2, image.height // 2, image.width // 2 + image.width, image.height // 2 + image.height))
    image.paste(Image.alpha_composite(image.convert("RGBA"), layer).convert("RGB"))


def photograph(page, rng: random.Random, *, blur: bool = False, turn: int = 0) -> bytes:
    """A phone photo of a page on a desk: turned a few degrees, perhaps in perspective, lit from one
    side, noisy, JPEG. `blur`: out of focus; `turn`: 90 / 270 for a photo taken sideways."""
    import numpy as np
    from PIL import Image, ImageFilter

    desk = tuple(rng.randint(70, 140) for _ in range(3))
    margin = 40
    framed = Image.new("RGB", (page.width + 2 * margin, page.height + 2 * margin), desk)
    framed.paste(page, (margin, margin))
    angle = rng.uniform(3, 8) * rng.choice((-1, 1))
    image = framed.rotate(angle, expand=True, fillcolor=desk, resample=Image.Resampling.BICUBIC)
    if rng.random() < 0.35:  # held at a slant: one edge further from the lens
        w, h = image.size
        d = rng.uniform(0.02, 0.05)
        quad = (0, 0, int(w * d), h, w - int(w * d), h, w, 0) if rng.random() < 0.5 else (int(w * d), 0, 0, h, w, h, w - int(w * d), 0)
        image = image.transform((w, h), Image.Transform.QUAD, quad, resample=Image.Resampling.BICUBIC, fillcolor=desk)
    pixels = np.asarray(image, dtype=np.float32)
    h, w = pixels.shape[:2]
    direction = rng.uniform(0, 2 * np.pi)
    ramp = np.cos(direction) * np.linspace(-1, 1, w)[None, :] + np.sin(direction) * np.linspace(-1, 1, h)[:, None]
    light = 1.0 - rng.uniform(0.12, 0.3) * (ramp - ramp.min()) / (ramp.max() - ramp.min() + 1e-9)
    noise = np.random.default_rng(rng.randint(0, 2**31)).normal(0, rng.uniform(3, 8), pixels.shape)
    image = Image.fromarray(np.clip(pixels * light[..., None] + noise, 0, 255).astype(np.uint8))
    if blur:
        image = image.filter(ImageFilter.GaussianBlur(radius=rng.uniform(3.0, 5.0)))
    if turn:
        image = image.rotate(turn, expand=True)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=rng.randint(60, 85))
    return out.getvalue()


def licence_page(e: Enterprise, code: str, name: str, end: str, rng: random.Random):
    """营业执照 (副本): the horizontal edition (two columns of labelled values) or the vertical one."""
    from PIL import Image, ImageDraw

    horizontal = rng.random() < 0.65
    size = (1400, 980) if horizontal else (1000, 1400)
    page = Image.new("RGB", size, (250, 247, 238))
    draw = ImageDraw.Draw(page)
    draw.rectangle((20, 20, size[0] - 20, size[1] - 20), outline=(190, 150, 90), width=8)
    draw.text((size[0] // 2, 120), "营 业 执 照", font=_font(72), fill=(150, 30, 30), anchor="mm")
    draw.text((size[0] // 2, 190), "（副　本）", font=_font(26), fill=INK, anchor="mm")
    small, value = _font(22), _font(rng.choice((24, 26)))
    draw.text((70, 240), "统一社会信用代码", font=small, fill=INK)
    draw.text((70, 275), code, font=_font(28), fill=INK)
    draw.rectangle((size[0] - 190, 215, size[0] - 70, 335), fill=(40, 40, 40))  # the QR code's place
    rep = e.legal_rep
    fields = [("名称", name), ("类型", rng.choice(["有限责任公司（自然人投资或控股）", "有限责任公司（自然人独资）"])),
              ("法定代表人", rep), ("经营范围", rng.choice(["一般项目：技术服务、技术开发、技术咨询；食品销售（仅销售预包装食品）。",
                                                      "许可项目：餐饮服务；食品经营。一般项目：日用百货销售。"]))]  # fmt: skip
    others = [("注册资本", f"人民币{rng.choice([50, 100, 200, 500])}万元整"), ("成立日期", cn_date(e.established, padded=True)),
              ("营业期限", f"{cn_date(e.established, padded=True)}至{end}" if end != "长期" else "长期"), ("住所", e.address)]  # fmt: skip
    columns = [(70, 250, fields, 15), (740, 900, others, 18)] if horizontal else [(70, 250, fields[:3] + others + fields[3:], 28)]
    for label_x, value_x, rows, width in columns:
        y = 380
        for label, text in rows:
            draw.text((label_x, y), spaced(label, 5), font=small, fill=INK)
            for part in wrap(text, width):
                draw.text((value_x, y - 2), part, font=value, fill=INK)
                y += 44
            y += 22
    bottom = size[1] - 160
    draw.text((size[0] - 520, bottom), "登记机关", font=small, fill=INK)
    draw.text((size[0] - 520, bottom + 50), cn_date(ON - dt.timedelta(days=rng.randint(30, 900))), font=small, fill=INK)
    seal(page, (size[0] - 400, bottom + 20), 95, "上海市宝山区市场监督管理局")
    return page


def id_card_page(name: str, gender: str, birth: dt.date, address: str, number: str, start: dt.date, end: dt.date | None,
                 rng: random.Random, mark: str | None):  # fmt: skip
    """Both sides of a 居民身份证 on one page, as a copy is made: front (photo on the right) above back."""
    from PIL import Image, ImageDraw

    page = Image.new("RGB", (980, 1320), (252, 252, 250))
    for top, front in ((60, True), (700, False)):
        card = Image.new("RGB", (856, 540), (236, 240, 246))
        draw = ImageDraw.Draw(card)
        label, text = _font(24), _font(rng.choice((28, 30)))
        blue = (40, 90, 150)
        if front:
            draw.text((60, 55), "姓  名", font=label, fill=blue)
            draw.text((160, 50), name, font=text, fill=INK)
            draw.text((60, 125), "性  别", font=label, fill=blue)
            draw.text((160, 120), gender, font=text, fill=INK)
            draw.text((270, 125), "民  族", font=label, fill=blue)
            draw.text((370, 120), "汉", font=text, fill=INK)
            draw.text((60, 195), "出  生", font=label, fill=blue)
            draw.text((160, 190), f"{birth.year}  年  {birth.month}  月  {birth.day}  日", font=text, fill=INK)
            draw.text((60, 265), "住  址", font=label, fill=blue)
            for i, part in enumerate(wrap(address, 11)):
                draw.text((160, 260 + 44 * i), part, font=text, fill=INK)
            draw.text((60, 450), "公民身份号码", font=label, fill=blue)
            draw.text((250, 443), number, font=_font(32), fill=INK)
            draw.rectangle((590, 60, 800, 330), fill=(215, 222, 232))
            draw.ellipse((640, 100, 750, 230), fill=(170, 175, 185))
            draw.ellipse((610, 220, 780, 380), fill=(170, 175, 185))
        else:
            draw.ellipse((50, 40, 170, 160), outline=(200, 40, 40), width=6)
            draw.text((440, 110), "中华人民共和国", font=_font(40), fill=INK, anchor="mm")
            draw.text((440, 200), "居 民 身 份 证", font=_font(56), fill=INK, anchor="mm")
            draw.text((150, 350), "签发机关", font=label, fill=INK)
            draw.text((290, 345), "上海市公安局宝山分局", font=text, fill=INK)
            draw.text((150, 420), "有效期限", font=label, fill=INK)
            draw.text((290, 415), f"{start:%Y.%m.%d}-{end:%Y.%m.%d}" if end else f"{start:%Y.%m.%d}-长期", font=text, fill=INK)
        page.paste(card, (62, top))
    if mark:
        watermark(page, mark, rng)
    return page


def form_page(title: str, rows: list[list[str]]):
    """A paper form as a table with ruled cells: four columns, a value over three of them when a row
    has two cells; text too long for its cell wraps onto a second line."""
    from PIL import Image, ImageDraw

    widths = (260, 330, 260, 290)
    page = Image.new("RGB", (1240, 260 + 90 * len(rows)), (253, 253, 250))
    draw = ImageDraw.Draw(page)
    draw.text((620, 90), title, font=_font(38), fill=INK, anchor="mm")
    font = _font(24)
    y = 170
    for row in rows:
        spans = [1, 3] if len(row) == 2 else [1, 1, 1, 1]
        x, column = 50, 0
        for cell, span in zip(row, spans, strict=True):
            width = sum(widths[column : column + span])
            draw.rectangle((x, y, x + width, y + 90), outline=INK, width=2)
            parts = [""]
            for ch in cell:
                if draw.textlength(parts[-1] + ch, font=font) > width - 28:
                    parts.append("")
                parts[-1] += ch
            for i, part in enumerate(parts[:2]):
                draw.text((x + 14, y + 45 + 32 * (i - (len(parts[:2]) - 1) / 2)), part, font=font, fill=INK, anchor="lm")
            x += width
            column += span
        y += 90
    return page


def text_page(lines: list[str], rng: random.Random):
    from PIL import Image, ImageDraw

    font = _font(rng.choice((24, 26)))
    page = Image.new("RGB", (1100, 140 + 52 * len(lines)), (252, 251, 247))
    draw = ImageDraw.Draw(page)
    for i, line in enumerate(lines):
        draw.text((70, 70 + 52 * i), line, font=font, fill=INK)
    return page


# ---------------------------------------------------------------- documents


def table_docx(title: str, rows: list[list[str]]) -> bytes:
    """An application form as Word makes them: a title, then a 4-column table; a row of two cells has
    its value merged across the last three columns."""
    import docx

    document = docx.Document()
    document.add_heading(title, level=1)
    table = document.add_table(rows=len(rows), cols=4)
    table.style = "Table Grid"
    for r, row in enumerate(rows):
        cells = table.rows[r].cells
        if len(row) == 2:
            merged = cells[1].merge(cells[3])
            cells[0].text, merged.text = row
        else:
            for cell, text in zip(cells, row, strict=True):
                cell.text = text
    document.add_paragraph("申请人（签字/盖章）：                    日期：      年    月    日")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def lease_lines(landlord: str, tenant: str, address: str, start: dt.date, end: dt.date, rng: random.Random) -> list[str]:
    term = rng.choice([
        f"第二条 租期：自{cn_date(start)}起到{cn_date(end)}止。",
        f"第二条 租赁期限为{cn_date(start)}至{cn_date(end)}。",
        f"第二条 租期 {start:%Y.%m.%d}—{end:%Y.%m.%d}",
        f"第二条 租期：{start:%Y-%m-%d} 到 {end:%Y-%m-%d}",
    ])  # fmt: skip
    return ["房屋租赁合同", f"出租方（甲方）：{landlord}", f"承租方（乙方）：{tenant}",
            f"第一条 甲方将位于{address}的房屋出租给乙方作经营使用。", term,
            f"第三条 月租金人民币{rng.choice([3500, 6000, 8800])}元，按季支付。", "第四条 租赁期间水电费由乙方承担。",
            "甲方（盖章）：            乙方（签字）：", f"签订日期：{cn_date(start - dt.timedelta(days=rng.randint(5, 40)))}"]  # fmt: skip


def lease_file(lines: list[str], rng: random.Random, title: str) -> tuple[str, bytes]:
    roll = rng.random()
    if roll < 0.35:
        page = text_page(lines, rng)
        seal(page, (rng.randint(240, 420), page.height - rng.randint(60, 200)), 85, "上海房屋租赁专用章")
        return f"{title}.jpg", photograph(page, rng)
    if roll < 0.7:
        return f"{title}.docx", as_docx(lines)
    return f"{title}.txt", "\r\n".join(lines).encode("utf-8")


def a_different_code(code: str, rng: random.Random, digits: bool) -> str:
    """The same number with another final character: the check fails."""
    alphabet = "0123456789" if digits else CREDIT_CHARS
    return code[:-1] + rng.choice([c for c in alphabet if c != code[-1]])


def birth_of(id_number: str) -> dt.date:
    return dt.date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))


def expected_for(item: ServiceItem) -> dict[str, str | None]:
    return {f"{m.id}/{p.id}": "pass" for m in item.materials for p in m.review_points}


def unscore(expected: dict, material: str, keep: tuple[str, ...] = ("present", "legible")) -> None:
    for key in expected:
        if key.startswith(material + "/") and key.split("/")[1] not in keep:
            expected[key] = None


def enterprise_case(e: Enterprise, item: ServiceItem, defect: str, rng: random.Random):
    expected = expected_for(item)
    code = app_code = e.credit_code
    rep_id, app_name = e.legal_rep_id, e.name
    licence_end = "长期" if rng.random() < 0.5 else cn_date(ON + dt.timedelta(days=rng.randint(300, 7000)), padded=True)
    lease_start = ON - dt.timedelta(days=rng.randint(100, 700))
    lease_end = ON + dt.timedelta(days=rng.randint(60, 1500))
    empty = None
    if defect == "bad_code":
        app_code = a_different_code(code, rng, digits=False)
        expected["application/credit_code"] = "fail"
        if rng.random() < 0.5:  # the licence copy carries the same wrong code
            code = app_code
            expected["licence/credit_code"] = expected["licence/record"] = "fail"
    if defect == "bad_id_number":
        rep_id = a_different_code(rep_id, rng, digits=True)
        expected["legal_rep_id/id_number"] = expected["legal_rep_id/record"] = "fail"
    if defect == "name_mismatch":
        app_name = rng.choice(
            [e.name.replace("有限公司", "有限责任公司"), e.name.replace("上海", "上海市"), e.name.replace("有限公司", "公司")]
        )
        expected["application/same_name"] = "fail"
    if defect == "expired":
        if rng.random() < 0.5:
            licence_end = cn_date(ON - dt.timedelta(days=rng.randint(1, 700)), padded=True)
            expected["licence/unexpired"] = "fail"
        else:
            lease_end = ON - dt.timedelta(days=rng.randint(1, 400))
            lease_start = lease_end - dt.timedelta(days=730)
            expected["premises/unexpired"] = "fail"
    if defect == "missing_field":
        empty = rng.choice(["联系电话", "经营场所"])
        expected["application/fields"] = "fail"
    target = rng.choice(["licence", "legal_rep_id"])
    blur = defect == "blurred_scan"
    turn = rng.choice([90, 270]) if defect == "rotated_scan" else 0
    if blur or turn:
        expected[f"{target}/legible"] = "fail"
    if blur:
        unscore(expected, target)
        if target == "licence":
            expected["application/same_name"] = None

    def shot(page, material):
        return photograph(page, rng, blur=blur and target == material, turn=turn if target == material else 0)

    licence = shot(licence_page(e, code, e.name, licence_end, rng), "licence")
    birth = birth_of(rep_id)
    card_end = ON + dt.timedelta(days=rng.randint(200, 5000))
    mark = "仅供办理食品经营许可使用" if rng.random() < 0.5 else None
    card = shot(id_card_page(e.legal_rep, rng.choice("男女"), birth, e.address, rep_id, card_end.replace(year=card_end.year - 20),
                             card_end, rng, mark), "legal_rep_id")  # fmt: skip
    phone = e.contact_phone or "021-66000000"
    rows = [[rng.choice(["企业名称", "单位名称"]), app_name],
            [rng.choice(["统一社会信用代码", "统一社会信用代码（注册号）"]), app_code,
             rng.choice(["法定代表人（负责人）", "法定代表人"]), e.legal_rep],
            [rng.choice(["经营场所", "经营场所（地址）"]), "" if empty == "经营场所" else (e.premises or e.address)],
            ["联系人", e.legal_rep, rng.choice(["联系电话（手机）", "联系电话"]), "" if empty == "联系电话" else phone],
            ["经营项目", "√ 预包装食品销售（不含冷藏冷冻食品）"],
            ["申请日期", cn_date(ON - dt.timedelta(days=rng.randint(1, 20))), "邮政编码", "201900"]]  # fmt: skip
    title = "食品经营许可申请书"
    if rng.random() < 0.7:
        application = (f"{title}.docx", table_docx(title, rows))
    else:
        application = (f"{title}.jpg", photograph(form_page(title, rows), rng))
    lease = lease_file(lease_lines("上海宝丰物业管理有限公司", e.name, e.premises or e.address, lease_start, lease_end, rng), rng,
                       rng.choice(["房屋租赁合同", "经营场所租赁合同"]))  # fmt: skip
    files = {
        "licence": (rng.choice(["营业执照副本.jpg", "营业执照.jpg"]), licence),
        "application": application,
        "legal_rep_id": (rng.choice(["法定代表人身份证正反面.jpg", "法人身份证.jpg"]), card),
        "premises": lease,
    }
    return files, expected


def person_case(p: Person, item: ServiceItem, defect: str, rng: random.Random):
    expected = expected_for(item)
    card_id = app_id = p.id_number
    app_name = p.name
    birth = p.birth_date or birth_of(p.id_number)
    issued = ON - dt.timedelta(days=rng.randint(200, 3000))
    # cards issued after 46 are valid for life; younger people get 20 (or 10) years
    card_end = None if (issued - birth).days > 46 * 365 else issued.replace(year=issued.year + rng.choice([10, 20]))
    lease_start = ON - dt.timedelta(days=rng.randint(100, 700))
    lease_end = ON + dt.timedelta(days=rng.randint(60, 1500))
    empty = None
    if defect == "bad_id_number":
        wrong = a_different_code(p.id_number, rng, digits=True)
        where = rng.choice(["application", "id_card", "both"])
        if where in ("application", "both"):
            app_id = wrong
            expected["application/id_number"] = expected["application/record"] = "fail"
        if where in ("id_card", "both"):
            card_id = wrong
            expected["id_card/id_number"] = expected["id_card/record"] = "fail"
    if defect == "name_mismatch":
        app_name = p.name[0] + rng.choice(["晓", "小", "一"]) + p.name[1:]
        expected["application/record"] = "fail"
    if defect == "expired":
        if card_end is not None and rng.random() < 0.5:
            card_end = ON - dt.timedelta(days=rng.randint(1, 500))
            issued = card_end.replace(year=card_end.year - 10)
            expected["id_card/unexpired"] = "fail"
        else:
            lease_end = ON - dt.timedelta(days=rng.randint(1, 400))
            lease_start = lease_end - dt.timedelta(days=730)
            expected["premises/unexpired"] = "fail"
    if defect == "missing_field":
        empty = rng.choice(["联系电话", "经营场所", "经营范围"])
        expected["application/fields"] = "fail"
    blur = defect == "blurred_scan"
    turn = rng.choice([90, 270]) if defect == "rotated_scan" else 0
    if blur or turn:
        expected["id_card/legible"] = "fail"
    if blur:
        unscore(expected, "id_card")
    mark = "仅供个体工商户登记使用" if rng.random() < 0.5 else None
    page = id_card_page(p.name, p.gender or "男", birth, p.hukou_address or p.address, card_id, issued, card_end, rng, mark)
    card = photograph(page, rng, blur=blur, turn=turn)
    phone = p.phone or "13761234567"
    rows = [["经营者姓名", app_name, "性别", p.gender or "男"],
            [rng.choice(["身份证号码", "公民身份号码", "身份证号"]), app_id, rng.choice(["联系电话", "联系电话（手机）"]),
             "" if empty == "联系电话" else phone],
            ["个体户名称", f"宝山区{p.name[0]}记便利店", "组成形式", "个人经营"],
            [rng.choice(["经营场所", "经营场所（地址）"]), "" if empty == "经营场所" else p.address],
            ["经营范围", "" if empty == "经营范围" else "预包装食品销售；日用百货零售"],
            ["从业人数", str(rng.randint(1, 5)), "资金数额", f"{rng.choice([3, 5, 10])}万元"]]  # fmt: skip
    title = "个体工商户登记（备案）申请书"
    if rng.random() < 0.7:
        application = ("个体工商户登记申请书.docx", table_docx(title, rows))
    else:
        application = ("个体工商户登记申请书.jpg", photograph(form_page(title, rows), rng))
    files = {
        "application": application,
        "id_card": (rng.choice(["身份证正反面.jpg", "居民身份证复印件.jpg"]), card),
        "premises": lease_file(
            lease_lines("上海宝丰物业管理有限公司", p.name, p.address, lease_start, lease_end, rng),
            rng,
            rng.choice(["经营场所租赁合同", "场所使用证明（租赁合同）"]),
        ),  # fmt: skip
    }
    return files, expected


def generate(out: Path, n: int, seed: int = 17) -> int:
    rng = random.Random(seed)
    items = {i.id: i for i in load("items", ServiceItem)}
    enterprises = [e for e in load("enterprises", Enterprise) if e.legal_rep_id]
    persons = load("persons", Person)
    if out.exists():
        shutil.rmtree(out)
    counts = {"enterprise": 0, "person": 0}
    for number in range(1, n + 1):
        kind = "enterprise" if number % 2 else "person"
        defects = ENTERPRISE_DEFECTS if kind == "enterprise" else PERSON_DEFECTS
        defect = defects[counts[kind] % len(defects)]
        counts[kind] += 1
        if kind == "enterprise":
            applicant, item = rng.choice(enterprises), items["BS-ITEM-007"]
            files, expected = enterprise_case(applicant, item, defect, rng)
        else:
            applicant, item = rng.choice(persons), items["BS-ITEM-001"]
            files, expected = person_case(applicant, item, defect, rng)
        if defect == "missing_material":
            gone = rng.choice(list(files))
            del files[gone]
            unscore(expected, gone, keep=())
            expected[f"{gone}/present"] = "fail"
            if gone == "licence":
                expected["application/same_name"] = None  # nothing to compare the name with
        write_case(out / f"case-{number:04d}", files.values(), item.id, applicant.ref, defect, ON, expected)
    return n


def main() -> None:
    parser = argparse.ArgumentParser(description="生成独立的材料预审评测集（按真实版式制作，仅用于评测）。")
    parser.add_argument("out", type=Path, help="输出目录（会被清空重建）")
    parser.add_argument("--n", type=int, default=120, help="案例数（默认 120）")
    parser.add_argument("--seed", type=int, default=17, help="随机种子")
    args = parser.parse_args()
    print(f"已生成 {generate(args.out, args.n, args.seed)} 个案例：{args.out}")


if __name__ == "__main__":
    main()
