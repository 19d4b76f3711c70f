"""Keys: API keys, the master key, data keys, signing keys and client keys."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

from parlour.audit.events import Actor
from parlour.cli.common import shown, with_services
from parlour.keys.models import Scope

if TYPE_CHECKING:
    from parlour.services import Services


@click.group()
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
        now = services.clock()
        expires = now + timedelta(days=expires_in_days) if expires_in_days else None
        issued = await services.api_keys.create(
            tenant_id,
            label=label,
            scopes=[Scope(s) for s in scopes],
            expires_at=expires,
            actor=Actor.cli(),
        )
        key = issued.key
        expiry = key.expires_at.strftime("%Y-%m-%d %H:%M UTC") if key.expires_at else "never"
        click.echo(f"key_id:  {key.key_id}")
        click.echo(f"label:   {shown(key.label)}")
        click.echo(f"scopes:  {' '.join(sorted(key.scopes))}")
        click.echo(f"expires: {expiry}")
        click.echo(f"secret:  {issued.secret}")
        click.echo("Store the secret now: Parlour keeps only its digest.", err=True)

    with_services(work, tenant_id=tenant_id)


@keys.command("rotate-master")
def keys_rotate_master() -> None:
    """Re-wrap every data key with the current master key.

    Set the new key as PARLOUR_CRYPTO__MASTER_KEY and the old one in
    PARLOUR_CRYPTO__PREVIOUS_MASTER_KEYS, run this, then drop the old key."""

    async def work(services: Services) -> int:
        return await services.tenants.rotate_master_key(actor=Actor.cli())

    click.echo(f"re-wrapped {with_services(work)} data keys; no data was re-encrypted")


@keys.command("rotate-data-key")
@click.option("--tenant", "tenant_id", required=True)
def keys_rotate_data_key(tenant_id: str) -> None:
    """Give an organisation a new data key and re-encrypt its data with it."""

    async def work(services: Services) -> tuple[int, int]:
        return await services.tenants.rotate_data_key(tenant_id, actor=Actor.cli())

    version, moved = with_services(work, tenant_id=tenant_id)
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
        overlap = 0 if revoke_now else services.settings.tokens.signing_key_overlap_seconds
        key = await services.signing_keys.rotate(
            tenant_id, overlap=timedelta(seconds=overlap), actor=Actor.cli()
        )
        return key.kid

    click.echo(f"new signing key: {with_services(work, tenant_id=tenant_id)}")


@keys.command("register-client")
@click.option("--tenant", "tenant_id", required=True)
@click.argument("public_key", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def keys_register_client(tenant_id: str, public_key: Path) -> None:
    """Register the public key (PEM, Ed25519 or P-256) the organisation's backend signs
    end-user tokens with; prints the kid, iss and aud its tokens must carry."""
    pem = public_key.read_text()

    async def work(services: Services) -> None:
        tenant = await services.tenants.get(tenant_id)
        key = await services.client_keys.register(tenant_id, pem, actor=Actor.cli())
        click.echo(f"kid: {key.kid}")
        click.echo(f"alg: {key.algorithm}")
        click.echo(f"iss: client:{tenant.widget_id}")
        click.echo(f"aud: parlour:widget:{tenant.widget_id}")

    with_services(work)


@keys.command("revoke-client")
@click.option("--tenant", "tenant_id", required=True)
@click.argument("kid")
def keys_revoke_client(tenant_id: str, kid: str) -> None:
    """Stop accepting tokens signed with a registered client key, at once."""

    async def work(services: Services) -> None:
        await services.client_keys.revoke(tenant_id, kid, actor=Actor.cli())

    with_services(work, tenant_id=tenant_id)
    click.echo(f"revoked {shown(kid)}")


@keys.command("generate-master")
def keys_generate_master() -> None:
    """Print a new random master key for PARLOUR_CRYPTO__MASTER_KEY."""
    from parlour.crypto.master_key import generate_master_key

    click.echo(generate_master_key())
