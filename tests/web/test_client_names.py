"""Every name and id a client sets is refused when it holds a control, bidirectional or invisible
character (T-90), with the one error shape and code, on both backends: PostgreSQL cannot store
NUL at all, so what reaches it must already be clean (or looked up as the nothing it is)."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.routing import Route

from parlour.app import ROUTERS
from parlour.assistant.prompts import REQUIRED
from parlour.errors import InvalidIdentifier, InvalidInput
from parlour.identity.models import Role
from parlour.keys.models import Scope
from parlour.services import Services
from tests.conftest import Stack, running_stack
from tests.support import canaries, seed
from tests.support.accounts import COOKIE, PASSWORD, Browser, signed_up_and_enrolled
from tests.support.chat import authenticate, close_code, open_socket
from tests.web.gateway.test_client_signed_tokens import client_token, register

NUL, BEL, ESC, NEWLINE, RLO = "\x00", "\x07", "\x1b", "\n", "\u202e"
HOSTILE = {
    "NUL": f"a{NUL}b",
    "BEL": f"a{BEL}b",
    "ESC": f"report{ESC}]0;owned{BEL}.md",
    "newline": f"customer-1{NEWLINE}customer-2",
    "RLO": f"invoice{RLO}fdp.txt",
    "zero-width": "\u200bcustomer-1",
}


@pytest.fixture
async def node(database_url: str, tmp_path: Path) -> AsyncIterator[Stack]:
    async with running_stack(tmp_path, database_url) as running:
        yield running


def assert_invalid_identifier(answer: httpx.Response, what: str) -> None:
    assert answer.status_code == 422, (what, answer.status_code, answer.text)
    error = answer.json()["error"]
    assert error["code"] == "invalid_identifier", (what, error)
    assert error["details"]["character"].startswith("U+"), (what, error)


async def test_t90_source_names_with_controls_are_refused_and_nothing_is_stored(
    node: Stack,
) -> None:
    """T-90: ESC, BEL, NUL, newline, RLO and zero-width characters in a knowledge source's
    name (the path of the upload) get 422 invalid_identifier; no version is made."""
    org = await seed.organisation(node.services, faq=None, scopes=(Scope.WRITE_KNOWLEDGE,))
    auth = {"Authorization": f"Bearer {org.api_key}"}
    async with httpx.AsyncClient(base_url=node.url, timeout=10) as client:
        for what, name in HOSTILE.items():
            answer = await client.put(
                f"/v1/knowledge/sources/{quote(name, safe='')}",
                content=b"question,answer\nWhen?,At nine.\n",
                headers=auth,
            )
            assert_invalid_identifier(answer, what)
        assert (await client.get("/v1/knowledge/versions", headers=auth)).json() == []
        clean = await client.put(
            "/v1/knowledge/sources/faq.csv",
            content=b"question,answer\nWhen?,At nine.\n",
            headers=auth,
        )
    assert clean.status_code == 201, clean.text


async def test_t90_user_ids_and_names_in_a_token_request_are_refused(node: Stack) -> None:
    """T-90: POST /v1/end-user-tokens with NUL, a newline or RLO (or the other controls) in
    `user_id`, `name` or `email` gets 422 invalid_identifier, and no token."""
    org = await seed.organisation(node.services)
    auth = {"Authorization": f"Bearer {org.api_key}"}
    async with httpx.AsyncClient(base_url=node.url, timeout=10) as client:
        for what, value in HOSTILE.items():
            for field in ("user_id", "name", "email"):
                body = {"user_id": "customer-1", "origin": org.origin, field: value}
                if field == "email":
                    body[field] = f"{value}@example.com"
                answer = await client.post("/v1/end-user-tokens", json=body, headers=auth)
                assert_invalid_identifier(answer, f"{field} with {what}")
                assert "token" not in answer.text
        revoke = await client.post(f"/v1/end-users/{quote(HOSTILE['NUL'])}/revoke", headers=auth)
        assert_invalid_identifier(revoke, "revoking a user id with NUL")


async def test_t90_origins_and_apps_with_controls_in_a_token_request_are_not_allowed(
    node: Stack,
) -> None:
    """T-90: an origin or app id with a control is on no allowlist, and is looked up as such
    on PostgreSQL too (403, never a server error)."""
    org = await seed.organisation(node.services)
    auth = {"Authorization": f"Bearer {org.api_key}"}
    async with httpx.AsyncClient(base_url=node.url, timeout=10) as client:
        for what, value in HOSTILE.items():
            for field in ("origin", "app_id"):
                body = {"user_id": "customer-1", field: f"https://shop{value}.example.com"}
                answer = await client.post("/v1/end-user-tokens", json=body, headers=auth)
                assert answer.status_code == 403, (field, what, answer.text)


async def test_t90_a_client_signed_token_naming_a_user_with_controls_opens_no_socket(
    node: Stack,
) -> None:
    """T-90: an organisation's backend signs its own tokens; one whose `sub`, trait or `jti`
    holds NUL, a newline or RLO is refused like any invalid token (4401), on both backends,
    and no conversation is opened for it."""
    org = await seed.organisation(node.services, scopes=tuple(Scope))
    private = Ed25519PrivateKey.generate()
    registered = await register(node, org, private)
    refused = [
        *({"sub": value} for value in HOSTILE.values()),
        {"traits": {"name": f"Mallory{RLO}"}},
        {"traits": {"email": f"m{NUL}@example.com"}},
        {"jti": f"abc{NUL}def"},
    ]
    for changes in refused:
        async with open_socket(node.ws_url, org.widget_id, org.origin) as ws:
            token = client_token(org, registered, private, **changes)
            await ws.send(json.dumps({"type": "auth", "token": token}))
            assert await close_code(ws) == 4401, changes
    async with open_socket(node.ws_url, org.widget_id, org.origin) as ws:
        await authenticate(ws, client_token(org, registered, private))


async def test_t90_sign_up_refuses_a_hostile_organisation_name_whether_or_not_the_address_is_taken(
    node: Stack,
) -> None:
    """T-90: and the answer is the same 422 for an address that has an account and one that
    has none, so the check is no way to learn which addresses have accounts."""
    taken = "taken@example.com"
    await node.services.signup.sign_up(taken, PASSWORD, "Acme Bank", source_ip="127.0.0.9")
    async with httpx.AsyncClient(base_url=node.url, timeout=10) as client:
        answers = [
            await client.post(
                "/v1/accounts",
                json={"email": email, "password": PASSWORD, "organisation": f"Acme{RLO}knaB"},
            )
            for email in (taken, "free@example.com")
        ]
        hostile_email = await client.post(
            "/v1/accounts",
            json={"email": f"a{RLO}b@example.com", "password": PASSWORD, "organisation": "Acme"},
        )
    for answer in answers:
        assert_invalid_identifier(answer, "organisation name")
    assert answers[0].json()["error"]["message"] == answers[1].json()["error"]["message"]
    assert_invalid_identifier(hostile_email, "e-mail address")


async def test_t90_labels_names_origins_and_urls_members_set_are_refused(
    backend: Services,
) -> None:
    """T-90: what the API, the dashboard and the CLI all go through: API key labels, MCP
    servers' names and URLs, webhook URLs, allowlisted origins, organisation names and
    members' e-mail addresses."""
    org = await seed.organisation(backend, faq=None)
    tenant_id = org.tenant_id
    attempts: dict[str, Callable[[str], Awaitable[object]]] = {
        "API key label": lambda value: backend.api_keys.create(
            tenant_id, label=f"backend {value}", actor=seed.ACTOR
        ),
        "MCP server name": lambda value: backend.mcp_servers.save(
            tenant_id,
            name=f"orders {value}",
            url="https://mcp.example.com/mcp",
            tools=["lookup_order"],
            actor=seed.ACTOR,
        ),
        "MCP server URL": lambda value: backend.mcp_servers.save(
            tenant_id,
            name="orders",
            url=f"https://mcp.example.com/{value}",
            tools=["lookup_order"],
            actor=seed.ACTOR,
        ),
        "webhook URL": lambda value: backend.webhook_endpoints.add(
            tenant_id,
            url=f"https://hooks.example.com/{value}",
            events=["message.created"],
            actor=seed.ACTOR,
        ),
        "origin": lambda value: backend.tenants.allow_origin(
            tenant_id, f"https://shop{value}.example.com", actor=seed.ACTOR
        ),
        "organisation name": lambda value: backend.tenants.create(
            f"Acme {value}", actor=seed.ACTOR
        ),
        "member's e-mail": lambda value: backend.members.add(
            tenant_id, f"agent{value}@example.com", Role.AGENT, actor=seed.ACTOR
        ),
        "knowledge source name": lambda value: backend.knowledge.upload(
            tenant_id, f"faq{value}.csv", b"question,answer\nWhen?,At nine.\n", actor=seed.ACTOR
        ),
        "end user revoked": lambda value: backend.end_user_revocations.revoke(tenant_id, value),
    }
    accepted = []
    for kind, attempt in attempts.items():
        for what, value in HOSTILE.items():
            try:
                await attempt(value)
            except InvalidIdentifier:
                continue
            accepted.append(f"{kind} with {what}")
    assert accepted == []
    assert [key.label for key in await backend.api_keys.of_tenant(tenant_id)] == ["test"]
    assert await backend.mcp_servers.servers(tenant_id) == []
    assert await backend.webhook_endpoints.of_tenant(tenant_id) == []
    assert await backend.tenants.origins(tenant_id) == [org.origin]
    assert await backend.knowledge.versions(tenant_id) == []


