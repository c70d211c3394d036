"""matplotlib figures. Each function returns a `matplotlib.figure.Figure` (Agg backend,
no display needed); the caller saves it. Algorithms never import this package.
"""

from ._bifurcation import orbit_diagram, poincare_section, return_map  # noqa: F401
from ._lyapunov import clv_angles, divergence_curve, lyapunov_convergence, lyapunov_spectrum_bars  # noqa: F401,E501
from ._sensitivity import sensitivity_blowup as sensitivity_blowup
from ._simulate import cumulative_average_band as cumulative_average_band
from ._simulate import phase_portrait as phase_portrait
from ._simulate import time_series as time_series
