"""Fields out of a document's layout: which value belongs to which label.

Real materials rarely write "名称：XXX". A 营业执照 prints letter-spaced labels (名　　称) beside their
values in two columns, its credit code under its label; an ID card puts 性别 and 民族 on one line; an
application is a table whose label cells sit beside their value cells. This module turns each of
those into lines of the form "标签：值" (the label in its canonical form), which is what the review
reads: OCR boxes are paired by position (the value right of its label on the same visual line, else
right below it), DOCX tables by their cell grid, typed lines by their leading label. A label whose
value cell is empty gives "标签：" — the field is there and blank."""

from __future__ import annotations

import math
import re
import statistics
from dataclasses import dataclass

# canonical label -> the other ways forms print it (brackets, synonyms, traditional forms); the
# review asks for canonical labels only
VOCABULARY: dict[str, tuple[str, ...]] = {
    "企业名称": ("单位名称", "企业（单位）名称", "公司名称", "企業名稱"),
    "名称": ("名稱",),
    "个体户名称": ("个体工商户名称", "字号名称"),
    "经营者姓名": ("经营者", "經營者姓名"),
    "姓名": (),
    "法定代表人": ("负责人", "法人代表", "法定代表人姓名", "法定代表人（负责人）姓名"),
    "统一社会信用代码": ("社会信用代码", "信用代码", "統一社會信用代碼"),
    "身份证号": ("公民身份号码", "身份证号码", "身份证件号码", "公民身份证号码", "证件号码", "身份證號碼"),
    "联系电话": ("手机号码", "移动电话", "联系方式", "電話", "联系手机"),
    "经营场所": ("经营地址", "经营场所地址", "經營場所"),
    "经营范围": ("經營範圍",),
    "经营项目": (),
    "住所": ("住址",),
    "性别": (),
    "民族": (),
    "出生": ("出生日期",),
    "类型": (),
    "注册资本": (),
    "成立日期": ("注册日期",),
    "营业期限": ("經營期限",),
    "有效期限": ("有效期", "有效日期"),
    "签发机关": (),
    "登记机关": (),
    "联系人": (),
    "申请日期": (),
    "邮政编码": ("邮编",),
    "组成形式": (),
    "从业人数": (),
    "资金数额": (),
    "租期": ("租赁期限", "租赁期"),
}
_VARIANTS = sorted(((v, k) for k, vs in VOCABULARY.items() for v in (k, *vs)), key=lambda p: -len(p[0]))
_COLON = "：:"
_STRAY = " \u3000，,.．·。:：;；、'\"“”‘’"  # punctuation OCR reads at a value's edges (a speck, the label's colon)
_GAP = re.compile(r"[\s\u3000]+")
# a bracketed qualifier belongs to the label before it (法定代表人（负责人）, 联系电话（手机）); a
# label cell that wraps may cut it off before its closing bracket
_QUALIFIER = r"(?:[（(][^）)]{0,8}[）)]?)?"
_CLOSED = r"(?:[（(][^）)]{0,8}[）)])?"
# a value that is a placeholder, not a value
EMPTY = {"", "/", "——", "—", "-", "无", "空"}


def canonical(label: str, cut: bool = True) -> str | None:
    """The canonical form of `label` (spaces, letter-spacing and a trailing colon ignored); None if it is not a label.
    `cut=False`: a bracketed qualifier must close (the text is not where a wrapped cell was cut)."""
    bare = _GAP.sub("", label).rstrip(_COLON)
    qualifier = _QUALIFIER if cut else _CLOSED
    return next((k for v, k in _VARIANTS if re.fullmatch(re.escape(v) + qualifier, bare)), None)


def split_label(text: str, loose: bool = False) -> tuple[str, str] | None:
    """(canonical label, what follows it) when `text` starts with a label, letter-spaced or not.
    Typed text must separate the label from its value (a colon or a space); `loose` (OCR, where the
    box is the separation) also takes a label run straight into its value."""
    for variant, label in _VARIANTS:
        pattern = "[\\s\u3000]*".join(re.escape(ch) for ch in variant) + _QUALIFIER
        found = re.match(rf"[\s\u3000]*{pattern}(?=[\s\u3000{_COLON}]|$)", text) or (loose and re.match(pattern, text))
        if found:
            return label, text[found.end() :].strip().lstrip(_COLON).strip()
    return None


