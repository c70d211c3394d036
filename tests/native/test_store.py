"""Stored orbits in generated C (`native/stored.py`): `cj.trajectory` and a map's orbit
diagram against the XLA path (`CHAOSJAX_CGEN=0`), eager, under jit, vmap and grad."""

import itertools
import logging
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import chaosjax as cj
from chaosjax.native import ffi

pytestmark = pytest.mark.skipif(
    shutil.which("gcc") is None or shutil.which("g++") is None, reason="no gcc/g++"
)
lor = cj.systems.Lorenz63()


def hlo(fn, *args) -> str:
    return jax.jit(fn).lower(*args).as_text()


def test_trajectory_native_equals_xla(xla_env):
    x0 = lor.default_state()
    xs = lor.sample_state(jax.random.key(0), 70)  # not a multiple of the tile

    def single():
        return cj.trajectory(lor, x0, steps=300, dt=0.01, transient=7, save_every=3)

    def batch():
        return cj.trajectory(lor, xs, steps=200, dt=0.01, transient=5, save_every=2)

    def one(x):
        return cj.trajectory(lor, x, steps=200, dt=0.01, transient=5, save_every=2)

    assert "chaosjax_store" in hlo(one, x0)
    assert hlo(jax.vmap(one), xs).count("chaosjax_store") == 1  # one batched call
    for fn in (single, batch, lambda: jax.jit(one)(x0), lambda: jax.jit(jax.vmap(one))(xs)):
        got = np.asarray(fn())
        np.testing.assert_allclose(got, xla_env(fn), rtol=1e-12, atol=1e-12)
    assert single().shape == (101, 3) and batch().shape == (70, 101, 3)
    # Row 0 is the state after the transient; new parameter values are not stale.
    ref = xla_env(lambda: cj.final_state(lor, x0, steps=7, dt=0.01))
    np.testing.assert_allclose(np.asarray(single())[0], ref, rtol=1e-13)
    fin = np.asarray(cj.final_state(lor, x0, steps=7, dt=0.01))  # the single-orbit kernel
    np.testing.assert_allclose(fin, ref, rtol=1e-13)
    lor35 = cj.systems.Lorenz63(rho=35.0)
    got = np.asarray(cj.trajectory(lor35, x0, steps=100, dt=0.01))
    want = xla_env(lambda: cj.trajectory(lor35, x0, steps=100, dt=0.01))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    assert np.abs(got - np.asarray(cj.trajectory(lor, x0, steps=100, dt=0.01))).max() > 1e-3


def test_checked_arguments_are_never_stale():
    x0 = lor.default_state()

    def run(system, x):
        return np.asarray(cj.trajectory(system, x, steps=100, dt=0.01))

    # Temporary systems (their ids may be reused) and a NumPy state changed in place.
    outs = [run(cj.systems.Lorenz63(rho=r), x0) for r in (28.0, 35.0, 28.0)]
    np.testing.assert_array_equal(outs[0], outs[2])
    assert np.abs(outs[0] - outs[1]).max() > 1e-3
    x = np.array(x0)
    a = run(lor, x)
    x[0] += 1.0
    assert np.abs(run(lor, x) - a).max() > 1e-3
    with pytest.raises(ValueError, match="finite"):
        run(lor, np.full(3, np.nan))


def test_trajectory_vmap_over_parameters(xla_env):
    x0 = lor.default_state()
    rhos = jnp.linspace(20.0, 40.0, 9)

    def at(rho):
        return cj.trajectory(lor.replace(rho=rho), x0, steps=100, dt=0.01, save_every=5)

    assert hlo(jax.vmap(at), rhos).count("chaosjax_store") == 1  # the per-member kernel
    got = np.asarray(jax.jit(jax.vmap(at))(rhos))
    np.testing.assert_allclose(got, xla_env(lambda: jax.jit(jax.vmap(at))(rhos)), rtol=1e-12)


