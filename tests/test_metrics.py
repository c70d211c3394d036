"""cj.metrics: valid prediction time, Wasserstein distances (against scipy and POT),
spectrum, power-spectrum and autocorrelation distances, sMAPE."""

import functools
import re

import jax
import jax.numpy as jnp
import numpy as np
import ot
import pytest
import scipy.signal
import scipy.stats
from scipy.spatial.distance import cdist

import chaosjax as cj

M = cj.metrics
LAMBDA = 0.9056  # Lorenz63's largest exponent (Viswanath 1998)


@pytest.fixture(scope="module")
def lorenz_runs():
    """Ten consecutive runs of 20,000 samples (dt = 0.01, 200 time units) on the attractor."""
    lor = cj.systems.Lorenz63()
    x0 = cj.final_state(lor, lor.default_state(), steps=1_000, dt=0.01)
    return cj.trajectory(lor, x0, steps=200_000 - 1, dt=0.01).reshape(10, 20_000, 3)


# --------------------------------------------------------------------------- VPT


def _constructed(c, dim=2, stream=0):
    """A truth and a forecast whose error at t is exactly |c_t| (scale 1)."""
    true = jnp.asarray(np.random.default_rng(stream).normal(size=(len(c), dim)))
    return true + jnp.asarray(c)[:, None] * jnp.ones((1, dim)), true


def test_vpt_finds_the_exact_first_crossing_of_a_constructed_error():
    c = 0.01 * 1.5 ** np.arange(30.0)
    pred, true = _constructed(c)
    vpt = M.valid_prediction_time(pred, true, scale=1.0, dt=0.05)
    first = int(np.argmax(c > 0.4))  # 0.01 * 1.5^t > 0.4 first at t = 10
    assert first == 10
    assert int(vpt.steps) == first and bool(vpt.exceeded)
    assert float(vpt.time) == pytest.approx(first * 0.05, abs=1e-15)
    assert vpt.lyapunov_times is None
    np.testing.assert_allclose(vpt.error, c, rtol=1e-12)
    # The crossing is strict: an error equal to the threshold is still valid.
    pred, true = _constructed(np.array([0.1, 0.25, 0.5, 0.6]))
    assert int(M.valid_prediction_time(pred, true, 0.5, scale=1.0).steps) == 3


def test_vpt_never_exceeded_reports_the_forecast_length():
    pred, true = _constructed(np.full(40, 0.1))
    vpt = M.valid_prediction_time(pred, true, scale=1.0, dt=0.01, lyapunov_time=2.0)
    assert int(vpt.steps) == 40 and not bool(vpt.exceeded)
    assert float(vpt.time) == pytest.approx(0.4)
    assert float(vpt.lyapunov_times) == pytest.approx(0.2)


def test_vpt_batch_axes_jit_and_vmap_agree_with_single_calls():
    rng = np.random.default_rng(1)
    true = jnp.asarray(rng.normal(size=(2, 3, 25, 4)))
    growth = jnp.asarray(rng.uniform(1.1, 1.6, size=(2, 3)))
    c = 1e-3 * growth[..., None] ** jnp.arange(25.0)[None, None, :]
    pred = true + c[..., None] * jnp.ones((1, 1, 1, 4))
    batch = M.valid_prediction_time(pred, true, scale=jnp.ones(4), dt=0.1, lyapunov_time=0.5)
    assert batch.steps.shape == (2, 3) and batch.error.shape == (2, 3, 25)
    for i in range(2):
        for j in range(3):
            one = M.valid_prediction_time(pred[i, j], true[i, j], scale=jnp.ones(4), dt=0.1)
            assert int(batch.steps[i, j]) == int(one.steps)
            assert int(one.steps) == int(np.argmax(np.asarray(c[i, j]) > 0.4))
    # Lyapunov times are time / lyapunov_time.
    np.testing.assert_allclose(batch.lyapunov_times, batch.time / 0.5, rtol=1e-15)
    f = functools.partial(M.valid_prediction_time, scale=jnp.ones(4), dt=0.1)
    np.testing.assert_array_equal(jax.jit(f)(pred, true).steps, batch.steps)
    np.testing.assert_array_equal(jax.vmap(jax.vmap(f))(pred, true).steps, batch.steps)


