"""JSON Lines sources, one record per line, kind told by its fields:

- service guide (办事指南): id, name, department, conditions, materials, … → a chunk per section;
- Q&A entry (答复口径): id, question, alternatives, answer, … → a chunk per phrasing (questions are matched);
- passage: id, text (optional title, department) → the text, split if long.

A malformed line is reported with its line number and skipped; the rest of the file loads.
"""

from __future__ import annotations

import json
from pathlib import Path

from xiaobao.ingest.loaders import Loaded, LoadOptions, Problem, read_text
from xiaobao.ingest.splitter import split
from xiaobao.knowledge.chunk import Chunk
from xiaobao.knowledge.index import date_int

GUIDE_SECTIONS = (
    ("conditions", "受理条件"),
    ("materials", "申请材料"),
    ("time_limit_promised", "承诺时限"),
    ("time_limit_legal", "法定时限"),
    ("location", "办理地点"),
    ("phone", "咨询电话"),
    ("service_objects", "服务对象"),
)


def _as_text(value) -> str:
    if isinstance(value, list):
        return "\n".join(f"{i}. {v}" for i, v in enumerate(value, start=1))
    return str(value)


def guide_chunks(rec: dict, source: str) -> list[Chunk]:
    name, item_id = str(rec["name"]), str(rec["id"])
    department = rec.get("department") or ""
    meta = {"doc_id": item_id, "item": name, "department": department, "item_type": rec.get("item_type")}
    overview = f"{name}（{rec.get('item_type') or '事项'}，{department}）"
    sections = [("overview", "概述", overview)]
    sections += [(key, label, _as_text(rec[key])) for key, label in GUIDE_SECTIONS if rec.get(key)]
    return [
        Chunk(
            source=source,
            locator=f"{item_id}/{key}",
            doc_type="guide",
            title=name,
            text=f"{name}·{label}：{text}",
            citation=f"《{name}》办事指南·{label}",
            group=f"guide:{item_id}:{key}",
            embed_text=f"{name} {label}：{text}",
            meta={**meta, "section": label},
        )
        for key, label, text in sections
    ]


def qa_chunks(rec: dict, source: str) -> list[Chunk]:
    entry_id = str(rec["id"])
    phrasings = [str(rec["question"]), *[str(a) for a in rec.get("alternatives") or [] if a]]
    meta = {
        "doc_id": entry_id,
        "question": phrasings[0],
        "alternatives": phrasings[1:],
        "answer": str(rec["answer"]),
        "item": rec.get("item"),
        "department": rec.get("department"),
        "effective_from": date_int(rec.get("effective_from")),
        "effective_to": date_int(rec.get("effective_to")),
        "version": rec.get("version"),
        "url": rec.get("url"),
    }
    return [
        Chunk(
            source=source,
            locator=f"{entry_id}/q{i}",
            doc_type="qa",
            title=phrasings[0],
            text=question,
            citation=f"答复口径 {entry_id}",
            group=f"qa:{entry_id}",
            embed_text=question,
            meta=meta,
        )
        for i, question in enumerate(phrasings)
    ]


def passage_chunks(rec: dict, source: str, options: LoadOptions) -> list[Chunk]:
    record_id = str(rec["id"])
    title = str(rec.get("title") or "")
    pieces = split(str(rec["text"]), options.chunk_chars, options.chunk_overlap)
    return [
        Chunk(
            source=source,
            locator=f"{record_id}#{i}",
            doc_type="record",
            title=title or record_id,
            text=piece,
            citation=f"《{title}》" if title else f"资料 {record_id}",
            group=f"record:{record_id}",
            embed_text=f"{title} {piece}".strip(),
            meta={"doc_id": record_id, "department": rec.get("department")},
        )
        for i, piece in enumerate(pieces, start=1)
    ]


def load(path: Path, source: str, options: LoadOptions) -> Loaded:
    chunks: list[Chunk] = []
    problems: list[Problem] = []
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            if not isinstance(rec, dict) or "id" not in rec:
                raise ValueError("每行须是带 id 字段的 JSON 对象")
            if "question" in rec and "answer" in rec:
                if rec.get("status", "published") != "published":
                    continue  # drafts and retired entries are not searchable
                chunks += qa_chunks(rec, source)
            elif "name" in rec and ("conditions" in rec or "materials" in rec):
                chunks += guide_chunks(rec, source)
            elif rec.get("text"):
                chunks += passage_chunks(rec, source, options)
            else:
                raise ValueError("无法识别的记录：需要 question+answer、name+conditions/materials 或 text 字段")
        except (ValueError, TypeError, KeyError) as exc:  # json.JSONDecodeError is a ValueError
            problems.append(Problem(path, number, f"已跳过：{exc}"))
    return Loaded(chunks, problems)
