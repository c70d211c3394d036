import jax
import jax.numpy as jnp
import numpy as np
import pytest

import chaosjax as cj

pytest.importorskip("sklearn")

LAGS = 5


@pytest.fixture(scope="module")
def series():
    dh = cj.systems.DelayedHenon(d=4, a=1.6, b=0.1)
    return cj.trajectory(dh, dh.default_state(), steps=511, transient=1_000)[:, 0]


@pytest.fixture(scope="module")
def fitted(series):
    return cj.learn.fit_svr(series, lags=LAGS)


def _sklearn_predict(res, X):
    norm = res.model.normalizer
    z = (np.asarray(X) - float(norm.mean)) / float(norm.scale)
    return res.model.estimator.predict(z) * float(norm.scale) + float(norm.mean)


def test_svr_fits_the_delayed_henon_map(fitted, series):
    pairs = cj.learn.delay_pairs(series, LAGS)
    pred = _sklearn_predict(fitted, pairs.inputs)
    nmse = np.mean((pred - np.asarray(pairs.targets)) ** 2) / np.var(np.asarray(pairs.targets))
    assert float(fitted.nmse) == pytest.approx(nmse, rel=1e-10)
    assert nmse < 1e-5 and fitted.validation_nmse is None and fitted.n_support > 0


def test_step_calls_the_estimator_under_jit_and_vmap(fitted, series):
    model = fitted.model
    X = cj.learn.delay_embed(series, LAGS)[:20]
    np.testing.assert_allclose(jax.jit(jax.vmap(model.predict))(X), _sklearn_predict(fitted, X),
                               rtol=1e-12)  # fmt: skip
    # A trajectory is the estimator iterated with the shift (rounding in the
    # normalisation grows by ~2 per step on this chaotic map, hence atol).
    xs = cj.trajectory(model, model.default_state(), steps=5)
    x = np.asarray(model.default_state())
    for k in range(1, 6):
        x = np.concatenate([_sklearn_predict(fitted, x[None]), x[:-1]])
        np.testing.assert_allclose(xs[k], x, rtol=0, atol=1e-10)


def test_derivatives_are_central_differences(fitted, series):
    model = fitted.model
    x = cj.learn.delay_embed(series, LAGS)[7]
    h = model.h * float(model.normalizer.scale)  # the step in raw units
    f = lambda y: _sklearn_predict(fitted, y[None])[0]
    fd = np.array([(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(LAGS)])
    # The normalisation's scale cancels; the differences agree to rounding.
    np.testing.assert_allclose(jax.grad(model.predict)(x), fd, rtol=1e-7)
    J = model.jacobian(x)
    np.testing.assert_allclose(J[0], fd, rtol=1e-7)
    np.testing.assert_array_equal(J[1:], np.eye(LAGS - 1, LAGS))
    np.testing.assert_allclose(jax.jacfwd(model.step)(x), J, rtol=1e-12)
    np.testing.assert_allclose(jax.jacrev(model.step)(x), J, rtol=1e-12)


def test_svr_map_runs_every_analysis_unchanged(fitted, series):
    model = fitted.model
    orbit = cj.learn.delay_embed(series, LAGS)
    res = cj.lag_sensitivities(model, orbit=orbit)
    fd = jax.vmap(lambda x: model.jacobian(x)[0])(orbit)
    np.testing.assert_allclose(res.sensitivities, jnp.mean(jnp.abs(fd), axis=0), rtol=1e-10)
    # The map's lag space contains lags 1 and 4 (S(1) ~ 1.9, S(4) = 0.1); the symmetric
    # kernel does not pick the simplest form, so other lags are not zero.
    assert res.sensitivities[0] > 1.4 and abs(float(res.sensitivities[3]) - 0.1) < 0.03
    spec = cj.lyapunov_spectrum(model, model.default_state(), steps=500)
    assert spec.exponents.shape == (LAGS,) and bool(jnp.all(jnp.isfinite(spec.exponents)))
    # Its largest exponent is the map's (0.38 per iteration) to within a short run's error.
    assert abs(float(spec.exponents[0]) - 0.38) < 0.1


def test_save_load_round_trip_without_pickle_or_a_template(fitted, tmp_path):
    model = fitted.model
    path = cj.learn.save(model, tmp_path / "svr.eqx")
    # The estimator is stored as its RBF expansion in the JSON header (no pickle) and
    # the model is rebuilt from the file alone, predicting as scikit-learn did.
    assert b"pickle" not in path.read_bytes()[:64] and b"support_vectors" in path.read_bytes()
    back = cj.learn.load(path)
    assert isinstance(back, cj.learn.SVRMap)
    assert isinstance(back.estimator, cj.learn.RBFExpansion)
    assert back.estimator.support_vectors.shape[0] == fitted.n_support
    xs = cj.trajectory(model, model.default_state(), steps=20)
    np.testing.assert_allclose(
        jax.vmap(back.step)(xs), jax.vmap(model.step)(xs), rtol=1e-12, atol=1e-12
    )
    np.testing.assert_allclose(back.jacobian(xs[3]), model.jacobian(xs[3]), rtol=1e-6, atol=1e-9)
    # A template still works, and a second save of the rebuilt model round-trips too.
    again = cj.learn.load(cj.learn.save(back, tmp_path / "again.eqx"), like=back)
    np.testing.assert_array_equal(jax.vmap(again.step)(xs), jax.vmap(back.step)(xs))


def test_validation_and_reverse(series):
    res = cj.learn.fit_svr(series, C=100.0, validation_fraction=0.2, reverse=True)
    assert res.validation_nmse is not None and float(res.validation_nmse) < 1e-2


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(C=0.0), "C"),
        (dict(epsilon=-1.0), "epsilon"),
        (dict(gamma="wide"), "gamma"),
        (dict(gamma=-1.0), "gamma"),
        (dict(h=0.0), "h"),
        (dict(lags=0), "lags"),
        (dict(series=np.r_[np.zeros(10), np.inf, np.zeros(10)]), "series"),
        (dict(series=np.zeros(5)), "series"),
    ],
)
def test_bad_input_raises_naming_the_argument(kwargs, name):
    args = dict(series=np.sin(np.arange(40.0)))
    args.update(kwargs)
    with pytest.raises(ValueError, match=f"`{name}`"):
        cj.learn.fit_svr(args.pop("series"), **args)
