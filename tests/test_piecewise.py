"""Piecewise-smooth flows across their switching manifolds; the piecewise-linear
examples of C. Budd (Lecture 7, Seattle, 2025) as sweeps over mu through 0."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import chaosjax as cj
from chaosjax import piecewise as pw

PWL = cj.systems.PiecewiseLinearFlow
X0 = jnp.array([0.3, 0.2])


def _final(flow, method, dt, T=20.0, x0=X0):
    return cj.final_state(pw.event_map(flow, dt, method), x0, steps=int(round(T / dt)))


def test_event_location_restores_fourth_order_across_the_manifold():
    flow = PWL.fp_to_limit_cycle(mu=1.0)  # crosses x1 = 0 twice per turn (~20 crossings)
    ref = _final(flow, "fixed", 1e-4)  # plain RK4, tiny step: error ~1e-8 here
    e1 = float(jnp.max(jnp.abs(_final(flow, "event", 0.05) - ref)))
    e2 = float(jnp.max(jnp.abs(_final(flow, "event", 0.025) - ref)))
    assert 10 < e1 / e2 < 24  # 2^4 = 16: fourth order kept
    plain = float(jnp.max(jnp.abs(_final(flow, "fixed", 0.025) - ref)))
    assert plain > 30 * e2  # plain RK4 stepping over the kink loses orders
    # The diffrax integrator (adaptive Tsit5, diffrax.Event, tolerances 1e-10) agrees.
    assert float(jnp.max(jnp.abs(_final(flow, "diffrax", 0.5) - ref))) < 1e-6


def test_relu_flow_with_several_switching_rows():
    relu = cj.systems.ReluFlow()
    x0 = relu.default_state()
    ref = _final(relu, "fixed", 1e-4, T=10.0, x0=x0)
    ev = _final(relu, "event", 0.025, T=10.0, x0=x0)
    assert float(jnp.max(jnp.abs(ev - ref))) < 1e-6


def test_tangent_map_is_saltation_free_for_continuous_fields_and_jumps_otherwise():
    # Continuous field: the step's Jacobian equals finite differences across the switch.
    flow = PWL.fp_to_limit_cycle(mu=1.0)
    m = pw.event_map(flow, 0.1)
    step = jax.jit(lambda x: m.step(x))
    x = jnp.array([-0.01, 0.5])  # crosses x1 = 0 inside this step
    assert float(flow.c @ step(x)) > 0
    J = jax.jit(jax.jacfwd(step))(x)
    h = 1e-6
    fd = jnp.stack([(step(x + h * e) - step(x - h * e)) / (2 * h) for e in jnp.eye(2)], 1)
    assert jnp.allclose(J, fd, atol=1e-6)

    class Jump(cj.PiecewiseSmoothFlow):
        """dx/dt = (1, 0) for x1 < 0 and (2, 1) for x1 >= 0: discontinuous, crossing."""

        def switching_function(self, x):
            return x[0]

        def mode_vector_field(self, x, mode):
            return jnp.where(mode[0], jnp.array([2.0, 1.0]), jnp.array([1.0, 0.0]))

        def default_state(self):
            return jnp.array([-0.05, 0.0])

    mj = pw.event_map(Jump(), 0.1)
    x = jnp.array([-0.05, 0.0])
    step_and_jac = jax.jit(lambda x: (mj.step(x), jax.jacfwd(mj.step)(x)))
    y, J = step_and_jac(x)
    assert jnp.allclose(y, jnp.array([0.1, 0.05]), atol=1e-12)
    # Saltation matrix S = I + (f+ - f-) n^T / (n . f-) = [[2, 0], [1, 1]] (exact here).
    assert jnp.allclose(J, jnp.array([[2.0, 0.0], [1.0, 1.0]]), atol=1e-9)


def test_fp_to_limit_cycle_sweep_over_mu_through_zero():
    mus = jnp.array([-1.0, -0.5, -0.1, 0.1, 0.5, 1.0])
    # The cycle attracts slowly (lambda_2 = -0.05 per unit time): 400 time units of
    # transient bring the section points together to ~1e-8.
    c = cj.classify_sweep(
        PWL.fp_to_limit_cycle(),
        "mu",
        mus,
        X0,
        dt=0.025,
        solver="event",
        section=cj.LocalMaxima(0),
        transient=16_000,
        keep=16,
        max_period=4,
        lyap_steps=16_000,
    )
    assert c.labels == ["fixed_point"] * 3 + ["periodic"] * 3
    # mu < 0: the stable focus of A1 at mu (1, 1) (admissible: c.x = mu < 0).
    assert np.allclose(
        np.asarray(c.final_state[:3]), np.asarray(mus[:3, None]) * [1.0, 1.0], atol=1e-6
    )
    # mu > 0: one limit cycle, one x1-maximum per turn. The flow is homogeneous in
    # (x, mu), so the period is the same for every mu > 0 and the amplitude scales with mu.
    per_t = np.asarray(c.period_time[3:])
    amp = np.asarray(c.amplitude[3:])
    assert c.period[3:].tolist() == [1, 1, 1]
    assert np.allclose(per_t, per_t[-1], rtol=1e-6) and 1.0 < per_t[-1] < 10.0
    assert np.allclose(amp / np.asarray(mus[3:, None]), amp[-1], rtol=1e-5)
    # Exponents of the cycle: one zero (the flow direction), one negative.
    lam = np.asarray(c.exponents[3:])
    assert np.all(np.abs(lam[:, 0]) < 5e-3) and np.all(lam[:, 1] < -0.02)
    # Continuous piecewise-linear flow: no saltation, so lambda1 + lambda2 equals the time
    # average of trace(A(x)) along the cycle (Liouville); trace A1 = -1, trace A2 = 2.
    m = pw.event_map(PWL.fp_to_limit_cycle(mu=1.0), 0.025)
    tr = cj.time_average(
        m, c.final_state[-1], lambda y: jnp.where(y[0] < 0, -1.0, 2.0), steps=16_000
    )
    assert abs(float(lam[-1].sum()) - float(tr)) < 2e-3


@pytest.mark.slow
def test_orbit_diagram_of_a_piecewise_flow_uses_event_steps():
    d = cj.orbit_diagram(
        PWL.fp_to_limit_cycle(),
        "mu",
        jnp.array([0.5, 1.0]),
        X0,
        dt=0.025,
        solver="event",
        transient=16_000,
        keep=4,
        section=cj.LocalMaxima(0),
    )
    x1max = np.asarray(d.points[..., 0])
    assert np.allclose(x1max[1], 2 * x1max[0], rtol=1e-5)  # homogeneity
    assert np.ptp(x1max[1]) < 1e-7  # a single point: the limit cycle


def test_printed_fp_to_chaos_example_has_no_stable_fixed_point_and_diverges():
    flow = PWL.fp_to_chaos(1.0)
    A1, A2 = np.asarray(flow.A1), np.asarray(flow.A2)
    ev1, ev2 = np.linalg.eigvals(A1), np.linalg.eigvals(A2)
    # Neither piece is Hurwitz (flow) nor Schur (map): no fixed point on either side can
    # attract, for any mu (the system is homogeneous in (x, mu)).
    assert ev1.real.max() > 0 and ev2.real.max() > 0
    assert np.abs(ev1).max() > 1 and np.abs(ev2).max() > 1
    mus = jnp.array([-1.0, -0.1, 0.1, 1.0])
    x0 = jnp.array([0.01, 0.0, 0.0])
    as_map = cj.classify_sweep(
        pw.PiecewiseLinearMap.from_flow(flow), "mu", mus, x0, transient=500, lyap_steps=500
    )
    assert as_map.labels == ["divergent"] * 4


@pytest.mark.slow
def test_printed_fp_to_chaos_example_diverges_as_a_flow():
    mus = jnp.array([-1.0, -0.1, 0.1, 1.0])
    x0 = jnp.array([0.01, 0.0, 0.0])
    for solver, dt in [("event", 0.01), ("rk4", 0.005)]:
        as_flow = cj.classify_sweep(
            PWL.fp_to_chaos(), "mu", mus, x0, dt=dt, solver=solver, transient=3000, lyap_steps=2000
        )
        assert as_flow.labels == ["divergent"] * 4


def test_border_collision_normal_form_fixed_point_to_chaos():
    # Nearest literature example: the 2-D border-collision normal form (Nusse & Yorke
    # 1992; Banerjee & Grebogi 1999) with a stable focus-type piece (tau=0.5, delta=0.3)
    # and a flip-saddle piece (tau=-1.5, delta=0.3). (At tau_r = -2 a stable 3-cycle
    # coexists with the chaotic attractor; at -1.5, 64 random states all reach chaos.)
    m = pw.PiecewiseLinearMap.border_collision_2d(0.5, 0.3, -1.5, 0.3)
    mus = jnp.array([-1.0, -0.01, 0.01, 1.0])
    x0 = jnp.array([0.1, 0.0])
    short = cj.classify_sweep(m, "mu", mus, x0, transient=2000, lyap_steps=20_000)
    long = cj.classify_sweep(m, "mu", mus, x0, transient=2000, lyap_steps=80_000)
    assert short.labels == long.labels == ["fixed_point"] * 2 + ["chaotic"] * 2
    lam_s, lam_l = np.asarray(short.exponents[2:, 0]), np.asarray(long.exponents[2:, 0])
    assert np.all(lam_l > 0.1) and np.allclose(lam_s, lam_l, atol=0.02)
    # Fixed point for mu < 0: x* = mu / (1 - tau_l + delta_l) on the x < 0 side.
    assert np.isclose(float(short.final_state[0, 0]), -1.0 / 0.8, atol=1e-9)


def test_bad_input_for_piecewise():
    with pytest.raises(ValueError, match="not piecewise smooth"):
        pw.event_map(cj.systems.Lorenz63(), 0.01)
    with pytest.raises(ValueError, match="`method` must be one of"):
        pw.event_map(PWL.fp_to_limit_cycle(), 0.01, "rk45")
    with pytest.raises(ValueError, match="`dt` must be a positive"):
        pw.event_map(PWL.fp_to_limit_cycle(), -0.01)
