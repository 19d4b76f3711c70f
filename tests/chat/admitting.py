"""A widget admission built from a test's services, with a clock the test moves, rates small
enough to reach, and an assistant that only notes what it was asked to answer."""

from __future__ import annotations

from dataclasses import dataclass, field

from parlour.chat.admission import Knock
from parlour.chat.limits import ConnectionCaps
from parlour.chat.models import Message
from parlour.chat.reach import Reachability
from parlour.chat.widget_admission import WidgetAdmission, WidgetLimits
from parlour.keys.models import EndUser
from parlour.rate_limits import RateLimits
from parlour.services import Services
from tests.support import seed
from tests.support.clock import ManualClock

# Per hour, so that a slow run never sees a window turn over.
RULES = {"handshake": "3/hour", "frame": "6/hour", "message": "2/hour"}
APP = "com.example.bank"
ADDRESS = "203.0.113.7"


@dataclass
class Answers:
    asked: list[tuple[Message, EndUser]] = field(default_factory=list)

    def schedule_answer(self, message: Message, asker: EndUser) -> None:
        self.asked.append((message, asker))


@dataclass
class Admitting:
    admission: WidgetAdmission
    clock: ManualClock
    answers: Answers


def admitting(
    services: Services,
    *,
    tls_only: bool = False,
    per_ip: int = 100,
    per_user: int = 10,
    rules: dict[str, str] | None = None,
    reach: Reachability | None = None,
) -> Admitting:
    clock, answers = ManualClock(), Answers()
    admission = WidgetAdmission(
        services.chat,
        services.tenants,
        services.end_user_tokens,
        RateLimits(rules or RULES, local=["frame"]),
        ConnectionCaps(),
        answers,
        services.identity_watch,
        WidgetLimits(
            history_page_size=50,
            max_connections_per_ip=per_ip,
            max_connections_per_tenant=1000,
            max_connections_per_user=per_user,
            tls_only=tls_only,
        ),
        clock,
        services.tally,
        reach,
    )
    return Admitting(admission, clock, answers)


def knock(
    org: seed.Organisation | str,
    origin: str | None = "https://shop.example.com",
    *,
    app_id: str | None = None,
    secure: bool = True,
    ip: str = ADDRESS,
) -> Knock:
    door = org if isinstance(org, str) else org.widget_id
    return Knock(door, origin, ip, request_id="req-1", secure=secure, app_id=app_id)
