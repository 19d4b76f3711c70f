"""A conversation's life: which status and assignee each step moves it to, from which, and what
the customer is told (T-100).

Every step is a `Move`: a compare-and-set of the conversation's row (`status`, `assignee`,
`snoozed_until`, and the moments reports read: `handed_at` when it reaches people, `resolved_at`
when it is resolved or handed back, cleared when it is reopened) that holds only while the row is
still as the step expects, checked by the number of rows the update touched. A step the
customer hears of is stored with its `handoff` message in the writer's transaction
(chat/batch.py), so a refused move writes no announcement and an announcement never goes out
without its move; a step they do not hear of (pending, snoozed, and coming back from those) is
the update alone. Racing steps therefore end in one state, the
one their order in the database makes: a customer's handoff request against an agent's first
reply either queues the conversation and is then taken, or finds it taken already and is
refused.

The states and moves (`_` any open state: bot, queued, assigned, pending, snoozed):
- bot, resolved → queued, nobody assigned: the customer asks for a person
  (`handoff_requested`).
- bot, queued → assigned: a person's first reply takes it (`taken_by`); self-assignment
  takes it from pending and snoozed too, when nobody has it (`taken_by(..., waiting=True)`).
- _ → assigned to a member (`assigned_to`), whoever had it.
- assigned, pending, snoozed → queued, nobody assigned (`unassigned`).
- queued, assigned, pending, snoozed → bot, nobody assigned (`returned_to_assistant`).
- queued, assigned, snoozed → pending; queued, assigned, pending → snoozed until a time.
- _ → resolved, the assignee kept (`resolved`).
- resolved → assigned when someone is assigned, else queued: a member reopens it
  (`reopened_by_member`).
- queued, nobody assigned → assigned to an available agent below their capacity
  (`auto_assigned`, chat/auto_assignment.py): the count of the agent's assigned conversations is
  part of the compare-and-set.
- A customer's new message reopens what waits: pending or snoozed go back to the person who
  has them (assigned), or to the queue; a snoozed conversation wakes the same way at its time.
  A resolved one goes back to whoever handles it, as in Chatwoot: its assignee when it has one,
  else the assistant (which answers, and offers a person as always). Those wakings are set-based
  updates (`ConversationRepository.back_to_people`); the resolved ones are the two moves of
  `reopened_by_customer`, tried in turn.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from parlour.chat.models import ConversationStatus, HandoffState

S = ConversationStatus
OPEN = frozenset({S.BOT, S.QUEUED, S.ASSIGNED, S.PENDING, S.SNOOZED})
WITH_PEOPLE = frozenset({S.QUEUED, S.ASSIGNED, S.PENDING, S.SNOOZED})
# Waiting on the customer or on a time: a customer's message brings these back to people.
WAITING = frozenset({S.PENDING, S.SNOOZED})

# What the customer is told when a conversation moves to each status; moves to the others are
# the desk's own business and are not announced.
ANNOUNCED = {
    S.QUEUED: HandoffState.QUEUED,
    S.ASSIGNED: HandoffState.AGENT_JOINED,
    S.BOT: HandoffState.RETURNED_TO_BOT,
    S.RESOLVED: HandoffState.RESOLVED,
}


class Whoever(Enum):
    """An assignee test that names nobody in particular."""

    ANYONE = "anyone"  # no test
    SOMEONE = "someone"  # somebody is assigned


class Keep(Enum):
    ASSIGNEE = "keep"  # the assignee is left as it is


class Resolution(Enum):
    """What a move does to the conversation's resolution time, a moment reports read."""

    SET = "set"  # a person's part ends: resolved, or handed back to the assistant
    CLEAR = "clear"  # out of resolved: not resolved until it is again
    KEEP = "keep"


@dataclass(frozen=True, slots=True)
class Capacity:
    """The move holds only while `account_id` has fewer than `limit` assigned conversations."""

    account_id: str
    limit: int


@dataclass(frozen=True, slots=True)
class Move:
    """Set `status` to `to` (and `assignee`, unless kept; `snoozed_until` to `until`) if the
    status is one of `allowed` and the assignee passes `expected` (an account id or None: IS NOT
    DISTINCT FROM), and the row would change at all."""

    to: ConversationStatus
    allowed: frozenset[ConversationStatus]
    assignee: str | Keep | None = Keep.ASSIGNEE
    expected: str | Whoever | None = Whoever.ANYONE
    until: datetime | None = None
    within: Capacity | None = None

    @property
    def announced(self) -> HandoffState | None:
        return ANNOUNCED.get(self.to)

    @property
    def resolution(self) -> Resolution:
        if self.to is S.RESOLVED or (self.to is S.BOT and self.allowed <= WITH_PEOPLE):
            return Resolution.SET
        return Resolution.CLEAR if S.RESOLVED in self.allowed else Resolution.KEEP


def handoff_requested() -> Move:
    """The customer asks for a person: heard while the assistant has the conversation, or once
    it is resolved (a new question), never while people have it."""
    return Move(S.QUEUED, frozenset({S.BOT, S.RESOLVED}), assignee=None)


def taken_by(account_id: str, *, waiting: bool = False) -> Move:
    """A person takes a conversation nobody has: by replying (from the assistant or the queue),
    or by assigning it to themselves (`waiting`: from pending and snoozed as well)."""
    allowed = {S.BOT, S.QUEUED} | (WAITING if waiting else set())
    return Move(S.ASSIGNED, frozenset(allowed), assignee=account_id, expected=None)


def assigned_to(account_id: str) -> Move:
    return Move(S.ASSIGNED, OPEN, assignee=account_id)


def auto_assigned(account_id: str, limit: int) -> Move:
    """Auto-assignment gives a queued conversation nobody has to an agent, only while the
    agent has fewer than `limit` conversations assigned."""
    return Move(
        S.ASSIGNED,
        frozenset({S.QUEUED}),
        assignee=account_id,
        expected=None,
        within=Capacity(account_id, limit),
    )


def unassigned() -> Move:
    return Move(S.QUEUED, frozenset({S.ASSIGNED, S.PENDING, S.SNOOZED}), assignee=None)


def returned_to_assistant() -> Move:
    return Move(S.BOT, WITH_PEOPLE, assignee=None)


def pending() -> Move:
    return Move(S.PENDING, frozenset({S.QUEUED, S.ASSIGNED, S.SNOOZED}))


def snoozed(until: datetime) -> Move:
    return Move(S.SNOOZED, frozenset({S.QUEUED, S.ASSIGNED, S.PENDING}), until=until)


def resolved() -> Move:
    return Move(S.RESOLVED, OPEN)


def reopened_by_member() -> tuple[Move, Move]:
    """To the person who had it, else to the queue (tried in this order)."""
    back = frozenset({S.RESOLVED})
    return Move(S.ASSIGNED, back, expected=Whoever.SOMEONE), Move(S.QUEUED, back, expected=None)


def reopened_by_customer() -> tuple[Move, Move]:
    """To the person who had it, else to the assistant (tried in this order)."""
    back = frozenset({S.RESOLVED})
    return Move(S.ASSIGNED, back, expected=Whoever.SOMEONE), Move(S.BOT, back, expected=None)
