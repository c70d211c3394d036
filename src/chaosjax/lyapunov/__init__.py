"""Lyapunov exponents of every kind of system, written once against the one-step map.

- `lyapunov_spectrum`, `max_lyapunov`, `finite_time_lyapunov`: tangent dynamics with
  QR re-orthonormalisation (Benettin et al. 1980), also for inverted maps and
  input-driven maps (RNNs);
- `finite_n_lyapunov`: the largest exponent of any given orbit (true, generated, or
  snapped to cube centres) from the norms of n-step Jacobian products, extrapolated in
  1/n (Shalova & Oseledets 2020);
- `kaplan_yorke_dimension`;
- `covariant_lyapunov_vectors`: Ginelli et al. (2007);
- `lyapunov_from_timeseries`: Rosenstein et al. (1993) and a local-Jacobian spectrum
  (Eckmann et al. 1986; Sano & Sawada 1985) for measured scalar data, with the delay
  (`mutual_information`), the dimension (`false_nearest_neighbours`) and the fit range
  (`steepest_secant`; `early_region` and `linear_region` to pass instead) chosen from
  the data unless given.

Exponents are per unit time for flows and per iteration for maps.
src/chaosjax/lyapunov/README.md explains the tangent and QR machinery.
"""

from .covariant import CovariantVectors as CovariantVectors
from .covariant import covariant_lyapunov_vectors as covariant_lyapunov_vectors
from .dimension import kaplan_yorke_dimension as kaplan_yorke_dimension
from .finite_n import FiniteNLyapunov as FiniteNLyapunov
from .finite_n import finite_n_lyapunov as finite_n_lyapunov
from .spectrum import FiniteTimeLyapunov as FiniteTimeLyapunov
from .spectrum import LyapunovResult as LyapunovResult
from .spectrum import finite_time_lyapunov as finite_time_lyapunov
from .spectrum import lyapunov_spectrum as lyapunov_spectrum
from .spectrum import max_lyapunov as max_lyapunov
from .spectrum import spectrum_on_map as spectrum_on_map
from .timeseries import TimeSeriesLyapunov as TimeSeriesLyapunov
from .timeseries import delay_embed as delay_embed
from .timeseries import early_region as early_region
from .timeseries import false_nearest_neighbours as false_nearest_neighbours
from .timeseries import linear_region as linear_region
from .timeseries import lyapunov_from_timeseries as lyapunov_from_timeseries
from .timeseries import mutual_information as mutual_information
from .timeseries import steepest_secant as steepest_secant

__all__ = [
    "CovariantVectors",
    "FiniteNLyapunov",
    "FiniteTimeLyapunov",
    "LyapunovResult",
    "TimeSeriesLyapunov",
    "covariant_lyapunov_vectors",
    "delay_embed",
    "early_region",
    "false_nearest_neighbours",
    "finite_n_lyapunov",
    "finite_time_lyapunov",
    "kaplan_yorke_dimension",
    "linear_region",
    "lyapunov_from_timeseries",
    "lyapunov_spectrum",
    "max_lyapunov",
    "mutual_information",
    "spectrum_on_map",
    "steepest_secant",
]
