"""Organisations: creating them, what they allow, deleting them."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from parlour.audit.events import Actor
from parlour.cli.common import shown, with_services

if TYPE_CHECKING:
    from parlour.services import Services


@click.group()
def tenant() -> None:
    """Organisations."""


@tenant.command("create")
@click.argument("name")
@click.option(
    "--origin", "origins", multiple=True, help="A web origin allowed to embed the widget."
)
def tenant_create(name: str, origins: tuple[str, ...]) -> None:
    """Create an organisation and print its ids."""

    async def work(services: Services) -> None:
        created = await services.tenants.create(name, origins, actor=Actor.cli())
        click.echo(f"tenant_id: {created.tenant_id}")
        click.echo(f"widget_id: {created.widget_id}")
        for origin in await services.tenants.origins(created.tenant_id):
            click.echo(f"origin:    {shown(origin)}")

    with_services(work)


@tenant.command("list")
def tenant_list() -> None:
    """Every organisation, oldest first: its id, widget id, verification and name."""
    from parlour.tenants.models import Verification

    async def work(services: Services) -> None:
        found = [
            t
            for state in Verification
            for t in await services.tenants.by_verification(state, limit=100_000)
        ]
        if not found:
            click.echo("no organisations yet: `parlour tenant create NAME` makes one", err=True)
        for t in sorted(found, key=lambda t: t.created_at):
            click.echo(f"{t.tenant_id}  {t.widget_id}  {t.verification.value:<8}  {shown(t.name)}")

    with_services(work)


@tenant.command("allow-origin")
@click.option("--tenant", "tenant_id", required=True)
@click.argument("origin")
def tenant_allow_origin(tenant_id: str, origin: str) -> None:
    """Allow a web origin to embed the organisation's widget."""

    async def work(services: Services) -> str:
        return await services.tenants.allow_origin(tenant_id, origin, actor=Actor.cli())

    click.echo(f"allowed: {shown(with_services(work, tenant_id=tenant_id))}")


@tenant.command("allow-app")
@click.option("--tenant", "tenant_id", required=True)
@click.argument("app_id")
def tenant_allow_app(tenant_id: str, app_id: str) -> None:
    """Allow a mobile app (bundle or package id, e.g. com.example.bank) to open chat sockets."""

    async def work(services: Services) -> str:
        return await services.tenants.allow_app(tenant_id, app_id, actor=Actor.cli())

    click.echo(f"allowed app: {shown(with_services(work, tenant_id=tenant_id))}")


@tenant.command("anonymous-visitors")
@click.option("--tenant", "tenant_id", required=True)
@click.argument("state", type=click.Choice(["on", "off"]))
def tenant_anonymous_visitors(tenant_id: str, state: str) -> None:
    """Let visitors chat without signing in (each gets a fresh, isolated identity), or not."""

    async def work(services: Services) -> None:
        await services.tenants.set_anonymous_visitors(tenant_id, state == "on", actor=Actor.cli())

    with_services(work, tenant_id=tenant_id)
    click.echo(f"anonymous visitors: {state}")


@tenant.command("delete")
@click.option("--tenant", "tenant_id", required=True)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def tenant_delete(tenant_id: str, yes: bool) -> None:
    """Delete an organisation: its rows, audit chain and data keys (crypto-shredding)."""
    if not yes:
        click.confirm(
            f"Delete organisation {shown(tenant_id)} and all of its data for good?", abort=True
        )

    async def work(services: Services) -> None:
        await services.tenants.delete(tenant_id, actor=Actor.cli())

    with_services(work, tenant_id=tenant_id)
    click.echo(f"deleted {shown(tenant_id)}; its data keys are destroyed")