async def test_t90_the_dashboard_refuses_a_hostile_organisation_name_on_its_page(
    stack: Stack,
) -> None:
    """T-90: the dashboard's sign-up form gets the same refusal, said on the page, with the
    API's status."""
    async with httpx.AsyncClient(base_url=stack.url, timeout=10) as client:
        page = await client.post(
            "/dashboard/signup",
            data={
                "organisation": f"Acme{ESC}[2J",
                "email": "new@example.com",
                "password": PASSWORD,
            },
            headers={"origin": stack.url},
        )
    assert page.status_code == 422
    assert "may not contain control" in page.text


async def test_t90_free_text_keeps_its_line_breaks_but_no_other_control(backend: Services) -> None:
    """T-90: an operator's reason and a prompt template are prose: line breaks and tabs stay,
    NUL and ESC are refused (PostgreSQL could not store the one, terminals obey the other)."""
    org = await seed.organisation(backend, faq=None)
    placeholders = " ".join("{{" + name + "}}" for name in REQUIRED)
    for control in (NUL, ESC, BEL):
        with pytest.raises(InvalidInput, match="control characters"):
            await backend.assistant.configuration.save_template(
                org.tenant_id, f"Be kind.{control}\n{placeholders}", actor=seed.ACTOR
            )
        with pytest.raises(InvalidInput, match="control characters"):
            await backend.tenants.decide_verification(
                org.tenant_id, approve=False, reason=f"no{control}pe", actor=seed.ACTOR
            )
    saved = await backend.assistant.configuration.save_template(
        org.tenant_id, f"Be kind.\n\tAlways.\n{placeholders}", actor=seed.ACTOR
    )
    assert "\n\tAlways." in saved.body
    decided = await backend.tenants.decide_verification(
        org.tenant_id, approve=False, reason="Not yet:\n- a website", actor=seed.ACTOR
    )
    assert decided.verification_reason == "Not yet:\n- a website"


