"""Every class of hostile token from the JWT tests, presented to a real server's socket: each
one closes with 4401 and opens nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from parlour.keys.tokens import END_USER_TOKEN_TYPE
from parlour.storage.types import utcnow
from tests.conftest import Stack
from tests.support import seed
from tests.support.chat import authenticate, close_code, open_socket


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def encode(header: dict[str, Any], claims: dict[str, Any], key: Ed25519PrivateKey | None) -> str:
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = key.sign(signing_input.encode()) if key else b""
    return f"{signing_input}.{b64(signature)}"


Forger = Callable[[dict[str, Any], dict[str, Any], Ed25519PrivateKey], str]


def hs256_with_public_key(
    header: dict[str, Any], claims: dict[str, Any], key: Ed25519PrivateKey
) -> str:
    public = key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    signing_input = (
        f"{b64(json.dumps({**header, 'alg': 'HS256'}).encode())}.{b64(json.dumps(claims).encode())}"
    )
    return (
        f"{signing_input}.{b64(hmac.new(public, signing_input.encode(), hashlib.sha256).digest())}"
    )


FORGERIES: dict[str, Forger] = {
    "T-10 HS256 with the public key": hs256_with_public_key,
    "T-11 embedded jwk": lambda h, c, k: encode({**h, "jwk": {"kty": "OKP"}}, c, k),
    "T-11 jku to 127.0.0.2": lambda h, c, k: encode({**h, "jku": "http://127.0.0.2/k"}, c, k),
    "T-12 kid path traversal": lambda h, c, k: encode({**h, "kid": "../../dev/null"}, c, k),
    "T-12 kid SQL": lambda h, c, k: encode({**h, "kid": "' OR '1'='1"}, c, k),
    "T-13 wrong audience": lambda h, c, k: encode(h, {**c, "aud": "parlour:widget:other"}, k),
    "T-13 wrong issuer": lambda h, c, k: encode(h, {**c, "iss": "https://evil.example"}, k),
    "T-13 no exp": lambda h, c, k: encode(h, {x: v for x, v in c.items() if x != "exp"}, k),
    "T-13 generic typ": lambda h, c, k: encode({**h, "typ": "JWT"}, c, k),
    "T-13 unknown crit": lambda h, c, k: encode({**h, "crit": ["exp"]}, c, k),
    "T-17 oversized": lambda h, c, k: encode(h, {**c, "pad": "x" * 9000}, k),
}


@pytest.mark.parametrize("forgery", list(FORGERIES))
async def test_each_hostile_token_class_closes_the_real_socket_with_4401(
    stack: Stack, forgery: str
) -> None:
    """T-10, T-11, T-12, T-13, T-17 against real uvicorn on 127.0.0.1."""
    org = await seed.organisation(stack.services)
    key = await stack.services.signing_keys.ensure(org.tenant_id)
    private = await stack.services.signing_keys.private_key(key)
    now = utcnow()
    header = {"alg": "EdDSA", "typ": END_USER_TOKEN_TYPE, "kid": key.kid}
    claims = {
        "iss": stack.url,
        "aud": f"parlour:widget:{org.widget_id}",
        "sub": "customer-1",
        "tid": org.tenant_id,
        "origin": org.origin,
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=5)).timestamp()),
        "jti": "hostile",
    }
    # The control: the same token, untouched, opens a socket; only the forgery is refused.
    async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
        await authenticate(ws, encode(header, {**claims, "jti": "control"}, private))
    async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
        await ws.send(
            json.dumps({"type": "auth", "token": FORGERIES[forgery](header, claims, private)})
        )
        assert await close_code(ws) == 4401
