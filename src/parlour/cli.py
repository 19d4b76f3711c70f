"""The `parlour` command: serve, demo, migrate, and tenant, key and FAQ administration."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

import click
import uvicorn

from parlour.app import create_app
from parlour.audit.events import PLATFORM_CHAIN, Actor, AuditExported
from parlour.crypto.master_key import generate_master_key
from parlour.errors import ParlourError
from parlour.keys.models import Scope
from parlour.services import Services, build_services
from parlour.settings import Settings
from parlour.storage.types import utcnow
from parlour.web.server import uvicorn_config

T = TypeVar("T")


def _settings() -> Settings:
    try:
        return Settings()
    except ValueError as exc:
        raise click.ClickException(f"configuration: {exc}") from None


def _with_services(work: Callable[[Services], Awaitable[T]]) -> T:
    """Run `work` against freshly migrated services, as one short-lived process would."""

    async def run() -> T:
        services = build_services(_settings())
        try:
            await services.migrate()
            return await work(services)
        finally:
            await services.aclose()

    try:
        return asyncio.run(run())
    except ParlourError as error:
        raise click.ClickException(f"{error.code}: {error.message}") from None


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log debug detail.")
def main(verbose: bool) -> None:
    """Parlour: live chat with an assistant grounded in your own knowledge."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )


@main.command()
@click.option("--host", help="Interface to listen on (default: server.host).")
@click.option("--port", type=int, help="Port to listen on (default: server.port).")
def serve(host: str | None, port: int | None) -> None:
    """Run the Parlour server; migrations are applied on start."""
    settings = _settings()
    uvicorn.Server(uvicorn_config(create_app(settings), settings, host=host, port=port)).run()


@main.command()
def migrate() -> None:
    """Bring the database schema up to date."""

    async def noop(_: Services) -> None:
        return None

    _with_services(noop)
    click.echo("database is up to date")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, help="Parlour's port.")
@click.option("--client-port", default=8001, show_default=True, help="The demo app's port.")
def demo(host: str, port: int, client_port: int) -> None:
    """Start Parlour and a demo organisation's web app that embeds the widget."""
    from parlour.demo import run_demo

    run_demo(host=host, port=port, client_port=client_port)


@main.group()
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
            click.echo(f"origin:    {origin}")

    _with_services(work)


@tenant.command("allow-origin")
@click.option("--tenant", "tenant_id", required=True)
@click.argument("origin")
def tenant_allow_origin(tenant_id: str, origin: str) -> None:
    """Allow a web origin to embed the organisation's widget."""

    async def work(services: Services) -> str:
        await services.tenants.get(tenant_id)
        return await services.tenants.allow_origin(tenant_id, origin, actor=Actor.cli())

    click.echo(f"allowed: {_with_services(work)}")


@tenant.command("allow-app")
@click.option("--tenant", "tenant_id", required=True)
@click.argument("app_id")
def tenant_allow_app(tenant_id: str, app_id: str) -> None:
    """Allow a mobile app (bundle or package id, e.g. com.example.bank) to open chat sockets."""

    async def work(services: Services) -> str:
        await services.tenants.get(tenant_id)
        return await services.tenants.allow_app(tenant_id, app_id, actor=Actor.cli())

    click.echo(f"allowed app: {_with_services(work)}")


@tenant.command("anonymous-visitors")
@click.option("--tenant", "tenant_id", required=True)
@click.argument("state", type=click.Choice(["on", "off"]))
def tenant_anonymous_visitors(tenant_id: str, state: str) -> None:
    """Let visitors chat without signing in (each gets a fresh, isolated identity), or not."""

    async def work(services: Services) -> None:
        await services.tenants.get(tenant_id)
        await services.tenants.set_anonymous_visitors(tenant_id, state == "on", actor=Actor.cli())

    _with_services(work)
    click.echo(f"anonymous visitors: {state}")


