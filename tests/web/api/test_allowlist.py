"""The allowlist over HTTP: an origin is asked for, proven and then allowed; apps are added and
removed; each change is audited with who, from where and which request (T-88)."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.conftest import Stack
from tests.support.dns import dns_server, unique_host
from tests.web.api.conftest import Owner
from tests.web.test_errors import assert_error_shape


async def test_an_origin_is_asked_for_proven_by_dns_and_then_allowed(
    owner: Owner, stack: Stack
) -> None:
    origin = f"https://{unique_host()}"
    asked = await owner.browser.send("POST", owner.path("origins"), {"origin": origin})
    assert asked.status_code == 202
    pending = asked.json()
    assert pending["state"] == "pending"
    listed = (await owner.browser.send("GET", owner.path("origins"))).json()
    assert listed == {"allowed": [], "pending": [pending]}

    proof = pending["proof"]
    dns_server().zone.set(proof["dns_name"], "TXT", proof["dns_value"])
    checked = await owner.browser.send("POST", owner.path("origins/check"), {"origin": origin})

    assert checked.status_code == 200
    assert checked.json() == {
        "origin": origin,
        "state": "allowed",
        "proof": None,
        "proven_by": "dns",
        "checked_at": None,
    }
    assert (await owner.browser.send("GET", owner.path("origins"))).json() == {
        "allowed": [origin],
        "pending": [],
    }
    (event,) = await stack.services.audit.recent(
        owner.org, limit=1, action_prefix="tenant.origin_allowed"
    )
    assert event["actor"]["type"] == "account"  # type: ignore[index]
    assert event["source_ip"] == "127.0.0.1"
    assert event["request_id"] == checked.headers["x-request-id"]


async def test_a_check_without_the_proof_is_refused_with_what_was_looked_for(
    owner: Owner,
) -> None:
    origin = f"https://{unique_host()}"
    await owner.browser.send("POST", owner.path("origins"), {"origin": origin})
    checked = await owner.browser.send("POST", owner.path("origins/check"), {"origin": origin})
    assert_error_shape(checked, 422, "origin_unproven")
    assert set(checked.json()["error"]["details"]) == {"dns", "well_known"}


async def test_a_loopback_origin_is_allowed_at_once_and_can_be_removed(owner: Owner) -> None:
    asked = await owner.browser.send(
        "POST", owner.path("origins"), {"origin": "http://localhost:5173"}
    )
    assert asked.status_code == 201
    assert asked.json()["proven_by"] == "loopback"
    removed = await owner.browser.send(
        "DELETE", f"{owner.path('origins')}?origin={quote('http://localhost:5173', safe='')}"
    )
    assert removed.status_code == 204
    assert (await owner.browser.send("GET", owner.path("origins"))).json()["allowed"] == []


@pytest.mark.parametrize(
    "origin",
    ["shop.example.com", "https://*.example.com", "https://shop.example.com/path", "ftp://x.y"],
)
async def test_an_origin_that_is_not_one_is_refused(owner: Owner, origin: str) -> None:
    answer = await owner.browser.send("POST", owner.path("origins"), {"origin": origin})
    assert_error_shape(answer, 422, "invalid_input")


async def test_apps_are_added_listed_and_removed(owner: Owner) -> None:
    apps = f"/v1/organisations/{owner.org}/apps"
    added = await owner.browser.send("POST", apps, {"app_id": "com.example.shop"})
    assert added.status_code == 201
    assert (await owner.browser.send("GET", apps)).json() == [{"app_id": "com.example.shop"}]
    assert (await owner.browser.send("DELETE", f"{apps}/com.example.shop")).status_code == 204
    assert_error_shape(
        await owner.browser.send("DELETE", f"{apps}/com.example.shop"), 404, "not_found"
    )
    bad = await owner.browser.send("POST", apps, {"app_id": "../etc/passwd"})
    assert_error_shape(bad, 422, "invalid_input")
