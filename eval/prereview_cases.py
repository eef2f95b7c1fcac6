"""Generate the labelled pre-review evaluation set: synthetic materials for the demo items and
applicants, clean or with one known defect each, and the expected result of every review point.

    python -m xiaobao.eval.prereview_cases eval/data/prereview --n 240

A case is a folder: `case.json` ({"item_id", "applicant_ref", "defect", "on", "expected":
{"material/point": "pass" | "fail"}}) beside the material files. Points a defect makes unreadable
(the content of a blurred scan) are left out of `expected` and not scored. Rendering the scans
needs a CJK font (Debian: fonts-wqy-microhei); reading the cases back does not.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import random
import shutil
from dataclasses import dataclass
from pathlib import Path

from xiaobao.eval.prereview import write_case
from xiaobao.govdata.codes import CREDIT_CHARS
from xiaobao.govdata.records import Enterprise, Person, ServiceItem

DEMO = Path(__file__).resolve().parents[1] / "demo" / "services"
FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
ON = dt.date(2026, 11, 27)  # the review date of every case, so results do not drift with time
DEFECTS = (
    "clean",
    "missing_material",
    "bad_code",
    "bad_id_number",
    "name_mismatch",
    "expired",
    "missing_field",
    "blurred_scan",
    "rotated_scan",
)


def load(kind: str, shape):
    return [shape.model_validate_json(line) for line in (DEMO / f"{kind}.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]


@dataclass(frozen=True)
class Style:
    """How scans look. NORMAL makes the labelled set; HARSH the out-of-set probe (docs/SERVICES.md)."""

    font_sizes: tuple[int, ...] = (24, 26, 28)
    paper: tuple[int, int] = (225, 255)
    width: int = 860
    line_height: int = 46
    ink: tuple[int, int] = (0, 60)
    skew: float = 2.0
    noise: float = 5.0
    jpeg_quality: int = 55
    always_photo: bool = False


NORMAL = Style()
HARSH = Style(font_sizes=(18, 20), paper=(200, 235), width=700, line_height=34, ink=(40, 90), skew=6.0, noise=12.0, jpeg_quality=40,
              always_photo=True)  # fmt: skip


def render(
    lines: list[str], rng: random.Random, *, blur: bool = False, rotate: int = 0, photo: bool = False, style: Style = NORMAL
) -> bytes:
    """A scan: the lines on greyish paper, slightly skewed and noisy; optionally out of focus or on
    its side. `photo`: a phone photo instead (lower contrast, sensor noise, JPEG)."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFilter, ImageFont

    photo = photo or style.always_photo
    font = ImageFont.truetype(FONT, rng.choice(style.font_sizes))
    paper = rng.randint(*style.paper)
    image = Image.new("L", (style.width, 60 + style.line_height * len(lines)), paper)
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((40 + rng.randint(-4, 4), 30 + style.line_height * i), line, font=font, fill=rng.randint(*style.ink))
    image = image.rotate(rng.uniform(-style.skew, style.skew), expand=False, fillcolor=paper)  # a scan is never quite straight
    if photo:
        noise = np.random.default_rng(rng.randint(0, 2**31)).normal(0, style.noise, (image.height, image.width))
        image = Image.fromarray(np.clip(np.asarray(image, dtype=np.float32) * 0.85 + 25 + noise, 0, 255).astype(np.uint8))
    if blur:
        image = image.filter(ImageFilter.GaussianBlur(radius=rng.uniform(3.5, 4.5)))
    if rotate:
        image = image.rotate(rotate, expand=True, fillcolor=paper)
    out = io.BytesIO()
    if photo:
        image.save(out, format="JPEG", quality=style.jpeg_quality)
    else:
        image.quantize(16).save(out, format="PNG", optimize=True)  # 16 greys: a third of the size, reads the same
    return out.getvalue()


