"""POST /v1/end-user-tokens: the organisation's backend vouches for its customer."""

from __future__ import annotations

import base64
import uuid

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from parlour.keys.models import Scope
from parlour.keys.tokens import END_USER_TOKEN_TYPE
from tests.conftest import Stack
from tests.support import seed

MINT = "/v1/end-user-tokens"


async def mint(stack: Stack, api_key: str | None, body: dict[str, object]) -> httpx.Response:
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    async with httpx.AsyncClient(base_url=stack.url, timeout=5) as client:
        return await client.post(MINT, json=body, headers=headers)


async def test_a_valid_api_key_mints_a_short_lived_typed_token(stack: Stack) -> None:
    """T-02: the token names issuer, audience, subject, tenant, origin, times, id, kid and typ."""
    org = await seed.organisation(stack.services)
    answer = await mint(stack, org.api_key, {"user_id": "customer-9", "origin": org.origin})
    assert answer.status_code == 201
    body = answer.json()
    header = jwt.get_unverified_header(body["token"])
    claims = jwt.decode(body["token"], options={"verify_signature": False})
    assert header["alg"] == "EdDSA"
    assert header["typ"] == END_USER_TOKEN_TYPE
    assert header["kid"]
    assert claims["iss"] == stack.url
    assert claims["aud"] == f"parlour:widget:{org.widget_id}"
    assert claims["sub"] == "customer-9"
    assert claims["tid"] == org.tenant_id
    assert claims["origin"] == org.origin
    assert claims["jti"]
    assert 0 < claims["exp"] - claims["iat"] <= 15 * 60
    assert body["widget_id"] == org.widget_id


async def test_the_token_verifies_with_the_published_jwks(stack: Stack) -> None:
    org = await seed.organisation(stack.services)
    token = (await mint(stack, org.api_key, {"user_id": "u", "origin": org.origin})).json()["token"]
    async with httpx.AsyncClient(base_url=stack.url) as client:
        jwks = (await client.get("/.well-known/jwks.json")).json()
    kid = jwt.get_unverified_header(token)["kid"]
    jwk = next(k for k in jwks["keys"] if k["kid"] == kid)
    assert set(jwk) == {"kty", "crv", "x", "kid", "alg", "use"}  # public parts only
    public = Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(jwk["x"] + "=="))
    claims = jwt.decode(
        token, public, algorithms=["EdDSA"], audience=f"parlour:widget:{org.widget_id}"
    )
    assert claims["sub"] == "u"


@pytest.mark.parametrize(
    "credential",
    [None, "", "parlour_sk_0000000000000000_" + "A" * 43, "not-a-key", "Basic dXNlcjpwYXNz"],
)
async def test_missing_or_invalid_api_key_is_401_and_echoes_nothing(
    stack: Stack, credential: str | None
) -> None:
    """T-01: no valid key, no token; the answer never repeats what was sent."""
    org = await seed.organisation(stack.services)
    answer = await mint(stack, credential, {"user_id": "u", "origin": org.origin})
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "unauthenticated"
    if credential:
        assert credential not in answer.text


async def test_a_wrong_secret_for_a_real_key_id_is_401(stack: Stack) -> None:
    """T-01: the key id alone proves nothing."""
    org = await seed.organisation(stack.services)
    tampered = org.api_key[:-4] + ("AAAA" if not org.api_key.endswith("AAAA") else "BBBB")
    answer = await mint(stack, tampered, {"user_id": "u", "origin": org.origin})
    assert answer.status_code == 401
    assert org.api_key not in answer.text


async def test_a_revoked_key_is_refused_at_once(stack: Stack) -> None:
    """T-47: revocation takes effect on the next request."""
    org = await seed.organisation(stack.services)
    key_id = (await stack.services.api_keys.of_tenant(org.tenant_id))[0].key_id
    await stack.services.api_keys.revoke(org.tenant_id, key_id, actor=seed.ACTOR)
    answer = await mint(stack, org.api_key, {"user_id": "u", "origin": org.origin})
    assert answer.status_code == 401


