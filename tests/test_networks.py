"""Feed-forward networks as dynamical systems: the ResNet layer map, its neural ODE limit,
and the ring-separating flow (C. Budd, "Neural ODEs for, and as, dynamical systems",
Lecture 7, Seattle, June 2025)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import chaosjax as cj

A = jnp.array([[1.0, 0.0], [0.0, 1.0], [1.0, -1.0]])
B = jnp.array([0.2, -0.1, 0.3])
C = jnp.array([[-0.6, -2.0, 0.4], [2.0, -0.5, -0.3]])
X0 = jnp.array([1.0, 0.5])


def test_activations_match_the_lecture_table():
    z = jnp.array([-2.0, -0.5, 0.0, 0.5, 2.0])
    zn = np.asarray(z)
    expected = {
        "identity": zn,
        "step": (zn >= 0).astype(float),
        "logistic": 1.0 / (1.0 + np.exp(-zn)),
        "tanh": 2.0 / (1.0 + np.exp(-2.0 * zn)) - 1.0,
        "arctan": np.arctan(zn),
        "relu": np.where(zn < 0, 0.0, zn),
        "prelu": np.where(zn < 0, 0.3 * zn, zn),
        "elu": np.where(zn < 0, 0.3 * (np.exp(zn) - 1.0), zn),
        "softplus": np.log1p(np.exp(zn)),
    }
    assert set(expected) == set(cj.systems.ACTIVATIONS)
    for name, want in expected.items():
        got = cj.systems.activation_function(name, 0.3)(z)
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-14, atol=1e-15)


def test_unknown_activation_and_bad_shapes_name_the_argument():
    with pytest.raises(ValueError, match="`activation`.*'tanh'"):
        cj.systems.FeedForwardMap(A=A, b=B, C=C, activation="tanhh")
    with pytest.raises(ValueError, match="`activation`"):
        cj.systems.FeedForwardFlow(A=A, b=B, C=C, activation="swish")
    with pytest.raises(ValueError, match="`activation`"):
        cj.systems.activation_function("sigmoid")
    with pytest.raises(ValueError, match="`b`"):
        cj.systems.FeedForwardMap(A=A, b=B[:2], C=C)
    with pytest.raises(ValueError, match="`C`"):
        cj.systems.FeedForwardFlow(A=A, b=B, C=C.T)
    with pytest.raises(ValueError, match="`dt`"):
        cj.systems.FeedForwardMap(A=A, b=B, C=C, dt=-0.1)


def test_resnet_layer_is_the_euler_step_of_its_neural_ode():
    for act in cj.systems.ACTIVATIONS:
        flow = cj.systems.FeedForwardFlow(A=A, b=B, C=C, activation=act, alpha=0.2)
        m = flow.resnet(0.05)
        assert isinstance(m, cj.Map) and m.time_per_step == 0.05 and m.dim == 2
        want = X0 + 0.05 * (C @ cj.systems.activation_function(act, 0.2)(A @ X0 + B))
        np.testing.assert_allclose(np.asarray(m.step(X0)), np.asarray(want), rtol=1e-14)
        assert m.flow() == flow


def test_exponent_of_the_layer_is_per_unit_time():
    # Identity activation, b = 0: the layer is the linear map I + dt M, M = C A, with
    # eigenvalues mu = -0.5 +- 2i; both exponents are log|1 + dt mu| / dt per unit time.
    M = jnp.array([[-0.5, -2.0], [2.0, -0.5]])
    m = cj.systems.FeedForwardMap(A=jnp.eye(2), b=jnp.zeros(2), C=M, dt=0.1, activation="identity")
    lam = cj.lyapunov_spectrum(m, X0, steps=2_000).exponents
    exact = np.log(abs(1.0 + 0.1 * (-0.5 + 2.0j))) / 0.1
    np.testing.assert_allclose(np.asarray(lam), [exact, exact], atol=1e-12)


def _order(dts, errors):
    return float(np.polyfit(np.log(dts), np.log(errors), 1)[0])


@pytest.mark.parametrize("activation", ["tanh", "elu"])
def test_resnet_converges_to_the_neural_ode_at_first_order(activation):
    # Euler's global error is O(dt): max over [0, 2] of |x_n - x(n dt)| against the flow
    # integrated by RK4 with dt = 1e-4 (its own error ~1e-14).
    flow = cj.systems.FeedForwardFlow(A=A, b=B, C=C, activation=activation)
    ref = cj.trajectory(flow, X0, steps=20_000, dt=1e-4)
    dts = [0.04, 0.02, 0.01, 0.005]
    errors = []
    for dt in dts:
        n = int(round(2.0 / dt))
        xs = cj.trajectory(flow.resnet(dt), X0, steps=n)
        errors.append(float(jnp.max(jnp.linalg.norm(xs - ref[:: 20_000 // n], axis=-1))))
    # Measured orders 1.022 (tanh) and 1.017 (elu); errors 0.10 ... 0.012.
    assert abs(_order(dts, errors) - 1.0) < 0.15
    assert errors[-1] < 0.02


def test_resnet_largest_exponent_converges_at_first_order():
    # Over the same 20 time units from the same start, the layer's largest exponent
    # (per unit time) tends to the flow's: -0.1136, -0.1598, -0.1831, -0.1946 against
    # -0.2059, differences falling at order 1.010.
    flow = cj.systems.FeedForwardFlow(A=A, b=B, C=C, activation="tanh")
    lam_flow = float(cj.lyapunov_spectrum(flow, X0, steps=20_000, dt=1e-3, k=1).exponents[0])
    dts = [0.04, 0.02, 0.01, 0.005]
    lams = [
        float(cj.max_lyapunov(flow.resnet(dt), X0, steps=int(round(20 / dt))).largest) for dt in dts
    ]
    assert abs(_order(dts, np.abs(np.array(lams) - lam_flow)) - 1.0) < 0.15
    assert abs(lams[-1] - lam_flow) < 0.02


def test_ring_separating_flow_sends_rings_to_two_points():
    flow = cj.systems.RingSeparatingFlow(r_star=2.0)
    # The Cartesian field is the polar one: dr/dt = r (r* - r), dtheta/dt = -theta outside.
    x = jnp.array([0.9, 1.2])
    r, th = 1.5, np.arctan2(1.2, 0.9)
    f = np.asarray(flow.vector_field(x))
    dr = (0.9 * f[0] + 1.2 * f[1]) / r
    dth = (0.9 * f[1] - 1.2 * f[0]) / r**2
    np.testing.assert_allclose([dr, dth], [r * (2.0 - r), -th], rtol=1e-13)
    np.testing.assert_allclose(np.asarray(flow.vector_field(jnp.array([0.3, -0.4]))), [-0.3, 0.4])
    starts = jnp.array([[0.5, 0.0], [-0.2, 0.3], [0.0, 1.4], [-1.3, -0.2], [1.1, 0.9]])
    ends = jax.vmap(lambda s: cj.final_state(flow, s, steps=1_000, dt=0.01))(starts)
    # After T = 10: inner points at e^-10 r0, outer ones within r* |theta0| e^-10 <= 2 pi
    # e^-10 = 2.9e-4 of (2, 0).
    np.testing.assert_allclose(np.asarray(ends[:2]), 0.0, atol=3e-5)
    np.testing.assert_allclose(np.asarray(ends[2:]), [[2.0, 0.0]] * 3, atol=2.9e-4)