@tenant.command("delete")
@click.option("--tenant", "tenant_id", required=True)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def tenant_delete(tenant_id: str, yes: bool) -> None:
    """Delete an organisation: its rows, audit chain and data keys (crypto-shredding)."""
    if not yes:
        click.confirm(f"Delete organisation {tenant_id} and all of its data for good?", abort=True)

    async def work(services: Services) -> None:
        await services.tenants.delete(tenant_id, actor=Actor.cli())

    _with_services(work)
    click.echo(f"deleted {tenant_id}; its data keys are destroyed")


@main.group()
def keys() -> None:
    """API keys and the master key."""


@keys.command("create")
@click.option("--tenant", "tenant_id", required=True)
@click.option("--label", default="API key", show_default=True)
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    type=click.Choice([s.value for s in Scope]),
    default=[Scope.MINT_END_USER_TOKENS.value],
    show_default=True,
)
@click.option("--expires-in-days", type=click.IntRange(1, 3650))
def keys_create(
    tenant_id: str, label: str, scopes: tuple[str, ...], expires_in_days: int | None
) -> None:
    """Create an API key. Its secret is printed once and never again."""

    async def work(services: Services) -> None:
        await services.tenants.get(tenant_id)
        expires = utcnow() + timedelta(days=expires_in_days) if expires_in_days else None
        issued = await services.keys.create_api_key(
            tenant_id,
            label=label,
            scopes=[Scope(s) for s in scopes],
            expires_at=expires,
            actor=Actor.cli(),
        )
        click.echo(f"key_id: {issued.key.key_id}")
        click.echo(f"secret: {issued.secret}")
        click.echo("Store the secret now: Parlour keeps only its digest.", err=True)

    _with_services(work)


@keys.command("rotate-master")
def keys_rotate_master() -> None:
    """Re-wrap every data key with the current master key.

    Set the new key as PARLOUR_CRYPTO__MASTER_KEY and the old one in
    PARLOUR_CRYPTO__PREVIOUS_MASTER_KEYS, run this, then drop the old key."""

    async def work(services: Services) -> int:
        return await services.tenants.rotate_master_key(actor=Actor.cli())

    click.echo(f"re-wrapped {_with_services(work)} data keys; no data was re-encrypted")


@keys.command("rotate-data-key")
@click.option("--tenant", "tenant_id", required=True)
def keys_rotate_data_key(tenant_id: str) -> None:
    """Give an organisation a new data key and re-encrypt its data with it."""

    async def work(services: Services) -> tuple[int, int]:
        return await services.tenants.rotate_data_key(tenant_id, actor=Actor.cli())

    version, moved = _with_services(work)
    click.echo(f"data key version {version}; re-encrypted {moved} values")


@keys.command("rotate-signing")
@click.option("--tenant", "tenant_id", required=True)
@click.option(
    "--revoke-now",
    is_flag=True,
    help="Refuse the old key's tokens at once (and close the sockets they opened).",
)
def keys_rotate_signing(tenant_id: str, revoke_now: bool) -> None:
    """Give an organisation a new token-signing key; the old one stays valid for the overlap
    window (tokens.signing_key_overlap_seconds) unless --revoke-now."""

    async def work(services: Services) -> str:
        await services.tenants.get(tenant_id)
        overlap = 0 if revoke_now else services.settings.tokens.signing_key_overlap_seconds
        key = await services.keys.rotate_signing_key(
            tenant_id, overlap=timedelta(seconds=overlap), actor=Actor.cli()
        )
        return key.kid

    click.echo(f"new signing key: {_with_services(work)}")