def test_vpt_default_scale_is_the_std_of_the_truth_over_time_and_batch():
    rng = np.random.default_rng(2)
    true = rng.normal(size=(3, 50, 2)) * np.array([1.0, 10.0])
    pred = true + rng.normal(size=true.shape)
    s = true.reshape(-1, 2).std(axis=0)
    expect = np.sqrt(np.mean(((pred - true) / s) ** 2, axis=-1))
    vpt = M.valid_prediction_time(jnp.asarray(pred), jnp.asarray(true))
    np.testing.assert_allclose(vpt.error, expect, rtol=1e-12)


def test_vpt_counts_a_diverged_forecast_as_invalid():
    pred, true = _constructed(np.full(10, 0.01))
    pred = pred.at[6, 0].set(jnp.nan)
    assert int(M.valid_prediction_time(pred, true, scale=1.0).steps) == 6


def test_vpt_of_two_lorenz_runs_matches_the_lyapunov_growth_of_the_initial_error():
    lor = cj.systems.Lorenz63()
    x0 = cj.final_state(lor, lor.default_state(), steps=1_000, dt=0.01)
    starts = cj.trajectory(lor, x0, steps=16 * 200, dt=0.01)[::200][:16]
    run = jax.vmap(lambda x: cj.trajectory(lor, x, steps=4_000, dt=0.01))
    true, pred = run(starts), run(starts + 1e-8)
    vpt = M.valid_prediction_time(pred, true, dt=0.01, lyapunov_time=1 / LAMBDA)
    assert bool(jnp.all(vpt.exceeded))
    # The normalised initial error e0 grows on average as e0 exp(lambda t), so the
    # threshold is crossed after about ln(0.4 / e0) = 19.6 Lyapunov times. Single runs
    # scatter by +-3 (finite-time exponents of Lorenz63 fluctuate strongly; 40 starts
    # gave 15.7..21.4, mean 18.3, the early alignment of the error with the unstable
    # direction costing ~1): the mean of 16 starts is asserted within 2.5 of it.
    scale = np.asarray(jnp.std(true.reshape(-1, 3), axis=0))
    e0 = 1e-8 * np.sqrt(np.mean(1 / scale**2))
    expected = np.log(0.4 / e0)
    assert 19.0 < expected < 20.0
    assert abs(float(jnp.mean(vpt.lyapunov_times)) - expected) < 2.5
    assert float(jnp.min(vpt.lyapunov_times)) > 12.0
    assert float(jnp.max(vpt.lyapunov_times)) < 25.0


# --------------------------------------------------------------------------- Wasserstein


def _sample_pair(n, m, stream=3, dim=3):
    rng = np.random.default_rng(stream)
    a = rng.normal(size=(n, dim))
    b = rng.gamma(2.0, size=(m, dim)) - 1.5
    return a, b


@pytest.mark.parametrize("n, m", [(500, 500), (500, 333), (17, 1000)])
def test_marginal_w1_matches_scipy(n, m):
    a, b = _sample_pair(n, m)
    ours = M.wasserstein(a, b)
    ref = [scipy.stats.wasserstein_distance(a[:, i], b[:, i]) for i in range(3)]
    assert ours.shape == (3,)
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-10)


def test_marginal_w1_with_ties_and_1d_input_matches_scipy():
    a, b = _sample_pair(300, 210)
    a, b = np.round(a[:, 0], 1), np.round(b[:, 0], 1)  # many equal values
    ours = M.wasserstein(a, b)
    assert ours.shape == ()
    assert abs(float(ours) - scipy.stats.wasserstein_distance(a, b)) < 1e-10


@pytest.mark.parametrize("n, m", [(400, 400), (400, 250)])
def test_marginal_w2_matches_pot(n, m):
    a, b = _sample_pair(n, m)
    ours = M.wasserstein(a, b, p=2)
    np.testing.assert_allclose(ours, np.sqrt(ot.wasserstein_1d(a, b, p=2)), atol=1e-10)


