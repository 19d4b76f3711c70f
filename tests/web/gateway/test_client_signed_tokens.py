"""Tokens signed by an organisation's own backend with a key it registered: no round trip to
Parlour, the same checks as Parlour's own tokens, one verification path."""

from __future__ import annotations

import json
import secrets
from datetime import timedelta
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from parlour.keys.models import Scope
from parlour.keys.tokens import END_USER_TOKEN_TYPE
from parlour.storage.types import utcnow
from tests.conftest import Stack, running_stack
from tests.support import canaries, seed
from tests.support.chat import authenticate, close_code, open_socket
from tests.support.clock import ManualClock

PrivateKey = Ed25519PrivateKey | ec.EllipticCurvePrivateKey
ALL_SCOPES = tuple(Scope)


def pem(private: PrivateKey | rsa.RSAPrivateKey) -> str:
    return (
        private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()
    )


async def register(stack: Stack, org: seed.Organisation, private: PrivateKey) -> dict[str, str]:
    async with httpx.AsyncClient(base_url=stack.url) as client:
        answer = await client.post(
            "/v1/client-keys",
            json={"public_key_pem": pem(private)},
            headers={"Authorization": f"Bearer {org.api_key}"},
        )
    assert answer.status_code == 201, answer.text
    body: dict[str, str] = answer.json()
    return body


def client_token(
    org: seed.Organisation, registered: dict[str, str], private: PrivateKey, **changes: object
) -> str:
    algorithm = str(changes.pop("alg", registered["algorithm"]))
    now = utcnow()
    claims = {
        "iss": registered["issuer"],
        "aud": registered["audience"],
        "sub": "customer-1",
        "tid": org.tenant_id,
        "origin": org.origin,
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=5)).timestamp()),
        "jti": secrets.token_urlsafe(12),
        **changes,
    }
    token = jwt.encode(
        claims,
        private,
        algorithm=algorithm,
        headers={"kid": registered["kid"], "typ": END_USER_TOKEN_TYPE},
    )
    return canaries.register(token)


@pytest.mark.parametrize(
    "make_key",
    [Ed25519PrivateKey.generate, lambda: ec.generate_private_key(ec.SECP256R1())],
    ids=["EdDSA", "ES256"],
)
async def test_a_token_signed_by_the_organisations_own_registered_key_opens_a_socket(
    stack: Stack, make_key: object
) -> None:
    org = await seed.organisation(stack.services, scopes=ALL_SCOPES)
    private = make_key()  # type: ignore[operator]
    registered = await register(stack, org, private)
    async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
        await authenticate(ws, client_token(org, registered, private))


async def test_client_tokens_face_every_check_parlours_own_tokens_face(stack: Stack) -> None:
    """T-05, T-10, T-13: unregistered key, another tenant's key, a different algorithm, the wrong
    issuer and a lifetime over 15 minutes are all refused."""
    a = await seed.organisation(stack.services, name="A", scopes=ALL_SCOPES)
    b = await seed.organisation(stack.services, name="B", scopes=ALL_SCOPES)
    private = Ed25519PrivateKey.generate()
    registered_a = await register(stack, a, private)
    now = utcnow()
    refused = {
        "unregistered key": client_token(a, registered_a, Ed25519PrivateKey.generate()),
        "A's key for B": client_token(
            b,
            {
                **registered_a,
                "audience": f"parlour:widget:{b.widget_id}",
                "issuer": f"client:{b.widget_id}",
            },
            private,
        ),
        "Parlour's issuer": client_token(a, {**registered_a, "issuer": stack.url}, private),
        "an hour long": client_token(
            a, registered_a, private, exp=int((now + timedelta(hours=1)).timestamp())
        ),
        "ES256 on an EdDSA key": client_token(
            a, registered_a, ec.generate_private_key(ec.SECP256R1()), alg="ES256"
        ),
    }
    for what, token in refused.items():
        target = b if what == "A's key for B" else a
        async with open_socket(stack.ws_url, target.widget_id, target.origin) as ws:
            await ws.send(json.dumps({"type": "auth", "token": token}))
            assert await close_code(ws) == 4401, what


async def test_revoking_a_client_key_refuses_its_tokens_and_closes_their_sockets(
    tmp_path: Path, sqlite_url: str
) -> None:
    """T-22: revocation per key reaches open sockets."""
    clock = ManualClock()
    async with running_stack(tmp_path, sqlite_url, clock=clock) as stack:
        org = await seed.organisation(stack.services, scopes=ALL_SCOPES)
        private = Ed25519PrivateKey.generate()
        registered = await register(stack, org, private)
        unused = client_token(org, registered, private)
        async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
            await authenticate(ws, client_token(org, registered, private))
            async with httpx.AsyncClient(base_url=stack.url) as client:
                gone = await client.delete(
                    f"/v1/client-keys/{registered['kid']}",
                    headers={"Authorization": f"Bearer {org.api_key}"},
                )
            assert gone.status_code == 204
            clock.advance(timedelta(seconds=stack.services.settings.tokens.revalidate_seconds))
            assert await close_code(ws) == 4401
        async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
            await ws.send(json.dumps({"type": "auth", "token": unused}))
            assert await close_code(ws) == 4401


async def test_only_ed25519_and_p256_public_keys_can_be_registered_and_only_with_the_scope(
    stack: Stack,
) -> None:
    org = await seed.organisation(stack.services, scopes=ALL_SCOPES)
    plain = await seed.organisation(stack.services, name="Plain")
    async with httpx.AsyncClient(base_url=stack.url) as client:
        rsa_key = await client.post(
            "/v1/client-keys",
            json={
                "public_key_pem": pem(
                    rsa.generate_private_key(public_exponent=65537, key_size=2048)
                )
            },
            headers={"Authorization": f"Bearer {org.api_key}"},
        )
        junk = await client.post(
            "/v1/client-keys",
            json={"public_key_pem": "-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----"},
            headers={"Authorization": f"Bearer {org.api_key}"},
        )
        without_scope = await client.post(
            "/v1/client-keys",
            json={"public_key_pem": pem(Ed25519PrivateKey.generate())},
            headers={"Authorization": f"Bearer {plain.api_key}"},
        )
    assert rsa_key.status_code == 422
    assert junk.status_code == 422
    assert without_scope.status_code == 403
