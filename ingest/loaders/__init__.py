"""Loaders: one per kind of source. `load_file` picks the loader by extension and content."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from xiaobao.knowledge.chunk import Chunk

SUPPORTED = {".md", ".markdown", ".txt", ".html", ".htm", ".pdf", ".docx", ".jsonl"}


class LoadFailed(Exception):
    """The whole file is unusable (binary, wrong encoding, unreadable); nothing of it is stored."""

    def __init__(self, path: Path, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.path, self.line, self.message = path, line, message


@dataclass
class Problem:
    path: Path
    line: int | None
    message: str


@dataclass
class Loaded:
    chunks: list[Chunk]
    problems: list[Problem] = field(default_factory=list)
    # for versioned documents (laws): which document this is, and which version
    version_key: str | None = None
    version_date: str | None = None


@dataclass(frozen=True)
class LoadOptions:
    chunk_chars: int = 400
    chunk_overlap: int = 1
    article_max_chars: int = 800


def read_text(path: Path) -> str:
    data = path.read_bytes()
    if b"\0" in data[:8192]:
        raise LoadFailed(path, "看起来是二进制文件，不是文本")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise LoadFailed(path, "不是 UTF-8 编码，请转换为 UTF-8 后再导入", line) from exc


def load_file(path: Path, source: str, root: Path, options: LoadOptions) -> Loaded:
    """Load one file. `source` is its key in the index; `root` is the folder it was found under
    (its first sub-folder names the category of a law)."""
    from xiaobao.ingest.loaders import documents, records, statutes

    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return records.load(path, source, options)
    if suffix in (".md", ".markdown"):
        text = read_text(path)
        if statutes.looks_like_statute(text):
            return statutes.load(path, text, source, root, options)
        return documents.from_text(path, text, source, options)
    if suffix in SUPPORTED:
        return documents.load(path, source, options)
    raise LoadFailed(path, f"不支持的文件类型 {suffix}")
