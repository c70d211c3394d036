"""The report's last section: wall-clock seconds per section, the software versions
and the resolved configuration."""

from __future__ import annotations

import importlib.metadata as md
import platform
import time

import jax

from . import page
from .config import to_toml
from .results import Report, Section

_PACKAGES = (
    "chaosjax", "jax", "jaxlib", "equinox", "diffrax", "numpy", "xarray", "h5netcdf",
    "matplotlib", "typer", "rich",
)  # fmt: skip


def _versions() -> list[tuple[str, str]]:
    """(name, version) of Python, the platform, the installed packages and the devices."""
    rows = [("python", platform.python_version()), ("platform", platform.platform())]
    for pkg in _PACKAGES:
        try:
            rows.append((pkg, md.version(pkg)))
        except md.PackageNotFoundError:
            continue
    rows.append(("devices", ", ".join(str(d) for d in jax.devices())))
    return rows


def run(r: Report, s: Section) -> None:
    for key, seconds in r.timings.items():
        r.put(f"seconds_{key}", seconds, (), "s", f"wall time of section {key}")
    total = time.time() - r.started
    r.put("seconds_total", total, (), "s", "wall time of the report up to this table")
    s.parts.append(
        page.snippets("timings").timings(
            r,
            sections=[(key, r.sections[key].title) for key in r.timings],
            versions=_versions(),
            config=to_toml(r.cfg),
        )
    )