def test_orbit_diagram_native_equals_xla(xla_env):
    lg = cj.systems.Logistic()
    rs = jnp.concatenate([jnp.linspace(2.8, 4.0, 99), jnp.array([4.2])])  # 4.2 diverges

    def run():
        d = cj.orbit_diagram(lg, "r", rs, jnp.array([0.3]), transient=200, keep=60)
        return d.points, d.counts, d.final_states, d.diverged

    got, want = jax.tree.map(np.asarray, run()), xla_env(run)
    # (the compiled sweep is keyed by CHAOSJAX_CGEN: the second run is XLA's own)
    assert "chaosjax_store" not in xla_env(
        lambda: (
            jax.jit(lambda r: cj.orbit_diagram(lg, "r", r, transient=2, keep=3).points)
            .lower(rs)
            .as_text()
        )
    )
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got[2], want[2], rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(got[1], want[1])
    np.testing.assert_array_equal(got[3], want[3])
    assert got[3][-1] and not got[3][:-1].any() and got[1][0] == 60
    d = cj.orbit_diagram(lg, "r", rs[:3], jnp.array([0.3]), transient=5, keep=4)
    np.testing.assert_array_equal(np.asarray(d.times), np.tile([1.0, 2.0, 3.0, 4.0], (3, 1)))
    # Period 2 at r = 3.2 after the transient (May 1976): x* = (r + 1 +- sqrt((r-3)(r+1))) / 2r.
    r = 3.2
    d = cj.orbit_diagram(lg, "r", jnp.array([r]), jnp.array([0.3]), transient=2000, keep=4)
    pts = np.sort(np.unique(np.round(np.asarray(d.points)[0, :, 0], 10)))
    want2 = np.sort((r + 1 + np.array([-1, 1]) * np.sqrt((r - 3) * (r + 1))) / (2 * r))
    np.testing.assert_allclose(pts, want2, atol=1e-9)


def test_grad_falls_back_with_notice(xla_env, caplog):
    x0 = lor.default_state()

    def loss(rho):
        return jnp.sum(cj.trajectory(lor.replace(rho=rho), x0, steps=50, dt=0.01)[-1] ** 2)

    ffi._grad_notice.cache_clear()
    with caplog.at_level(logging.WARNING, logger="chaosjax.native"):
        g = float(jax.grad(loss)(28.0))
        jax.grad(loss)(29.0)
    assert sum("derivatives" in r.message for r in caplog.records) == 1  # once
    want = float(xla_env(lambda: jax.grad(loss)(28.0)))
    assert g == pytest.approx(want, rel=1e-10)
    eps = 1e-5  # and it is the derivative
    fd = (float(loss(28.0 + eps)) - float(loss(28.0 - eps))) / (2 * eps)
    assert g == pytest.approx(fd, rel=1e-5)


def test_divergence_as_on_the_xla_path(xla_env):
    lg = cj.systems.Logistic(r=4.5)
    x0 = jnp.array([0.3])

    def step_named():
        with pytest.raises(cj.DivergenceError) as e:
            cj.trajectory(lg, x0, steps=100, transient=3)
        return e.value.step

    assert step_named() == xla_env(step_named)
    quiet = np.asarray(cj.trajectory(lg, x0, steps=40, throw=False))
    want = xla_env(lambda: cj.trajectory(lg, x0, steps=40, throw=False))
    np.testing.assert_array_equal(np.isfinite(quiet), np.isfinite(want))
    fin = np.isfinite(want)
    np.testing.assert_allclose(quiet[fin], want[fin], rtol=1e-12)
    with pytest.raises(Exception, match="diverged"):
        jax.jit(lambda x: cj.trajectory(lg, x, steps=100))(x0).block_until_ready()


