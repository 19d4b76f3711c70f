"""The providers this platform has configured, and which one a tenant's turn may use."""

from __future__ import annotations

from collections.abc import Mapping

from parlour.assistant.models import AssistantPolicy
from parlour.llm.extractive import ExtractiveProvider
from parlour.llm.provider import Provider

EXTRACTIVE = "extractive"


class Providers:
    def __init__(
        self, configured: Mapping[str, Provider], *, default: str, external_by_default: bool
    ) -> None:
        self._providers: dict[str, Provider] = {EXTRACTIVE: ExtractiveProvider(), **configured}
        if default not in self._providers:
            raise ValueError(f"the default provider {default!r} is not configured")
        self._default = default
        self._external_by_default = external_by_default

    @property
    def names(self) -> list[str]:
        return sorted(self._providers)

    @property
    def external_names(self) -> list[str]:
        return sorted(name for name, p in self._providers.items() if p.external)

    @property
    def default(self) -> Provider:
        """The platform's default provider (`assistant.provider`)."""
        return self._providers[self._default]

    @property
    def extractive(self) -> Provider:
        return self._providers[EXTRACTIVE]

    def for_policy(self, policy: AssistantPolicy) -> Provider:
        """The tenant's provider, or the platform's default. A provider whose prompts would
        leave the deployment is never used for a tenant the platform forbids it (data
        residency) or that declined external providers itself; such a tenant is answered
        extractively instead."""
        provider = self._providers.get(policy.provider or self._default, self.extractive)
        external_allowed = (
            self._external_by_default
            if policy.external_allowed is None
            else policy.external_allowed
        )
        if provider.external and not (external_allowed and policy.external_consent):
            return self.extractive
        return provider

    async def aclose(self) -> None:
        for provider in self._providers.values():
            await provider.aclose()
