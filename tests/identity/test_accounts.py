import datetime as dt
import statistics
import time

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from xiaobao.identity import accounts as accounts_module
from xiaobao.identity.accounts import AccountError, AccountLocked, StaffToken, StaffUser
from xiaobao.identity.audit import AuditEntry, entries


def test_passwords_are_hashed_and_logins_give_tokens(accounts, engine):
    accounts.add("zhang", "s3cret-pass", "editor", "张编辑")
    with Session(engine.db_engine) as session:
        stored = session.scalar(select(StaffUser)).password_hash
    assert stored.startswith("$argon2") and "s3cret-pass" not in stored
    token, staff = accounts.login("zhang", "s3cret-pass")
    assert staff.role == "editor" and staff.can("editor") and not staff.can("helper")
    assert accounts.authenticate(token) == staff
    with Session(engine.db_engine) as session:
        assert token not in {row.token_hash for row in session.scalars(select(StaffToken))}  # only its hash is kept
    accounts.logout(token)
    assert accounts.authenticate(token) is None


def test_wrong_passwords_unknown_users_and_bad_accounts_are_refused(accounts):
    accounts.add("zhang", "s3cret-pass", "helper")
    for username, password in (("zhang", "wrong-pass"), ("nobody", "s3cret-pass")):
        with pytest.raises(AccountError, match="用户名或密码错误"):
            accounts.login(username, password)
    for args in (
        ("Bad Name", "s3cret-pass", "helper"),
        ("ok", "short", "helper"),
        ("ok", "s3cret-pass", "boss"),
        ("zhang", "s3cret-pass", "helper"),
    ):
        with pytest.raises(AccountError):
            accounts.add(*args)
    assert [e["action"] for e in entries(accounts.db_engine)][:2] == ["login_failed", "login_failed"]


def test_expired_tokens_and_password_changes_end_logins(accounts, engine):
    accounts.add("admin", "s3cret-pass", "admin")
    token, admin = accounts.login("admin", "s3cret-pass")
    assert admin.can("helper") and admin.can("editor")
    accounts.set_password("admin", "new-s3cret-pass")
    assert accounts.authenticate(token) is None
    token, _ = accounts.login("admin", "new-s3cret-pass")
    with Session(engine.db_engine) as session:
        session.execute(update(StaffToken).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
        session.commit()
    assert accounts.authenticate(token) is None


def test_unknown_and_disabled_users_take_as_long_as_a_wrong_password(accounts, monkeypatch):
    accounts.add("zhang", "s3cret-pass", "helper")
    accounts.add("li", "s3cret-pass", "helper")
    accounts.set_active("li", False)
    verified = []

    class Counting:  # the real hasher, counting verifications
        def __init__(self, real) -> None:
            self.real = real

        def __getattr__(self, name):
            return getattr(self.real, name)

        def verify(self, stored, password):
            verified.append(stored)
            return self.real.verify(stored, password)

    monkeypatch.setattr(accounts_module, "_HASHER", Counting(accounts_module._HASHER))

    def seconds(username: str) -> float:
        started = time.perf_counter()
        with pytest.raises(AccountError, match="用户名或密码错误"):
            accounts.login(username, "wrong-pass")
        return time.perf_counter() - started

    for username in ("zhang", "nobody", "li"):
        verified.clear()
        seconds(username)
        assert len(verified) == 1 and verified[0].startswith("$argon2id$"), username  # one Argon2 verification each
    wrong = statistics.median(seconds("zhang") for _ in range(3))
    unknown = statistics.median(seconds("nobody") for _ in range(3))
    assert unknown > 0.5 * wrong, (unknown, wrong)  # was ~10 ms against ~300 ms


def test_repeated_failures_lock_a_username_whether_or_not_it_exists(accounts, engine):
    accounts.add("zhang", "s3cret-pass", "helper")
    messages = {}
    for username in ("zhang", "nobody"):
        for _ in range(accounts.max_failures - 1):
            with pytest.raises(AccountError, match="用户名或密码错误"):
                accounts.login(username, "wrong-pass")
        with pytest.raises(AccountLocked) as locked:
            accounts.login(username, "wrong-pass")
        assert locked.value.retry_after == 15 * 60
        with pytest.raises(AccountLocked) as again:
            accounts.login(username, "s3cret-pass")  # the right password does not help during a lockout
        messages[username] = str(again.value)
    assert messages["zhang"] == messages["nobody"] and "请 15 分钟后再试" in messages["zhang"]  # nothing tells them apart
    lockouts = [e for e in entries(accounts.db_engine) if e["action"] == "lockout"]
    assert [e["object_id"] for e in lockouts] == ["nobody", "zhang"] and lockouts[0]["detail"]["failures"] == 5
    assert any(e["action"] == "login_locked" for e in entries(accounts.db_engine))
    with Session(engine.db_engine) as session:  # the lockout ends after its time
        for entry in session.scalars(select(AuditEntry)):
            entry.at -= dt.timedelta(minutes=16)
        session.commit()
    token, _ = accounts.login("zhang", "s3cret-pass")
    assert accounts.authenticate(token)


def test_an_admin_lifts_a_lockout_by_enabling_the_account(accounts):
    accounts.add("zhang", "s3cret-pass", "helper")
    for _ in range(accounts.max_failures):
        with pytest.raises(AccountError):
            accounts.login("zhang", "wrong-pass")
    with pytest.raises(AccountLocked):
        accounts.login("zhang", "s3cret-pass")
    accounts.set_active("zhang", True)
    assert accounts.login("zhang", "s3cret-pass")[1].username == "zhang"
    # a successful login starts the count again
    for _ in range(accounts.max_failures - 1):
        with pytest.raises(AccountError, match="用户名或密码错误"):
            accounts.login("zhang", "wrong-pass")


def test_a_disabled_account_cannot_log_in_and_its_tokens_stop_working(accounts):
    accounts.add("zhang", "s3cret-pass", "editor")
    token, _ = accounts.login("zhang", "s3cret-pass")
    accounts.set_active("zhang", False)
    assert accounts.authenticate(token) is None
    with pytest.raises(AccountError, match="用户名或密码错误"):
        accounts.login("zhang", "s3cret-pass")
    assert not next(u for u in accounts.users() if u["username"] == "zhang")["active"]
    accounts.set_active("zhang", True)
    token, _ = accounts.login("zhang", "s3cret-pass")
    assert accounts.authenticate(token).username == "zhang"
    actions = [e["action"] for e in entries(accounts.db_engine) if e["object_id"] == "zhang"]
    assert "disable_user" in actions and "enable_user" in actions
    with pytest.raises(AccountError, match="没有用户"):
        accounts.set_active("nobody", False)
