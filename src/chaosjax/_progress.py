"""A progress bar that advances between compiled chunks of a long run (rich)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


class _NullBar:
    def advance(self, n: int) -> None:
        pass

    def describe(self, text: str) -> None:
        pass


class _RichBar:
    def __init__(self, progress, task):
        self._progress, self._task = progress, task

    def advance(self, n: int) -> None:
        self._progress.update(self._task, advance=n)

    def describe(self, text: str) -> None:
        """Replace the bar's description (e.g. with the current loss)."""
        self._progress.update(self._task, description=text)


@contextlib.contextmanager
def progress_bar(enabled: bool, total: int, description: str) -> Iterator[_NullBar | _RichBar]:
    """A context yielding an object with `.advance(n)`; a no-op unless `enabled`."""
    if not enabled:
        yield _NullBar()
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, transient=False) as progress:
        task = progress.add_task(description, total=total)
        yield _RichBar(progress, task)
