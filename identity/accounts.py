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
from sqlalchemy import Boolean, DateTime, Engine, Integer, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from xiaobao.db import Base, aware, now
from xiaobao.identity import audit

ROLES = ("helper", "editor", "admin")
ROLE_NAMES = {"helper": "线上帮办", "editor": "知识编辑", "admin": "管理员"}
_USERNAME = re.compile(r"^[a-z0-9_.-]{2,32}$")
_HASHER = PasswordHasher()
# a login refreshes "last seen" at most this often: every request is a heartbeat, not every one a write
_SEEN_EVERY = dt.timedelta(seconds=5)
# verified against when the username is unknown or disabled, so that a wrong name takes as long as a
# wrong password (no one can tell from the time which usernames exist); made with the default
# parameters, and made again should the hasher's parameters ever change
_DUMMY_HASH = "$argon2id$v=19$m=65536,t=3,p=4$7otnySk41KR82c/iZLEkPQ$9CjKVdRW2jbs9Cl7mbp1c0p3DuMpJ2Q3URLke+3ktWg"
# audit actions after which earlier failed logins no longer count towards a lockout
_FRESH_START = ("login", "lockout", "enable_user", "set_password")


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


class AccountLocked(AccountError):
    """Too many wrong passwords for this username: no login, not even with the right password, for
    `retry_after` seconds (the API answers 429 with Retry-After). Said the same way whether or not
    the username exists."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(f"登录失败次数过多，已暂停登录，请 {max(1, -(-retry_after // 60))} 分钟后再试；如需立即登录请联系管理员")


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


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _HASHER.check_needs_rehash(_DUMMY_HASH):
        _DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))
    return _DUMMY_HASH


class Accounts:
    def __init__(self, db_engine: Engine, token_hours: float = 12, max_failures: int = 5, lockout_minutes: float = 15) -> None:
        """`max_failures` wrong passwords for one username within `lockout_minutes` lock it for
        `lockout_minutes` (XIAOBAO_LOGIN_MAX_FAILURES, XIAOBAO_LOGIN_LOCKOUT_MINUTES)."""
        self.db_engine = db_engine
        self.token_life = dt.timedelta(hours=token_hours)
        self.max_failures = max_failures
        self.lockout = dt.timedelta(minutes=lockout_minutes)

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

    def set_active(self, username: str, active: bool, actor: str = "cli") -> None:
        """Disable an account (it cannot log in, and its logins end now) or enable it again (which
        also lifts a lockout)."""
        with Session(self.db_engine) as session:
            user = session.scalar(select(StaffUser).where(StaffUser.username == username))
            if user is None:
                raise AccountError(f"没有用户 {username}")
            user.active = active
            if not active:
                session.query(StaffToken).filter(StaffToken.username == username).delete()
            audit.record(session, actor, "enable_user" if active else "disable_user", "user", username)
            session.commit()

    def locked_for(self, session: Session, name: str) -> int:
        """Seconds the username is still locked for (0: not locked); an enable or a new password
        lifts a lockout."""
        entry = audit.AuditEntry
        about = (entry.object_type == "user", entry.object_id == name)
        locked = session.scalar(select(func.max(entry.at)).where(*about, entry.action == "lockout"))
        if locked is None or aware(locked) + self.lockout <= now():
            return 0
        lifted = session.scalar(select(func.count()).where(*about, entry.action.in_(("enable_user", "set_password")), entry.at > locked))
        return 0 if lifted else max(1, int((aware(locked) + self.lockout - now()).total_seconds()))

    def _recent_failures(self, session: Session, name: str) -> int:
        """Failed logins within the lockout window, after the last login, lockout or reset."""
        entry = audit.AuditEntry
        about = (entry.object_type == "user", entry.object_id == name)
        since = now() - self.lockout
        last = session.scalar(select(func.max(entry.at)).where(*about, entry.action.in_(_FRESH_START), entry.at >= since))
        counted = select(func.count()).where(*about, entry.action == "login_failed", entry.at >= (last or since))
        return session.scalar(counted) or 0

    def login(self, username: str, password: str) -> tuple[str, Staff]:
        """A new login token for the account, or AccountError with one message for every failure
        (which usernames exist is not revealed, neither by the message nor by the time it takes: an
        unknown or disabled account is verified against a dummy hash). `max_failures` wrong passwords
        in a row lock the username — any username, existing or not — for the lockout time
        (AccountLocked, written to the audit log)."""
        name = username[:64]
        with Session(self.db_engine) as session:
            if wait := self.locked_for(session, name):
                audit.record(session, name or "?", "login_locked", "user", name)
                session.commit()
                raise AccountLocked(wait)
            user = session.scalar(select(StaffUser).where(StaffUser.username == username))
            try:
                if user is None or not user.active:
                    _HASHER.verify(_dummy_hash(), password)
                    raise VerificationError
                _HASHER.verify(user.password_hash, password)
            except (VerificationError, InvalidHashError):
                audit.record(session, name or "?", "login_failed", "user", name)
                session.flush()
                if self._recent_failures(session, name) >= self.max_failures:
                    minutes = self.lockout.total_seconds() / 60
                    audit.record(session, "system", "lockout", "user", name, failures=self.max_failures, minutes=minutes)
                    session.commit()
                    raise AccountLocked(int(self.lockout.total_seconds())) from None
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
