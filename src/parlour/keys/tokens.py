"""End-user tokens: EdDSA JWTs with an explicit type, signed per tenant (RFC 8725).

Signing and checking are pure functions over keys and a moment; keys/end_user_tokens.py and
keys/call_tokens.py find the keys and read the clock. The checks run before any signature work
where they can (size, header fields) so junk is cheap to refuse.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from parlour.errors import InvalidToken
from parlour.identifiers import first_refused
from parlour.keys.models import VISITOR_PREFIX, EndUser, MintedToken

END_USER_TOKEN_TYPE = "parlour-end-user+jwt"  # noqa: S105 - a media type, not a secret
VISITOR_TOKEN_TYPE = "parlour-visitor+jwt"  # noqa: S105 - a media type, not a secret
# Parlour's call to an organisation's MCP server: an RFC 9068 access token for that server alone.
CALL_TOKEN_TYPE = "at+jwt"  # noqa: S105 - a media type, not a secret
CALL_TOKEN_TTL = timedelta(seconds=60)
ALGORITHM = "EdDSA"  # what Parlour signs with
# What an organisation's own backend may sign with, on keys it registered.
CLIENT_ALGORITHMS = frozenset({"EdDSA", "ES256"})
MAX_LIFETIME = timedelta(minutes=15)
# Visitors resume their conversation within a day; each connection swaps the token for a new one.
VISITOR_TTL = timedelta(hours=24)
MAX_TOKEN_CHARS = 8 * 1024
# Only these header fields are understood; `jwk`, `jku`, `x5u`, `x5c`, `crit` and the rest are
# refused outright rather than ignored, so no header can point us at a key (T-11, T-13).
_ALLOWED_HEADER = frozenset({"alg", "typ", "kid"})
_REQUIRED_CLAIMS = ["iss", "aud", "sub", "tid", "iat", "nbf", "exp", "jti"]
_KID = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_USER_ID_CHARS = 200
MAX_TRAIT_CHARS = 200
TRAIT_NAMES = ("name", "email")


def widget_audience(widget_id: str) -> str:
    return f"parlour:widget:{widget_id}"


def client_issuer(widget_id: str) -> str:
    """The `iss` an organisation's own backend puts in the tokens it signs."""
    return f"client:{widget_id}"


def call_token_issuer(public_url: str, tenant_id: str) -> str:
    """The `iss` of the tenant's call tokens: one issuer per organisation, so that a server
    checking its issuer refuses tokens Parlour made for another organisation's assistant."""
    return f"{public_url.rstrip('/')}/tenants/{tenant_id}"


def sign_call_token(
    private_key: Ed25519PrivateKey,
    kid: str,
    *,
    issuer: str,
    audience: str,
    tenant_id: str,
    subject: str,
    scope: str,
    now: datetime,
) -> str:
    """A short-lived token for one request to one of the tenant's servers: `aud` is that
    server's URL (RFC 8707), `sub` the verified end user the call is for."""
    claims = {
        "iss": call_token_issuer(issuer, tenant_id),
        "aud": audience,
        "sub": subject,
        "tid": tenant_id,
        "client_id": "parlour",
        "scope": scope,
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        "exp": int((now + CALL_TOKEN_TTL).timestamp()),
        "jti": secrets.token_urlsafe(16),
    }
    return jwt.encode(
        claims, private_key, algorithm=ALGORITHM, headers={"kid": kid, "typ": CALL_TOKEN_TYPE}
    )


def sign_end_user_token(
    private_key: Ed25519PrivateKey,
    kid: str,
    *,
    issuer: str,
    tenant_id: str,
    widget_id: str,
    user_id: str,
    origin: str | None,
    traits: dict[str, str],
    now: datetime,
    ttl: timedelta,
    app_id: str | None = None,
    token_type: str = END_USER_TOKEN_TYPE,
) -> MintedToken:
    if (origin is None) == (app_id is None):
        raise ValueError("a token is bound to one web origin or one app, not both or neither")
    expires_at = now + ttl
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": widget_audience(widget_id),
        "sub": user_id,
        "tid": tenant_id,
        **({"origin": origin} if origin is not None else {"app": app_id}),
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        "exp": int(expires_at.timestamp()),
        "jti": secrets.token_urlsafe(16),
    }
    if traits:
        claims["traits"] = traits
    token = jwt.encode(
        claims, private_key, algorithm=ALGORITHM, headers={"kid": kid, "typ": token_type}
    )
    return MintedToken(token=token, expires_at=expires_at.replace(microsecond=0))


