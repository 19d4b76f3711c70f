"""The `parlour` command: serve, demo, migrate, and tenant, key, knowledge and audit
administration (one module per concept).

Nothing heavy is imported here: the server, the services and their models load only inside the
command that needs them, so `parlour --help` and the administration commands start quickly.
"""

from __future__ import annotations

import logging
import socket
from typing import TYPE_CHECKING

import click

from parlour.cli.accounts import account
from parlour.cli.assistant import assistant
from parlour.cli.audit import audit
from parlour.cli.common import settings, with_services
from parlour.cli.keys import keys
from parlour.cli.knowledge import faq, knowledge
from parlour.cli.tenants import tenant

if TYPE_CHECKING:
    from parlour.services import Services

# Servers log what they do; the administration commands say only what went wrong, unless -v.
_SERVERS = frozenset({"serve", "demo"})


def configure_logging(verbosity: int, command: str | None) -> None:
    """Quiet by default: warnings and errors only, so a command's output is its answer. A server
    logs at INFO, but the demo, which talks to a person, keeps the migrations' steps quiet.
    `-v` shows INFO (migrations included) everywhere, `-vv` debug detail. The format is
    monitoring.log_format's (parlour.logs); a configuration that does not load yet is the
    command's to report, so its records meanwhile take the default."""
    from parlour.logs import configure
    from parlour.settings import Settings

    try:
        log_format = Settings().monitoring.log_format
    except ValueError:
        log_format = "auto"
    serving = command in _SERVERS
    if verbosity >= 2:
        level = logging.DEBUG
    elif verbosity == 1 or serving:
        level = logging.INFO
    else:
        level = logging.WARNING
    configure(level, log_format)
    quiet_migrations = verbosity == 0 and command != "serve"
    logging.getLogger("alembic").setLevel(logging.WARNING if quiet_migrations else logging.NOTSET)


@click.group()
@click.option(
    "-v", "--verbose", count=True, help="Say more: -v what each step does, -vv debug detail."
)
@click.pass_context
def main(ctx: click.Context, verbose: int) -> None:
    """Parlour: live chat with an assistant grounded in your own knowledge.

    Every command that touches data names, on stderr, the data directory (PARLOUR_DATA_DIR,
    default .parlour) or database (PARLOUR_DATABASE__URL) it works on."""
    configure_logging(verbose, ctx.invoked_subcommand)


@main.command()
@click.option("--host", help="Interface to listen on (default: server.host).")
@click.option("--port", type=int, help="Port to listen on (default: server.port).")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Processes sharing the listening socket (the scaled-out profile only).",
)
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None, workers: int) -> None:
    """Run the Parlour server; migrations are applied on start. With
    monitoring.metrics_listen, /metrics is served on that address too. With --workers N, N
    processes share the port, as N nodes would share the database and Redis."""
    from parlour.cli.common import say_where
    from parlour.web.workers import WorkersRefused, check_workers, serve_workers

    config = settings()
    say_where(config)
    if workers == 1:
        serve_one(None, host, port)
        return
    try:
        check_workers(config, workers)
    except WorkersRefused as refused:
        raise click.UsageError(str(refused)) from None
    ctx.exit(serve_workers(config, workers, serve_one, host=host, port=port))


def serve_one(listening: socket.socket | None, host: str | None, port: int | None) -> None:
    """One server process: on its own port, or as a worker on the socket its parent bound
    (settings from the environment, as the parent's)."""
    from uvicorn.config import STARTUP_FAILURE

    from parlour.app import create_app
    from parlour.web.server import serve as run_server

    if listening is not None:
        configure_logging(0, "serve")  # a spawned worker starts with nothing configured
    config = settings()
    sockets = None if listening is None else [listening]
    if not run_server(create_app(config), config, host=host, port=port, sockets=sockets):
        raise SystemExit(STARTUP_FAILURE)


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
