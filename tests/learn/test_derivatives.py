"""Derivative estimators: exact on polynomials of their degree, converge at their order."""

import jax.numpy as jnp
import numpy as np
import pytest
import scipy.interpolate
import scipy.signal

import chaosjax as cj
from chaosjax.learn.derivatives import METHODS, state_derivative_pairs

# (method, options, the largest polynomial degree differentiated exactly)
EXACT = [
    ("fd2", {}, 2),
    ("fd4", {}, 4),
    ("spline", {}, 5),  # interpolating quintic, not-a-knot: reproduces quintics
    ("spline", {"degree": 3}, 3),
    ("savgol", {"window": 7, "polyorder": 3}, 3),
    ("savgol", {"window": 9, "polyorder": 5}, 5),
    ("spline", {"smoothing": 0.3}, 1),  # the penalty on f'' leaves straight lines alone
]


@pytest.mark.parametrize("method, options, degree", EXACT)
def test_exact_on_polynomials_of_the_estimators_degree(method, options, degree):
    dt = 0.25
    t = dt * np.arange(23)
    rng = np.random.default_rng(degree)
    polys = [np.polynomial.Polynomial(rng.normal(size=degree + 1)) for _ in range(2)]
    x = np.stack([p(t) for p in polys], axis=1)
    exact = np.stack([p.deriv()(t) for p in polys], axis=1)
    d = np.asarray(cj.learn.derivative(x, dt, method, **options))
    assert d.shape == x.shape
    # Exact up to rounding: values ~1e2 differenced with weights ~1/dt.
    np.testing.assert_allclose(d, exact, rtol=0, atol=1e-9 * np.abs(x).max())
    # One degree more is not exact (the degree above is tight), except where
    # symmetry makes it so; test the 1-D path on the next degree's leading term.
    d1 = np.asarray(cj.learn.derivative(x[:, 0], dt, method, **options))
    np.testing.assert_allclose(d1, d[:, 0], rtol=0, atol=1e-12 * np.abs(x).max())


@pytest.mark.parametrize(
    "method, degree",
    [("fd2", 3), ("fd4", 5)],
)
def test_finite_differences_are_not_exact_one_degree_higher(method, degree):
    t = 0.25 * np.arange(20)
    d = np.asarray(cj.learn.derivative(t**degree, 0.25, method))
    assert np.max(np.abs(d - degree * t ** (degree - 1))) > 1e-6


def _max_errors(method, ns, interior=0, **options):
    errs = []
    for n in ns:
        t = np.linspace(0.0, 2.0, n + 1)
        d = np.asarray(cj.learn.derivative(np.sin(t), t[1] - t[0], method, **options))
        e = np.abs(d - np.cos(t))
        errs.append(np.max(e[interior : len(e) - interior]))
    return np.asarray(errs)


@pytest.mark.parametrize(
    "method, options, order, interior",
    [
        ("fd2", {}, 2.0, 0),
        ("fd4", {}, 4.0, 0),
        ("spline", {}, 5.0, 0),
        # Savitzky-Golay with a fixed window of samples: the ends use a one-sided cubic
        # fit (order 3); inside, the symmetric cubic filter is exact for quartics (4).
        ("savgol", {"window": 7, "polyorder": 3}, 3.0, 0),
    ],
)
def test_convergence_order_measured_on_sin(method, options, order, interior):
    errs = _max_errors(method, [40, 80, 160, 320], interior, **options)
    orders = np.log2(errs[:-1] / errs[1:])
    # The max error over every sample, ends included, halves like dt^order.
    assert np.all(np.abs(orders - order) < 0.15), orders


def test_savgol_interior_is_fourth_order_for_cubic_fits():
    ns = [40, 80, 160, 320]
    errs = []
    for n in ns:
        t = np.linspace(0.0, 2.0, n + 1)
        d = np.asarray(cj.learn.derivative(np.sin(t), t[1] - t[0], "savgol", window=7))
        errs.append(np.max(np.abs(d - np.cos(t))[3:-3]))
    orders = np.log2(np.asarray(errs[:-1]) / np.asarray(errs[1:]))
    assert np.all(np.abs(orders - 4.0) < 0.15), orders


def test_strings_are_shorthands_for_the_modules():
    x = np.sin(0.1 * np.arange(50.0))[:, None] * np.array([[1.0, 2.0]])
    pairs = [
        ("fd2", cj.learn.FiniteDifference(order=2)),
        ("fd4", cj.learn.FiniteDifference()),
        ("spline", cj.learn.Spline()),
        ("savgol", cj.learn.SavitzkyGolay()),
    ]
    for name, module in pairs:
        a = cj.learn.derivative(x, 0.1, name)
        b = cj.learn.derivative(x, 0.1, module)
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert set(METHODS) == {"fd2", "fd4", "spline", "savgol"}
    d = cj.learn.derivative(jnp.asarray(x), 0.1)
    assert isinstance(d, jnp.ndarray)
    # The default is "fd4", for a JAX array as for a NumPy one.
    np.testing.assert_array_equal(np.asarray(d), np.asarray(cj.learn.derivative(x, 0.1, "fd4")))


