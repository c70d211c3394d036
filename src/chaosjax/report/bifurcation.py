"""The report's orbit-diagram section: the long-time behaviour of one coordinate over a
sweep of the main parameter (local maxima of a flow's orbit, a Poincare section; the
iterates of a map)."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np

import chaosjax as cj

from .. import io as cjio
from . import page
from .config import parse_range
from .results import Report, Section
from .selection import observed_coordinate


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
    with r.busy("orbit diagram"):
        d = cj.orbit_diagram(sysm, param, jnp.asarray(values), **kwargs)
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
