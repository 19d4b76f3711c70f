"""A knowledge import as a background job: what was sent, by whom, how far it has gone, and how
it ended."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from parlour.audit.events import Actor
from parlour.knowledge.models import RowError


class ImportState(StrEnum):
    QUEUED = "queued"  # waiting for a node to take it (one job of an organisation at a time)
    RUNNING = "running"  # a node is reading, screening and embedding it
    DONE = "done"  # its version is stored (and live, if it was to be published)
    FAILED = "failed"  # nothing of it was stored; `error_code` and `error_message` say why


@dataclass(frozen=True, slots=True)
class ImportJob:
    """One upload imported in the background. `done` of `total` passages are screened and
    embedded (`total` is 0 until the file is read); a job that is done carries the figures of
    its ImportReport, one that failed the error's code and message."""

    job_id: str
    tenant_id: str
    name: str
    kind: str
    sha256: str
    size_bytes: int
    publish: bool
    state: ImportState
    done: int
    total: int
    attempts: int
    actor: Actor
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    lease_until: datetime | None = None
    version: int | None = None
    imported: int | None = None
    quarantined: int | None = None
    row_errors: tuple[RowError, ...] = ()
    error_code: str | None = None
    error_message: str | None = None

    @property
    def ended(self) -> bool:
        return self.state in (ImportState.DONE, ImportState.FAILED)
