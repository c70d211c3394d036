"""chaosjax: chaotic dynamical systems and the models learned from them, in JAX.

chaosjax computes in float64 and leaves JAX's global configuration to you: call
`cj.enable_x64()` first (it warns once, with `cj.PrecisionWarning`, if you do not).

```python
import chaosjax as cj
cj.enable_x64()
lor = cj.systems.Lorenz63()
xs = cj.trajectory(lor, lor.default_state(), steps=20_000, dt=0.005)
```

Every name is imported on first use (`cj.trajectory` imports JAX and the simulation
code, `cj.plot` matplotlib), so that `import chaosjax` and `chaosjax --help` are quick.
"""

import importlib as _importlib
import sys as _sys
import types as _types
import typing as _typing

from ._version import __version__ as __version__

if _typing.TYPE_CHECKING:
    from . import bifurcation as bifurcation
    from . import io as io
    from . import learn as learn
    from . import lyapunov as lyapunov
    from . import metrics as metrics
    from . import native as native
    from . import observables as observables
    from . import parallel as parallel
    from . import piecewise as piecewise
    from . import plot as plot
    from . import sensitivity as sensitivity
    from . import simulate as simulate
    from . import solvers as solvers
    from . import systems as systems
    from ._config import PrecisionWarning as PrecisionWarning
    from ._config import enable_x64 as enable_x64
    from ._config import x64_enabled as x64_enabled
    from ._divergence import DivergenceError as DivergenceError
    from ._sweep import sweep as sweep
    from .bifurcation import Classification as Classification
    from .bifurcation import ClassifyOptions as ClassifyOptions
    from .bifurcation import Hyperplane as Hyperplane
    from .bifurcation import LocalMaxima as LocalMaxima
    from .bifurcation import LocalMinima as LocalMinima
    from .bifurcation import OrbitDiagram as OrbitDiagram
    from .bifurcation import classify_attractor as classify_attractor
    from .bifurcation import classify_sweep as classify_sweep
    from .bifurcation import detect_period as detect_period
    from .bifurcation import fixed_points as fixed_points
    from .bifurcation import locate_period_change as locate_period_change
    from .bifurcation import lyapunov_sweep as lyapunov_sweep
    from .bifurcation import orbit_diagram as orbit_diagram
    from .bifurcation import periodic_orbits as periodic_orbits
    from .bifurcation import stability_boundary as stability_boundary
    from .discretize import AbstractDiscretizedFlow as AbstractDiscretizedFlow
    from .discretize import Discretized as Discretized
    from .discretize import EventDiscretized as EventDiscretized
    from .discretize import as_map as as_map
    from .discretize import discretize as discretize
    from .discretize import event_map as event_map
    from .lyapunov import CovariantVectors as CovariantVectors
    from .lyapunov import FiniteNLyapunov as FiniteNLyapunov
    from .lyapunov import FiniteTimeLyapunov as FiniteTimeLyapunov
    from .lyapunov import LyapunovResult as LyapunovResult
    from .lyapunov import TimeSeriesLyapunov as TimeSeriesLyapunov
    from .lyapunov import covariant_lyapunov_vectors as covariant_lyapunov_vectors
    from .lyapunov import finite_n_lyapunov as finite_n_lyapunov
    from .lyapunov import finite_time_lyapunov as finite_time_lyapunov
    from .lyapunov import kaplan_yorke_dimension as kaplan_yorke_dimension
    from .lyapunov import lyapunov_from_timeseries as lyapunov_from_timeseries
    from .lyapunov import lyapunov_spectrum as lyapunov_spectrum
    from .lyapunov import max_lyapunov as max_lyapunov
    from .observables import cumulative_average as cumulative_average
    from .parallel import use_all_cpu_cores as use_all_cpu_cores
    from .sensitivity import LSS as LSS
    from .sensitivity import NILSS as NILSS
    from .sensitivity import S3 as S3
    from .sensitivity import AbstractSensitivityMethod as AbstractSensitivityMethod
    from .sensitivity import BlowupTable as BlowupTable
    from .sensitivity import FiniteTimeGradient as FiniteTimeGradient
    from .sensitivity import LagSensitivities as LagSensitivities
    from .sensitivity import ShadowingSensitivity as ShadowingSensitivity
    from .sensitivity import finite_time_gradient as finite_time_gradient
    from .sensitivity import lag_sensitivities as lag_sensitivities
    from .sensitivity import sensitivity_blowup_table as sensitivity_blowup_table
    from .sensitivity import shadowing_sensitivity as shadowing_sensitivity
    from .simulate import EnsembleAverage as EnsembleAverage
    from .simulate import ensemble_time_average as ensemble_time_average
    from .simulate import final_state as final_state
    from .simulate import time_average as time_average
    from .simulate import trajectory as trajectory
    from .solvers import solve_adaptive as solve_adaptive
    from .systems import DrivenMap as DrivenMap
    from .systems import FilippovFlow as FilippovFlow
    from .systems import Flow as Flow
    from .systems import InvertibleMap as InvertibleMap
    from .systems import Map as Map
    from .systems import PiecewiseSmoothFlow as PiecewiseSmoothFlow