def test_smoothing_spline_and_savgol_reduce_noise():
    dt = 0.01
    t = dt * np.arange(1000)
    noisy = np.sin(t) + 1e-3 * np.random.default_rng(0).standard_normal(t.size)

    def rms(method, **options):
        d = np.asarray(cj.learn.derivative(noisy, dt, method, **options))
        return np.sqrt(np.mean((d - np.cos(t))[20:-20] ** 2))

    # Fourth-order differences turn noise sigma into sigma/dt * |weights|_2 ~ 0.095;
    # smoothing averages it away.
    assert rms("fd4") > 0.05
    assert rms("savgol", window=51, polyorder=3) < 0.01
    assert rms("spline", smoothing=None) < 0.01
    assert rms("spline", smoothing=1e-4) < 0.01


def test_pairs_return_the_smoothed_states_of_a_smoothing_estimator():
    t = 0.01 * np.arange(300)
    x = np.stack([np.sin(t), np.cos(3 * t)], axis=1)
    x = x + 1e-2 * np.random.default_rng(1).standard_normal(x.shape)
    sg = cj.learn.SavitzkyGolay(window=15, polyorder=3)
    X, X_dot = state_derivative_pairs(x, dt=0.01, derivative=sg)
    np.testing.assert_allclose(X, scipy.signal.savgol_filter(x, 15, 3, axis=0), atol=1e-14)
    np.testing.assert_allclose(X_dot, cj.learn.derivative(x, 0.01, sg), atol=1e-12)
    X, _ = state_derivative_pairs(x, dt=0.01, derivative=sg, smooth_states=False)
    np.testing.assert_array_equal(np.asarray(X), x)
    spline = cj.learn.Spline(smoothing=1e-5)
    X, X_dot = state_derivative_pairs(x, dt=0.01, derivative=spline)
    s0 = scipy.interpolate.make_smoothing_spline(t, x[:, 0], lam=1e-5)
    np.testing.assert_allclose(X[:, 0], s0(t), atol=1e-12)
    np.testing.assert_allclose(X_dot[:, 0], s0.derivative()(t), atol=1e-10)
    for method in ("fd2", "fd4", "spline"):
        X, _ = state_derivative_pairs(x, dt=0.01, derivative=method)
        np.testing.assert_array_equal(np.asarray(X), x)


def test_state_derivative_pairs_stacks_members_in_order():
    t = 0.05 * np.arange(40)
    a = np.stack([np.sin(t), np.cos(t)], axis=1)
    b = np.stack([t**2, t], axis=1)
    X, X_dot = state_derivative_pairs(np.stack([a, b]), dt=0.05, derivative="fd4")
    np.testing.assert_array_equal(np.asarray(X), np.concatenate([a, b]))
    expected = np.concatenate(
        [np.asarray(cj.learn.derivative(a, 0.05)), np.asarray(cj.learn.derivative(b, 0.05))]
    )
    np.testing.assert_allclose(np.asarray(X_dot), expected, rtol=0, atol=1e-14)


@pytest.mark.parametrize(
    "args, options, match",
    [
        ((np.ones(10), 0.1, "fd6"), {}, "`method`"),
        ((np.ones(4), 0.1, "fd4"), {}, "`x` has 4 samples"),
        ((np.ones(2), 0.1, "fd2"), {}, "`x` has 2 samples"),
        ((np.ones(10), 0.1, "savgol"), {}, "`x` has 10 samples"),
        ((np.array([1.0, np.nan, 2.0, 3.0, 4.0]), 0.1, "fd2"), {}, "`x` must be finite"),
        ((np.ones((3, 4, 5)), 0.1, "fd2"), {}, "`x` must have shape"),
        ((np.ones(10), 0.0, "fd2"), {}, "`dt`"),
        ((np.ones(10), -1.0, "fd2"), {}, "`dt`"),
        ((np.ones(30), 0.1, "savgol"), {"window": 10}, "`window`"),
        ((np.ones(30), 0.1, "savgol"), {"window": 3, "polyorder": 3}, "`window`"),
        ((np.ones(30), 0.1, "spline"), {"smoothing": -1.0}, "`smoothing`"),
        ((np.ones(30), 0.1, "spline"), {"degree": 7}, "`degree`"),
        ((np.ones(30), 0.1, "fd4"), {"window": 3}, "`method`"),
        ((np.ones(30), 0.1, cj.learn.SavitzkyGolay()), {"window": 3}, "`method`"),
    ],
)
def test_bad_input_raises_value_error_naming_the_argument(args, options, match):
    with pytest.raises(ValueError, match=match):
        cj.learn.derivative(*args, **options)


def test_bad_module_options_raise_naming_the_option():
    with pytest.raises(ValueError, match="`order`"):
        cj.learn.FiniteDifference(order=3)
    with pytest.raises(ValueError, match="`polyorder`"):
        cj.learn.SavitzkyGolay(polyorder=0)


def test_pairs_bad_input_names_data_x_dot_and_derivative():
    good = np.ones((20, 2))
    with pytest.raises(ValueError, match="`data` must have shape"):
        state_derivative_pairs(np.ones(20), dt=0.1)
    with pytest.raises(ValueError, match="`data` has 3 samples"):
        state_derivative_pairs(np.ones((3, 2)), dt=0.1)
    with pytest.raises(ValueError, match="`x_dot` must have the shape"):
        state_derivative_pairs(good, dt=0.1, x_dot=np.ones((20, 3)))
    with pytest.raises(ValueError, match="`x_dot` must be finite"):
        state_derivative_pairs(good, dt=0.1, x_dot=np.full((20, 2), np.inf))
    with pytest.raises(ValueError, match="`derivative`"):
        state_derivative_pairs(good, dt=0.1, derivative="central")
