"""The border-collision scenarios of the piecewise-linear normal form, each classified from
(A1, A2, b, c) and checked against a simulation of the same example."""

import jax.numpy as jnp
import numpy as np
import pytest

import chaosjax as cj
from chaosjax.bifurcation import border_collision

PWL = cj.systems.PiecewiseLinearFlow
B, C = np.array([0.0, 1.0]), np.array([1.0, 0.0])
STABLE_FOCUS = np.array([[-1.0, 1.0], [-1.0, 0.0]])  # companion form: t = -1, d = 1


def _run(flow, mu, x0, steps=4_000, dt=0.01):
    return np.asarray(
        cj.trajectory(
            flow.replace(mu=jnp.asarray(mu)), jnp.asarray(x0), steps=steps, dt=dt, solver="event"
        )
    )


def test_persistence_and_nonsmooth_fold_match_simulation():
    a2 = np.array([[-2.0, 1.0], [-1.0, 0.0]])  # a stable focus on the other side too
    bc = border_collision(STABLE_FOCUS, a2, B, C)
    assert bc.scenario == "persistence" and bc.determinants.tolist() == [1.0, 1.0]
    flow = PWL(A1=STABLE_FOCUS, A2=a2, b=B, c=C, mu=-1.0)
    for mu, piece in ((-1.0, 0), (1.0, 1)):
        end = _run(flow, mu, [0.3, -0.2])[-1]
        assert np.allclose(end, mu * bc.equilibria[piece], atol=1e-6)
    # A saddle (det < 0) on the right: both equilibria for mu < 0, none for mu > 0.
    saddle = np.array([[-1.0, 1.0], [1.0, 0.0]])
    fold = border_collision(STABLE_FOCUS, saddle, B, C)
    assert fold.scenario == "nonsmooth fold" and fold.after == "no equilibrium"
    assert fold.admissible.tolist() == [[True, True], [False, False]]
    flow = PWL(A1=STABLE_FOCUS, A2=saddle, b=B, c=C, mu=-1.0)
    assert np.allclose(_run(flow, -1.0, [-0.5, -0.5])[-1], -bc.equilibria[0], atol=1e-6)
    assert np.max(np.abs(_run(flow, 1.0, [-0.5, -0.5], steps=2_000)[-1])) > 50.0


def test_limit_cycle_matches_simulation():
    # Budd's example: a stable focus (gamma = -1/sqrt 3) turns into an unstable one
    # (gamma = 1/2); gamma_1 + gamma_2 = -0.077 < 0 gives a stable cycle for mu > 0.
    flow = PWL.fp_to_limit_cycle()
    bc = border_collision(flow.A1, flow.A2, flow.b, flow.c)
    assert bc.scenario == "limit cycle"
    assert np.allclose(bc.gamma, [-1 / np.sqrt(3.0), 0.5])
    assert np.allclose(bc.equilibria, [[1.0, 1.0], [0.2, -0.4]])  # at mu = 1
    assert np.allclose(_run(flow, -1.0, [0.3, 0.2])[-1], [-1.0, -1.0], atol=1e-6)
    # mu = 1: from near the unstable focus and from far outside, x1 ends oscillating with
    # the cycle's amplitude (max x1 - min x1 = 28.06 mu, examples/piecewise_linear.py).
    for x0 in ([0.25, -0.4], [60.0, 0.0]):
        xs = _run(flow, 1.0, x0, steps=12_000, dt=0.05)[-2_000:, 0]
        assert abs((xs.max() - xs.min()) / 28.0615 - 1.0) < 0.05


def test_chaos_and_periodic_border_collision_of_maps():
    # 2-D border-collision normal form (Banerjee & Grebogi 1999): stable focus-type fixed
    # point for mu < 0, flip saddle for mu > 0, no stable orbit: chaos.
    m = cj.systems.PiecewiseLinearMap.border_collision_2d(0.5, 0.3, -1.5, 0.3)
    bc = border_collision(m.A1, m.A2, m.b, m.c, kind="map")
    assert bc.scenario == "chaos" and bc.orbits == (("L",), ())
    x = cj.final_state(m.replace(mu=-1.0), jnp.array([0.3, 0.1]), steps=500)
    assert np.allclose(np.asarray(x), -bc.equilibria[0], atol=1e-10)
    lam = cj.max_lyapunov(m.replace(mu=1.0), jnp.array([0.3, 0.1]), 20_000, transient=1_000)
    assert float(np.asarray(lam.largest)) > 0.1
    # tau_R = -2: a stable 3-cycle LLR (docs/bifurcation.md finds it from 21 of 64 states).
    m3 = cj.systems.PiecewiseLinearMap.border_collision_2d(0.5, 0.3, -2.0, 0.3)
    b3 = border_collision(m3.A1, m3.A2, m3.b, m3.c, kind="map")
    assert b3.scenario == "periodic" and b3.orbits[1] == ("LLR",)
    # tau_R = -1.2: stable on both sides.
    m1 = cj.systems.PiecewiseLinearMap.border_collision_2d(0.5, 0.3, -1.2, 0.3)
    assert border_collision(m1.A1, m1.A2, m1.b, m1.c, kind="map").scenario == "persistence"


def test_border_collision_bad_input():
    with pytest.raises(ValueError, match="`A1` and `A2` must agree"):
        border_collision(STABLE_FOCUS, np.eye(2), B, C)
    with pytest.raises(ValueError, match="`kind`"):
        border_collision(STABLE_FOCUS, STABLE_FOCUS, B, C, kind="flows")
    with pytest.raises(ValueError, match="`b`"):
        border_collision(STABLE_FOCUS, STABLE_FOCUS, [1.0, 2.0, 3.0], C)
