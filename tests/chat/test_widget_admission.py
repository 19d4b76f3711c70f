"""Who may open the customers' chat socket, and as whom (TB-01), asked of the widget's admission
directly: the rules, without a socket. tests/web/gateway/ proves the close codes on real ones."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest

from parlour.chat.admission import OriginMismatch, VisitorsNotAllowed
from parlour.chat.limits import TooManyConnections
from parlour.chat.protocol import BadAuthFrame
from parlour.errors import (
    AppNotAllowed,
    Forbidden,
    InvalidToken,
    OriginNotAllowed,
    RateLimited,
    TokenExpired,
)
from parlour.observability import event_fields
from parlour.services import Services
from tests.chat.admitting import APP, admitting, knock
from tests.support import seed


def auth(**fields: object) -> str:
    return json.dumps({"type": "auth", **fields})


async def with_app(services: Services) -> seed.Organisation:
    org = await seed.organisation(services, faq=None)
    await services.tenants.allow_app(org.tenant_id, APP, actor=seed.ACTOR)
    return org


async def app_token(services: Services, org: seed.Organisation, app_id: str = APP) -> str:
    minted = await services.end_user_tokens.mint(
        org.tenant_id, widget_id=org.widget_id, user_id="customer-1", app_id=app_id
    )
    return minted.token


# Before the upgrade.


async def test_an_allowlisted_origin_is_admitted_to_its_organisations_widget(
    services: Services,
) -> None:
    org = await seed.organisation(services, faq=None)
    async with admitting(services).admission.admit(knock(org)) as entry:
        assert entry.tenant.tenant_id == org.tenant_id


@pytest.mark.parametrize(
    ("door", "origin"),
    [
        ("own", "https://evil.example.com"),
        ("own", "https://shop.example.com.evil.com"),
        ("wgt_does-not-exist", "https://shop.example.com"),
        ("wgt_a/b", "https://shop.example.com"),
    ],
)
async def test_a_foreign_origin_and_an_unknown_widget_are_refused_alike(
    services: Services, door: str, origin: str
) -> None:
    """T-18, T-29: the same error either way, so the refusal tells no one which widgets exist."""
    org = await seed.organisation(services, faq=None)
    with pytest.raises(OriginNotAllowed) as refused:
        async with admitting(services).admission.admit(
            knock(org.widget_id if door == "own" else door, origin)
        ):
            pass
    assert (refused.value.code, refused.value.message) == (
        OriginNotAllowed.code,
        OriginNotAllowed.default_message,
    )


async def test_without_an_origin_only_an_organisation_with_apps_is_admitted(
    services: Services,
) -> None:
    """T-18: only mobile apps omit the Origin, and only organisations with apps take them."""
    without_apps = await seed.organisation(services, faq=None)
    admission = admitting(services).admission
    with pytest.raises(OriginNotAllowed):
        async with admission.admit(knock(without_apps, None)):
            pass
    org = await with_app(services)
    async with admission.admit(knock(org, None)) as entry:
        assert entry.tenant.tenant_id == org.tenant_id


async def test_the_handshake_rate_counts_per_address(services: Services) -> None:
    """T-25: past the rate an address is refused before the upgrade; another address is not."""
    org = await seed.organisation(services, faq=None)
    admission = admitting(services).admission
    for _ in range(3):
        async with admission.admit(knock(org)):
            pass
    with pytest.raises(RateLimited):
        async with admission.admit(knock(org)):
            pass
    async with admission.admit(knock(org, ip="198.51.100.9")):
        pass


async def test_production_admits_sockets_only_over_tls(services: Services) -> None:
    org = await seed.organisation(services, faq=None)
    admission = admitting(services, tls_only=True).admission
    with pytest.raises(Forbidden, match="wss://"):
        async with admission.admit(knock(org, secure=False)):
            pass
    async with admission.admit(knock(org, secure=True)):
        pass


async def test_an_address_holds_its_places_while_its_sockets_are_open(services: Services) -> None:
    """T-25: the address's connection cap counts admitted sockets until they end."""
    org = await seed.organisation(services, faq=None)
    admission = admitting(services, per_ip=1).admission
    async with admission.admit(knock(org)):
        with pytest.raises(TooManyConnections):
            async with admission.admit(knock(org)):
                pass
    async with admission.admit(knock(org)):
        pass