def test_marginal_runs_under_jit_and_vmap():
    a, b = _sample_pair(200, 150)
    f = jax.jit(functools.partial(M.wasserstein, method="marginal"))
    np.testing.assert_allclose(f(a, b), M.wasserstein(a, b), atol=1e-14)
    batched = jax.vmap(M.wasserstein)(jnp.stack([a[:150], b]), jnp.stack([b, a[:150]]))
    np.testing.assert_allclose(batched[0], batched[1], atol=1e-14)


def test_marginal_and_sliced_distances_are_differentiable():
    # The integer-key sort has no derivative of its own: the gradient is jnp.sort's,
    # checked here against central differences of the distance.
    a, b = _sample_pair(40, 30, dim=2)
    e = np.zeros_like(a)
    e[3, 1] = 1e-6
    for kw in ({"p": 2}, {"method": "sliced", "key": jax.random.key(0)}):
        f = lambda x, kw=kw: jnp.sum(M.wasserstein(x, b, **kw))
        fd = (f(a + e) - f(a - e)) / 2e-6
        assert float(jax.grad(f)(jnp.asarray(a))[3, 1]) == pytest.approx(float(fd), rel=1e-6)


def _histograms(a, b, bins):
    """The nearest-grid-point histograms and grid points, written independently."""
    lo = np.minimum(a.min(0), b.min(0))
    h = (np.maximum(a.max(0), b.max(0)) - lo) / (bins - 1)
    axes = [lo[i] + h[i] * np.arange(bins) for i in range(a.shape[1])]
    points = np.stack([g.ravel() for g in np.meshgrid(*axes, indexing="ij")], axis=1)

    def hist(x):
        cells = np.rint((x - lo) / h).astype(int)
        flat = np.ravel_multi_index(tuple(cells.T), (bins,) * a.shape[1])
        return np.bincount(flat, minlength=bins ** a.shape[1]) / len(x)

    return hist(a), hist(b), points


@pytest.mark.parametrize("p", [1, 2])
def test_binned_matches_a_direct_pot_emd2_call(p):
    a, b = _sample_pair(3_000, 2_000, dim=2)
    ha, hb, points = _histograms(a, b, 20)
    sa, sb = ha > 0, hb > 0
    direct = ot.emd2(ha[sa], hb[sb], cdist(points[sa], points[sb]) ** p) ** (1 / p)
    ours = M.wasserstein(a, b, method="binned", bins=20, p=p)
    assert ours.shape == ()
    assert abs(float(ours) - direct) < 1e-10


def test_binned_exact_for_point_masses_and_shifts():
    # Two point masses: W = their distance, for every p.
    a, b = np.zeros((5, 2)), np.tile([3.0, 4.0], (7, 1))
    for p in (1, 2):
        assert float(M.wasserstein(a, b, method="binned", bins=5, p=p)) == pytest.approx(5.0)
    c = np.zeros((3, 3))
    d = np.tile([1.0, 2.0, 2.0], (4, 1))
    assert float(M.wasserstein(c, d, method="binned", bins=4)) == pytest.approx(3.0)
    # A distribution on grid points and its translate by (2, 2): W_p = |shift| (the
    # translation plan costs |shift|, and W_1 >= |difference of the means|).
    rng = np.random.default_rng(4)
    a = rng.integers(0, 6, size=(400, 2)).astype(float)
    a[:2] = [[0.0, 0.0], [5.0, 5.0]]  # the grid spans 0..7 in x and y, spacing 1
    b = a + np.array([2.0, 2.0])
    for p in (1, 2):
        w = float(M.wasserstein(a, b, method="binned", bins=8, p=p))
        assert w == pytest.approx(np.sqrt(8.0), abs=1e-9)
    # In 1-D with samples on the grid, binned transport is the exact marginal W1.
    x = rng.integers(0, 10, size=300).astype(float)
    y = rng.integers(0, 10, size=200).astype(float)
    x[0], y[0] = 0.0, 9.0
    binned = float(M.wasserstein(x, y, method="binned", bins=10))
    assert binned == pytest.approx(scipy.stats.wasserstein_distance(x, y), abs=1e-12)


