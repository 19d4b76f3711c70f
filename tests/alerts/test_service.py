"""Security alerts end to end: counts through the tally on a set clock, a check, a mail to a
real SMTP server (aiosmtpd) and a signed webhook to a real HTTP receiver; on each backend."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event

from parlour.alerts.service import PER_HOUR
from parlour.identity.models import Role
from parlour.rollups.models import Figure
from parlour.services import Services, build_services
from parlour.settings import IdentitySettings, Settings
from parlour.webhooks.models import CreatedEndpoint
from parlour.webhooks.signing import verify
from tests.conftest import make_settings
from tests.support import canaries, seed
from tests.support.accounts import accounts_on
from tests.support.clock import SetClock
from tests.support.smtp import Relay, smtp_relay
from tests.support.webhook_receiver import Receiver, webhook_receiver

NOON = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
# Fourteen ordinary days of refused tokens and foreign origins, oldest first.
TOKENS = [3, 5, 2, 4, 6, 3, 5, 4, 2, 5, 3, 4, 6, 3]
ORIGINS = [1, 0, 2, 1, 1, 0, 3, 1, 0, 2, 1, 1, 0, 1]
OWNER = "owner@bank.example"
AGENT = "agent@bank.example"


@pytest.fixture
def relay() -> Iterator[Relay]:
    with smtp_relay() as running:
        yield running


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as running:
        yield running


@pytest.fixture
def clock() -> SetClock:
    return SetClock(NOON)


@pytest.fixture
def settings(database_url: str, tmp_path: Path, relay: Relay) -> Settings:
    """Settings on each backend that mail through the test's SMTP server."""
    settings = make_settings(tmp_path, database_url=database_url)
    mailing = IdentitySettings(smtp_host="127.0.0.1", smtp_port=relay.port, smtp_security="none")
    return settings.model_copy(update={"identity": mailing})


@pytest.fixture
async def services(settings: Settings, clock: SetClock) -> AsyncIterator[Services]:
    built = build_services(settings, clock=clock)
    await built.migrate()
    try:
        yield built
    finally:
        await built.aclose()


async def bank(
    services: Services, tmp_path: Path, receiver: Receiver | None = None
) -> tuple[str, str]:
    """An organisation with an owner and an agent, and a webhook endpoint that hears security
    alerts; its id and the endpoint's secret. A test that does not deliver what it owes leaves
    the endpoint out (PostgreSQL's database is the whole run's: a delivery left due there would
    be another test's)."""
    org, secret = await bank_and_key(services, tmp_path, receiver)
    return org.tenant_id, secret


async def bank_and_key(
    services: Services, tmp_path: Path, receiver: Receiver | None, name: str = "Example Org"
) -> tuple[seed.Organisation, str]:
    org = await seed.organisation(services, name=name, faq=None)
    people = accounts_on(services, tmp_path)
    for address, role in ((OWNER, Role.OWNER), (AGENT, Role.AGENT)):
        await people.members.set_up_demo_member(
            org.tenant_id, address, "correct horse battery staple 2026", role, actor=seed.ACTOR
        )
    if receiver is None:
        return org, ""
    created: CreatedEndpoint = await services.webhook_endpoints.add(
        org.tenant_id,
        url=f"{receiver.url}/alerts",
        events=("security.alert",),
        actor=seed.ACTOR,
    )
    return org, canaries.register(created.secret)


async def ordinary_fortnight(services: Services, clock: SetClock, tenant_id: str) -> None:
    """Fourteen ordinary days through the tally, each on its own day, then back to today."""
    today = clock.now
    for back, (tokens, origins) in enumerate(zip(TOKENS, ORIGINS, strict=True)):
        clock.now = today - timedelta(days=BASELINE_SPAN - back)
        services.tally.add(tenant_id, Figure.TOKEN_FAILURES, "invalid_token", n=tokens)
        services.tally.add(tenant_id, Figure.FOREIGN_ORIGINS, n=origins)
        await services.tally.flush()
    clock.now = today
    assert await services.security_alerts.check_all() == []  # ordinary: nothing to say


BASELINE_SPAN = len(TOKENS)


def spike(services: Services, tenant_id: str, invalid: int = 60, expired: int = 25) -> None:
    services.tally.add(tenant_id, Figure.TOKEN_FAILURES, "invalid_token", n=invalid)
    services.tally.add(tenant_id, Figure.TOKEN_FAILURES, "token_expired", n=expired)


