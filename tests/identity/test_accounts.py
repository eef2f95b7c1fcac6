import datetime as dt

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from xiaobao.identity.accounts import AccountError, StaffToken, StaffUser
from xiaobao.identity.audit import entries


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
