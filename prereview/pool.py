"""Uploads are read (OCR, PDF and DOCX parsing) in a few worker processes, never in the serving
process: a file that takes too much memory or time takes down a worker, not the service, and is
reported unreadable. At most `workers` files are read at once; at most `workers + queue` reviews are
in progress, and one more is turned away with ReviewBusy (the API answers 503 with Retry-After)."""

from __future__ import annotations

import logging
import math
import multiprocessing
import os
import threading
import time
from collections.abc import Iterator
from concurrent import futures
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager

from xiaobao.prereview.extract import Extracted, Limits, Ocr, Unreadable, extract

log = logging.getLogger("xiaobao.prereview")
WARM_TIMEOUT = 300.0  # seconds a new worker may take to start and load its models


class ReviewBusy(RuntimeError):
    """Every worker is busy and the queue is full; try again after `retry_after` seconds."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(f"材料预审正在处理的人较多，请 {retry_after} 秒后再试")


# in a worker process: its own OCR engine on its share of the cores, loaded on first use and kept
_worker_ocr: Ocr | None = None


def _start_worker(max_pixels: int, threads: int) -> None:
    global _worker_ocr
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = max_pixels  # Pillow's own guard, should a path skip ours
    _worker_ocr = Ocr(threads)


def _warm_worker() -> None:
    _worker_ocr.warm()


def _extract_in_worker(name: str, data: bytes, limits: Limits) -> Extracted:
    try:
        return extract(name, data, _worker_ocr, limits)
    except Unreadable:
        raise
    except MemoryError:
        raise Unreadable(f"{name}：文件过大，无法读取，请缩小或压缩后重新上传") from None
    except Exception as exc:  # a parser's own error on a malformed file: the file is unreadable, the worker lives on
        log.warning("an upload could not be read: %s", type(exc).__name__)
        raise Unreadable(f"{name}：无法读取这个文件，请检查文件后重新上传") from None


class Extractor:
    """Reads files in `workers` processes (0: in this process, one file at a time, for tests and
    evaluations that pass their own Ocr), admitting at most `workers + queue` reviews at once."""

    def __init__(self, limits: Limits, workers: int = 1, queue: int = 4, file_timeout: float = 60.0, ocr: Ocr | None = None) -> None:
        self.limits = limits
        self.workers = workers
        self.capacity = max(1, workers) + queue
        self.file_timeout = file_timeout
        self.ocr = ocr or (Ocr() if workers == 0 else None)
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max(1, workers))  # files being read: each submitted file starts at once
        self._active = 0
        self._seconds = 5.0  # a moving average of how long a review takes, for Retry-After
        self._pool: ProcessPoolExecutor | None = None
        self._warming: list[futures.Future] = []

    @contextmanager
    def admitted(self) -> Iterator[None]:
        """Hold a place for one review, or ReviewBusy when all places are taken."""
        with self._lock:
            if self._active >= self.capacity:
                waves = math.ceil(self._active / max(1, self.workers))
                raise ReviewBusy(min(300, max(1, round(self._seconds * waves))))
            self._active += 1
        started = time.monotonic()
        try:
            yield
        finally:
            with self._lock:
                self._active -= 1
                self._seconds = 0.8 * self._seconds + 0.2 * (time.monotonic() - started)

    def read(self, name: str, data: bytes) -> Extracted:
        """The file's text, or Unreadable (also when it takes longer than the timeout or kills its worker)."""
        if self.workers == 0:
            with self._slots:
                return extract(name, data, self.ocr, self.limits)
        with self._slots:
            pool = self._executor()
            future = pool.submit(_extract_in_worker, name, data, self.limits)
            try:
                return future.result(timeout=self.file_timeout)
            except FutureTimeout:
                log.warning("reading an upload took over %.0f s; its worker is stopped", self.file_timeout)
                self._discard(pool)
                raise Unreadable(f"{name}：处理超时，无法读取，请缩小文件或减少页数后重新上传") from None
            except BrokenProcessPool:
                log.warning("a worker reading an upload died (memory?); a new one is started")
                self._discard(pool)
                raise Unreadable(f"{name}：文件过大或已损坏，无法读取，请检查后重新上传") from None

    def read_all(self, files: list[tuple[str, bytes]]) -> list[Extracted | Unreadable]:
        """Each file's text or why it is unreadable, in order; the files of one review are read side by
        side, as many at once as there are workers."""
        if self.workers <= 1 or len(files) <= 1:
            return [self._attempt(name, data) for name, data in files]
        with ThreadPoolExecutor(min(self.workers, len(files))) as threads:
            return list(threads.map(lambda file: self._attempt(*file), files))

    def _attempt(self, name: str, data: bytes) -> Extracted | Unreadable:
        try:
            return self.read(name, data)
        except Unreadable as exc:
            return exc

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    self.workers,
                    mp_context=multiprocessing.get_context("spawn"),  # no fork of a threaded server
                    initializer=_start_worker,
                    initargs=(self.limits.max_pixels, max(1, (os.cpu_count() or 1) // self.workers)),
                )
                self._warming = [self._pool.submit(_warm_worker) for _ in range(self.workers)]
            pool, warming = self._pool, self._warming
        # the workers start and load their models before any file's time limit runs: a file read by a
        # worker still starting timed out on a busy machine (a clean case got 不通过)
        futures.wait(warming, timeout=WARM_TIMEOUT)
        return pool

    def _discard(self, pool: ProcessPoolExecutor) -> None:
        """Stop a pool whose worker hangs or died; the next file starts a new one."""
        with self._lock:
            if self._pool is pool:
                self._pool = None
        # ProcessPoolExecutor has no public way to stop a busy worker: kill its processes
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            process.kill()
        pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
