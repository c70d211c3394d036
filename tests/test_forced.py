"""Time-dependent flows, the stroboscopic and Poincare maps, and lengths in time units.

References: the forced Duffing oscillator's period doublings (Guckenheimer & Holmes 1983,
*Nonlinear Oscillations*, sec. 2.2; the sequence at delta = 0.3, alpha = -1, beta = 1,
omega = 1.2 as tabulated in the Wikipedia article "Duffing equation"); its largest
exponent at gamma = 0.5 from an independent computation with SciPy (below); Lorenz63's
exponent (Sprott 2003, App. A); and lambda_map = lambda_flow x mean return time for a
Poincare map (Parker & Chua 1989, *Practical Numerical Algorithms for Chaotic Systems*).
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import solve_ivp

import chaosjax as cj

DUF = cj.systems.ForcedDuffing()
LOR = cj.systems.Lorenz63()


def _duffing_rhs(gamma):
    def f(t, y):
        x, v = y
        return [v, -0.3 * v + x - x**3 + gamma * math.cos(1.2 * t)]

    return f


class _Forced(cj.Flow):
    """A user's time-dependent flow: a damped oscillator driven by cos t."""

    c: float = cj.systems.param(0.5)

    def vector_field(self, t, x):
        return jnp.stack([x[1], -x[0] - self.c * x[1] + jnp.cos(t)])

    def default_state(self):
        return jnp.zeros(2)


def test_time_dependence_is_read_from_the_signature_and_unsupported_uses_say_so():
    assert _Forced.time_dependent and DUF.time_dependent and not LOR.time_dependent
    assert not cj.systems.Autonomised(DUF).time_dependent
    # The driven linear oscillator: x(t) -> the steady state (sin t) / c at c = 0.5... as
    # the amplitude 1 / c = 2 of x'' + c x' + x = cos t (resonance), x = 2 sin t.
    xs = cj.trajectory(_Forced(), t_final=60.0, dt=0.01)
    t = 60.0
    assert abs(float(xs[-1, 0]) - 2.0 * math.sin(t)) < 1e-4
    with pytest.raises(ValueError, match="time-dependent flow.*StroboscopicMap"):
        cj.orbit_diagram(DUF, "gamma", jnp.array([0.3]), transient=1, keep=1)
    with pytest.raises(ValueError, match="depends on time"):
        cj.discretize(DUF, 0.01)
    with pytest.raises(ValueError, match="autonomous flow"):
        cj.PoincareMap(DUF, cj.Hyperplane(normal=[1.0, 0.0]))
    with pytest.raises(ValueError, match="not supported"):
        cj.lyapunov_spectrum(DUF, steps=10, inverse=True)
    from chaosjax.report import ReportConfig, ReportError, resolve

    with pytest.raises(ReportError, match="depends on time.*StroboscopicMap"):
        resolve(ReportConfig(system="forced_duffing"))


