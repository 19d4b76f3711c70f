"""Webhook deliveries: owed in the transaction that stores each message, sent signed to a real
endpoint on 127.0.0.1, tried again under the same id when it fails, never redirected."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from parlour.egress import EgressRefused
from parlour.errors import InvalidInput, NotFound
from parlour.services import Services
from parlour.webhooks.dispatcher import (
    IN_FLIGHT_PER_ENDPOINT,
    MAX_ATTEMPTS,
    RETRIES,
    WebhookDispatcher,
)
from parlour.webhooks.models import CreatedEndpoint
from parlour.webhooks.repository import DeliveryRepository, EndpointRepository
from parlour.webhooks.signing import Unverified, verify
from tests.conftest import migrated_services
from tests.support import seed
from tests.support.clock import SetClock
from tests.support.seed import ACTOR
from tests.support.webhook_receiver import Receiver, webhook_receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as running:
        yield running


@pytest.fixture
def clock() -> SetClock:
    return SetClock()


@pytest.fixture
async def services(sqlite_url: str, tmp_path: Path, clock: SetClock) -> AsyncIterator[Services]:
    """Services that read the time from `clock`: a test moves it past a wait."""
    async with migrated_services(tmp_path, sqlite_url, clock=clock) as built:
        yield built


async def _endpoint(
    services: Services, tenant_id: str, url: str, events: tuple[str, ...] = ("message.created",)
) -> CreatedEndpoint:
    return await services.webhook_endpoints.add(tenant_id, url=url, events=events, actor=ACTOR)


async def _say(services: Services, tenant_id: str, user: str, text: str) -> str:
    conversation = await services.chat.open_conversation(tenant_id, user)
    await services.chat.post_user_message(
        tenant_id, conversation.conversation_id, client_id=f"{user}-{text}", text=text
    )
    return conversation.conversation_id


async def _pending(services: Services, tenant_id: str, endpoint_id: str) -> int:
    async with services.db.read() as conn:
        return len(await DeliveryRepository(conn).pending(tenant_id, endpoint_id))


async def test_a_stored_message_reaches_the_endpoint_signed_with_its_secret(
    backend: Services, receiver: Receiver
) -> None:
    """T-84: on each backend (the outbox is written by SQLite's direct writer or through
    SQLAlchemy on PostgreSQL)."""
    org = await seed.organisation(backend, faq=None)
    created = await _endpoint(backend, org.tenant_id, f"{receiver.url}/hook")
    conversation_id = await _say(backend, org.tenant_id, "ada", "Where is my parcel?")

    assert await backend.webhook_dispatcher.deliver_due() == 1
    [delivery] = receiver.at("/hook")
    delivery_id = verify([created.secret], delivery.headers, delivery.body, now=backend.clock())
    assert delivery.headers["content-type"] == "application/json"
    event = json.loads(delivery.body)
    assert event["type"] == "message.created"
    assert event["data"] | {"message_id": None, "created_at": None} == {
        "organisation_id": org.tenant_id,
        "conversation_id": conversation_id,
        "end_user_id": "ada",
        "seq": 1,
        "message_id": None,
        "author": "user",
        "kind": "text",
        "text": "Where is my parcel?",
        "created_at": None,
    }
    assert delivery_id
    assert await _pending(backend, org.tenant_id, created.endpoint.endpoint_id) == 0
    [endpoint] = await backend.webhook_endpoints.of_tenant(org.tenant_id)
    assert endpoint.last_success_at is not None


async def test_each_endpoint_hears_only_the_events_it_chose(
    services: Services, receiver: Receiver
) -> None:
    org = await seed.organisation(services, faq=None)
    await _endpoint(services, org.tenant_id, f"{receiver.url}/messages")
    await _endpoint(
        services, org.tenant_id, f"{receiver.url}/handoffs", events=("conversation.handoff",)
    )
    conversation_id = await _say(services, org.tenant_id, "ada", "A person, please")
    await services.chat.request_handoff(org.tenant_id, conversation_id)

    assert await services.webhook_dispatcher.deliver_due() == 2
    [message] = receiver.at("/messages")
    [handoff] = receiver.at("/handoffs")
    assert json.loads(message.body)["type"] == "message.created"
    handed = json.loads(handoff.body)
    assert handed["type"] == "conversation.handoff"
    assert handed["data"]["conversation_id"] == conversation_id
    assert handed["data"]["kind"] == "handoff"


async def test_an_endpoint_hears_nothing_of_another_organisations_conversations(
    services: Services, receiver: Receiver
) -> None:
    """T-86: deliveries are owed to the organisation's own endpoints only."""
    ours = await seed.organisation(services, name="Ours", faq=None)
    theirs = await seed.organisation(services, name="Theirs", faq=None)
    await _endpoint(services, ours.tenant_id, f"{receiver.url}/hook")
    await _say(services, theirs.tenant_id, "bob", "Private to them")

    assert await services.webhook_dispatcher.deliver_due() == 0
    assert receiver.received == []


