"""An organisation's webhooks, for owners and admins: list, add, rotate the secret, remove.
Changes need a fresh step-up (T-42) and are audited; a signing secret is shown once, in the
answer that made it (T-86), and never again."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from parlour.identity.policy import Permission
from parlour.web.deps import ServicesDep
from parlour.web.policy import JsonOnly, Member, member
from parlour.webhooks.models import WebhookEndpoint

router = APIRouter(tags=["Webhooks"])

Keeper = Annotated[Member, Depends(member(Permission.MANAGE_SETTINGS))]
Changer = Annotated[Member, Depends(member(Permission.MANAGE_SETTINGS, step_up=True))]
EndpointParam = Annotated[str, Path(min_length=1, max_length=64)]
Event = Literal["message.created", "conversation.handoff", "security.alert"]


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Annotated[
        str, Field(min_length=1, max_length=2000, examples=["https://hooks.example.com/parlour"])
    ]
    events: Annotated[list[Event], Field(min_length=1, max_length=3)] = Field(
        description="message.created: every message stored (the customer's, the assistant's, "
        "an agent's); conversation.handoff: a conversation now waits for a person, has one, "
        "is back with the assistant or is resolved (text: queued, agent_joined, returned_to_bot "
        "or resolved); "
        "security.alert: a security figure of the organisation jumped above its baseline "
        "(counts and reasons only, docs/alerts.md)."
    )


class WebhookOut(BaseModel):
    endpoint_id: str
    url: str
    events: list[str]
    created_at: datetime
    previous_secret_until: datetime | None = Field(
        description="After a rotation: until then, deliveries carry a signature with the "
        "replaced secret too."
    )
    last_success_at: datetime | None
    last_failure_at: datetime | None
    last_error: str | None = Field(description="Why the latest failed attempt failed.")


class CreatedWebhookOut(WebhookOut):
    secret: str = Field(
        description="Verifies every delivery's `webhook-signature` (Standard Webhooks). Shown "
        "only now: store it in your secrets manager."
    )


def _out(endpoint: WebhookEndpoint) -> WebhookOut:
    return WebhookOut(
        endpoint_id=endpoint.endpoint_id,
        url=endpoint.url,
        events=list(endpoint.events),
        created_at=endpoint.created_at,
        previous_secret_until=endpoint.previous_secret_until,
        last_success_at=endpoint.last_success_at,
        last_failure_at=endpoint.last_failure_at,
        last_error=endpoint.last_error,
    )


@router.get("/v1/organisations/{tenant_id}/webhooks")
async def webhooks(who: Keeper, services: ServicesDep) -> list[WebhookOut]:
    return [_out(e) for e in await services.webhook_endpoints.of_tenant(who.tenant_id)]


@router.post("/v1/organisations/{tenant_id}/webhooks", status_code=201, dependencies=[JsonOnly])
async def add(body: WebhookIn, who: Changer, services: ServicesDep) -> CreatedWebhookOut:
    """The URL's host must resolve to public addresses only; redirects are never followed."""
    created = await services.webhook_endpoints.add(
        who.tenant_id, url=body.url, events=body.events, actor=who.actor
    )
    return CreatedWebhookOut(**_out(created.endpoint).model_dump(), secret=created.secret)


@router.post("/v1/organisations/{tenant_id}/webhooks/{endpoint_id}/secret")
async def rotate_secret(
    endpoint_id: EndpointParam, who: Changer, services: ServicesDep
) -> CreatedWebhookOut:
    """A new secret, shown only now; for a day, deliveries are signed with the old one too,
    so your receiver can move to the new one without refusing any."""
    rotated = await services.webhook_endpoints.rotate_secret(
        who.tenant_id, endpoint_id, actor=who.actor
    )
    return CreatedWebhookOut(**_out(rotated.endpoint).model_dump(), secret=rotated.secret)


class WebhookTestOut(BaseModel):
    delivered: bool
    error: str | None = Field(description="Why the endpoint did not take it.")


@router.post("/v1/organisations/{tenant_id}/webhooks/{endpoint_id}/test")
async def send_test(
    endpoint_id: EndpointParam, who: Changer, services: ServicesDep
) -> WebhookTestOut:
    """Send a signed `webhook.test` event now (`data`: organisation_id, endpoint_id), and say
    whether the endpoint answered 2xx."""
    error = await services.webhook_dispatcher.send_test(who.tenant_id, endpoint_id)
    return WebhookTestOut(delivered=error is None, error=error)


@router.delete("/v1/organisations/{tenant_id}/webhooks/{endpoint_id}", status_code=204)
async def remove(endpoint_id: EndpointParam, who: Changer, services: ServicesDep) -> Response:
    """Deliveries still owed to the endpoint are dropped with it."""
    await services.webhook_endpoints.remove(who.tenant_id, endpoint_id, actor=who.actor)
    return Response(status_code=204)
