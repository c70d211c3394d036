"""Lyapunov spectra of random and input-driven RNNs (E. Shlizerman, "Artificial Neural
Networks are a New Kind of Dynamical Systems", 2023; Engelken, Wolf & Abbott 2020)."""

import dataclasses

import equinox as eqx
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


@pytest.mark.slow  # the default suite's time budget; other tests cover the parts
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


def _lstm_reference(lstm, x, u):
    # The equations of Hochreiter & Schmidhuber (1997) with a forget gate, in numpy.
    n = lstm.hidden_size
    p = {f.name: np.asarray(getattr(lstm, f.name)) for f in dataclasses.fields(lstm)}
    h, c, u = np.asarray(x[:n]), np.asarray(x[n:]), np.asarray(u)
    sig = lambda z: 1.0 / (1.0 + np.exp(-z))
    gate = lambda s: p["W" + s] @ h + p["U" + s] @ u + p["b" + s]
    c1 = sig(gate("f")) * c + sig(gate("i")) * np.tanh(gate("g"))
    return np.concatenate([sig(gate("o")) * np.tanh(c1), c1])


def test_lstm_step_matches_the_equations_and_its_jacobian_finite_differences():
    lstm = cj.systems.LSTM.random(KEY, 8, n_inputs=3, g=1.5)
    assert lstm.dim == 16 and lstm.hidden_size == 8 and lstm.n_inputs == 3
    x = lstm.default_state()
    u = jnp.array([0.3, -1.0, 2.0])
    np.testing.assert_allclose(lstm.driven_step(x, u), _lstm_reference(lstm, x, u), rtol=1e-12)
    np.testing.assert_array_equal(lstm.step(x), lstm.driven_step(x, jnp.zeros(3)))
    np.testing.assert_array_equal(lstm.hidden(x), x[:8])
    np.testing.assert_allclose(lstm.bf, 1.0)  # forget bias of Jozefowicz et al. (2015)
    # Autodiff Jacobian of the driven step against central differences: truncation
    # O(eps^2) ~ 1e-10 and rounding ~1e-16/eps ~ 1e-11 at eps = 1e-5.
    J = jax.jacfwd(lambda y: lstm.driven_step(y, u))(x)
    eps = 1e-5
    E = np.eye(16)
    fd = np.stack(
        [
            (_lstm_reference(lstm, x + eps * E[j], u) - _lstm_reference(lstm, x - eps * E[j], u))
            / (2 * eps)
            for j in range(16)
        ],
        axis=1,
    )
    np.testing.assert_allclose(J, fd, atol=1e-8)
    # Its gain is a leaf: a vmap over gains builds a batch of networks.
    nets = jax.vmap(lambda g: cj.systems.LSTM.random(KEY, 8, n_inputs=3, g=g))(jnp.ones(4))
    assert nets.Wi.shape == (4, 8, 8)


def test_lstm_and_gru_shape_checks_name_the_field():
    lstm = cj.systems.LSTM.random(KEY, 4, n_inputs=2)
    fields = {f.name: getattr(lstm, f.name) for f in dataclasses.fields(lstm)}
    with pytest.raises(ValueError, match="`Wo`"):
        cj.systems.LSTM(**{**fields, "Wo": jnp.zeros((4, 5))})
    with pytest.raises(ValueError, match="`Ug`"):
        cj.systems.LSTM(**{**fields, "Ug": jnp.zeros((4, 3))})
    with pytest.raises(ValueError, match="`bf`"):
        cj.systems.LSTM(**{**fields, "bf": jnp.zeros(3)})
    gru = cj.systems.GRU.random(KEY, 4, n_inputs=2)
    fields = {f.name: getattr(gru, f.name) for f in dataclasses.fields(gru)}
    with pytest.raises(ValueError, match="`Wr`"):
        cj.systems.GRU(**{**fields, "Wr": jnp.zeros((4, 5))})


def test_driven_lstm_spectrum_sums_to_the_mean_log_determinant_along_the_orbit():
    lstm = cj.systems.LSTM.random(KEY, 6, n_inputs=2, g=2.0)
    transient, steps = 100, 400
    us = jax.random.normal(jax.random.key(3), (transient + steps, 2))
    x0 = lstm.default_state()
    res = cj.lyapunov_spectrum(lstm, x0, steps=steps, transient=transient, inputs=us)
    assert res.exponents.shape == (12,)

    # Independently: the driven orbit, and log|det J| of the step at each accumulated point.
    def go(x, u):
        return lstm.driven_step(x, u), x

    _, xs = jax.lax.scan(go, x0, us)
    logdet = jax.vmap(
        lambda x, u: jnp.linalg.slogdet(jax.jacfwd(lambda y: lstm.driven_step(y, u))(x))[1]
    )(xs[transient:], us[transient:])
    # The sum of all exponents is the mean log|det J| for any run length (the product
    # of the R diagonals is |det| of the product of Jacobians); rounding only.
    np.testing.assert_allclose(res.exponents.sum(), logdet.mean(), atol=1e-8)
    assert bool(jnp.all(jnp.diff(res.exponents) <= 0))


def test_driven_spectrum_under_jit_with_closed_over_inputs():
    # Inputs held by the traced function (not passed in) are concrete, and their
    # finiteness check must not stage a jnp operation into the trace.
    net = cj.systems.RNN.random(KEY, 4, n_inputs=1, g=1.5)
    us = jax.random.normal(jax.random.key(5), (300, 1))

    @jax.jit
    def lam(g):
        scaled = eqx.tree_at(lambda n: n.W, net, g * net.W)
        return cj.lyapunov_spectrum(scaled, scaled.default_state(), 200, transient=100,
                                    inputs=us, throw=False).exponents  # fmt: skip

    eager = cj.lyapunov_spectrum(net, net.default_state(), 200, transient=100, inputs=us)
    np.testing.assert_allclose(lam(1.0), eager.exponents, atol=1e-12)
