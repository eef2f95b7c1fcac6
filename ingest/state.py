"""What has been ingested: one row per source file and collection, with the ids and content hashes
of its chunks. This is what makes ingestion incremental."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from xiaobao.db import Base


class IngestedSource(Base):
    __tablename__ = "ingested_sources"

    collection: Mapped[str] = mapped_column(String(100), primary_key=True)
    source: Mapped[str] = mapped_column(String(1000), primary_key=True)
    file_hash: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(64))  # loader version + embedding settings
    version_key: Mapped[str | None] = mapped_column(String(500), index=True)
    version_date: Mapped[str | None] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20), default="active")
    chunks: Mapped[dict] = mapped_column(JSON, default=dict)  # chunk id -> fingerprint (content + signature)
    ingested_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
