"""`python -m bench [NAME ...]`: run benchmarks and print their results as Markdown."""

from __future__ import annotations

import asyncio
import platform
import sys
from datetime import UTC, datetime

from bench import (
    answers,
    attachments,
    claims,
    crypto,
    desk,
    first_turn,
    gaps,
    gateway,
    handoff,
    local_load,
    reports,
    retrieval,
    watch,
    webhooks,
    widget,
)

BENCHMARKS = {
    "answers": answers.run,
    "attachments": attachments.run,
    "claims": claims.run,
    "crypto": crypto.run,
    "desk": desk.run,
    "first_turn": first_turn.run,
    "gaps": gaps.run,
    "gateway": gateway.run,
    "handoff": handoff.run,
    "local_load": local_load.run,
    "reports": reports.run,
    "retrieval": retrieval.run,
    "watch": watch.run,
    "webhooks": webhooks.run,
    "widget": widget.run,
}


def main(names: list[str]) -> None:
    chosen = names or list(BENCHMARKS)
    unknown = [n for n in chosen if n not in BENCHMARKS]
    if unknown:
        raise SystemExit(
            f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}"
        )
    print(
        f"<!-- {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, Python {platform.python_version()}, "
        f"{platform.machine()} -->"
    )
    for name in chosen:
        print(asyncio.run(BENCHMARKS[name]()))


if __name__ == "__main__":
    main(sys.argv[1:])
