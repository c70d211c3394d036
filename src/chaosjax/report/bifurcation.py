"""The report's orbit-diagram section: the long-time behaviour of one coordinate over a
sweep of the main parameter (local maxima of a flow's orbit, a Poincare section; the
iterates of a map)."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np

import chaosjax as cj

from .. import io as cjio
from .._progress import progress_bar
from . import page
from .config import parse_range
from .results import Report, Section
from .selection import observed_coordinate


def orbit_diagram_in_chunks(
    system, param: str, values: np.ndarray, *, progress: bool, chunks: int = 20, **kwargs: Any
):
    """`cj.orbit_diagram` over `values` in about `chunks` equal pieces, with a progress
    bar that advances per piece (every piece has the same shape, so it compiles once;
    the last is padded with its last value). The same `OrbitDiagram` as one call: each
    value's run does not depend on the others. A piece in which no run crosses the
    section gets empty rows (NaN points, zero counts), as such runs do in one call;
    only when every piece has none is the error raised."""
    values = np.asarray(values)
    n = len(values)
    size = max(1, -(-n // chunks))
    pieces = -(-n // size)
    padded = np.concatenate([values, np.repeat(values[-1:], pieces * size - n, axis=0)])
    parts: list[Any] = []
    first_error: ValueError | None = None
    with progress_bar(progress, n, f"orbit diagram over {param}") as bar:
        for c in range(pieces):
            chunk = jnp.asarray(padded[c * size : (c + 1) * size])
            try:
                parts.append(cj.orbit_diagram(system, param, chunk, **kwargs))
            except ValueError as e:
                if c == 0 and pieces == 1:
                    raise
                first_error = first_error or e
                parts.append(chunk)  # filled in below, once the shapes are known
            bar.advance(min(size, n - c * size))
    done = [p for p in parts if isinstance(p, cj.OrbitDiagram)]
    if not done:
        assert first_error is not None
        raise first_error
    ref = done[0]

    def field(p, name):
        if isinstance(p, cj.OrbitDiagram):
            return np.asarray(getattr(p, name))
        like = np.asarray(getattr(ref, name))
        empty = {"counts": 0, "diverged": False}.get(name, np.nan)
        return np.full((len(p),) + like.shape[1:], empty, like.dtype)

    def joined(name):
        return jnp.asarray(np.concatenate([field(p, name) for p in parts])[:n])

    return type(ref)(
        param=ref.param,
        **{name: joined(name) for name in ("points", "counts", "final_states", "diverged")},
        # (a map's iteration numbers are not stored: made when read)
        times=None if ref._times is None else joined("times"),
        values=jnp.asarray(values),
    )


def run(r: Report, s: Section) -> None:
    from ..plot import _report as figs  # matplotlib loads when a figure is drawn

    cfg, sysm = r.cfg, r.system
    param = cfg["bifurcation_parameter"]
    if param is None:
        return s.not_applicable("this system has no scalar parameter to vary")
    lo, hi, num = parse_range(cfg["bifurcation_range"])
    values = np.linspace(lo, hi, num)
    coord = observed_coordinate(sysm)
    kwargs: dict[str, Any] = dict(
        transient=cfg["bifurcation_transient"], keep=cfg["bifurcation_keep"]
    )
    if r.flow:
        kwargs.update(dt=r.dt, solver=cfg["solver"], section=cj.LocalMaxima(coord))
    d = orbit_diagram_in_chunks(sysm, param, values, progress=r.progress, **kwargs)
    pts = np.asarray(d.points)[..., coord]
    var = sysm.variable_names()[coord]
    # The swept values are the coordinate named after the parameter ("rho", "r").
    swept = param if param not in r.nc and param not in r.coords else "bifurcation_value"
    r.coord(swept, values, "1", f"parameter {param}")
    r.store(
        "orbit_points",
        pts,
        (swept, "orbit_point"),
        _unit(sysm.variable_units()[coord]),
        f"omega-limit points of {var}",
    )
    r.put("bifurcation_start", lo)
    r.put("bifurcation_stop", hi)
    r.put("bifurcation_values", num)
    r.put("bifurcation_diverged", int(np.asarray(d.diverged).sum()), long_name="runs that diverged")
    s.parts.append(page.snippets("bifurcation").diagram(r, param=param, coord=coord))
    fig = figs.orbit_diagram(
        values,
        pts,
        param=param,
        coordinate=var,
        title=f"{cjio.system_name(sysm)}: orbit diagram",
    )
    s.parts.append(r.figure(fig, "orbit_diagram.png", f"Orbit diagram over {param}"))


def _unit(unit: str | None) -> str:
    return unit or "1"