def unverified_header(token: object, token_type: str = END_USER_TOKEN_TYPE) -> tuple[str, str]:
    """(`kid`, `alg`) of a token whose header is acceptable; refuses anything else before a
    lookup. Each kind of token has its own `typ`, and is refused where another is expected."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
        raise InvalidToken()
    try:
        header = jwt.get_unverified_header(token)
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise InvalidToken() from exc
    if set(header) - _ALLOWED_HEADER:
        raise InvalidToken()
    alg = header.get("alg")
    if alg not in CLIENT_ALGORITHMS or header.get("typ") != token_type:
        raise InvalidToken()
    kid = header.get("kid")
    if not isinstance(kid, str) or not _KID.fullmatch(kid):
        raise InvalidToken()
    return kid, str(alg)


def verify_end_user_token(
    token: str,
    public_key: Ed25519PublicKey | EllipticCurvePublicKey,
    *,
    kid: str,
    algorithm: str = ALGORITHM,
    issuer: str,
    tenant_id: str,
    widget_id: str,
    leeway: timedelta,
    now: datetime,
    visitor: bool = False,
) -> EndUser:
    try:
        claims = jwt.decode(
            token,
            public_key,
            algorithms=[algorithm],
            audience=widget_audience(widget_id),
            issuer=issuer,
            # The time claims are compared in _check_times, against the caller's moment.
            options={
                "require": _REQUIRED_CLAIMS,
                "strict_aud": True,
                "verify_iat": False,
                "verify_nbf": False,
                "verify_exp": False,
            },
        )
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise InvalidToken() from exc
    issued_at, expires_at = _check_times(claims, now, leeway)
    # The key already belongs to this tenant; the claim must agree with it (RFC 8725 §3.8).
    if claims.get("tid") != tenant_id:
        raise InvalidToken()
    # Short-lived whoever signed it: an organisation's own backend cannot mint long tokens.
    longest = VISITOR_TTL if visitor else MAX_LIFETIME
    if expires_at - issued_at > longest.total_seconds():
        raise InvalidToken()
    user_id = _short_text(claims.get("sub"), MAX_USER_ID_CHARS)
    origin = _short_text(claims.get("origin"), 300)
    app_id = _short_text(claims.get("app"), 200)
    jti = _short_text(claims.get("jti"), 64)
    if user_id is None or jti is None or (origin is None) == (app_id is None):
        raise InvalidToken()
    # Only visitor tokens name visitors: no verified token can claim a visitor's conversation,
    # and no visitor token can claim a verified user's (T-04).
    if user_id.startswith(VISITOR_PREFIX) != visitor:
        raise InvalidToken()
    traits = claims.get("traits", {})
    if not isinstance(traits, dict) or not all(
        k in TRAIT_NAMES and _short_text(v, MAX_TRAIT_CHARS) is not None for k, v in traits.items()
    ):
        raise InvalidToken()
    return EndUser(
        tenant_id=tenant_id,
        user_id=user_id,
        origin=origin,
        token_id=jti,
        expires_at=datetime.fromtimestamp(expires_at, tz=UTC),
        traits=dict(traits),
        key_id=kid,
        issued_at=datetime.fromtimestamp(issued_at, tz=UTC),
        app_id=app_id,
        visitor=visitor,
    )


def _check_times(claims: dict[str, Any], now: datetime, leeway: timedelta) -> tuple[int, int]:
    """(`iat`, `exp`) of a token that is valid at `now`, give or take `leeway`: issued and
    usable no later than then, and not expired by then (T-06).

    PyJWT reads the wall clock and takes no other, so the three time claims are compared here,
    by PyJWT's own rules (api_jwt._validate_iat, _nbf and _exp), against the moment of the
    clock the verifying service was given: tests set the time, and one clock rules minting,
    verifying and the replay cache alike."""
    try:
        issued_at, not_before, expires_at = (int(claims[c]) for c in ("iat", "nbf", "exp"))
    except (ValueError, TypeError, OverflowError) as exc:
        raise InvalidToken() from exc
    moment, slack = now.timestamp(), leeway.total_seconds()
    if issued_at > moment + slack or not_before > moment + slack:
        raise InvalidToken()  # not valid yet
    if expires_at <= moment - slack:
        raise InvalidToken()  # expired
    return issued_at, expires_at


def _short_text(value: object, limit: int) -> str | None:
    """The claim, if it is text of 1 to `limit` characters that names something cleanly: an
    organisation's own backend signs these, and must not slip a NUL, a line break or a
    bidirectional override into a user id or a name (T-90)."""
    if not isinstance(value, str) or not 0 < len(value) <= limit:
        return None
    return value if first_refused(value) is None else None
