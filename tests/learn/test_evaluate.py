"""`cj.learn.evaluate`: the verdict on a model judged as a dynamical system.

The truth judged against itself is the check that cannot be faked: its forecasts never
fail, its distributions match the truth's as well as the truth's own runs match each
other, and its spectrum is the truth's."""

from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import chaosjax as cj
import chaosjax.plot as cjp
from chaosjax.systems import Map


@pytest.fixture(scope="module")
def henon_self():
    hen = cj.systems.Henon()
    return cj.learn.evaluate(hen, hen, starts=10, runs=4, run_steps=6_000, spectrum_steps=20_000)


def test_truth_against_itself_never_fails(henon_self):
    ds = henon_self.dataset
    horizon = int(ds.attrs["horizon_steps"])
    # 20 Lyapunov times of lambda = 0.419 per iteration: 48 iterations.
    assert horizon == int(np.ceil(20 / float(ds["exponents_truth"][0])))
    assert np.all(np.asarray(ds["exceeded"]) == 0)
    assert np.all(np.asarray(ds["vpt_steps"]) == horizon)
    assert np.allclose(np.asarray(ds["vpt_lyapunov"]), horizon * float(ds["exponents_truth"][0]))
    assert float(np.abs(ds["forecast_error"]).max()) < 1e-8


def test_truth_against_itself_has_the_true_statistics_and_spectrum(henon_self):
    ds = henon_self.dataset
    ratio = np.asarray(ds["wasserstein_ratio"])
    assert ds.sizes["pair"] == 6  # every pair of 4 true runs
    assert np.all((ratio > 0.4) & (ratio < 2.5)), ratio
    em, et = np.asarray(ds["exponents_model"]), np.asarray(ds["exponents_truth"])
    assert np.allclose(et, [0.41922, -1.62319], atol=0.01)
    assert np.allclose(em, et, atol=0.01)
    assert float(ds["ky_truth"]) == pytest.approx(1.2583, abs=0.01)
    assert float(ds["largest_relative_error"]) < 0.02
    assert ds.attrs["diverged"] == 0
    text = str(henon_self)
    assert "valid prediction time" in text and "Kaplan-Yorke" in text and "never exceeded" in text


def test_a_perturbed_model_fails_in_finite_time_and_figures_draw(henon_self):
    hen = cj.systems.Henon()
    verdict = cj.learn.evaluate(
        hen.replace(a=1.38), hen, starts=6, runs=3, run_steps=3_000, spectrum_steps=5_000
    )
    ds = verdict.dataset
    assert np.all(np.asarray(ds["exceeded"]) == 1)
    assert 0 < verdict.vpt < 20
    # The error is above the threshold at the valid time and below it just before.
    e = np.asarray(ds["forecast_error"])
    steps = np.asarray(ds["vpt_steps"])
    for i, s in enumerate(steps):
        assert e[i, s] > 0.4 and np.all(e[i, :s] <= 0.4)
    figs = cjp.verdict_figures(verdict)
    assert set(figs) == {"forecast", "distributions", "spectra"}


def test_lorenz_flow_against_itself():
    lor = cj.systems.Lorenz63()
    ds = cj.learn.evaluate(
        lor, lor, dt=0.01, starts=4, runs=2, run_steps=5_000, transient=500,
        spectrum_steps=10_000, horizon=10.0,
    ).dataset  # fmt: skip
    assert np.all(np.asarray(ds["exceeded"]) == 0)
    assert float(ds["exponents_truth"][0]) == pytest.approx(0.906, abs=0.06)
    assert ds.attrs["dt"] == 0.01


class DelayedLogisticModel(Map):
    """The logistic map in delay coordinates (x_t, x_{t-1}), observing x_t only: a model
    with a hidden coordinate, synchronised from two observations."""

    r: float = 3.9
    name: ClassVar[str] = "delayed_logistic_model"

    @property
    def history_length(self) -> int:
        return 2

    def step(self, x):
        return jnp.stack([self.r * x[0] * (1.0 - x[0]), x[0]])

    def observe(self, x):
        return x[:1]

    def synchronise(self, history):
        return jnp.stack([history[-1, 0], history[-2, 0]])

    def default_state(self):
        return jnp.array([0.3, 0.2])


