"""Lyapunov exponents along a sweep, and the orbit-diagram figure that shows them."""

import jax.numpy as jnp
import numpy as np

import chaosjax as cj

LOG = cj.systems.Logistic()


def test_lyapunov_sweep_and_orbit_diagram_figure():
    rs = jnp.array([2.5, 3.5, 4.0, 4.2])
    lam = cj.bifurcation.lyapunov_sweep(
        LOG, "r", rs, jnp.array([0.3]), steps=20_000, transient=1000
    )
    assert lam.shape == (4, 1)
    assert np.isclose(float(lam[0, 0]), np.log(0.5), atol=1e-9)  # |f'(x*)| = |2 - r|
    assert abs(float(lam[2, 0]) - np.log(2)) < 0.02 and np.isnan(float(lam[3, 0]))
    import matplotlib.pyplot as plt

    import chaosjax.plot as cjp

    d = cj.orbit_diagram(LOG, "r", rs, jnp.array([0.3]), transient=100, keep=50)
    fig = cjp.orbit_diagram(d, lam, labels=["fixed_point", "periodic", "chaotic", "divergent"])
    assert len(fig.axes) == 2 and fig.axes[0].get_shared_x_axes().joined(*fig.axes)
    plt.close(fig)
    plt.close(cjp.poincare_section(d.points[:, :, [0, 0]]))
    plt.close(cjp.return_map(d.points[2]))
