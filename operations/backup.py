"""Backups of a data directory, and restoring one. The databases (the service's and the embedding
cache) are copied online with SQLite's backup API, so the service may keep running; the embedded
Qdrant shard can only be copied when no process holds it (stop the service for a full backup, or
rebuild the index from the sources on restore)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sqlite3
from pathlib import Path

from xiaobao.settings import Settings

FILES = ("secret.key",)
DIRS = ("uploads",)


class BackupError(RuntimeError):
    """The text says what went wrong, in Chinese."""


def _copy_sqlite(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)  # a consistent copy even while others write (WAL)


def _shard_free(path: Path) -> bool:
    """Whether no other process holds the embedded Qdrant shard (a second open fails if one does)."""
    import qdrant_edge as q

    try:
        shard = q.EdgeShard.load(str(path), None)
    except Exception:  # noqa: BLE001 — the engine raises plain exceptions; any failure means "not now"
        return False
    shard.close()
    return True


def backup(settings: Settings, target: Path) -> dict:
    if not settings.db_url.startswith("sqlite:///"):
        raise BackupError("数据库不是 SQLite：请用数据库自己的备份工具（如 pg_dump）")
    if target.exists() and any(target.iterdir()):
        raise BackupError(f"备份目录 {target} 不是空的")
    data = settings.data_dir
    database = Path(settings.db_url.removeprefix("sqlite:///"))
    if not database.exists():
        raise BackupError(f"没有找到数据库 {database}")
    done: dict = {"at": dt.datetime.now(dt.UTC).isoformat(), "database": True}
    _copy_sqlite(database, target / "xiaobao.db")
    cache = settings.cache_dir / "embeddings.db"
    if cache.exists():
        _copy_sqlite(cache, target / "cache" / "embeddings.db")
    for name in FILES:
        if (data / name).exists():
            shutil.copy2(data / name, target / name)
    for name in DIRS:
        if (data / name).is_dir():
            shutil.copytree(data / name, target / name)
    shards = settings.qdrant_path
    if settings.qdrant_url:
        done["index"] = "Qdrant 服务器：请用 Qdrant 的快照功能备份"
    elif not shards.exists():
        done["index"] = "没有索引"
    elif all(_shard_free(p) for p in shards.iterdir() if p.is_dir()):
        shutil.copytree(shards, target / "qdrant")
        done["index"] = "已复制"
    else:
        done["index"] = "未复制：服务正在使用索引（停止服务后再备份，或恢复后重新导入知识）"
    (target / "backup.json").write_text(json.dumps(done, ensure_ascii=False, indent=2), encoding="utf-8")
    return done


def restore(settings: Settings, source: Path) -> dict:
    manifest = source / "backup.json"
    if not manifest.exists():
        raise BackupError(f"{source} 不是小宝的备份（缺少 backup.json）")
    data = settings.data_dir
    database = Path(settings.db_url.removeprefix("sqlite:///"))
    if database.exists() or settings.qdrant_path.exists():
        raise BackupError(f"数据目录 {data} 已有数据：请先停止服务并移走它，再恢复到空目录")
    data.mkdir(parents=True, exist_ok=True)
    _copy_sqlite(source / "xiaobao.db", database)
    if (source / "cache" / "embeddings.db").exists():
        _copy_sqlite(source / "cache" / "embeddings.db", settings.cache_dir / "embeddings.db")
    for name in FILES:
        if (source / name).exists():
            shutil.copy2(source / name, data / name)
    for name in (*DIRS, "qdrant"):
        if (source / name).is_dir():
            shutil.copytree(source / name, data / name)
    return json.loads(manifest.read_text(encoding="utf-8"))
