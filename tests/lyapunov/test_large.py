"""Larger systems and sweeps: Lorenz96 with N = 40, a Lorenz63 (rho, sigma) grid."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import chaosjax as cj


def _l96_exponents(steps, transient):
    """The 40 exponents of Lorenz96 (N = 40) from a point near the attractor (timed by
    benchmarks/lyapunov.py --sweeps)."""
    l96 = cj.systems.Lorenz96(n=40)
    x0 = cj.final_state(l96, l96.default_state(), steps=5_000, dt=0.01)
    res = cj.lyapunov_spectrum(l96, x0, steps=steps, dt=0.01, transient=transient, qr_every=5)
    return np.asarray(res.exponents)


def test_lorenz96_n40_short_run_sum_and_leading_exponent():
    lam = _l96_exponents(steps=10_000, transient=1_000)
    # The divergence of Lorenz96 is exactly -N: the exponents sum to -40 up to RK4.
    assert abs(lam.sum() + 40.0) < 1e-4
    # T = 100 is short: the largest exponent (about 1.7) is within ~0.2.
    assert abs(lam[0] - 1.7) < 0.25
    assert np.all(np.diff(lam) <= 0)


@pytest.mark.slow
def test_lorenz96_n40_spectrum_matches_literature():
    lam = _l96_exponents(steps=50_000, transient=5_000)
    # Largest exponent about 1.7 and D_KY about 27 (e.g. Karimi & Paul 2010, Chaos 20,
    # 043105); T = 500 gives 1.69 and 27.2 here.
    assert abs(lam[0] - 1.7) < 0.06
    assert abs(float(cj.kaplan_yorke_dimension(lam)) - 27.2) < 0.6
    # A smooth spectrum: monotone, no gap between neighbours above 0.5.
    gaps = -np.diff(lam)
    assert np.all(gaps >= 0) and gaps.max() < 0.5
    assert abs(lam.sum() + 40.0) < 1e-4


@pytest.mark.slow
def test_lorenz63_rho_sigma_grid_in_one_compiled_call():
    rhos = jnp.linspace(10.0, 60.0, 100)
    sigmas = jnp.linspace(5.0, 15.0, 100)
    R, S = jnp.meshgrid(rhos, sigmas, indexing="ij")
    x0 = cj.systems.Lorenz63().default_state()

    @jax.jit
    def grid(r, s):
        return jax.vmap(
            lambda r, s: (
                cj.max_lyapunov(
                    cj.systems.Lorenz63(rho=r, sigma=s),
                    x0,
                    steps=2_000,
                    dt=0.01,
                    transient=500,
                    throw=False,
                ).largest
            )
        )(r, s)

    # Timed by benchmarks/lyapunov.py --sweeps.
    lam = grid(cj.parallel.shard_batch(R.ravel()), cj.parallel.shard_batch(S.ravel()))
    lam = np.asarray(lam).reshape(100, 100)
    assert np.all(np.isfinite(lam))
    # Below the Hopf point rho_H = sigma (sigma + beta + 3) / (sigma - beta - 1) the
    # fixed points C+- attract: negative exponent; at (28, 10) chaos.
    i, j = int(jnp.argmin(jnp.abs(rhos - 28.0))), int(jnp.argmin(jnp.abs(sigmas - 10.0)))
    assert lam[i, j] > 0.6
    assert np.all(lam[rhos < 12.0] < 0)
