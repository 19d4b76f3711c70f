"""The agents' tools on a conversation's page: its private notes, shown among its messages by
time (T-99: for the organisation's people only), the form to write one, and the organisation's
canned replies for the reply box (`/shortcut`, canned.js): what the inbox's conversation page
shows of them, kept apart from the inbox's own concerns."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from parlour.chat.models import Message, Note
from parlour.services import Services
from parlour.web.policy import Member


async def desk_tools(
    who: Member,
    services: Services,
    conversation_id: str,
    messages: Sequence[Message],
    *,
    shown_from_start: bool,
) -> dict[str, Any]:
    """`timeline`: the messages shown and the notes written over the same stretch, by time (a
    message before a note of the same moment); `authors`: who wrote notes, by account;
    `canned`: the organisation's canned replies."""
    notes: list[Note] = await services.notes.latest(who.tenant_id, conversation_id)
    if messages and not shown_from_start:
        notes = [n for n in notes if n.created_at >= messages[0].created_at]
    timeline: list[Message | Note] = sorted([*messages, *notes], key=lambda e: e.created_at)
    authors = {}
    if notes:
        authors = {m.account_id: m.email for m in await services.members.members(who.tenant_id)}
    return {
        "timeline": timeline,
        "authors": authors,
        "canned": await services.canned_replies.all(who.tenant_id),
    }
