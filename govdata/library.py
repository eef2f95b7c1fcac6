"""The electronic material library (电子材料库): a citizen's or enterprise's verified materials — an
upload that passed pre-review, or a generated material the applicant accepted — kept once per owner
(by SHA-256) with their type and validity, and offered for reuse instead of asking for them again.
An upload also keeps what the pre-review read in it (营业执照: 名称, 统一社会信用代码, 住所, 法定代表人…),
which fills a generated material's fields where the government's records have nothing (readings).

Every method takes the owner, the server-verified identity: another owner's material is as unknown
as one that does not exist. An expired material is listed but never reused. Deleting really deletes
the bytes, and the audit log keeps that it happened (type and hash, not the content).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid

from sqlalchemy import JSON, Date, DateTime, Engine, Integer, LargeBinary, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from xiaobao.db import Base, now
from xiaobao.identity import audit

ORIGINS = {"prereview": "上传并通过预审", "generated": "自动生成并确认"}


class LibraryMaterial(Base):
    __tablename__ = "library_materials"
    __table_args__ = (UniqueConstraint("owner_ref", "sha256"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner_ref: Mapped[str] = mapped_column(String(64), index=True)
    type: Mapped[str] = mapped_column(String(100))  # the material's name as items ask for it (营业执照)
    filename: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    valid_until: Mapped[dt.date | None] = mapped_column(Date)  # None: no expiry known
    origin: Mapped[str] = mapped_column(String(20))  # prereview | generated
    item_id: Mapped[str | None] = mapped_column(String(40))  # the item it was verified for
    # what the pre-review read in an upload, canonical label -> value (住所 -> 上海市宝山区…); None: nothing
    # read (a generated material, or an upload kept before the values were)
    read_values: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=now)

    def to_dict(self, on: dt.date) -> dict:
        return {
            "id": self.id,
            "type": self.type,
            "name": self.filename,
            "sha256": self.sha256,
            "size": self.size,
            "valid_until": self.valid_until.isoformat() if self.valid_until else None,
            "expired": self.valid_until is not None and self.valid_until < on,
            "origin": self.origin,
            "origin_name": ORIGINS[self.origin],
            "item_id": self.item_id,
            "read": self.read_values or {},
            "created_at": self.created_at.isoformat(),
        }


class Library:
    def __init__(self, db_engine: Engine) -> None:
        self.db_engine = db_engine

    def keep(
        self,
        owner: str,
        type: str,
        filename: str,
        data: bytes,
        origin: str,
        valid_until: dt.date | None = None,
        item_id: str | None = None,
        on: dt.date | None = None,
        read: dict[str, str] | None = None,
    ) -> tuple[dict, bool]:
        """Store a verified material for its owner: (its entry, whether it is new). The same bytes are
        kept once; kept again, the entry takes the newer type, validity and values read (`read`: what
        the pre-review read in an upload, by label)."""
        if origin not in ORIGINS:
            raise ValueError(f"unknown origin {origin}")
        digest = hashlib.sha256(data).hexdigest()
        with Session(self.db_engine) as session:
            row = session.scalar(select(LibraryMaterial).where(LibraryMaterial.owner_ref == owner, LibraryMaterial.sha256 == digest))
            new = row is None
            if new:
                row = LibraryMaterial(id=uuid.uuid4().hex, owner_ref=owner, sha256=digest, size=len(data), content=data)
                session.add(row)
            row.type, row.filename, row.origin, row.valid_until, row.item_id = type, filename[:200], origin, valid_until, item_id
            row.read_values = dict(read) if read else None
            session.commit()
            return row.to_dict(on or dt.date.today()), new

    def list(self, owner: str, on: dt.date | None = None) -> list[dict]:
        with Session(self.db_engine) as session:
            rows = session.scalars(select(LibraryMaterial).where(LibraryMaterial.owner_ref == owner).order_by(LibraryMaterial.created_at))
            return [r.to_dict(on or dt.date.today()) for r in rows]

    def get(self, owner: str, material_id: str, on: dt.date | None = None) -> dict | None:
        with Session(self.db_engine) as session:
            row = session.get(LibraryMaterial, material_id)
            return row.to_dict(on or dt.date.today()) if row is not None and row.owner_ref == owner else None

    def content(self, owner: str, material_id: str) -> tuple[str, bytes] | None:
        """The file's name and bytes, for its owner only."""
        with Session(self.db_engine) as session:
            row = session.get(LibraryMaterial, material_id)
            return (row.filename, row.content) if row is not None and row.owner_ref == owner else None

    def reusable(self, owner: str, on: dt.date | None = None) -> dict[str, dict]:
        """The owner's unexpired materials by type (the newest of a type)."""
        return {m["type"]: m for m in self.list(owner, on) if not m["expired"]}

    def readings(self, owner: str, on: dt.date | None = None) -> dict[str, dict[str, str]]:
        """What the pre-review read in the owner's unexpired uploads, by material type (the newest
        upload of a type): the values a generated material may take (source upload.<type>.<label>)."""
        return {m["type"]: m["read"] for m in self.list(owner, on) if not m["expired"] and m["origin"] == "prereview" and m["read"]}

    def delete(self, owner: str, material_id: str) -> bool:
        """Delete the owner's material (bytes and entry); False when the owner has no such material."""
        with Session(self.db_engine) as session:
            row = session.get(LibraryMaterial, material_id)
            if row is None or row.owner_ref != owner:
                return False
            audit.record(session, owner, "delete_material", "library_material", row.id, type=row.type, sha256=row.sha256)
            session.delete(row)
            session.commit()
            return True
