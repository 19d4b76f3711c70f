"""Identity that ends: single-use tokens, revoked end users, rotated and revoked signing keys,
all of which reach sockets that are already open."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from pathlib import Path

import httpx
import jwt

from tests.conftest import Stack, running_stack
from tests.support import seed
from tests.support.chat import authenticate, close_code, open_socket, receive_until, say
from tests.support.clock import ManualClock


def next_round(stack: Stack, clock: ManualClock) -> None:
    """Move the server's clock to its next re-check of every open socket's identity."""
    clock.advance(timedelta(seconds=stack.services.settings.tokens.revalidate_seconds))


async def refused(stack: Stack, org: seed.Organisation, token: str) -> int | None:
    async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
        await ws.send(json.dumps({"type": "auth", "token": token}))
        return await close_code(ws)


async def test_a_token_opens_one_session_only(stack: Stack) -> None:
    """T-15: the token id is remembered; the same token cannot open a second socket or be
    replayed as a reauth, and a re-encoded copy (other JSON spacing) fails its signature."""
    org = await seed.organisation(stack.services)
    token = await seed.token_for(stack.services, org)
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    respaced = base64.urlsafe_b64encode(json.dumps(claims, indent=1).encode()).rstrip(b"=")
    async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
        await authenticate(ws, token)
        assert await refused(stack, org, token) == 4401
        assert await refused(stack, org, f"{header}.{respaced.decode()}.{signature}") == 4401
        await ws.send(json.dumps({"type": "reauth", "token": token}))
        assert await close_code(ws) == 4401


async def revoke(stack: Stack, org: seed.Organisation, user_id: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=stack.url) as client:
        return await client.post(
            f"/v1/end-users/{user_id}/revoke", headers={"Authorization": f"Bearer {org.api_key}"}
        )


async def test_revoking_an_end_user_closes_their_open_socket_and_refuses_old_tokens(
    tmp_path: Path, sqlite_url: str
) -> None:
    """T-22: logout everywhere takes effect on open sockets within the re-validation interval;
    tokens issued before it are refused; tokens issued after it work."""
    clock = ManualClock()
    async with running_stack(tmp_path, sqlite_url, clock=clock) as stack:
        org = await seed.organisation(stack.services)
        unused = await seed.token_for(stack.services, org)
        async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
            await authenticate(ws, await seed.token_for(stack.services, org))
            assert (await revoke(stack, org, "customer-1")).status_code == 204
            next_round(stack, clock)
            assert await close_code(ws) == 4401
        assert await refused(stack, org, unused) == 4401
        later = await seed.signed_token(
            stack.services, org, issuer=stack.url, now=clock.now() + timedelta(seconds=2)
        )
        async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
            await authenticate(ws, later)


async def test_taking_an_origin_off_the_allowlist_closes_the_sockets_opened_from_it(
    tmp_path: Path, sqlite_url: str
) -> None:
    """T-18, on sockets already open: a removed origin's sockets close with 4403 within the
    re-validation interval; a socket from an origin still allowed stays open."""
    clock = ManualClock()
    async with running_stack(tmp_path, sqlite_url, clock=clock) as stack:
        org = await seed.organisation(stack.services)
        kept = "https://help.example.net"
        await stack.services.tenants.allow_origin(org.tenant_id, kept, actor=seed.ACTOR)
        minted = await stack.services.end_user_tokens.mint(
            org.tenant_id, widget_id=org.widget_id, user_id="customer-2", origin=kept
        )
        async with (
            open_socket(stack.ws_url, org.widget_id, org.origin) as removed_ws,
            open_socket(stack.ws_url, org.widget_id, kept) as kept_ws,
        ):
            await authenticate(removed_ws, await seed.token_for(stack.services, org))
            await authenticate(kept_ws, minted.token)
            await stack.services.tenants.remove_origin(org.tenant_id, org.origin, actor=seed.ACTOR)
            next_round(stack, clock)
            assert await close_code(removed_ws) == 4403
            # Still served after the round that closed the other: it answers a message.
            client_id = await say(kept_ws, "Are you still there?")
            frames = await receive_until(kept_ws, lambda f: f["type"] == "accepted")
            assert frames[-1]["client_id"] == client_id


async def test_revocation_is_scoped_to_the_revoking_keys_tenant(
    tmp_path: Path, sqlite_url: str
) -> None:
    """T-29, T-30: organisation B revoking "customer-1" does nothing to A's customer-1."""
    clock = ManualClock()
    async with running_stack(tmp_path, sqlite_url, clock=clock) as stack:
        a = await seed.organisation(stack.services, name="A", origin="https://a.example.com")
        b = await seed.organisation(stack.services, name="B", origin="https://b.example.com")
        async with open_socket(stack.ws_url, a.widget_id, a.origin) as ws:
            await authenticate(ws, await seed.token_for(stack.services, a))
            assert (await revoke(stack, b, "customer-1")).status_code == 204
            next_round(stack, clock)
            assert await stack.services.end_user_tokens.still_valid(
                await stack.services.end_user_tokens.verify(
                    a.tenant_id, a.widget_id, await seed.token_for(stack.services, a)
                )
            )
            await ws.ping()


async def test_a_rotated_signing_key_keeps_working_for_the_overlap_then_revoke_now_ends_it(
    tmp_path: Path, sqlite_url: str
) -> None:
    """T-08: after rotation, tokens of the old `kid` are accepted during the overlap and both
    keys are published; revoking now refuses them and closes the sockets they opened."""
    clock = ManualClock()
    async with running_stack(tmp_path, sqlite_url, clock=clock) as stack:
        org = await seed.organisation(stack.services)
        old_token = await seed.token_for(stack.services, org)
        old_kid = jwt.get_unverified_header(old_token)["kid"]
        new_key = await stack.services.signing_keys.rotate(
            org.tenant_id, overlap=timedelta(minutes=15), actor=seed.ACTOR
        )
        new_token = await seed.token_for(stack.services, org, "customer-2")
        assert jwt.get_unverified_header(new_token)["kid"] == new_key.kid != old_kid
        published = {k["kid"] for k in (await stack.services.signing_keys.jwks())["keys"]}
        assert {old_kid, new_key.kid} <= published

        async with open_socket(stack.ws_url, org.widget_id, org.origin) as old_socket:
            await authenticate(old_socket, old_token)  # the overlap honours the old key
            await stack.services.signing_keys.rotate(
                org.tenant_id, overlap=timedelta(0), actor=seed.ACTOR
            )
            next_round(stack, clock)
            assert await close_code(old_socket) == 4401
        published = {k["kid"] for k in (await stack.services.signing_keys.jwks())["keys"]}
        assert old_kid not in published
        assert new_key.kid not in published  # revoke-now retires every key, a new one serves
        async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
            await authenticate(ws, await seed.token_for(stack.services, org, "customer-3"))


async def test_revoking_needs_the_revoke_scope(stack: Stack) -> None:
    from parlour.keys.models import Scope

    org = await seed.organisation(stack.services, scopes=(Scope.MINT_END_USER_TOKENS,))
    answer = await revoke(stack, org, "customer-1")
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "forbidden"
