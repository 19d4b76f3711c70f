"""Whether someone can answer a customer now (issue 22): the organisation's business hours
(tenants/business_hours.py) and, where presence is known, whether any agent is available.

When it is outside the hours, or nobody is available, the widget is told so on connecting
(an `availability` frame, docs/protocol.md), with the reply time the organisation promises and
the next opening, and offers to leave an e-mail address (chat/customer_mail.py). Within the hours
with someone there, nothing is sent: the widget behaves as it always did.

Presence (available, away, offline) is another part of the desk's (`parlour.chat.presence`);
this module asks it through `AgentsAvailable`, and with none given the hours are the only signal.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from parlour.tenants.business_hours_service import BusinessHoursService

CLOSED = "closed"
NOBODY_AVAILABLE = "nobody_available"


class AgentsAvailable(Protocol):
    """How many of an organisation's agents are available now, on every node."""

    async def available_agents(self, tenant_id: str) -> int: ...


class Availability:
    def __init__(self, hours: BusinessHoursService, agents: AgentsAvailable | None = None) -> None:
        self._hours = hours
        self._agents = agents

    async def frame(self, tenant_id: str, *, for_people: bool) -> dict[str, Any] | None:
        """The `availability` frame for a customer now (its `email_known` False, for the caller
        to set); None when someone can answer. Outside the hours it is always sent; within
        them, that nobody is available only matters to a customer waiting `for_people` (the
        assistant answers the others)."""
        state = await self._hours.now(tenant_id)
        if state.open:
            if (
                not for_people
                or self._agents is None
                or await self._agents.available_agents(tenant_id) > 0
            ):
                return None
            reason = NOBODY_AVAILABLE
        else:
            reason = CLOSED
        return {
            "type": "availability",
            "open": False,
            "reason": reason,
            "reply_time": state.reply_time,
            "next_open_at": _timestamp(state.next_opening),
            "email_known": False,
        }


def _timestamp(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")