async def test_a_spike_sends_one_mail_and_one_signed_webhook_and_a_second_spike_nothing(
    services: Services, clock: SetClock, relay: Relay, receiver: Receiver, tmp_path: Path
) -> None:
    """The acceptance test of anomaly alerts (issue 21)."""
    tenant_id, secret = await bank(services, tmp_path, receiver)
    await ordinary_fortnight(services, clock, tenant_id)

    spike(services, tenant_id)
    [alert] = await services.security_alerts.check_all()
    assert (alert.figure, alert.count) == (Figure.TOKEN_FAILURES, 85)
    assert await services.webhook_dispatcher.deliver_due() == 1

    [(recipients, mail)] = relay.messages()
    assert recipients == [OWNER]  # owners and admins; not the agent
    assert "jumped to 85 today" in mail["Subject"]
    [delivery] = receiver.at("/alerts")
    assert verify([secret], delivery.headers, delivery.body, now=clock.now)
    sent = json.loads(delivery.body)
    assert sent["type"] == "security.alert"
    assert sent["data"]["figure"] == "security.token_failure"
    assert sent["data"]["count"] == 85

    # Later the same day the figure jumps again: within the rate limit, nothing more is sent.
    clock.advance(hours=2)
    spike(services, tenant_id, invalid=500)
    assert await services.security_alerts.check_all() == []
    assert await services.webhook_dispatcher.deliver_due() == 0
    assert len(relay.messages()) == 1
    assert len(receiver.at("/alerts")) == 1


async def test_an_alert_holds_counts_reasons_and_the_baseline_and_no_customer_text(
    services: Services, clock: SetClock, relay: Relay, receiver: Receiver, tmp_path: Path
) -> None:
    """T-106: a customer's message and an end user's id from the same period, the endpoint's
    secret and the organisation's API key appear in neither the mail nor the webhook; the
    counts, the reasons and the baseline do."""
    org, secret = await bank_and_key(services, tmp_path, receiver)
    tenant_id, org_key = org.tenant_id, org.api_key
    await ordinary_fortnight(services, clock, tenant_id)
    planted_user, planted_text = "enduser-planted-7731", "my card 4111 1111 1111 1111 was stolen"
    conversation = await services.chat.open_conversation(tenant_id, planted_user)
    await services.chat.post_user_message(
        tenant_id, conversation.conversation_id, client_id="c-1", text=planted_text
    )
    spike(services, tenant_id)

    [alert] = await services.security_alerts.check_all()
    await services.webhook_dispatcher.deliver_due()

    [(_, mail)] = relay.messages()
    text = mail.get_content()
    [delivery] = receiver.at("/alerts")
    data = json.loads(delivery.body)["data"]
    assert "invalid_token: 60" in text
    assert "token_expired: 25" in text
    assert "median was 4 a day" in text
    assert data["details"] == {"invalid_token": 60, "token_expired": 25}
    assert data["baseline"]["days"] == 14
    assert data["baseline"]["median"] == 4.0
    assert data["day"] == "2026-11-20"
    assert data["organisation_id"] == tenant_id
    for planted in (planted_user, planted_text, "4111", secret, org_key):
        assert planted not in text
        assert planted not in mail.as_string()
        assert planted.encode() not in delivery.body
    assert alert.alert_id == data["alert_id"]


async def test_t101_an_organisations_name_cannot_add_a_header_to_an_alert_mail(
    services: Services, clock: SetClock, relay: Relay, tmp_path: Path
) -> None:
    """T-101: the alert mail names the organisation, a name its owner chose, hiding CR LF and
    a Bcc in an encoded word (CVE-2024-6923): it reaches the owner alone, with the headers
    Parlour wrote only, built where every mail is (`identity.mail.compose`)."""
    hostile = "=?utf-8?q?Evil=0D=0ABcc=3A_thief=40evil.example?="
    org, _ = await bank_and_key(services, tmp_path, None, name=hostile)
    await ordinary_fortnight(services, clock, org.tenant_id)
    spike(services, org.tenant_id)
    [_] = await services.security_alerts.check_all()

    [(recipients, mail)] = relay.messages()
    assert recipients == [OWNER]
    assert sorted(mail.keys()) == sorted(
        ["From", "To", "Subject", "Content-Type", "Content-Transfer-Encoding", "MIME-Version"]
    )
    assert "Bcc" not in mail
    assert hostile in mail.get_content()  # the name as the text it is, in the body


async def test_an_organisation_gets_at_most_a_few_alerts_an_hour(
    services: Services, clock: SetClock, relay: Relay, tmp_path: Path
) -> None:
    """T-106: figures jumping all at once send PER_HOUR alerts; the rest wait for the next
    hour, one per figure and day still."""
    tenant_id, _ = await bank(services, tmp_path)
    figures = [
        Figure.TOKEN_FAILURES,
        Figure.FOREIGN_ORIGINS,
        Figure.RATE_LIMITED,
        Figure.QUARANTINED_UPLOADS,
        Figure.WITHHELD_TOOLS,
    ]
    for figure in figures:
        services.tally.add(tenant_id, figure, n=50)
    first = await services.security_alerts.check_all()
    assert len(first) == PER_HOUR
    assert len(relay.messages()) == PER_HOUR
    clock.advance(minutes=30)
    services.tally.add(tenant_id, Figure.RATE_LIMITED, n=1)
    assert await services.security_alerts.check_all() == []
    clock.advance(minutes=31)
    services.tally.add(tenant_id, Figure.RATE_LIMITED, n=1)
    second = await services.security_alerts.check_all()
    assert len(second) == len(figures) - PER_HOUR
    assert {a.figure for a in first + second} == set(figures)


