"""Uploads are bounded before they are decoded, read in a worker process, and turned away when the
queue is full."""

import io
import os
import threading
import zipfile

import pytest
from PIL import Image, ImageFile

from xiaobao.govdata.records import Material, ReviewPoint, ServiceItem
from xiaobao.prereview.extract import Limits, Unreadable, UploadRejected, check_batch, extract
from xiaobao.prereview.review import ReviewBusy, Reviewer


class NoOcr:
    """Reads nothing; remembers the size of each image it was given."""

    def __init__(self) -> None:
        self.shapes = []

    def read(self, image):
        self.shapes.append(image.shape)
        return []


def png(width: int, height: int, mode: str = "1") -> bytes:
    out = io.BytesIO()
    Image.new(mode, (width, height), 1).save(out, "PNG")
    return out.getvalue()


def test_a_huge_image_is_refused_from_its_header_without_decoding(monkeypatch):
    data = png(12000, 12000)
    assert len(data) < 200_000  # small on the wire, 432 MB once decoded as RGB
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: pytest.fail("the pixels were decoded"))
    with pytest.raises(Unreadable, match=r"图片尺寸过大（12000×12000 像素，上限 40 百万像素）"):
        extract("营业执照.png", data, NoOcr())  # decoding would have failed the test: no timing needed


def test_large_images_are_scaled_down_before_ocr():
    ocr = NoOcr()
    extract("scan.png", png(3000, 1500, "L"), ocr, Limits(ocr_side=2000))
    assert ocr.shapes and all(shape[:2] == (960, 1920) for shape in ocr.shapes)  # short side OCR_SHORT_SIDE
    extract("photo.png", png(1500, 1200, "L"), ocr, Limits(ocr_side=2000))
    assert ocr.shapes[-1][:2] == (960, 1200)
    extract("small.png", png(860, 290, "L"), ocr)
    assert ocr.shapes[-1][:2] == (290, 860)  # small scans are read as they are


def test_pdf_pages_and_scans_are_bounded():
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import NameObject, NumberObject

    writer = PdfWriter()
    for _ in range(21):
        writer.add_blank_page(595, 842)
    many = io.BytesIO()
    writer.write(many)
    with pytest.raises(Unreadable, match="PDF 页数过多（21 页，上限 20 页）"):
        extract("申请书.pdf", many.getvalue(), NoOcr())

    scan = io.BytesIO()
    Image.new("L", (100, 100), 255).save(scan, "PDF")
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(scan.getvalue())))
    image = next(iter(writer.pages[0]["/Resources"]["/XObject"].values())).get_object()
    image[NameObject("/Width")], image[NameObject("/Height")] = NumberObject(12000), NumberObject(12000)  # a bomb's dimensions
    bomb = io.BytesIO()
    writer.write(bomb)
    with pytest.raises(Unreadable, match=r"PDF 中的扫描图像过大（12000×12000 像素）"):
        extract("营业执照.pdf", bomb.getvalue(), NoOcr())


def test_a_docx_that_unpacks_too_large_is_refused():
    import docx

    document = io.BytesIO()
    docx.Document().save(document)
    padded = io.BytesIO(document.getvalue())
    with zipfile.ZipFile(padded, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/media/zeros.bin", b"\0" * (3 * 1024 * 1024))  # 3 MB that zip to 3 KB
    assert len(padded.getvalue()) < 100_000
    with pytest.raises(Unreadable, match=r"DOCX 解压后过大"):
        extract("申请书.docx", padded.getvalue(), NoOcr(), Limits(max_unpacked_bytes=2 * 1024 * 1024))
    assert extract("申请书.docx", document.getvalue(), NoOcr()).text == ""


def test_a_batch_over_the_limits_is_rejected_with_a_clear_message():
    limits = Limits(max_files=10, max_bytes=20 * 1024 * 1024)
    check_batch([("a.txt", b"x")] * 10, limits)
    with pytest.raises(UploadRejected, match="一次最多上传 10 个文件（本次 11 个）"):
        check_batch([("a.txt", b"x")] * 11, limits)
    with pytest.raises(UploadRejected, match="合计 25.0 MB，超过上限 20.0 MB"):
        check_batch([("a.png", 15 * 1024 * 1024), ("b.png", 10 * 1024 * 1024)], limits)  # sizes will do
    assert issubclass(UploadRejected, ValueError)


ITEM = ServiceItem(
    id="T-1",
    name="测试事项",
    department="测试部门",
    applicant="person",
    materials=[Material(id="m1", name="申请书", keywords=["申请书"], review_points=[ReviewPoint(id="p", check="present", label="已提交")])],
)


def test_files_beyond_the_limits_are_reported_not_read():
    reviewer = Reviewer(NoOcr(), Limits(max_files=2))
    files = [("申请书.txt", "申请书".encode()), ("b.txt", b"b"), ("c.txt", b"c")]
    review = reviewer.review(ITEM, files)
    assert review.files == {"c.txt": None, "申请书.txt": "m1", "b.txt": None}
    assert len(review.unreadable) == 1 and "超出单次预审的文件数量或总大小上限" in review.unreadable[0]


def test_a_review_beyond_the_queue_is_turned_away_with_a_retry_time():
    entered, release = threading.Event(), threading.Event()

    class SlowOcr(NoOcr):
        def read(self, image):
            entered.set()
            release.wait(10)
            return []

    reviewer = Reviewer(SlowOcr(), queue=0)  # one review at a time
    first = threading.Thread(target=reviewer.review, args=(ITEM, [("申请书.png", png(200, 100, "L"))]))
    first.start()
    try:
        assert entered.wait(10)
        with pytest.raises(ReviewBusy) as busy:
            reviewer.review(ITEM, [("申请书.txt", "申请书".encode())])
        assert busy.value.retry_after >= 1 and "秒后再试" in str(busy.value)
    finally:
        release.set()
        first.join()
    assert reviewer.review(ITEM, [("申请书.txt", "申请书".encode())]).result("m1", "p") == "pass"


def test_files_are_read_in_a_worker_process_that_is_replaced_when_it_hangs():
    reviewer = Reviewer(workers=1, file_timeout=60)
    try:
        assert reviewer.review(ITEM, [("申请书.txt", "申请书".encode())]).result("m1", "p") == "pass"
        worker = next(iter(reviewer.extractor._pool._processes.values()))
        assert worker.pid != os.getpid() and worker.is_alive()
        # the worker started and loaded its OCR models before the file's time limit began to run
        assert reviewer.extractor._warming and all(f.done() and f.exception() is None for f in reviewer.extractor._warming)
        reviewer.extractor.file_timeout = 0.001  # no file is read that fast: the worker counts as hung
        review = reviewer.review(ITEM, [("申请书.png", png(400, 200, "L"))])
        assert "处理超时" in review.unreadable[0]
        worker.join(30)  # SIGKILLed; on a loaded machine the kernel may take a while to reap it
        assert not worker.is_alive()  # stopped, not left running
        reviewer.extractor.file_timeout = 60
        assert reviewer.review(ITEM, [("申请书.txt", "申请书".encode())]).result("m1", "p") == "pass"  # a new worker
    finally:
        reviewer.close()
