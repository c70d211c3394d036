"""Bad input to the public API: every case gets a clear error from chaosjax naming the
argument (or the step), and valid edge inputs work.

Most calls go through `unchecked`: pytest's jaxtyping/beartype hook (tests/conftest.py)
rejects lists and integer arrays where an annotation says float arrays, before chaosjax
runs; users get what these tests see. The first part holds named cases that used to
give silent results or errors from deep inside JAX; the second part generates inputs
with hypothesis (a small profile by default, a larger one in the slow suite).
"""

import functools
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import chaosjax as cj
from chaosjax.report.config import ReportError, read_config

LOR = cj.systems.Lorenz63()
X0 = LOR.default_state()
HEN = cj.systems.Henon()


def unchecked(fn):
    """The function without pytest's jaxtyping/beartype wrapper, which rejects wrong types
    (a TypeError) before chaosjax's own checks run; users get chaosjax's ValueError."""
    inner = getattr(fn, "__wrapped__", None)
    if inner is None:
        return fn
    owner = getattr(fn, "__self__", None)  # a bound method or classmethod: bind again
    return functools.partial(inner, owner) if owner is not None else inner


def names(arg: str) -> str:
    """A `match` pattern for a message naming `arg` in backticks."""
    return re.escape(f"`{arg}`")


# --------------------------------------------------------------------------- observables

AVERAGERS = {
    "time_average": lambda obs, **kw: cj.time_average(LOR, X0, obs, dt=0.01, **kw),
    "ensemble_time_average": lambda obs, **kw: (
        cj.ensemble_time_average(LOR, jax.random.key(0), 2, obs, dt=0.01, **kw).mean
    ),
    "cumulative_average": lambda obs, **kw: (
        cj.observables.cumulative_average(LOR, X0, obs, dt=0.01, **kw).averages
    ),
}


@pytest.mark.parametrize("fn", AVERAGERS)
def test_a_nan_observable_is_named_with_its_step(fn):
    # x[0] - 100 < 0 on the whole attractor: log is NaN from the first state on.
    with pytest.raises(ValueError, match=r"`observable` returned a non-finite value at step 0"):
        AVERAGERS[fn](lambda x: jnp.log(x[0] - 100.0), steps=5)


def test_a_non_finite_value_later_on_the_orbit_names_that_step():
    # Henon: (0, -1) -> (0, 0) -> (1, 0), so 1/(x - 1) is inf at step 2, after the transient.
    with pytest.raises(ValueError, match="non-finite value at step 2 ") as e:
        cj.time_average(
            HEN, jnp.array([0.0, -1.0]), lambda x: 1.0 / (x[0] - 1.0), steps=5, transient=1
        )
    assert "transient included" in str(e.value)
    with pytest.raises(ValueError, match="at step 1 of ensemble member 1 "):
        cj.time_average(
            HEN, jnp.array([[0.5, 0.0], [0.0, 0.0]]), lambda x: 1.0 / (x[0] - 1.0), steps=4
        )
    # throw=False returns the non-finite average, as for a diverging state.
    out = cj.time_average(
        HEN, jnp.array([0.0, -1.0]), lambda x: 1.0 / (x[0] - 1.0), steps=5, throw=False
    )
    assert np.isinf(float(out[()]))


@pytest.mark.parametrize("fn", AVERAGERS)
@pytest.mark.parametrize(
    "obs, match",
    [
        (lambda x: None, "must return an array of numbers, got None"),
        (lambda x: x[5], "indexes outside a state of shape \\(3,\\)"),
        (lambda x: x[-4], "indexes outside"),
        (lambda x: x.astype(jnp.complex128), "must return real numbers, got dtype complex128"),
    ],
)
def test_observables_returning_nothing_out_of_range_or_complex_are_rejected(fn, obs, match):
    with pytest.raises(ValueError, match=names("observable") + ".*" + match):
        AVERAGERS[fn](obs, steps=5)


def test_observables_using_jax_only_features_still_work():
    # x.at exists on JAX arrays only: the NumPy index check must not reject it.
    a = cj.time_average(LOR, X0, lambda x: x.at[0].set(0.0), steps=5, dt=0.01)
    b = cj.time_average(LOR, X0, steps=5, dt=0.01)
    np.testing.assert_allclose(np.asarray(a[1:]), np.asarray(b[1:]), rtol=1e-14)
    assert float(a[0]) == 0.0


# --------------------------------------------------------------------------- complex input


def test_complex_states_parameters_and_spectra_are_rejected():
    with pytest.raises(ValueError, match="`x0` must be real, got complex dtype"):
        unchecked(cj.trajectory)(LOR, X0.astype(jnp.complex128), steps=5, dt=0.01)
    with pytest.raises(ValueError, match="`system` has a complex parameter .rho"):
        cj.trajectory(cj.systems.Lorenz63(rho=28.0 + 1j), X0, steps=5, dt=0.01)
    with pytest.raises(ValueError, match="`system` has a complex parameter .rho"):
        cj.lyapunov_spectrum(cj.systems.Lorenz63(rho=28.0 + 1j), X0, steps=5, dt=0.01)
    with pytest.raises(ValueError, match="`exponents` must hold real numbers"):
        unchecked(cj.kaplan_yorke_dimension)(jnp.array([0.9 + 1j, -14.5]))


# --------------------------------------------------------------------------- Kaplan-Yorke


@pytest.mark.parametrize(
    "exponents, match",
    [
        ([0.9, float("nan"), -14.5], "must be finite; entry \\[1\\] is nan"),
        ([0.9, float("inf"), -14.5], "must be finite; entry \\[1\\] is inf"),
        ([], "with k >= 1, got shape \\(0,\\)"),
        (2.0, "with k >= 1, got shape \\(\\)"),
        ("abc", "must be an array of numbers"),
        (None, "must be an array of numbers"),
    ],
)
def test_kaplan_yorke_dimension_checks_its_argument(exponents, match):
    with pytest.raises(ValueError, match=names("exponents") + ".*" + match):
        unchecked(cj.kaplan_yorke_dimension)(exponents)


def test_kaplan_yorke_dimension_of_lists_integers_and_under_jit():
    # Lorenz (0.9056, 0, -14.5723): 2 + 0.9056 / 14.5723.
    want = 2.0 + 0.9056 / 14.5723
    ky = unchecked(cj.kaplan_yorke_dimension)
    assert abs(float(ky([0.9056, 0.0, -14.5723])) - want) < 1e-12
    assert float(ky(np.array([1, -2]))) == 1.5
    got = jax.jit(cj.kaplan_yorke_dimension)(jnp.array([0.9056, 0.0, -14.5723]))
    assert abs(float(got) - want) < 1e-12


# --------------------------------------------------------------------------- others


def test_a_constant_series_has_no_exponent():
    with pytest.raises(ValueError, match="`series` is constant \\(every value is 2.5\\)"):
        cj.lyapunov_from_timeseries(np.full(400, 2.5), dt=0.01)
    with pytest.raises(ValueError, match="`series` must be real"):
        unchecked(cj.lyapunov_from_timeseries)(np.ones(400) * 1j, dt=0.01)


@pytest.mark.parametrize("minimal", ["no", 0, None, 1.0])
def test_periodic_orbits_minimal_takes_only_bools(minimal):
    guesses = jnp.linspace(0.1, 0.9, 5)[:, None]
    with pytest.raises(ValueError, match="`minimal` must be True or False"):
        unchecked(cj.periodic_orbits)(cj.systems.Logistic(r=3.2), guesses, 2, minimal=minimal)
    po = unchecked(cj.periodic_orbits)(
        cj.systems.Logistic(r=3.2), guesses, 2, minimal=np.bool_(True)
    )
    # The 2-cycle of the logistic map at r = 3.2: multiplier 4 + 2r - r^2 = 0.16.
    np.testing.assert_allclose(np.asarray(po.multipliers).real.ravel(), [0.16], atol=1e-9)


@pytest.mark.parametrize(
    "args, match",
    [
        (dict(ts=[0.0, float("nan"), 1.0]), "`ts` must be finite; entry \\[1\\] is nan"),
        (dict(ts=[0.0, 2.0, 1.0]), "`ts` must be non-decreasing; ts\\[2\\] = 1.0 < ts\\[1\\]"),
        (dict(ts=[]), "`ts` must have shape \\(times,\\) with times >= 1"),
        (dict(ts=[[0.0, 1.0]]), "`ts` must have shape \\(times,\\)"),
        (dict(x0=[float("nan"), 1.0, 1.0]), "`x0` must be finite"),
        (dict(x0=[1.0, 1.0]), "`x0` must have shape \\(3,\\), got shape \\(2,\\)"),
        (dict(flow=HEN), "`flow` must be a cj.Flow .*got Henon"),
        (dict(max_steps=0), "`max_steps` must be a positive int"),
        (dict(dt0=-1.0), "`dt0` must be a positive finite float"),
    ],
)
def test_solve_adaptive_bad_arguments(args, match):
    kw = dict(flow=LOR, x0=X0, ts=[0.0, 1.0])
    kw.update(args)
    with pytest.raises(ValueError, match=match):
        unchecked(cj.solve_adaptive)(kw.pop("flow"), kw.pop("x0"), kw.pop("ts"), **kw)


def test_solve_adaptive_max_steps_reached_is_a_divergence_error_naming_the_row():
    with pytest.raises(cj.DivergenceError, match="stopped before t = 5.0 \\(row 2 of `ts`\\)") as e:
        unchecked(cj.solve_adaptive)(LOR, X0, [0.0, 0.01, 5.0], max_steps=20)
    assert e.value.step == 2 and "`max_steps` = 20" in str(e.value)
    # Lists are taken, and agree with the fixed-step RK4 trajectory.
    xs = unchecked(cj.solve_adaptive)(LOR, [1.0, 1.0, 1.0], [0.0, 0.5], rtol=1e-10, atol=1e-10)
    ref = cj.final_state(LOR, jnp.ones(3), steps=500, dt=0.001)
    np.testing.assert_allclose(np.asarray(xs[-1]), np.asarray(ref), rtol=1e-7)


@pytest.mark.parametrize(
    "text, match",
    [
        ('system = "lorenz63"\n[parameters]\nrho = nan\n', "`parameters.rho` must be a finite"),
        ('system = "lorenz63"\n[parameters]\nrho = [1.0, inf]\n', "`parameters.rho`"),
        ('system = "lorenz63"\n[parameters]\nrho = "abc"\n', "`parameters.rho`"),
        ("horizons = [inf]\n", "`horizons` must be a list of positive finite numbers"),
        ("horizons = [nan, 1.0]\n", "`horizons`"),
    ],
)
def test_report_config_rejects_non_finite_values(tmp_path, text, match):
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ReportError, match=match):
        read_config(path)
    path.write_text('system = "lorenz63"\nhorizons = [1, 2.5]\n[parameters]\nrho = 30\n')
    cfg = read_config(path)
    assert cfg["horizons"] == [1.0, 2.5] and cfg["parameters"] == {"rho": 30}


# --------------------------------------------------------------------------- PRNG keys

SPLIT = jax.random.split(jax.random.key(0))
U = unchecked
KEYED = {
    "ensemble_time_average": lambda key: (
        U(cj.ensemble_time_average)(LOR, key, 2, lambda x: x[2], steps=5, dt=0.01).mean
    ),
    "lyapunov_spectrum": lambda key: (
        U(cj.lyapunov_spectrum)(LOR, X0, steps=5, dt=0.01, k=2, key=key).exponents
    ),
    "max_lyapunov": lambda key: U(cj.max_lyapunov)(LOR, X0, steps=5, dt=0.01, key=key).exponents,
    "covariant_lyapunov_vectors": lambda key: (
        U(cj.covariant_lyapunov_vectors)(LOR, X0, steps=20, dt=0.01, k=2, key=key).vectors
    ),
    "sensitivity_blowup_table": lambda key: (
        U(cj.sensitivity_blowup_table)(
            LOR, "rho", lambda x: x[2], horizons=[0.05], dt=0.01, key=key, n_initial=2
        ).gradients
    ),
    "wasserstein": lambda key: U(cj.metrics.wasserstein)(
        np.eye(4)[:3], np.eye(4)[1:], method="sliced", projections=8, key=key
    ),
}


@pytest.mark.parametrize("fn", KEYED)
@pytest.mark.parametrize(
    "key, match",
    [
        ("abc", "must be a PRNG key"),
        (3, "must be a PRNG key"),
        (np.zeros(3, np.uint32), "must be a PRNG key"),
        (SPLIT, "must be one PRNG key, got an array of keys of shape \\(2,\\)"),
        (jax.random.split(jax.random.PRNGKey(0)), "must be one PRNG key"),
    ],
)
def test_bad_keys_are_named(fn, key, match):
    with pytest.raises(ValueError, match=names("key") + " " + match):
        KEYED[fn](key)


@pytest.mark.parametrize("fn", KEYED)
def test_legacy_and_typed_keys_give_the_same_result(fn):
    f = KEYED[fn]
    a = np.asarray(f(jax.random.key(3)))
    b = np.asarray(f(jax.random.PRNGKey(3)))
    np.testing.assert_array_equal(a, b)
    assert np.all(np.isfinite(a))


def test_none_keys_and_systems_checked_before_keys():
    with pytest.raises(ValueError, match="`key` must be a PRNG key .*got None"):
        unchecked(cj.ensemble_time_average)(LOR, None, 2, steps=5, dt=0.01)
    # A key is optional when the initial states are given.
    ens = cj.ensemble_time_average(
        LOR, None, 2, lambda x: x[2], steps=5, dt=0.01, x0=X0[None] * jnp.ones((2, 1))
    )
    np.testing.assert_allclose(
        np.asarray(ens.values),
        float(cj.time_average(LOR, X0, lambda x: x[2], steps=5, dt=0.01)),
        rtol=1e-14,
    )
    with pytest.raises(ValueError, match="`system` must be a cj.Flow or cj.Map, got str"):
        unchecked(cj.ensemble_time_average)("lorenz63", jax.random.key(0), 2, steps=5, dt=0.01)
    with pytest.raises(ValueError, match="`key` must be a PRNG key"):
        cj.NILSS(key=3)
    assert cj.NILSS(key=jax.random.PRNGKey(1)).key.shape == ()


# --------------------------------------------------------------------------- float32 states

FLOAT32 = {
    "trajectory": lambda x: cj.trajectory(LOR, x, steps=20, dt=0.01),
    "final_state": lambda x: cj.final_state(LOR, x, steps=20, dt=0.01),
    "time_average": lambda x: cj.time_average(LOR, x, steps=20, dt=0.01),
    "lyapunov_spectrum": lambda x: cj.lyapunov_spectrum(LOR, x, steps=20, dt=0.01).exponents,
    "max_lyapunov": lambda x: cj.max_lyapunov(LOR, x, steps=20, dt=0.01).exponents,
}


@pytest.mark.parametrize("fn", FLOAT32)
@pytest.mark.parametrize("batch", [False, True])
def test_float32_states_run_in_float64(fn, batch):
    f = FLOAT32[fn]
    x64 = jnp.stack([X0, X0 + 0.5]) if batch else X0
    x32 = np.asarray(x64, np.float32)
    out32 = f(x32)
    assert out32.dtype == jnp.float64
    # Exactly the float64 run from the same (rounded) numbers ...
    np.testing.assert_allclose(
        np.asarray(out32), np.asarray(f(jnp.asarray(x32, jnp.float64))), rtol=1e-14, atol=1e-14
    )
    # ... and within float32 rounding of the float64 run from x0.
    np.testing.assert_allclose(np.asarray(out32), np.asarray(f(x64)), rtol=1e-6, atol=1e-6)


# --------------------------------------------------------------------------- names in messages


def test_max_lyapunov_names_renorm_every():
    with pytest.raises(ValueError, match="`renorm_every` must be a positive int, got 0"):
        cj.max_lyapunov(LOR, X0, steps=5, dt=0.01, renorm_every=0)


def test_non_finite_sensitivity_blames_the_observable_or_names_the_step():
    obs = lambda x: jnp.log(x[0] - 100.0)  # NaN everywhere on the attractor
    with pytest.raises(ValueError, match="`observable` returned a non-finite value at step 0"):
        cj.finite_time_gradient(LOR, "rho", obs, X0, steps=10, dt=0.01)
    with pytest.raises(ValueError, match="`observable` returned a non-finite value at step 3"):
        cj.finite_time_gradient(LOR, "rho", obs, X0, steps=10, dt=0.01, transient=3)
    with pytest.raises(ValueError, match="`observable` returned a non-finite value at step 0"):
        cj.shadowing_sensitivity(LOR, "rho", obs, X0, steps=40, dt=0.01, segments=2)
    # A diverging orbit: a DivergenceError with its step (the logistic map at r = 4.5).
    with pytest.raises(cj.DivergenceError, match="at step") as e:
        cj.finite_time_gradient(
            cj.systems.Logistic(r=4.5), "r", lambda x: x[0], jnp.array([0.3]), steps=200
        )
    assert e.value.step > 0


# =========================================================================== hypothesis

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

settings.register_profile(
    "chaosjax-fast",
    max_examples=6,
    deadline=None,  # JAX compiles on the first example
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "chaosjax-slow",
    parent=settings.get_profile("chaosjax-fast"),
    max_examples=60,
    derandomize=False,
)
PROFILES = [
    pytest.param(settings.get_profile("chaosjax-fast"), id="fast"),
    pytest.param(settings.get_profile("chaosjax-slow"), id="slow", marks=pytest.mark.slow),
]
ERRORS = (ValueError, TypeError, cj.DivergenceError)


def check(profile, *strategies):
    """The decorated property as a test under `profile`, drawing from `strategies`."""

    return lambda prop: settings(profile)(given(*strategies)(prop))


def rejected(call, arg: str) -> None:
    """`call()` raises one of ERRORS, from chaosjax's own code, naming `arg` in backticks."""
    with pytest.raises(ERRORS) as e:
        call()
    assert f"`{arg}`" in str(e.value), str(e.value)
    tb = e.tb
    while tb.tb_next is not None:
        tb = tb.tb_next
    assert "chaosjax" in tb.tb_frame.f_code.co_filename, tb.tb_frame.f_code.co_filename


# ----------------------------------------------------------------- strategies

#: Counts that are not positive ints: zero and negatives, floats, bools, strings, None.
bad_counts = st.one_of(
    st.integers(max_value=0),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(max_size=3),
    st.none(),
    st.just(np.float64(5.0)),
)
#: Counts that are: Python and NumPy ints.
good_counts = st.sampled_from([5, np.int32(5), np.int64(5), np.uint8(5)])
non_finite = st.sampled_from([np.nan, np.inf, -np.inf])


@st.composite
def non_finite_states(draw, dim=3):
    """A finite state or batch with one NaN or inf entry."""
    batch = draw(st.booleans())
    shape = (draw(st.integers(1, 3)), dim) if batch else (dim,)
    x = np.asarray(LOR.default_state()) + np.zeros(shape)
    x.reshape(-1)[draw(st.integers(0, x.size - 1))] = draw(non_finite)
    return x


#: Arrays whose shape is neither (3,) nor (n, 3), and other non-states (None is the default state).
wrong_states = st.one_of(
    st.lists(st.integers(0, 5), min_size=0, max_size=3)
    .filter(lambda s: tuple(s) != (3,) and not (len(s) == 2 and s[1] == 3))
    .map(lambda s: np.ones(s)),
    st.just(np.ones((2, 2, 3))),
    st.text(max_size=3),
    st.just(np.ones(3, np.complex128)),
)
#: Valid states in other containers and dtypes.
good_states = st.sampled_from(
    [
        [1, 2, 20],
        (1.0, 2.0, 20.0),
        np.array([1, 2, 20], np.int32),
        np.array([1, 2, 20], np.float32),
        np.array([[1, 2, 20], [2, 1, 21]], np.int64),
        jnp.array([1.0, 2.0, 20.0], jnp.float32),
    ]
)
bad_keys = st.one_of(
    st.none(),
    st.integers(),
    st.text(max_size=3),
    st.just(np.zeros(3, np.uint32)),
    st.just(jax.random.split(jax.random.key(0), 3)),
    st.just(np.zeros(2, np.int64)),
)
good_keys = st.integers(0, 2**31 - 1).flatmap(
    lambda s: st.sampled_from([jax.random.key(s), jax.random.PRNGKey(s)])
)

SIMULATORS = {
    "trajectory": unchecked(cj.trajectory),
    "final_state": unchecked(cj.final_state),
    "time_average": unchecked(cj.time_average),
    "lyapunov_spectrum": unchecked(cj.lyapunov_spectrum),
    "max_lyapunov": unchecked(cj.max_lyapunov),
}


# ----------------------------------------------------------------- simulation and exponents


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("fn", SIMULATORS)
def test_bad_steps_states_and_dt_are_named(profile, fn):
    f = SIMULATORS[fn]

    @check(
        profile,
        bad_counts,
        non_finite_states(),
        wrong_states,
        st.one_of(non_finite, st.floats(max_value=0.0)),
    )
    def prop(steps, x_nan, x_wrong, dt):
        rejected(lambda: f(LOR, X0, steps=steps, dt=0.01), "steps")
        rejected(lambda: f(LOR, x_nan, steps=5, dt=0.01), "x0")
        rejected(lambda: f(LOR, x_wrong, steps=5, dt=0.01), "x0")
        rejected(lambda: f(LOR, X0, steps=5, dt=dt), "dt")
        if fn != "final_state":
            rejected(lambda: f(LOR, X0, steps=5, dt=0.01, transient=-1), "transient")

    prop()


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("fn", SIMULATORS)
def test_states_of_any_real_dtype_and_container_work(profile, fn):
    f = SIMULATORS[fn]

    @check(profile, good_states, good_counts)
    def prop(x0, steps):
        out = f(LOR, x0, steps=steps, dt=0.01)
        ref = f(LOR, np.asarray(x0, np.float64), steps=5, dt=0.01)
        leaf = out.exponents if hasattr(out, "exponents") else out
        want = ref.exponents if hasattr(ref, "exponents") else ref
        assert leaf.dtype == jnp.float64
        np.testing.assert_allclose(np.asarray(leaf), np.asarray(want), rtol=1e-13, atol=1e-13)

    prop()


@pytest.mark.parametrize("profile", PROFILES)
def test_ensemble_time_average_keys_and_counts(profile):
    f = unchecked(cj.ensemble_time_average)

    @check(profile, bad_keys, good_keys, bad_counts)
    def prop(bad_key, key, n):
        rejected(lambda: f(LOR, bad_key, 2, steps=5, dt=0.01), "key")
        rejected(lambda: f(LOR, key, n, steps=5, dt=0.01), "n")
        ens = f(HEN, key, np.int64(2), lambda x: x[0], steps=5)
        # The members are the time averages of the sampled initial states.
        x0 = HEN.sample_state(cj._validate.prng_key(key), 2)
        np.testing.assert_allclose(
            np.asarray(ens.values),
            np.asarray(cj.time_average(HEN, x0, lambda x: x[0], steps=5)),
            rtol=1e-14,
        )

    prop()


@pytest.mark.parametrize("profile", PROFILES)
def test_observables_that_fail_are_named(profile):
    bad_obs = st.sampled_from(
        [
            lambda x: x[0] * jnp.nan,
            lambda x: jnp.exp(1000.0 * x[2]),
            lambda x: None,
            lambda x: x[7],
            lambda x: x.astype(jnp.complex128),
            lambda x: jnp.log(-jnp.abs(x[1]) - 1.0),
            "x[0]",
        ]
    )

    @check(profile, bad_obs, st.sampled_from(["time_average", "ensemble", "cumulative"]))
    def prop(obs, which):
        if which == "time_average":
            call = lambda: unchecked(cj.time_average)(LOR, X0, obs, steps=5, dt=0.01)
        elif which == "ensemble":
            call = lambda: unchecked(cj.ensemble_time_average)(
                LOR, jax.random.key(0), 2, obs, steps=5, dt=0.01
            )
        else:
            call = lambda: unchecked(cj.observables.cumulative_average)(
                LOR, X0, obs, steps=5, dt=0.01
            )
        rejected(call, "observable")

    prop()


@pytest.mark.parametrize("profile", PROFILES)
def test_kaplan_yorke_dimension_rejects_or_agrees_with_the_formula(profile):
    f = unchecked(cj.kaplan_yorke_dimension)
    finite = st.lists(st.floats(-20, 20), min_size=1, max_size=6)

    @check(profile, finite, non_finite, st.integers(0, 5))
    def prop(lam, bad, where):
        rejected(lambda: f(lam[:where] + [bad] + lam[where:]), "exponents")
        rejected(lambda: f(np.asarray(lam, np.complex128)), "exponents")
        rejected(lambda: f([]), "exponents")
        # The definition, summing the sorted exponents in plain Python.
        s = sorted(lam, reverse=True)
        j, total = 0, 0.0
        while j < len(s) and total + s[j] >= 0:
            total += s[j]
            j += 1
        want = 0.0 if j == 0 else float(len(s)) if j == len(s) else j + total / abs(s[j])
        assert abs(float(f(lam)) - want) <= 1e-9 * (1 + abs(want))

    prop()


# ----------------------------------------------------------------- bifurcation, systems


@pytest.mark.parametrize("profile", PROFILES)
def test_orbit_diagram_arguments(profile):
    f = unchecked(cj.orbit_diagram)
    log = cj.systems.Logistic()

    @check(profile, bad_counts, non_finite, st.text(min_size=1, max_size=3))
    def prop(count, bad, param):
        rejected(lambda: f(log, "r", np.array([3.5, bad]), transient=5, keep=4), "values")
        rejected(lambda: f(log, "r", np.array([3.5]), transient=5, keep=count), "keep")
        with pytest.raises(ValueError, match="unknown"):
            f(log, "r" + param, np.array([3.5]), transient=5, keep=4)
        # NumPy counts work: the period-2 cycle at r = 3.2.
        od = f(
            log, "r", np.array([3.2]), jnp.array([0.3]), transient=np.int64(500), keep=np.int32(4)
        )
        pts = np.sort(np.unique(np.round(np.asarray(od.points).ravel(), 8)))
        r = 3.2
        disc = np.sqrt((r + 1) * (r - 3))
        np.testing.assert_allclose(
            pts, [(r + 1 - disc) / (2 * r), (r + 1 + disc) / (2 * r)], atol=1e-7
        )

    prop()


@pytest.mark.parametrize("profile", PROFILES)
def test_systems_get_checks_parameters(profile):
    bad = st.one_of(
        non_finite,
        st.text(max_size=3),
        st.none(),
        st.just(1.0 + 2.0j),
        st.lists(st.floats(0, 50), min_size=1, max_size=3),
    )

    @check(profile, bad, st.floats(0.5, 60.0), st.integers(1, 60))
    def prop(value, rho, irho):
        rejected(lambda: cj.systems.get("lorenz63", rho=value), "rho")
        assert float(cj.systems.get("lorenz63", rho=rho).rho) == rho
        assert float(cj.systems.get("lorenz63", rho=np.int64(irho)).rho) == float(irho)

    prop()


# ----------------------------------------------------------------- tokens and metrics

XS = np.asarray(cj.trajectory(LOR, X0, steps=60, dt=0.02))


@pytest.mark.parametrize("profile", PROFILES)
def test_grid_tokenizer_fit_and_encode(profile):
    fit = unchecked(cj.learn.GridTokenizer.fit)

    @check(profile, bad_counts, non_finite, st.integers(0, XS.size - 1), st.integers(2, 6))
    def prop(n_bad, bad, where, n):
        rejected(lambda: fit(XS, n_bad), "n")
        x = XS.copy()
        x.reshape(-1)[where] = bad
        rejected(lambda: fit(x, n), "states")
        rejected(lambda: fit(XS.astype(np.complex128), n), "states")
        tok = fit(XS, np.int64(n))
        rejected(lambda: tok.encode(XS[:, :2]), "states")
        rejected(lambda: tok.encode(XS.astype(np.complex128)), "states")
        # NumPy and JAX arrays give the same tokens; every state lies in its token's cell.
        ids = np.asarray(tok.encode(XS))
        np.testing.assert_array_equal(np.asarray(tok.encode(jnp.asarray(XS))), ids)
        assert ids.min() >= 0 and ids.max() < n**3
        centre = np.asarray(tok.decode(ids))
        assert np.all(np.abs(centre - XS) <= np.asarray(tok.cell_size) / 2 + 1e-9)

    prop()


@pytest.mark.parametrize("profile", PROFILES)
def test_metrics_arguments(profile):
    W = unchecked(cj.metrics.wasserstein)
    V = unchecked(cj.metrics.valid_prediction_time)

    @check(
        profile,
        non_finite,
        st.integers(0, XS.size - 1),
        st.one_of(non_finite, st.floats(max_value=0.0)),
        st.sampled_from(["auto", "marginal", "binned"]),
    )
    def prop(bad, where, thr, method):
        x = XS.copy()
        x.reshape(-1)[where] = bad
        rejected(lambda: W(x, XS, method=method), "a")
        rejected(lambda: W(XS, x, method=method), "b")
        rejected(lambda: W(XS, XS[:, :2], method=method), "b")
        rejected(lambda: W(XS, XS, method=method + "x"), "method")
        rejected(lambda: V(XS, XS, threshold=thr), "threshold")
        rejected(lambda: V(XS, XS[:10]), "pred")
        # Lists work, and a sample against itself is at distance 0 with a full VPT.
        assert np.allclose(np.asarray(W(XS.tolist(), XS, method=method)), 0.0, atol=1e-12)
        assert int(V(XS.tolist(), XS).steps) == XS.shape[0]

    prop()