def _filled(schema: dict[str, Any], schemas: dict[str, Any]) -> Any:
    """A body of the schema's shape whose every text holds a NUL."""
    if "$ref" in schema:
        return _filled(schemas[schema["$ref"].rsplit("/", 1)[-1]], schemas)
    for combined in ("anyOf", "oneOf", "allOf"):
        if combined in schema:
            return _filled(next(s for s in schema[combined] if s.get("type") != "null"), schemas)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        return {name: _filled(s, schemas) for name, s in schema.get("properties", {}).items()}
    if kind == "array":
        return [_filled(schema.get("items", {}), schemas)]
    return {"integer": 1, "number": 1.0, "boolean": True}.get(kind, f"a{NUL}b")


async def test_t90_a_nul_in_any_path_or_json_field_is_refused_not_a_server_error(
    node: Stack,
) -> None:
    """T-90: every route, as a signed-in owner holding an API key with every scope: a NUL in
    each path parameter (the organisation's own id kept, to get past membership) and in every
    text field of each JSON body is answered 4xx on both backends, never 500."""
    async with httpx.AsyncClient(base_url=node.url, timeout=10) as client:
        browser = Browser(client)
        await signed_up_and_enrolled(node, browser)
        (organisation,) = (await browser.send("GET", "/v1/organisations")).json()
        tenant_id = organisation["tenant_id"]
        key = await node.services.api_keys.create(
            tenant_id, label="every scope", scopes=list(Scope), actor=seed.ACTOR
        )
        headers = {
            "Authorization": f"Bearer {canaries.register(key.secret)}",
            "Cookie": f"{COOKIE}={browser.cookie}",
            "X-CSRF-Token": browser.csrf or "",
            "Origin": node.url,
        }
        document = (await client.get("/openapi.json")).json()
        bodies = {
            (method.upper(), path): _filled(
                operation["requestBody"]["content"]["application/json"]["schema"],
                document["components"]["schemas"],
            )
            for path, operations in document["paths"].items()
            for method, operation in operations.items()
            if "application/json" in operation.get("requestBody", {}).get("content", {})
        }
        routes = {
            (method, route.path)
            for router in ROUTERS
            for route in router.routes
            if isinstance(route, Route)
            for method in (route.methods or {"GET"}) - {"HEAD"}
        }
        failures = []
        for method, template in sorted(routes):
            concrete = re.sub(r"\{tenant_id\}", tenant_id, template)
            concrete = re.sub(r"\{[^}]+\}", "a%00b", concrete)
            answer = await client.request(
                method,
                concrete + "?q=a%00b",
                headers=headers,
                json=bodies.get((method, template), {}) if method != "GET" else None,
            )
            if answer.status_code >= 500:
                failures.append(f"{method} {concrete} -> {answer.status_code}")
    assert failures == [], "\n".join(failures)


async def test_t90_a_path_or_query_naming_something_with_controls_is_refused_up_front(
    stack: Stack,
) -> None:
    """T-90: before any route runs, in the route's own error answer: JSON for the API, the
    error page on the dashboard."""
    async with httpx.AsyncClient(base_url=stack.url, timeout=10) as client:
        api_path = await client.delete(f"/v1/client-keys/ck_{quote(RLO)}x")
        api_query = await client.get("/v1/knowledge/diff", params={"since": f"1{ESC}"})
        page = await client.get(f"/dashboard/o/{quote(NEWLINE)}/knowledge")
    assert_invalid_identifier(api_path, "path")
    assert_invalid_identifier(api_query, "query")
    assert page.status_code == 422
    assert page.headers["content-type"].startswith("text/html")
