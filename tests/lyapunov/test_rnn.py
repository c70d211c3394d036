"""Lyapunov spectra of random and input-driven RNNs (E. Shlizerman, "Artificial Neural
Networks are a New Kind of Dynamical Systems", 2023; Engelken, Wolf & Abbott 2020)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import chaosjax as cj

KEY = jax.random.key(0)


def test_rnn_jacobian_matches_autodiff_and_shapes():
    net = cj.systems.RNN.random(KEY, 20, n_inputs=3, g=1.5, bias_scale=0.1)
    x = net.default_state()
    np.testing.assert_allclose(net.jacobian(x), jax.jacfwd(net.step)(x), atol=1e-12)
    assert net.dim == 20 and net.n_inputs == 3
    assert net.driven_step(x, jnp.zeros(3)).shape == (20,)
    np.testing.assert_array_equal(net.driven_step(x, jnp.zeros(3)), net.step(x))
    u = jnp.array([0.3, -1.0, 2.0])
    W, U, b, xn, un = (np.asarray(a) for a in (net.W, net.U, net.b, x, u))
    np.testing.assert_allclose(net.driven_step(x, u), np.tanh(W @ xn + U @ un + b), rtol=1e-12)
    with pytest.raises(ValueError, match="weights"):
        cj.systems.RNN(W=jnp.zeros((3, 3)), U=jnp.zeros((2, 1)), b=jnp.zeros(3))


def test_subcritical_gain_gives_log_spectral_radius():
    # g < 1: the orbit falls onto h = 0, where the Jacobian is W itself, so the
    # largest exponent is log of W's spectral radius (an exact oracle).
    net = cj.systems.RNN.random(KEY, 100, g=0.5)
    res = cj.max_lyapunov(net, net.default_state(), steps=3_000, transient=500)
    rho = np.max(np.abs(np.linalg.eigvals(np.asarray(net.W))))
    assert abs(float(res.largest) - np.log(rho)) < 1e-3


def test_gain_sweep_largest_exponent_crosses_zero_near_one():
    gains = jnp.linspace(0.5, 2.5, 9)

    @jax.jit
    def sweep(gains):
        def one(g):
            net = cj.systems.RNN.random(KEY, 100, g=g)
            return cj.max_lyapunov(
                net, net.default_state(), steps=2_000, transient=500, throw=False
            ).largest

        return jax.vmap(one)(gains)

    lam = np.asarray(sweep(gains))
    # Engelken, Wolf & Abbott (2020): the transition to chaos is at g = 1 for large
    # networks; with n = 100 the crossing sits between g = 0.75 and g = 1.75 (a finite
    # network can sit on a limit cycle, exponent 0, just above g = 1).
    assert np.all(lam[gains <= 0.75] < -0.05)
    assert np.all(lam[gains >= 1.5] > -1e-3)
    assert np.all(lam[gains >= 1.75] > 0.02)
    assert np.all(np.diff(lam) > -1e-3)  # grows with the gain


def test_input_drive_suppresses_chaos_and_gru_runs():
    net = cj.systems.RNN.random(KEY, 50, n_inputs=3, g=2.5)
    us = jax.random.normal(jax.random.key(1), (1_500, 3))
    kw = dict(steps=1_000, transient=500, k=2)
    free = cj.lyapunov_spectrum(net, net.default_state(), inputs=0.0 * us, **kw)
    driven = cj.lyapunov_spectrum(net, net.default_state(), inputs=3.0 * us, **kw)
    # Strong input saturates the units and suppresses chaos (Molgedey, Schuchhardt &
    # Schuster 1992; Engelken et al. 2020).
    assert float(free.largest) > 0.05
    assert float(driven.largest) < -0.05
    # Zero input reproduces the autonomous map.
    auto = cj.lyapunov_spectrum(net, net.default_state(), **kw)
    np.testing.assert_allclose(auto.exponents, free.exponents, atol=1e-10)
    gru = cj.systems.GRU.random(KEY, 32, n_inputs=3, g=3.0)
    res = cj.lyapunov_spectrum(
        gru, gru.default_state(), steps=800, transient=200, inputs=us[:1_000], k=2
    )
    assert res.exponents.shape == (2,)
    assert bool(jnp.all(jnp.isfinite(res.exponents)))
    assert bool(jnp.all(jnp.diff(res.exponents) <= 0))


def test_inputs_validation():
    net = cj.systems.RNN.random(KEY, 10, n_inputs=2)
    with pytest.raises(ValueError, match="`inputs`"):
        cj.lyapunov_spectrum(net, net.default_state(), steps=100, inputs=jnp.zeros((50, 2)))
    with pytest.raises(ValueError, match="`inputs`"):
        cj.lyapunov_spectrum(net, net.default_state(), steps=100, inputs=jnp.zeros((100, 3)))


def test_driven_inverse_is_minus_the_driven_spectrum():
    net = cj.systems.RNN.random(KEY, 6, n_inputs=2, g=1.5)
    us = jax.random.normal(jax.random.key(2), (1_400, 2))
    fwd = cj.lyapunov_spectrum(net, net.default_state(), 1_000, transient=200, inputs=us[:1_200])
    # The inverted run also needs `transient` inputs past the end (backward transient).
    inv = cj.lyapunov_spectrum(
        net, net.default_state(), 1_000, transient=200, inputs=us, inverse=True, qr_every=3
    )
    np.testing.assert_allclose(inv.exponents, -fwd.exponents[::-1], atol=0.02)
    with pytest.raises(ValueError, match="`inputs`"):
        cj.lyapunov_spectrum(
            net, net.default_state(), 1_000, transient=200, inputs=us[:1_200], inverse=True
        )
