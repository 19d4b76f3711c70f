"""The tamper-evident audit log: verify, export, checkpoint."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from parlour.audit.events import PLATFORM_CHAIN, Actor
from parlour.cli.common import json_line, shown, with_services

if TYPE_CHECKING:
    from parlour.services import Services


@click.group()
def audit() -> None:
    """The tamper-evident audit log."""


def _one_chain(tenant_id: str | None, platform: bool) -> str | None:
    if tenant_id and platform:
        raise click.UsageError("name one chain: --tenant ID or --platform")
    return PLATFORM_CHAIN if platform else tenant_id


@audit.command("verify")
@click.option("--tenant", "tenant_id", help="Only this organisation's chain.")
@click.option("--platform", is_flag=True, help="Only the platform chain.")
def audit_verify(tenant_id: str | None, platform: bool) -> None:
    """Check every chain (or one); exit 1 naming the first bad event if any was edited, deleted
    or reordered."""
    only = _one_chain(tenant_id, platform)

    async def work(services: Services) -> bool:
        ok = True
        for chain in [only] if only else await services.audit.chains():
            result = await services.audit.verify(chain)
            if result.problem is None:
                click.echo(
                    f"ok   {shown(chain)}: {result.events} events, {result.checkpoints} checkpoints"
                )
            else:
                ok = False
                problem = result.problem
                click.echo(f"BAD  {shown(chain)}: event {problem.seq} {shown(problem.reason)}")
        return ok

    if not with_services(work, tenant_id=tenant_id):
        raise SystemExit(1)


@audit.command("export")
@click.option("--tenant", "tenant_id", help="The organisation whose chain to export.")
@click.option("--platform", is_flag=True, help="Export the platform chain.")
def audit_export(tenant_id: str | None, platform: bool) -> None:
    """Write a chain as JSON lines, one event per line, for a SIEM."""
    chain = _one_chain(tenant_id, platform)
    if chain is None:
        raise click.UsageError("name one chain: --tenant ID or --platform")

    async def work(services: Services) -> None:
        events = await services.audit.export_recorded(
            chain, to_chain=PLATFORM_CHAIN, actor=Actor.cli()
        )
        async for event in events:
            click.echo(json_line(event))

    with_services(work, tenant_id=None if platform else chain)


@audit.command("checkpoint")
def audit_checkpoint() -> None:
    """Sign the head of every chain that changed since its last checkpoint (run periodically)."""

    async def work(services: Services) -> int:
        return await services.audit.checkpoint_all()

    click.echo(f"signed {with_services(work)} checkpoints")
