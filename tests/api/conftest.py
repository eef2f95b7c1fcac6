import pytest
from fastapi.testclient import TestClient

from xiaobao.server import create_app


@pytest.fixture
def client(services, services_data):
    return TestClient(create_app(services, with_ui=False))
