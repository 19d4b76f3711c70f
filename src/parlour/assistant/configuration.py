"""What an organisation (and the platform operator) decide about its assistant: the prompt
template and its versions (TB-05), the provider, the data-residency rule and the kill switch.
Every change is audited in the same transaction."""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
from collections.abc import Iterable
from enum import Enum

from sqlalchemy.ext.asyncio import AsyncConnection

from parlour.assistant.models import AssistantPolicy, TemplateVersion
from parlour.assistant.prompts import DEFAULT_TEMPLATE, validate_template
from parlour.assistant.repository import AssistantRepository
from parlour.audit.events import (
    Actor,
    AssistantPolicySet,
    PromptTemplateActivated,
    PromptTemplateSaved,
)
from parlour.audit.service import AuditLog
from parlour.errors import InvalidInput, NotFound
from parlour.storage.database import Database
from parlour.storage.dialect import serialise
from parlour.storage.types import Clock, utcnow


class Keep(Enum):
    """An argument left out: the setting keeps its value (None is a value: the default)."""

    KEEP = "keep"


class UnknownProvider(InvalidInput):
    code = "unknown_provider"
    default_message = "That provider is not configured on this platform."


class AssistantConfiguration:
    def __init__(
        self,
        db: Database,
        audit: AuditLog,
        *,
        providers: Iterable[str],
        external: Iterable[str],
        clock: Clock = utcnow,
    ) -> None:
        self._db = db
        self._audit = audit
        self._clock = clock
        self._providers = frozenset(providers)
        self._external = frozenset(external)

    async def policy(self, tenant_id: str) -> AssistantPolicy:
        async with self._db.read(tenant_id) as conn:
            return await AssistantRepository(conn).policy(tenant_id)

    async def live_template(self, tenant_id: str) -> tuple[int | None, str]:
        """The live template's version (None: Parlour's default) and text."""
        async with self._db.read(tenant_id) as conn:
            repository = AssistantRepository(conn)
            version = (await repository.policy(tenant_id)).template_version
            template = await repository.template(tenant_id, version) if version else None
        return (version, template.body) if template else (None, DEFAULT_TEMPLATE)

    async def save_template(
        self, tenant_id: str, text: str, *, actor: Actor, activate: bool = True
    ) -> TemplateVersion:
        """Validate and store a new version (made live unless `activate` is False)."""
        body = validate_template(text)
        async with self._db.transaction(tenant_id) as conn:
            await serialise(conn, f"prompt-template:{tenant_id}")
            repository = AssistantRepository(conn)
            template = TemplateVersion(
                version=await repository.latest_template_number(tenant_id) + 1,
                body=body,
                sha256=hashlib.sha256(body.encode()).hexdigest(),
                created_by=f"{actor.type.value}:{actor.id}"[:200],
                created_at=self._clock(),
            )
            await repository.add_template(tenant_id, template)
            event = PromptTemplateSaved(template.version, template.sha256)
            await self._audit.record(conn, tenant_id, event, actor)
            if activate:
                await self._activate(repository, conn, tenant_id, template.version, actor)
        return dataclasses.replace(template, live=activate)

    async def activate_template(self, tenant_id: str, version: int, *, actor: Actor) -> None:
        """Make a stored version live; activating an older one rolls back, and version 0 goes
        back to Parlour's default template."""
        async with self._db.transaction(tenant_id) as conn:
            repository = AssistantRepository(conn)
            if version != 0 and await repository.template(tenant_id, version) is None:
                raise NotFound(f"no template version {version}")
            await self._activate(repository, conn, tenant_id, version or None, actor)

    async def _activate(
        self,
        repository: AssistantRepository,
        conn: AsyncConnection,
        tenant_id: str,
        version: int | None,
        actor: Actor,
    ) -> None:
        policy = await repository.policy(tenant_id)
        await repository.set_policy(
            tenant_id, dataclasses.replace(policy, template_version=version), self._clock()
        )
        event = PromptTemplateActivated(version, policy.template_version)
        await self._audit.record(conn, tenant_id, event, actor)

    async def templates(self, tenant_id: str) -> list[TemplateVersion]:
        async with self._db.read(tenant_id) as conn:
            repository = AssistantRepository(conn)
            live = (await repository.policy(tenant_id)).template_version
            listed = await repository.templates(tenant_id)
        return [dataclasses.replace(t, live=t.version == live) for t in listed]

    async def template_text(self, tenant_id: str, version: int) -> str:
        """A stored version's text (0: Parlour's default template)."""
        if version == 0:
            return DEFAULT_TEMPLATE
        async with self._db.read(tenant_id) as conn:
            template = await AssistantRepository(conn).template(tenant_id, version)
        if template is None:
            raise NotFound(f"no template version {version}")
        return template.body

    async def diff_templates(self, tenant_id: str, since: int, to: int) -> str:
        """A unified diff between two versions (0: Parlour's default template)."""
        texts = [await self.template_text(tenant_id, v) for v in (since, to)]
        return "".join(
            difflib.unified_diff(
                texts[0].splitlines(keepends=True),
                texts[1].splitlines(keepends=True),
                fromfile=f"version {since}" if since else "built-in",
                tofile=f"version {to}" if to else "built-in",
            )
        )

    async def set_policy(
        self,
        tenant_id: str,
        *,
        actor: Actor,
        provider: str | Keep | None = Keep.KEEP,
        external_allowed: bool | Keep | None = Keep.KEEP,
        enabled: bool | None = None,
        tools_enabled: bool | None = None,
        external_consent: bool | None = None,
        personalisation: bool | None = None,
    ) -> AssistantPolicy:
        """Change some of the tenant's settings; an argument left out keeps its value."""
        async with self._db.transaction(tenant_id) as conn:
            return await self.set_policy_in(
                conn,
                tenant_id,
                actor=actor,
                provider=provider,
                external_allowed=external_allowed,
                enabled=enabled,
                tools_enabled=tools_enabled,
                external_consent=external_consent,
                personalisation=personalisation,
            )

    async def set_policy_in(
        self,
        conn: AsyncConnection,
        tenant_id: str,
        *,
        actor: Actor,
        provider: str | Keep | None = Keep.KEEP,
        external_allowed: bool | Keep | None = Keep.KEEP,
        enabled: bool | None = None,
        tools_enabled: bool | None = None,
        external_consent: bool | None = None,
        personalisation: bool | None = None,
    ) -> AssistantPolicy:
        """`set_policy` inside the caller's transaction (an organisation's feature switches
        change beside a setting of its own, parlour.features)."""
        repository = AssistantRepository(conn)
        policy = await repository.policy(tenant_id)
        if not isinstance(provider, Keep):
            if provider is not None and provider not in self._providers:
                raise UnknownProvider(
                    f"provider must be one of: {', '.join(sorted(self._providers))}"
                )
            policy = dataclasses.replace(policy, provider=provider)
        if not isinstance(external_allowed, Keep):
            policy = dataclasses.replace(policy, external_allowed=external_allowed)
        if enabled is not None:
            policy = dataclasses.replace(policy, enabled=enabled)
        if tools_enabled is not None:
            policy = dataclasses.replace(policy, tools_enabled=tools_enabled)
        if external_consent is not None:
            policy = dataclasses.replace(policy, external_consent=external_consent)
        if personalisation is not None:
            policy = dataclasses.replace(policy, personalisation=personalisation)
        await repository.set_policy(tenant_id, policy, self._clock())
        event = AssistantPolicySet(
            policy.provider,
            policy.external_allowed,
            policy.enabled,
            policy.tools_enabled,
            policy.external_consent,
            policy.personalisation,
        )
        await self._audit.record(conn, tenant_id, event, actor)
        return policy
