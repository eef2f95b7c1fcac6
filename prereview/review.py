"""Check an item's review points against the uploaded materials and the applicant's records:
materials present, scans legible, check digits valid, names and numbers consistent with each other
and with the data sources, dates not expired, required fields filled. Every point ends pass, fail or
uncertain (the machine cannot tell; a person should look), with the evidence and a fix in Chinese."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass, field

from xiaobao.govdata.codes import CREDIT_CODE, ID_NUMBER, valid_credit_code, valid_id_number
from xiaobao.govdata.records import Enterprise, Material, Person, ReviewPoint, ServiceItem
from xiaobao.prereview.extract import Extracted, Limits, Ocr, Unreadable, UploadRejected, check_batch
from xiaobao.prereview.layout import EMPTY, VOCABULARY, canonical
from xiaobao.prereview.pool import Extractor, ReviewBusy

__all__ = ["Limits", "Review", "ReviewBusy", "Reviewer", "UploadRejected", "check_batch"]

# labels (canonical, see layout.VOCABULARY) under which a material states each record field, most specific first
LABELS = {
    "name": ("企业名称", "名称", "经营者姓名", "姓名"),
    "legal_rep": ("法定代表人", "姓名"),
    "credit_code": ("统一社会信用代码",),
    "id_number": ("身份证号",),
    "legal_rep_id": ("身份证号",),
}
FIELD_NAMES = {
    "name": "名称/姓名",
    "legal_rep": "法定代表人姓名",
    "credit_code": "统一社会信用代码",
    "id_number": "身份证号",
    "legal_rep_id": "身份证号",
}
# 2025年3月1日, 2025.03.01, 2025-03-01, 2025/3/1 (OCR may space them out: 2025 年 3 月 1 日)
_DATE = re.compile(r"(\d{4})\s*[年.\-/]\s*(\d{1,2})\s*[月.\-/]\s*(\d{1,2})(?!\d)\s*日?")
# a line that states how long something is valid: its label, or a range between two dates (至 / 到 / — / ~)
_VALIDITY = re.compile(r"有效期|期限|租期|[至到止~～—]|\d\s*-\s*\d{4}")
# OCR reads O for 0 and I for 1, neither of which is in a credit code's alphabet; an ID number is
# all digits (and X), so a lower-case l there is a 1 as well
_OCR_FIXES = {
    "credit_code": str.maketrans({"O": "0", "I": "1"}),
    "id_number": str.maketrans({"O": "0", "I": "1", "o": "0", "l": "1", "x": "X"}),
}


@dataclass
class PointResult:
    material_id: str
    material: str
    point: str
    check: str
    label: str
    result: str  # pass | fail | uncertain | skipped (the material is missing, so nothing to check)
    evidence: str
    fix: str | None = None


@dataclass
class Review:
    item_id: str
    item: str
    points: list[PointResult] = field(default_factory=list)
    files: dict[str, str | None] = field(default_factory=dict)  # file -> material id (None: not recognised)
    unreadable: list[str] = field(default_factory=list)
    read: dict[str, dict[str, str]] = field(default_factory=dict)  # file -> what was read in it: label -> value

    def result(self, material_id: str, point: str) -> str | None:
        return next((p.result for p in self.points if p.material_id == material_id and p.point == point), None)

    def to_dict(self) -> dict:
        counts = {kind: sum(p.result == kind for p in self.points) for kind in ("pass", "fail", "uncertain", "skipped")}
        return {**asdict(self), "counts": counts, "passed": counts["fail"] == 0 and counts["uncertain"] == 0}

    def summary(self) -> str:
        """The result as a chat message."""
        counts = self.to_dict()["counts"]
        lines = [f"《{self.item}》材料预审：{counts['pass']} 项通过，{counts['fail']} 项不通过，{counts['uncertain']} 项需人工确认。"]
        for p in self.points:
            if p.result in ("fail", "uncertain"):
                mark = "✗" if p.result == "fail" else "？"
                lines.append(f"{mark} {p.material}·{p.label}：{p.evidence}" + (f"。建议：{p.fix}" if p.fix else ""))
        lines += [f"！{message}" for message in self.unreadable]
        lines.append("预审结果仅供参考，以窗口审核为准。")
        return "\n".join(lines)


def normalise(value: str) -> str:
    return re.sub(r"\s", "", value).replace("(", "（").replace(")", "）")


def labelled(text: str, labels: tuple[str, ...]) -> str | None:
    """The value written after the first of these labels that has one (名称：XXX)."""
    for label in labels:
        for match in re.finditer(rf"(?<![\u4e00-\u9fff]){label}[ \t\u3000]*[：:][ \t\u3000]*([^\s，,；;。]*)", text):
            value = match.group(1).strip()
            if value not in EMPTY:
                return value
    return None


def blank(text: str, label: str) -> bool:
    """Whether the material prints `label` with nothing after it (a form's empty cell)."""
    return re.search(rf"^{label}[：:][ \t\u3000]*(?:{'|'.join(map(re.escape, EMPTY - {''}))})?[ \t\u3000]*$", text, re.M) is not None


def find_code(text: str, kind: str) -> str | None:
    labels, pattern = (LABELS["credit_code"], CREDIT_CODE) if kind == "credit_code" else (LABELS["id_number"], ID_NUMBER)
    fixes = _OCR_FIXES[kind]
    value = labelled(text, labels)
    if value:
        return value.translate(fixes).upper()
    found = pattern.search(text.translate(fixes).upper())
    return found.group(0) if found else None


def read_fields(doc: Extracted) -> dict[str, str]:
    """The values a recognised material states under the review's labels (layout.VOCABULARY, in their
    canonical form: 名称, 统一社会信用代码, 住所, 法定代表人, 身份证号…), the first of each label. From a
    scan only what OCR read confidently: a value kept for reuse must not be a misreading."""
    found: dict[str, str] = {}
    for line in doc.text.splitlines():
        label, colon, value = line.partition("：")
        value = value.strip()
        if not colon or label not in VOCABULARY or label in found or value in EMPTY:
            continue
        if label in ("统一社会信用代码", "身份证号"):
            value = value.translate(_OCR_FIXES["credit_code" if label == "统一社会信用代码" else "id_number"]).upper()
        if doc.sure_of(value.upper()):
            found[label] = value
    return found


def end_date(text: str) -> tuple[str, dt.date | None] | None:
    """The latest date on a line about validity (有效期、期限、至), or ("长期", None); None if none."""
    dates: list[dt.date] = []
    for line in text.splitlines():
        if not _VALIDITY.search(line):
            continue
        if "长期" in line:
            return "长期", None
        for y, m, d in _DATE.findall(line):
            try:
                dates.append(dt.date(int(y), int(m), int(d)))
            except ValueError:
                continue
    if not dates:
        return None
    latest = max(dates)
    return latest.isoformat(), latest


class Reviewer:
    """Pre-reviews uploads for an item. Files are read in `workers` separate processes (see pool.py);
    `ocr` given (or workers=0): read in this process instead, as tests and evaluations may."""

    def __init__(
        self, ocr: Ocr | None = None, limits: Limits | None = None, workers: int = 1, queue: int = 4, file_timeout: float = 60.0
    ) -> None:
        self.limits = limits or Limits()
        self.extractor = Extractor(self.limits, 0 if ocr is not None else workers, queue, file_timeout, ocr)

    @classmethod
    def from_settings(cls, settings) -> Reviewer:
        s = settings
        return cls(None, Limits.from_settings(s), s.prereview_workers, s.prereview_queue, s.prereview_file_timeout)

    def check(self, files) -> None:
        """UploadRejected when a request brings more files or bytes than a review reads (for the API, before it reads on)."""
        check_batch(files, self.limits)

    def close(self) -> None:
        self.extractor.close()

    def review(
        self,
        item: ServiceItem,
        files: list[tuple[str, bytes]],
        person: Person | None = None,
        enterprise: Enterprise | None = None,
        on: dt.date | None = None,
    ) -> Review:
        """The review; ReviewBusy when too many reviews are in progress. Files beyond the per-request
        limits (count, bytes) are not read and are reported as such; the API refuses those requests
        before they get here (check)."""
        on = on or dt.date.today()
        review = Review(item.id, item.name)
        read: list[Extracted] = []
        with self.extractor.admitted():
            taken, within = 0, []
            for number, (name, data) in enumerate(files, start=1):
                taken += len(data)
                if number > self.limits.max_files or taken > self.limits.max_bytes:
                    review.unreadable.append(f"{name}：超出单次预审的文件数量或总大小上限，未读取，请分批上传")
                    review.files[name] = None
                else:
                    within.append((name, data))
            for (name, _), got in zip(within, self.extractor.read_all(within), strict=True):
                if isinstance(got, Unreadable):
                    review.unreadable.append(str(got))
                    review.files[name] = None
                else:
                    read.append(got)
        assigned = self._assign(item, read)
        for doc in read:
            review.files[doc.name] = next((m for m, d in assigned.items() if d is doc), None)
            if review.files[doc.name]:
                review.read[doc.name] = read_fields(doc)
        record = enterprise if item.applicant == "enterprise" else person
        for material in item.materials:
            doc = assigned.get(material.id)
            for point in material.review_points:
                review.points.append(self._check(material, point, doc, assigned, record, on))
        return review

    @staticmethod
    def _assign(item: ServiceItem, docs: list[Extracted]) -> dict[str, Extracted]:
        """Which file is which material: keywords in the file name count double, in the title once."""
        assigned: dict[str, Extracted] = {}
        scored = []
        for doc in docs:
            title = "\n".join(doc.text.strip().splitlines()[:2])
            for material in item.materials:
                score = sum(2 * (k in doc.name) + (k in title) for k in material.keywords)
                if score:
                    scored.append((score, material.id, doc))
        used: set[int] = set()
        for _score, material_id, doc in sorted(scored, key=lambda s: -s[0]):
            if material_id not in assigned and id(doc) not in used:
                assigned[material_id] = doc
                used.add(id(doc))
        return assigned

    def _check(self, material: Material, point: ReviewPoint, doc, assigned, record, on: dt.date) -> PointResult:
        def result(outcome: str, evidence: str, fix: str | None = None) -> PointResult:
            return PointResult(material.id, material.name, point.id, point.check, point.label, outcome, evidence, fix)

        if point.check == "present":
            if doc is not None:
                return result("pass", f"已识别：{doc.name}")
            if not material.required:
                return result("pass", "非必需材料，未提交")
            return result("fail", f"未找到《{material.name}》", f"请上传《{material.name}》")
        if doc is None:
            return result("skipped", "材料缺失，未能审查")
        if point.check == "legible":
            if doc.blurred:
                return result("fail", f"{doc.name} 图片模糊", "请在光线充足处对准后重新拍摄或扫描")
            if doc.rotated:
                return result("fail", f"{doc.name} 方向不正（横置或倒置）", "请将图片转正后重新上传")
            return result("pass", "扫描件清晰" if doc.scanned else "电子文档")
        if doc.blurred:
            return result("uncertain", "图片模糊，无法可靠识别", "请重新上传清晰的扫描件")
        missing = "uncertain" if doc.scanned else "fail"  # OCR may have missed it; a typed document simply lacks it
        if point.check in ("credit_code", "id_number"):
            what = FIELD_NAMES[point.check]
            code = find_code(doc.text, point.check)
            if code is None:
                return result(missing, f"未找到{what}", f"请确认材料上的{what}清晰完整")
            valid = valid_credit_code(code) if point.check == "credit_code" else valid_id_number(code)
            if valid:
                return result("pass", f"{what} {code} 校验通过")
            if not doc.sure_of(code):  # a scan read without confidence: the machine may be the one wrong
                return result(
                    "uncertain", f"识别出的{what} {code} 校验位不正确，可能是扫描识别误差", f"请人工核对{what}，或上传更清晰的扫描件"
                )
            return result("fail", f"{what} {code} 校验位不正确", f"请核对{what}是否填写或打印有误")
        if point.check == "matches_record":
            if record is None:
                return result("uncertain", "没有申请人的登记信息可供比对")
            problems, unread, unsure = [], [], []
            for name in point.fields:
                expected = getattr(record, name, None)
                actual = find_code(doc.text, "credit_code" if name == "credit_code" else "id_number") if name in (
                    "credit_code", "id_number", "legal_rep_id") else labelled(doc.text, LABELS[name])  # fmt: skip
                if expected in (None, ""):  # a blank column in the record: nothing to compare with
                    continue
                if actual is None:
                    unread.append(FIELD_NAMES[name])
                elif normalise(actual).upper() != normalise(str(expected)).upper():
                    if not doc.sure_of(actual.upper()):
                        unsure.append(FIELD_NAMES[name])  # misread rather than mismatched, perhaps
                    else:
                        problems.append(f"{FIELD_NAMES[name]}为“{actual}”，登记信息为“{expected}”")
            if problems:
                return result("fail", "；".join(problems), "请核对材料与登记信息是否一致，如登记信息有变化请先办理变更")
            if unread:
                return result(missing, f"未找到{'、'.join(unread)}", "请确认材料信息完整清晰")
            if unsure:
                return result("uncertain", f"{'、'.join(unsure)}识别不确定，与登记信息不一致", "请人工核对，或上传更清晰的扫描件")
            return result("pass", "与登记信息一致")
        if point.check == "same_name":
            other = assigned.get(point.fields[0]) if point.fields else None
            mine = labelled(doc.text, LABELS["name"])
            theirs = labelled(other.text, LABELS["name"]) if other is not None and not other.blurred else None
            if mine is None or theirs is None:
                return result("uncertain", "无法从两份材料中都读出名称")
            if normalise(mine) != normalise(theirs):
                return result("fail", f"本材料为“{mine}”，{other.name} 为“{theirs}”", "请确保各份材料上的名称完全一致")
            return result("pass", f"名称一致：{mine}")
        if point.check == "unexpired":
            found = end_date(doc.text)
            if found is None:
                return result(missing, "未找到有效期限", "请确认材料上的有效期限清晰可见")
            shown, date = found
            if date is None or date >= on:
                return result("pass", f"有效期至 {shown}")
            return result("fail", f"已于 {shown} 到期", f"请提供在有效期内的《{material.name}》")
        if point.check == "has_fields":
            absent = [label for label in point.fields if labelled(doc.text, (canonical(label) or label,)) is None]
            if absent:
                # a label printed with an empty cell beside it is missing for sure, even on a scan
                sure = all(blank(doc.text, canonical(label) or label) for label in absent)
                return result("fail" if sure else missing, f"缺少：{'、'.join(absent)}", f"请补充填写：{'、'.join(absent)}")
            return result("pass", "必填项齐全")
        raise ValueError(f"未知的审查项类型：{point.check}")