def as_pdf(png: bytes) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.open(io.BytesIO(png)).convert("L").save(out, format="PDF", resolution=150)
    return out.getvalue()


def as_docx(lines: list[str]) -> bytes:
    import docx

    document = docx.Document()
    for line in lines:
        document.add_paragraph(line)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def break_check_char(code: str, rng: random.Random, digits_only: bool = False) -> str:
    alphabet = "0123456789" if digits_only else CREDIT_CHARS
    return code[:-1] + rng.choice([c for c in alphabet if c != code[-1]])


def date_cn(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


# the review points each defect makes fail, per item ("{expired}" / "{scan}": the material it hit)
ENTERPRISE_FAILS = {
    "bad_code": ["licence/credit_code", "licence/record", "application/credit_code"],
    "bad_id_number": ["legal_rep_id/id_number", "legal_rep_id/record"],
    "name_mismatch": ["application/same_name"],
    "expired": ["{expired}/unexpired"],
    "missing_field": ["application/fields"],
    "blurred_scan": ["{scan}/legible"],
    "rotated_scan": ["{scan}/legible"],
}
PERSON_FAILS = {
    **ENTERPRISE_FAILS,
    "bad_code": ["application/id_number", "application/record", "id_card/id_number", "id_card/record"],  # a person's code is the ID
    "bad_id_number": ["application/id_number", "application/record", "id_card/id_number", "id_card/record"],
    "name_mismatch": ["application/record"],
}


def mark_failures(expected: dict, fails: dict[str, list[str]], defect: str, expired: str | None, scan: str) -> None:
    for key in fails.get(defect, []):
        expected[key.format(expired=expired, scan=scan)] = "fail"


def drop_material(files: dict, expected: dict, rng: random.Random) -> str:
    """Leave one material out: its presence fails, its other points are not scored."""
    gone = rng.choice(list(files))
    del files[gone]
    for key in [k for k in expected if k.startswith(gone + "/")]:
        expected[key] = None
    expected[f"{gone}/present"] = "fail"
    return gone


def enterprise_case(
    e: Enterprise, defect: str, rng: random.Random, style: Style = NORMAL
) -> tuple[dict[str, tuple[str, bytes]], dict[str, str | None]]:
    code, name, rep_id = e.credit_code, e.name, e.legal_rep_id
    licence_end = "长期" if rng.random() < 0.5 else date_cn(ON + dt.timedelta(days=rng.randint(400, 6000)))
    lease_end = ON + dt.timedelta(days=rng.randint(200, 2000))
    app_name, phone = name, e.contact_phone or "021-00000000"
    if defect == "bad_code":
        code = break_check_char(code, rng)
    if defect == "bad_id_number":
        rep_id = break_check_char(rep_id, rng, digits_only=True)
    if defect == "name_mismatch":
        app_name = name.replace("有限公司", rng.choice(["有限责任公司", "股份有限公司", "发展有限公司"]))
    expired_what = rng.choice(["licence", "premises"]) if defect == "expired" else None
    if expired_what == "licence":
        licence_end = date_cn(ON - dt.timedelta(days=rng.randint(1, 900)))
    if expired_what == "premises":
        lease_end = ON - dt.timedelta(days=rng.randint(1, 900))
    scan_target = rng.choice(["licence", "legal_rep_id"])
    blur = defect == "blurred_scan"
    rotate = rng.choice([90, 270]) if defect == "rotated_scan" else 0

    licence = ["营业执照", f"统一社会信用代码：{code}", f"名称：{name}", "类型：有限责任公司（自然人投资或控股）",
               f"法定代表人：{e.legal_rep}", f"住所：{e.address}", f"营业期限：{date_cn(e.established)} 至 {licence_end}"]  # fmt: skip
    application = ["食品经营许可申请书", f"企业名称：{app_name}", f"统一社会信用代码：{code}", f"法定代表人：{e.legal_rep}",
                   f"经营场所：{e.address}", f"联系电话：{'' if defect == 'missing_field' else phone}",
                   "经营项目：预包装食品销售", f"申请日期：{date_cn(ON)}"]  # fmt: skip
    id_card = ["居民身份证", f"姓名：{e.legal_rep}", "性别：男", f"公民身份号码：{rep_id}", "有效期限：2018.05.01-2038.05.01"]
    premises = ["经营场所租赁合同", "出租方：上海示例物业管理有限公司", f"承租方：{name}", f"房屋地址：{e.address}",
                f"租赁期限：2024年1月1日至{date_cn(lease_end)}"]  # fmt: skip

    def scan(lines, target, photo):
        return render(
            lines, rng, blur=blur and scan_target == target, rotate=rotate if scan_target == target else 0, photo=photo, style=style
        )

    licence_photo, id_photo = rng.random() < 0.25, rng.random() < 0.25
    licence_png = scan(licence, "licence", licence_photo)
    files = {
        "licence": ("营业执照.pdf", as_pdf(licence_png))
        if rng.random() < 0.2
        else (f"营业执照.{'jpg' if licence_photo else 'png'}", licence_png),
        "application": ("食品经营许可申请书.docx", as_docx(application))
        if rng.random() < 0.15
        else ("申请书.txt", "\n".join(application).encode()),
        "legal_rep_id": (f"法定代表人身份证.{'jpg' if id_photo else 'png'}", scan(id_card, "legal_rep_id", id_photo)),
        "premises": ("场所租赁合同.txt", "\n".join(premises).encode()),
    }
    expected: dict[str, str | None] = {
        "licence/present": "pass", "licence/legible": "pass", "licence/credit_code": "pass", "licence/record": "pass",
        "licence/unexpired": "pass", "application/present": "pass", "application/fields": "pass", "application/credit_code": "pass",
        "application/same_name": "pass", "legal_rep_id/present": "pass", "legal_rep_id/legible": "pass",
        "legal_rep_id/id_number": "pass", "legal_rep_id/record": "pass", "premises/present": "pass", "premises/unexpired": "pass",
    }  # fmt: skip
    mark_failures(expected, ENTERPRISE_FAILS, defect, expired_what, scan_target)
    if blur:  # the content of an unreadable scan is not scored (nor what is compared with it)
        for key in [k for k in expected if k.startswith(scan_target + "/") and not k.endswith(("/present", "/legible"))]:
            expected[key] = None
        if scan_target == "licence":
            expected["application/same_name"] = None
    if defect == "missing_material" and drop_material(files, expected, rng) == "licence":
        expected["application/same_name"] = None  # nothing to compare the name with
    return files, expected


def person_case(
    p: Person, defect: str, rng: random.Random, style: Style = NORMAL
) -> tuple[dict[str, tuple[str, bytes]], dict[str, str | None]]:
    id_number, name = p.id_number, p.name
    id_end = ON + dt.timedelta(days=rng.randint(300, 5000))
    lease_end = ON + dt.timedelta(days=rng.randint(200, 2000))
    app_name, app_id = name, id_number
    if defect in ("bad_id_number", "bad_code"):  # a person's only code is the ID number
        id_number = app_id = break_check_char(id_number, rng, digits_only=True)
    if defect == "name_mismatch":
        app_name = name[0] + rng.choice(["小", "大", "晓"]) + name[1:]
    expired_what = rng.choice(["id_card", "premises"]) if defect == "expired" else None
    if expired_what == "id_card":
        id_end = ON - dt.timedelta(days=rng.randint(1, 900))
    if expired_what == "premises":
        lease_end = ON - dt.timedelta(days=rng.randint(1, 900))
    blur, rotate = defect == "blurred_scan", rng.choice([90, 270]) if defect == "rotated_scan" else 0

    phone = "" if defect == "missing_field" else (p.phone or "13900000000")
    application = ["个体工商户登记（备案）申请书", f"经营者姓名：{app_name}", f"身份证号：{app_id}", f"经营场所：{p.address}",
                   "经营范围：预包装食品销售；日用百货零售", f"联系电话：{phone}"]  # fmt: skip
    start = id_end.replace(year=id_end.year - 20)
    id_card = ["居民身份证", f"姓名：{name}", f"性别：{p.gender or '男'}", f"公民身份号码：{id_number}",
               f"有效期限：{start:%Y.%m.%d}-{id_end:%Y.%m.%d}"]  # fmt: skip
    premises = ["经营场所租赁合同", "出租方：上海示例物业管理有限公司", f"承租方：{name}", f"房屋地址：{p.address}",
                f"租赁期限：2024年1月1日至{date_cn(lease_end)}"]  # fmt: skip
    photo = rng.random() < 0.25
    id_png = render(id_card, rng, blur=blur, rotate=rotate, photo=photo, style=style)
    files = {
        "application": ("个体工商户登记申请书.docx", as_docx(application))
        if rng.random() < 0.15
        else ("申请书.txt", "\n".join(application).encode()),
        "id_card": ("身份证.pdf", as_pdf(id_png)) if rng.random() < 0.2 else (f"身份证.{'jpg' if photo else 'png'}", id_png),
        "premises": ("经营场所使用证明.txt", "\n".join(premises).encode()),
    }
    expected: dict[str, str | None] = {
        "application/present": "pass", "application/fields": "pass", "application/id_number": "pass", "application/record": "pass",
        "id_card/present": "pass", "id_card/legible": "pass", "id_card/id_number": "pass", "id_card/record": "pass",
        "id_card/unexpired": "pass", "premises/present": "pass", "premises/unexpired": "pass",
    }  # fmt: skip
    mark_failures(expected, PERSON_FAILS, defect, expired_what, "id_card")
    if blur:
        for key in ("id_card/id_number", "id_card/record", "id_card/unexpired"):
            expected[key] = None
    if defect == "missing_material":
        drop_material(files, expected, rng)
    return files, expected


def generate(out: Path, n: int, seed: int = 1, style: Style = NORMAL) -> int:
    rng = random.Random(seed)
    items = {i.id: i for i in load("items", ServiceItem)}
    enterprises = [e for e in load("enterprises", Enterprise) if e.legal_rep_id]
    persons = load("persons", Person)
    if out.exists():
        shutil.rmtree(out)
    for number in range(1, n + 1):
        defect = DEFECTS[(number - 1) % len(DEFECTS)]
        if rng.random() < 0.12:
            defect = "clean"  # a few more clean cases than any one defect
        if number % 5 < 3:
            applicant = rng.choice(enterprises)
            item, (files, expected) = items["BS-ITEM-007"], enterprise_case(applicant, defect, rng, style)
        else:
            applicant = rng.choice(persons)
            item, (files, expected) = items["BS-ITEM-001"], person_case(applicant, defect, rng, style)
            defect = "bad_id_number" if defect == "bad_code" else defect  # a person's only code is the ID number
        write_case(out / f"case-{number:04d}", files.values(), item.id, applicant.ref, defect, ON, expected)
    return n


def main() -> None:
    parser = argparse.ArgumentParser(description="生成材料预审评测集（合成材料，示例数据）。")
    parser.add_argument("out", type=Path, help="输出目录（会被清空重建）")
    parser.add_argument("--n", type=int, default=240, help="案例数（默认 240）")
    parser.add_argument("--seed", type=int, default=1, help="随机种子")
    parser.add_argument("--harsh", action="store_true", help="更难的扫描件（小字、暗纸、±6° 歪斜、强噪声、JPEG 40），用于集外压力测试")
    args = parser.parse_args()
    print(f"已生成 {generate(args.out, args.n, args.seed, HARSH if args.harsh else NORMAL)} 个案例：{args.out}")


if __name__ == "__main__":
    main()
