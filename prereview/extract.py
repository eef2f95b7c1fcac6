"""Text out of an uploaded material, whatever it is: plain text, DOCX, PDF (its text, or OCR of its
page images when it is a scan) or an image (OCR, with blur and orientation checks).

Every upload is bounded before it is decoded: an image's size is read from its header, a PDF's pages
and its scans' sizes from its structure, a DOCX's unpacked size from its zip directory; beyond the
limits the file is "too large" (Unreadable, in Chinese), never decoded. Large images are scaled down
before OCR, which reads no better above ~2000 pixels on the long side."""

from __future__ import annotations

import io
import os
import threading
import warnings
import zipfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import PurePath

import numpy as np

from xiaobao.prereview.layout import boxes, paired_lines, table_lines, typed_lines

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


# a photo is scaled down until its short side is at most this before OCR: text on a card or an A4
# page is still 16 pixels or more high there, which reads as well as at full size, and detection
# costs half as much (docs/SERVICES.md); a smaller scan is enlarged for detection to DETECT_SIDE
OCR_SHORT_SIDE = 960
DETECT_SIDE = 576

MB = 1024 * 1024


class Unreadable(ValueError):
    """The file cannot be read; the text says why, in Chinese."""


class UploadRejected(ValueError):
    """A batch of uploads over the limits (too many files, too many bytes); the text says why, in
    Chinese. The API answers 413."""


@dataclass(frozen=True)
class Limits:
    """How much of an upload is read (XIAOBAO_UPLOAD_*, XIAOBAO_OCR_MAX_SIDE)."""

    max_files: int = 10  # files in one request
    max_bytes: int = 20 * MB  # all files of one request together
    max_pixels: int = 40_000_000  # an image, or a scan inside a PDF
    max_pdf_pages: int = 20
    max_unpacked_bytes: int = 50 * MB  # a DOCX's parts, unzipped
    ocr_side: int = 2000  # longer images are scaled down to this before OCR

    @classmethod
    def from_settings(cls, settings) -> Limits:
        s = settings
        return cls(s.upload_max_files, s.upload_max_bytes, s.upload_max_pixels, s.upload_max_pdf_pages, s.upload_max_unpacked_bytes,
                   s.ocr_max_side)  # fmt: skip


def _mb(size: int) -> str:
    return f"{size / MB:.1f} MB"


def check_batch(files: Sequence[tuple[str, bytes | int]], limits: Limits) -> None:
    """UploadRejected when a request brings more files or more bytes than one pre-review reads. `files`
    are (name, data) or (name, size); the HTTP layer may call it as it reads, with what it has so far."""
    if len(files) > limits.max_files:
        raise UploadRejected(f"一次最多上传 {limits.max_files} 个文件（本次 {len(files)} 个），请分批预审")
    total = sum(data if isinstance(data, int) else len(data) for _, data in files)
    if total > limits.max_bytes:
        raise UploadRejected(f"上传的文件太大：合计 {_mb(total)}，超过上限 {_mb(limits.max_bytes)}，请压缩图片或分批上传")


def _too_large(name: str, what: str) -> Unreadable:
    return Unreadable(f"{name}：{what}，无法读取，请缩小或压缩后重新上传")


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
        # a value paired from several boxes (a name OCR cut in two) is as sure as its least sure box
        held = [c for line, c in self.line_confidence.items() if value in line.upper() or (len(line) > 1 and line.upper() in value)]
        return bool(held) and min(held) >= SURE


class Ocr:
    """RapidOCR (ONNX models inside the wheel: nothing is downloaded), loaded on first use and
    shared; one recognition at a time, on `threads` cores (a worker process each gets its share:
    the runtime's idle threads spin, so more threads than cores only burn CPU)."""

    def __init__(self, threads: int | None = None) -> None:
        self.threads = threads or os.cpu_count() or 1
        self._engine = None
        self._lock = threading.Lock()

    def warm(self) -> None:
        """Load the models now (a worker does before its first file, so that the file's time limit
        measures reading, not start-up)."""
        with self._lock:
            self._loaded()

    def _loaded(self):
        if self._engine is None:
            from rapidocr_onnxruntime import RapidOCR

            # a small scan is enlarged for detection until its short side is DETECT_SIDE (RapidOCR's
            # default 736 reads the original set's 290-pixel cards no better than 576, at more cost)
            self._engine = RapidOCR(intra_op_num_threads=self.threads, inter_op_num_threads=1, det_limit_side_len=DETECT_SIDE)
        return self._engine

    def read(self, image: np.ndarray, turn_lines: bool = True) -> list[Line]:
        """The text lines; `turn_lines=False`: without the classifier that turns upside-down lines,
        so only an upright page reads well."""
        with self._lock:
            result, _ = self._loaded()(image, use_cls=turn_lines)
        return [Line(text, float(score), _upright(box), [tuple(map(float, p)) for p in box]) for box, text, score in result or []]


