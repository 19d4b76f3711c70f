"""Mobile apps (no Origin, allowlisted by app id) and anonymous visitors (per organisation)."""

from __future__ import annotations

import json

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.conftest import Stack
from tests.support import seed
from tests.support.chat import authenticate, close_code, open_socket, receive, say

APP = "com.example.bank"


async def app_token(stack: Stack, org: seed.Organisation, user_id: str = "customer-1") -> str:
    minted = await stack.services.end_user_tokens.mint(
        org.tenant_id, widget_id=org.widget_id, user_id=user_id, app_id=APP
    )
    return minted.token


def app_socket(stack: Stack, org: seed.Organisation, app: str | None = None) -> object:
    headers = {"X-Parlour-App": app} if app else None
    return connect(f"{stack.ws_url}/v1/chat/{org.widget_id}", additional_headers=headers)


async def with_app(stack: Stack) -> seed.Organisation:
    org = await seed.organisation(stack.services)
    await stack.services.tenants.allow_app(org.tenant_id, APP, actor=seed.ACTOR)
    return org


async def test_an_allowlisted_app_connects_without_an_origin(stack: Stack) -> None:
    org = await with_app(stack)
    async with app_socket(stack, org) as ws:  # type: ignore[attr-defined]
        await authenticate(ws, await app_token(stack, org))
        await say(ws, "What are your opening hours?")
        assert (await receive(ws))["type"] == "accepted"


async def test_a_web_token_without_its_origin_is_refused(stack: Stack) -> None:
    """T-18: a token bound to a web origin is useless outside that origin's pages."""
    org = await with_app(stack)
    async with app_socket(stack, org) as ws:  # type: ignore[attr-defined]
        await ws.send(
            json.dumps({"type": "auth", "token": await seed.token_for(stack.services, org)})
        )
        assert await close_code(ws) == 4403


async def test_an_app_token_on_a_web_page_is_refused(stack: Stack) -> None:
    org = await with_app(stack)
    async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
        await ws.send(json.dumps({"type": "auth", "token": await app_token(stack, org)}))
        assert await close_code(ws) == 4403


def react_native_socket(stack: Stack, org: seed.Organisation) -> object:
    """As React Native's WebSocket opens it: with the server's own origin as its Origin."""
    return connect(f"{stack.ws_url}/v1/chat/{org.widget_id}", origin=stack.url)  # type: ignore[arg-type]


async def test_an_app_whose_socket_sends_parlours_own_origin_as_react_native_does_connects(
    stack: Stack,
) -> None:
    """T-18: Parlour's own origin on the customers' socket is taken as no Origin (an app's)."""
    org = await with_app(stack)
    async with react_native_socket(stack, org) as ws:  # type: ignore[attr-defined]
        await authenticate(ws, await app_token(stack, org))
        await say(ws, "What are your opening hours?")
        assert (await receive(ws))["type"] == "accepted"


async def test_a_web_token_on_parlours_own_origin_is_refused(stack: Stack) -> None:
    """T-18: a socket with Parlour's own origin is an app's: a web page's token is refused."""
    org = await with_app(stack)
    async with react_native_socket(stack, org) as ws:  # type: ignore[attr-defined]
        await ws.send(
            json.dumps({"type": "auth", "token": await seed.token_for(stack.services, org)})
        )
        assert await close_code(ws) == 4403


async def test_parlours_own_origin_is_refused_before_upgrade_where_no_app_is_allowed(
    stack: Stack,
) -> None:
    """T-18: as without an Origin, an organisation with no apps refuses it with HTTP 403."""
    org = await seed.organisation(stack.services)
    with pytest.raises(InvalidStatus) as refused:
        async with react_native_socket(stack, org):  # type: ignore[attr-defined]
            pass
    assert refused.value.response.status_code == 403


async def test_a_missing_origin_is_refused_before_upgrade_where_no_app_is_allowed(
    stack: Stack,
) -> None:
    """T-18: without apps on the allowlist, a handshake without Origin gets HTTP 403."""
    org = await seed.organisation(stack.services)
    with pytest.raises(InvalidStatus) as refused:
        async with app_socket(stack, org):  # type: ignore[attr-defined]
            pass
    assert refused.value.response.status_code == 403


