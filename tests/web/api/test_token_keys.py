"""Token keys from an organisation's settings: Parlour's signing keys show only public facts and
rotate with or without overlap; keys the organisation registers sign tokens until revoked."""

from __future__ import annotations

import secrets
from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from parlour.errors import InvalidToken
from parlour.keys.tokens import END_USER_TOKEN_TYPE
from parlour.storage.types import utcnow
from tests.conftest import Stack
from tests.support import canaries
from tests.web.api.conftest import Owner
from tests.web.test_errors import assert_error_shape


async def test_signing_keys_rotate_with_an_overlap_or_at_once_and_show_no_private_half(
    owner: Owner, stack: Stack
) -> None:
    first = await stack.services.signing_keys.ensure(owner.org)

    rotated = await owner.browser.send("POST", owner.path("signing-keys/rotate"), {})
    assert rotated.json()["state"] == "current"
    states = {
        k["kid"]: k["state"]
        for k in (await owner.browser.send("GET", owner.path("signing-keys"))).json()
    }
    assert states == {first.kid: "retiring", rotated.json()["kid"]: "current"}

    at_once = await owner.browser.send(
        "POST", owner.path("signing-keys/rotate"), {"retire_previous": "now"}
    )
    listed = await owner.browser.send("GET", owner.path("signing-keys"))
    states = {k["kid"]: k["state"] for k in listed.json()}
    assert states[at_once.json()["kid"]] == "current"
    assert states[first.kid] == states[rotated.json()["kid"]] == "retired"
    assert all(
        set(k) == {"kid", "algorithm", "created_at", "retired_at", "state"} for k in listed.json()
    )
    actions = [
        e["action"]
        for e in await stack.services.audit.recent(owner.org, action_prefix="signing_key")
    ]
    assert actions.count("signing_key.retired") == 3


async def test_a_registered_key_signs_tokens_until_it_is_revoked(
    owner: Owner, stack: Stack
) -> None:
    private = Ed25519PrivateKey.generate()
    pem = private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    registered = await owner.browser.send(
        "POST", owner.path("client-keys"), {"public_key_pem": pem.decode()}
    )
    assert registered.status_code == 201
    key = registered.json()
    tenant = await stack.services.tenants.get(owner.org)

    def token() -> str:
        now = int(utcnow().timestamp())
        claims = {
            "iss": key["issuer"],
            "aud": key["audience"],
            "sub": "customer-1",
            "tid": owner.org,
            "origin": "http://localhost:3000",
            "iat": now,
            "nbf": now,
            "exp": now + int(timedelta(minutes=5).total_seconds()),
            "jti": secrets.token_urlsafe(12),
        }
        headers = {"kid": key["kid"], "typ": END_USER_TOKEN_TYPE}
        return canaries.register(jwt.encode(claims, private, algorithm="EdDSA", headers=headers))

    user = await stack.services.end_user_tokens.verify(owner.org, tenant.widget_id, token())
    assert user.user_id == "customer-1"

    revoked = await owner.browser.send("DELETE", owner.path(f"client-keys/{key['kid']}"))
    assert revoked.status_code == 204
    with pytest.raises(InvalidToken):
        await stack.services.end_user_tokens.verify(owner.org, tenant.widget_id, token())
    (listed,) = (await owner.browser.send("GET", owner.path("client-keys"))).json()
    assert listed["revoked_at"] is not None


async def test_a_pasted_private_key_or_garbage_is_refused_and_never_logged(owner: Owner) -> None:
    private_pem = canaries.register(
        Ed25519PrivateKey.generate()
        .private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        .decode()
    )
    for bad in ("not a key", private_pem):
        answer = await owner.browser.send(
            "POST", owner.path("client-keys"), {"public_key_pem": bad}
        )
        assert_error_shape(answer, 422, "invalid_input")
        assert "PRIVATE" not in answer.text
