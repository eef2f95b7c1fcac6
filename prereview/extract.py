"""Text out of an uploaded material, whatever it is: plain text, DOCX, PDF (its text, or OCR of its
page images when it is a scan) or an image (OCR, with blur and orientation checks)."""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass, field
from pathlib import PurePath

import numpy as np

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}
TEXT_SUFFIXES = {".txt", ".md"}
SUPPORTED = IMAGE_SUFFIXES | TEXT_SUFFIXES | {".pdf", ".docx"}
# below this variance of the Laplacian a scan is too blurred to trust (sharp scans measure in the
# thousands, a scan taken out of focus in the tens; see docs/EVALUATION.md)
BLUR_THRESHOLD = 150.0
MIN_CONFIDENCE = 0.8
# a number read with less confidence than this may be misread: a failed check on it is uncertain
# (measured: misread codes came at 0.97, good reads at 0.99 and above; docs/SERVICES.md)
SURE = 0.985


class Unreadable(ValueError):
    """The file cannot be read; the text says why, in Chinese."""


@dataclass
class Extracted:
    name: str
    text: str
    scanned: bool = False  # the text came from OCR
    blurred: bool = False
    rotated: int = 0  # degrees the scan is turned from upright (90: on its side, 180: upside down)
    confidence: float = 1.0  # OCR's mean confidence
    notes: list[str] = field(default_factory=list)
    line_confidence: dict[str, float] = field(default_factory=dict)  # OCR: each line read, and how sure

    def sure_of(self, value: str) -> bool:
        """Whether OCR read the line holding `value` confidently (typed text always is)."""
        if not self.scanned:
            return True
        held = [c for line, c in self.line_confidence.items() if value in line.upper()]
        return bool(held) and min(held) >= SURE


class Ocr:
    """RapidOCR (ONNX models inside the wheel: nothing is downloaded), loaded on first use and
    shared; one recognition at a time, as the runtime already uses every core."""

    def __init__(self) -> None:
        self._engine = None
        self._lock = threading.Lock()

    def read(self, image: np.ndarray) -> list[Line]:
        with self._lock:
            if self._engine is None:
                from rapidocr_onnxruntime import RapidOCR

                self._engine = RapidOCR()
            result, _ = self._engine(image)
        return [Line(text, float(score), _upright(box)) for box, text, score in result or []]


@dataclass
class Line:
    text: str
    confidence: float
    upright: bool  # the text box runs left to right (a line of text on its side stands tall)


def _upright(box) -> bool:
    (x0, y0), (x1, y1), _, (x3, y3) = box[:4]
    width, height = ((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5, ((x3 - x0) ** 2 + (y3 - y0) ** 2) ** 0.5
    return width >= height


# the same O/I → 0/1 reading the review applies to numbers, so a corrected number is found in its line
_LOOSE = str.maketrans({"O": "0", "I": "1", "o": "0", "l": "1"})


def _score(lines: list[Line]) -> float:
    return sum(len(line.text) * line.confidence for line in lines)


def blur_measure(gray: np.ndarray) -> float:
    import cv2

    return float(cv2.Laplacian(gray, cv2.CV_64F).var())


def read_image(name: str, data: bytes, ocr: Ocr) -> Extracted:
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        image = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    except (UnidentifiedImageError, OSError):
        raise Unreadable(f"{name}：无法打开这张图片（文件损坏或格式不支持）") from None
    pixels = np.asarray(image)
    gray = np.asarray(image.convert("L"))
    blurred = blur_measure(gray) < BLUR_THRESHOLD
    lines = ocr.read(pixels)
    # RapidOCR turns tall text boxes before reading them, so a scan on its side still reads; it
    # shows in the boxes: most multi-character lines stand upright
    long = [line for line in lines if len(line.text) >= 3]
    rotated = 90 if long and sum(not line.upright for line in long) > len(long) / 2 else 0
    mean = sum(line.confidence for line in lines) / len(lines) if lines else 0.0
    if not lines or mean < 0.9:  # a poor read: maybe the scan is upside down
        turned = ocr.read(np.ascontiguousarray(np.rot90(pixels, k=2)))
        if _score(turned) > 1.5 * _score(lines) + 5:
            lines, rotated = turned, 180
            mean = sum(line.confidence for line in lines) / len(lines)
    text = "\n".join(line.text for line in lines if line.confidence >= 0.5)
    notes = []
    if blurred:
        notes.append("图片模糊")
    if rotated:
        notes.append("图片方向不正")
    sure = {line.text.translate(_LOOSE).upper(): line.confidence for line in lines}
    return Extracted(
        name, text, scanned=True, blurred=blurred, rotated=rotated, confidence=round(mean, 3), notes=notes, line_confidence=sure
    )


def read_pdf(name: str, data: bytes, ocr: Ocr) -> Extracted:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        text = "\n".join(page.extract_text() or "" for page in reader.pages).strip()
        if text:
            return Extracted(name, text)
        scans = [read_image(f"{name}#{i}", img.data, ocr) for i, page in enumerate(reader.pages, 1) for img in page.images]
    except (PdfReadError, ValueError, KeyError, OSError):
        raise Unreadable(f"{name}：无法读取这个 PDF（文件损坏或已加密）") from None
    if not scans:
        raise Unreadable(f"{name}：PDF 中没有文字，也没有可识别的扫描图像")
    return Extracted(
        name,
        "\n".join(s.text for s in scans),
        scanned=True,
        blurred=any(s.blurred for s in scans),
        rotated=max(s.rotated for s in scans),
        confidence=min(s.confidence for s in scans),
        notes=[n for s in scans for n in s.notes],
        line_confidence={line: c for s in scans for line, c in s.line_confidence.items()},
    )


def read_docx(name: str, data: bytes) -> Extracted:
    from zipfile import BadZipFile

    import docx

    try:
        document = docx.Document(io.BytesIO(data))
    except (BadZipFile, KeyError, ValueError):
        raise Unreadable(f"{name}：无法读取这个 DOCX 文件（文件损坏或不是 Word 2007 以上格式）") from None
    lines = [p.text for p in document.paragraphs]
    lines += ["：".join(cell.text for cell in row.cells) for table in document.tables for row in table.rows]
    return Extracted(name, "\n".join(line for line in lines if line.strip()))


def extract(name: str, data: bytes, ocr: Ocr) -> Extracted:
    suffix = PurePath(name).suffix.lower()
    if not data:
        raise Unreadable(f"{name}：文件是空的")
    if suffix in IMAGE_SUFFIXES:
        return read_image(name, data, ocr)
    if suffix == ".pdf":
        return read_pdf(name, data, ocr)
    if suffix == ".docx":
        return read_docx(name, data)
    if suffix in TEXT_SUFFIXES:
        try:
            return Extracted(name, data.decode("utf-8-sig"))
        except UnicodeDecodeError:
            raise Unreadable(f"{name}：不是 UTF-8 编码的文本") from None
    raise Unreadable(f"{name}：不支持的文件类型，请上传 PDF、图片（JPG/PNG）、DOCX 或 TXT")
