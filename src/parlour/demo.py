"""`parlour demo`: Parlour on the embedded profile beside a demo organisation's own web app.

The demo app plays the organisation: its page embeds the widget, and its backend mints end-user
tokens with an API key over HTTP, exactly as a real client backend would. A person answers the
handoffs in the dashboard's Inbox with the agent login the demo prints.

One demo runs per data directory: a second one would replace the first one's API key (secrets
are shown once, so every run makes a new one) and then find its ports taken. So a run holds a
lock on its data directory, and binds both ports, before it changes anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import secrets
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import IO

import click
import uvicorn

from parlour.app import create_app
from parlour.audit.events import Actor
from parlour.errors import NotFound
from parlour.identity.models import Role
from parlour.services import Services, build_services
from parlour.settings import Settings
from parlour.web.server import uvicorn_config
from parlour_demo_client.app import create_demo_client

DEMO_NAME = "Demo Bank"
DEMO_ACTOR = Actor.system("demo")
DEMO_DATA_DIR = Path(".parlour-demo")
DEMO_AGENT = "agent@demo-bank.example"


@dataclass(frozen=True, slots=True)
class DemoOrganisation:
    tenant_id: str
    widget_id: str
    api_key: str
    agent_email: str
    agent_password: str


def sample_faq() -> bytes:
    return resources.files("parlour_demo_client").joinpath("sample_faq.csv").read_bytes()


async def prepare_demo_organisation(
    services: Services, client_origins: list[str]
) -> DemoOrganisation:
    """The demo organisation, created on the first run and reused after; its FAQ is reloaded,
    and its API key and its agent's password replaced (the previous key revoked) on every run,
    since secrets are shown once."""
    state_file = services.settings.data_dir / "demo.json"
    state = json.loads(state_file.read_text()) if state_file.exists() else {}
    try:
        tenant = await services.tenants.get(state.get("tenant_id", ""))
        for origin in client_origins:
            await services.tenants.allow_origin(tenant.tenant_id, origin, actor=DEMO_ACTOR)
    except NotFound:
        tenant = await services.tenants.create(DEMO_NAME, client_origins, actor=DEMO_ACTOR)
    await services.knowledge.import_faq_csv(tenant.tenant_id, sample_faq(), actor=DEMO_ACTOR)
    # The demo site's /guest page chats as an anonymous visitor.
    await services.tenants.set_anonymous_visitors(tenant.tenant_id, True, actor=DEMO_ACTOR)
    await _show_every_widget_feature(services, tenant.tenant_id)
    agent_password = secrets.token_urlsafe(12)
    await services.members.set_up_demo_member(
        tenant.tenant_id, DEMO_AGENT, agent_password, Role.AGENT, actor=DEMO_ACTOR
    )
    if previous := state.get("key_id"):
        with contextlib.suppress(NotFound):
            await services.api_keys.revoke(tenant.tenant_id, previous, actor=DEMO_ACTOR)
    issued = await services.api_keys.create(
        tenant.tenant_id, label="demo backend", actor=DEMO_ACTOR
    )
    state_file.parent.mkdir(parents=True, exist_ok=True)
    state_file.write_text(json.dumps({"tenant_id": tenant.tenant_id, "key_id": issued.key.key_id}))
    return DemoOrganisation(
        tenant.tenant_id, tenant.widget_id, issued.secret, DEMO_AGENT, agent_password
    )


async def _show_every_widget_feature(services: Services, tenant_id: str) -> None:
    """The demo's widget offers files too (attachments are off until an organisation turns them
    on); set once, so what is changed on the dashboard's Widget page afterwards stays."""
    appearance = await services.widget_appearance.get(tenant_id)
    if appearance.configured:
        return
    await services.widget_appearance.set(
        tenant_id,
        title=appearance.title,
        greeting=appearance.greeting,
        brand_colour=appearance.brand_colour,
        launcher_position=appearance.launcher_position,
        hours_message=appearance.hours_message,
        features={**appearance.features.as_dict(), "attachments": True},
        language=appearance.language,
        actor=DEMO_ACTOR,
    )


