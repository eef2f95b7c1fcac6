"""Schemathesis fuzzes every operation of the OpenAPI schema: whatever it sends, the service answers
with anything but a server error. Staff routes are fuzzed logged in as an admin."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from xiaobao.server import create_app

pytestmark = pytest.mark.slow


def test_no_operation_answers_with_a_server_error(services, engine):
    services.engine.settings = services.engine.settings.model_copy(
        update={"rate_limit_per_client": 0, "rate_limit_per_session": 0, "rate_limit_sessions_per_client": 0}
    )
    services.accounts.add("root", "password-1", "admin")
    token, _ = services.accounts.login("root", "password-1")
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(services, with_ui=False))
    headers = {"Authorization": f"Bearer {token}"}
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=operation.as_strategy())
        def fuzz(case) -> None:
            response = case.call(headers=headers)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} → {response.status_code}: {response.text[:200]}")

        fuzz()
    assert operations >= 40
    assert failures == []