async def test_each_refusal_before_the_upgrade_is_one_security_event(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    """T-18, T-25: recorded once, with why, the widget, the origin and the address."""
    org = await seed.organisation(services, faq=None)
    with caplog.at_level(logging.WARNING, logger="parlour.security"), pytest.raises(Forbidden):
        async with admitting(services).admission.admit(knock(org, "https://evil.example.com")):
            pass
    events = [event_fields(r) for r in caplog.records if r.name == "parlour.security"]
    assert events == [
        {
            "event": "chat.handshake_refused",
            "reason": "origin_not_allowed",
            "widget_id": org.widget_id,
            "origin": "https://evil.example.com",
            "ip": "203.0.113.7",
            "request_id": "req-1",
        }
    ]


# The first frame.


async def test_a_valid_token_binds_the_socket_to_its_end_user_and_their_conversation(
    services: Services,
) -> None:
    org = await seed.organisation(services, faq=None)
    admission = admitting(services).admission
    token = await seed.token_for(services, org, "customer-42")
    async with (
        admission.admit(knock(org)) as entry,
        admission.authenticate(entry, auth(token=token, last_seq=0)) as visit,
    ):
        ready = (await visit.start())[0]
        assert visit.identity.user_id == "customer-42"
        assert visit.identity.origin == org.origin
    conversation = await services.chat.get_conversation(org.tenant_id, ready["conversation_id"])
    assert conversation.end_user_id == "customer-42"


@pytest.mark.parametrize(
    ("first_frame", "reason"),
    [
        (auth(token="x", tenant_id="other"), "auth.tenant_id: Extra inputs are not permitted"),
        (auth(), "auth: Value error, auth needs exactly one of token, visitor or visitor_token"),
        ("{not json", "frame: Invalid JSON"),
        (json.dumps({"type": "typing", "state": True}), "the first frame must be auth, not typing"),
    ],
)
async def test_a_first_frame_that_is_not_a_valid_auth_says_what_was_wrong(
    services: Services, first_frame: str, reason: str
) -> None:
    """T-21: nothing is authenticated before a valid `auth`."""
    org = await seed.organisation(services, faq=None)
    admission = admitting(services).admission
    async with admission.admit(knock(org)) as entry:
        with pytest.raises(BadAuthFrame) as refused:
            async with admission.authenticate(entry, first_frame):
                pass
    assert reason in refused.value.message


async def test_a_token_of_another_organisation_is_not_valid_here(services: Services) -> None:
    """T-05, T-20: B's widget cannot verify A's token at all, even from an origin both allow."""
    shared = "https://shared.example.com"
    a = await seed.organisation(services, name="A", origin=shared, faq=None)
    b = await seed.organisation(services, name="B", origin=shared, faq=None)
    admission = admitting(services).admission
    async with admission.admit(knock(b, shared)) as entry:
        with pytest.raises(InvalidToken, match="invalid token"):
            async with admission.authenticate(entry, auth(token=await seed.token_for(services, a))):
                pass


async def test_a_token_bound_to_another_origin_is_refused(services: Services) -> None:
    """T-18: a token minted for one allowlisted origin opens nothing from another."""
    org = await seed.organisation(services, origin="https://one.example.com", faq=None)
    await services.tenants.allow_origin(org.tenant_id, "https://two.example.com", actor=seed.ACTOR)
    admission = admitting(services).admission
    async with admission.admit(knock(org, "https://two.example.com")) as entry:
        with pytest.raises(OriginMismatch):
            async with admission.authenticate(
                entry, auth(token=await seed.token_for(services, org))
            ):
                pass


async def test_an_app_token_on_a_web_page_and_a_web_token_in_an_app_are_refused(
    services: Services,
) -> None:
    """T-18: a token bound to an app is no use on a page, nor a page's in an app; an app's
    token names an app the organisation allows."""
    org = await with_app(services)
    admission = admitting(services).admission
    async with admission.admit(knock(org)) as entry:
        with pytest.raises(OriginMismatch):
            async with admission.authenticate(entry, auth(token=await app_token(services, org))):
                pass
    async with admission.admit(knock(org, None)) as entry:
        with pytest.raises(AppNotAllowed, match="not for an allowed app"):
            async with admission.authenticate(
                entry, auth(token=await seed.token_for(services, org))
            ):
                pass
        async with admission.authenticate(
            entry, auth(token=await app_token(services, org))
        ) as visit:
            assert visit.identity.app_id == APP


async def test_a_token_inside_its_expiry_leeway_is_refused_as_expired(services: Services) -> None:
    """T-06: the leeway forgives clocks a little apart, but opens no session already past its
    end: the admission's clock has passed `exp`, the verifier's leeway has not."""
    org = await seed.organisation(services, faq=None)
    setup = admitting(services)
    token = await seed.token_for(services, org)
    setup.clock.advance(timedelta(seconds=services.settings.tokens.end_user_ttl_seconds + 1))
    async with setup.admission.admit(knock(org)) as entry:
        with pytest.raises(TokenExpired) as refused:
            async with setup.admission.authenticate(entry, auth(token=token)):
                pass
    assert refused.value.message == "The token has expired; get a fresh one."


async def test_anonymous_visitors_are_refused_unless_the_organisation_allows_them(
    services: Services,
) -> None:
    """T-04: with the policy off (the default) there is no way in without a token."""
    org = await seed.organisation(services, faq=None)
    admission = admitting(services).admission
    async with admission.admit(knock(org)) as entry:
        with pytest.raises(VisitorsNotAllowed):
            async with admission.authenticate(entry, auth(visitor=True)):
                pass


async def test_a_visitor_gets_a_fresh_identity_and_a_single_use_token_to_come_back_with(
    services: Services,
) -> None:
    """T-04, T-15: each visitor is someone new; the token from `ready` brings the same visitor
    back once, and is then used up."""
    org = await seed.organisation(services, faq=None)
    await services.tenants.set_anonymous_visitors(org.tenant_id, True, actor=seed.ACTOR)
    admission = admitting(services).admission
    async with admission.admit(knock(org)) as entry:
        async with admission.authenticate(entry, auth(visitor=True)) as first:
            ready = (await first.start())[0]
        async with admission.authenticate(entry, auth(visitor=True)) as other:
            assert other.identity.user_id != first.identity.user_id
        again = auth(visitor_token=ready["visitor_token"])
        async with admission.authenticate(entry, again) as back:
            assert back.identity.user_id == first.identity.user_id
            assert back.identity.visitor
        with pytest.raises(InvalidToken):
            async with admission.authenticate(entry, again):
                pass


async def test_a_visitor_in_an_app_must_name_an_allowlisted_app(services: Services) -> None:
    org = await with_app(services)
    await services.tenants.set_anonymous_visitors(org.tenant_id, True, actor=seed.ACTOR)
    admission = admitting(services).admission
    for app_id, refusal in [(None, "must name its app"), ("com.evil.app", "allowed app")]:
        async with admission.admit(knock(org, None, app_id=app_id)) as entry:
            with pytest.raises(AppNotAllowed, match=refusal):
                async with admission.authenticate(entry, auth(visitor=True)):
                    pass
    async with (
        admission.admit(knock(org, None, app_id=APP)) as entry,
        admission.authenticate(entry, auth(visitor=True)) as visit,
    ):
        assert (visit.identity.app_id, visit.identity.visitor) == (APP, True)


async def test_each_refused_token_is_one_security_event(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    org = await seed.organisation(services, faq=None)
    admission = admitting(services).admission
    with caplog.at_level(logging.WARNING, logger="parlour.security"):
        async with admission.admit(knock(org)) as entry:
            for first_frame in [auth(token="not-a-jwt"), auth(visitor=True)]:
                with pytest.raises((InvalidToken, VisitorsNotAllowed)):
                    async with admission.authenticate(entry, first_frame):
                        pass
    events = [event_fields(r) for r in caplog.records if r.name == "parlour.security"]
    assert [(e["event"], e["reason"], e["tenant_id"], e["ip"]) for e in events] == [
        ("chat.auth_refused", "invalid_token", org.tenant_id, "203.0.113.7"),
        ("chat.auth_refused", "anonymous_visitors_off", org.tenant_id, "203.0.113.7"),
    ]


async def test_an_end_user_holds_a_place_under_their_cap_while_connected(
    services: Services,
) -> None:
    """T-25: one more socket than the end user's cap is refused while the others are open."""
    org = await seed.organisation(services, faq=None)
    admission = admitting(services, per_user=1).admission
    async with admission.admit(knock(org)) as entry:
        async with admission.authenticate(entry, auth(token=await seed.token_for(services, org))):
            token = await seed.token_for(services, org)
            with pytest.raises(TooManyConnections):
                async with admission.authenticate(entry, auth(token=token)):
                    pass
        async with admission.authenticate(entry, auth(token=await seed.token_for(services, org))):
            pass
