"""What every command shares: settings from the environment, and services for one run."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click

from parlour.errors import ParlourError
from parlour.services import Services, build_services
from parlour.settings import Settings

T = TypeVar("T")


def settings() -> Settings:
    try:
        return Settings()
    except ValueError as exc:
        raise click.ClickException(f"configuration: {exc}") from None


def with_services(work: Callable[[Services], Awaitable[T]]) -> T:
    """Run `work` against freshly migrated services, as one short-lived process would."""

    async def run() -> T:
        services = build_services(settings())
        try:
            await services.migrate()
            return await work(services)
        finally:
            await services.aclose()

    try:
        return asyncio.run(run())
    except ParlourError as error:
        raise click.ClickException(f"{error.code}: {error.message}") from None