def test_a_hidden_state_model_is_synchronised_from_its_history():
    ds = cj.learn.evaluate(
        DelayedLogisticModel(), cj.systems.Logistic(r=3.9), starts=8, runs=2, run_steps=2_000,
        spectrum_steps=5_000, k=1,
    ).dataset  # fmt: skip
    assert ds.sizes["coordinate"] == 1
    assert float(np.abs(ds["forecast_error"]).max()) < 1e-6
    assert float(ds["exponents_model"][0]) == pytest.approx(
        float(ds["exponents_truth"][0]), abs=0.02
    )


def test_delay_maps_get_their_lag_sensitivities():
    dh = cj.systems.DelayedHenon(d=4)
    ds = cj.learn.evaluate(dh, dh, starts=4, runs=2, run_steps=3_000, spectrum_steps=5_000).dataset
    s = np.asarray(ds["lag_sensitivities_model"])
    assert np.allclose(s, np.asarray(ds["lag_sensitivities_truth"]), atol=0.05)
    assert s[3] == pytest.approx(0.1) and s[1] == 0.0 and s[2] == 0.0


def test_a_diverging_model_is_reported_not_raised():
    hen = cj.systems.Henon()
    verdict = cj.learn.evaluate(
        hen.replace(a=2.2), hen, starts=4, runs=2, run_steps=2_000, spectrum_steps=2_000
    )
    ds = verdict.dataset
    assert ds.attrs["diverged"] == 1
    assert np.all(np.isinf(np.asarray(ds["wasserstein_ratio"])))
    assert "DIVERGED" in str(verdict)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"model": cj.systems.Lorenz63(), "dt": 0.01}, "`model`"),
        ({"threshold": 0.0}, "`threshold`"),
        ({"threshold": -1.0}, "`threshold`"),
        ({"runs": 1}, "`runs`"),
        ({"run_steps": 100, "horizon": 40.0}, "`run_steps`"),
        ({"model": "henon"}, "`model`"),
        ({"k": 3}, "`k`"),
        ({"dt": 0.01, "model": cj.discretize(cj.systems.Lorenz63(), dt=0.02)}, "`model`"),
    ],
)
def test_bad_input_names_the_argument(kwargs, fragment):
    args = {"model": cj.systems.Henon(), "truth": cj.systems.Henon(), "runs": 2} | kwargs
    if "dt" in kwargs and "truth" not in kwargs and isinstance(args["model"], Map):
        args["truth"] = cj.systems.Lorenz63()
    with pytest.raises(ValueError, match=fragment):
        cj.learn.evaluate(**args)


def test_key_changes_the_runs_and_is_reproducible():
    hen = cj.systems.Henon()
    kw = dict(starts=2, runs=2, run_steps=1_000, spectrum_steps=1_000)
    a = cj.learn.evaluate(hen.replace(a=1.39), hen, key=jax.random.key(1), **kw).dataset
    b = cj.learn.evaluate(hen.replace(a=1.39), hen, key=jax.random.key(1), **kw).dataset
    c = cj.learn.evaluate(hen.replace(a=1.39), hen, key=jax.random.key(2), **kw).dataset
    assert np.array_equal(np.asarray(a["long_truth"]), np.asarray(b["long_truth"]))
    assert not np.array_equal(np.asarray(a["long_truth"]), np.asarray(c["long_truth"]))


@pytest.mark.slow
def test_an_esn_of_lorenz63_passes_the_whole_verdict():
    # 600 units, spectral radius 0.9, ridge readout on [1, r, r^2], 20,000 rows at
    # dt = 0.02. evaluate draws its own test starts and long runs (key 7), never seen in
    # fitting. Measured: VPT 10.8 +- 1.6 Lyapunov times, largest exponent 0.893,
    # Wasserstein ratios 1.21, 1.21, 0.98.
    lor = cj.systems.Lorenz63()
    x0 = lor.sample_state(jax.random.key(11), 1)
    xs = np.asarray(cj.trajectory(lor, x0, steps=20_000, dt=0.02, transient=1_000))[0]
    esn = cj.learn.fit_esn(xs, dt=0.02, key=jax.random.key(0), n=600).model
    verdict = cj.learn.evaluate(esn, lor, starts=10, runs=5, key=jax.random.key(7))
    ds = verdict.dataset
    assert ds.attrs["dt"] == 0.02 and ds.sizes["start"] == 10 and ds.sizes["pair"] == 10
    assert verdict.vpt >= 8.0, np.asarray(ds["vpt_lyapunov"])
    assert abs(float(ds["exponents_model"][0]) - 0.906) < 0.05 * 0.906
    assert np.all(verdict.wasserstein_ratio < 2.0), verdict.wasserstein_ratio