class _CoupledLogistic(cj.Map):
    """Five logistic maps on a ring, diffusively coupled (Kaneko 1984, Prog. Theor. Phys.
    72, 480): a state of dimension 5, whose saves fill the kernel's 8 x 8 output blocks
    unevenly."""

    r: float = cj.systems.param(3.7)
    eps: float = cj.systems.param(0.1)
    dim = 5

    def step(self, x):
        f = self.r * x * (1.0 - x)
        return (1.0 - self.eps) * f + 0.5 * self.eps * (jnp.roll(f, 1) + jnp.roll(f, -1))

    def default_state(self):
        return jnp.linspace(0.2, 0.6, 5)


def test_saves_written_in_blocks_equal_xla(xla_env):
    # Values and saves that are not multiples of the tile (64) or of the kernel's output
    # blocks (8 members x 8 doubles; 32 saves per block for dimension 1, 8 for 5).
    lg = cj.systems.Logistic()
    rs = jnp.linspace(2.9, 4.0, 75)
    d = cj.orbit_diagram(lg, "r", rs, jnp.array([0.3]), transient=30, keep=75)
    want = xla_env(lambda: cj.orbit_diagram(lg, "r", rs, jnp.array([0.3]), transient=30, keep=75))
    # The same operations in the same order: the same numbers, chaotic r included.
    np.testing.assert_array_equal(np.asarray(d.points), np.asarray(want.points))
    np.testing.assert_array_equal(np.asarray(d.counts), np.asarray(want.counts))
    # (r <= 3.3: periodic orbits, where contracted multiply-adds cannot grow apart)
    cml = _CoupledLogistic(r=3.2)

    def diagram():
        e = cj.orbit_diagram(cml, "r", jnp.linspace(2.8, 3.3, 70), transient=20, keep=37)
        return e.points, e.counts

    def batch():  # with the state after the transient as row 0
        xs = 0.2 + 0.6 * jax.random.uniform(jax.random.key(1), (67, 5))
        return cj.trajectory(cml, xs, steps=2 * 21, transient=3, save_every=2)

    for fn in (diagram, batch):
        got, ref = jax.tree.map(np.asarray, fn()), xla_env(fn)
        for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(ref), strict=True):
            assert a.shape == b.shape
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    assert batch().shape == (67, 22, 5)


@pytest.mark.parametrize(
    "system",
    [
        cj.systems.Lorenz63(),  # + - * only
        cj.systems.Henon(),
        cj.systems.Ikeda(),  # sin, cos, division: scalar lines between vector ones
        cj.systems.ForcedDuffing(),  # a line of literals only (1 + 1), time as a state
        cj.systems.PiecewiseLinearFlow(),  # selects
        cj.systems.Tent(),
    ],
    ids=lambda s: type(s).__name__,
)
def test_single_orbit_kernel_in_vector_lanes(system, xla_env):
    # The one-orbit kernel computes on two-lane vectors (codegen.in_lanes): the same
    # operations as the XLA path, so the same bits, over 2,000 steps of chaos. A kernel
    # that failed to compile would warn (an error in the tests) and run XLA instead.
    x0 = system.default_state()

    def run():
        return cj.trajectory(system, x0, steps=2_000, transient=3)

    np.testing.assert_array_equal(np.asarray(run()), xla_env(run))


def test_in_lanes_types_only_arithmetic_on_vectors():
    from chaosjax.native.codegen import in_lanes

    lanes = {"s0", "p0"}
    lines = [
        "const double t0 = (s0 * p0);",  # vector
        "const double t1 = sin(t0);",  # a call: scalar, reads lane 0
        "const double t2 = (t1 + (0x1.0p+1));",  # scalar only: stays scalar
        "const double t3 = (t0 - t1);",  # vector with a scalar (splat)
        "const int t4 = (t3 < s0);",  # a comparison: scalars
        "const double t5 = (t4 ? t3 : t0);",  # a select: scalars
    ]
    assert in_lanes(lines, lanes) == [
        "const cj_f2 t0 = (s0 * p0);",
        "const double t1 = sin(t0[0]);",
        "const double t2 = (t1 + (0x1.0p+1));",
        "const cj_f2 t3 = (t0 - t1);",
        "const int t4 = (t3[0] < s0[0]);",
        "const double t5 = (t4 ? t3[0] : t0[0]);",
    ]
    assert lanes == {"s0", "p0", "t0", "t3"}


