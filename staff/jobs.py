"""Ingest as a background job of the running service, with progress: while `xiaobao serve` holds the
data directory (the embedded index admits one process), `xiaobao ingest` asks the service to ingest
and polls the job instead of opening the index itself. One job at a time: the index has one writer."""

from __future__ import annotations

import dataclasses
import threading
import uuid
from pathlib import Path

from sqlalchemy import Engine

from xiaobao.identity import audit
from xiaobao.ingest.pipeline import Ingestor, discover


class JobBusy(RuntimeError):
    pass


class IngestJobs:
    def __init__(self, ingestor: Ingestor, db_engine: Engine) -> None:
        self.ingestor = ingestor
        self.db_engine = db_engine
        self._jobs: dict[str, dict] = {}
        self._lock = threading.Lock()

    def start(self, paths: list[Path], actor: str) -> dict:
        """Start ingesting the files under `paths` (which must exist); JobBusy while another job
        runs, FileNotFoundError for a missing path."""
        total = len(discover(paths))
        with self._lock:
            if any(job["status"] == "running" for job in self._jobs.values()):
                raise JobBusy("已有导入任务在进行，请等它完成后再导入")
            job = {"id": uuid.uuid4().hex[:12], "status": "running", "paths": [str(p) for p in paths], "files_total": total,
                   "files_done": 0, "embedded": 0, "summary": None, "error": None}  # fmt: skip
            self._jobs[job["id"]] = job
        threading.Thread(target=self._run, args=(job, paths, actor), name=f"ingest-{job['id']}", daemon=True).start()
        return dict(job)

    def get(self, job_id: str) -> dict | None:
        with self._lock:
            job = self._jobs.get(job_id)
            return dict(job) if job else None

    def _run(self, job: dict, paths: list[Path], actor: str) -> None:
        def on_progress(kind: str, n: int) -> None:
            with self._lock:
                job["files_done" if kind == "file" else "embedded"] += n

        try:
            summary = self.ingestor.ingest(paths, on_progress=on_progress)
        except Exception as exc:  # noqa: BLE001  (the job reports what went wrong instead of dying silently)
            with self._lock:
                job["status"], job["error"] = "failed", f"导入失败：{exc}"
            return
        result = dataclasses.asdict(summary)
        result["problems"] = [{"path": str(p.path), "line": p.line, "message": p.message} for p in summary.problems]
        audit.record_now(self.db_engine, actor, "ingest", "document", ", ".join(job["paths"])[:64], files=summary.files,
                         added=summary.added, updated=summary.updated, deleted=summary.deleted)  # fmt: skip
        with self._lock:
            job["status"], job["summary"] = "done", result
