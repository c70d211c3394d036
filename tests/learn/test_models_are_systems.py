"""Every fitted model is a chaosjax system: the analyses apply to it unchanged."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import chaosjax as cj


def _delayed_henon_series(n=300):
    dh = cj.systems.DelayedHenon(d=4, a=1.6, b=0.1)
    return np.asarray(cj.trajectory(dh, dh.default_state(), steps=n - 1, transient=1_000)[:, 0])


def _lorenz_states(n=600, dt=0.01):
    lor = cj.systems.Lorenz63()
    return np.asarray(cj.trajectory(lor, lor.default_state(), steps=n - 1, dt=dt, transient=500))


def _maps():
    series = _delayed_henon_series()
    net = cj.learn.fit_delay_mlp(
        series, key=jax.random.key(0), lags=5, hidden=4, restarts=1,
        stages=(("adam", 200), ("lbfgs", 100)),
    ).model  # fmt: skip
    svr = cj.learn.fit_svr(series, lags=5).model
    return {"delay_mlp": net, "svr": svr}


def _flows():
    xs = _lorenz_states()
    return {
        "sindy": cj.learn.fit_sindy(xs, dt=0.01),
        "linear": cj.learn.fit_linear_flow(xs, dt=0.01),
        "neural_ode": cj.learn.fit_neural_ode(
            xs, dt=0.01, key=jax.random.key(0), hidden=8, depth=1, segment_steps=5, steps=50
        ).model,
    }


@pytest.fixture(scope="module")
def models():
    return _maps(), _flows()


def test_fitted_maps_take_every_map_analysis(models):
    maps, _ = models
    for name, m in maps.items():
        assert isinstance(m, cj.Map), name
        x0 = m.default_state()
        res = cj.lyapunov_spectrum(m, x0, steps=500, transient=50)
        assert res.exponents.shape == (5,) and bool(jnp.all(jnp.isfinite(res.exponents))), name
        # The largest exponent of the full spectrum is the one-vector estimate (the first
        # column of the QR chain is the power iteration alone).
        lam1 = cj.max_lyapunov(m, x0, steps=500, transient=50).exponents[0]
        assert np.isclose(float(res.exponents[0]), float(lam1), rtol=1e-8, atol=1e-10), name
        lag = cj.lag_sensitivities(m, x0, 300)
        # A delay map's output depends on lag 1 most (the delayed Henon map: S(1) ~ 1.9).
        assert lag.sensitivities.shape == (5,) and int(np.argmax(lag.sensitivities)) == 0, name


def test_fitted_flows_take_every_flow_analysis(models):
    _, flows = models
    for name, f in flows.items():
        assert isinstance(f, cj.Flow), name
        x0 = f.default_state()
        xs = cj.trajectory(f, x0, steps=200, dt=0.01)
        assert bool(jnp.all(jnp.isfinite(xs))), name
        res = cj.lyapunov_spectrum(f, x0, steps=500, dt=0.01, throw=False)
        # Sum of exponents = mean divergence of the field along the orbit (RK4 error aside).
        if int(res.diverged_at) < 0:
            orbit = cj.trajectory(f, res.final_state, steps=10, dt=0.01)
            assert np.all(np.isfinite(np.asarray(orbit))), name
        lag = cj.lag_sensitivities(cj.discretize(f, 0.01), x0, 100)
        assert lag.sensitivities.shape == (3,), name


class DelayedHenonInFiveLags(cj.Map):
    """The delayed Henon map (d = 4) on delay vectors of 5 lags: the truth in the
    coordinates of a 5-lag model."""

    a: float = 1.6
    b: float = 0.1
    delay_coordinates = True
    sample_scale = 0.01

    def step(self, x):
        return jnp.concatenate([(1.0 - self.a * x[0] ** 2 + self.b * x[3])[None], x[:-1]])

    def default_state(self):
        return cj.systems.DelayedHenon(d=5).default_state()


def test_every_fitted_model_is_judged_by_evaluate(models):
    maps, flows = models
    quick = dict(starts=4, runs=2, run_steps=2_000, transient=200, spectrum_steps=1_000)
    for name, m in maps.items():
        # k = 4: the fifth lag never feeds back, so the truth's fifth exponent is -inf.
        ds = cj.learn.evaluate(m, DelayedHenonInFiveLags(), horizon=5.0, k=4, **quick).dataset
        assert ds.sizes["start"] == 4 and ds.sizes["lag"] == 5, name
        # The truth's own lag sensitivities: S(1) = 2a<|x|>, S(4) = b, the rest 0.
        s = np.asarray(ds["lag_sensitivities_truth"])
        assert s[3] == pytest.approx(0.1) and s[1] == s[2] == s[4] == 0.0, name
        assert np.all(np.asarray(ds["vpt_steps"]) >= 1), name
    for name, f in flows.items():
        ds = cj.learn.evaluate(f, cj.systems.Lorenz63(), dt=0.01, horizon=2.0, **quick).dataset
        assert ds.sizes["exponent"] == 3 and "lag" not in ds.coords, name
        assert np.isfinite(float(ds["exponents_truth"][0])), name
