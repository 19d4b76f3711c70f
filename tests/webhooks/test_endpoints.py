"""Which endpoints hear which event: each node keeps the answer a few seconds, on a clock the test
sets here, so a change another node made is heard that late and no later."""

from __future__ import annotations

from parlour.services import Services
from parlour.webhooks.endpoints import WebhookEndpoints
from tests.support import seed
from tests.support.clock import SetMonotonic
from tests.support.seed import ACTOR
from tests.support.webhook_receiver import webhook_receiver


async def test_an_endpoint_another_node_added_is_heard_once_the_cache_lapses(
    services: Services,
) -> None:
    org = await seed.organisation(services, faq=None)
    monotonic = SetMonotonic()
    this_node = WebhookEndpoints(
        services.db,
        services.vault,
        services.audit,
        services.egress,
        allow_insecure_urls=True,
        subscriptions_cache_seconds=5,
        monotonic=monotonic,
    )
    assert await this_node.endpoints(org.tenant_id) == {}

    with webhook_receiver() as receiver:
        added = await services.webhook_endpoints.add(
            org.tenant_id, url=f"{receiver.url}/hook", events=("message.created",), actor=ACTOR
        )
    monotonic.now += 4.9
    assert await this_node.endpoints(org.tenant_id) == {}
    monotonic.now += 0.2
    assert await this_node.endpoints(org.tenant_id) == {
        "message.created": [added.endpoint.endpoint_id]
    }
