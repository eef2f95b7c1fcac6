"""Staff accounts over HTTP: log in (a token, also set as an HTTP-only cookie for the consoles), log
out, who am I, and hit testing — what Xiaobao would retrieve for a question."""

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response
from pydantic import BaseModel, Field

from xiaobao.api.deps import COOKIE, Anyone, ServicesDep, Tester, token_of
from xiaobao.identity.accounts import AccountError, AccountLocked

router = APIRouter(tags=["工作人员"])


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)


@router.post("/api/staff/login")
def login(services: ServicesDep, body: LoginIn, request: Request, response: Response) -> dict:
    accounts = services.accounts
    try:
        token, staff = accounts.login(body.username, body.password)
    except AccountLocked as exc:
        raise HTTPException(429, str(exc), headers={"Retry-After": str(exc.retry_after)}) from None
    except AccountError as exc:  # here a wrong password, so 401 rather than the usual 422
        raise HTTPException(401, str(exc)) from None
    secure = services.settings.secure_cookies
    secure = request.url.scheme == "https" if secure is None else secure  # behind https (a trusted proxy says so): Secure
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", secure=secure, max_age=int(accounts.token_life.total_seconds()))
    return {**staff.to_dict(), "token": token}


@router.post("/api/staff/logout", status_code=204)
def logout(services: ServicesDep, request: Request, response: Response) -> None:
    if token := token_of(request):
        services.accounts.logout(token)
    response.delete_cookie(COOKIE)


@router.get("/api/staff/me")
def me(staff: Anyone) -> dict:
    return staff.to_dict()


@router.get("/api/staff/search")
def search(
    services: ServicesDep,
    _tester: Tester,
    q: Annotated[str, Query(min_length=1, max_length=500)],
    k: Annotated[int, Query(ge=1, le=30)] = 10,
    ask_model: bool = True,
) -> dict:
    """Hit testing: what Xiaobao retrieves for a question, with scores, and what it would do: where
    the decision is the model's ("judge"), the model is asked, as for a citizen, and its verdict shown
    (`judged`; its decision is P alone's, verdict null, when the model is busy or down).
    `ask_model=false`: the decision before the model, without its ~1.5 s (xiaobao eval verbatim)."""
    assessment = services.engine.assess(q)
    hits = assessment.hits
    judged = None
    if assessment.decision == "judge" and ask_model:
        decision, verdict = services.engine.judged(q, assessment)
        judged = {"decision": decision, "verdict": None if verdict is None else round(verdict, 3)}
    return {
        "decision": assessment.decision,
        "probability": round(assessment.probabilities[0], 4) if assessment.probabilities else None,
        "judged": judged,
        "hits": [
            {
                "citation": h.citation,
                "doc_id": h.payload.get("doc_id"),
                "doc_type": h.payload.get("doc_type"),
                "score": round(h.score, 4),
                "signals": {name: round(score, 4) for name, (_rank, score) in h.signals.items()},
                "text": (h.payload.get("answer") or h.payload.get("text", ""))[:400],
                "question": h.payload.get("question"),
            }
            for h in hits[:k]
        ],
    }
