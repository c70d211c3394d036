"""Stability boundaries: continuation plus bisection, and the bifurcation named."""

import jax.numpy as jnp
import numpy as np

import chaosjax as cj
from chaosjax.bifurcation import feigenbaum_ratios

LOG = cj.systems.Logistic()
X_HALF = jnp.array([0.5])  # the critical point: its orbit finds the attractor (Singer)
# Period-doubling points of the logistic map (Feigenbaum 1978; r2 = 1 + sqrt 6 exactly).
R_PD = (3.0, 1.0 + np.sqrt(6.0), 3.5440903596, 3.5644072661, 3.5687594195)
FEIGENBAUM = 4.669201609


def test_feigenbaum_ratio_from_stability_boundaries():
    # r_n located where the 2^(n-1)-cycle's multiplier crosses -1 (bisection on stability,
    # cycle continued by Newton on F^p); brackets around the known values are 1e-3 wide,
    # far tighter than the gaps r_{n+1} - r_n >= 4e-3.
    rs = []
    for n, r in enumerate(R_PD):
        lo, hi = round(r, 3) - 1e-3, round(r, 3) + 1e-3
        guess = cj.final_state(LOG.replace(r=lo), X_HALF, steps=20_000)
        sc = cj.stability_boundary(LOG, "r", lo, hi, guess, period=2**n)
        assert sc.kind == "period_doubling"
        assert np.isclose(float(sc.eigenvalues[0].real), -1.0, atol=1e-8)
        rs.append(sc.value)
    assert np.allclose(rs, R_PD, atol=1e-8)
    delta = feigenbaum_ratios(rs)
    # r1..r5 give three ratios 4.751, 4.656, 4.668; the last is within 0.02 % of delta.
    assert abs(delta[-1] / FEIGENBAUM - 1) < 0.01


def test_lorenz_hopf_point_from_eigenvalues():
    lor = cj.systems.Lorenz63()
    fp = cj.fixed_points(lor, jnp.array([[8.0, 8.0, 27.0], [-8.0, -8.0, 27.0], [0.1, 0.0, 0.0]]))
    assert fp.points.shape == (3, 3)
    # At rho = 28 C+- are saddle-foci with an unstable complex pair (0.094 +- 10.19 i).
    cpm = np.asarray(fp.eigenvalues)[[0, 2]]
    assert np.allclose(np.sort(cpm.real, axis=-1)[:, -1], 0.0940, atol=1e-3)
    h = cj.stability_boundary(lor, "rho", 20.0, 30.0, jnp.array([8.0, 8.0, 24.0]))
    s, b = 10.0, 8.0 / 3.0
    rho_h = s * (s + b + 3) / (s - b - 1)  # 24.7368 (Lorenz 1963)
    assert h.kind == "hopf" and abs(h.value - 24.74) < 1e-2 and abs(h.value - rho_h) < 1e-8
    assert np.isclose(np.max(np.asarray(h.eigenvalues).real), 0.0, atol=1e-8)


def test_stability_boundary_names_the_bifurcation():
    # Delayed logistic map: Neimark-Sacker at a = 2, multipliers e^{+-i pi/3}.
    ns = cj.stability_boundary(cj.systems.DelayedLogistic(), "a", 1.9, 2.1, jnp.array([0.5, 0.5]))
    assert ns.kind == "neimark_sacker" and abs(ns.value - 2.0) < 1e-9
    assert np.allclose(np.abs(np.asarray(ns.eigenvalues)), 1.0, atol=1e-9)
    # Lorenz origin at rho = 1 (pitchfork) and logistic x = 0 at r = 1 (transcritical): a
    # real eigenvalue through 0 / a multiplier through +1, told apart on the centre
    # manifold (tests/bifurcation/test_normal_forms.py).
    pf = cj.stability_boundary(cj.systems.Lorenz63(), "rho", 0.5, 1.5, jnp.zeros(3))
    tc = cj.stability_boundary(LOG, "r", 0.5, 1.5, jnp.array([0.0]))
    assert (pf.kind, tc.kind) == ("pitchfork", "transcritical")
    assert abs(pf.value - 1.0) < 1e-9 and abs(tc.value - 1.0) < 1e-9
