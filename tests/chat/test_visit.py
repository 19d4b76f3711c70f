"""An admitted customer's socket, frame by frame, without the socket: rates, bad frames, reauth,
the identity's deadline, and when the assistant is asked to answer (TB-01)."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from parlour.chat.admission import (
    BindingWithdrawn,
    IdentityChanged,
    IdentityRevoked,
    TooManyBadFrames,
    TooManyFrames,
)
from parlour.chat.models import ConversationStatus
from parlour.chat.visit import MAX_BAD_FRAMES, Visit
from parlour.errors import InvalidToken, ParlourError, TokenExpired
from parlour.features import FeatureChanges
from parlour.services import Services
from tests.chat.admitting import Admitting, admitting, knock
from tests.chat.test_lifecycle import member
from tests.support import seed


@contextlib.asynccontextmanager
async def visit_of(
    setup: Admitting, services: Services, org: seed.Organisation, user_id: str = "customer-1"
) -> AsyncIterator[Visit]:
    admission = setup.admission
    token = await seed.token_for(services, org, user_id)
    async with (
        admission.admit(knock(org)) as entry,
        admission.authenticate(entry, json.dumps({"type": "auth", "token": token})) as visit,
    ):
        await visit.start()
        yield visit


def message(text: str = "What are your opening hours?", client_id: str | None = None) -> str:
    return json.dumps(
        {"type": "message", "client_id": client_id or str(uuid.uuid4()), "text": text}
    )


def reauth(token: str) -> str:
    return json.dumps({"type": "reauth", "token": token})


async def test_reauth_with_a_fresh_token_of_the_same_user_renews_the_identity(
    services: Services,
) -> None:
    """T-22: a socket outlives its first token only through a fresh one for the same user."""
    org = await seed.organisation(services, faq=None)
    async with visit_of(admitting(services), services, org) as visit:
        first = visit.identity
        reply = await visit.handle(reauth(await seed.token_for(services, org)))
        assert (reply.renewed, reply.frames) == (True, [])
        assert visit.identity.user_id == first.user_id
        assert visit.identity.token_id != first.token_id


async def test_reauth_naming_another_user_is_refused(services: Services) -> None:
    """T-22: a socket cannot be re-bound to another identity."""
    org = await seed.organisation(services, faq=None)
    async with visit_of(admitting(services), services, org) as visit:
        with pytest.raises(IdentityChanged, match="token is for another user"):
            await visit.handle(reauth(await seed.token_for(services, org, "customer-2")))
        assert visit.identity.user_id == "customer-1"


async def test_reauth_with_a_used_token_is_refused(services: Services) -> None:
    """T-15: a token that opened a socket cannot renew one."""
    org = await seed.organisation(services, faq=None)
    setup = admitting(services)
    token = await seed.token_for(services, org)
    async with (
        setup.admission.admit(knock(org)) as entry,
        setup.admission.authenticate(entry, json.dumps({"type": "auth", "token": token})) as visit,
    ):
        with pytest.raises(InvalidToken):
            await visit.handle(reauth(token))


async def test_messages_past_the_end_users_rate_are_answered_with_an_error_frame(
    services: Services,
) -> None:
    """T-25: the message rate (2 an hour here) refuses the message, not the socket."""
    org = await seed.organisation(services, faq=None)
    await seed.with_a_person(services, org)
    async with visit_of(admitting(services), services, org) as visit:
        replies = [await visit.handle(message(f"message {n}")) for n in range(3)]
    assert [r.frames[0]["type"] for r in replies] == ["accepted", "accepted", "error"]
    assert replies[2].frames[0]["code"] == "rate_limited"


async def test_frames_past_the_connections_rate_close_the_socket(services: Services) -> None:
    """T-25: every frame counts (6 an hour here), typing as much as anything."""
    org = await seed.organisation(services, faq=None)
    async with visit_of(admitting(services), services, org) as visit:
        typing = json.dumps({"type": "typing", "state": True})
        for _ in range(6):
            assert (await visit.handle(typing)).frames == []
        with pytest.raises(TooManyFrames):
            await visit.handle(typing)


async def test_acks_that_move_the_acknowledged_point_forward_are_not_counted(
    services: Services,
) -> None:
    """T-25: one ack per durable frame sent costs nothing; an ack that moves nothing counts."""
    org = await seed.organisation(services, faq=None)
    conversation_id = await seed.with_a_person(services, org)
    for n in range(9):
        await services.chat.post_user_message(
            org.tenant_id, conversation_id, client_id=f"c{n}", text=f"message {n}"
        )
    async with visit_of(admitting(services), services, org) as visit:
        for seq in range(1, 11):
            assert (await visit.handle(json.dumps({"type": "ack", "seq": seq}))).frames == []
        for _ in range(6):
            await visit.handle(json.dumps({"type": "ack", "seq": 10}))
        with pytest.raises(TooManyFrames):
            await visit.handle(json.dumps({"type": "ack", "seq": 10}))


async def test_bad_frames_are_answered_until_there_are_too_many(services: Services) -> None:
    """T-24: a typed error for each, and the socket stays usable, up to a point."""
    org = await seed.organisation(services, faq=None)
    setup = admitting(
        services, rules={"handshake": "9/hour", "frame": "99/hour", "message": "9/hour"}
    )
    async with visit_of(setup, services, org) as visit:
        for _ in range(MAX_BAD_FRAMES):
            [error] = (await visit.handle("{not json")).frames
            assert (error["type"], error["code"]) == ("error", "bad_frame")
        with pytest.raises(TooManyBadFrames):
            await visit.handle(json.dumps({"type": "nope"}))


async def test_a_new_message_in_a_conversation_with_the_assistant_is_answered_once(
    services: Services,
) -> None:
    """The assistant is asked to answer a new message, for the verified end user; a retried
    message (the same client id) is not answered twice."""
    org = await seed.organisation(services, faq=None)
    setup = admitting(services)
    async with visit_of(setup, services, org, "customer-7") as visit:
        client_id = str(uuid.uuid4())
        await visit.handle(message(client_id=client_id))
        await visit.handle(message(client_id=client_id))
    [(asked, asker)] = setup.answers.asked
    assert (asked.body, asked.seq, asker.user_id) == (
        "What are your opening hours?",
        1,
        "customer-7",
    )


async def test_a_conversation_with_a_person_is_not_answered_by_the_assistant(
    services: Services,
) -> None:
    org = await seed.organisation(services, faq=None)
    await seed.with_a_person(services, org)
    setup = admitting(services)
    async with visit_of(setup, services, org) as visit:
        assert (await visit.handle(message())).frames[0]["type"] == "accepted"
    assert setup.answers.asked == []


async def test_the_identity_is_warned_a_minute_ahead_of_its_expiry_and_ended_at_it(
    services: Services,
) -> None:
    """T-22: the deadline's checks ask for reauth once, a minute before `exp`, then end."""
    org = await seed.organisation(services, faq=None)
    setup = admitting(services)
    async with visit_of(setup, services, org) as visit:
        expires_at = visit.identity.expires_at
        first = visit.identity_check()
        assert (first.warning, first.next_at) == (None, expires_at - timedelta(minutes=1))
        setup.clock.advance(first.next_at - setup.clock.now())
        warned = visit.identity_check()
        assert warned.warning == {"type": "reauth_required", "expires_in": 60}
        assert warned.next_at == expires_at
        assert visit.identity_check().warning is None  # once
        setup.clock.advance(timedelta(minutes=1))
        with pytest.raises(TokenExpired, match="token expired"):
            visit.identity_check()


