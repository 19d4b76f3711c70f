"""Knowledge: uploading sources, versions (publish, diff, roll back) and the review queue."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from parlour.audit.events import Actor
from parlour.cli.common import settings, shown, with_services
from parlour.cli.progress import ImportProgress

if TYPE_CHECKING:
    from parlour.knowledge.models import ImportReport
    from parlour.services import Services


@click.group()
def knowledge() -> None:
    """An organisation's knowledge: sources, versions and the review queue."""


@knowledge.command("upload")
@click.option("--tenant", "tenant_id", required=True)
@click.option("--draft", is_flag=True, help="Make the version but do not publish it.")
@click.option("--name", help="The source's name (default: the file's name).")
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Show the import's progress on stderr (default: on a terminal only).",
)
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def knowledge_upload(
    tenant_id: str, draft: bool, name: str | None, progress: bool | None, path: Path
) -> None:
    """Upload a source (.csv or .json FAQ, .md, .txt, .html, .pdf, or a .json knowledge graph);
    it replaces the source of the same name in a new version."""
    data = _read_bounded(path)
    source = name or path.name

    async def work(services: Services) -> None:
        shown_progress = ImportProgress(f"importing {shown(source)}", wanted=progress)
        try:
            report = await services.knowledge.upload(
                tenant_id,
                source,
                data,
                actor=Actor.cli(),
                publish=not draft,
                progress=shown_progress,
            )
        finally:
            shown_progress.close()
        _print_report(report)

    with_services(work, tenant_id=tenant_id)


@knowledge.command("remove")
@click.option("--tenant", "tenant_id", required=True)
@click.option("--draft", is_flag=True, help="Make the version but do not publish it.")
@click.argument("name")
def knowledge_remove(tenant_id: str, draft: bool, name: str) -> None:
    """A new version without the named source."""

    async def work(services: Services) -> int:
        return await services.knowledge.remove_source(
            tenant_id, name, actor=Actor.cli(), publish=not draft
        )

    number = with_services(work, tenant_id=tenant_id)
    click.echo(f"version {number}: without {shown(name)}{'' if draft else ', published'}")


@knowledge.command("versions")
@click.option("--tenant", "tenant_id", required=True)
def knowledge_versions(tenant_id: str) -> None:
    """Every version, newest first; the live one is marked *."""

    async def work(services: Services) -> None:
        versions = await services.knowledge.versions(tenant_id)
        if not versions:
            click.echo("no versions yet: `parlour knowledge upload` makes the first", err=True)
        for version in versions:
            mark = "*" if version.published else " "
            when = version.created_at.strftime("%Y-%m-%d %H:%M")
            who, note = shown(version.created_by), shown(version.note)
            click.echo(f"{mark} {version.number:>4}  {when}  {who}  {note}")
            for source in version.sources:
                click.echo(
                    f"        {shown(source.name)}  {shown(source.kind)}  "
                    f"sha256:{source.sha256[:16]}"
                )

    with_services(work, tenant_id=tenant_id)


@knowledge.command("diff")
@click.option("--tenant", "tenant_id", required=True)
@click.option(
    "--entries", is_flag=True, help="Also the entries added, removed and changed, by question."
)
@click.argument("since", type=int)
@click.argument("to", type=int)
def knowledge_diff(tenant_id: str, entries: bool, since: int, to: int) -> None:
    """The sources added, removed and changed between two versions (and, with --entries, the
    entries: + added, - removed, ~ changed, each by its question)."""

    async def work(services: Services) -> None:
        if entries:
            changes = await services.knowledge.editor.changes(tenant_id, since, to)
            diff = changes.sources
        else:
            diff = await services.knowledge.diff(tenant_id, since, to)
        for source in diff.added:
            click.echo(f"+ {shown(source.name)}  sha256:{source.sha256[:16]}")
        for source in diff.removed:
            click.echo(f"- {shown(source.name)}  sha256:{source.sha256[:16]}")
        for before, after in diff.changed:
            click.echo(f"~ {shown(after.name)}  sha256:{before.sha256[:16]} -> {after.sha256[:16]}")
        if entries:
            for entry in changes.added:
                click.echo(f"  + {shown(entry.question)}")
            for entry in changes.removed:
                click.echo(f"  - {shown(entry.question)}")
            for _before, entry in changes.changed:
                click.echo(f"  ~ {shown(entry.question)}")

    with_services(work, tenant_id=tenant_id)


