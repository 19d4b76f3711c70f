"""When an organisation is alerted, and how: the checks, the rate limits, the sending.

A check reads the organisation's security figures for today and the 14 days before (its own
time zone), applies the rule (`parlour.alerts.rule`) to each figure, and for each that jumps
claims the right to alert (a row in `security_alerts`: at most one per figure and local day,
at most `PER_HOUR` per organisation and hour, held by unique constraints, so nodes checking
at once send one alert between them). In the claim's transaction the `security.alert` webhook
event is owed to the endpoints that hear it; after it, the organisation's owners and admins are
mailed. A mail that cannot be sent is logged and not tried again: the webhook, in the outbox,
is retried as every delivery is.

Every node checks every `check_seconds`, and only the organisations whose security figures its
own tally stored since its last check: no event, no query (the tally's `noticed`). An
organisation whose events all reach other nodes is checked by those nodes. An organisation
whose alert the hourly limit held back, or whose check failed, is checked again at each round
until its local day ends (or the alert is sent), counted or not: the attack may have stopped,
its figure is still above the threshold.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from parlour.alerts import content
from parlour.alerts.models import SECURITY_FIGURES, Alert
from parlour.alerts.report import SecurityFigures
from parlour.alerts.repository import AlertRepository
from parlour.alerts.rule import BASELINE_DAYS, baseline, jumps
from parlour.errors import NotFound
from parlour.identity.mail import Mailer, MailUnavailable
from parlour.identity.members import MemberService
from parlour.identity.models import Role
from parlour.rollups.period import Period
from parlour.rollups.tally import Tally, hour_of
from parlour.storage.database import Database
from parlour.storage.ids import time_ordered_id
from parlour.storage.types import Clock, utcnow
from parlour.tasks import Periodic
from parlour.tenants.service import TenantService
from parlour.webhooks.organisation_events import OrganisationEvents

log = logging.getLogger(__name__)

PER_HOUR = 3  # alerts an organisation is sent at most in an hour, all figures together
RECIPIENTS = frozenset({Role.OWNER, Role.ADMIN})
# How long an organisation whose check failed is checked again (its local day is not known).
RETRY_FAILED = timedelta(days=1)


class SecurityAlerts:
    def __init__(
        self,
        db: Database,
        tenants: TenantService,
        figures: SecurityFigures,
        members: MemberService,
        mailer: Mailer,
        events: OrganisationEvents,
        tally: Tally,
        *,
        public_url: str,
        check_seconds: float,
        clock: Clock = utcnow,
    ) -> None:
        self._db = db
        self._tenants = tenants
        self._figures = figures
        self._members = members
        self._mailer = mailer
        self._events = events
        self._tally = tally
        self._public_url = public_url.rstrip("/")
        self._clock = clock
        self._rounds = Periodic(
            self.check_all,
            check_seconds,
            failed="security alerts not checked; the next round tries again",
        )
        # Organisations to check again whatever is counted, each until an instant: the end of
        # its local day (an alert held back) or RETRY_FAILED after its check failed.
        self._again: dict[str, datetime] = {}
        tally.watch(SECURITY_FIGURES)

    async def check(self, tenant_id: str) -> list[Alert]:
        """Alert the organisation of each security figure that jumped today and may still be
        alerted on (the rate limits); the alerts sent."""
        tenant = await self._tenants.get(tenant_id)
        now = self._clock()
        today = now.astimezone(ZoneInfo(tenant.time_zone)).date()
        async with self._db.read(tenant_id) as conn:
            already = await AlertRepository(conn).figures_alerted(tenant_id, today)
        start = today - timedelta(days=BASELINE_DAYS)
        jumped: list[Alert] = []
        for series in await self._figures.daily(tenant_id, Period(start, today, tenant.time_zone)):
            if series.figure.value in already:
                continue
            *history, current = series.days
            base = baseline([day.total for day in history])
            if jumps(current.total, base):
                jumped.append(
                    Alert(
                        time_ordered_id(),
                        tenant_id,
                        series.figure,
                        today,
                        tenant.time_zone,
                        current.total,
                        current.details,
                        base,
                        now,
                    )
                )
        sent = [alert for alert in jumped if await self._claim(alert)]
        if len(sent) < len(jumped):  # held back by the hourly limit, or claimed by another node
            self._again[tenant_id] = Period(today, today, tenant.time_zone).until
        else:
            self._again.pop(tenant_id, None)
        if sent:
            await self._mail(tenant_id, tenant.name, sent)
        return sent

    async def check_all(self) -> list[Alert]:
        """Check every organisation whose security figures this node stored since its last
        check (its tally's counts are stored first), and those still owed a check (an alert held
        back, a check that failed) until their day ends; the alerts sent."""
        await self._tally.flush()
        now = self._clock()
        self._again = {t: until for t, until in self._again.items() if now < until}
        sent: list[Alert] = []
        for tenant_id in sorted(self._tally.noticed() | self._again.keys()):
            try:
                sent += await self.check(tenant_id)
            except NotFound:
                self._again.pop(tenant_id, None)  # deleted since
            except Exception:
                log.exception("checking an organisation's security figures failed")
                self._again.setdefault(tenant_id, now + RETRY_FAILED)
        return sent

    async def _claim(self, alert: Alert) -> bool:
        """Whether the alert may be sent (and is now recorded, its webhook owed)."""
        async with self._db.transaction(alert.tenant_id) as conn:
            if not await AlertRepository(conn).claim(alert, hour_of(alert.at), PER_HOUR):
                return False
            data = content.event_data(alert)
            await self._events.owe(conn, alert.tenant_id, content.EVENT, data, alert.at)
        return True

    async def _mail(self, tenant_id: str, organisation: str, alerts: list[Alert]) -> None:
        members = await self._members.members(tenant_id)
        recipients = [m.email for m in members if m.role in RECIPIENTS]
        url = f"{self._public_url}/dashboard/o/{tenant_id}/reports"
        for alert in alerts:
            subject, body = content.subject(alert), content.mail_body(alert, organisation, url)
            for to in recipients:
                try:
                    await self._mailer.send(to, subject, body)
                except MailUnavailable:
                    log.warning(
                        "a security alert could not be mailed",
                        extra={"tenant_id": tenant_id, "figure": alert.figure.value},
                    )

    def start(self) -> None:
        """Check every `check_seconds` until `aclose`."""
        self._rounds.start()

    async def aclose(self) -> None:
        await self._rounds.aclose()
