"""Versioned data kept in the database (一件事 bundles, material templates): one row per saved version
of a document, keyed by its id; the highest version is the one in use, the older ones stay readable.
The queries are the same for every such table; each table names its key column."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute, Session


def latest(session: Session, model, key: InstrumentedAttribute) -> list:
    """Every document's current version, by id."""
    newest = select(key.label("key"), func.max(model.version).label("v")).group_by(key).subquery()
    query = select(model).join(newest, (key == newest.c.key) & (model.version == newest.c.v))
    return list(session.scalars(query.order_by(key)))


def one(session: Session, model, key: InstrumentedAttribute, ident: str, version: int | None = None):
    """A document in its current version, or in the version asked for; None when there is none."""
    query = select(model).where(key == ident)
    query = query.where(model.version == version) if version else query.order_by(model.version.desc())
    return session.scalars(query.limit(1)).first()


def history(session: Session, model, key: InstrumentedAttribute, ident: str) -> list:
    """Every saved version of a document, oldest first."""
    return list(session.scalars(select(model).where(key == ident).order_by(model.version)))


def next_version(session: Session, model, key: InstrumentedAttribute, ident: str) -> int:
    return (session.scalar(select(func.max(model.version)).where(key == ident)) or 0) + 1