async def test_an_alert_held_back_by_the_hourly_limit_is_sent_later_that_day_once_it_stops(
    services: Services, clock: SetClock, relay: Relay, tmp_path: Path
) -> None:
    """T-106: the attack stops once the first alerts are sent; nothing more is counted, yet the
    figures the hourly limit held back, still above their thresholds, alert in the next hour."""
    tenant_id, _ = await bank(services, tmp_path)
    figures = [
        Figure.TOKEN_FAILURES,
        Figure.FOREIGN_ORIGINS,
        Figure.RATE_LIMITED,
        Figure.QUARANTINED_UPLOADS,
        Figure.WITHHELD_TOOLS,
    ]
    for figure in figures:
        services.tally.add(tenant_id, figure, n=50)
    first = await services.security_alerts.check_all()
    clock.advance(minutes=30)
    assert await services.security_alerts.check_all() == []  # the hour's slots are taken
    clock.advance(minutes=31)
    second = await services.security_alerts.check_all()

    assert len(first) == PER_HOUR
    assert {a.figure for a in first + second} == set(figures)
    assert len(relay.messages()) == len(figures)
    clock.advance(minutes=5)
    assert await services.security_alerts.check_all() == []  # all sent: not checked again


async def test_a_held_back_organisation_is_checked_no_more_once_its_day_has_ended(
    services: Services, clock: SetClock, relay: Relay, tmp_path: Path
) -> None:
    tenant_id, _ = await bank(services, tmp_path)
    for figure in (Figure.TOKEN_FAILURES, Figure.FOREIGN_ORIGINS, Figure.RATE_LIMITED):
        services.tally.add(tenant_id, figure, n=50)
    services.tally.add(tenant_id, Figure.WITHHELD_TOOLS, n=50)
    assert len(await services.security_alerts.check_all()) == PER_HOUR
    clock.now = NOON.replace(hour=0) + timedelta(days=1, minutes=1)  # the next day (UTC)
    statements: list[str] = []

    def seen(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    engine = services.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        assert await services.security_alerts.check_all() == []
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert statements == []


async def test_nodes_checking_at_once_send_one_alert_between_them(
    services: Services,
    settings: Settings,
    clock: SetClock,
    relay: Relay,
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    """The rate limits are the database's: two nodes on one database check the same jump at
    once, and one alert is sent between them."""
    tenant_id, _ = await bank(services, tmp_path, receiver)
    other_node = build_services(settings, clock=clock)
    try:
        spike(services, tenant_id)
        await services.tally.flush()
        sent = await asyncio.gather(
            services.security_alerts.check(tenant_id), other_node.security_alerts.check(tenant_id)
        )
    finally:
        await other_node.aclose()
    assert sorted(len(s) for s in sent) == [0, 1]
    assert len(relay.messages()) == 1
    assert await services.webhook_dispatcher.deliver_due() == 1


async def test_a_check_with_nothing_counted_since_the_last_asks_nothing_of_the_database(
    services: Services, clock: SetClock, relay: Relay, tmp_path: Path
) -> None:
    """The loop is cheap when nothing happened: no organisation to check, no statement."""
    tenant_id, _ = await bank(services, tmp_path)
    spike(services, tenant_id, invalid=1, expired=0)
    assert await services.security_alerts.check_all() == []
    statements: list[str] = []

    def seen(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    engine = services.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        assert await services.security_alerts.check_all() == []
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert statements == []


async def test_days_and_alerts_follow_the_organisations_time_zone(
    services: Services, clock: SetClock, relay: Relay, tmp_path: Path
) -> None:
    """At 12:00 UTC it is already the next day in Auckland: the alert is for that day, and the
    report counts the hour there."""
    tenant_id, _ = await bank(services, tmp_path)
    await services.tenants.set_time_zone(tenant_id, "Pacific/Auckland", actor=seed.ACTOR)
    spike(services, tenant_id)
    [alert] = await services.security_alerts.check_all()
    assert (alert.day.isoformat(), alert.time_zone) == ("2026-11-21", "Pacific/Auckland")
    report = await services.security_figures.report(
        tenant_id, await services.reports.period(tenant_id)
    )
    assert report.end.isoformat() == "2026-11-21"
    tokens = next(s for s in report.figures if s.figure is Figure.TOKEN_FAILURES)
    assert tokens.days[-1].total == 85
    assert tokens.days[-1].details == {"invalid_token": 60, "token_expired": 25}