def typed_lines(text: str) -> list[str]:
    """Typed text with every line that opens with a label rewritten as "标签：值"."""
    out = []
    for line in text.splitlines():
        pair = split_label(line)
        out.append(f"{pair[0]}：{pair[1]}" if pair else line)
    return out


# ---------------------------------------------------------------- OCR boxes


@dataclass(eq=False)  # a box is itself: two boxes reading the same are still two
class Box:
    text: str
    confidence: float
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    def overlaps_vertically(self, other: Box, share: float = 0.3) -> bool:
        overlap = min(self.y1, other.y1) - max(self.y0, other.y0)
        return overlap >= share * min(self.height, other.height)


# a page photographed askew is turned by a few degrees; text at a steeper angle than this is not the
# page's own lines but something laid over it (a diagonal watermark)
MAX_SKEW = math.radians(15)


def _angle(q) -> float:
    return math.atan2(q[1][1] - q[0][1], q[1][0] - q[0][0])


def skew(quads: list) -> float:
    """The page's tilt in radians: the median slope of the top edges of the wider text boxes."""
    angles = [_angle(q) for q in quads if _width(q) > 2 * _height(q) and abs(_angle(q)) < MAX_SKEW]
    return statistics.median(angles) if angles else 0.0


def _width(q) -> float:
    return math.dist(q[0], q[1])


def _height(q) -> float:
    return math.dist(q[0], q[3])


def boxes(result: list, angle: float | None = None) -> list[Box]:
    """RapidOCR's (quad, text, confidence) results as upright boxes: the quads are turned back by
    the page's tilt first, so a photo taken at an angle still has level lines."""
    quads = [q for q, _, _ in result]
    angle = skew(quads) if angle is None else angle
    cos, sin = math.cos(-angle), math.sin(-angle)
    out = []
    for quad, text, confidence in result:
        if _width(quad) > 2 * _height(quad) and abs(_angle(quad) - angle) > MAX_SKEW:
            continue  # a watermark across the page
        xs = [x * cos - y * sin for x, y in quad]
        ys = [x * sin + y * cos for x, y in quad]
        out.append(Box(text, float(confidence), min(xs), min(ys), max(xs), max(ys)))
    return out


def visual_lines(items: list[Box]) -> list[list[Box]]:
    """Boxes grouped into the lines a reader sees, top to bottom, each left to right."""
    lines: list[list[Box]] = []
    for box in sorted(items, key=lambda b: (b.y0 + b.y1) / 2):
        home = next((line for line in lines if box.overlaps_vertically(line[-1], 0.5)), None)
        if home is None:
            lines.append([box])
        else:
            home.append(box)
    return [sorted(line, key=lambda b: b.x0) for line in sorted(lines, key=lambda ln: min(b.y0 for b in ln))]


def _labels(line: list[Box]) -> dict[int, tuple[str, str, int]]:
    """The label boxes of a line: index -> (label, inline value, index of the last box it spans); a
    letter-spaced label OCR cut into pieces (名 / 称) spans them."""
    found: dict[int, tuple[str, str, int]] = {}
    i = 0
    while i < len(line):
        joined = ""
        for j in range(i, min(i + 3, len(line))):
            joined += line[j].text
            label = canonical(joined, cut=False)  # an open bracket must not take the next box (the value) in
            if label and j > i:
                found[i] = (label, "", j)
                break
        else:
            pair = split_label(line[i].text, loose=True)
            if pair:
                found[i] = (pair[0], pair[1], i)
        i = found[i][2] + 1 if i in found else i + 1
    return found


def paired_lines(items: list[Box]) -> list[str]:
    """The text of the page in reading order, each label with its value as "标签：值". The value is
    what lies right of the label (overlapping it vertically, up to the next label, with no wide gap),
    else the box right below the label."""
    lines = visual_lines(items)
    spans = [(line[i], line[j], label, inline) for line in lines for i, (label, inline, j) in _labels(line).items()]
    in_labels = {id(b) for line in lines for i, (_, _, j) in _labels(line).items() for b in line[i : j + 1]}
    in_labels |= {id(b) for first, last, _, _ in spans for b in _label_rest(first, last, items)}
    firsts = {id(first): (last, label, inline) for first, last, label, inline in spans}
    values = {id(first): _right_of(first, last, items, in_labels, [s[0] for s in spans]) for first, last, _, _ in spans}
    starts = [s[0] for s in spans]
    for first, _, _, inline in spans:
        if not inline and not values[id(first)]:
            values[id(first)] = _below(first, items, in_labels)
        else:
            values[id(first)] += _continued(values[id(first)] or [first], items, in_labels, starts)
    used = {id(b) for value in values.values() for b in value}
    out = []
    for line in lines:
        text = ""
        for box in line:
            if id(box) in firsts:
                last, label, inline = firsts[id(box)]
                out += [text] if text else []
                text = ""
                out.append(f"{label}：{(inline + ''.join(b.text for b in values[id(box)])).strip(_STRAY)}")
            elif id(box) not in in_labels and id(box) not in used:  # a value is said once, after its label
                text += box.text
        out += [text] if text else []
    return out


