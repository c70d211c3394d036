"""Filippov sliding on a switching surface: detection from the normal components,
Filippov's convex combination, located entry and exit, the saltation matrices in the
tangent map (di Bernardo, Budd, Champneys & Kowalczyk 2008, *Piecewise-smooth
Dynamical Systems*, Springer), and the catalogue's stick-slip and relay systems."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import chaosjax as cj
from chaosjax import piecewise as pw


class Exit(cj.FilippovFlow):
    """h = x2; f- = (1, 1), f+ = (1, x1 - 1): the surface attracts for x1 < 1."""

    def switching_function(self, x):
        return x[1]

    def mode_vector_field(self, x, mode):
        return jnp.where(mode[0], jnp.stack([jnp.ones(()), x[0] - 1.0]), jnp.array([1.0, 1.0]))

    def default_state(self):
        return jnp.array([0.0, -0.05])


class Constant(cj.FilippovFlow):
    """h = x2; constant fields f- = (2, 1) and f+ = (1, -1): attracting sliding with
    a = 1/2 and f_s = (1.5, 0) everywhere on the surface."""

    def switching_function(self, x):
        return x[1]

    def mode_vector_field(self, x, mode):
        return jnp.where(mode[0], jnp.array([1.0, -1.0]), jnp.array([2.0, 1.0]))

    def default_state(self):
        return jnp.array([0.0, -0.05])


class Repelling(cj.FilippovFlow):
    """h = x2; f- = (1, -1), f+ = (1, 1): both fields point away from the surface."""

    def switching_function(self, x):
        return x[1]

    def mode_vector_field(self, x, mode):
        return jnp.where(mode[0], jnp.array([1.0, 1.0]), jnp.array([1.0, -1.0]))

    def default_state(self):
        return jnp.array([0.0, 0.0])


class TwoSurfaces(cj.FilippovFlow):
    def switching_function(self, x):
        return x

    def mode_vector_field(self, x, mode):
        return -x

    def default_state(self):
        return jnp.ones(2)


def test_normal_components_classify_crossing_and_sliding():
    z = jnp.zeros(2)
    np.testing.assert_allclose(np.asarray(Constant().normal_components(z)), [1.0, -1.0])
    assert int(Constant().sliding_kind(z)) == 1
    assert int(Repelling().sliding_kind(z)) == -1
    assert int(Exit().sliding_kind(jnp.array([2.0, 0.0]))) == 0  # both push up: crossing
    # Filippov's convex combination: a = n- / (n- - n+) = 1/2, f_s = (1.5, 0), tangent.
    assert float(Constant().sliding_coefficient(z)) == 0.5
    np.testing.assert_allclose(np.asarray(Constant().sliding_vector_field(z)), [1.5, 0.0])


def test_entry_and_exit_located_and_their_saltation_matrices_exact():
    # Entry: from (x1, -0.05) the orbit reaches x2 = 0 at t* = 0.05 and slides with
    # f_s = (1.5, 0): after dt = 0.1, (x1 + 2 t* + 1.5 (dt - t*), 0) exactly (RK4 is
    # exact for constant fields).
    m = pw.event_map(Constant(), 0.1)
    step_and_jac = jax.jit(lambda x: (m.step(x), jax.jacfwd(m.step)(x)))
    y, J = step_and_jac(jnp.array([0.3, -0.05]))
    np.testing.assert_allclose(np.asarray(y), [0.475, 0.0], atol=1e-13)
    # Saltation of entering sliding, S = I + (f_s - f-) h'^T / (h'.f-) = [[1, -0.5],
    # [0, 0]] (singular: the normal direction is forgotten); the sliding flow is a
    # translation, so the step's Jacobian is S.
    np.testing.assert_allclose(np.asarray(J), [[1.0, -0.5], [0.0, 0.0]], atol=1e-12)

    # Exit: sliding from (0, 0) with f_s = (1, 0) until n+ = x1 - 1 reaches 0 at t = 1,
    # then f+: x1 = 1 + s, x2 = s^2 / 2; at t = 1.5, (1.5, 0.125).
    me = pw.event_map(Exit(), 0.1)
    adv_and_jac = jax.jit(lambda x: (me.advance(x, 1.5), jax.jacfwd(me.advance)(x, 1.5)))
    y, J = adv_and_jac(jnp.zeros(2))
    np.testing.assert_allclose(np.asarray(y), [1.5, 0.125], atol=1e-13)
    # Leaving sliding has the identity saltation matrix: d/dx1 moves the exit earlier,
    # so x2 = (0.5 + dx1)^2 / 2 grows by 0.5 dx1; a normal offset is forgotten.
    np.testing.assert_allclose(np.asarray(J), [[1.0, 0.0], [0.5, 0.0]], atol=1e-9)


def _fine_rk4(f, x, T, n):
    h = T / n

    def body(z, _):
        k1 = f(z)
        k2 = f(z + 0.5 * h * k1)
        k3 = f(z + 0.5 * h * k2)
        k4 = f(z + h * k3)
        return z + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4), z

    return jax.lax.scan(body, x, None, length=n)


OSC = cj.systems.StickSlipOscillator()
DT = 0.005
X0 = jnp.array([0.5, 0.2])  # sticking: slips at x = 1, then stick-slip cycles


@pytest.fixture(scope="module")
def stick_slip_run():
    m = pw.event_map(OSC, DT)
    return m, cj.trajectory(m, X0, steps=20_000)  # 100 time units, ~15 cycles


def test_stick_slip_sliding_segments_located_to_event_tolerance(stick_slip_run):
    m, xs = stick_slip_run
    xs = np.asarray(xs)
    h = xs[:, 1] - 0.2
    stick = np.abs(h) < 1e-12
    # Sticking happens (Leine et al. 1998: the stick-slip limit cycle) and only where
    # the surface attracts, |k x| < F_s.
    assert 0.3 < stick.mean() < 0.8
    assert np.all(np.abs(xs[stick, 0]) <= 1.0 + 1e-12)
    # Filippov's combination is tangent on every sticking state.
    res = jax.vmap(lambda x: jax.grad(OSC._h)(x) @ OSC.sliding_vector_field(x))(xs[stick])
    assert float(jnp.max(jnp.abs(res))) < 1e-10
    # Entry: from the last slipping state before a stick phase, locate v = v_dr with a
    # fine RK4 of the slip field f- (independent of the integrator), then stick at v_dr.
    i = int(np.flatnonzero(~stick[:-1] & stick[1:])[-1])
    f_minus = lambda z: OSC.mode_vector_field(z, jnp.zeros(1, bool))
    _, fine = _fine_rk4(f_minus, jnp.asarray(xs[i]), DT, 10_000)
    fine = np.asarray(fine)
    k = int(np.flatnonzero(fine[:, 1] >= 0.2)[0])
    w = (0.2 - fine[k - 1, 1]) / (fine[k, 1] - fine[k - 1, 1])
    t_entry = (k - 1 + w) * DT / 10_000
    x_entry = fine[k - 1, 0] + w * (fine[k, 0] - fine[k - 1, 0])
    # RK4's own error over the slip part of a 0.005 step is ~1e-12; what is left is
    # the error of the location.
    assert abs(xs[i + 1, 1] - 0.2) < 1e-14
    assert abs(xs[i + 1, 0] - (x_entry + 0.2 * (DT - t_entry))) < 1e-10
    # Exit at k x = F_s: advancing a sticking state by exactly the time to x = 1 lands
    # there; 0.02 further matches a fine RK4 of f- from (1, 0.2).
    x_s = jnp.array([0.9, 0.2])
    np.testing.assert_allclose(np.asarray(m.advance(x_s, 0.5)), [1.0, 0.2], atol=1e-12)
    end, _ = _fine_rk4(f_minus, jnp.array([1.0, 0.2]), 0.02, 2000)
    np.testing.assert_allclose(np.asarray(m.advance(x_s, 0.52)), np.asarray(end), atol=1e-12)


def test_stick_slip_matches_regularised_reference_as_eps_vanishes(stick_slip_run):
    # Independent reference: sign(v_rel) -> tanh(v_rel / eps), fixed-step RK4 with
    # h = eps / 5 (the regularised field is stiff, rate ~F_s / eps, in the stick band).
    def regularised(eps):
        def f(z):
            v_rel = z[1] - OSC.v_dr
            fr = OSC.F_s * jnp.tanh(v_rel / eps) / (1.0 + OSC.delta * jnp.abs(v_rel))
            return jnp.stack([z[1], -OSC.k * z[0] - fr])

        return f

    T = 10.0  # stick to x = 1, slip, stick again
    ev = np.asarray(stick_slip_run[1])[: int(T / DT) : int(1 / DT)]  # t = 0, 1, ..., 9
    errs = []
    for eps in (1e-2, 1e-3, 1e-4):
        n = int(round(T / (eps / 5)))
        _, ref = _fine_rk4(regularised(eps), X0, T, n)
        errs.append(np.abs(np.asarray(ref)[:: n // 10] - ev).max())
    print("regularised vs event-located, eps = 1e-2, 1e-3, 1e-4:", errs)
    # Measured 0.165, 0.0246, 0.0031: the difference shrinks about like eps (slope
    # 0.86 per decade: the regularised orbit creeps at v_rel ~ eps atanh(k x / F_s) and
    # leaves the stick band late by ~eps log(1/eps)).
    assert errs[0] > 5 * errs[1] > 25 * errs[2]
    slope = np.log10(errs[0] / errs[2]) / 2
    assert 0.7 < slope < 1.1 and errs[2] < 5e-3


def test_without_sliding_the_integrator_chatters(stick_slip_run):
    _, xs = stick_slip_run
    m = pw.event_map(OSC, DT, sliding=False)
    xc = np.asarray(cj.trajectory(m, X0, steps=20_000))
    on = np.abs(xc[:, 1] - 0.2)
    # Chattering: the states straddle the surface instead of lying on it, and the orbit
    # drifts away from the sliding one.
    assert np.mean(on < 1e-12) < 0.5 * np.mean(np.abs(np.asarray(xs)[:, 1] - 0.2) < 1e-12)


def test_repelling_sliding_leaves_along_the_mode_side():
    # Documented choice: where both fields point away, the step follows f+ when
    # h(x) >= 0 (PiecewiseSmoothFlow's mode convention), f- otherwise.
    m = pw.event_map(Repelling(), 0.1)
    y = jax.jit(jax.vmap(m.step))(jnp.array([[0.0, 0.0], [0.0, -1e-300]]))
    np.testing.assert_allclose(np.asarray(y), [[0.1, 0.1], [0.1, -0.1]], atol=1e-14)


def test_bad_input_for_filippov():
    with pytest.raises(ValueError, match="`switching_function` of TwoSurfaces must return"):
        pw.event_map(TwoSurfaces(), 0.1)
    with pytest.raises(ValueError, match="`sliding=True` needs a cj.systems.FilippovFlow"):
        pw.event_map(cj.systems.ReluFlow(), 0.1, sliding=True)
    with pytest.raises(ValueError, match='`method` must be "event"'):
        pw.event_map(Constant(), 0.1, "diffrax", sliding=True)
    with pytest.raises(ValueError, match="`sliding` must be True, False or None"):
        pw.event_map(Constant(), 0.1, sliding="yes")


@pytest.mark.slow
def test_exponents_through_sliding_converge():
    # Stick-slip limit cycle: exponents (0, -inf). The leading one converges to 0 like
    # 1/T; the second is -inf (the entry saltation matrix is singular: Floquet
    # multiplier 0), which the QR method reports as a non-finite value.
    m = pw.event_map(OSC, 0.05)
    x = cj.final_state(m, OSC.default_state(), steps=2000)
    lam = [float(cj.lyapunov_spectrum(m, x, steps=n, k=1).exponents[0]) for n in (2000, 8000)]
    # Measured -0.0120 and -0.0030: the 1/T convergence of a bounded offset.
    assert abs(lam[1]) < 4e-3 and 3.0 < lam[0] / lam[1] < 5.0
    full = cj.lyapunov_spectrum(m, x, steps=2000, throw=False)
    assert np.isneginf(float(full.exponents[1]))
    # Relay feedback (Piiroinen & Kuznetsov 2008): a periodic orbit with sliding,
    # exponents (0, lambda_2 < 0, -inf); the leading two converge.
    relay = cj.systems.RelayFeedback()
    mr = pw.event_map(relay, 0.005)
    xr = cj.final_state(mr, relay.default_state(), steps=20_000)
    r1 = cj.lyapunov_spectrum(mr, xr, steps=20_000, k=2).exponents
    r2 = cj.lyapunov_spectrum(mr, xr, steps=80_000, k=2).exponents
    assert abs(float(r2[0])) < 3e-3
    assert float(r2[1]) < -0.5 and abs(float(r2[1] - r1[1])) < 0.02


@pytest.mark.slow  # the default suite's time budget; unit tests cover the parts
def test_stick_slip_example_quick_mode_prints_its_figures(tmp_path):
    import pathlib
    import subprocess
    import sys

    script = pathlib.Path(__file__).resolve().parents[1] / "examples" / "stick_slip.py"
    out = subprocess.run(
        [sys.executable, str(script), "--quick"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    text = out.stdout
    assert "exit located: advancing (0.9, 0.2) by 0.5 lands on (1, 0.2)" in text
    assert "eps = 1e-03" in text and "singular values" in text
    # The residual of Filippov's combination is printed at rounding level.
    line = next(s for s in text.splitlines() if "max |h'.f_s|" in s)
    assert float(line.rsplit(" ", 1)[1]) < 1e-10