@dataclass
class Line:
    text: str
    confidence: float
    upright: bool  # the text box runs left to right (a line of text on its side stands tall)
    quad: list[tuple[float, float]] = field(default_factory=list)  # the box's corners, clockwise from top left


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


def shrunk(rgb: np.ndarray, short_side: int) -> np.ndarray:
    """The image scaled down (by area) until its short side is at most `short_side`."""
    import cv2

    height, width = rgb.shape[:2]
    scale = short_side / min(height, width)
    if scale >= 1:
        return rgb
    return cv2.resize(rgb, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)


def clean_page(rgb: np.ndarray) -> np.ndarray:
    """The page as OCR should see it, in grey: only the ink. Seals are red and text is black or blue,
    so in the red channel a seal fades to the paper's shade while the text under it stays dark. The
    light is then evened out (each pixel against the brightest nearby, the paper) and what is much
    fainter than ink — a watermark, a tinted card, a seal's remains — becomes paper."""
    import cv2

    red = rgb[..., 0].astype(np.float32)
    paper = cv2.dilate(red, np.ones((25, 25), np.uint8))  # wider than a stroke: text does not survive it
    paper = cv2.blur(paper, (25, 25))
    share = red / np.maximum(paper, 1.0)  # 1: paper; ink well under 0.5
    return (np.clip((share - 0.3) / 0.5, 0.0, 1.0) * 255).astype(np.uint8)


def open_image(name: str, data: bytes, limits: Limits):
    """The image, upright, in RGB and no longer than `limits.ocr_side` on its long side; its size is
    checked from the header (Image.open reads no pixels) before anything is decoded."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # the check below is ours, with our limit
            image = Image.open(io.BytesIO(data))  # lazy: the header only
            width, height = image.size
            if width * height > limits.max_pixels:
                raise _too_large(name, f"图片尺寸过大（{width}×{height} 像素，上限 {limits.max_pixels // 1_000_000} 百万像素）")
            image.draft("RGB", (limits.ocr_side, limits.ocr_side))  # a JPEG is decoded at a reduced scale right away
            image = ImageOps.exif_transpose(image).convert("RGB")
    except Image.DecompressionBombError:  # Pillow's own guard, at twice its limit
        raise _too_large(name, f"图片尺寸过大（上限 {limits.max_pixels // 1_000_000} 百万像素）") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        if isinstance(exc, Unreadable):
            raise
        raise Unreadable(f"{name}：无法打开这张图片（文件损坏或格式不支持）") from None
    if max(image.size) > limits.ocr_side:
        image.thumbnail((limits.ocr_side, limits.ocr_side), Image.Resampling.LANCZOS)
    return image


def _layout(lines: list[Line]) -> list[str]:
    """The page's lines, its fields paired with their labels (layout.py); reads under 0.5 confidence are noise."""
    return paired_lines(boxes([(line.quad, line.text, line.confidence) for line in lines if line.confidence >= 0.5]))


def _same_text(read: list[Line], reference: list[Line]) -> float:
    """How much of `reference`'s text `read` also has (characters counted with their repeats)."""
    want = Counter("".join(line.text for line in reference))
    return sum((Counter("".join(line.text for line in read)) & want).values()) / max(1, sum(want.values()))


def read_image(name: str, data: bytes, ocr: Ocr, limits: Limits | None = None) -> Extracted:
    import cv2

    pixels = np.asarray(open_image(name, data, limits or Limits()))
    blurred = blur_measure(cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY)) < BLUR_THRESHOLD  # at the size BLUR_THRESHOLD was set at
    pixels = np.ascontiguousarray(np.repeat(clean_page(shrunk(pixels, OCR_SHORT_SIDE))[..., None], 3, axis=2))
    lines = ocr.read(pixels)
    # RapidOCR turns tall text boxes before reading them, so a scan on its side still reads; it
    # shows in the boxes: most multi-character lines stand upright. Its boxes are then on their side
    # too, so the page is read again turned upright, for the layout, without the classifier that
    # turns upside-down lines (with it both quarter turns read alike): one turn, and the other only
    # when the first does not read what the classifier's read found on the page
    long = [line for line in lines if len(line.text) >= 3]
    rotated = 90 if long and sum(not line.upright for line in long) > len(long) / 2 else 0
    if rotated:
        turns = [ocr.read(np.ascontiguousarray(np.rot90(pixels, k=1)), turn_lines=False)]
        if _same_text(turns[0], lines) < 0.8:
            turns.append(ocr.read(np.ascontiguousarray(np.rot90(pixels, k=3)), turn_lines=False))
        lines = max(turns, key=_score)
    mean = sum(line.confidence for line in lines) / len(lines) if lines else 0.0
    # a poor read: maybe the scan is upside down (a blurred scan reads poorly anyway, and fails as blurred)
    if not blurred and (not lines or mean < 0.9):
        turned = ocr.read(np.ascontiguousarray(np.rot90(pixels, k=2)))
        if _score(turned) > 1.5 * _score(lines) + 5:
            lines, rotated = turned, 180
            mean = sum(line.confidence for line in lines) / len(lines)
    text = "\n".join(_layout(lines))
    notes = []
    if blurred:
        notes.append("图片模糊")
    if rotated:
        notes.append("图片方向不正")
    sure = {line.text.translate(_LOOSE).upper(): line.confidence for line in lines}
    return Extracted(
        name, text, scanned=True, blurred=blurred, rotated=rotated, confidence=round(mean, 3), notes=notes, line_confidence=sure
    )


