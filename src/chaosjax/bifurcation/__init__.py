"""Bifurcations and omega-limit sets: Poincare sections, orbit diagrams, periods, fixed
points and periodic orbits, stability boundaries, and the classification of attractors.

Everything runs on the one-step map of a system (`cj.as_map`): a map itself, a flow
discretised by a solver, or a piecewise-smooth flow integrated across its switching
manifolds (`solver="event"`). A parameter sweep is one compiled `vmap` over the
parameter values, its batch axis sharded over `jax.devices()`. One module per topic:

- `poincare`: `PoincareMap`, the first-return map of a flow on a section (a `cj.Map`);
- `sections`: `Hyperplane`, `LocalMaxima`, `LocalMinima`, and their crossings located
  inside a step;
- `orbit_diagrams`: `orbit_diagram` (May 1976; Feigenbaum 1978);
- `exponents`: `lyapunov_sweep`, the leading exponents along a sweep (Benettin et al.
  1980);
- `period`: `detect_period`, `locate_period_change`, `feigenbaum_ratios`;
- `equilibria`: `fixed_points`, `periodic_orbits` (Newton's method);
- `continuation`: `stability_boundary` (Kuznetsov 2004);
- `pwl_normal_form`: `border_collision`, the scenarios of the piecewise-linear normal
  form (Feigin 1970; Freire et al. 1998; Banerjee & Grebogi 1999);
- `grazing`: `locate_grazing`, `switching_minimum`, `nonsmooth_folds` (di Bernardo et
  al. 2008);
- `gap_map`: `period_adding`, the discontinuous one-neuron map beside its smoothing;
- `classify`: `classify_attractor`, `classify_sweep` and their `ClassifyOptions`.

How crossings are located and sweeps are compiled: `bifurcation/README.md`.
"""

from .classify import LABELS as LABELS
from .classify import Classification as Classification
from .classify import ClassifyOptions as ClassifyOptions
from .classify import classify_attractor as classify_attractor
from .classify import classify_sweep as classify_sweep
from .continuation import StabilityChange as StabilityChange
from .continuation import stability_boundary as stability_boundary
from .equilibria import FixedPoints as FixedPoints
from .equilibria import PeriodicOrbits as PeriodicOrbits
from .equilibria import fixed_points as fixed_points
from .equilibria import periodic_orbits as periodic_orbits
from .exponents import lyapunov_sweep as lyapunov_sweep
from .gap_map import PeriodAdding as PeriodAdding
from .gap_map import period_adding as period_adding
from .grazing import Grazing as Grazing
from .grazing import NonsmoothFolds as NonsmoothFolds
from .grazing import locate_grazing as locate_grazing
from .grazing import nonsmooth_folds as nonsmooth_folds
from .grazing import switching_minimum as switching_minimum
from .orbit_diagrams import OrbitDiagram as OrbitDiagram
from .orbit_diagrams import orbit_diagram as orbit_diagram
from .period import PeriodChange as PeriodChange
from .period import detect_period as detect_period
from .period import feigenbaum_ratios as feigenbaum_ratios
from .period import locate_period_change as locate_period_change
from .poincare import PoincareMap as PoincareMap
from .pwl_normal_form import BorderCollision as BorderCollision
from .pwl_normal_form import border_collision as border_collision
from .sections import AbstractSection as AbstractSection
from .sections import Hyperplane as Hyperplane
from .sections import LocalMaxima as LocalMaxima
from .sections import LocalMinima as LocalMinima
from .sections import Section as Section

__all__ = [
    "AbstractSection",
    "BorderCollision",
    "Classification",
    "ClassifyOptions",
    "FixedPoints",
    "Grazing",
    "Hyperplane",
    "LABELS",
    "LocalMaxima",
    "LocalMinima",
    "NonsmoothFolds",
    "OrbitDiagram",
    "PeriodAdding",
    "PeriodChange",
    "PeriodicOrbits",
    "PoincareMap",
    "Section",
    "StabilityChange",
    "border_collision",
    "classify_attractor",
    "classify_sweep",
    "detect_period",
    "feigenbaum_ratios",
    "fixed_points",
    "locate_grazing",
    "locate_period_change",
    "lyapunov_sweep",
    "nonsmooth_folds",
    "orbit_diagram",
    "period_adding",
    "periodic_orbits",
    "stability_boundary",
    "switching_minimum",
]