# The subpackages reachable as attributes, and where each other public name lives.
_SUBMODULES = frozenset(
    [
        "bifurcation",
        "io",
        "learn",
        "lyapunov",
        "metrics",
        "native",
        "observables",
        "parallel",
        "piecewise",
        "plot",
        "sensitivity",
        "simulate",
        "solvers",
        "systems",
    ]
)
_NAMES: dict[str, str] = {
    "PrecisionWarning": "_config",
    "enable_x64": "_config",
    "x64_enabled": "_config",
    "DivergenceError": "_divergence",
    "sweep": "_sweep",
    "Classification": "bifurcation",
    "ClassifyOptions": "bifurcation",
    "Hyperplane": "bifurcation",
    "LocalMaxima": "bifurcation",
    "LocalMinima": "bifurcation",
    "OrbitDiagram": "bifurcation",
    "classify_attractor": "bifurcation",
    "classify_sweep": "bifurcation",
    "detect_period": "bifurcation",
    "fixed_points": "bifurcation",
    "locate_period_change": "bifurcation",
    "lyapunov_sweep": "bifurcation",
    "orbit_diagram": "bifurcation",
    "periodic_orbits": "bifurcation",
    "stability_boundary": "bifurcation",
    "AbstractDiscretizedFlow": "discretize",
    "Discretized": "discretize",
    "EventDiscretized": "discretize",
    "as_map": "discretize",
    "discretize": "discretize",
    "event_map": "discretize",
    "CovariantVectors": "lyapunov",
    "FiniteNLyapunov": "lyapunov",
    "FiniteTimeLyapunov": "lyapunov",
    "LyapunovResult": "lyapunov",
    "TimeSeriesLyapunov": "lyapunov",
    "covariant_lyapunov_vectors": "lyapunov",
    "finite_n_lyapunov": "lyapunov",
    "finite_time_lyapunov": "lyapunov",
    "kaplan_yorke_dimension": "lyapunov",
    "lyapunov_from_timeseries": "lyapunov",
    "lyapunov_spectrum": "lyapunov",
    "max_lyapunov": "lyapunov",
    "cumulative_average": "observables",
    "use_all_cpu_cores": "parallel",
    "LSS": "sensitivity",
    "NILSS": "sensitivity",
    "S3": "sensitivity",
    "AbstractSensitivityMethod": "sensitivity",
    "BlowupTable": "sensitivity",
    "FiniteTimeGradient": "sensitivity",
    "LagSensitivities": "sensitivity",
    "ShadowingSensitivity": "sensitivity",
    "finite_time_gradient": "sensitivity",
    "lag_sensitivities": "sensitivity",
    "sensitivity_blowup_table": "sensitivity",
    "shadowing_sensitivity": "sensitivity",
    "EnsembleAverage": "simulate",
    "ensemble_time_average": "simulate",
    "final_state": "simulate",
    "time_average": "simulate",
    "trajectory": "simulate",
    "solve_adaptive": "solvers",
    "DrivenMap": "systems",
    "FilippovFlow": "systems",
    "Flow": "systems",
    "InvertibleMap": "systems",
    "Map": "systems",
    "PiecewiseSmoothFlow": "systems",
}


def __getattr__(name: str) -> _typing.Any:
    # PEP 562: import what is asked for on first use and keep it.
    if name in _SUBMODULES:
        return _importlib.import_module("." + name, __name__)
    module = _NAMES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_importlib.import_module("." + module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | _SUBMODULES | set(_NAMES))


class _Package(_types.ModuleType):
    """The package's module type: `discretize` names the function, not the subpackage
    (the import system records a subpackage as an attribute of its parent when it
    loads it; for `chaosjax.discretize` that record is ignored)."""

    @property
    def discretize(self) -> _typing.Any:
        from .discretize import discretize

        return discretize

    @discretize.setter
    def discretize(self, value: _typing.Any) -> None:
        pass


_sys.modules[__name__].__class__ = _Package
