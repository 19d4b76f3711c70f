"""Dashboard accounts, from the server: platform roles, memberships, disabling. Accounts sign
up for themselves; nothing here sets or reads a password (T-45)."""

from __future__ import annotations

import click

from parlour.audit.events import Actor
from parlour.cli.common import with_services
from parlour.identity.models import PlatformRole, Role
from parlour.services import Services


@click.group()
def account() -> None:
    """Dashboard accounts."""


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
        await services.identity.set_platform_role(email, chosen, actor=Actor.cli())
        click.echo(f"{email}: platform role {role}")

    with_services(work)


@account.command("add-member")
@click.option("--tenant", "tenant_id", required=True)
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.argument("email")
def account_add_member(tenant_id: str, role: str, email: str) -> None:
    """Give an existing account a role in an organisation."""

    async def work(services: Services) -> None:
        await services.tenants.get(tenant_id)
        await services.members.add(tenant_id, email, Role(role), actor=Actor.cli())
        click.echo(f"{email}: {role} of {tenant_id}")

    with_services(work)


@account.command("disable")
@click.argument("email")
def account_disable(email: str) -> None:
    """Stop an account from logging in and end every session it has."""

    async def work(services: Services) -> None:
        found = await services.identity.account_by_email(email)
        if found is None:
            raise click.ClickException("no account has this e-mail address")
        await services.identity.disable(found.account_id, actor=Actor.cli())
        click.echo(f"{email}: disabled")

    with_services(work)
