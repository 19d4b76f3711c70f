"""An organisation's canned replies, as a service on both backends: shortcuts are slugs held to
the identifiers rule and unique in the organisation, bodies are sealed and held to the rule for
messages, each change is audited without the body, and a reply that is exactly `/shortcut`
expands to its body."""

from __future__ import annotations

import json

import pytest

from parlour.chat.canned_replies import MAX_SHORTCUT
from parlour.errors import Conflict, InvalidIdentifier, InvalidInput, NotFound
from parlour.services import Services
from tests.chat.test_lifecycle import member
from tests.support.dump import every_cell
from tests.support.seed import ACTOR

REFUND = "Refunds reach your account within 5 working days. CANNED4471"


async def test_replies_are_created_listed_changed_and_removed_each_audited(
    backend: Services,
) -> None:
    tenant = await backend.tenants.create("Canned Bank", actor=ACTOR)
    admin = await member(backend, tenant.tenant_id)
    t = tenant.tenant_id
    refund = await backend.canned_replies.create(t, "Refund-Policy ", REFUND, actor=admin)
    hours = await backend.canned_replies.create(t, "hours", "9 to 5.", actor=admin)
    assert refund.shortcut == "refund-policy"
    assert [r.shortcut for r in await backend.canned_replies.all(t)] == ["hours", "refund-policy"]
    assert "CANNED4471" not in await every_cell(backend)

    with pytest.raises(Conflict):
        await backend.canned_replies.create(t, "hours", "Again.", actor=admin)
    with pytest.raises(Conflict):
        await backend.canned_replies.change(t, refund.reply_id, "hours", REFUND, actor=admin)
    changed = await backend.canned_replies.change(
        t, refund.reply_id, "refunds", "Five working days.", actor=admin
    )
    assert (changed.shortcut, changed.body) == ("refunds", "Five working days.")
    await backend.canned_replies.remove(t, hours.reply_id, actor=admin)
    assert [r.shortcut for r in await backend.canned_replies.all(t)] == ["refunds"]
    with pytest.raises(NotFound):
        await backend.canned_replies.remove(t, hours.reply_id, actor=admin)

    audited = list(reversed(await backend.audit.recent(t, limit=4)))
    assert [(e["action"], e["actor"]["id"]) for e in audited] == [  # type: ignore[index]
        ("canned_reply.created", admin.id),
        ("canned_reply.created", admin.id),
        ("canned_reply.changed", admin.id),
        ("canned_reply.removed", admin.id),
    ]
    assert "CANNED4471" not in json.dumps(audited)
    assert "Five working days" not in json.dumps(audited)


async def test_shortcuts_are_slugs_and_bodies_follow_the_rule_for_messages(
    services: Services,
) -> None:
    tenant = await services.tenants.create("Rules Bank", actor=ACTOR)
    t = tenant.tenant_id
    for shortcut in ("refund policy", "refund_policy", "-refund", "refund-", "/refund", "", "é"):
        with pytest.raises(InvalidInput):
            await services.canned_replies.create(t, shortcut, "Body.", actor=ACTOR)
    with pytest.raises(InvalidIdentifier):  # T-90: named by code point, never echoed
        await services.canned_replies.create(t, "refund\u202epolicy", "Body.", actor=ACTOR)
    with pytest.raises(InvalidInput):
        await services.canned_replies.create(t, "a" * (MAX_SHORTCUT + 1), "Body.", actor=ACTOR)
    for body in ("  ", "bell\x07", "x" * 5000):
        with pytest.raises(InvalidInput):
            await services.canned_replies.create(t, "ok", body, actor=ACTOR)
    assert await services.canned_replies.all(t) == []


async def test_a_reply_that_is_exactly_a_shortcut_expands_to_its_body(
    services: Services,
) -> None:
    a = await services.tenants.create("A Bank", actor=ACTOR)
    b = await services.tenants.create("B Bank", actor=ACTOR)
    await services.canned_replies.create(a.tenant_id, "refund-policy", REFUND, actor=ACTOR)
    expand = services.canned_replies.expand
    assert await expand(a.tenant_id, " /refund-policy ") == REFUND
    for text in ("see /refund-policy", "/refund-policy please", "refund-policy", "/"):
        assert await expand(a.tenant_id, text) == text
    with pytest.raises(InvalidInput):
        await expand(a.tenant_id, "/refund")
    with pytest.raises(InvalidInput):  # another organisation's shortcut is none of B's
        await expand(b.tenant_id, "/refund-policy")
