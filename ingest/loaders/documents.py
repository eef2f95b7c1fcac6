"""Plain documents (md, txt, html, pdf, docx): text extracted, then split into sentence-aligned chunks."""

from __future__ import annotations

import re
from pathlib import Path

from xiaobao.ingest.loaders import Loaded, LoadFailed, LoadOptions, read_text
from xiaobao.ingest.splitter import split
from xiaobao.knowledge.chunk import Chunk


def extract_text(path: Path) -> tuple[str, str | None]:
    """(text, title if the document names one)."""
    suffix = path.suffix.lower()
    try:
        if suffix in (".html", ".htm"):
            from bs4 import BeautifulSoup

            soup = BeautifulSoup(read_text(path), "html.parser")
            for tag in soup(["script", "style", "nav", "footer"]):
                tag.decompose()
            heading = soup.find("h1") or soup.find("title")
            return soup.get_text("\n"), heading.get_text(strip=True) if heading else None
        if suffix == ".pdf":
            from pypdf import PdfReader

            reader = PdfReader(path)
            return "\n".join(page.extract_text() or "" for page in reader.pages), (reader.metadata or {}).get("/Title")
        if suffix == ".docx":
            import docx

            document = docx.Document(str(path))
            return "\n".join(p.text for p in document.paragraphs), document.core_properties.title or None
    except LoadFailed:
        raise
    except Exception as exc:  # parsers raise many types for damaged files
        raise LoadFailed(path, f"无法解析该 {suffix} 文件：{exc}") from exc
    text = read_text(path)
    first = next((line for line in text.splitlines() if line.strip()), "")
    return text, first.lstrip("# ").strip() if first.startswith("#") else None


def load(path: Path, source: str, options: LoadOptions) -> Loaded:
    text, title = extract_text(path)
    return from_text(path, text, source, options, title=title)


def from_text(path: Path, text: str, source: str, options: LoadOptions, title: str | None = None, meta: dict | None = None) -> Loaded:
    title = title or path.stem
    text = re.sub(r"[ \t\u3000]+", " ", text)
    text = "\n".join(line.strip().lstrip("#").strip() for line in text.splitlines() if line.strip())
    if not text:
        raise LoadFailed(path, "文件中没有可读取的文字（扫描件请先做 OCR）")
    chunks = [
        Chunk(
            source=source,
            locator=f"p{i}",
            doc_type="document",
            title=title,
            text=piece,
            citation=f"《{title}》第{i}段",
            group=f"doc:{source}#{i}",
            embed_text=f"{title} {piece}",
            meta=dict(meta or {}),
        )
        for i, piece in enumerate(split(text, options.chunk_chars, options.chunk_overlap), start=1)
    ]
    return Loaded(chunks)
