"""Who a customer can reach in an organisation: its people (members whose role handles
conversations, where the organisation lets customers ask for them) and its assistant. The widget
is told at `ready` whether people are reachable (its "Talk to a person" button), a typed request
for a person goes to them (chat/person_request.py), and with the assistant off a new
conversation goes straight to them.

Chat sits below the assistant and the organisation's switches, so it asks through this protocol;
`parlour.features.OrganisationFeatures` answers it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from parlour.errors import Conflict


@dataclass(frozen=True, slots=True)
class Reach:
    people: bool  # it has people who handle conversations, and lets customers ask for them
    assistant: bool  # its assistant answers (the kill switch is off)


class PeopleUnreachable(Conflict):
    """A customer's `handoff` where nobody can be asked for: the organisation does not let its
    customers ask for a person (`talk_to_a_person` off), or none of its members handles
    conversations. Answered with an `error` frame; the conversation stays where it was."""

    code = "people_unreachable"
    default_message = "There is nobody to hand this conversation to here."


class Reachability(Protocol):
    async def reach(self, tenant_id: str) -> Reach: ...


class AssistantOnly:
    """An organisation without people: the assistant answers everything."""

    async def reach(self, tenant_id: str) -> Reach:
        return Reach(people=False, assistant=True)