def _image_sizes(resources, depth: int = 0):
    """(width, height) of every image a page draws, from the PDF's dictionaries (nothing decoded),
    forms within forms included."""
    xobjects = resources.get("/XObject") if resources else None
    for ref in (xobjects.get_object() if xobjects else {}).values():
        xobject = ref.get_object()
        if xobject.get("/Subtype") == "/Image":
            yield int(xobject.get("/Width", 0)), int(xobject.get("/Height", 0))
        elif xobject.get("/Subtype") == "/Form" and depth < 5:
            yield from _image_sizes(xobject.get("/Resources"), depth + 1)


def read_pdf(name: str, data: bytes, ocr: Ocr, limits: Limits | None = None) -> Extracted:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    limits = limits or Limits()
    try:
        reader = PdfReader(io.BytesIO(data))
        if len(reader.pages) > limits.max_pdf_pages:
            raise _too_large(name, f"PDF 页数过多（{len(reader.pages)} 页，上限 {limits.max_pdf_pages} 页），请只上传需要预审的页面")
        text = "\n".join(page.extract_text() or "" for page in reader.pages).strip()
        if text:
            return Extracted(name, "\n".join(typed_lines(text)))
        for page in reader.pages:
            for width, height in _image_sizes(page.get("/Resources")):
                if width * height > limits.max_pixels:
                    raise _too_large(name, f"PDF 中的扫描图像过大（{width}×{height} 像素）")
        scans = [read_image(f"{name}#{i}", img.data, ocr, limits) for i, page in enumerate(reader.pages, 1) for img in page.images]
    except Unreadable:
        raise
    except (PdfReadError, ValueError, KeyError, OSError, TypeError, AttributeError):
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


def read_docx(name: str, data: bytes, limits: Limits | None = None) -> Extracted:
    import docx

    limits = limits or Limits()
    broken = Unreadable(f"{name}：无法读取这个 DOCX 文件（文件损坏或不是 Word 2007 以上格式）")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:  # zipfile never unpacks more than an entry declares
            unpacked = sum(entry.file_size for entry in archive.infolist())
        if unpacked > limits.max_unpacked_bytes:
            raise _too_large(name, f"DOCX 解压后过大（{_mb(unpacked)}，上限 {_mb(limits.max_unpacked_bytes)}）")
        document = docx.Document(io.BytesIO(data))
    except Unreadable:
        raise
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise broken from None
    lines = typed_lines("\n".join(p.text for p in document.paragraphs))
    lines += [line for table in document.tables for line in table_lines(table)]
    return Extracted(name, "\n".join(line for line in lines if line.strip()))


def extract(name: str, data: bytes, ocr: Ocr, limits: Limits | None = None) -> Extracted:
    limits = limits or Limits()
    suffix = PurePath(name).suffix.lower()
    if not data:
        raise Unreadable(f"{name}：文件是空的")
    if len(data) > limits.max_bytes:
        raise _too_large(name, f"文件过大（{_mb(len(data))}，上限 {_mb(limits.max_bytes)}）")
    if suffix in IMAGE_SUFFIXES:
        return read_image(name, data, ocr, limits)
    if suffix == ".pdf":
        return read_pdf(name, data, ocr, limits)
    if suffix == ".docx":
        return read_docx(name, data, limits)
    if suffix in TEXT_SUFFIXES:
        try:
            return Extracted(name, "\n".join(typed_lines(data.decode("utf-8-sig"))))
        except UnicodeDecodeError:
            raise Unreadable(f"{name}：不是 UTF-8 编码的文本") from None
    raise Unreadable(f"{name}：不支持的文件类型，请上传 PDF、图片（JPG/PNG）、DOCX 或 TXT")
