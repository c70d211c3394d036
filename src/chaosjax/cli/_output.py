"""Where the commands write: the console, output files and figures, checked before any run."""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import xarray as xr
from rich.console import Console

from .. import io as cjio
from ._errors import UserError


def make_console(quiet: bool = False, stderr: bool = False) -> Console:
    """A rich console that prints nothing with `quiet` and never re-wraps lines."""
    return Console(stderr=stderr, quiet=quiet, highlight=False, soft_wrap=True)


@contextlib.contextmanager
def interrupt_note(console: Console, kept: str) -> Iterator[None]:
    """On Ctrl-C inside the block, say what was kept (`kept`), then re-raise."""
    try:
        yield
    except KeyboardInterrupt:
        console.print(f"[yellow]Interrupted.[/yellow] {kept}")
        raise


def check_out_file(
    out: Path,
    suffixes: tuple[str, ...] = (".nc", ".zarr"),
    *,
    option: str = "--out",
    force: bool = False,
) -> Path:
    """--out (or `option`): a known suffix, Zarr installed when asked for, a writable
    directory, and no read-only file in the way unless `force`."""
    if out.suffix.lower() not in suffixes:
        raise UserError(f"{option} must end in {' or '.join(suffixes)}, got {str(out)!r}.")
    if out.suffix.lower() == ".zarr" and not cjio.zarr_available():
        raise UserError(
            f"{option} {str(out)!r}: Zarr output needs the optional zarr package "
            "(pip install 'chaosjax[zarr]'); use a .nc file instead."
        )
    # A symbolic link is written through: its target's directory must be writable.
    real = Path(os.path.realpath(out)) if out.is_symlink() else out
    parent = real.parent if str(real.parent) else Path(".")
    try:
        cjio.ensure_writable_dir(parent)
    except OSError as e:
        raise UserError(
            f"{option} {str(out)!r} cannot be written: {e.strerror or e} ({str(parent)!r})."
        ) from None
    if real.is_dir() and out.suffix.lower() != ".zarr":
        raise UserError(f"{option} {str(out)!r} is a directory; give a file name.")
    if real.is_file() and not force and _read_only(real):
        raise UserError(
            f"{option} {str(out)!r} is a read-only file; make it writable, choose another "
            "name, or add --force to replace it (it stays read-only)."
        )
    return out


#: What chaosjax writes into an output directory (a report, a learned model, a verdict).
_WRITTEN = (".eqx", ".json", ".nc", ".png", ".pdf", ".svg", ".html", ".toml", ".csv")


def check_out_dir(out: Path, *, option: str = "--out", force: bool = False) -> Path:
    """An output directory (--out DIR): created if needed, writable, not a file, and,
    unless `force`, holding no read-only file of the kinds chaosjax writes there (which
    the run would replace; with `force` they are replaced and stay read-only)."""
    if out.exists() and not out.is_dir():
        raise UserError(f"{option} {str(out)!r} is a file; give a directory.")
    try:
        cjio.ensure_writable_dir(out)
    except OSError as e:
        raise UserError(
            f"{option} {str(out)!r} is not a writable directory: {e.strerror or e}."
        ) from None
    if not force:
        for path in sorted(out.iterdir()):
            real = Path(os.path.realpath(path))
            if path.suffix.lower() in _WRITTEN and real.is_file() and _read_only(real):
                raise UserError(
                    f"{option} {str(out)!r} holds the read-only file {path.name!r}, which "
                    "this run would replace; make it writable, choose another directory, "
                    "or add --force to replace it (it stays read-only)."
                )
    return out


def _read_only(path: Path) -> bool:
    # Permission bits, not os.access: the superuser may write anything.
    return not path.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)


def figure_path(
    plot: Path | None,
    no_plot: bool,
    default: str,
    *,
    force: bool = False,
    beside: Path | None = None,
) -> Path | None:
    """--plot checked as a writable .png/.pdf/.svg; None with --no-plot. Without --plot,
    the figure goes beside the --out file `beside` (its name with .png), else to
    `default` in the working directory, as the --plot help says."""
    if no_plot:
        return None
    if plot is not None:
        path = plot
    elif beside is not None:
        path = beside.with_suffix(".png")
    else:
        path = Path(default)
    if path.suffix.lower() not in (".png", ".pdf", ".svg"):
        raise UserError(f"--plot must end in .png, .pdf or .svg, got {str(path)!r}.")
    check_out_file(path, suffixes=(path.suffix.lower(),), option="--plot", force=force)
    return path


def save_dataset(console: Console, ds: xr.Dataset, out: Path) -> None:
    """Write `ds` to `out` atomically (`cj.io.save`) and say so."""
    cjio.save(ds, out)
    console.print(f"Wrote {out}.")