def test_sliced_equals_marginal_in_1d_and_pot_with_the_same_directions():
    a, b = _sample_pair(300, 200, dim=1)
    key = jax.random.key(0)
    sliced = M.wasserstein(a, b, method="sliced", key=key, projections=7)
    assert float(sliced) == pytest.approx(float(M.wasserstein(a, b)[0]), abs=1e-12)
    a, b = _sample_pair(300, 200, dim=5)
    theta = jax.random.normal(key, (5, 40))
    theta = np.asarray(theta / jnp.linalg.norm(theta, axis=0, keepdims=True))
    for p in (1, 2):
        ours = M.wasserstein(a, b, method="sliced", key=key, projections=40, p=p)
        theirs = ot.sliced_wasserstein_distance(a, b, projections=theta, p=p)
        assert abs(float(ours) - float(theirs)) < 1e-10
    f = jax.jit(functools.partial(M.wasserstein, method="sliced", key=key))
    assert float(f(a, b)) == pytest.approx(float(M.wasserstein(a, b, method="sliced", key=key)))


def test_comparison_counts_every_pair_and_matches_direct_distances(lorenz_runs):
    trues, models = lorenz_runs[:6], lorenz_runs[6:]
    cmp = M.wasserstein_comparison(trues, models)
    assert cmp.method == "marginal"
    assert cmp.reference.shape == (6 * 5 // 2, 3) and cmp.model.shape == (4, 6, 3)
    assert [tuple(p) for p in np.asarray(cmp.pairs)] == [
        (i, j) for i in range(6) for j in range(i + 1, 6)
    ]
    np.testing.assert_allclose(cmp.model[2, 4], M.wasserstein(models[2], trues[4]), atol=1e-14)
    i, j = np.asarray(cmp.pairs[7])
    np.testing.assert_allclose(cmp.reference[7], M.wasserstein(trues[i], trues[j]), atol=1e-14)
    np.testing.assert_allclose(cmp.ratio, cmp.mean_model / cmp.mean_reference)
    # The "model" runs are further true runs: its distances are those of true runs.
    # Runs of 200 time units spread widely (the 15 reference x-distances here span
    # 0.12..1.08), so the ratio of the means (0.81, 0.82, 1.04 here) is asserted within
    # the 2x that a faithful model is asked to meet.
    assert bool(jnp.all((cmp.ratio > 0.5) & (cmp.ratio < 2.0)))


@pytest.mark.parametrize("method", ["marginal", "binned", "sliced"])
def test_comparison_of_the_true_runs_with_themselves_is_exact(lorenz_runs, method):
    # model = true: the n x n distances are 0 on the diagonal and the pair distances
    # twice off it, so mean_model = mean_reference (n - 1) / n exactly.
    runs = list(lorenz_runs[:4, ::4])
    cmp = M.wasserstein_comparison(runs, runs, method=method, key=jax.random.key(1), bins=12)
    np.testing.assert_allclose(cmp.ratio, 3 / 4, rtol=1e-12)
    assert cmp.reference.shape[0] == 6


# --------------------------------------------------------------------------- spectra


def test_spectrum_distance_on_known_numbers():
    d = M.spectrum_distance(jnp.array([-14.4, 0.88, 0.0]), jnp.array([0.9056, 0.0, -14.5723]))
    assert float(d.largest_learned) == 0.88 and float(d.largest_true) == 0.9056
    assert float(d.largest_relative_error) == pytest.approx(0.0256 / 0.9056, rel=1e-12)
    assert float(d.l2) == pytest.approx(np.hypot(0.0256, 0.1723), rel=1e-12)
    assert float(d.kaplan_yorke_learned) == pytest.approx(2 + 0.88 / 14.4, rel=1e-12)
    assert float(d.kaplan_yorke_true) == pytest.approx(2 + 0.9056 / 14.5723, rel=1e-12)
    assert float(d.kaplan_yorke_difference) == pytest.approx(
        0.88 / 14.4 - 0.9056 / 14.5723, rel=1e-10
    )
    # Different lengths: the common leading exponents are compared.
    d = M.spectrum_distance(jnp.array([0.5, -1.0]), jnp.array([0.4, -0.2, -2.0]))
    assert d.common == 2
    assert float(d.l2) == pytest.approx(np.hypot(0.1, 0.8))
    assert float(d.kaplan_yorke_learned) == pytest.approx(1.5)
    assert float(d.kaplan_yorke_true) == pytest.approx(2.1)


def test_spectrum_distance_takes_lyapunov_results():
    hen = cj.systems.Henon()
    res = cj.lyapunov_spectrum(hen, hen.default_state(), steps=2_000)
    d = M.spectrum_distance(res, res.exponents)
    assert float(d.l2) == 0.0 and float(d.kaplan_yorke_difference) == 0.0


def test_smape_known_values():
    assert float(M.smape(jnp.array([[1.0], [2.0]]), jnp.array([[1.0], [4.0]]))) == (
        pytest.approx(200 / 2 * (0 + 2 / 6))
    )
    assert float(M.smape(jnp.zeros((3, 2)), jnp.zeros((3, 2)))) == 0.0
    assert float(M.smape(-jnp.ones((3, 2)), jnp.ones((3, 2)))) == pytest.approx(200.0)
    batch = M.smape(jnp.ones((2, 4, 3)), jnp.stack([jnp.ones((4, 3)), 3 * jnp.ones((4, 3))]))
    np.testing.assert_allclose(batch, [0.0, 100.0])
    # A diverged forecast value counts as the worst, 200.
    pred = jnp.ones((2, 2)).at[0, 0].set(jnp.inf).at[1, 1].set(jnp.nan)
    assert float(M.smape(pred, jnp.ones((2, 2)))) == pytest.approx(100.0)


def test_autocorrelation_distance_is_zero_for_the_same_series_and_matches_numpy():
    rng = np.random.default_rng(5)
    x = np.cumsum(rng.normal(size=(2, 600, 2)), axis=1)  # correlated: random walks
    y = rng.normal(size=(500, 2))
    assert float(M.autocorrelation_distance(x, x, max_lag=50)) < 1e-15

    def acf(z, lags):  # the biased estimate, autocovariances averaged over the batch
        z = z.reshape(-1, *z.shape[-2:])
        zc = z - z.mean(axis=1, keepdims=True)
        cov = np.array([np.mean(np.sum(zc[:, : z.shape[1] - k] * zc[:, k:], axis=1), 0)
                        for k in range(lags + 1)]) / z.shape[1]  # fmt: skip
        return cov / cov[0]

    expect = np.sqrt(np.mean((acf(x, 50)[1:] - acf(y, 50)[1:]) ** 2))
    assert float(M.autocorrelation_distance(x, y, max_lag=50)) == pytest.approx(expect, 1e-10)


def test_power_spectrum_distance_sees_frequencies_not_phases():
    t = jnp.arange(8192.0)[:, None] * 0.01
    same = M.power_spectrum_distance(jnp.sin(3 * t), jnp.sin(3 * t + 1.0), dt=0.01)
    other = M.power_spectrum_distance(jnp.sin(3 * t), jnp.sin(9 * t), dt=0.01)
    # Leakage of the Hann window leaves a phase-dependent remainder of ~2e-3.
    assert float(same) < 0.01
    assert float(other) > 0.9
    assert float(M.power_spectrum_distance(t * 0 + jnp.sin(t), jnp.sin(t), dt=0.01)) < 1e-7


def test_power_spectrum_distance_matches_scipy_welch(lorenz_runs):
    a, b = lorenz_runs[0, :6_000], lorenz_runs[1:3, :5_000]
    _, pa = scipy.signal.welch(np.asarray(a), nperseg=512, axis=-2)
    _, pb = scipy.signal.welch(np.asarray(b), nperseg=512, axis=-2)
    pb = pb.mean(axis=0)
    pa, pb = pa / pa.sum(0), pb / pb.sum(0)
    expect = np.mean(np.sqrt(1 - np.sum(np.sqrt(pa * pb), axis=0)))
    ours = M.power_spectrum_distance(a, b, dt=0.01, segment=512)
    assert float(ours) == pytest.approx(expect, abs=1e-10)
    # Up to 5 per time unit only: frequencies k / (512 * 0.01) <= 5, k <= 25.
    pa, pb = pa[:26] / pa[:26].sum(0), pb[:26] / pb[:26].sum(0)
    expect = np.mean(np.sqrt(1 - np.sum(np.sqrt(pa * pb), axis=0)))
    band = M.power_spectrum_distance(a, b, dt=0.01, segment=512, max_frequency=5.0)
    assert float(band) == pytest.approx(expect, abs=1e-10)


# --------------------------------------------------------------------------- bad input


def _raises(name, fn, *args, **kwargs):
    with pytest.raises(ValueError, match=re.escape(f"`{name}`")):
        fn(*args, **kwargs)


def test_every_bad_input_raises_a_value_error_naming_the_argument():
    x = jnp.asarray(np.random.default_rng(6).normal(size=(50, 3)))
    nan = x.at[3, 1].set(jnp.nan)
    vpt = M.valid_prediction_time
    _raises("threshold", vpt, x, x, 0.0)
    _raises("threshold", vpt, x, x, -0.4)
    _raises("pred", vpt, x[:40], x)
    _raises("pred", vpt, x[:, :2], x)
    _raises("true", vpt, x, nan)
    _raises("scale", vpt, x, x, scale=jnp.ones(2))
    _raises("scale", vpt, x, x, scale=jnp.array([1.0, 0.0, 1.0]))
    _raises("dt", vpt, x, x, dt=0.0)
    _raises("lyapunov_time", vpt, x, x, lyapunov_time=-1.0)
    _raises("true", vpt, x, x.at[:, 2].set(1.0))
    w = M.wasserstein
    _raises("b", w, x, x[:, :2])
    _raises("a", w, nan, x)
    _raises("b", w, x, nan)
    _raises("method", w, x, x, method="exact")
    _raises("a", w, x[:1], x)
    _raises("method", w, jnp.ones((10, 4)), jnp.ones((10, 4)), method="binned")
    _raises("key", w, x, x, method="sliced")
    _raises("projections", w, x, x, method="sliced", key=jax.random.key(0), projections=0)
    _raises("p", w, x, x, p=0.5)
    _raises("bins", w, x, x, method="binned", bins=1)
    _raises("bins", w, x, x, method="binned", bins=300)
    cmp = M.wasserstein_comparison
    _raises("true_runs", cmp, [x], [x])
    _raises("model_runs", cmp, [x, x + 1], [x[:, :2]])
    _raises("true_runs[1]", cmp, [x, nan], [x])
    _raises("true_runs", cmp, [x, x], [x])  # identical true runs: the ratio is undefined
    sd = M.spectrum_distance
    _raises("true", sd, jnp.array([0.1, -1.0]), jnp.array([0.0, -1.0]))
    _raises("learned", sd, jnp.zeros(0), jnp.array([0.5, -1.0]))
    _raises("learned", sd, jnp.array([jnp.nan]), jnp.array([0.5, -1.0]))
    _raises("pred", M.smape, x[:10], x)
    _raises("true", M.smape, x, nan)
    ps = M.power_spectrum_distance
    _raises("pred", ps, x[:, :2], x, dt=0.1)
    _raises("pred", ps, nan, x, dt=0.1)
    _raises("true", ps, x, x.at[:, 0].set(2.0), dt=0.1)
    _raises("segment", ps, x, x, dt=0.1, segment=60)
    _raises("dt", ps, x, x, dt=-0.1)
    _raises("max_frequency", ps, x, x, dt=0.1, max_frequency=0.01)
    ac = M.autocorrelation_distance
    _raises("max_lag", ac, x, x, max_lag=50)
    _raises("max_lag", ac, x, x, max_lag=0)
    _raises("pred", ac, x[:, :1], x, max_lag=5)
