"""Progress bars (rich): one that advances between compiled chunks of a long run, and
one that pulses with the elapsed time while a single call that cannot report its
progress runs. Both are silent unless enabled and shown on a terminal (or in Jupyter):
piped or redirected output gets no bars."""

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


def _shown(enabled: bool):
    """The rich console to draw on, or None when bars are off or nobody watches."""
    if not enabled:
        return None
    from rich.console import Console

    console = Console()
    return console if console.is_terminal or console.is_jupyter else None


@contextlib.contextmanager
def progress_bar(enabled: bool, total: int, description: str) -> Iterator[_NullBar | _RichBar]:
    """A context yielding an object with `.advance(n)`; a no-op unless `enabled` and the
    output is a terminal (or Jupyter)."""
    console = _shown(enabled)
    if console is None:
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
    with Progress(*columns, transient=False, console=console) as progress:
        task = progress.add_task(description, total=total)
        yield _RichBar(progress, task)


@contextlib.contextmanager
def activity(enabled: bool, description: str) -> Iterator[None]:
    """A pulsing bar with the elapsed time while one call runs that cannot report how far
    it is (a single compiled computation); replaced by a line with the seconds it took.
    A no-op unless `enabled` and the output is a terminal (or Jupyter)."""
    console = _shown(enabled)
    if console is None:
        yield
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, transient=False, console=console) as progress:
        task = progress.add_task(description, total=None)
        yield
        progress.update(task, total=1, completed=1)
        progress.refresh()
