"""The administrators' own routes: the audit log, a policy's 免申即享 push list and the staff accounts.
(The operations dashboard, also for admins, is in operations.py.)"""

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from xiaobao.api.deps import Admin, ServicesDep
from xiaobao.govdata import policies
from xiaobao.identity import audit

router = APIRouter(tags=["管理员"])


@router.get("/api/admin/audit")
def audit_log(
    services: ServicesDep,
    admin: Admin,
    actor: Annotated[str | None, Query(max_length=64)] = None,
    object_type: Annotated[str | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=2000)] = 200,
) -> list[dict]:
    return audit.entries(services.db_engine, limit, actor, object_type)


@router.get("/api/admin/policies/{policy_id}/push-list")
def push_list(services: ServicesDep, policy_id: str, admin: Admin) -> list[dict]:
    """免申即享 push list: the enterprises that qualify for one policy (失信 ones flagged or left out, as the policy says)."""
    directory = services.directory
    policy = next((p for p in directory.policies() if p.id == policy_id), None)
    if policy is None:
        raise HTTPException(404, "没有这项政策。")
    return policies.push_list(policy, directory.enterprises())


@router.get("/api/admin/users")
def users(services: ServicesDep, admin: Admin) -> list[dict]:
    return services.accounts.users()
