"""Re-checking the members behind open desk sockets (T-97), for the whole node at once.

A desk socket is let in on an ACTIVE dashboard session and a membership whose role reads the
desk. Afterwards the member may log out, the session may run out (idle or absolute), the member
may be removed from the organisation or given a role that does not handle conversations. Every
`every` seconds this re-checks every open desk socket (once per distinct session and
organisation) and ends those whose session ended (4401, `session_ended`) or whose membership or
role no longer lets them work the desk (4403, `membership_ended`). The re-check reads the
session without counting a use: an open socket never keeps a session alive (T-41). One task for
the node, like the customers' identity watch (chat/identity_watch.py), on the sockets' clock.
"""

from __future__ import annotations

import logging
from typing import Protocol

from parlour.chat.clock import Rounds, Timers
from parlour.errors import Forbidden, NotFound, ParlourError, Unauthenticated
from parlour.identity.authorisation import Authorisation
from parlour.identity.policy import Permission
from parlour.identity.sessions import Sessions

log = logging.getLogger(__name__)


class SessionEnded(Unauthenticated):
    code = "session_ended"
    default_message = "Your session has ended; sign in again."


class MembershipEnded(Forbidden):
    code = "membership_ended"
    default_message = "You no longer handle this organisation's conversations."


class Watched(Protocol):
    @property
    def tenant_id(self) -> str: ...

    @property
    def session_token(self) -> str | None: ...

    def ended(self, error: ParlourError) -> None: ...


class DeskWatch(Rounds[Watched]):
    name = "desk watch"

    def __init__(
        self,
        sessions: Sessions,
        authorisation: Authorisation,
        *,
        every_seconds: float,
        clock: Timers | None = None,
    ) -> None:
        self._sessions = sessions
        self._authorisation = authorisation
        super().__init__(every_seconds=every_seconds, clock=clock)

    async def check_now(self) -> None:
        verdicts: dict[tuple[str | None, str], ParlourError | None] = {}
        for socket in list(self._watched):
            key = (socket.session_token, socket.tenant_id)
            if key not in verdicts:
                verdicts[key] = await self._verdict(*key)
            if socket not in self._watched:
                continue
            verdict = verdicts[key]
            if verdict is not None:
                socket.ended(verdict)

    async def _verdict(self, token: str | None, tenant_id: str) -> ParlourError | None:
        """What ends the sockets of this session in this organisation; None: nothing."""
        try:
            session = await self._sessions.active(token, touch=False)
        except (Unauthenticated, Forbidden):
            return SessionEnded()
        try:
            await self._authorisation.authorise(
                session, tenant_id, Permission.HANDLE_CONVERSATIONS, source_ip=None
            )
        except (NotFound, Forbidden):
            return MembershipEnded()
        return None
