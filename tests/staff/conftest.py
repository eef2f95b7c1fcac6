import pytest

from xiaobao.staff.editorial import Editorial
from xiaobao.staff.helpdesk import HelpDesk


@pytest.fixture
def editorial(services, engine) -> Editorial:
    return services.editorial


@pytest.fixture
def desk(services, engine) -> HelpDesk:
    return services.desk


@pytest.fixture
def helpers(accounts):
    """Two logged-in helpers."""
    for name, display in (("li", "李明"), ("wang", "王芳")):
        accounts.add(name, "password-1", "helper", display)
    return [accounts.login(name, "password-1")[1] for name in ("li", "wang")]
