"""The assistant: its prompt template (versions, diff, roll back), provider, data-residency rule
and kill switch. Administrators' acts, every one audited."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from parlour.audit.events import Actor
from parlour.cli.common import shown, shown_text, with_services

if TYPE_CHECKING:
    from parlour.services import Services


@click.group()
def assistant() -> None:
    """An organisation's assistant: prompt template and policy."""


@assistant.group()
def template() -> None:
    """The prompt template: it must keep {{guard}} and {{knowledge}}; {{organisation}} is
    optional."""


@template.command("show")
@click.option("--tenant", "tenant_id", required=True)
def template_show(tenant_id: str) -> None:
    """The live template."""

    async def work(services: Services) -> tuple[int | None, str]:
        return await services.assistant.configuration.live_template(tenant_id)

    version, text = with_services(work, tenant_id=tenant_id)
    click.echo(f"# version {version or 'default'}", err=True)
    click.echo(shown_text(text), nl=False)


@template.command("set")
@click.option("--tenant", "tenant_id", required=True)
@click.option("--draft", is_flag=True, help="Store the version but keep the live one.")
@click.argument("path", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
def template_set(tenant_id: str, draft: bool, path: Path) -> None:
    """Store a new template version from a file (- for standard input) and make it live."""
    text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")

    async def work(services: Services) -> int:
        saved = await services.assistant.configuration.save_template(
            tenant_id, text, actor=Actor.cli(), activate=not draft
        )
        return saved.version

    version = with_services(work, tenant_id=tenant_id)
    click.echo(f"template version {version}{'' if draft else ', live'}")


@template.command("versions")
@click.option("--tenant", "tenant_id", required=True)
def template_versions(tenant_id: str) -> None:
    """Every version, newest first; the live one is marked *."""

    async def work(services: Services) -> None:
        for t in await services.assistant.configuration.templates(tenant_id):
            when = t.created_at.strftime("%Y-%m-%d %H:%M")
            click.echo(
                f"{'*' if t.live else ' '} {t.version:>4}  {when}  {shown(t.created_by)}  "
                f"sha256:{t.sha256[:16]}"
            )

    with_services(work, tenant_id=tenant_id)


@template.command("diff")
@click.option("--tenant", "tenant_id", required=True)
@click.argument("since", type=int)
@click.argument("to", type=int)
def template_diff(tenant_id: str, since: int, to: int) -> None:
    """A unified diff between two versions (0 is Parlour's default template)."""

    async def work(services: Services) -> str:
        return await services.assistant.configuration.diff_templates(tenant_id, since, to)

    click.echo(shown_text(with_services(work, tenant_id=tenant_id)), nl=False)


@template.command("activate")
@click.option("--tenant", "tenant_id", required=True)
@click.argument("version", type=int)
def template_activate(tenant_id: str, version: int) -> None:
    """Make a stored version live (an older one rolls back)."""

    async def work(services: Services) -> None:
        await services.assistant.configuration.activate_template(
            tenant_id, version, actor=Actor.cli()
        )

    with_services(work, tenant_id=tenant_id)
    click.echo(f"template version {version} is live")


@assistant.command("policy")
@click.option("--tenant", "tenant_id", required=True)
@click.option("--provider", help="extractive, local, openai or anthropic; 'default' resets.")
@click.option(
    "--external/--no-external",
    default=None,
    help="Operator: may this tenant's prompts go to providers outside the deployment?",
)
@click.option("--enable/--disable", default=None, help="The kill switch.")
def assistant_policy(
    tenant_id: str, provider: str | None, external: bool | None, enable: bool | None
) -> None:
    """Show, or change, the tenant's provider, data-residency rule and kill switch."""
    from parlour.assistant.configuration import Keep

    async def work(services: Services) -> str:
        configuration = services.assistant.configuration
        if provider is None and external is None and enable is None:
            policy = await configuration.policy(tenant_id)
        else:
            policy = await configuration.set_policy(
                tenant_id,
                actor=Actor.cli(),
                provider=Keep.KEEP
                if provider is None
                else (None if provider == "default" else provider),
                external_allowed=Keep.KEEP if external is None else external,
                enabled=enable,
            )
        used = services.assistant.providers.for_policy(policy).name
        return (
            f"provider: {shown(policy.provider or 'default')} (answers with: {used})\n"
            f"external providers: {_rule(policy.external_allowed)}\n"
            f"enabled: {'yes' if policy.enabled else 'no (kill switch)'}"
        )

    click.echo(with_services(work, tenant_id=tenant_id))


def _rule(allowed: bool | None) -> str:
    return "platform default" if allowed is None else ("allowed" if allowed else "forbidden")
