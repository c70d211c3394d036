"""Lag sensitivities of the delayed Henon map (Maus & Sprott 2011) and of learned-model
callables."""

import jax.numpy as jnp
import numpy as np
import pytest

import chaosjax as cj


@pytest.fixture(scope="module")
def delayed_henon_result():
    dh = cj.systems.DelayedHenon(d=4, a=1.6, b=0.1)
    return cj.lag_sensitivities(dh, jnp.full(4, 0.1), steps=10_000, transient=1_000)


def test_delayed_henon_sensitivities_match_the_published_values(delayed_henon_result):
    res = delayed_henon_result
    s = np.asarray(res.sensitivities)
    # A. Maus's delayed Henon posts (2011): S(1) = 1.8980 (10,000 points) and 1.90594
    # (512 points); S(1) = 2a<|x|>.
    assert abs(s[0] - 1.90) <= 0.02
    # x_n depends on x_{n-2}, x_{n-3} not at all: autodiff gives exact zeros.
    assert s[1] == 0.0 and s[2] == 0.0
    # dx_n/dx_{n-4} = b everywhere: 0.1 to rounding.
    assert abs(s[3] - 0.100) <= 0.001
    assert s[3] == pytest.approx(0.1, rel=1e-12)
    assert res.lag_space == (1, 4)
    assert res.embedding_dimension == 4
    assert res.n_points == 10_000


def test_inverted_delayed_henon_along_forward_orbit(delayed_henon_result):
    inv = delayed_henon_result.inverse
    assert inv is not None
    s_fwd = np.asarray(delayed_henon_result.sensitivities)
    s_inv = np.asarray(inv.sensitivities)
    # Inverted map: x_{n-d-1} = (x_{n-1} - 1 + a x_{n-2}^2) / b. In reversed time the
    # lags of x_{n-1} and x_{n-2} are d and d-1: S_inv(4) = 1/b, S_inv(3) = 2a<|x|>/b,
    # which is S(1)/b along the orbit shifted by one point (of 10,000: rel. 1e-3).
    assert s_inv[3] == pytest.approx(10.0, rel=1e-12)
    assert s_inv[2] == pytest.approx(s_fwd[0] / 0.1, rel=1e-3)
    assert s_inv[0] == 0.0 and s_inv[1] == 0.0
    assert inv.lag_space == (3, 4) and inv.embedding_dimension == 4


def test_callable_model_on_data_windows_and_any_map():
    # A "learned model" as a plain callable on delay windows of measured data.
    dh = cj.systems.DelayedHenon(d=4)
    xs = cj.trajectory(dh, jnp.full(4, 0.1), steps=2_000, transient=500)
    model = lambda w: 1.0 - 1.6 * w[0] ** 2 + 0.1 * w[3]  # noqa: E731
    res = cj.lag_sensitivities(model, orbit=xs)
    ref = cj.lag_sensitivities(dh, orbit=xs, inverse=False)
    assert jnp.allclose(res.sensitivities, ref.sensitivities, rtol=1e-12)
    assert res.inverse is None and res.lag_space == (1, 4)
    # Henon map (x, y) -> (1 - a x^2 + y, b x) as a 2-D map: dx'/dx = -2a x, dx'/dy = 1.
    hen = cj.systems.Henon()
    r2 = cj.lag_sensitivities(hen, hen.default_state(), steps=5_000, transient=100)
    xs2 = cj.trajectory(hen, hen.default_state(), steps=5_000, transient=100)[:-1]
    assert r2.sensitivities[1] == pytest.approx(1.0)
    assert r2.sensitivities[0] == pytest.approx(2.8 * float(jnp.mean(jnp.abs(xs2[:, 0]))))


def test_lag_sensitivities_bad_input():
    dh = cj.systems.DelayedHenon(d=4)
    with pytest.raises(ValueError, match="`steps`"):
        cj.lag_sensitivities(dh, jnp.full(4, 0.1), steps=0)
    with pytest.raises(ValueError, match="`system`"):
        cj.lag_sensitivities(cj.systems.Lorenz63(), jnp.ones(3), steps=10)
    with pytest.raises(ValueError, match="`orbit`"):
        cj.lag_sensitivities(lambda w: w[0], None)
    with pytest.raises(ValueError, match="`threshold`"):
        cj.lag_sensitivities(dh, jnp.full(4, 0.1), steps=10, threshold=2.0)
    with pytest.raises(ValueError, match="`inverse`"):
        cj.lag_sensitivities(cj.systems.Logistic(), jnp.array([0.3]), steps=10, inverse=True)
    with pytest.raises(ValueError, match="`x0`"):
        cj.lag_sensitivities(dh, jnp.ones(3), steps=10)
