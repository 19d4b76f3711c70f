"""The `parlour` command: serve, demo, migrate, and tenant, key, knowledge and audit
administration (one module per concept)."""

from __future__ import annotations

import logging

import click
import uvicorn

from parlour.app import create_app
from parlour.cli.accounts import account
from parlour.cli.assistant import assistant
from parlour.cli.audit import audit
from parlour.cli.common import settings, with_services
from parlour.cli.keys import keys
from parlour.cli.knowledge import faq, knowledge
from parlour.cli.tenants import tenant
from parlour.services import Services
from parlour.web.server import uvicorn_config


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
    config = settings()
    uvicorn.Server(uvicorn_config(create_app(config), config, host=host, port=port)).run()


@main.command()
def migrate() -> None:
    """Bring the database schema up to date."""

    async def noop(_: Services) -> None:
        return None

    with_services(noop)
    click.echo("database is up to date")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, help="Parlour's port.")
@click.option("--client-port", default=8001, show_default=True, help="The demo app's port.")
def demo(host: str, port: int, client_port: int) -> None:
    """Start Parlour and a demo organisation's web app that embeds the widget."""
    from parlour.demo import run_demo

    run_demo(host=host, port=port, client_port=client_port)


for group in (tenant, account, keys, knowledge, faq, assistant, audit):
    main.add_command(group)
