"""A chunk: the unit that is embedded, indexed, retrieved and cited."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import asdict, dataclass, field
from typing import Literal

DocType = Literal["statute", "guide", "qa", "record", "document"]

_NAMESPACE = uuid.UUID("6f1d3c52-7a0e-4b8e-9d55-3c1f3e0b9a11")


@dataclass
class Chunk:
    """One citable piece of knowledge.

    `text` is what BM25 indexes and what users see; `embed_text` is the (shorter) view the dense
    embedder reads; `group` identifies the citable unit, so the pieces of one long article or the
    phrasings of one Q&A entry count once in results.
    """

    source: str
    locator: str
    doc_type: DocType
    title: str
    text: str
    citation: str
    group: str
    embed_text: str = ""
    meta: dict = field(default_factory=dict)

    @property
    def id(self) -> str:
        return str(uuid.uuid5(_NAMESPACE, f"{self.source}#{self.locator}"))

    @property
    def content_hash(self) -> str:
        digest = hashlib.sha256()
        for part in (self.title, self.text, self.citation, self.group, self.embed_text, repr(sorted(self.meta.items()))):
            digest.update(part.encode("utf-8"))
            digest.update(b"\0")
        return digest.hexdigest()[:32]

    def payload(self) -> dict:
        data = asdict(self)
        meta = data.pop("meta")
        data.pop("embed_text")
        data.update(meta)
        data["content_hash"] = self.content_hash
        data.setdefault("status", "active")
        return data
