"""matplotlib figures that compose. Every helper draws into an Axes you pass as `ax=`
(the multi-panel ones, `time_series`, `orbit_diagram`, `forecast_vs_truth`,
`invariant_distributions` and `generated_vs_true`, into a `Figure` or `SubFigure` passed
as `fig=`) or, without one, into a new pyplot figure; each returns the figure it drew
into. Importing this package leaves matplotlib's backend alone: figures show inline in
Jupyter and with `plt.show()`, and where there is no display matplotlib itself falls
back to Agg, so saving works headless. Algorithms never import this package.

```python
import matplotlib.pyplot as plt
hen = cj.systems.Henon()
res = cj.lyapunov_spectrum(hen, hen.default_state(), 20_000)
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
cj.plot.lyapunov_convergence(res, reference=hen.reference_exponents, ax=left)
cj.plot.lyapunov_spectrum_bars(res.exponents, ax=right)
cj.io.save_figure(fig, "henon.png")
```
"""

from ._bifurcation import orbit_diagram as orbit_diagram
from ._bifurcation import poincare_section as poincare_section
from ._bifurcation import return_map as return_map
from ._learn import distance_vs_time as distance_vs_time
from ._learn import forecast_vs_truth as forecast_vs_truth
from ._learn import generated_vs_true as generated_vs_true
from ._learn import invariant_distributions as invariant_distributions
from ._learn import loss_curves as loss_curves
from ._learn import spectra_side_by_side as spectra_side_by_side
from ._learn import verdict_figures as verdict_figures
from ._lyapunov import clv_angles as clv_angles
from ._lyapunov import divergence_curve as divergence_curve
from ._lyapunov import lyapunov_convergence as lyapunov_convergence
from ._lyapunov import lyapunov_spectrum_bars as lyapunov_spectrum_bars
from ._networks import decision_boundaries as decision_boundaries
from ._networks import loss_landscapes as loss_landscapes
from ._sensitivity import sensitivity_blowup as sensitivity_blowup
from ._simulate import cumulative_average_band as cumulative_average_band
from ._simulate import phase_portrait as phase_portrait
from ._simulate import time_series as time_series

__all__ = [
    "clv_angles",
    "cumulative_average_band",
    "decision_boundaries",
    "distance_vs_time",
    "divergence_curve",
    "forecast_vs_truth",
    "generated_vs_true",
    "invariant_distributions",
    "loss_curves",
    "loss_landscapes",
    "lyapunov_convergence",
    "lyapunov_spectrum_bars",
    "orbit_diagram",
    "phase_portrait",
    "poincare_section",
    "return_map",
    "sensitivity_blowup",
    "spectra_side_by_side",
    "time_series",
    "verdict_figures",
]
