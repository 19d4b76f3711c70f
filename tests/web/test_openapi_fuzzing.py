"""schemathesis against the OpenAPI document of a real server, as two organisations at once:
generated requests (valid and invalid) to every operation find no 500, no response outside its
documented schema, and, through schemathesis's object-level-authorization check, no object of one
organisation that the other can read (T-29, T-58)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import httpx

from parlour.keys.models import Scope
from tests.conftest import Stack
from tests.support import canaries
from tests.support.accounts import COOKIE, Browser, signed_up_and_enrolled
from tests.support.seed import ACTOR, SAMPLE_FAQ

ST = Path(sys.executable).parent / "st"
PEERS = ("tenant-a", "tenant-b")


async def identity(stack: Stack, client: httpx.AsyncClient, name: str) -> dict[str, object]:
    """An organisation's owner session and an API key with every scope, as fixed headers."""
    browser = Browser(client)
    email, _codes = await signed_up_and_enrolled(stack, browser)
    account = await stack.services.accounts.by_email(email)
    assert account is not None
    (membership,) = await stack.services.authorisation.memberships(account.account_id)
    tenant_id = membership.tenant_id
    key = await stack.services.api_keys.create(
        tenant_id, label=f"{name} fuzzing", scopes=list(Scope), actor=ACTOR
    )
    await stack.services.knowledge.import_faq_csv(tenant_id, SAMPLE_FAQ, actor=ACTOR)
    secret = canaries.register(key.secret)
    return {
        "name": name,
        "fixedHeaders": [
            {"name": "Cookie", "value": f"{COOKIE}={canaries.register(browser.cookie or '')}"},
            {"name": "X-CSRF-Token", "value": browser.csrf},
            {"name": "Authorization", "value": f"Bearer {secret}"},
        ],
    }


async def test_generated_requests_find_no_server_error_schema_violation_or_cross_tenant_read(
    stack: Stack, tmp_path: Path
) -> None:
    """T-29, T-58."""
    async with httpx.AsyncClient(base_url=stack.url) as client:
        users = [await identity(stack, client, name) for name in PEERS]
    auth = tmp_path / "wfc-auth.json"
    auth.write_text(json.dumps({"auth": users}))
    config = tmp_path / "schemathesis.toml"
    config.write_text(f'[auth.wfc]\npath = "{auth}"\npeers = {json.dumps(list(PEERS))}\n')
    command = [
        str(ST),
        "--config-file",
        str(config),
        "run",
        f"{stack.url}/openapi.json",
        "--checks",
        "not_a_server_error,response_schema_conformance,content_type_conformance,"
        "object_level_authorization",
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        "15",
        "--seed",
        "20261201",
        "--workers",
        "1",
        "--no-color",
        # Signing in and out would end the very sessions the run authenticates with.
        "--exclude-path-regex",
        "^/v1/session",
    ]
    finished = await asyncio.to_thread(
        subprocess.run,
        command,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=tmp_path,  # its example cache goes there, not into the checkout
    )
    assert finished.returncode == 0, finished.stdout[-6000:] + finished.stderr[-2000:]
