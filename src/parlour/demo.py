"""`parlour demo`: Parlour on the embedded profile beside a demo organisation's own web app.

The demo app plays the organisation: its page embeds the widget, and its backend mints end-user
tokens with an API key over HTTP, exactly as a real client backend would.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import click
import uvicorn

from parlour.app import create_app
from parlour.audit.events import Actor
from parlour.errors import NotFound
from parlour.services import Services, build_services
from parlour.settings import Settings
from parlour.web.server import uvicorn_config
from parlour_demo_client.app import create_demo_client

DEMO_NAME = "Demo Bank"
DEMO_ACTOR = Actor.system("demo")
DEMO_DATA_DIR = Path(".parlour-demo")


@dataclass(frozen=True, slots=True)
class DemoOrganisation:
    tenant_id: str
    widget_id: str
    api_key: str


def sample_faq() -> bytes:
    return resources.files("parlour_demo_client").joinpath("sample_faq.csv").read_bytes()


async def prepare_demo_organisation(
    services: Services, client_origins: list[str]
) -> DemoOrganisation:
    """The demo organisation, created on the first run and reused after; its FAQ is reloaded and
    its API key replaced (the previous one revoked) on every run, since secrets are shown once."""
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
    if previous := state.get("key_id"):
        with contextlib.suppress(NotFound):
            await services.keys.revoke_api_key(tenant.tenant_id, previous, actor=DEMO_ACTOR)
    issued = await services.keys.create_api_key(
        tenant.tenant_id, label="demo backend", actor=DEMO_ACTOR
    )
    state_file.parent.mkdir(parents=True, exist_ok=True)
    state_file.write_text(json.dumps({"tenant_id": tenant.tenant_id, "key_id": issued.key.key_id}))
    return DemoOrganisation(tenant.tenant_id, tenant.widget_id, issued.secret)


def demo_settings(host: str, port: int) -> Settings:
    base = Settings() if "PARLOUR_DATA_DIR" in os.environ else Settings(data_dir=DEMO_DATA_DIR)
    server = base.server.model_copy(
        update={"host": host, "port": port, "public_url": f"http://{host}:{port}"}
    )
    return base.model_copy(update={"server": server})


def run_demo(*, host: str, port: int, client_port: int) -> None:
    asyncio.run(_run_demo(host, port, client_port))


async def _run_demo(host: str, port: int, client_port: int) -> None:
    settings = demo_settings(host, port)
    client_url = f"http://{host}:{client_port}"
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
    servers = [
        uvicorn.Server(uvicorn_config(create_app(settings), settings, host=host, port=port)),
        uvicorn.Server(uvicorn.Config(client, host=host, port=client_port, log_level="warning")),
    ]
    click.echo(
        f"\n  Parlour is running at {settings.server.public_url} (data in {settings.data_dir}/)"
        f"\n  Open the demo bank's site and chat:  {client_url}"
        f"\n  The same, as an anonymous visitor:   {client_url}/guest"
        f"\n  Sign up to the dashboard:             {settings.server.public_url}/dashboard/signup"
        f"\n  (mail lands in {settings.data_dir}/outbox/)\n"
        '\n  Try: "How do I reset my password?" or "Do you sell car insurance?"  (Ctrl-C stops)\n'
    )
    await asyncio.gather(*(server.serve() for server in servers))
