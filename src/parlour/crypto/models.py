from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class WrappedDataKey:
    tenant_id: str
    version: int
    kek_id: str
    wrapped_key: bytes
    created_at: datetime
