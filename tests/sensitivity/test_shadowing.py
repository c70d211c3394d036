"""Least-squares shadowing (LSS, Wang 2014) and non-intrusive LSS (Ni & Wang 2017)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import chaosjax as cj
from chaosjax.sensitivity._common import block_tridiagonal_solve

Z = lambda x: x[2]  # noqa: E731  (one object: repeated calls reuse compilations)
X0 = lambda x: x[0]  # noqa: E731
DT = 0.005


def test_block_tridiagonal_solve_matches_dense_solve():
    n, k = 7, 3
    key1, key2, key3 = jax.random.split(jax.random.PRNGKey(0), 3)
    lower = jax.random.normal(key1, (n - 1, k, k))
    a = jax.random.normal(key2, (n, k, k))
    diag = jnp.einsum("nij,nkj->nik", a, a) + 7.0 * jnp.eye(k)[None]
    rhs = jax.random.normal(key3, (n, k))
    dense = np.zeros((n * k, n * k))
    for i in range(n):
        dense[i * k : (i + 1) * k, i * k : (i + 1) * k] = diag[i]
    for i in range(n - 1):
        dense[(i + 1) * k : (i + 2) * k, i * k : (i + 1) * k] = lower[i]
        dense[i * k : (i + 1) * k, (i + 1) * k : (i + 2) * k] = lower[i].T
    x = block_tridiagonal_solve(diag, lower, rhs)
    ref = np.linalg.solve(dense, np.asarray(rhs).reshape(-1))
    assert np.allclose(np.asarray(x).reshape(-1), ref, atol=1e-12)


@pytest.fixture(scope="module")
def lorenz_x0():
    lor = cj.systems.Lorenz63()
    return lor, cj.final_state(lor, lor.default_state(), steps=20_000, dt=DT)


@pytest.mark.parametrize("method", ["lss", "nilss"])
def test_lorenz_dz_drho_at_28(lorenz_x0, method):
    lor, x0 = lorenz_x0
    # Run time and memory: benchmarks/sensitivity.py.
    res = cj.shadowing_sensitivity(
        lor, "rho", Z, x0, steps=8 * 10_000, dt=DT, segments=8, method=method
    )
    # Published LSS/NILSS values are ~1.01 (Wang 2014; Ni & Wang 2017).
    assert 0.95 <= float(res.derivative) <= 1.05
    assert float(res.standard_error) < 0.03
    assert res.estimates.shape == (8,)
    if method == "nilss":
        assert res.num_unstable == 1  # Lorenz63: one positive exponent
    else:
        assert res.alpha is not None and res.alpha > 0
        # The default time-dilation weight: the RMS of |f| over the states of the run.
        f = jax.vmap(lor.vector_field)(cj.trajectory(lor, x0, steps=8 * 10_000, dt=DT)[1:])
        rms = float(jnp.sqrt(jnp.mean(jnp.sum(f**2, -1))))
        assert res.alpha == pytest.approx(rms, rel=1e-10)


def test_lss_alpha_time_dilation_and_batched_initial_conditions(lorenz_x0):
    lor, x0 = lorenz_x0
    x0s = jnp.stack([x0, cj.final_state(lor, x0, steps=3000, dt=DT)])
    kw = dict(dt=DT, method=cj.LSS(alpha=100.0))
    # Two initial conditions x two windows: four independent estimates.
    base = cj.shadowing_sensitivity(lor, "rho", Z, x0s, steps=2 * 2000, segments=2, **kw)
    assert base.estimates.shape == (4,)
    one = cj.shadowing_sensitivity(lor, "rho", Z, x0s[1], steps=4 * 2000, segments=4, **kw)
    assert jnp.allclose(base.estimates[2:], one.estimates[:2], rtol=1e-10)
    for alpha in (30.0, 300.0):
        other = cj.shadowing_sensitivity(
            lor, "rho", Z, x0s[1], steps=4 * 2000, segments=4, dt=DT, method=cj.LSS(alpha=alpha)
        )
        # The time-dilation weight changes the finite-window minimiser, not the limit.
        assert abs(float(other.derivative - one.derivative)) < 0.03
    # Without the time-dilation term LSS on a flow is wrong: the neutral direction
    # (a time shift) grows linearly and the minimiser cannot remove it.
    m = cj.discretize(lor, DT)
    no_dilation = cj.shadowing_sensitivity(
        _PlainMap(inner=m), "inner.flow.rho", Z, x0s[1], steps=4 * 2000, segments=4
    )
    assert abs(float(no_dilation.derivative) - 1.0) > abs(float(one.derivative) - 1.0) + 0.03


class _PlainMap(cj.Map):
    """A discretised flow hidden behind a plain map: LSS sees no vector field."""

    inner: cj.Map

    def step(self, x):
        return self.inner.step(x)

    def default_state(self):
        return self.inner.default_state()

    @property
    def dim(self):
        return self.inner.dim


def _average_and_error(lor, rho, x0s, steps, transient):
    a = cj.time_average(lor.replace(rho=rho), x0s, Z, steps=steps, dt=DT, transient=transient)
    return float(a.mean()), float(a.std(ddof=1) / np.sqrt(a.shape[0]))


@pytest.mark.slow
def test_lorenz_rho_sweep_agrees_with_finite_differences():
    """The curve d<z>/drho at rho = 25, 30, 35, 40 against finite differences.

    LSS and NILSS carry a systematic "shadowing error" (they leave out the unstable
    part of Ruelle's linear response): +1.5 % at rho = 28, a few tenths of a per cent at
    30..40, +7 % at rho = 25 near the attractor's birth. S3 (`method="s3"`) includes that
    part. The curve: S3 at 25, LSS and NILSS at 30, 35, 40, each within 3 combined
    standard errors of the finite difference; at 25, LSS and NILSS are shown to miss.
    """
    lor = cj.systems.Lorenz63()
    x0s = cj.final_state(lor, lor.sample_state(jax.random.PRNGKey(5), 128), steps=4000, dt=DT)
    for rho in (25.0, 30.0, 35.0, 40.0):
        # rho - 1 = 24 is below the birth of the chaotic attractor (24.06) and rho - 0.5
        # below the Hopf point 24.74 where C+- are stable and capture orbits: at rho = 25
        # the difference uses h = 0.25, so both sides have only the chaotic attractor.
        h = 0.25 if rho == 25.0 else 1.0
        hi, se_hi = _average_and_error(lor, rho + h, x0s, 200_000, 4000)
        lo, se_lo = _average_and_error(lor, rho - h, x0s, 200_000, 4000)
        fd, se_fd = (hi - lo) / (2 * h), np.hypot(se_hi, se_lo) / (2 * h)
        sys = lor.replace(rho=rho)
        x0 = cj.final_state(sys, x0s[0], steps=4000, dt=DT)
        s3 = cj.shadowing_sensitivity(
            sys, "rho", Z, x0, steps=10 * 200_000, dt=DT, segments=10, method="s3"
        )
        lss = cj.shadowing_sensitivity(sys, "rho", Z, x0, steps=8 * 10_000, dt=DT)
        nil = cj.shadowing_sensitivity(sys, "rho", Z, x0, steps=8 * 10_000, dt=DT, method="nilss")

        def off(res):
            return abs(float(res.derivative) - fd) / np.hypot(float(res.standard_error), se_fd)

        if rho == 25.0:
            assert off(s3) < 3.0
            assert off(lss) > 3.0 and off(nil) > 3.0
        else:
            # S3 not asserted (`benchmarks/sensitivity.py --rho-sweep` prints the table): at
            # 30 it is within ~3 SE (its window SE is ~2x optimistic, the unstable part
            # being heavy-tailed), at 35 and 40 the tails dominate.
            assert off(lss) < 3.0 and off(nil) < 3.0


class _Solenoid(cj.Map):
    """A uniformly hyperbolic (Smale-Williams type) attractor: an expanding circle map
    drives a contraction; the parameter c acts on the contracting part only, so the
    shadowing derivative is the true linear response."""

    c: jax.Array

    def step(self, s):
        th, x, y = s[0], s[1], s[2]
        return jnp.stack(
            [
                jnp.mod(2.0 * th + 0.1 * jnp.sin(th), 2 * np.pi),
                0.3 * x + jnp.cos(th),
                0.3 * y + jnp.sin(th) + self.c * x**2,
            ]
        )

    def default_state(self):
        return jnp.array([1.0, 0.0, 0.0])


def test_map_lss_against_finite_differences_on_hyperbolic_attractor():
    sol = _Solenoid(c=jnp.asarray(0.5))
    obs = lambda s: s[2] + s[1] * s[2]  # noqa: E731
    th = jax.random.uniform(jax.random.PRNGKey(0), (64, 1)) * 2 * np.pi
    x0s = jnp.concatenate([th, jnp.zeros((64, 2))], axis=1)
    h = 0.01
    fd = (
        cj.time_average(sol.replace(c=0.5 + h), x0s, obs, steps=20_000, transient=100)
        - cj.time_average(sol.replace(c=0.5 - h), x0s, obs, steps=20_000, transient=100)
    ) / (2 * h)
    fd_mean, fd_se = float(fd.mean()), float(fd.std(ddof=1) / np.sqrt(fd.shape[0]))
    # (NILSS on maps is checked against LSS on the Henon map.)
    res = cj.shadowing_sensitivity(
        sol, "c", obs, x0s[0], steps=16 * 2000, segments=16, transient=100
    )
    assert abs(float(res.derivative) - fd_mean) < 3 * np.hypot(res.standard_error, fd_se)


def test_henon_map_lss_against_finite_differences():
    # (1) a = 1.3 lies in a period-7 window: the long-time average is smooth in a and
    # LSS converges to the finite difference, with its O(1/T) window bias.
    hen = cj.systems.Henon(a=1.3)
    x0 = cj.final_state(hen, hen.default_state(), steps=5000)

    def avg(a):
        return cj.time_average(hen.replace(a=a), x0, X0, steps=70_000, transient=7_000)

    fd = float((avg(1.3 + 1e-5) - avg(1.3 - 1e-5)) / 2e-5)
    lss = cj.shadowing_sensitivity(hen, "a", X0, x0, steps=8 * 20_000, segments=8)
    nilss = cj.shadowing_sensitivity(hen, "a", X0, x0, steps=8 * 20_000, segments=8, method="nilss")
    assert abs(float(lss.derivative) - fd) < 2e-3 * abs(fd)
    assert abs(float(nilss.derivative) - fd) < 2e-3 * abs(fd)


@pytest.mark.slow
def test_henon_map_at_1_4_has_no_derivative_to_agree_with():
    # (2) a = 1.4 (chaotic, not hyperbolic: tangencies, periodic windows accumulate):
    # the finite differences of long averages depend on h beyond their error bars, so
    # d<x>/da does not exist as a number to agree with. LSS and NILSS, which solve the
    # same least-squares problem by different algorithms, agree with each other.
    hen = cj.systems.Henon()
    x0s = cj.final_state(
        hen,
        hen.default_state()[None] + 0.01 * jax.random.normal(jax.random.PRNGKey(1), (64, 2)),
        steps=2000,
    )
    fds = []
    for h in (0.005, 0.01, 0.02):
        a = cj.time_average(hen.replace(a=1.4 + h), x0s, X0, steps=50_000, transient=1000)
        b = cj.time_average(hen.replace(a=1.4 - h), x0s, X0, steps=50_000, transient=1000)
        d = (a - b) / (2 * h)
        fds.append((h, float(d.mean()), float(d.std(ddof=1) / np.sqrt(d.size))))
    lss = cj.shadowing_sensitivity(hen, "a", X0, x0s[0], steps=8 * 10_000, segments=8)
    nilss = cj.shadowing_sensitivity(
        hen, "a", X0, x0s[0], steps=8 * 10_000, segments=8, method="nilss"
    )
    spread = max(m for _, m, _ in fds) - min(m for _, m, _ in fds)
    assert spread > 10 * max(se for _, _, se in fds)
    assert jnp.allclose(lss.estimates, nilss.estimates, atol=5e-3)


class _TwoHenon(cj.Map):
    """Two uncoupled Henon maps: two positive exponents, so NILSS needs u = 2."""

    a: jax.Array

    def step(self, x):
        return jnp.stack(
            [1 - self.a * x[0] ** 2 + x[1], 0.3 * x[0], 1 - 1.4 * x[2] ** 2 + x[3], 0.3 * x[2]]
        )

    def default_state(self):
        return jnp.array([0.63, 0.19, 0.1, 0.1])


@pytest.mark.slow
def test_nilss_with_two_unstable_directions_matches_lss_window_by_window():
    th = _TwoHenon(a=jnp.asarray(1.4))
    x0 = cj.final_state(th, th.default_state(), steps=2000)
    obs = lambda x: x[0] + 0.1 * x[2]  # noqa: E731
    kw = dict(steps=4 * 4000, segments=4)
    lss = cj.shadowing_sensitivity(th, "a", obs, x0, **kw)
    nilss = cj.shadowing_sensitivity(th, "a", obs, x0, method="nilss", **kw)
    assert nilss.num_unstable == 2
    # Same least-squares problem; NILSS fixes the decaying stable components, which
    # changes only the window ends (measured: differences ~5e-4 on 10,000 iterations).
    assert jnp.allclose(lss.estimates, nilss.estimates, atol=5e-3)


def test_shadowing_bad_input_names_the_argument(lorenz_x0):
    lor, x0 = lorenz_x0
    with pytest.raises(ValueError, match="`param`.*'rhoo'"):
        cj.shadowing_sensitivity(lor, "rhoo", Z, x0, steps=1000, dt=DT)
    with pytest.raises(ValueError, match="`observable`.*scalar"):
        cj.shadowing_sensitivity(lor, "rho", lambda x: x[:2], x0, steps=1000, dt=DT)
    with pytest.raises(ValueError, match="`steps`.*`segments`"):
        cj.shadowing_sensitivity(lor, "rho", Z, x0, steps=50, dt=DT, segments=8)
    with pytest.raises(ValueError, match="`steps`.*`segments`"):
        cj.shadowing_sensitivity(
            lor, "rho", Z, x0, steps=800, dt=DT, segments=8, method=cj.NILSS(segment_steps=100)
        )
    with pytest.raises(ValueError, match="`method`"):
        cj.shadowing_sensitivity(lor, "rho", Z, x0, steps=1000, dt=DT, method="adjoint")
    with pytest.raises(ValueError, match="`segments`"):
        cj.shadowing_sensitivity(lor, "rho", Z, x0, steps=1000, dt=DT, segments=0)
    with pytest.raises(ValueError, match="`num_unstable`"):
        cj.shadowing_sensitivity(
            lor, "rho", Z, x0, steps=1000, dt=DT, method=cj.NILSS(num_unstable=4)
        )
