from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Verification(StrEnum):
    """Whether a platform operator has checked who the organisation is. Until it is verified
    its widget works only on loopback origins (a sandbox) and no mobile app may chat."""

    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class Tenant:
    tenant_id: str
    name: str
    widget_id: str
    created_at: datetime
    anonymous_visitors: bool = False
    verification: Verification = Verification.VERIFIED
    verification_reason: str | None = None
    time_zone: str = "UTC"  # IANA name; the days and hours of its reports
    talk_to_a_person: bool = True  # customers may ask for a person at any time, if it has people
