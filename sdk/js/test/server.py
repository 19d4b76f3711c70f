"""A real Parlour server for the SDK's tests: a fresh SQLite database in a temporary directory,
one organisation (a web origin and a mobile app on its allowlist, anonymous visitors allowed, an
API key that mints tokens, an FAQ, a member who handles conversations), served by uvicorn with Parlour's own configuration on a free port of 127.0.0.1.

The server's clock is a test clock that moves only when told (tests/support/clock.py), so the
token lifetimes the tests exercise never make them wait; `POST /_sdk_test/advance?seconds=N`
moves it (the only route added, and only here). It prints one JSON line saying where it is and
what it seeded, then serves until its standard input closes (the test process ended).

Run by test/support.ts as `python sdk/js/test/server.py` with the repository's src and root on
PYTHONPATH.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import shutil
import socket
import sys
import tempfile
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import uvicorn
from tests.support.clock import ManualClock

from parlour.app import create_app
from parlour.audit.events import Actor
from parlour.identity.models import Role
from parlour.keys.models import Scope
from parlour.services import build_services
from parlour.settings import CryptoSettings, DatabaseSettings, Environment, ServerSettings, Settings
from parlour.web.server import uvicorn_config

ORIGIN = "https://shop.example.com"
APP_ID = "com.example.shop"
FAQ = b"""question,answer
How do I reset my password?,"Tap Forgot password on the sign-in screen, then follow the link."
What are your opening hours?,"We are open Monday to Friday, 9:00 to 17:00."
How do I block my card?,"Go to Cards, choose the card and tap Freeze card."
"""
ACTOR = Actor.system("sdk-tests")


async def seed(settings: Settings, clock: ManualClock) -> dict[str, str]:
    services = build_services(settings, clock=clock)
    try:
        await services.migrate()
        tenant = await services.tenants.create("SDK Test Org", [ORIGIN], actor=ACTOR)
        await services.tenants.allow_app(tenant.tenant_id, APP_ID, actor=ACTOR)
        await services.tenants.set_anonymous_visitors(tenant.tenant_id, True, actor=ACTOR)
        issued = await services.api_keys.create(
            tenant.tenant_id,
            label="sdk-tests",
            scopes=(Scope.MINT_END_USER_TOKENS, Scope.REVOKE_END_USERS),
            actor=ACTOR,
        )
        await services.knowledge.import_faq_csv(tenant.tenant_id, FAQ, actor=ACTOR)
        # A member who handles conversations, so customers may ask for a person.
        agent = "agent@sdk-tests.example.com"
        await services.signup.sign_up(agent, secrets.token_urlsafe(24), "Agent", source_ip=None)
        await services.members.add(tenant.tenant_id, agent, Role.AGENT, actor=ACTOR)
        return {
            "tenant_id": tenant.tenant_id,
            "widget_id": tenant.widget_id,
            "api_key": issued.secret,
            "origin": ORIGIN,
            "app_id": APP_ID,
        }
    finally:
        await services.aclose()


def with_clock_control(app: Any, clock: ManualClock) -> Any:
    """The app, and one route that moves the server's clock."""

    async def control(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/_sdk_test/advance":
            query = dict(
                part.split("=", 1) for part in scope["query_string"].decode().split("&") if part
            )
            clock.advance(timedelta(seconds=float(query.get("seconds", "0"))))
            body = json.dumps({"now": clock.now().isoformat()}).encode()
            headers = [(b"content-type", b"application/json")]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await app(scope, receive, send)

    return control


def main() -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="parlour-sdk-test-"))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = Settings(
        environment=Environment.TEST,
        data_dir=data_dir,
        database=DatabaseSettings(url=f"sqlite+aiosqlite:///{data_dir / 'parlour.db'}"),
        server=ServerSettings(public_url=url),
        crypto=CryptoSettings(master_key=base64.b64encode(secrets.token_bytes(32)).decode()),
    )
    clock = ManualClock()
    seeded = asyncio.run(seed(settings, clock))
    config = uvicorn_config(
        with_clock_control(create_app(settings, clock=clock), clock),
        settings,
        host="127.0.0.1",
        port=0,
    )
    config.log_level = "warning"
    server = uvicorn.Server(config)

    def stop_when_stdin_closes() -> None:
        sys.stdin.read()
        server.should_exit = True

    threading.Thread(target=stop_when_stdin_closes, daemon=True).start()
    original_startup = server.startup

    async def startup(sockets: list[socket.socket] | None = None) -> None:
        await original_startup(sockets)
        print(json.dumps({"url": url, **seeded}), flush=True)

    server.startup = startup  # type: ignore[method-assign]
    try:
        server.run(sockets=[sock])
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