@knowledge.command("publish")
@click.option("--tenant", "tenant_id", required=True)
@click.argument("number", type=int)
def knowledge_publish(tenant_id: str, number: int) -> None:
    """Make a version live (an earlier one rolls back); audited."""

    async def work(services: Services) -> None:
        await services.knowledge.publish(tenant_id, number, actor=Actor.cli())

    with_services(work, tenant_id=tenant_id)
    click.echo(f"version {number} is live")


@knowledge.command("review")
@click.option("--tenant", "tenant_id", required=True)
def knowledge_review(tenant_id: str) -> None:
    """List the passages screening held back, with their reasons."""

    async def work(services: Services) -> None:
        for item in await services.knowledge.review.quarantined(tenant_id):
            reasons = "; ".join(item.reasons)
            click.echo(f"{shown(item.item_id)}  {shown(item.locator)}  {shown(reasons)}")
            click.echo(f"  Q: {shown(item.question)}")
            click.echo(f"  A: {shown(item.answer)}")

    with_services(work, tenant_id=tenant_id)


@knowledge.command("decide")
@click.option("--tenant", "tenant_id", required=True)
@click.argument("item_id")
@click.argument("decision", type=click.Choice(["approve", "reject"]))
def knowledge_decide(tenant_id: str, item_id: str, decision: str) -> None:
    """Approve a held-back passage (it joins its source) or reject it (it is deleted); audited."""

    async def work(services: Services) -> None:
        approve = decision == "approve"
        await services.knowledge.review.decide(
            tenant_id, item_id, approve=approve, actor=Actor.cli()
        )
        outcome = "approved: it joined its source" if approve else "rejected"
        click.echo(f"{shown(item_id)} {outcome}")

    with_services(work, tenant_id=tenant_id)


@click.group()
def faq() -> None:
    """Frequently asked questions (the source named faq.csv)."""


@faq.command("import")
@click.option("--tenant", "tenant_id", required=True)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Show the import's progress on stderr (default: on a terminal only).",
)
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def faq_import(tenant_id: str, progress: bool | None, path: Path) -> None:
    """Replace the organisation's FAQ with a CSV file (columns question,answer) and publish."""
    data = _read_bounded(path)

    async def work(services: Services) -> None:
        shown_progress = ImportProgress("importing faq.csv", wanted=progress)
        try:
            report = await services.knowledge.import_faq_csv(
                tenant_id, data, actor=Actor.cli(), progress=shown_progress
            )
        finally:
            shown_progress.close()
        _print_report(report)

    with_services(work, tenant_id=tenant_id)


def _read_bounded(path: Path) -> bytes:
    limit = settings().knowledge.max_upload_bytes
    if path.stat().st_size > limit:
        raise click.ClickException(f"{path} is larger than the upload limit ({limit} bytes)")
    return path.read_bytes()


def _print_report(report: ImportReport) -> None:
    published = ", published" if report.published else " (draft)"
    entries = "entry" if report.imported == 1 else "entries"
    click.echo(f"imported {report.imported} {entries}: version {report.version}{published}")
    for error in report.errors:
        click.echo(f"line {error.line}: {shown(error.message)}", err=True)
    for item in report.quarantined:
        reasons = shown("; ".join(item.reasons))
        click.echo(
            f"{shown(item.locator)}: held for review as {shown(item.item_id)}: {reasons}", err=True
        )
