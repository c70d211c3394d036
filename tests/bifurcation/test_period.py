"""Period detection and the multisection of the period along a parameter."""

import jax.numpy as jnp
import numpy as np
import pytest

import chaosjax as cj
from chaosjax.bifurcation import feigenbaum_ratios

LOG = cj.systems.Logistic()
X_HALF = jnp.array([0.5])  # the critical point: its orbit finds the attractor (Singer)
# Period-doubling points of the logistic map (Feigenbaum 1978; r2 = 1 + sqrt 6 exactly).
R_PD = (3.0, 1.0 + np.sqrt(6.0), 3.5440903596, 3.5644072661, 3.5687594195)
FEIGENBAUM = 4.669201609


def test_logistic_period_doubling_points_from_orbit_diagram():
    # Multisection of the detected period on orbit diagrams. The transient (3e5) sets the
    # accuracy: critical slowing down near r_n shifts the boundary by ~ln(1/tol)/transient
    # ~ 5e-5 for r1 and less further on (measured: r1 - 3 = -3e-5).
    found = []
    for lo, hi in [(2.9, 3.1), (3.3, 3.5), (3.5, 3.55)]:
        pc = cj.locate_period_change(
            LOG, "r", lo, hi, X_HALF, transient=300_000, keep=64, max_period=16, points=48, rounds=3
        )
        assert pc.period_after == 2 * pc.period_before
        found.append(pc.value)
    assert np.allclose(found, R_PD[:3], atol=1e-4)


@pytest.mark.slow
def test_feigenbaum_ratio_from_orbit_diagram_alone():
    # r1..r5 only from orbit diagrams + period detection (transient 1e6 iterations).
    found = []
    for lo, hi in [(2.9, 3.1), (3.3, 3.5), (3.5, 3.55), (3.56, 3.566), (3.566, 3.569)]:
        found.append(
            cj.locate_period_change(LOG, "r", lo, hi, X_HALF, transient=10**6, keep=128).value
        )
    assert np.allclose(found, R_PD, atol=2e-5)
    assert abs(feigenbaum_ratios(found)[-1] / FEIGENBAUM - 1) < 0.01
