"""Covariant Lyapunov vectors (Ginelli et al. 2007)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import chaosjax as cj


@pytest.fixture(scope="module")
def henon_clv():
    hen = cj.systems.Henon()
    return hen, cj.covariant_lyapunov_vectors(
        hen, hen.default_state(), steps=20_000, transient=1_000, future=1_000
    )


def test_henon_clv_angle_never_zero_and_growth_rates_give_exponents(henon_clv):
    hen, clv = henon_clv
    assert clv.vectors.shape == (20_000, 2, 2)
    assert clv.angles.shape == (20_000, 1)
    # Henon is not hyperbolic: near-tangencies make the angle small, but never zero.
    assert float(clv.angles.min()) > 0.0
    assert float(clv.angles.min()) < 0.05
    # The mean local growth rates are the exponents (0.41922, -1.62319); over 2e4
    # points the window's own fluctuation is ~5e-3.
    np.testing.assert_allclose(clv.exponents, [0.41922, -1.62319], atol=0.01)
    # Their sum is log|det J| = log b at every point, so exactly on average too.
    assert abs(float(clv.exponents.sum()) - np.log(0.3)) < 1e-3


def test_henon_clvs_are_covariant_and_unit(henon_clv):
    hen, clv = henon_clv
    np.testing.assert_allclose(jnp.linalg.norm(clv.vectors, axis=1), 1.0, atol=1e-12)
    # DF(x_n) v_n is parallel to v_{n+1}, and its length is exp(growth_n).
    J = jax.vmap(hen.jacobian)(clv.states[:-1])
    Jv = jnp.einsum("nij,njk->nik", J, clv.vectors[:-1])
    norms = jnp.linalg.norm(Jv, axis=1)
    cos = jnp.abs(jnp.sum(Jv / norms[:, None, :] * clv.vectors[1:], axis=1))
    assert float(jnp.max(1.0 - cos)) < 1e-9
    np.testing.assert_allclose(jnp.log(norms), clv.growth[:-1], atol=1e-9)


def test_lorenz_clvs_growth_rates_match_spectrum():
    lor = cj.systems.Lorenz63()
    clv = cj.covariant_lyapunov_vectors(
        lor, lor.default_state(), steps=20_000, dt=0.01, transient=2_000, future=2_000
    )
    # T = 200: statistical error ~0.03 on the exponents.
    np.testing.assert_allclose(clv.exponents, [0.9056, 0.0, -14.5723], atol=0.06)
    assert clv.angles.shape == (20_000, 3)
    assert float(clv.angles.min()) > 0.0


def test_clv_bad_input():
    with pytest.raises(ValueError, match="`k`"):
        cj.covariant_lyapunov_vectors(cj.systems.Henon(), jnp.zeros(2), steps=10, k=3)
    with pytest.raises(ValueError, match="`future`"):
        cj.covariant_lyapunov_vectors(cj.systems.Henon(), jnp.zeros(2), steps=10, future=-1)


def test_plots_of_lyapunov_results(henon_clv, tmp_path):
    from matplotlib.figure import Figure

    import chaosjax.plot as cjp

    hen, clv = henon_clv
    res = cj.lyapunov_spectrum(hen, hen.default_state(), steps=5_000)
    figs = [
        cjp.lyapunov_convergence(res, reference=hen.reference_exponents),
        cjp.lyapunov_spectrum_bars(res.exponents, reference=hen.reference_exponents),
        cjp.clv_angles(clv),
    ]
    x = np.asarray(cj.trajectory(hen, hen.default_state(), steps=2_999)[:, 0])
    est = cj.lyapunov_from_timeseries(x, dim=2, theiler=2, horizon=10, fit_range=(0, 5))
    figs.append(cjp.divergence_curve(est))
    for i, fig in enumerate(figs):
        assert isinstance(fig, Figure)
        fig.savefig(tmp_path / f"{i}.png")
    ky = float(cj.kaplan_yorke_dimension(res.exponents))
    assert f"{ky:.3f}" in figs[1].axes[0].get_title()
