"""Fixed points, equilibria and periodic orbits by Newton's method, with multipliers."""

import jax.numpy as jnp
import numpy as np

import chaosjax as cj


def test_logistic_cycles_fixed_points_and_multipliers():
    fp = cj.fixed_points(cj.systems.Logistic(r=2.5), jnp.linspace(-0.2, 0.9, 12)[:, None])
    assert np.allclose(np.asarray(fp.points[:, 0]), [0.0, 1 - 1 / 2.5], atol=1e-12)
    assert np.allclose(np.asarray(fp.eigenvalues[:, 0]), [2.5, 2 - 2.5])
    assert fp.stable.tolist() == [False, True]
    po = cj.periodic_orbits(cj.systems.Logistic(r=3.2), jnp.linspace(0.1, 0.9, 9)[:, None], 2)
    assert po.points.shape == (1, 2, 1) and int(po.period[0]) == 2
    # Multiplier of the 2-cycle: 4 + 2r - r^2 (exact).
    assert np.isclose(complex(po.multipliers[0, 0]), 4 + 2 * 3.2 - 3.2**2, atol=1e-10)
    # Period-3 window (r = 3.83 > 1 + sqrt 8): a stable and an unstable 3-cycle.
    po3 = cj.periodic_orbits(cj.systems.Logistic(r=3.83), jnp.linspace(0.01, 0.99, 60)[:, None], 3)
    assert po3.points.shape[0] == 2 and sorted(po3.stable.tolist()) == [False, True]


def test_henon_fixed_points_analytic():
    hen = cj.systems.Henon()
    a, b = 1.4, 0.3
    x = (-(1 - b) + np.array([-1, 1]) * np.sqrt((1 - b) ** 2 + 4 * a)) / (2 * a)
    fp = cj.fixed_points(hen, jnp.array([[-1.0, -0.3], [0.6, 0.2], [-1.2, -0.4]]))
    assert np.allclose(np.asarray(fp.points), np.c_[x, b * x], atol=1e-12)
    # det DF = -b for every point: the product of the multipliers.
    assert np.allclose(np.prod(np.asarray(fp.eigenvalues), axis=-1), -b)
