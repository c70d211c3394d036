"""Piecewise-smooth systems in one namespace: the flows' base class, the event-located
one-step map that integrates across switching manifolds, and the piecewise-linear map.

The implementations live where their layer is: `cj.systems.PiecewiseSmoothFlow`,
`cj.systems.PiecewiseLinearMap`, and `chaosjax.discretize.events` for the integrator
(described there).
"""

from __future__ import annotations

from .discretize.events import METHODS as METHODS
from .discretize.events import EventDiscretized as EventDiscretized
from .discretize.events import event_map as event_map
from .systems import PiecewiseLinearMap as PiecewiseLinearMap
from .systems import PiecewiseSmoothFlow as PiecewiseSmoothFlow

__all__ = ["EventDiscretized", "METHODS", "PiecewiseLinearMap", "PiecewiseSmoothFlow", "event_map"]
