"""Staff accounts (helper, editor, admin): argon2 password hashes and opaque login tokens, of which
only a SHA-256 is stored. Citizens do not log in here: their sessions carry their own keys."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Boolean, DateTime, Engine, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from xiaobao.db import Base, aware, now
from xiaobao.identity import audit

ROLES = ("helper", "editor", "admin")
ROLE_NAMES = {"helper": "线上帮办", "editor": "知识编辑", "admin": "管理员"}
_USERNAME = re.compile(r"^[a-z0-9_.-]{2,32}$")
_HASHER = PasswordHasher()
# a login refreshes "last seen" at most this often: every request is a heartbeat, not every one a write
_SEEN_EVERY = dt.timedelta(seconds=5)


class StaffUser(Base):
    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(32), unique=True)
    display_name: Mapped[str] = mapped_column(String(40))
    role: Mapped[str] = mapped_column(String(10))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=now)
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class StaffToken(Base):
    __tablename__ = "staff_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(String(32), index=True)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class AccountError(ValueError):
    """The text says what is wrong, in Chinese."""


@dataclass(frozen=True)
class Staff:
    username: str
    display_name: str
    role: str

    def can(self, role: str) -> bool:
        """An admin can do what helpers and editors do; otherwise each role only its own work."""
        return self.role == role or self.role == "admin"

    def to_dict(self) -> dict:
        return {"username": self.username, "display_name": self.display_name, "role": self.role, "role_name": ROLE_NAMES[self.role]}


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _staff(user: StaffUser) -> Staff:
    return Staff(user.username, user.display_name, user.role)


class Accounts:
    def __init__(self, db_engine: Engine, token_hours: float = 12) -> None:
        self.db_engine = db_engine
        self.token_life = dt.timedelta(hours=token_hours)

    def add(self, username: str, password: str, role: str, display_name: str | None = None) -> Staff:
        if not _USERNAME.match(username):
            raise AccountError("用户名须为 2–32 位小写字母、数字或 _ . -")
        if role not in ROLES:
            raise AccountError(f"角色须为 {'、'.join(ROLES)} 之一")
        if len(password) < 8:
            raise AccountError("密码至少 8 位")
        with Session(self.db_engine) as session:
            if session.scalar(select(StaffUser).where(StaffUser.username == username)):
                raise AccountError(f"用户 {username} 已存在")
            user = StaffUser(username=username, display_name=display_name or username, role=role, password_hash=_HASHER.hash(password))
            session.add(user)
            audit.record(session, "cli", "add_user", "user", username, role=role)
            session.commit()
            return _staff(user)

    def set_password(self, username: str, password: str) -> None:
        if len(password) < 8:
            raise AccountError("密码至少 8 位")
        with Session(self.db_engine) as session:
            user = session.scalar(select(StaffUser).where(StaffUser.username == username))
            if user is None:
                raise AccountError(f"没有用户 {username}")
            user.password_hash = _HASHER.hash(password)
            session.query(StaffToken).filter(StaffToken.username == username).delete()  # old logins end
            audit.record(session, "cli", "set_password", "user", username)
            session.commit()

    def users(self) -> list[dict]:
        with Session(self.db_engine) as session:
            return [
                {**_staff(u).to_dict(), "active": u.active, "last_seen_at": u.last_seen_at.isoformat() if u.last_seen_at else None}
                for u in session.scalars(select(StaffUser).order_by(StaffUser.username))
            ]

    def login(self, username: str, password: str) -> tuple[str, Staff]:
        """A new login token for the account, or AccountError with one message for every failure
        (which usernames exist is not revealed)."""
        with Session(self.db_engine) as session:
            user = session.scalar(select(StaffUser).where(StaffUser.username == username, StaffUser.active.is_(True)))
            try:
                if user is None:
                    raise VerificationError
                _HASHER.verify(user.password_hash, password)
            except (VerificationError, InvalidHashError):
                audit.record(session, username[:64] or "?", "login_failed", "user", username[:64])
                session.commit()
                raise AccountError("用户名或密码错误") from None
            if _HASHER.check_needs_rehash(user.password_hash):
                user.password_hash = _HASHER.hash(password)
            token = secrets.token_urlsafe(32)
            session.add(StaffToken(token_hash=_digest(token), username=username, expires_at=now() + self.token_life))
            user.last_seen_at = now()
            audit.record(session, username, "login", "user", username)
            session.commit()
            return token, _staff(user)

    def authenticate(self, token: str | None) -> Staff | None:
        """The account a token belongs to (and a heartbeat for it), or None."""
        if not token:
            return None
        with Session(self.db_engine) as session:
            row = session.get(StaffToken, _digest(token))
            if row is None or aware(row.expires_at) < now():
                return None
            user = session.scalar(select(StaffUser).where(StaffUser.username == row.username, StaffUser.active.is_(True)))
            if user is None:
                return None
            if user.last_seen_at is None or now() - aware(user.last_seen_at) > _SEEN_EVERY:
                user.last_seen_at = now()
                session.commit()
            return _staff(user)

    def logout(self, token: str) -> None:
        with Session(self.db_engine) as session:
            row = session.get(StaffToken, _digest(token))
            if row is not None:
                audit.record(session, row.username, "logout", "user", row.username)
                session.delete(row)
                session.commit()

    def online(self, since: dt.datetime) -> set[str]:
        """Usernames seen since the given time."""
        with Session(self.db_engine) as session:
            return set(session.scalars(select(StaffUser.username).where(StaffUser.last_seen_at >= since)))
