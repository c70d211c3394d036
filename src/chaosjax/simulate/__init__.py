"""Trajectories, final states and time averages of flows and maps.

Everything runs on the one-step map of the system (`cj.discretize` for flows): a
`lax.scan` under `jit`, batched when `x0` has a leading batch axis. Long runs are
split into chunks of one compiled scan, so memory stays bounded, a progress bar can
advance, and a divergence (non-finite state) is caught after each chunk and located
to the exact step by re-running only that chunk.

- `trajectories.py`: `trajectory` (and its `Trajectory` with times), `final_state`;
- `averages.py`: `time_average`, `ensemble_time_average`, `EnsembleAverage`;
- the machinery (README.md): `_tiling.py` (how a batch runs on a CPU), `_kernels.py`
  (the compiled chunks), `_chunked.py` (the chunked loop, generated C first through
  `chaosjax.native`), `_arguments.py` (checks shared by the public functions).
"""

from .._divergence import DivergenceError as DivergenceError
from .averages import EnsembleAverage as EnsembleAverage
from .averages import ensemble_time_average as ensemble_time_average
from .averages import last_backend as last_backend
from .averages import time_average as time_average
from .trajectories import Trajectory as Trajectory
from .trajectories import final_state as final_state
from .trajectories import trajectory as trajectory

__all__ = [
    "EnsembleAverage",
    "Trajectory",
    "ensemble_time_average",
    "final_state",
    "last_backend",
    "time_average",
    "trajectory",
]