def test_time_dependent_flow_matches_scipy_and_its_autonomous_form():
    duf = DUF.replace(gamma=0.2)
    ts, ys = cj.trajectory(duf, t_final=20.0, times=True)
    assert ts.shape == (2_001,) and float(ts[-1]) == pytest.approx(20.0)
    ref = solve_ivp(_duffing_rhs(0.2), (0, 20.0), [1.0, 0.0], rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(np.asarray(ys[-1]), ref.y[:, -1], atol=1e-6)
    auto = cj.trajectory(cj.systems.Duffing(gamma=0.2), t_final=20.0)
    np.testing.assert_allclose(np.asarray(ys), np.asarray(auto[:, :2]), atol=1e-10)
    adaptive = cj.trajectory(duf, t_final=20.0, dt=1.0, solver="tsit5")
    np.testing.assert_allclose(np.asarray(adaptive[-1]), ref.y[:, -1], atol=1e-6)
    # time averages and the final state from the same run
    np.testing.assert_allclose(
        np.asarray(cj.final_state(duf, t_final=20.0)), np.asarray(ys[-1]), rtol=1e-12
    )
    avg = cj.time_average(duf, None, lambda x: x[0], t_final=20.0)
    np.testing.assert_allclose(float(avg), float(jnp.mean(ys[:-1, 0])), rtol=1e-12)
    # a batch (generated C on a CPU): each member as the single run
    two = cj.time_average(duf, jnp.stack([ys[0], ys[0]]), lambda x: x[0], t_final=20.0)
    np.testing.assert_allclose(np.asarray(two), float(avg), rtol=1e-12)


def test_stroboscopic_orbit_diagram_shows_the_period_doublings():
    gammas = jnp.array([0.20, 0.28, 0.29, 0.37, 0.50, 0.65])
    strobe = cj.StroboscopicMap(DUF)
    d = cj.orbit_diagram(strobe, "gamma", gammas, transient=300, keep=32)
    distinct = [len(np.unique(np.round(np.asarray(p[:, 0]), 4))) for p in d.points]
    # period 1, 2, 4, 5, chaos, 2 (Guckenheimer & Holmes 1983; Wikipedia's table)
    assert distinct[:4] == [1, 2, 4, 5] and distinct[4] == 32 and distinct[5] == 2
    # The period-1 point, independently: SciPy's DOP853 over the same 300 periods.
    T = 2 * math.pi / 1.2
    ref = solve_ivp(
        _duffing_rhs(0.2), (0, 301 * T), [1.0, 0.0], method="DOP853", rtol=1e-11, atol=1e-12
    )
    np.testing.assert_allclose(np.asarray(d.points[0, 0]), ref.y[:, -1], atol=1e-6)


def test_stroboscopic_exponents_are_the_flows_without_the_time_direction():
    T = 2 * math.pi / 1.2
    n = 30  # periods: short enough that the three orbits agree to rounding (lambda ~ 0.1)
    strobe = cj.lyapunov_spectrum(cj.StroboscopicMap(DUF), steps=n).exponents
    flow = cj.lyapunov_spectrum(DUF, t_final=n * T, dt=T / 100).exponents
    auto = cj.lyapunov_spectrum(cj.systems.Duffing(), t_final=n * T, dt=T / 100).exponents
    assert strobe.shape == flow.shape == (2,) and auto.shape == (3,)
    np.testing.assert_allclose(np.asarray(strobe), np.asarray(flow), atol=1e-6)
    assert abs(float(auto[1])) < 1e-9  # the time direction
    np.testing.assert_allclose(np.asarray(strobe), np.asarray(auto[jnp.array([0, 2])]), atol=1e-6)
    # The phase-space contraction rate is -delta exactly: the sum of the exponents.
    assert abs(float(strobe.sum()) + 0.3) < 1e-5


def test_chaotic_duffing_largest_exponent_matches_an_independent_scipy_computation():
    # SciPy DOP853 (rtol 1e-10) on the variational equations, QR once per period, 20,000
    # periods after 200 of transient: lambda_1 = 0.1054 (+-0.001 between the last 5,000).
    res = cj.lyapunov_spectrum(cj.StroboscopicMap(DUF), steps=3_000, transient=100)
    assert abs(float(res.largest) - 0.1054) < 0.01


def test_poincare_map_exponent_is_the_flows_times_the_mean_return_time():
    pmap = cj.PoincareMap(LOR, cj.Hyperplane(normal=[0.0, 0.0, 1.0], offset=27.0))
    assert pmap.manifold_dim == 2 and pmap.time_per_step == 1.0
    x = pmap.step(LOR.default_state())
    assert abs(float(x[2]) - 27.0) < 1e-10
    # The tangent map (with the projection onto the section) against central differences.
    J = jax.jit(jax.jacfwd(pmap.step))(x)
    v, h = jnp.array([0.3, -0.2, 0.0]), 1e-6
    fd = (pmap.step(x + h * v) - pmap.step(x - h * v)) / (2 * h)
    np.testing.assert_allclose(np.asarray(J @ v), np.asarray(fd), atol=1e-6)
    assert np.allclose(np.asarray(J[2]), 0.0)  # the image stays on z = 27
    res = cj.lyapunov_spectrum(pmap, x, steps=2_000, transient=20)
    assert res.exponents.shape == (2,)
    y, total, n = res.final_state, 0.0, 400
    for _ in range(n):
        y, tau = pmap.crossing(y)
        total += float(tau)
    lam_flow = float(res.largest) / (total / n)
    assert abs(lam_flow - 0.9056) < 0.03 * 0.9056
    # An orbit diagram of the map sweeps the flow's parameter: its points are the iterates.
    d = cj.orbit_diagram(pmap, "rho", jnp.array([28.0]), x, transient=2, keep=3)
    y = x
    for k in range(5):
        y = pmap.step(y)
        if k >= 2:
            np.testing.assert_allclose(np.asarray(d.points[0, k - 2]), np.asarray(y), atol=1e-9)


def test_lengths_by_time_and_default_state_and_step():
    ts, ys = cj.trajectory(LOR, t_final=1.0, times=True)  # dt: Lorenz63.default_dt
    assert LOR.default_dt == 0.01 and ys.shape == (101, 3)
    np.testing.assert_array_equal(
        np.asarray(ys), np.asarray(cj.trajectory(LOR, LOR.default_state(), steps=100, dt=0.01))
    )
    np.testing.assert_allclose(np.asarray(ts), 0.01 * np.arange(101), atol=1e-12)
    t2 = cj.trajectory(LOR, t_final=1.0, transient=50, save_every=10, times=True)
    np.testing.assert_allclose(np.asarray(t2.ts), 0.5 + 0.1 * np.arange(11), atol=1e-12)
    assert isinstance(t2, cj.Trajectory) and t2.ys.shape == (11, 3)
    henon = cj.systems.Henon()
    assert cj.trajectory(henon, t_final=5.0, times=True).ts.tolist() == [0, 1, 2, 3, 4, 5]
    for fn in (cj.final_state, cj.time_average):
        np.testing.assert_allclose(
            np.asarray(fn(LOR, t_final=0.5)), np.asarray(fn(LOR, steps=50)), rtol=1e-14
        )
    a = cj.lyapunov_spectrum(LOR, t_final=1.0).exponents
    np.testing.assert_allclose(
        np.asarray(a), np.asarray(cj.lyapunov_spectrum(LOR, None, 100).exponents), rtol=1e-12
    )
    assert cj.max_lyapunov(henon, t_final=100.0).steps == 100
    ca = cj.cumulative_average(LOR, t_final=0.5, save_every=10)
    assert ca.averages.shape == (5, 3)
    ens = cj.ensemble_time_average(LOR, jax.random.key(0), 2, t_final=0.5, shard=False)
    assert ens.steps == 50
    with pytest.raises(ValueError, match="exactly one of `steps`.*got both"):
        cj.final_state(LOR, steps=10, t_final=0.1)
    with pytest.raises(ValueError, match="exactly one of `steps`.*got neither"):
        cj.time_average(LOR)
    with pytest.raises(ValueError, match="whole number of steps"):
        cj.trajectory(LOR, t_final=0.015)


@pytest.mark.slow  # the same diagram as the stroboscopic test, through the command
def test_cli_orbit_diagram_of_a_forced_flow_is_its_stroboscopic_map(tmp_path):
    from typer.testing import CliRunner

    from chaosjax.cli.app import app

    out = tmp_path / "d.nc"
    args = ["bifurcation", "forced_duffing", "--range", "0.28:0.29:2", "--keep", "8"]
    result = CliRunner().invoke(app, [*args, "--transient", "300", "--out", str(out), "--no-plot"])
    assert result.exit_code == 0, result.output
    pts = cj.io.load(out)["points"].values[..., 0]
    # period 2 at gamma = 0.28, period 4 at 0.29 (as the stroboscopic test above)
    assert [len(np.unique(np.round(p, 4))) for p in pts] == [2, 4]