def demo_settings(host: str, port: int) -> Settings:
    base = Settings() if "PARLOUR_DATA_DIR" in os.environ else Settings(data_dir=DEMO_DATA_DIR)
    server = base.server.model_copy(
        update={"host": host, "port": port, "public_url": f"http://{host}:{port}"}
    )
    return base.model_copy(update={"server": server})


@contextlib.contextmanager
def one_demo_per_data_dir(data_dir: Path, description: dict[str, object]) -> Iterator[None]:
    """Hold the data directory's demo lock while the demo runs, or refuse, saying where the
    running one is. The operating system lets the lock go when the process ends, however it
    ends, so a crashed demo never blocks the next."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "demo.lock"
    with path.open("a+", encoding="utf-8") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise click.ClickException(_already_running(lock, data_dir)) from None
        lock.seek(0)
        lock.truncate()
        lock.write(json.dumps(description))
        lock.flush()
        try:
            yield
        finally:
            lock.seek(0)
            lock.truncate()


def _already_running(lock: IO[str], data_dir: Path) -> str:
    lock.seek(0)
    try:
        running = json.loads(lock.read() or "{}")
    except ValueError:
        running = {}
    where = f" at {running['client_url']}" if running.get("client_url") else ""
    process = f" (process {running['pid']})" if running.get("pid") else ""
    return (
        f"a demo is already running from {data_dir}/{process}{where}. Use it, or stop it "
        "(Ctrl-C in its terminal) before starting another; this one changed nothing."
    )


def _listen(host: str, port: int) -> socket.socket:
    """The port, bound now: the demo learns it is taken before it touches its organisation."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise click.ClickException(
            f"cannot listen on {host}:{port} ({error.strerror}); another program uses it: "
            "choose other ports with --port and --client-port"
        ) from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def run_demo(*, host: str, port: int, client_port: int) -> None:
    settings = demo_settings(host, port)
    client_url = f"http://{host}:{client_port}"
    description = {"pid": os.getpid(), "url": settings.server.public_url, "client_url": client_url}
    with one_demo_per_data_dir(settings.data_dir, description):
        sockets = [_listen(host, port), _listen(host, client_port)]
        try:
            asyncio.run(_run_demo(settings, client_url, sockets))
        finally:
            for sock in sockets:
                sock.close()


async def _run_demo(settings: Settings, client_url: str, sockets: list[socket.socket]) -> None:
    host, client_port = settings.server.host, sockets[1].getsockname()[1]
    origins = [client_url] + ([f"http://localhost:{client_port}"] if host == "127.0.0.1" else [])
    services = build_services(settings)
    try:
        await services.migrate()
        organisation = await prepare_demo_organisation(services, origins)
    finally:
        await services.aclose()

    client = create_demo_client(
        parlour_url=settings.server.public_url,
        widget_id=organisation.widget_id,
        api_key=organisation.api_key,
        own_origin=client_url,
    )
    parlour = uvicorn.Server(uvicorn_config(create_app(settings), settings))
    demo_site = uvicorn.Server(uvicorn.Config(client, log_level="warning", log_config=None))
    dashboard = f"{settings.server.public_url}/dashboard"
    click.echo(
        f"\n  Parlour is running at {settings.server.public_url} (data in {settings.data_dir}/)"
        f"\n  Open the demo bank's site and chat:  {client_url}"
        f"\n  The same, as an anonymous visitor:   {client_url}/guest"
        f"\n  Answer handoffs as the bank's agent: {dashboard}/login"
        f"\n    e-mail {organisation.agent_email}, password {organisation.agent_password}"
        "\n    (a new password every run; the first login sets up two-step login)"
        f"\n  Sign up to the dashboard:             {dashboard}/signup"
        f"\n  (mail lands in {settings.data_dir}/outbox/)\n"
        '\n  Try: "How do I reset my password?" or "Do you sell car insurance?"  (Ctrl-C stops)\n'
    )
    await asyncio.gather(parlour.serve(sockets=[sockets[0]]), demo_site.serve(sockets=[sockets[1]]))
