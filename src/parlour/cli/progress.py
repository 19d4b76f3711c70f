"""An import's progress on stderr (`parlour faq import`, `parlour knowledge upload`): passages
screened and embedded of those the file holds, as click's progress bar on a terminal. Elsewhere
(a pipe, a log) nothing, unless asked (`--progress`): then a line per step. `--no-progress`
keeps a terminal quiet too. The answer itself goes to stdout as before, so it stays parseable.
"""

from __future__ import annotations

import sys
from typing import Any

import click


class ImportProgress:
    """Given to `KnowledgeService.upload` as its `progress`; `close` ends the bar's line."""

    def __init__(self, label: str, *, wanted: bool | None) -> None:
        self._label = label
        self._terminal = sys.stderr.isatty()
        self._shown = self._terminal if wanted is None else wanted
        self._bar: Any = None  # click's ProgressBar, made once the total is known

    async def __call__(self, done: int, total: int) -> None:
        if not self._shown:
            return
        if not self._terminal:
            click.echo(f"{self._label}: {done}/{total} passages", err=True)
            return
        if self._bar is None:
            self._bar = click.progressbar(
                length=total,
                label=self._label,
                file=sys.stderr,
                show_pos=True,
                show_percent=True,
                show_eta=True,
            )
            self._bar.__enter__()
        self._bar.update(done - self._bar.pos)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None