def test_remembered_calls_equal_fresh_ones_and_die_with_their_system():
    import gc

    from chaosjax import _remembered

    system = cj.systems.Lorenz63(rho=30.0)
    x0 = system.default_state()
    cj.trajectory(system, x0, steps=50)
    cj.final_state(system, x0, steps=50)
    key = _remembered.settings(50, None, None, "rk4", 0, 1, True)
    assert _remembered.recall("trajectory", system, key) is not None
    x1 = np.array(x0) + 0.1  # a new state, NumPy: the remembered runs
    fresh = cj.systems.Lorenz63(rho=30.0)
    np.testing.assert_array_equal(
        np.asarray(cj.trajectory(system, x1, steps=50)),
        np.asarray(cj.trajectory(fresh, x1, steps=50)),
    )
    np.testing.assert_array_equal(
        np.asarray(cj.final_state(system, x1, steps=50)),
        np.asarray(cj.final_state(fresh, x1, steps=50)),
    )
    # A diverging state: the full path locates the step, as for a fresh system.
    far = np.array([1e100, 1e100, 1e100])
    steps = []
    for s in (system, cj.systems.Lorenz63(rho=30.0)):
        with pytest.raises(cj.DivergenceError) as err:
            cj.trajectory(s, far, steps=50)
        steps.append(err.value.step)
    assert steps[0] == steps[1]
    # NaN in the state is still refused by name, remembered run or not.
    with pytest.raises(ValueError, match="x0"):
        cj.trajectory(system, np.full(3, np.nan), steps=50, throw=False)
    n = len(_remembered._calls)
    # (`prepare`'s few reused results hold their map, and so the system, until that
    # cache is cleared: cleared here, so that only `_remembered` could keep it)
    from chaosjax.simulate import _arguments

    _arguments._prepared.clear()
    del system
    gc.collect()
    assert len(_remembered._calls) <= n - 2  # both entries went with their system


def test_single_orbit_counts_the_finite_saves_before_the_first_non_finite():
    # The one-orbit kernel keeps a NaN-sticky sum of x - x per save and searches the
    # saved rows only when it is not 0: the count must be the XLA path's rule.
    from chaosjax.native import stored
    from chaosjax.simulate._arguments import prepare
    from chaosjax.simulate._kernels import store_reference

    def expected(saved):
        finite = np.isfinite(saved).all(-1)
        return 0 if not finite[0] else int(np.cumprod(finite[1:]).sum())

    cases = [
        (cj.systems.Logistic(r=4.3), [0.3], 2, 30, 1),  # escapes to -inf
        (cj.systems.Logistic(r=4.3), [0.3], 0, 15, 2),
        (cj.systems.Logistic(r=3.9), [0.3], 1, 30, 3),  # stays finite
        (cj.systems.Henon(), [2.0, 2.0], 0, 20, 1),
        (cj.systems.Henon(), [2.0, 2.0], 5, 20, 1),
        (cj.systems.Henon(), [2.0, 2.0], 40, 5, 1),  # non-finite after the transient
        # RK4 steps increment the state: no per-save sum, the end state decides.
        (lor, [1e3, 1e3, 1e3], 0, 30, 1),  # overflows in a few steps
        (lor, [1e3, 1e3, 1e3], 1, 10, 3),
        (lor, [1.0, 1.0, 1.0], 3, 30, 2),  # stays finite
    ]
    counts = []
    for system, x0, transient, n, every in cases:
        dt = 0.01 if isinstance(system, cj.Flow) else None
        m, x, _, _ = prepare(system, jnp.array(x0), dt, "rk4", steps=n * every, transient=0)
        got = stored.store(m, x, transient, n, every, xla=store_reference)
        assert got is not None
        _, saved, count = got
        counts.append(float(count))
        assert float(count) == expected(np.asarray(saved))
    assert counts[2] == 30 and counts[5] == 0 and 0 < counts[0] < 30
    assert 0 < counts[6] < 30 and counts[7] < 10 and counts[8] == 30, counts
    # (which kernels sum per save: the maps, not the flow's increments)
    from chaosjax.native.simulate import trace_step

    def sums_per_save(system, dt):
        m, x, _, _ = prepare(system, system.default_state(), dt, "rk4", steps=2, transient=0)
        treedef, static, shapes, _, _ = stored.kernel_parameters(
            m, "store", system.dim, traced=True
        )
        jaxpr = trace_step(treedef, static, shapes, system.dim)
        return "        bad +=" in stored._source(jaxpr, shapes, system.dim, "single", stored.TILE)

    assert sums_per_save(cj.systems.Henon(), None) and not sums_per_save(lor, 0.01)


