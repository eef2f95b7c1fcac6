import pytest

from xiaobao.staff.accounts import Accounts
from xiaobao.staff.editorial import Editorial
from xiaobao.staff.helpdesk import HelpDesk


@pytest.fixture
def accounts(engine) -> Accounts:
    return Accounts(engine.db)


@pytest.fixture
def editorial(engine) -> Editorial:
    return Editorial(engine.kb, group_threshold=0.5)  # the fake embedder's cosines are low


@pytest.fixture
def desk(engine, accounts, editorial) -> HelpDesk:
    return HelpDesk(engine.db, accounts, editorial, offline_after=60)


@pytest.fixture
def helpers(accounts):
    """Two logged-in helpers."""
    for name, display in (("li", "李明"), ("wang", "王芳")):
        accounts.add(name, "password-1", "helper", display)
    return [accounts.login(name, "password-1")[1] for name in ("li", "wang")]
