"""Running a report: each section in turn into the output directory, the outputs
rewritten after every section, so that a failure or an interruption leaves a
consistent report of the sections that finished."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import io as cjio
from . import (
    attractor,
    averages,
    bifurcation,
    lyapunov,
    model,
    page,
    sensitivity,
    system,
    timings,
)
from .config import ReportConfig, ReportError, merge_config
from .results import Report, Section
from .selection import resolve

_RUNNERS: dict[str, Callable[[Report, Section], None]] = {
    "system": system.run,
    "attractor": attractor.run,
    "averages": averages.run,
    "lyapunov": lyapunov.run,
    "sensitivity": sensitivity.run,
    "bifurcation": bifurcation.run,
    "model": model.run,
    "timings": timings.run,
}


class ReportSummary:
    """What `run_report` produced: paths, seconds, and the status of every section."""

    def __init__(
        self,
        out: Path,
        seconds: float,
        sections: dict[str, str],
        failed: list[str],
        interrupted: bool,
    ):
        self.out, self.seconds, self.sections = out, seconds, sections
        self.failed, self.interrupted = failed, interrupted
        self.index = out / "index.html"


def prepare_out(out: str | os.PathLike) -> Path:
    """Create the output directory (and parents); `ReportError` if it cannot be written."""
    try:
        return cjio.ensure_writable_dir(out)
    except OSError as e:
        raise ReportError(
            f"--out {str(Path(out))!r} is not a writable directory: {e.strerror or e}."
        ) from None


def _remove_previous_figures(out: Path) -> None:
    """Figures of an earlier report in `out` (listed in its results.json) and its
    interactive page go, so that no stale figure sits beside the new page; nothing else
    in the directory is touched."""
    try:
        old = json.loads((out / "results.json").read_text(encoding="utf-8"))
        names = [n for n in old.get("figures", []) if isinstance(n, str)]
    except (OSError, ValueError, AttributeError):
        return
    if isinstance(old.get("config"), dict) and old["config"].get("interactive"):
        names.append("interactive.html")
    for name in names:
        p = out / name
        if p.parent == out and p.suffix in (".png", ".html") and p.name != "index.html":
            p.unlink(missing_ok=True)


def run_report(
    config: ReportConfig | dict[str, Any],
    *,
    progress: bool = False,
    say: Callable[[str], None] | None = None,
) -> ReportSummary:
    """Run every section of the report into `config.out`.

    The directory receives `index.html`, the PNG figures beside it, `results.json` and
    `results.nc` with every number shown, and `config.toml`, the resolved configuration
    (`chaosjax report --config config.toml` runs it again). A section that raises is
    recorded as failed (its message shown in the report) and the others still run. A
    KeyboardInterrupt rewrites the outputs with the sections done so far, marks the
    report partial, and is re-raised.

    **Arguments:**

    - `config`: a `ReportConfig`, or a dict of its fields.
    - `progress`: show progress bars and spinners.
    - `say`: called with a line per section (its start and how it ended).

    **Returns:**

    A `ReportSummary`. Raises `ReportError` for a configuration that does not fit.

    Example:

    ```python
    from chaosjax.report import ReportConfig, run_report
    summary = run_report(ReportConfig(system="lorenz63", out="out"))
    print(summary.index, summary.sections)
    ```
    """
    if isinstance(config, dict):
        config = merge_config(config)
    cfg, system_ = resolve(config)
    out = prepare_out(cfg["out"])
    _remove_previous_figures(out)
    say = say or (lambda msg: None)
    r = Report(cfg, system_, out, progress)
    todo = list(r.sections.values())
    r.write(final=False)
    for i, s in enumerate(todo, 1):
        say(f"[{i}/{len(todo)}] {s.title}")
        t0 = time.time()
        r.section = s.key
        try:
            _RUNNERS[s.key](r, s)
            if s.status == "pending":
                s.status = "done"
        except KeyboardInterrupt:
            s.status = "interrupted"
            r.interrupted = s.key
            r.write(final=True)
            raise
        except Exception as e:  # noqa: BLE001 - one failing section must not lose the rest
            s.status = "failed"
            message = f"{type(e).__name__}: {e}"
            s.note = message
            s.parts.append(page.snippets("elements").failed(r.t(f"error_{s.key}", message)))
            if os.environ.get("CHAOSJAX_DEBUG"):
                raise
        if s.key != "timings":
            r.timings[s.key] = time.time() - t0
        if s.status == "done":
            say(f"      done in {time.time() - t0:.1f} s")
        elif s.status == "skipped":
            say(f"      {s.note}")
        elif s.status == "failed":
            say(f"      failed: {s.note}")
        r.write(final=s is todo[-1])
    return ReportSummary(
        out,
        time.time() - r.started,
        {k: s.status for k, s in r.sections.items()},
        [k for k, s in r.sections.items() if s.status == "failed"],
        False,
    )
