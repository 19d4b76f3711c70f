from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Tenant:
    tenant_id: str
    name: str
    widget_id: str
    created_at: datetime
    anonymous_visitors: bool = False