async def test_a_failed_delivery_is_tried_again_later_under_the_same_id(
    services: Services, receiver: Receiver, clock: SetClock
) -> None:
    """T-85: the receiver deduplicates on the id, which a retry keeps."""
    org = await seed.organisation(services, faq=None)
    created = await _endpoint(services, org.tenant_id, f"{receiver.url}/hook")
    await _say(services, org.tenant_id, "ada", "Hello")
    receiver.statuses.append(500)

    assert await services.webhook_dispatcher.deliver_due() == 0
    [endpoint] = await services.webhook_endpoints.of_tenant(org.tenant_id)
    assert endpoint.last_error == "HTTP 500"
    # Not again before its wait is over; then sent again, and taken.
    clock.advance(seconds=5)
    assert await services.webhook_dispatcher.deliver_due() == 0
    clock.advance(seconds=RETRIES.after(1).total_seconds() - 5 + 1)
    assert await services.webhook_dispatcher.deliver_due() == 1

    first, second = receiver.at("/hook")
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    verify([created.secret], second.headers, second.body, now=clock())
    assert await _pending(services, org.tenant_id, created.endpoint.endpoint_id) == 0


async def test_a_delivery_is_given_up_after_the_last_attempt(
    services: Services, receiver: Receiver, clock: SetClock
) -> None:
    org = await seed.organisation(services, faq=None)
    created = await _endpoint(services, org.tenant_id, f"{receiver.url}/hook")
    await _say(services, org.tenant_id, "ada", "Hello")
    receiver.statuses.extend([503] * MAX_ATTEMPTS)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        assert await services.webhook_dispatcher.deliver_due() == 0
        clock.advance(seconds=RETRIES.after(attempt).total_seconds() + 1)
    assert len(receiver.at("/hook")) == MAX_ATTEMPTS
    assert await _pending(services, org.tenant_id, created.endpoint.endpoint_id) == 0


async def test_a_redirect_is_not_followed(services: Services, receiver: Receiver) -> None:
    """T-87: an endpoint cannot send Parlour's signed request on to another address."""
    org = await seed.organisation(services, faq=None)
    await _endpoint(services, org.tenant_id, f"{receiver.url}/moved")
    await _say(services, org.tenant_id, "ada", "Hello")

    assert await services.webhook_dispatcher.deliver_due() == 0
    assert len(receiver.at("/moved")) == 1
    assert receiver.at("/hook") == []
    [endpoint] = await services.webhook_endpoints.of_tenant(org.tenant_id)
    assert endpoint.last_error == "HTTP 302: redirects are not followed"


@pytest.mark.parametrize(
    "url", ["https://10.1.2.3/hook", "https://169.254.169.254/latest", "https://[fd00::1]/h"]
)
async def test_an_endpoint_on_a_private_address_is_refused(services: Services, url: str) -> None:
    """T-87: the egress guard's checks (T-79) apply to webhook URLs."""
    org = await seed.organisation(services, faq=None)
    with pytest.raises(EgressRefused):
        await _endpoint(services, org.tenant_id, url)
    assert await services.webhook_endpoints.of_tenant(org.tenant_id) == []


