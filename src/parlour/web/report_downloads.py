"""A report as a CSV download, the same from the REST API and the dashboard: the reports service
exports it (and records the export with who asked), and the answer is an attachment that no
cache keeps, named after the report and its period."""

from __future__ import annotations

from fastapi import Response

from parlour.audit.events import Actor
from parlour.reports.models import report_named
from parlour.services import Services


async def report_csv(
    services: Services,
    tenant_id: str,
    name: str,
    start: str | None,
    end: str | None,
    *,
    actor: Actor,
) -> Response:
    report = report_named(name)
    period = await services.reports.period(tenant_id, start, end)
    text = await services.reports.export(tenant_id, report, period, actor=actor)
    filename = f"{report.value}-{period.start.isoformat()}-{period.end.isoformat()}.csv"
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )
