"""Simulation: semantics, accuracy of the solvers, ensembles, transformations, errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import chaosjax as cj

LOR = cj.systems.Lorenz63()


def unchecked(fn):
    """The function without pytest's jaxtyping/beartype wrapper, which rejects wrong types
    (a TypeError) before chaosjax's own checks run; users get chaosjax's ValueError."""
    return getattr(fn, "__wrapped__", fn)


def test_transient_and_save_every_semantics():
    x0 = LOR.default_state()
    full = cj.trajectory(LOR, x0, steps=40, dt=0.01)
    assert full.shape == (41, 3)
    thinned = cj.trajectory(LOR, x0, steps=40, dt=0.01, save_every=10)
    np.testing.assert_allclose(np.asarray(thinned), np.asarray(full[::10]), rtol=1e-13)
    shifted = cj.trajectory(LOR, x0, steps=20, dt=0.01, transient=20)
    np.testing.assert_allclose(np.asarray(shifted), np.asarray(full[20:]), rtol=1e-13)
    np.testing.assert_allclose(
        np.asarray(cj.final_state(LOR, x0, steps=40, dt=0.01)), np.asarray(full[-1]), rtol=1e-13
    )


def test_chunked_run_equals_single_chunk_and_progress_bar_runs():
    x0 = LOR.default_state()
    a = cj.trajectory(LOR, x0, steps=300, dt=0.01, save_every=3)
    b = cj.trajectory(LOR, x0, steps=300, dt=0.01, save_every=3, chunk_size=7, progress=True)
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-13)
    za = cj.time_average(LOR, x0, lambda x: x[2], steps=300, dt=0.01, transient=50)
    zb = cj.time_average(LOR, x0, lambda x: x[2], steps=300, dt=0.01, transient=50, chunk_size=64)
    assert abs(float(za) - float(zb)) < 1e-12


def test_time_average_is_the_mean_over_the_stored_trajectory():
    x0 = LOR.default_state()
    xs = cj.trajectory(LOR, x0, steps=500, dt=0.01, transient=100)
    avg = cj.time_average(LOR, x0, lambda x: x[2], steps=500, dt=0.01, transient=100)
    # Average over x_0 .. x_{N-1} after the transient (the final state is not included).
    assert abs(float(avg) - float(jnp.mean(xs[:-1, 2]))) < 1e-12
    vec = cj.time_average(LOR, x0, steps=500, dt=0.01, transient=100)
    np.testing.assert_allclose(np.asarray(vec), np.asarray(xs[:-1].mean(0)), rtol=1e-12)


def test_batched_x0_matches_one_by_one():
    x0s = LOR.sample_state(jax.random.key(1), 4)
    batch = cj.trajectory(LOR, x0s, steps=50, dt=0.01)
    assert batch.shape == (4, 51, 3)
    for i in range(4):
        np.testing.assert_allclose(
            np.asarray(batch[i]),
            np.asarray(cj.trajectory(LOR, x0s[i], steps=50, dt=0.01)),
            rtol=1e-13,
        )


def test_cumulative_average_ends_at_the_time_average():
    x0s = LOR.sample_state(jax.random.key(2), 3)
    ca = cj.observables.cumulative_average(
        LOR, x0s, lambda x: x[2], steps=400, dt=0.01, transient=100, save_every=40
    )
    assert ca.averages.shape == (3, 10) and ca.times.shape == (10,)
    np.testing.assert_allclose(float(ca.times[-1]), 4.0)
    ta = cj.time_average(LOR, x0s, lambda x: x[2], steps=400, dt=0.01, transient=100)
    np.testing.assert_allclose(np.asarray(ca.averages[:, -1]), np.asarray(ta), rtol=1e-12)
    vals = jnp.arange(1.0, 5.0)
    np.testing.assert_allclose(np.asarray(cj.observables.running_mean(vals)), [1.0, 1.5, 2.0, 2.5])


def test_running_moments_match_numpy():
    vals = np.random.default_rng(0).normal(size=100)
    st = cj.observables.moments_init()
    for v in vals:
        st = cj.observables.moments_update(st, v)
    assert abs(float(st.mean) - vals.mean()) < 1e-12
    assert abs(float(st.variance) - vals.var(ddof=1)) < 1e-12


def test_lorenz_ensemble_mean_of_z():
    # UW PLSE (2026), sec. 4: 256 members, T = 100 averaged after a T = 100 transient,
    # RK4 dt = 0.005.
    ens = cj.ensemble_time_average(
        LOR, jax.random.key(0), 256, lambda x: x[2], steps=20_000, dt=0.005, transient=20_000
    )
    assert 23.3 < float(ens.mean) < 23.8
    assert 0.0 < float(ens.std) < 1.0
    assert ens.values.shape == (256,)


def _reference(x0, t):
    return cj.solve_adaptive(LOR, x0, jnp.array([0.0, t]), solver="dopri8", rtol=1e-12, atol=1e-12)[
        -1
    ]


def test_rk4_is_fourth_order_against_dopri8():
    x0 = LOR.default_state()
    ref = _reference(x0, 1.0)
    dts = (0.01, 0.005, 0.0025, 0.00125)
    errs = []
    for dt in dts:
        xf = cj.final_state(LOR, x0, steps=round(1.0 / dt), dt=dt)
        errs.append(float(jnp.linalg.norm(xf - ref)))
    ratios = [a / b for a, b in zip(errs[:-1], errs[1:])]
    order = np.polyfit(np.log(dts), np.log(errs), 1)[0]
    # Independently measured from another attractor state: 7.5e-5, 5.4e-6, 3.6e-7. From
    # this state the ratios are 25.8, 20.0, 16.9: they approach 2^4 = 16 as dt -> 0.
    assert 3e-5 < errs[0] < 2e-4
    assert 3.7 < order < 4.6
    assert 14.0 < ratios[-1] < 19.0
    # Euler is first order: halving dt halves its error.
    e1, e2 = (
        float(jnp.linalg.norm(cj.final_state(LOR, x0, steps=n, dt=1.0 / n, solver="euler") - ref))
        for n in (2000, 4000)
    )
    assert 1.7 < e1 / e2 < 2.3


def test_adaptive_paths_match_the_reference_to_tolerance():
    x0 = LOR.default_state()
    ref = _reference(x0, 1.0)
    xs = cj.trajectory(LOR, x0, steps=100, dt=0.01, solver="tsit5", rtol=1e-10, atol=1e-10)
    assert xs.shape == (101, 3)
    assert float(jnp.linalg.norm(xs[-1] - ref)) < 1e-7
    m = cj.discretize(LOR, 0.1, solver="dopri8", rtol=1e-11, atol=1e-11)
    assert m.time_per_step == 0.1
    xf = cj.final_state(m, x0, steps=10)
    assert float(jnp.linalg.norm(xf - ref)) < 1e-8


def test_grad_of_time_average_with_respect_to_a_parameter():
    x0 = LOR.default_state()

    def zbar(rho):
        return cj.time_average(
            cj.systems.Lorenz63(rho=rho), x0, lambda x: x[2], steps=100, dt=0.005
        )

    g = jax.grad(zbar)(28.0)
    h = 1e-5
    fd = (zbar(28.0 + h) - zbar(28.0 - h)) / (2 * h)
    assert abs(float(g) - float(fd)) < 1e-6 * max(1.0, abs(float(fd)))
    # And the system-level gradient: a Lorenz63 of derivatives.
    gs = jax.grad(lambda s: cj.time_average(s, x0, lambda x: x[2], steps=100, dt=0.005))(LOR)
    assert isinstance(gs, cj.systems.Lorenz63)
    assert abs(float(gs.rho) - float(g)) < 1e-10


def test_vmap_over_a_parameter_compiles_once_for_1000_values():
    x0 = LOR.default_state()
    rhos = jnp.linspace(20.0, 40.0, 1000)

    @jax.jit
    def sweep(rhos):
        return jax.vmap(
            lambda r: cj.time_average(
                cj.systems.Lorenz63(rho=r), x0, lambda x: x[2], steps=200, dt=0.01
            )
        )(rhos)

    z = sweep(rhos)
    assert z.shape == (1000,) and bool(jnp.all(jnp.isfinite(z)))
    one = cj.time_average(
        cj.systems.Lorenz63(rho=rhos[123]), x0, lambda x: x[2], steps=200, dt=0.01
    )
    assert abs(float(z[123]) - float(one)) < 1e-10


# ----------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(x0=jnp.ones(2)), r"`x0` must have shape \(3,\)"),
        (dict(x0=jnp.array([1.0, jnp.nan, 0.0])), "`x0` must be finite"),
        (dict(dt=0.0), "`dt` must be a positive"),
        (dict(dt=-0.01), "`dt` must be a positive"),
        (dict(t_final=0.1), "exactly one of `steps`.*and `t_final`"),
        (dict(steps=0), "`steps` must be a positive int"),
        (dict(transient=-1), "`transient` must be a non-negative int"),
        (dict(save_every=3), "multiple of `save_every`"),
        (dict(solver="rk5"), "`solver` must be one of"),
    ],
)
def test_bad_arguments_raise_value_errors_naming_them(kwargs, match):
    args = dict(x0=LOR.default_state(), steps=10, dt=0.01)
    args.update(kwargs)
    x0 = args.pop("x0")
    with pytest.raises(ValueError, match=match):
        cj.trajectory(LOR, x0, **args)


def test_float_steps_are_rejected_by_the_validator():
    # Under pytest the jaxtyping hook rejects steps=10.0 even earlier (a TypeError);
    # without it, users get this ValueError.
    from chaosjax._validate import positive_int

    with pytest.raises(ValueError, match="`steps` must be a positive int, got 10.0"):
        positive_int(10.0, "steps")


def test_non_finite_parameter_and_bad_observable_are_rejected():
    with pytest.raises(ValueError, match="non-finite parameter .*rho"):
        cj.trajectory(cj.systems.Lorenz63(rho=jnp.inf), LOR.default_state(), steps=5, dt=0.01)
    with pytest.raises(ValueError, match="`observable`"):
        unchecked(cj.time_average)(LOR, LOR.default_state(), "z", steps=5, dt=0.01)
    with pytest.raises(ValueError, match="`dt` must be None for a map"):
        cj.trajectory(cj.systems.Henon(), jnp.zeros(2), steps=5, dt=0.1)
    with pytest.raises(ValueError, match="`system`"):
        unchecked(cj.trajectory)("lorenz63", jnp.zeros(3), steps=5, dt=0.1)


def test_divergence_is_reported_at_its_step():
    # The logistic map with r = 5 sends x0 = 2 to -inf: x1 = -10, x2 = -550, ... overflow.
    log5 = cj.systems.Logistic(r=5.0)
    xs = cj.trajectory(log5, jnp.array([2.0]), steps=12, throw=False)
    first_bad = int(np.argmax(~np.isfinite(np.asarray(xs[:, 0]))))
    with pytest.raises(cj.DivergenceError, match=f"step {first_bad}") as info:
        cj.trajectory(log5, jnp.array([2.0]), steps=12, chunk_size=5)
    assert info.value.step == first_bad
    with pytest.raises(cj.DivergenceError, match=f"step {first_bad}"):
        cj.time_average(log5, jnp.array([2.0]), steps=30, transient=0)
    with pytest.raises(cj.DivergenceError, match="member 1"):
        cj.final_state(log5, jnp.array([[0.5], [2.0]]), steps=30)
    # A flow: Lorenz63 with rho huge and dt too large blows up.
    with pytest.raises(cj.DivergenceError, match="step"):
        cj.trajectory(LOR, LOR.default_state(), steps=2000, dt=0.2)


def test_divergence_under_jit_raises_at_run_time():
    log5 = cj.systems.Logistic(r=5.0)
    f = jax.jit(lambda x: cj.final_state(log5, x, steps=30))
    with pytest.raises(Exception, match="diverged"):
        jax.block_until_ready(f(jnp.array([2.0])))


def test_tiled_cpu_path_equals_the_plain_vmap(monkeypatch):
    # Batches on a CPU run in structure-of-arrays tiles (simulate/_tiling.py); the
    # plain vmap path is the independent computation to compare with.
    from chaosjax.simulate import _tiling

    x0s = LOR.sample_state(jax.random.key(7), 37)  # not a multiple of any tile size
    kw = dict(steps=300, dt=0.01, transient=50)
    tiled_avg = cj.time_average(LOR, x0s, lambda x: x[2], **kw)
    tiled_traj = cj.trajectory(LOR, x0s, steps=60, dt=0.01, save_every=6)
    monkeypatch.setattr(_tiling, "tile_plan", lambda x: None)
    plain_avg = cj.time_average(LOR, x0s, lambda x: x[2], **kw)
    plain_traj = cj.trajectory(LOR, x0s, steps=60, dt=0.01, save_every=6)
    np.testing.assert_allclose(np.asarray(tiled_avg), np.asarray(plain_avg), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(tiled_traj), np.asarray(plain_traj), rtol=1e-12)


def test_grad_through_a_batched_time_average():
    x0s = LOR.sample_state(jax.random.key(8), 16)

    def mean_z(rho):
        z = cj.time_average(cj.systems.Lorenz63(rho=rho), x0s, lambda x: x[2], steps=100, dt=0.005)
        return jnp.mean(z)

    g = jax.grad(mean_z)(28.0)
    h = 1e-5
    fd = (mean_z(28.0 + h) - mean_z(28.0 - h)) / (2 * h)
    assert abs(float(g) - float(fd)) < 1e-6 * max(1.0, abs(float(fd)))


def test_trace_check_and_a_users_jit_of_vmap(monkeypatch):
    """Inside a user's jit/vmap/grad the kernels compile into the user's program
    (without chaosjax's CPU compiler options, all tile groups in one program): JAX's
    public trace state tells the two apart, and the numbers are the eager ones."""
    from chaosjax.simulate import _tiling

    assert _tiling.outside_traces()
    assert not jax.jit(lambda x: x * float(_tiling.outside_traces()))(1.0)
    assert not jax.vmap(lambda x: x * float(_tiling.outside_traces()))(jnp.ones(2)).any()
    assert not jax.grad(lambda x: x * float(_tiling.outside_traces()))(1.0)
    x0s = LOR.sample_state(jax.random.key(9), 40)

    def f(x):
        return cj.time_average(LOR, x, lambda y: y[2], steps=200, dt=0.01, transient=10)

    monkeypatch.setenv("CHAOSJAX_CGEN", "0")  # eager: the tiled XLA kernels, tuned
    eager = np.asarray(f(x0s))
    traced = np.asarray(jax.jit(jax.vmap(f))(x0s))
    # The same step in another XLA program: rounding only, then 210 chaotic steps.
    np.testing.assert_allclose(traced, eager, rtol=1e-11)