@pytest.mark.parametrize(
    "url", ["ftp://hooks.example.com/", "https://user:pw@hooks.example.com/", "not a url"]
)
async def test_an_endpoint_url_that_is_not_plain_https_is_refused(
    services: Services, url: str
) -> None:
    org = await seed.organisation(services, faq=None)
    with pytest.raises(InvalidInput):
        await _endpoint(services, org.tenant_id, url)


async def test_two_dispatchers_racing_send_a_delivery_once(
    services: Services, receiver: Receiver
) -> None:
    """Every node runs a dispatcher: the claim lets one of them send it."""
    org = await seed.organisation(services, faq=None)
    await _endpoint(services, org.tenant_id, f"{receiver.url}/hook")
    await _say(services, org.tenant_id, "ada", "Hello")
    other_node = WebhookDispatcher(
        services.db,
        services.vault,
        services.webhook_endpoints,
        services.egress,
        services.tally,
        clock=services.clock,
    )
    sent = await asyncio.gather(services.webhook_dispatcher.deliver_due(), other_node.deliver_due())
    assert sorted(sent) == [0, 1]
    assert len(receiver.at("/hook")) == 1


async def test_an_endpoint_that_fails_delays_only_itself(
    services: Services, receiver: Receiver
) -> None:
    """Once a down endpoint has failed, no more of its deliveries start that round (those
    already under way finish); the others are served meanwhile."""
    org = await seed.organisation(services, faq=None)
    down = await _endpoint(services, org.tenant_id, f"{receiver.url}/down")
    await _endpoint(services, org.tenant_id, f"{receiver.url}/hook")
    texts = [f"message {n}" for n in range(IN_FLIGHT_PER_ENDPOINT + 4)]
    for text in texts:
        await _say(services, org.tenant_id, "ada", text)

    assert await services.webhook_dispatcher.deliver_due() == len(texts)
    assert len(receiver.at("/down")) == IN_FLIGHT_PER_ENDPOINT
    received = sorted(json.loads(r.body)["data"]["text"] for r in receiver.at("/hook"))
    assert received == sorted(texts)
    assert await _pending(services, org.tenant_id, down.endpoint.endpoint_id) == len(texts)


async def test_a_message_is_stored_even_for_an_endpoint_removed_meanwhile(
    services: Services, receiver: Receiver
) -> None:
    """A node that has not yet heard of a removal still owes the endpoint a delivery; the
    message is stored all the same, and the delivery is dropped, not sent."""
    org = await seed.organisation(services, faq=None)
    created = await _endpoint(services, org.tenant_id, f"{receiver.url}/hook")
    assert await services.webhook_endpoints.endpoints(org.tenant_id)  # this node's cache holds it
    async with services.db.transaction() as conn:  # removed by another node
        await EndpointRepository(conn).delete(org.tenant_id, created.endpoint.endpoint_id)

    conversation_id = await _say(services, org.tenant_id, "ada", "Still stored?")
    await _say(services, org.tenant_id, "ada", "And this?")
    stored = await services.chat.history(org.tenant_id, conversation_id, after_seq=0, limit=9)
    assert [m.body for m in stored] == ["Still stored?", "And this?"]
    assert await _pending(services, org.tenant_id, created.endpoint.endpoint_id) == 2
    assert await services.webhook_dispatcher.deliver_due() == 0
    assert receiver.received == []
    assert await _pending(services, org.tenant_id, created.endpoint.endpoint_id) == 0


