"""Piecewise-smooth systems in one namespace: the flows' base classes (with Filippov
sliding for `FilippovFlow`), the event-located one-step map that integrates across
switching manifolds and along sliding segments, and the piecewise-linear map.

The implementations live where their layer is: `cj.systems.PiecewiseSmoothFlow`,
`cj.systems.FilippovFlow`, `cj.systems.PiecewiseLinearMap`, and
`chaosjax.discretize.events` for the integrator (described there).
"""

from __future__ import annotations

from .discretize.events import METHODS as METHODS
from .discretize.events import EventDiscretized as EventDiscretized
from .discretize.events import event_map as event_map
from .systems import FilippovFlow as FilippovFlow
from .systems import PiecewiseLinearMap as PiecewiseLinearMap
from .systems import PiecewiseSmoothFlow as PiecewiseSmoothFlow

__all__ = [
    "EventDiscretized",
    "FilippovFlow",
    "METHODS",
    "PiecewiseLinearMap",
    "PiecewiseSmoothFlow",
    "event_map",
]
