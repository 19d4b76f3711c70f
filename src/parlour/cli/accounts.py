"""Dashboard accounts, from the server: platform staff, roles, memberships, disabling. People
of an organisation sign up or are invited; platform staff are made here, and choose their own
password from a mailed link. Nothing here sets or reads a password (T-45)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from parlour.audit.events import Actor
from parlour.cli.common import settings, shown, with_services
from parlour.identity.models import PlatformRole, Role

if TYPE_CHECKING:
    from parlour.services import Services


@click.group()
def account() -> None:
    """Dashboard accounts."""


@account.command("create")
@click.argument("email")
@click.option("--operator", "role", flag_value="operator", help="Verifies organisations.")
@click.option("--superadmin", "role", flag_value="superadmin", help="Also manages operators.")
def account_create(email: str, role: str | None) -> None:
    """Make platform staff: the first operator starts here. The account (made if the address
    has none) gets the role at once, and a link to choose a password is mailed to it; its first
    login sets up two-step login. People of an organisation sign up or are invited instead."""
    if role is None:
        raise click.UsageError(
            "give --operator or --superadmin: an account made here is platform staff"
        )

    async def work(services: Services) -> bool:
        return await services.platform_staff.add(email, PlatformRole(role), actor=Actor.cli())

    mailed = with_services(work)
    click.echo(f"{shown(email)}: platform {role}")
    if not mailed:
        click.echo("the account already has a password: log in at /dashboard/login")
        return
    config = settings()
    where = (
        f"{shown(config.data_dir.resolve() / 'outbox')}/ (no SMTP relay is configured)"
        if config.identity.smtp_host is None
        else shown(email)
    )
    click.echo(f"a link to choose a password was mailed to {where}")


@account.command("platform-role")
@click.argument("email")
@click.option(
    "--role",
    type=click.Choice([r.value for r in PlatformRole] + ["none"]),
    required=True,
    help="operator: verifies organisations; superadmin: also manages operators.",
)
def account_platform_role(email: str, role: str) -> None:
    """Make an account platform staff, or take the role away (`none`)."""

    async def work(services: Services) -> None:
        chosen = None if role == "none" else PlatformRole(role)
        await services.platform_staff.set_role(email, chosen, actor=Actor.cli())
        click.echo(f"{shown(email)}: platform role {role}")

    with_services(work)


@account.command("add-member")
@click.option("--tenant", "tenant_id", required=True)
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.argument("email")
def account_add_member(tenant_id: str, role: str, email: str) -> None:
    """Give an existing account a role in an organisation."""

    async def work(services: Services) -> None:
        await services.members.add(tenant_id, email, Role(role), actor=Actor.cli())
        click.echo(f"{shown(email)}: {role} of {shown(tenant_id)}")

    with_services(work, tenant_id=tenant_id)


@account.command("disable")
@click.argument("email")
def account_disable(email: str) -> None:
    """Stop an account from logging in and end every session it has."""

    async def work(services: Services) -> None:
        found = await services.accounts.by_email(email)
        if found is None:
            raise click.ClickException("no account has this e-mail address")
        await services.accounts.disable(found.account_id, actor=Actor.cli())
        click.echo(f"{shown(email)}: disabled")

    with_services(work)
