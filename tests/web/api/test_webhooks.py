"""Webhooks over HTTP: the secret is shown once, in the answer to adding; a running node's
dispatcher delivers on its own; bad endpoints get the one error shape."""

from __future__ import annotations

import asyncio
import json

from parlour.storage.types import utcnow
from parlour.webhooks.signing import verify
from tests.conftest import Stack
from tests.support.dns import dns_server, unique_host
from tests.support.webhook_receiver import webhook_receiver
from tests.web.api.conftest import Owner
from tests.web.test_errors import assert_error_shape


async def test_the_secret_is_shown_once_and_a_running_node_delivers_signed_events(
    owner: Owner, stack: Stack
) -> None:
    """T-84, T-86 over HTTP, through the node's own dispatcher."""
    browser, path = owner.browser, owner.path("webhooks")
    with webhook_receiver() as receiver:
        added = await browser.send(
            "POST", path, {"url": f"{receiver.url}/hook", "events": ["message.created"]}
        )
        assert added.status_code == 201
        secret = added.json()["secret"]
        assert secret.startswith("whsec_")
        listed = await browser.send("GET", path)
        assert [w["url"] for w in listed.json()] == [f"{receiver.url}/hook"]
        assert secret not in listed.text

        conversation = await stack.services.chat.open_conversation(owner.org, "ada")
        await stack.services.chat.post_user_message(
            owner.org, conversation.conversation_id, client_id="c1", text="Hello"
        )
        assert await asyncio.to_thread(receiver.arrived.wait, 20)
    [delivery] = receiver.at("/hook")
    verify([secret], delivery.headers, delivery.body, now=utcnow())
    assert json.loads(delivery.body)["data"]["text"] == "Hello"


async def test_rotating_shows_the_new_secret_once_and_keeps_the_old_one_signing(
    owner: Owner, stack: Stack
) -> None:
    browser, path = owner.browser, owner.path("webhooks")
    added = await browser.send(
        "POST", path, {"url": "http://127.0.0.1:9/hook", "events": ["message.created"]}
    )
    endpoint_id = added.json()["endpoint_id"]
    rotated = await browser.send("POST", f"{path}/{endpoint_id}/secret")
    assert rotated.status_code == 200
    assert rotated.json()["secret"] not in (added.json()["secret"], None)
    assert rotated.json()["previous_secret_until"] is not None
    _, secrets = await stack.services.webhook_endpoints.with_secrets(
        owner.org, endpoint_id, now=utcnow()
    )
    assert secrets == [rotated.json()["secret"], added.json()["secret"]]
    listed = await browser.send("GET", path)
    assert rotated.json()["secret"] not in listed.text


async def test_a_test_event_says_whether_the_endpoint_took_it(owner: Owner) -> None:
    browser, path = owner.browser, owner.path("webhooks")
    with webhook_receiver() as receiver:
        added = await browser.send(
            "POST", path, {"url": f"{receiver.url}/down", "events": ["message.created"]}
        )
        tested = await browser.send("POST", f"{path}/{added.json()['endpoint_id']}/test")
    assert tested.status_code == 200
    assert tested.json() == {"delivered": False, "error": "HTTP 503"}
    assert len(receiver.at("/down")) == 1


async def test_a_webhook_is_removed_and_then_unknown(owner: Owner) -> None:
    browser, path = owner.browser, owner.path("webhooks")
    added = await browser.send(
        "POST", path, {"url": "http://127.0.0.1:9/hook", "events": ["conversation.handoff"]}
    )
    endpoint = f"{path}/{added.json()['endpoint_id']}"
    assert (await browser.send("DELETE", endpoint)).status_code == 204
    assert (await browser.send("GET", path)).json() == []
    assert_error_shape(await browser.send("DELETE", endpoint), 404, "not_found")


async def test_a_webhook_on_a_private_address_is_refused(owner: Owner) -> None:
    """T-87"""
    host = unique_host("hooks")
    dns_server().zone.set(host, "A", "10.0.0.7")
    answer = await owner.browser.send(
        "POST",
        owner.path("webhooks"),
        {"url": f"https://{host}/hook", "events": ["message.created"]},
    )
    assert_error_shape(answer, 422, "egress_refused")


async def test_an_unknown_event_is_refused(owner: Owner) -> None:
    answer = await owner.browser.send(
        "POST",
        owner.path("webhooks"),
        {"url": "https://hooks.example.com/", "events": ["everything"]},
    )
    assert_error_shape(answer, 422, "invalid_input")
