"""Members of an organisation with a dashboard session, and their live desk sockets, for tests
of the live desk (docs/desk.md)."""

from __future__ import annotations

import asyncio
import json
import secrets
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from parlour.identity.models import Role, Stage
from parlour.services import Services
from tests.support import canaries
from tests.support.accounts import COOKIE, PASSWORD
from tests.support.chat import FRAME_TIMEOUT_SECONDS, Frame
from tests.support.seed import ACTOR


@dataclass(frozen=True)
class DeskMember:
    tenant_id: str
    account_id: str
    session_token: str  # the dashboard session cookie's value


async def desk_member(
    services: Services, tenant_id: str, role: Role = Role.AGENT, *, email: str | None = None
) -> DeskMember:
    """An account, a member of `tenant_id` in `role`, signed in (an ACTIVE session)."""
    email = email or f"agent-{secrets.token_hex(4)}@example.com"
    await services.signup.sign_up(email, PASSWORD, "Their own", source_ip=None)
    await services.members.add(tenant_id, email, role, actor=ACTOR)
    account = await services.accounts.by_email(email)
    assert account is not None
    async with services.db.transaction() as conn:
        issued = await services.sessions.issue(conn, account.account_id, Stage.ACTIVE, None)
    return DeskMember(tenant_id, account.account_id, canaries.register(issued.token))


def open_desk(ws_base: str, tenant_id: str, token: str | None, origin: str | None) -> Any:
    """The desk socket of `tenant_id`, carrying the session cookie as a browser would."""
    headers = {"cookie": f"{COOKIE}={token}"} if token else {}
    return connect(
        f"{ws_base}/dashboard/o/{tenant_id}/live",
        origin=origin,  # type: ignore[arg-type]
        additional_headers=headers,
        open_timeout=FRAME_TIMEOUT_SECONDS,
        compression=None,
    )


async def hello(
    ws: ClientConnection, conversation_id: str | None = None, after_seq: int = 0
) -> Frame:
    frame: Frame = {"type": "hello"}
    if conversation_id is not None:
        frame |= {"conversation_id": conversation_id, "after_seq": after_seq}
    await ws.send(json.dumps(frame))
    async with asyncio.timeout(FRAME_TIMEOUT_SECONDS):
        ready: Frame = json.loads(await ws.recv())
    assert ready["type"] == "ready", ready
    return ready
