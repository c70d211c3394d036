"""Where the commands write: the console, output files and figures, checked before any run."""

from __future__ import annotations

import contextlib
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


def check_out_file(out: Path, suffixes: tuple[str, ...] = (".nc", ".zarr")) -> Path:
    """--out: a known suffix, Zarr installed when asked for, a writable directory."""
    if out.suffix.lower() not in suffixes:
        raise UserError(f"--out must end in {' or '.join(suffixes)}, got {str(out)!r}.")
    if out.suffix.lower() == ".zarr" and not cjio.zarr_available():
        raise UserError(
            f"--out {str(out)!r}: Zarr output needs the optional zarr package "
            "(pip install 'chaosjax[zarr]'); use a .nc file instead."
        )
    parent = out.parent if str(out.parent) else Path(".")
    try:
        cjio.ensure_writable_dir(parent)
    except OSError as e:
        raise UserError(
            f"--out {str(out)!r} cannot be written: {e.strerror or e} ({str(parent)!r})."
        ) from None
    if out.is_dir() and out.suffix.lower() != ".zarr":
        raise UserError(f"--out {str(out)!r} is a directory; give a file name.")
    return out


def figure_path(plot: Path | None, no_plot: bool, default: str) -> Path | None:
    """--plot (or `default`) checked as a writable .png/.pdf/.svg; None with --no-plot."""
    if no_plot:
        return None
    path = plot if plot is not None else Path(default)
    if path.suffix.lower() not in (".png", ".pdf", ".svg"):
        raise UserError(f"--plot must end in .png, .pdf or .svg, got {str(path)!r}.")
    check_out_file(path, suffixes=(path.suffix.lower(),))
    return path


def save_dataset(console: Console, ds: xr.Dataset, out: Path) -> None:
    """Write `ds` to `out` atomically (`cj.io.save`) and say so."""
    cjio.save(ds, out)
    console.print(f"Wrote {out}.")