def _label_rest(first: Box, last: Box, items: list[Box]) -> list[Box]:
    """The rest of a label its cell wrapped onto the next line (法定代表人（负责 / 人）): right under the
    label, starting where it starts, closing the bracket the label left open."""
    if not re.search(r"[（(][^）)]*$", last.text):
        return []
    h = first.height
    return [b for b in items if 0 <= b.y0 - last.y1 < h and abs(b.x0 - first.x0) < h and re.fullmatch(r"[^（）()]{0,8}[）)]", b.text)][:1]


def _right_of(first: Box, last: Box, items: list[Box], in_labels: set[int], starts: list[Box]) -> list[Box]:
    h = first.height
    middle = (first.x0 + last.x1) / 2  # OCR's box of a letter-spaced label may reach into its value's
    stop = min((b.x0 for b in starts if b.x0 > middle and b.overlaps_vertically(first)), default=math.inf)
    beside = [b for b in items if id(b) not in in_labels and middle < b.x0 < stop and b.x1 > last.x1]
    beside = sorted((b for b in beside if b.overlaps_vertically(first)), key=lambda b: b.x0)
    value, edge, gap = [], last.x1, 10 * h  # a label may sit far left in its cell; within a value, words are close
    for box in beside:
        if box.x0 - edge > gap:
            break
        value.append(box)
        edge, gap = box.x1, 4 * h
    return value


def _continued(value: list[Box], items: list[Box], in_labels: set[int], starts: list[Box]) -> list[Box]:
    """The lines a long value wraps onto (an address, a date cut at the cell's edge): boxes starting
    under the value's first box, closer below it than a line's height, with no label just left of
    them (the next field's row; a label far left is the other column's)."""
    more: list[Box] = []
    left, bottom, h = value[0].x0, max(b.y1 for b in value), value[0].height
    while True:
        under = [b for b in items if 0 <= b.y0 - bottom < h and abs(b.x0 - left) < h and id(b) not in in_labels]
        # a box on a label's visual line, right of where the label starts, is in that label's row (OCR's
        # box of a short value may reach back over its label's end, on a photo held askew)
        under = [
            b
            for b in under
            if b not in value + more and not any(s.x0 < b.x0 and b.x0 - s.x1 < 10 * h and s.overlaps_vertically(b) for s in starts)
        ]
        if not under:
            return more
        nxt = min(under, key=lambda b: b.y0)
        more.append(nxt)
        bottom = nxt.y1


def _below(label: Box, items: list[Box], in_labels: set[int]) -> list[Box]:
    """The value printed under its label (统一社会信用代码 above the code): a box starting near the
    label's left edge, less than a line below it, that is not a label itself."""
    h = label.height
    under = [b for b in items if 0 <= b.y0 - label.y1 + h / 4 < 1.5 * h and abs(b.x0 - label.x0) < 2 * h and id(b) not in in_labels]
    return [min(under, key=lambda b: b.y0)] if under else []


# ---------------------------------------------------------------- DOCX tables


def table_lines(table) -> list[str]:
    """A python-docx table as "标签：值" lines: in each row, a label cell's value is the next cell
    (cells merged across columns or rows counted once); a label whose next cell is another label or
    nothing is blank. Rows without labels are kept as text."""
    out, seen = [], set()
    for row in table.rows:
        cells = []
        for cell in row.cells:
            if cell._tc not in seen:  # the same cell element, met again through a merge
                seen.add(cell._tc)
                cells.append(cell.text.strip())
        i = 0
        while i < len(cells):
            label = canonical(cells[i])
            pair = split_label(cells[i]) if label is None else None
            if label:
                following = cells[i + 1] if i + 1 < len(cells) and canonical(cells[i + 1]) is None else None
                out.append(f"{label}：{following or ''}")
                i += 2 if following is not None else 1
            else:
                out.append(f"{pair[0]}：{pair[1]}" if pair else cells[i])
                i += 1
    return [line for line in out if line]