async def test_a_renewed_identity_is_counted_afresh(services: Services) -> None:
    """T-22: after reauth, the deadline is the new token's: warned again a minute before it."""
    org = await seed.organisation(services, faq=None)
    setup = admitting(services)
    issuer = services.settings.server.public_url
    short = await seed.signed_token(services, org, issuer=issuer, ttl=timedelta(seconds=90))
    admission = setup.admission
    async with (
        admission.admit(knock(org)) as entry,
        admission.authenticate(entry, json.dumps({"type": "auth", "token": short})) as visit,
    ):
        setup.clock.advance(visit.identity_check().next_at - setup.clock.now())
        assert visit.identity_check().warning is not None
        await visit.handle(reauth(await seed.token_for(services, org)))
        renewed = visit.identity_check()
        assert visit.identity.expires_at > setup.clock.now() + timedelta(minutes=2)
        assert (renewed.warning, renewed.next_at) == (
            None,
            visit.identity.expires_at - timedelta(minutes=1),
        )


async def test_the_identity_watch_ends_the_visit_with_the_error_that_says_why(
    services: Services,
) -> None:
    """T-22, T-18: a revoked identity ends with 4401's error, a withdrawn origin with 4403's."""
    org = await seed.organisation(services, faq=None)
    async with visit_of(admitting(services), services, org) as visit:
        ended: list[ParlourError] = []
        stop = visit.watch(ended.append)
        visit.identity_revoked()
        visit.binding_refused()
        stop()
    assert [type(e) for e in ended] == [IdentityRevoked, BindingWithdrawn]


async def test_a_handoff_where_nobody_can_be_asked_for_is_refused_with_an_error_frame(
    backend: Services,
) -> None:
    """With `talk_to_a_person` off (or nobody who handles conversations), a customer's
    `handoff` is answered `people_unreachable` and the conversation stays with the assistant;
    once people can be asked for again, the same frame queues it."""
    services = backend
    org = await seed.organisation(services, faq=None)
    await member(services, org.tenant_id)
    nobody = await seed.organisation(services, name="Nobody Bank", faq=None)
    await services.features.change(
        org.tenant_id, FeatureChanges(talk_to_a_person=False), actor=seed.ACTOR
    )
    setup = admitting(services, reach=services.features)
    handoff = json.dumps({"type": "handoff"})
    for refused in (org, nobody):
        async with visit_of(setup, services, refused) as visit:
            reply = await visit.handle(handoff)
        assert reply.frames == [
            {
                "type": "error",
                "code": "people_unreachable",
                "message": "There is nobody to hand this conversation to here.",
            }
        ]
        conversation = await services.chat.open_conversation(refused.tenant_id, "customer-1")
        assert (conversation.status, conversation.last_seq) == (ConversationStatus.BOT, 0)

    await services.features.change(
        org.tenant_id, FeatureChanges(talk_to_a_person=True), actor=seed.ACTOR
    )
    async with visit_of(setup, services, org) as visit:
        assert (await visit.handle(handoff)).frames == []
    conversation = await services.chat.open_conversation(org.tenant_id, "customer-1")
    assert conversation.status is ConversationStatus.QUEUED