async def test_a_key_without_the_mint_scope_is_forbidden(stack: Stack) -> None:
    org = await seed.organisation(stack.services, scopes=(Scope.WRITE_KNOWLEDGE,))
    answer = await mint(stack, org.api_key, {"user_id": "u", "origin": org.origin})
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "forbidden"


async def test_tokens_are_only_minted_for_allowlisted_origins(stack: Stack) -> None:
    org = await seed.organisation(stack.services)
    answer = await mint(stack, org.api_key, {"user_id": "u", "origin": "https://evil.com"})
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "origin_not_allowed"


async def test_a_tenant_named_in_the_body_is_refused_not_obeyed(stack: Stack) -> None:
    """T-30, T-59: the tenant comes from the API key only; extra fields are rejected."""
    a = await seed.organisation(stack.services, name="A")
    b = await seed.organisation(stack.services, name="B")
    answer = await mint(
        stack, a.api_key, {"user_id": "u", "origin": a.origin, "tenant_id": b.tenant_id}
    )
    assert answer.status_code == 422
    assert answer.json()["error"]["details"]["fields"][0]["field"] == "tenant_id"


async def test_a_tenant_named_in_headers_or_query_is_ignored(stack: Stack) -> None:
    """T-30: X-Tenant-Id and ?tenant= have no effect on whose token is minted."""
    a = await seed.organisation(stack.services, name="A")
    b = await seed.organisation(stack.services, name="B")
    async with httpx.AsyncClient(base_url=stack.url) as client:
        answer = await client.post(
            f"{MINT}?tenant={b.tenant_id}",
            json={"user_id": "u", "origin": a.origin},
            headers={"Authorization": f"Bearer {a.api_key}", "X-Tenant-Id": b.tenant_id},
        )
    claims = jwt.decode(answer.json()["token"], options={"verify_signature": False})
    assert claims["tid"] == a.tenant_id


async def test_invalid_bodies_answer_422_with_the_fields_at_fault(stack: Stack) -> None:
    org = await seed.organisation(stack.services)
    answer = await mint(stack, org.api_key, {"user_id": "", "origin": org.origin})
    assert answer.status_code == 422
    assert answer.json()["error"]["details"]["fields"][0]["field"] == "user_id"


async def test_an_organisations_own_jwks_holds_its_keys_and_no_one_elses(stack: Stack) -> None:
    """T-29 across TB-03, T-76: an MCP server that trusts its organisation's JWKS cannot be
    given a token another organisation's key signed, even if it forgot to check `iss`."""
    ours = await seed.organisation(stack.services)
    theirs = await seed.organisation(stack.services)
    tokens = [
        await stack.services.call_tokens.mint(
            org.tenant_id, audience="https://mcp.ours.example/mcp", subject="c", scope="tools:call"
        )
        for org in (ours, theirs)
    ]  # each organisation's first token makes its first key
    their_token = tokens[1]
    async with httpx.AsyncClient(base_url=stack.url) as client:
        everyone = (await client.get("/.well-known/jwks.json")).json()
        own = await client.get(f"/tenants/{ours.tenant_id}/.well-known/jwks.json")
        unknown = await client.get(f"/tenants/{uuid.uuid4()}/.well-known/jwks.json")

    our_kids = {k.kid for k in await stack.services.signing_keys.of_tenant(ours.tenant_id)}
    assert our_kids
    assert {k["kid"] for k in own.json()["keys"]} == our_kids
    assert our_kids < {k["kid"] for k in everyone["keys"]}
    assert own.headers["cache-control"] == "public, max-age=300"
    assert (unknown.status_code, unknown.json()) == (200, {"keys": []})
    keys = jwt.PyJWKSet.from_dict(own.json())
    assert jwt.get_unverified_header(their_token)["kid"] not in {k.key_id for k in keys.keys}
