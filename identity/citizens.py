"""A citizen's identity, only from a credential the server verifies.

The district's portal (随申办 / 一网通办 single sign-on) logs the citizen in and hands the chat page an
OIDC ID token — a signed JWT. The server checks its signature (against the portal's JWKS, a file or a
URL, or a shared secret for HS256), issuer, audience and expiry, and takes the citizen's reference
from its `sub` claim. A credential opens one session only: its `jti` (or its hash) is recorded, so a
token copied to another session is refused. Nothing a client merely says about who it is is trusted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import jwt
from sqlalchemy import DateTime, Engine, String
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from xiaobao.db import Base, now
from xiaobao.settings import Settings

ASYMMETRIC = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"]


class CredentialRejected(ValueError):
    """The credential is not one the server can trust; the text says why, in Chinese."""


class CredentialUse(Base):
    """Each credential that opened a session (by its jti or hash): a second use is a replay."""

    __tablename__ = "credential_uses"

    credential: Mapped[str] = mapped_column(String(128), primary_key=True)
    session_id: Mapped[str] = mapped_column(String(36))
    used_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=now)


@dataclass(frozen=True)
class Citizen:
    user_ref: str  # the portal's subject: the person's or enterprise's reference in the government's records
    name: str | None = None


class CitizenVerifier:
    """Verifies the portal's ID tokens. Configured by `XIAOBAO_SSO_*` settings; without them no
    credential is accepted (and, outside demo mode, every session is anonymous)."""

    def __init__(self, settings: Settings, db_engine: Engine) -> None:
        self.issuer, self.audience = settings.sso_issuer, settings.sso_audience
        self.db_engine = db_engine
        self._secret = settings.sso_hs256_secret
        self._jwks = _jwks(settings.sso_jwks) if settings.sso_jwks else None

    @property
    def configured(self) -> bool:
        return bool(self.issuer and self.audience and (self._secret or self._jwks))

    def verify(self, token: str, session_id: str) -> Citizen:
        """The citizen the token names, once; the use is recorded against `session_id`."""
        if not self.configured:
            raise CredentialRejected("本服务未配置统一身份认证，无法识别登录身份。")
        try:
            key, algorithms = self._key(token)
            claims = jwt.decode(
                token, key, algorithms=algorithms, audience=self.audience, issuer=self.issuer,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]}, leeway=30,
            )  # fmt: skip
        except jwt.ExpiredSignatureError:
            raise CredentialRejected("登录已过期，请重新登录。") from None
        except jwt.InvalidIssuerError:
            raise CredentialRejected("登录凭证不是本区统一身份认证签发的。") from None
        except (jwt.PyJWTError, ValueError):
            raise CredentialRejected("登录凭证无效。") from None
        sub = str(claims["sub"])
        if not 0 < len(sub) <= 64:
            raise CredentialRejected("登录凭证无效。")
        self._use(claims.get("jti") or hashlib.sha256(token.encode()).hexdigest(), session_id)
        return Citizen(sub, claims.get("name"))

    def _key(self, token: str):
        if self._secret:
            return self._secret, ["HS256"]
        kid = jwt.get_unverified_header(token).get("kid")
        keys = [k for k in self._jwks.keys if kid is None or k.key_id == kid]
        if not keys:
            raise ValueError("no key for kid")
        return keys[0].key, ASYMMETRIC

    def _use(self, credential: str, session_id: str) -> None:
        try:
            with Session(self.db_engine) as session:
                session.add(CredentialUse(credential=str(credential)[:128], session_id=session_id))
                session.commit()
        except IntegrityError:
            raise CredentialRejected("这个登录凭证已被使用过，请重新登录。") from None


def _jwks(source: str) -> jwt.PyJWKSet:
    """The portal's public keys: a JWKS file (read once at start), or a URL fetched by PyJWKClient."""
    if source.startswith(("https://", "http://")):
        return _RemoteKeys(source)
    return jwt.PyJWKSet.from_dict(json.loads(Path(source).read_text(encoding="utf-8")))


class _RemoteKeys:
    """A JWKS URL: PyJWKClient caches the keys and refetches when an unknown key id appears."""

    def __init__(self, url: str) -> None:
        self._client = jwt.PyJWKClient(url, cache_keys=True)

    @property
    def keys(self) -> list[jwt.PyJWK]:
        return self._client.get_signing_keys()