def test_checked_single_orbit_fails_exactly_when_a_state_is_not_finite():
    # `check` 2 (an eager `cj.trajectory` with throw=True, and what it remembers): the
    # custom call fails when a saved or end state is not finite, and `store` itself
    # runs it again unchecked (all three outputs); a run that passes returns only the
    # saved states (or, `end_only`, the end state). `check` 1 fails only on a
    # non-finite start.
    from chaosjax.native import stored
    from chaosjax.simulate._arguments import prepare
    from chaosjax.simulate._kernels import store_reference

    cases = [
        (cj.systems.Logistic(r=4.3), [0.3], 2, 30, 1),  # escapes to -inf
        (cj.systems.Logistic(r=3.9), [0.3], 1, 30, 3),  # stays finite
        (cj.systems.Henon(), [2.0, 2.0], 40, 5, 1),  # non-finite after the transient
        (cj.systems.Henon(), [2.0, 2.0], 40, 0, 1),  # ... and nothing saved after it
        (lor, [1.0, 1.0, 1.0], 0, 20, 5),
    ]
    for system, x0, transient, n, every in cases:
        x = jnp.array(x0)
        m, x, _, _ = prepare(system, x, None, "rk4", steps=max(1, n * every), transient=0)
        plain = stored.store(m, x, transient, n, every, xla=store_reference)
        assert plain is not None and all(a is not None for a in plain)
        finite = bool(np.isfinite(np.asarray(plain[1])).all())
        finite &= bool(np.isfinite(np.asarray(plain[0])).all())
        for check, end_only in itertools.product((1, 2), (False, True)):
            kept = []
            got = stored.store(
                m, x, transient, n, every, xla=store_reference, check=check,
                end_only=end_only, keep=lambda fn, arrays: kept.append((fn, arrays)),
            )  # fmt: skip
            assert got is not None
            part = 0 if end_only else 1
            if check == 2 and not finite:  # failed and run again: all three
                assert all(a is not None for a in got)
            else:
                assert [a is None for a in got] == [i != part for i in range(3)]
            for a, b in zip(got, plain, strict=True):  # the same numbers, checked or not
                if a is not None:
                    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
            ((fn, arrays),) = kept
            if check == 2 and not finite:
                with pytest.raises(Exception) as err:
                    jax.block_until_ready(fn(arrays, x))
                assert ffi.failed_check(err.value)
            else:
                np.testing.assert_array_equal(np.asarray(fn(arrays, x)), np.asarray(plain[part]))
            with pytest.raises(Exception) as err:  # a non-finite start: both fail
                jax.block_until_ready(fn(arrays, x.at[0].set(jnp.nan)))
            assert ffi.failed_check(err.value)


