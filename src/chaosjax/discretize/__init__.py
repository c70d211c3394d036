"""Flow + solver + dt -> Map: the hinge of the design.

Every algorithm in chaosjax runs on a one-step map x_{k+1} = step(x_k) with a known
time per step. `as_map` is the one door through which a system becomes that map:
maps pass unchanged, flows are discretised by a solver (`discretize`) or, for
piecewise-smooth flows, by an integrator that locates the switching crossings inside
each step (`event_map`).
"""

from __future__ import annotations

import weakref

import jax
import numpy as np
from jax.core import Tracer

from .. import _validate as v
from .. import solvers
from .._config import check_precision
from ..systems import Autonomised, Flow, Map
from .events import METHODS as METHODS
from .events import EventDiscretized as EventDiscretized
from .events import event_map as event_map
from .flow_map import AbstractDiscretizedFlow as AbstractDiscretizedFlow
from .flow_map import Discretized as Discretized
from .flow_map import discretize as discretize
from .stroboscopic import StroboscopicMap as StroboscopicMap

#: Every `solver` name `as_map` accepts for a flow.
SOLVERS = (*solvers.all_solvers(), "event")


def as_map(
    system: object,
    dt: float | None = None,
    solver: str = "rk4",
    *,
    rtol: float = 1e-9,
    atol: float = 1e-9,
    time_dependent: bool = False,
) -> Map:
    """The one-step map of a system, after checking it: the entry point of every algorithm.

    A map is returned unchanged (then `dt` must be None); a flow is discretised over `dt`
    with `solver`. Raises `ValueError`, naming the argument, for anything that is not a
    `cj.Flow` or `cj.Map`, non-finite parameters, a missing or non-positive `dt` for a
    flow, a `dt` given for a map, or an unknown solver.

    **Arguments:**

    - `system`: a `cj.Flow` or `cj.Map` (typed `object`: this is where anything else is
      caught and named).
    - `dt`: time per step for a flow; None for a map.
    - `solver`: "euler", "rk4", "tsit5", "dopri5", "dopri8" (see `discretize`), or
      "event" for a `cj.systems.PiecewiseSmoothFlow` (see `event_map`).
    - `rtol`, `atol`: tolerances of the adaptive solvers, default 1e-9.
    - `time_dependent`: accept a time-dependent flow (`vector_field(t, x)`), whose map
      then acts on the state with the time appended, (x, t) (`cj.systems.Autonomised`);
      default False: such a flow raises `ValueError` pointing to `cj.StroboscopicMap`
      and `cj.PoincareMap` (the functions that handle the time pass True).

    **Returns:**

    A `cj.Map` whose `time_per_step` is `dt` for a flow and 1 for a map. When `dt` is
    None for a flow with a `default_dt` (every built-in flow has one), that step is used.

    Example:

    ```python
    cj.as_map(cj.systems.Henon())                      # the Henon map itself
    cj.as_map(cj.systems.Lorenz63(), dt=0.01).time_per_step   # 0.01
    ```
    """
    if not isinstance(system, (Flow, Map)):
        raise ValueError(f"`system` must be a cj.Flow or cj.Map, got {type(system).__name__}.")
    check_precision()
    _check_parameters(system)
    if isinstance(system, Map):
        if dt is not None:
            raise ValueError(
                f"`dt` must be None for a map ({type(system).__name__} steps in iterations), "
                f"got dt={dt!r}."
            )
        return system
    if dt is None:
        dt = system.default_dt
    if dt is None:
        raise ValueError(
            f"`dt` is required for a flow ({type(system).__name__}, which sets no "
            "`default_dt`); got None."
        )
    v.one_of(solver, "solver", SOLVERS)
    if system.time_dependent:
        if not time_dependent:
            raise ValueError(
                f"{type(system).__name__} is a time-dependent flow (vector_field(t, x)); "
                "this function needs a map or an autonomous flow. Pass "
                "cj.StroboscopicMap(flow, period) or cj.PoincareMap(flow, section) (maps of "
                "the flow), or cj.systems.Autonomised(flow) (the time as a coordinate). "
                "cj.trajectory, cj.final_state, cj.time_average, cj.lyapunov_spectrum and "
                "cj.max_lyapunov take the time-dependent flow itself."
            )
        if solver == "event":
            raise ValueError(
                '`solver="event"` is for piecewise-smooth autonomous flows; '
                f"{type(system).__name__} depends on time."
            )
        return discretize(Autonomised(system), dt, solver, rtol=rtol, atol=atol)
    if solver == "event":
        return event_map(system, dt)
    return discretize(system, dt, solver, rtol=rtol, atol=atol)


_checked: dict = {}
"""Systems whose parameters `as_map` found real and finite, by identity (weak
references only, so nothing is kept alive). Only systems whose array leaves are all
concrete JAX arrays are noted: those cannot change, so one check holds for good."""


def _check_parameters(system) -> None:
    ref = _checked.get(id(system))
    if ref is not None and ref() is system:
        return
    v.system_parameters(system)
    for leaf in jax.tree.leaves(system):
        if isinstance(leaf, np.ndarray) or isinstance(leaf, Tracer):
            return  # mutable or traced: checked again next time
    if len(_checked) >= 256:
        _checked.clear()
    _checked[id(system)] = weakref.ref(system)


__all__ = [
    "AbstractDiscretizedFlow",
    "Discretized",
    "EventDiscretized",
    "METHODS",
    "SOLVERS",
    "StroboscopicMap",
    "as_map",
    "discretize",
    "event_map",
]
