"""Echo-state networks and next-generation reservoir computing: closed-loop forecasts of
Lorenz63 (valid prediction time, the largest Lyapunov exponent of the model as a
cj.Map), the readout against an independent ridge solution, the observation contract's
time convention, exact fits of maps the features contain, save/load, bad input."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import chaosjax as cj

LAMBDA = 0.9056  # Lorenz63's largest exponent (Sprott 2003)
DT = 0.02


@pytest.fixture(scope="module")
def lorenz():
    """One long Lorenz63 run (dt = 0.02): training rows first, then validation rows, then
    the test region, from which test windows are cut (never used to fit or tune)."""
    lor = cj.systems.Lorenz63()
    xs = np.asarray(cj.trajectory(lor, lor.default_state(), steps=40_000, dt=DT, transient=2_000))
    return {"train": xs[:20_001], "validation": xs[20_500:26_500], "test": xs[27_000:]}


def vpt_lyapunov_times(model, test, *, starts=10, horizon=1_000, dt=DT):
    """Mean valid prediction time (Lyapunov times) over `starts` windows of `test`,
    computed here with NumPy: the first step at which the RMS error over the
    per-coordinate standard deviation of `test` exceeds 0.4."""
    w = model.history_length
    ends = np.linspace(w, test.shape[0] - horizon - 1, starts).astype(int)
    scale = test.std(axis=0)
    out = []
    for s in ends:
        x = model.synchronise(jnp.asarray(test[s - w + 1 : s + 1]))
        states = cj.trajectory(model, x, steps=horizon, throw=False)[1:]
        pred = np.asarray(jax.vmap(model.observe)(states))
        err = np.sqrt(np.mean(((pred - test[s + 1 : s + 1 + horizon]) / scale) ** 2, axis=1))
        err = np.where(np.isfinite(err), err, np.inf)
        steps = int(np.argmax(err > 0.4)) if np.any(err > 0.4) else horizon
        out.append(steps * dt * LAMBDA)
    return np.array(out)


# --------------------------------------------------------------------------- ESN


@pytest.fixture(scope="module")
def esn300(lorenz):
    return cj.learn.fit_esn(lorenz["train"][:10_001], dt=DT, key=jax.random.key(0), n=300)


def test_esn_forecasts_lorenz63_and_has_its_largest_exponent(lorenz, esn300):
    esn = esn300.model
    assert isinstance(esn, cj.Map) and esn.time_per_step == DT and esn.dim == 300
    # The readout fits the teacher-forced data closely (normalised units).
    assert float(esn300.nmse) < 1e-8
    # W was rescaled to spectral radius 0.9 (ARPACK above 200 units; LAPACK checks it).
    radius = np.max(np.abs(np.linalg.eigvals(np.asarray(esn.W.todense()))))
    assert np.isclose(radius, 0.9, rtol=1e-10)
    vpt = vpt_lyapunov_times(esn, lorenz["test"])
    # Measured: mean 11.5 Lyapunov times (10.6 .. 13.5) over 10 test windows with 300 units
    # and 10,000 training rows; the bound leaves room for other draws and machines.
    assert vpt.mean() >= 8.0, vpt
    x0 = esn.synchronise(jnp.asarray(lorenz["test"][:100]))
    res = cj.lyapunov_spectrum(esn, x0, steps=20_000, transient=1_000, k=3)
    # Measured 0.912 (per unit time, via time_per_step); a run of 400 time units
    # estimates an exponent to about 1 %.
    assert abs(float(res.exponents[0]) - LAMBDA) < 0.05 * LAMBDA, res.exponents
    # The second exponent of a flow is 0; the model's is close to it.
    assert abs(float(res.exponents[1])) < 0.1, res.exponents


def _numpy_states(model, x):
    """Teacher-forced reservoir states r_0 = 0, r_{t+1} = (1-a) r_t + a tanh(W r_t +
    W_in z_t + b), written here in NumPy with the dense W."""
    W = np.asarray(model.W.todense())
    W_in, b, a = np.asarray(model.W_in), np.asarray(model.bias), float(model.leak)
    z = (x - np.asarray(model.normalizer.mean)) / np.asarray(model.normalizer.scale)
    r = np.zeros(W.shape[0])
    states = []
    for t in range(x.shape[0]):
        states.append(r)
        r = (1 - a) * r + a * np.tanh(W @ r + W_in @ z[t] + b)
    return np.array(states), z


def _numpy_features(R, features):
    one = np.ones((R.shape[0], 1))
    return np.hstack([one, R] if features == "linear" else [one, R, R * R])


@pytest.mark.parametrize("features", ["linear", "quadratic"])
def test_esn_readout_equals_a_numpy_ridge_solution(lorenz, features):
    # Two trajectories of different lengths, each driving its own reservoir from 0.
    data = [lorenz["train"][:400], lorenz["train"][1_000:1_250]]
    res = cj.learn.fit_esn(
        data, dt=DT, key=jax.random.key(3), n=40, density=0.2, ridge=1e-1, washout=20,
        features=features, leak=0.7, spectral_radius=0.8,
    )  # fmt: skip
    model = res.model
    F, Y = [], []
    for x in data:
        R, z = _numpy_states(model, x)
        F.append(_numpy_features(R, features)[19:])
        Y.append(z[19:])
    F, Y = np.vstack(F), np.vstack(Y)
    penalty = 1e-1 * np.eye(F.shape[1])
    penalty[0, 0] = 0.0  # the intercept is not penalised
    W_np = np.linalg.solve(F.T @ F + penalty, F.T @ Y).T
    W = np.asarray(model.W_out)
    assert np.max(np.abs(W - W_np)) <= 1e-10 * np.max(np.abs(W_np))
    # The training error is the one of these pairs.
    err = F @ W_np.T - Y
    nmse = np.mean(np.sum(err**2, axis=0) / np.sum((Y - Y.mean(axis=0)) ** 2, axis=0))
    assert np.isclose(float(res.nmse), nmse, rtol=1e-8)
    # W has the requested spectral radius and density pattern.
    dense = np.asarray(model.W.todense())
    assert np.isclose(np.max(np.abs(np.linalg.eigvals(dense))), 0.8, rtol=1e-8)


def test_synchronise_returns_the_state_at_the_last_row(lorenz, esn300):
    esn = esn300.model
    w = esn.history_length
    assert w == 100
    x = lorenz["test"][:400]
    # Exactly the teacher-forced state r_{w-1}: driven by rows 0 .. w-2 (not w-1).
    R, _ = _numpy_states(esn, x[:w])
    r = esn.synchronise(jnp.asarray(x[:w]))
    np.testing.assert_allclose(np.asarray(r), R[w - 1], rtol=0, atol=1e-12)
    # Its readout is the last row (not the one before or after), ...
    u = np.asarray(esn.observe(r))
    err = np.abs(u - x[w - 1]).max()
    assert err < 1e-3 * np.abs(x).max()
    assert np.abs(u - x[w - 2]).max() > 100 * err and np.abs(u - x[w]).max() > 100 * err
    # ... and k steps later the forecast is row w - 1 + k.
    states = cj.trajectory(esn, r, steps=5)
    pred = np.asarray(jax.vmap(esn.observe)(states))
    np.testing.assert_allclose(pred, x[w - 1 : w + 5], atol=1e-2)


def test_esn_is_a_map_for_every_analysis(esn300):
    esn = esn300.model
    x0 = esn.default_state()
    xs = cj.trajectory(esn, x0, steps=50)
    assert xs.shape == (51, 300) and bool(jnp.all(jnp.abs(xs) < 1))
    # Exponents are per unit time through time_per_step: the same orbit with dt = 1
    # gives exponents per step, exactly dt times the others.
    per_time = cj.lyapunov_spectrum(esn, x0, steps=2_000, k=3).exponents
    per_step = cj.lyapunov_spectrum(esn.__class__(**{**vars_of(esn), "dt": 1.0}), x0,
                                    steps=2_000, k=3).exponents  # fmt: skip
    np.testing.assert_allclose(np.asarray(per_step), DT * np.asarray(per_time), rtol=1e-12)


def vars_of(module):
    import dataclasses

    return {f.name: getattr(module, f.name) for f in dataclasses.fields(module)}


def test_esn_jacobian_from_autodiff_matches_the_formula(esn300):
    # DF(r) = (1 - a) I + a diag(1 - h^2) (W + W_in W_out Df(r)), h the tanh term and
    # Df = [0; I; 2 diag(r)] for [1, r, r^2].
    esn = esn300.model
    r = esn.default_state()
    W = np.asarray(esn.W.todense())
    W_in, W_out = np.asarray(esn.W_in), np.asarray(esn.W_out)
    n, a = esn.dim, float(esn.leak)
    z = W_out @ np.asarray(esn.feature_vector(r))
    h = np.tanh(W @ np.asarray(r) + W_in @ z + np.asarray(esn.bias))
    Df = np.vstack([np.zeros((1, n)), np.eye(n), 2 * np.diag(np.asarray(r))])
    J = (1 - a) * np.eye(n) + a * (1 - h**2)[:, None] * (W + W_in @ W_out @ Df)
    np.testing.assert_allclose(np.asarray(esn.jacobian(r)), J, rtol=0, atol=1e-12)


def test_sparse_matrix_products_and_gradient():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(7, 5)) * (rng.uniform(size=(7, 5)) < 0.4)
    S = cj.learn.SparseMatrix.from_dense(A)
    # Rows padded to the fullest row's count.
    assert S.values.shape == (7, np.count_nonzero(A, axis=1).max()) and S.shape == (7, 5)
    x = jnp.asarray(rng.normal(size=5))
    np.testing.assert_allclose(np.asarray(S @ x), A @ np.asarray(x), rtol=1e-14, atol=1e-14)
    np.testing.assert_array_equal(np.asarray(S.todense()), A)
    g = eqx.filter_grad(lambda s: jnp.sum(s @ x))(S)
    np.testing.assert_allclose(np.asarray(g.values), np.asarray(x)[np.asarray(S.columns)])
    np.testing.assert_array_equal(S.to_scipy().toarray(), A)


def test_esn_grid_search_scores_on_validation_and_refits_the_best(lorenz):
    train = lorenz["train"][:4_001]
    kw = dict(dt=DT, key=jax.random.key(1), n=100, washout=50)
    res = cj.learn.fit_esn(
        train, **kw, validation=lorenz["validation"], validation_starts=4,
        validation_steps=300, search={"spectral_radius": [0.5, 0.9], "ridge": [1e-8, 1e2]},
    )  # fmt: skip
    s = res.search
    assert len(s.parameters) == 4 and s.vpt.shape == (4, 4)
    assert s.parameters[0] == {"spectral_radius": 0.5, "ridge": 1e-8}
    np.testing.assert_allclose(np.asarray(s.mean_vpt), np.asarray(s.vpt).mean(axis=1))
    assert s.best == int(np.argmax(np.asarray(s.mean_vpt)))
    # A ridge of 1e2 smooths the readout away: the worst points of each reservoir.
    assert s.mean_vpt[1] < s.mean_vpt[0] and s.mean_vpt[3] < s.mean_vpt[2]
    np.testing.assert_array_equal(np.asarray(res.validation_vpt), np.asarray(s.vpt[s.best]))
    # The chosen model is the plain fit at the chosen point (the same draws).
    plain = cj.learn.fit_esn(train, **kw, **s.parameters[s.best]).model
    np.testing.assert_array_equal(np.asarray(res.model.W_out), np.asarray(plain.W_out))


def test_esn_save_load_round_trip(tmp_path, esn300):
    esn = esn300.model
    path = cj.learn.save(esn, tmp_path / "esn.eqx")
    again = cj.learn.load(path)
    assert isinstance(again, cj.learn.EchoStateNetwork)
    assert again.dt == esn.dt and again.washout == esn.washout and again.features == "quadratic"
    x = esn.default_state()
    np.testing.assert_array_equal(np.asarray(again.step(x)), np.asarray(esn.step(x)))
    np.testing.assert_array_equal(np.asarray(again.observe(x)), np.asarray(esn.observe(x)))


def test_esn_bad_input_names_the_argument(lorenz):
    x = lorenz["train"][:500]
    key = jax.random.key(0)
    bad = x.copy()
    bad[10, 1] = np.nan
    cases = [
        (dict(data=bad), "`data`"),
        (dict(data=x[:50], washout=100), "`washout`"),
        (dict(spectral_radius=0.0), "`spectral_radius`"),
        (dict(spectral_radius=-1.0), "`spectral_radius`"),
        (dict(leak=0.0), "`leak`"),
        (dict(leak=1.5), "`leak`"),
        (dict(features="cubic"), "`features`"),
        (dict(density=0.0), "`density`"),
        (dict(ridge=-1.0), "`ridge`"),
        (dict(n=0), "`n`"),
        (dict(dt=0.0), "`dt`"),
        (dict(search={"ridge": [1e-6]}), "`validation`"),
        (dict(search={"radius": [0.9]}, validation=x), "radius"),
        (dict(search={"leak": [0.5, 2.0]}, validation=x), "search['leak']"),
        (dict(validation=x[:, :2]), "`validation`"),
        (dict(validation=x[:60], validation_steps=50), "`validation`"),
    ]
    for changes, fragment in cases:
        kw = dict(data=x, dt=DT, key=key, n=20, washout=20)
        kw.update(changes)
        data = kw.pop("data")
        with pytest.raises(ValueError, match=fragment.replace("[", r"\[").replace("]", r"\]")):
            cj.learn.fit_esn(data, **kw)


@pytest.mark.slow  # the default suite's time budget; other tests cover the parts
def test_esn_600_units_reach_8_lyapunov_times_and_the_exponent(lorenz):
    # The figures the literature quotes: 600 units, spectral radius 0.9, ridge readout on
    # [1, r, r^2], 20,000 training rows at dt = 0.02; 12 test windows never used for
    # fitting or tuning. About 8 s on two cores.
    res = cj.learn.fit_esn(lorenz["train"], dt=DT, key=jax.random.key(0), n=600)
    esn = res.model
    vpt = vpt_lyapunov_times(esn, lorenz["test"], starts=12, horizon=1_500)
    # Measured: mean 11.2 Lyapunov times (9.1 .. 13.4).
    assert vpt.mean() >= 8.0, vpt
    x0 = esn.synchronise(jnp.asarray(lorenz["test"][:100]))
    res = cj.lyapunov_spectrum(esn, x0, steps=50_000, transient=1_000, k=3)
    # Measured 0.901 (1,000 time units); within 5 % of 0.906.
    assert abs(float(res.exponents[0]) - LAMBDA) < 0.05 * LAMBDA, res.exponents


# --------------------------------------------------------------------------- NG-RC


def test_ngrc_reproduces_the_henon_map_exactly():
    # x' = 1 - a x^2 + y, y' = b x: the increments are quadratic in the state, so one lag
    # and degree 2 contain the map, and an unregularised fit recovers it.
    hen = cj.systems.Henon()
    xs = np.asarray(cj.trajectory(hen, hen.default_state(), steps=300, transient=100))
    res = cj.learn.fit_ngrc(xs[:200], dt=1.0, lags=1, skip=1, degree=2, ridge=0.0)
    model = res.model
    assert model.dim == 2 and model.history_length == 1 and model.time_per_step == 1.0
    assert float(res.nmse) < 1e-24
    states = jnp.asarray(xs[200:])
    np.testing.assert_allclose(
        np.asarray(jax.vmap(model.step)(states)), np.asarray(jax.vmap(hen.step)(states)),
        rtol=0, atol=1e-12,
    )  # fmt: skip
    # Its spectrum is the Henon map's: the sum is log|det J| = log b along any orbit.
    res = cj.lyapunov_spectrum(model, states[0], steps=20_000)
    assert np.isclose(float(res.exponents.sum()), np.log(0.3), atol=1e-9)
    assert abs(float(res.exponents[0]) - 0.41922) < 3e-3


def test_ngrc_reproduces_a_linear_recurrence_with_delays():
    # x_{t+1} = 0.9 x_t - 0.6 x_{t-2} + 0.3 (a slowly decaying oscillation, roots of
    # modulus 0.978 and 0.627), reaching two steps back: lags 2 at skip 2 hold exactly
    # x_t and x_{t-2}.
    x = [3.0, -2.0, 5.0]
    for _ in range(300):
        x.append(0.9 * x[-1] - 0.6 * x[-3] + 0.3)
    x = np.array(x)[:, None]
    res = cj.learn.fit_ngrc(x[:150], dt=0.1, lags=2, skip=2, degree=1, ridge=0.0)
    model = res.model
    assert model.history_length == 3 and model.dim == 3
    h = jnp.asarray(x[147:150])
    states = cj.trajectory(model, model.synchronise(h), steps=100)
    pred = np.asarray(jax.vmap(model.observe)(states))
    np.testing.assert_allclose(pred, x[149:250], rtol=0, atol=1e-9)
    assert model.feature_names(["x"]) == ["1", "x(t)", "x(t-2)"]


def test_ngrc_learns_lorenz63_like_the_paper():
    # Gauthier et al. (2021): dt = 0.025, k = 2, s = 1, 400 training points, ridge 2.5e-6.
    dt = 0.025
    lor = cj.systems.Lorenz63()
    xs = np.asarray(cj.trajectory(lor, lor.default_state(), steps=20_000, dt=dt, transient=2_000))
    res = cj.learn.fit_ngrc(xs[:402], dt=dt, lags=2, skip=1)
    model = res.model
    assert model.W_out.shape == (3, 28) and model.dim == 6
    vpt = vpt_lyapunov_times(model, xs[5_000:], starts=20, horizon=600, dt=dt)
    # Measured: mean 4.2 Lyapunov times (1.3 .. 6.8) over 20 test windows (4.9 on another
    # stretch of the attractor); the paper's forecast holds ~5.
    assert vpt.mean() >= 3.5, vpt
    x0 = model.synchronise(jnp.asarray(xs[5_000:5_002]))
    lam = cj.lyapunov_spectrum(model, x0, steps=40_000, transient=1_000, k=2).exponents
    # Measured 0.903 (1,000 time units); within 5 %.
    assert abs(float(lam[0]) - LAMBDA) < 0.05 * LAMBDA, lam


def test_ngrc_features_and_search():
    hen = cj.systems.Henon()
    xs = np.asarray(cj.trajectory(hen, hen.default_state(), steps=700, transient=100))
    res = cj.learn.fit_ngrc(
        xs[:300], dt=1.0, lags=1, validation=xs[300:], validation_starts=5,
        validation_steps=30, search={"degree": [1, 2], "ridge": [0.0, 1e-9]},
    )  # fmt: skip
    s = res.search
    # Degree 1 cannot hold x^2: the degree-2 points forecast far longer.
    assert s.parameters[s.best]["degree"] == 2
    assert float(s.mean_vpt[0]) < float(s.mean_vpt[s.best])
    names = res.model.feature_names(["x", "y"])
    assert names == ["1", "x(t)", "y(t)", "x(t)^2", "x(t) y(t)", "y(t)^2"]


def test_ngrc_save_load_round_trip(tmp_path):
    hen = cj.systems.Henon()
    xs = np.asarray(cj.trajectory(hen, hen.default_state(), steps=300, transient=100))
    model = cj.learn.fit_ngrc(xs, dt=1.0, lags=3, skip=2).model
    again = cj.learn.load(cj.learn.save(model, tmp_path / "ngrc.eqx"))
    assert isinstance(again, cj.learn.NGRC) and (again.lags, again.skip) == (3, 2)
    x = model.default_state()
    np.testing.assert_array_equal(np.asarray(again.step(x)), np.asarray(model.step(x)))


def test_ngrc_bad_input_names_the_argument():
    x = np.asarray(cj.trajectory(cj.systems.Henon(), jnp.zeros(2), steps=50))
    bad = x.copy()
    bad[3, 0] = np.inf
    cases = [
        (dict(data=bad), "`data`"),
        (dict(data=x[:4], lags=3, skip=2), "`lags`"),
        (dict(lags=0), "`lags`"),
        (dict(skip=0), "`skip`"),
        (dict(degree=0), "`degree`"),
        (dict(ridge=np.nan), "`ridge`"),
        (dict(dt=-1.0), "`dt`"),
        (dict(threshold=0.0), "`threshold`"),
        (dict(search={"ridge": [1.0]}), "`validation`"),
    ]
    for changes, fragment in cases:
        kw = dict(data=x, dt=1.0)
        kw.update(changes)
        data = kw.pop("data")
        with pytest.raises(ValueError, match=fragment):
            cj.learn.fit_ngrc(data, **kw)


def test_search_ranks_a_diverging_point_last():
    # Raw Lorenz63 features with the paper's tiny ridge give a closed loop that blows up
    # within steps (see ngrc.py); its forecasts turn non-finite and must score ~0, not
    # the whole horizon.
    dt = 0.025
    lor = cj.systems.Lorenz63()
    xs = np.asarray(cj.trajectory(lor, lor.default_state(), steps=4_000, dt=dt, transient=2_000))
    res = cj.learn.fit_ngrc(
        xs[:402], dt=dt, normalize=False, validation=xs[1_000:], validation_starts=5,
        search={"ridge": [2.5e-6, 1e-1]},
    )  # fmt: skip
    s = res.search
    assert s.best == 1 and float(s.mean_vpt[0]) < 1.0 < float(s.mean_vpt[1]), s.mean_vpt