@keys.command("register-client")
@click.option("--tenant", "tenant_id", required=True)
@click.argument("public_key", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def keys_register_client(tenant_id: str, public_key: Path) -> None:
    """Register the public key (PEM, Ed25519 or P-256) the organisation's backend signs
    end-user tokens with; prints the kid, iss and aud its tokens must carry."""
    pem = public_key.read_text()

    async def work(services: Services) -> None:
        tenant = await services.tenants.get(tenant_id)
        key = await services.keys.register_client_key(tenant_id, pem, actor=Actor.cli())
        click.echo(f"kid: {key.kid}")
        click.echo(f"alg: {key.algorithm}")
        click.echo(f"iss: client:{tenant.widget_id}")
        click.echo(f"aud: parlour:widget:{tenant.widget_id}")

    _with_services(work)


@keys.command("revoke-client")
@click.option("--tenant", "tenant_id", required=True)
@click.argument("kid")
def keys_revoke_client(tenant_id: str, kid: str) -> None:
    """Stop accepting tokens signed with a registered client key, at once."""

    async def work(services: Services) -> None:
        await services.keys.revoke_client_key(tenant_id, kid, actor=Actor.cli())

    _with_services(work)
    click.echo(f"revoked {kid}")


@keys.command("generate-master")
def keys_generate_master() -> None:
    """Print a new random master key for PARLOUR_CRYPTO__MASTER_KEY."""
    click.echo(generate_master_key())


@main.group()
def faq() -> None:
    """Frequently asked questions."""


@faq.command("import")
@click.option("--tenant", "tenant_id", required=True)
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def faq_import(tenant_id: str, path: Path) -> None:
    """Replace the organisation's FAQ with a CSV file (columns question,answer)."""

    limit = _settings().knowledge.max_faq_bytes
    if path.stat().st_size > limit:
        raise click.ClickException(f"{path} is larger than the FAQ size limit ({limit} bytes)")
    data = path.read_bytes()

    async def work(services: Services) -> None:
        await services.tenants.get(tenant_id)
        report = await services.knowledge.import_faq_csv(tenant_id, data, actor=Actor.cli())
        click.echo(f"imported {report.imported} entries")
        for error in report.errors:
            click.echo(f"line {error.line}: {error.message}", err=True)
        for item in report.quarantined:
            reasons = "; ".join(item.reasons)
            click.echo(f"line {item.line}: held for review as {item.item_id}: {reasons}", err=True)

    _with_services(work)


@faq.command("review")
@click.option("--tenant", "tenant_id", required=True)
def faq_review(tenant_id: str) -> None:
    """List the entries screening held back, with their reasons."""

    async def work(services: Services) -> None:
        for item in await services.knowledge.quarantined(tenant_id):
            click.echo(f"{item.item_id}  line {item.line}  {'; '.join(item.reasons)}")
            click.echo(f"  Q: {item.question!r}")
            click.echo(f"  A: {item.answer!r}")

    _with_services(work)


@faq.command("decide")
@click.option("--tenant", "tenant_id", required=True)
@click.argument("item_id")
@click.argument("decision", type=click.Choice(["approve", "reject"]))
def faq_decide(tenant_id: str, item_id: str, decision: str) -> None:
    """Approve a held-back entry (it goes live) or reject it (it is deleted); audited."""

    async def work(services: Services) -> None:
        approve = decision == "approve"
        await services.knowledge.decide(tenant_id, item_id, approve=approve, actor=Actor.cli())
        click.echo(f"{item_id} {'approved: it is live' if approve else 'rejected and deleted'}")

    _with_services(work)


@main.group()
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
                    f"ok   {chain}: {result.events} events, {result.checkpoints} checkpoints"
                )
            else:
                ok = False
                click.echo(f"BAD  {chain}: event {result.problem.seq} {result.problem.reason}")
        return ok

    if not _with_services(work):
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
        exported = 0
        async for event in services.audit.export(chain):
            click.echo(json.dumps(event, ensure_ascii=False, separators=(",", ":")))
            exported += 1
        async with services.db.transaction() as conn:
            await services.audit.record(
                conn, PLATFORM_CHAIN, AuditExported(chain, exported), Actor.cli()
            )

    _with_services(work)


@audit.command("checkpoint")
def audit_checkpoint() -> None:
    """Sign the head of every chain that changed since its last checkpoint (run periodically)."""

    async def work(services: Services) -> int:
        return await services.audit.checkpoint_all()

    click.echo(f"signed {_with_services(work)} checkpoints")