def test_remembered_runs_without_throw_return_the_non_finite_states():
    lg = cj.systems.Logistic(r=4.3)
    x0 = jnp.array([0.3])
    first = np.asarray(cj.trajectory(lg, x0, steps=30, throw=False))
    again = np.asarray(cj.trajectory(lg, x0, steps=30, throw=False))  # remembered
    fresh = np.asarray(cj.trajectory(cj.systems.Logistic(r=4.3), x0, steps=30, throw=False))
    assert not np.isfinite(first).all()
    np.testing.assert_array_equal(again, first)
    np.testing.assert_array_equal(fresh, first)
    end = cj.final_state(lg, x0, steps=30, throw=False)
    assert not np.isfinite(np.asarray(cj.final_state(lg, x0, steps=30, throw=False))).all()
    np.testing.assert_array_equal(np.asarray(end), np.asarray(first[-1]))


def test_remembered_runs_follow_the_switch_to_the_xla_kernels(monkeypatch):
    # The remembered call reads CHAOSJAX_CGEN at every call (through the cheaper read
    # of the environment in `compile.enabled`): turned off, the C kernel's entry is not
    # used (the XLA path runs, same bits); unset again, it is used again.
    from chaosjax import _remembered
    from chaosjax.native.compile import enabled

    monkeypatch.delenv("CHAOSJAX_CGEN", raising=False)
    assert enabled()
    system = cj.systems.Lorenz63()
    x0 = np.array(system.default_state())
    first = np.asarray(cj.trajectory(system, x0, steps=20))
    key = _remembered.settings(20, None, None, "rk4", 0, 1, True)
    assert _remembered.run("trajectory", system, key, x0) is not None
    for off in ("0", " OFF ", "no", "false"):
        monkeypatch.setenv("CHAOSJAX_CGEN", off)
        assert not enabled()
        assert _remembered.run("trajectory", system, key, x0) is None
        np.testing.assert_array_equal(np.asarray(cj.trajectory(system, x0, steps=20)), first)
    monkeypatch.setenv("CHAOSJAX_CGEN", "1")
    assert enabled() and _remembered.run("trajectory", system, key, x0) is not None
    monkeypatch.delenv("CHAOSJAX_CGEN")
    assert enabled() and _remembered.run("trajectory", system, key, x0) is not None


def test_remembered_runs_take_plain_arrays_and_refuse_the_rest():
    from chaosjax import _remembered

    system = cj.systems.Lorenz63()
    x0 = np.array(system.default_state())
    cj.trajectory(system, x0, steps=20)
    key = _remembered.settings(20, None, None, "rk4", 0, 1, True)
    want = np.asarray(cj.trajectory(cj.systems.Lorenz63(), x0, steps=20))
    for x in (x0, jnp.asarray(x0)):
        got = _remembered.run("trajectory", system, key, x)
        np.testing.assert_array_equal(np.asarray(got), want)
    refused = [x0[:2], x0.astype(np.float32), [*x0], x0[None]]
    assert all(_remembered.run("trajectory", system, key, x) is None for x in refused)

    class Sub(np.ndarray):
        pass

    # An ndarray subclass is looked at the long way, and not taken for a plain class.
    got = _remembered.run("trajectory", system, key, x0.view(Sub))
    np.testing.assert_array_equal(np.asarray(got), want)
    assert Sub not in _remembered._PLAIN
    # Settings that differ only in type are other keys (1 and 1.0 and True).
    assert _remembered.settings(1, 2) != _remembered.settings(1.0, 2)
    assert _remembered.settings(1, 2) != _remembered.settings(True, 2)
    with jax.disable_jit():
        assert _remembered.run("trajectory", system, key, x0) is None


def test_the_switch_is_read_from_a_replaced_environment(monkeypatch):
    # `compile.enabled` looks in os.environ's own mapping at each call, not in one
    # remembered at import: an os.environ replaced (as some test harnesses do) is read.
    import os

    from chaosjax.native.compile import enabled

    monkeypatch.delenv("CHAOSJAX_CGEN", raising=False)
    assert enabled()
    monkeypatch.setattr(os, "environ", {**os.environ, "CHAOSJAX_CGEN": "0"})
    assert not enabled()
