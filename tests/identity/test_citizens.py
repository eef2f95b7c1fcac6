"""A citizen's identity comes only from a credential the server verifies: valid, expired, wrong issuer,
wrong signature and replayed tokens, RS256 keys from a JWKS file and HS256 secrets; demo identities
only in demo mode; a session whose identity was never verified gets nobody's data."""

import datetime as dt
import json

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy.orm import Session

from xiaobao.assistant.engine import IdentityRefused
from xiaobao.assistant.store import ChatSession
from xiaobao.identity.citizens import CitizenVerifier, CredentialRejected
from xiaobao.services import Services

ISSUER, AUDIENCE = "https://sso.example.gov.cn", "xiaobao"


@pytest.fixture(scope="module")
def portal_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def sso(services, portal_key, tmp_path):
    """The services configured for a portal whose public key is in a JWKS file."""
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(portal_key.public_key()))
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [{**public, "kid": "portal-1", "use": "sig", "alg": "RS256"}]}))
    services.settings = services.settings.model_copy(update={"sso_issuer": ISSUER, "sso_audience": AUDIENCE, "sso_jwks": str(jwks)})
    return services


def token(key, sub="citizen-1", issuer=ISSUER, expires_in=300, kid="portal-1", algorithm="RS256", **extra) -> str:
    at = dt.datetime.now(dt.UTC)
    claims = {"iss": issuer, "aud": AUDIENCE, "sub": sub, "iat": at, "exp": at + dt.timedelta(seconds=expires_in), **extra}
    return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": kid})


def identity_of(services: Services, session_id: str) -> tuple[str | None, str | None]:
    with Session(services.db_engine) as session:
        chat = session.get(ChatSession, session_id)
        return chat.user_ref, chat.identity


def test_a_valid_token_names_the_citizen_of_the_session(sso, engine, portal_key):
    session_id = engine.create_session(credential=token(portal_key, jti="a1"))
    assert identity_of(sso, session_id) == ("citizen-1", "credential")
    reply = engine.respond(session_id, "BS20240001 的进度")
    assert "窗口核验原件" in reply.text  # the verified citizen sees their own case


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda key: token(key, expires_in=-120), "过期"),
        (lambda key: token(key, issuer="https://evil.example.com"), "不是本区"),
        (lambda key: token(rsa.generate_private_key(public_exponent=65537, key_size=2048)), "无效"),
        (lambda key: token(key, kid="unknown"), "无效"),
        (lambda key: token(key)[:-4] + "AAAA", "无效"),
        (lambda key: "not-a-token", "无效"),
    ],
    ids=["expired", "wrong-issuer", "wrong-signature", "unknown-key", "tampered", "garbage"],
)
def test_untrustworthy_tokens_are_refused(sso, engine, portal_key, make, says):
    with pytest.raises(CredentialRejected, match=says):
        engine.create_session(credential=make(portal_key))


def test_a_token_opens_one_session_only(sso, engine, portal_key):
    credential = token(portal_key, jti="once")
    engine.create_session(credential=credential)
    with pytest.raises(CredentialRejected, match="已被使用"):
        engine.create_session(credential=credential)  # replayed on another session


SECRET = "a-shared-secret-of-the-portal-32b"


@pytest.fixture
def sso_hs256(services):
    services.settings = services.settings.model_copy(update={"sso_issuer": ISSUER, "sso_audience": AUDIENCE, "sso_hs256_secret": SECRET})
    return services


def test_hs256_with_a_shared_secret(sso_hs256, engine):
    secret = SECRET
    session_id = engine.create_session(credential=token(secret, algorithm="HS256", sub="citizen-2"))
    assert identity_of(sso_hs256, session_id) == ("citizen-2", "credential")
    with pytest.raises(CredentialRejected):
        engine.create_session(credential=token("another-secret-of-the-same-size", algorithm="HS256"))


def test_without_sso_settings_no_credential_is_accepted(services, engine, portal_key):
    assert not CitizenVerifier(services.settings, services.db_engine).configured
    with pytest.raises(CredentialRejected, match="未配置"):
        engine.create_session(credential=token(portal_key))


def test_demo_identities_only_in_demo_mode(services, engine):
    assert identity_of(services, engine.create_session(demo_ref="citizen-1")) == ("citizen-1", "demo")
    with pytest.raises(IdentityRefused, match="没有这个演示身份"):
        engine.create_session(demo_ref="someone-real")
    services.settings = services.settings.model_copy(update={"demo_mode": False})
    engine.settings = services.settings
    with pytest.raises(IdentityRefused, match="统一身份认证"):
        engine.create_session(demo_ref="citizen-1")


def test_unverified_sessions_get_nobodys_data(services, engine):
    """A session stored with a user_ref but no verified identity (an older version trusted the client),
    and a demo session once demo mode is off: both are anonymous to the tools."""
    with Session(services.db_engine) as session:
        session.add(ChatSession(id="legacy", user_ref="citizen-1"))
        session.commit()
    assert "实名登录" in engine.respond("legacy", "BS20240001 进度").text
    demo = engine.create_session(demo_ref="citizen-1")
    engine.settings = engine.settings.model_copy(update={"demo_mode": False})
    assert "实名登录" in engine.respond(demo, "BS20240001 进度").text
