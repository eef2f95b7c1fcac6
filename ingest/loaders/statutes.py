"""Statutes in markdown: `# title`, optional `# part`, `## 第X章` chapters, one article per paragraph
starting `第X条`. One chunk per article carrying its citation; long articles split, citation kept."""

from __future__ import annotations

import re
from pathlib import Path

from xiaobao.ingest.loaders import Loaded, LoadOptions, documents
from xiaobao.ingest.splitter import split
from xiaobao.knowledge.chunk import Chunk

_NUM = "零〇一二三四五六七八九十百千两0-9"
ARTICLE = re.compile(rf"^(第[{_NUM}]+条(?:之[{_NUM}]+)?)[\s\u3000]*(.*)$")
_DATE = re.compile(r"\((\d{4}-\d{2}-\d{2})\)$")
_INFO_END = "<!-- INFO END -->"


def looks_like_statute(text: str) -> bool:
    """A `# title` and either articles or the corpus's metadata marker (decisions have no articles)."""
    return text.lstrip().startswith("# ") and (_INFO_END in text or any(ARTICLE.match(line) for line in text.splitlines()))


def citation(title: str, article: str) -> str:
    return f"《{title}》{article}"


def load(path: Path, text: str, source: str, root: Path, options: LoadOptions) -> Loaded:
    headings = [line[2:].strip() for line in text.splitlines() if line.startswith("# ")]
    title = headings[0] if headings else path.stem
    part = headings[1] if len(headings) > 1 else None
    date_match = _DATE.search(path.stem)
    version_date = date_match.group(1) if date_match else None
    try:
        category = path.relative_to(root).parts[0] if path.parent != root else ""
    except ValueError:
        category = ""
    law_key = f"{title}·{part}" if part else title
    meta = {"law": title, "part": part, "version_date": version_date, "category": category, "law_key": law_key}
    body = text.split(_INFO_END, 1)[1] if _INFO_END in text else text

    articles: list[tuple[str, str, list[str]]] = []  # (label, chapter, paragraphs)
    chapter = ""
    for raw in body.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            heading = re.sub(r"\s+", " ", line.lstrip("#").strip())
            if level <= 2:
                chapter = heading
            elif level == 3:
                chapter = f"{chapter.split(' / ')[0]} / {heading}" if chapter else heading
            articles.append(("", chapter, []))  # a heading ends the article before it
            continue
        match = ARTICLE.match(line)
        if match:
            articles.append((match.group(1), chapter, [line]))
        elif articles and articles[-1][0]:
            articles[-1][2].append(line)

    chunks: list[Chunk] = []
    for label, chap, paragraphs in articles:
        if not label:
            continue
        full = "\n".join(paragraphs)
        pieces = split(full, options.article_max_chars, 0) if len(full) > options.article_max_chars else [full]
        for i, piece in enumerate(pieces):
            chunks.append(
                Chunk(
                    source=source,
                    locator=label if i == 0 else f"{label}#{i + 1}",
                    doc_type="statute",
                    title=title,
                    text=piece,
                    citation=citation(title, label),
                    group=f"{law_key}|{label}|{version_date or ''}",
                    embed_text=f"{title} {piece}" if i == 0 else f"{title} {label} {piece}",
                    meta={**meta, "article": label, "chapter": chap},
                )
            )
    if not chunks:  # decisions, cases, interpretations written as 一、二、… paragraphs
        loaded = documents.from_text(path, body, source, options, title=title, meta=meta)
        chunks = loaded.chunks
    return Loaded(chunks, version_key=law_key, version_date=version_date)
