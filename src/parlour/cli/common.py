"""What every command shares: settings from the environment, services for one run, the line
that says which data it works on, and the one way to print what a tenant wrote.

Commands import nothing heavy at module level: `parlour --help` and a command's own start stay
fast, and only a command that touches data pays for building the services (T-90 below).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from parlour.errors import ParlourError

if TYPE_CHECKING:
    from parlour.services import Services
    from parlour.settings import Settings

T = TypeVar("T")

# Where `parlour demo` keeps its data when PARLOUR_DATA_DIR is not set.
DEMO_DATA_DIR = Path(".parlour-demo")

# C0 and C1 controls and DEL (ESC starts CSI and OSC sequences, 0x9b and 0x9d are their one-byte
# forms, BEL rings, NUL truncates, CR and LF forge lines), the Unicode line and paragraph
# separators, and the bidirectional controls: overrides, embeddings, isolates and marks, which
# printed raw reorder what a terminal shows ("Trojan Source"), so one name could read as another.
_CONTROL = r"\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069"
_UNSAFE = re.compile(f"[{_CONTROL}]")
_FIELD = re.compile(rf"[\\{_CONTROL}]")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char == "\\":
        return "\\\\"
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def shown(value: object) -> str:
    """`value` as one safe field on one line: every control character, line break and bidi
    control is written as a visible escape (`\\x1b`, `\\u202e`), and a backslash as `\\\\`, so
    the escapes cannot be forged either. Use it for anything a tenant or a client set: names,
    labels, notes, ids read back from storage (T-90)."""
    return _FIELD.sub(_escape, str(value))


def shown_text(value: str) -> str:
    """A whole document (a prompt template, a diff): like `shown`, but its own line breaks and
    tabs stay, since they are its layout; carriage returns do not (they overwrite a line)."""
    return "\n".join(
        "\t".join(shown(cell) for cell in line.split("\t")) for line in value.split("\n")
    )


def json_line(value: Any) -> str:
    """One JSON document on one line. JSON escapes C0 controls already; DEL, C1 controls, line
    separators and bidi controls get `\\uXXXX` escapes too (the same value to any JSON reader),
    so a terminal or a SIEM console that shows the line raw shows no control of it."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def settings() -> Settings:
    from parlour.settings import Settings

    try:
        return Settings()
    except ValueError as exc:
        raise click.ClickException(f"configuration: {shown(exc)}") from None


def say_where(config: Settings) -> None:
    """Name the database a command works on, on stderr so that its output stays parseable: a
    command run without PARLOUR_DATA_DIR would otherwise quietly make a new, empty one."""
    from sqlalchemy.engine import make_url

    if config.database.url:
        where = make_url(config.database.url).render_as_string(hide_password=True)
        click.echo(f"database: {shown(where)}", err=True)
        return
    data_dir = config.data_dir.resolve()
    click.echo(f"data: {shown(data_dir)}/ (PARLOUR_DATA_DIR)", err=True)
    demo = DEMO_DATA_DIR.resolve()
    if data_dir != demo and (demo / "demo.json").exists():
        click.echo(
            f"note: `parlour demo` keeps its data in {shown(demo)}/; "
            f"PARLOUR_DATA_DIR={DEMO_DATA_DIR} works on it",
            err=True,
        )


def with_services(work: Callable[[Services], Awaitable[T]], *, tenant_id: str | None = None) -> T:
    """Run `work` against freshly migrated services, as one short-lived process would. With
    `tenant_id`, that organisation must exist: an unknown one is an error, never an empty list.
    """
    from parlour.services import build_services

    config = settings()
    say_where(config)

    async def run() -> T:
        services = build_services(config)
        try:
            await services.migrate()
            if tenant_id is not None:
                await services.tenants.get(tenant_id)
            return await work(services)
        finally:
            await services.aclose()

    try:
        return asyncio.run(run())
    except ParlourError as error:
        raise click.ClickException(described(error)) from None


def described(error: ParlourError) -> str:
    """The error's code and message, then each reason it gives by line (an upload's bad rows),
    as the API's `details` gives them."""
    lines = [f"{error.code}: {shown(error.message)}"]
    for reason in error.details.get("errors", []):
        if isinstance(reason, dict):
            lines.append(f"  line {shown(reason.get('line'))}: {shown(reason.get('message'))}")
    return "\n".join(lines)