async def test_after_a_rotation_deliveries_verify_with_either_secret_for_a_day(
    services: Services, receiver: Receiver, clock: SetClock
) -> None:
    """T-85, T-86: the receiver moves to the new secret without refusing a delivery; a day
    later the old one no longer signs."""
    org = await seed.organisation(services, faq=None)
    created = await _endpoint(services, org.tenant_id, f"{receiver.url}/hook")
    endpoint_id = created.endpoint.endpoint_id
    rotated = await services.webhook_endpoints.rotate_secret(
        org.tenant_id, endpoint_id, actor=ACTOR
    )
    assert rotated.secret != created.secret
    until = rotated.endpoint.previous_secret_until
    assert until is not None

    assert until == clock() + timedelta(days=1)

    await _say(services, org.tenant_id, "ada", "During the overlap")
    now = clock()
    assert await services.webhook_dispatcher.deliver_due() == 1
    clock.advance(days=1, seconds=1)
    await _say(services, org.tenant_id, "ada", "After it")
    assert await services.webhook_dispatcher.deliver_due() == 1

    during, after = receiver.at("/hook")
    assert len(during.headers["webhook-signature"].split()) == 2
    verify([created.secret], during.headers, during.body, now=now)
    verify([rotated.secret], during.headers, during.body, now=now)
    later = clock()
    verify([rotated.secret], after.headers, after.body, now=later)
    with pytest.raises(Unverified):
        verify([created.secret], after.headers, after.body, now=later)
    actions = [e["action"] for e in await services.audit.recent(org.tenant_id)]
    assert "webhook.secret_rotated" in actions


async def test_rotating_the_secret_of_an_unknown_endpoint_is_not_found(
    services: Services,
) -> None:
    org = await seed.organisation(services, faq=None)
    with pytest.raises(NotFound):
        await services.webhook_endpoints.rotate_secret(
            org.tenant_id, "no-such-endpoint", actor=ACTOR
        )


async def test_a_test_event_is_sent_signed_at_once_and_its_outcome_told(
    services: Services, receiver: Receiver
) -> None:
    org = await seed.organisation(services, faq=None)
    up = await _endpoint(services, org.tenant_id, f"{receiver.url}/hook")
    down = await _endpoint(services, org.tenant_id, f"{receiver.url}/down")

    assert (
        await services.webhook_dispatcher.send_test(org.tenant_id, up.endpoint.endpoint_id) is None
    )
    failed = await services.webhook_dispatcher.send_test(org.tenant_id, down.endpoint.endpoint_id)
    assert failed == "HTTP 503"
    [test] = receiver.at("/hook")
    verify([up.secret], test.headers, test.body, now=services.clock())
    assert json.loads(test.body)["type"] == "webhook.test"
    with pytest.raises(NotFound):
        await services.webhook_dispatcher.send_test(org.tenant_id, "no-such-endpoint")


async def test_deleting_an_organisation_removes_its_webhooks_and_what_they_were_owed(
    backend: Services, receiver: Receiver
) -> None:
    """T-37's offboarding reaches the webhook tables too."""
    org = await seed.organisation(backend, faq=None)
    created = await _endpoint(backend, org.tenant_id, f"{receiver.url}/hook")
    await _say(backend, org.tenant_id, "ada", "Hello")
    assert await _pending(backend, org.tenant_id, created.endpoint.endpoint_id) == 1
    await backend.tenants.delete(org.tenant_id, actor=ACTOR)
    assert await _pending(backend, org.tenant_id, created.endpoint.endpoint_id) == 0
    assert await backend.webhook_endpoints.of_tenant(org.tenant_id) == []
    assert await backend.webhook_dispatcher.deliver_due() == 0


async def test_removing_an_endpoint_drops_what_it_was_owed(
    services: Services, receiver: Receiver
) -> None:
    org = await seed.organisation(services, faq=None)
    created = await _endpoint(services, org.tenant_id, f"{receiver.url}/hook")
    await _say(services, org.tenant_id, "ada", "Hello")
    await services.webhook_endpoints.remove(
        org.tenant_id, created.endpoint.endpoint_id, actor=ACTOR
    )
    assert await services.webhook_dispatcher.deliver_due() == 0
    assert receiver.received == []