async def test_tokens_are_minted_only_for_allowlisted_apps(stack: Stack) -> None:
    org = await with_app(stack)
    async with httpx.AsyncClient(base_url=stack.url) as client:
        auth = {"Authorization": f"Bearer {org.api_key}"}
        unknown = await client.post(
            "/v1/end-user-tokens", json={"user_id": "u", "app_id": "com.evil.app"}, headers=auth
        )
        both = await client.post(
            "/v1/end-user-tokens",
            json={"user_id": "u", "app_id": APP, "origin": org.origin},
            headers=auth,
        )
        fine = await client.post(
            "/v1/end-user-tokens", json={"user_id": "u", "app_id": APP}, headers=auth
        )
    assert unknown.status_code == 403
    assert unknown.json()["error"]["code"] == "app_not_allowed"
    assert both.status_code == 422
    assert fine.status_code == 201


async def visitor_auth(ws: object, **fields: object) -> dict[str, object]:
    await ws.send(json.dumps({"type": "auth", **fields}))  # type: ignore[attr-defined]
    return await receive(ws)  # type: ignore[arg-type]


async def test_anonymous_visitors_are_refused_unless_the_organisation_allows_them(
    stack: Stack,
) -> None:
    """T-04: with the policy off (the default), there is no way in without a token."""
    org = await seed.organisation(stack.services)
    async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
        await ws.send(json.dumps({"type": "auth", "visitor": True}))
        assert await close_code(ws) == 4403


async def test_each_anonymous_visitor_gets_a_fresh_isolated_conversation(stack: Stack) -> None:
    """T-04: visitors never share a conversation, and never see a verified user's."""
    org = await seed.organisation(stack.services)
    await stack.services.tenants.set_anonymous_visitors(org.tenant_id, True, actor=seed.ACTOR)
    async with open_socket(stack.ws_url, org.widget_id, org.origin) as verified:
        await authenticate(verified, await seed.token_for(stack.services, org))
        await say(verified, "My order number is 4471")
        await receive(verified)
    conversations = set()
    for _ in range(2):
        async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
            ready = await visitor_auth(ws, visitor=True)
            assert ready["type"] == "ready"
            assert ready["last_seq"] == 0
            assert ready["visitor_token"]
            conversations.add(ready["conversation_id"])
    assert len(conversations) == 2


async def test_a_visitor_resumes_with_the_token_from_ready_and_each_token_works_once(
    stack: Stack,
) -> None:
    org = await seed.organisation(stack.services)
    await stack.services.tenants.set_anonymous_visitors(org.tenant_id, True, actor=seed.ACTOR)
    async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
        first = await visitor_auth(ws, visitor=True)
        await say(ws, "Do you sell car insurance?")
        await receive(ws)
    async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
        again = await visitor_auth(ws, visitor_token=first["visitor_token"])
        replayed = await receive(ws)
    assert again["conversation_id"] == first["conversation_id"]
    assert replayed["text"] == "Do you sell car insurance?"
    assert again["visitor_token"] != first["visitor_token"]
    async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
        await ws.send(json.dumps({"type": "auth", "visitor_token": first["visitor_token"]}))
        assert await close_code(ws) == 4401


async def test_visitor_and_end_user_tokens_are_never_taken_for_each_other(stack: Stack) -> None:
    """T-14, T-04: each kind of token is refused where the other is expected, and no verified
    user id may name a visitor."""
    org = await seed.organisation(stack.services)
    await stack.services.tenants.set_anonymous_visitors(org.tenant_id, True, actor=seed.ACTOR)
    async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
        visitor_token = (await visitor_auth(ws, visitor=True))["visitor_token"]
    async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
        await ws.send(json.dumps({"type": "auth", "token": visitor_token}))
        assert await close_code(ws) == 4401
    async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
        end_user = await seed.token_for(stack.services, org)
        await ws.send(json.dumps({"type": "auth", "visitor_token": end_user}))
        assert await close_code(ws) == 4401
    async with httpx.AsyncClient(base_url=stack.url) as client:
        claimed = await client.post(
            "/v1/end-user-tokens",
            json={"user_id": "visitor:abc", "origin": org.origin},
            headers={"Authorization": f"Bearer {org.api_key}"},
        )
    assert claimed.status_code == 422


async def test_a_visitor_in_an_app_must_name_an_allowlisted_app(stack: Stack) -> None:
    org = await with_app(stack)
    await stack.services.tenants.set_anonymous_visitors(org.tenant_id, True, actor=seed.ACTOR)
    async with app_socket(stack, org, app=APP) as ws:  # type: ignore[attr-defined]
        assert (await visitor_auth(ws, visitor=True))["type"] == "ready"
    async with app_socket(stack, org, app="com.evil.app") as ws:  # type: ignore[attr-defined]
        await ws.send(json.dumps({"type": "auth", "visitor": True}))
        assert await close_code(ws) == 4403
