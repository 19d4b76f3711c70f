"""An organisation's webhook endpoints: where they are, which events they hear, and the secret
each delivery is signed with (T-86: one per endpoint, made by Parlour, shown once, stored sealed
with the organisation's data key). An endpoint's host must resolve to public addresses only,
when it is added and again at every delivery (T-87, the egress guard).

A secret is replaced by rotating it: the new one is shown once, and the old one goes on signing
beside it for a day (two signatures in `webhook-signature`), so the receiver can switch over
without refusing a delivery."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from parlour.audit.events import (
    Actor,
    WebhookEndpointAdded,
    WebhookEndpointRemoved,
    WebhookSecretRotated,
)
from parlour.audit.service import AuditLog
from parlour.crypto.vault import Place, TenantCipher, Vault
from parlour.egress import EgressGuard, checked_url
from parlour.errors import InvalidInput, NotFound
from parlour.storage.database import Database
from parlour.storage.ids import time_ordered_id
from parlour.storage.types import Clock, utcnow
from parlour.webhooks.models import EVENTS, CreatedEndpoint, WebhookEndpoint
from parlour.webhooks.repository import EndpointRepository, subscriptions
from parlour.webhooks.signing import new_secret

MAX_ENDPOINTS = 10
ROTATION_OVERLAP = timedelta(days=1)


class WebhookEndpoints:
    def __init__(
        self,
        db: Database,
        vault: Vault,
        audit: AuditLog,
        egress: EgressGuard,
        *,
        allow_insecure_urls: bool,
        subscriptions_cache_seconds: float = 5.0,
        clock: Clock = utcnow,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = db
        self._vault = vault
        self._audit = audit
        self._egress = egress
        self._allow_insecure = allow_insecure_urls
        self._cache_seconds = subscriptions_cache_seconds
        self._clock = clock
        self._monotonic = monotonic
        self._cached: dict[str, tuple[float, Mapping[str, Sequence[str]]]] = {}

    async def add(
        self, tenant_id: str, *, url: str, events: Iterable[str], actor: Actor
    ) -> CreatedEndpoint:
        url = self._checked_url(url)
        chosen = tuple(dict.fromkeys(events))
        if not chosen or not set(chosen) <= set(EVENTS):
            raise InvalidInput(f"choose events among {', '.join(EVENTS)}")
        await self._egress.vetted_address(urlsplit(url).hostname or "")
        endpoint = WebhookEndpoint(
            tenant_id=tenant_id,
            endpoint_id=time_ordered_id(),
            url=url,
            events=chosen,
            created_at=self._clock(),
        )
        secret = new_secret()
        cipher = await self._vault.cipher(tenant_id)
        sealed = cipher.seal_text(secret, _secret_place(endpoint.endpoint_id))
        async with self._db.transaction(tenant_id) as conn:
            repo = EndpointRepository(conn)
            if len(await repo.of_tenant(tenant_id)) >= MAX_ENDPOINTS:
                raise InvalidInput(f"an organisation has at most {MAX_ENDPOINTS} webhooks")
            await repo.insert(endpoint, sealed)
            event = WebhookEndpointAdded(endpoint.endpoint_id, url, list(chosen))
            await self._audit.record(conn, tenant_id, event, actor)
        self._cached.pop(tenant_id, None)
        return CreatedEndpoint(endpoint, secret)

    async def of_tenant(self, tenant_id: str) -> list[WebhookEndpoint]:
        async with self._db.read(tenant_id) as conn:
            return await EndpointRepository(conn).of_tenant(tenant_id)

    async def remove(self, tenant_id: str, endpoint_id: str, *, actor: Actor) -> None:
        """The endpoint, and whatever was still owed to it."""
        async with self._db.transaction(tenant_id) as conn:
            if not await EndpointRepository(conn).delete(tenant_id, endpoint_id):
                raise NotFound("no such webhook")
            await self._audit.record(conn, tenant_id, WebhookEndpointRemoved(endpoint_id), actor)
        self._cached.pop(tenant_id, None)

    async def rotate_secret(
        self, tenant_id: str, endpoint_id: str, *, actor: Actor
    ) -> CreatedEndpoint:
        """A new secret, shown this once; the current one signs beside it for a day."""
        until = self._clock() + ROTATION_OVERLAP
        secret = new_secret()
        async with self._db.transaction(tenant_id) as conn:
            repo = EndpointRepository(conn)
            found = await repo.get(tenant_id, endpoint_id)
            if found is None:
                raise NotFound("no such webhook")
            endpoint, sealed, _ = found
            cipher = await self._vault.cipher(tenant_id)
            current = cipher.open_text(sealed, _secret_place(endpoint_id))
            await repo.replace_secret(
                tenant_id,
                endpoint_id,
                secret_sealed=cipher.seal_text(secret, _secret_place(endpoint_id)),
                previous_sealed=cipher.seal_text(current, _previous_place(endpoint_id)),
                previous_until=until,
            )
            event = WebhookSecretRotated(endpoint_id, until.isoformat())
            await self._audit.record(conn, tenant_id, event, actor)
        return CreatedEndpoint(dataclasses.replace(endpoint, previous_secret_until=until), secret)

    async def with_secrets(
        self, tenant_id: str, endpoint_id: str, *, now: datetime
    ) -> tuple[WebhookEndpoint, list[str]]:
        """The endpoint and the secrets to sign with at `now`, in clear, for deliveries only:
        its own, and the one it replaced while that still signs."""
        async with self._db.read(tenant_id) as conn:
            found = await EndpointRepository(conn).get(tenant_id, endpoint_id)
        if found is None:
            raise NotFound("no such webhook")
        endpoint, sealed, previous = found
        until = endpoint.previous_secret_until
        still_signing = previous is not None and until is not None and now < until

        async def unseal(cipher: TenantCipher) -> list[str]:
            secrets = [cipher.open_text(sealed, _secret_place(endpoint_id))]
            if still_signing and previous is not None:
                secrets.append(cipher.open_text(previous, _previous_place(endpoint_id)))
            return secrets

        return endpoint, await self._vault.using(tenant_id, unseal)

    async def endpoints(self, tenant_id: str) -> Mapping[str, Sequence[str]]:
        """Endpoint ids by the event they hear (chat's `Subscriptions`), asked for every batch
        of messages stored: kept a few seconds, so another node's change is heard that late."""
        now = self._monotonic()
        cached = self._cached.get(tenant_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        async with self._db.read(tenant_id) as conn:
            rows = await subscriptions(conn, tenant_id)
        by_event: dict[str, list[str]] = {}
        for endpoint_id, events in rows:
            for event in events:
                by_event.setdefault(event, []).append(endpoint_id)
        self._cached[tenant_id] = (now + self._cache_seconds, by_event)
        return by_event

    def _checked_url(self, url: str) -> str:
        return checked_url(
            url,
            what="a webhook URL",
            example="https://hooks.example.com/parlour",
            allow_http=self._allow_insecure,
        )


def _secret_place(endpoint_id: str) -> Place:
    return Place("webhook_endpoints", endpoint_id, "secret")


def _previous_place(endpoint_id: str) -> Place:
    return Place("webhook_endpoints", endpoint_id, "previous_secret")
