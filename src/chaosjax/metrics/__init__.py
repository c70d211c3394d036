"""Is a learned model a faithful copy of the system? Metrics that compare a model's
forecasts and long runs with the truth's, each the one its literature reports:

- forecasts: `valid_prediction_time` (normalised RMS error below a threshold, in
  Lyapunov times; Pathak et al. 2018, Vlachas et al. 2020) and `smape` (dysts,
  Chronos, Panda);
- invariant distributions: `wasserstein` (exact 1-D marginals in JAX, exact binned
  transport with POT, sliced) and `wasserstein_comparison`, which always sets a model's
  distances beside those between every pair of true runs;
- dynamics: `spectrum_distance` (Lyapunov spectra, Kaplan-Yorke dimensions),
  `power_spectrum_distance` and `autocorrelation_distance`;
- symbolic continuations: `divergence_time` (how long token sequences sharing a
  prefix keep a reference's tokens) and `sampled_divergence_time` (the same for a
  system's sampled true continuations; Shalova & Oseledets 2020).

```python
import chaosjax as cj
cj.enable_x64()
lor = cj.systems.Lorenz63()
true = cj.trajectory(lor, lor.default_state(), steps=4_000, dt=0.01)
pred = cj.trajectory(lor, lor.default_state() + 1e-8, steps=4_000, dt=0.01)
cj.metrics.valid_prediction_time(pred, true, dt=0.01, lyapunov_time=1 / 0.906)
cj.metrics.wasserstein(pred, true)          # per coordinate
```
"""

from .divergence import DivergenceTime as DivergenceTime
from .divergence import SampledDivergence as SampledDivergence
from .divergence import divergence_time as divergence_time
from .divergence import sampled_divergence_time as sampled_divergence_time
from .exponents import SpectrumDistance as SpectrumDistance
from .exponents import spectrum_distance as spectrum_distance
from .prediction import VPT as VPT
from .prediction import smape as smape
from .prediction import valid_prediction_time as valid_prediction_time
from .signals import autocorrelation_distance as autocorrelation_distance
from .signals import power_spectrum_distance as power_spectrum_distance
from .transport import WassersteinComparison as WassersteinComparison
from .transport import wasserstein as wasserstein
from .transport import wasserstein_comparison as wasserstein_comparison

__all__ = [
    "VPT",
    "DivergenceTime",
    "SampledDivergence",
    "SpectrumDistance",
    "WassersteinComparison",
    "autocorrelation_distance",
    "divergence_time",
    "power_spectrum_distance",
    "sampled_divergence_time",
    "smape",
    "spectrum_distance",
    "valid_prediction_time",
    "wasserstein",
    "wasserstein_comparison",
]
