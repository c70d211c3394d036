import jax
import jax.numpy as jnp
import numpy as np
import pytest

import chaosjax as cj

LAGS, HIDDEN = 5, 4
#: The exact lag sensitivities of the delayed Hénon map (d = 4) along 10,000 points:
#: S(1) = 2a <|x|> ~ 1.902, S(4) = b = 0.1 (A. Maus, "Delayed Henon Map Sensitivities").
TRUE_S1, TRUE_S4 = 1.902, 0.1


@pytest.fixture(scope="module")
def henon():
    return cj.systems.DelayedHenon(d=4, a=1.6, b=0.1)


@pytest.fixture(scope="module")
def series(henon):
    # 512 points after a transient, as in A. Maus, "Modelling Sensitivity using Neural
    # Networks" (2011).
    return cj.trajectory(henon, henon.default_state(), steps=511, transient=1_000)[:, 0]


@pytest.fixture(scope="module")
def light_fit(series):
    # Three restarts and 4,000 steps: enough for one restart of the true-lag family.
    return cj.learn.fit_delay_mlp(
        series, lags=LAGS, hidden=HIDDEN, restarts=3, key=jax.random.key(0),
        stages=[(cj.learn.Adam(learning_rate=1e-2), 2_000), ("lbfgs", 2_000)],
    )  # fmt: skip


@pytest.fixture(scope="module")
def annealed_fit(series):
    return cj.learn.fit_delay_mlp(
        series, restarts=2, key=jax.random.key(0),
        trainer=cj.learn.Annealing(steps=4_000, eval_every=500),
    )  # fmt: skip


# --------------------------------------------------------------------------- the model


def test_delay_mlp_is_a_delay_map_with_the_network_inside():
    norm = cj.learn.Normalizer(mean=jnp.asarray(0.3), scale=jnp.asarray(0.6))
    model = cj.learn.DelayMLP.random(jax.random.key(3), lags=3, hidden=4, normalizer=norm)
    x = jnp.array([0.2, -0.5, 0.9])
    # The network by hand: normalise, one tanh layer, linear readout, denormalise.
    W, c = np.asarray(model.weights[0]), np.asarray(model.biases[0])
    z = (np.asarray(x) - 0.3) / 0.6
    y = np.asarray(model.readout) @ np.tanh(W @ z + c) + float(model.readout_bias)
    np.testing.assert_allclose(model.predict(x), 0.6 * y + 0.3, rtol=1e-14)
    # step shifts the new value in, most recent first (the state of DelayedHenon).
    np.testing.assert_allclose(model.step(x), [0.6 * y + 0.3, 0.2, -0.5], rtol=1e-14)
    J = model.jacobian(x)
    np.testing.assert_allclose(J[0], jax.grad(model.predict)(x), rtol=1e-14)
    np.testing.assert_array_equal(J[1:], np.eye(2, 3))
    assert isinstance(model, cj.Map) and model.dim == 3 and model.hidden == 4
    assert cj.as_map(model) is model
    # jit and vmap see a plain pytree.
    batch = jnp.stack([x, 2 * x])
    np.testing.assert_allclose(
        jax.jit(jax.vmap(model.step))(batch)[1], model.step(2 * x), rtol=1e-14
    )


@pytest.mark.parametrize("activation", ["sigmoid", "relu", "identity"])
def test_other_activations_and_depth(activation):
    model = cj.learn.DelayMLP.random(
        jax.random.key(0), lags=2, hidden=3, depth=2, activation=activation
    )
    assert len(model.weights) == 2 and model.weights[1].shape == (3, 3)
    act = cj.learn.delay_mlp.ACTIVATIONS[activation]
    x = jnp.array([0.4, -0.1])
    h = act(model.weights[1] @ act(model.weights[0] @ x + model.biases[0]) + model.biases[1])
    np.testing.assert_allclose(model.predict(x), model.readout @ h + model.readout_bias)


# --------------------------------------------------------------------------- fitting


def test_light_fit_finds_the_lag_space_of_the_delayed_henon_map(light_fit, henon, series):
    res = light_fit
    assert res.nmse.shape == (3,) and res.sensitivities.shape == (3, LAGS)
    assert isinstance(res.selection, cj.learn.LowestNMSE) and res.trainer == "gradient"
    assert res.selected == int(np.argmin(res.nmse)) and res.model is res.models[res.selected]
    # The NMSE is recomputed independently from the model.
    pairs = cj.learn.delay_pairs(series, LAGS)
    pred = jax.vmap(res.model.predict)(pairs.inputs)
    nmse = float(jnp.mean((pred - pairs.targets) ** 2) / jnp.var(pairs.targets))
    assert nmse == pytest.approx(float(res.nmse[res.selected]), rel=1e-10)
    assert nmse < 1e-5
    # Sensitivities along the model's own orbit (it is a cj.Map): the true lag space.
    s = cj.lag_sensitivities(res.model, res.model.default_state(), 5_000, transient=500)
    S = np.asarray(s.sensitivities)
    assert abs(S[0] - TRUE_S1) < 0.05 * TRUE_S1
    assert abs(S[3] - TRUE_S4) < 0.03
    assert np.all(S[[1, 2, 4]] < 0.03)
    # The recorded ones (along the data) agree with cj.lag_sensitivities on the data.
    on_data = cj.lag_sensitivities(res.model, orbit=pairs.inputs)
    np.testing.assert_allclose(on_data.sensitivities, res.sensitivities[res.selected], rtol=1e-10)
    # The default state is the last delay vector of the data.
    np.testing.assert_array_equal(res.model.default_state(), series[-LAGS:][::-1])


def test_fitted_models_run_every_analysis_unchanged(light_fit, annealed_fit, henon):
    for model in (light_fit.model, annealed_fit.model):
        x0 = model.default_state()
        xs = cj.trajectory(model, x0, steps=200)
        assert xs.shape == (201, LAGS) and bool(jnp.all(jnp.isfinite(xs)))
        spec = cj.lyapunov_spectrum(model, x0, steps=2_000, transient=100)
        assert spec.exponents.shape == (LAGS,) and bool(jnp.all(jnp.isfinite(spec.exponents)))
        sens = cj.lag_sensitivities(model, x0, 1_000)
        assert sens.sensitivities.shape == (LAGS,)
    # The gradient-trained network's largest exponent is the map's (0.383 per iteration
    # over 2,000 steps; both runs are short, so 0.03).
    ref = cj.lyapunov_spectrum(henon, henon.default_state(), steps=2_000, transient=100)
    spec = cj.lyapunov_spectrum(light_fit.model, light_fit.model.default_state(), steps=2_000,
                                transient=100)  # fmt: skip
    assert abs(float(spec.exponents[0] - ref.exponents[0])) < 0.03


def test_save_load_round_trip_gives_identical_predictions(light_fit, annealed_fit, tmp_path):
    for i, model in enumerate((light_fit.model, annealed_fit.model)):
        path = cj.learn.save(model, tmp_path / f"model{i}.eqx")
        back = cj.learn.load(path)
        assert isinstance(back, cj.learn.DelayMLP) and back.activation == model.activation
        xs = cj.trajectory(model, model.default_state(), steps=100)
        np.testing.assert_array_equal(jax.vmap(back.step)(xs), jax.vmap(model.step)(xs))
        np.testing.assert_array_equal(back.default_state(), model.default_state())


def test_annealing_trainer_improves_the_initial_networks(annealed_fit, series):
    res = annealed_fit
    assert isinstance(res.trainer, cj.learn.Annealing)
    assert isinstance(res.training, cj.learn.AnnealResult)
    assert res.training.history.shape == (2, 8)
    # Same key, same initial networks as gradient training: their NMSE is the start.
    init = cj.learn.DelayMLP.random(
        jax.random.split(jax.random.fold_in(jax.random.key(0), 0))[0], lags=LAGS, hidden=HIDDEN,
        normalizer=res.model.normalizer, initial_state=res.model.initial_state,
    )  # fmt: skip
    pairs = cj.learn.delay_pairs(series, LAGS)
    start = float(
        jnp.mean((jax.vmap(init.predict)(pairs.inputs) - pairs.targets) ** 2)
        / jnp.var(pairs.targets)
    )
    assert float(res.nmse[0]) < 0.1 * start
    assert float(res.nmse[0]) == pytest.approx(float(res.training.restart_losses[0]), rel=1e-10)


def test_validation_rows_are_held_out_and_selected_on(series):
    res = cj.learn.fit_delay_mlp(
        series, restarts=2, key=jax.random.key(1), validation_fraction=0.25,
        stages=[("adam", 200)], eval_every=100,
    )  # fmt: skip
    assert res.validation_nmse is not None and res.validation_nmse.shape == (2,)
    assert res.selected == int(np.argmin(res.validation_nmse))
    # 508 rows, the last 127 held out: the default state ends the training part.
    np.testing.assert_array_equal(res.model.default_state(), series[381 + 4 : 380 : -1])


def test_checkpointed_fit_resumes_to_the_same_networks(series, tmp_path):
    kwargs = dict(restarts=2, key=jax.random.key(4), stages=[("adam", 100), ("lbfgs", 50)],
                  eval_every=50, checkpoint=str(tmp_path / "fit.ckpt"))  # fmt: skip
    first = cj.learn.fit_delay_mlp(series, **kwargs)
    again = cj.learn.fit_delay_mlp(series, **kwargs)  # resumed from the finished file
    np.testing.assert_array_equal(again.nmse, first.nmse)
    np.testing.assert_array_equal(again.model.readout, first.model.readout)


def test_reverse_trains_on_the_reversed_series(series):
    kwargs = dict(restarts=1, key=jax.random.key(2), stages=[("adam", 50)], eval_every=50)
    a = cj.learn.fit_delay_mlp(series, reverse=True, **kwargs)
    b = cj.learn.fit_delay_mlp(series[::-1], **kwargs)
    assert a.reverse and not b.reverse
    np.testing.assert_array_equal(a.nmse, b.nmse)
    np.testing.assert_array_equal(a.model.readout, b.model.readout)


def test_selection_rules():
    nmse = np.array([1e-6, 2e-6, 5e-5, np.inf])
    sens = np.array(
        [[1.3, 3.5, 0, 0.1, 0.2], [1.9, 0, 0, 0.1, 0], [1.9, 0, 0, 0.1, 0], [0, 0, 0, 0, 0]]
    )
    assert cj.learn.LowestNMSE().select(nmse, sens) == 0
    # Within 10x of the best, the smallest total sensitivity: restart 1, not 2 (too poor)
    # nor 3 (failed).
    assert cj.learn.Parsimonious().select(nmse, sens) == 1
    assert cj.learn.Parsimonious(factor=1.0).select(nmse, sens) == 0
    with pytest.raises(ValueError, match="`factor`"):
        cj.learn.Parsimonious(factor=0.5)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(series=np.arange(5.0), lags=5), "series"),
        (dict(series=np.r_[np.zeros(10), np.nan, np.zeros(10)]), "series"),
        (dict(series=np.zeros((2, 3, 20))), "series"),
        (dict(lags=0), "lags"),
        (dict(hidden=0), "hidden"),
        (dict(depth=0), "depth"),
        (dict(activation="tanhh"), "activation"),
        (dict(trainer="adam"), "trainer"),
        (dict(selection="lowest"), "selection"),
        (dict(validation_fraction=1.0), "validation_fraction"),
        (dict(validation_fraction=0.001), "validation_fraction"),
        (dict(restarts=0), "restarts"),
        (dict(trainer="anneal", stages=[("adam", 10)]), "stages"),
    ],
)
def test_bad_input_raises_naming_the_argument(kwargs, name):
    args = dict(series=np.sin(np.arange(50.0)), key=jax.random.key(0))
    args.update(kwargs)
    series = args.pop("series")
    with pytest.raises(ValueError, match=f"`{name}`"):
        cj.learn.fit_delay_mlp(series, **args)


def test_bad_model_fields_raise():
    with pytest.raises(ValueError, match="`activation`"):
        cj.learn.DelayMLP.random(jax.random.key(0), lags=2, hidden=2, activation="swish!")
    m = cj.learn.DelayMLP.random(jax.random.key(0), lags=2, hidden=2)
    with pytest.raises(ValueError, match="`readout`"):
        cj.learn.DelayMLP(
            weights=m.weights, biases=m.biases, readout=jnp.zeros(3), readout_bias=0.0,
            normalizer=m.normalizer, initial_state=m.initial_state,
        )  # fmt: skip


# --------------------------------------------------------------------------- reproduction


@pytest.mark.slow
def test_reproduces_the_delayed_henon_network_and_its_inverse(henon, series):
    """The 5-lag, 4-neuron tanh network of A. Maus, "Modelling Sensitivity using Neural
    Networks" (2011), with 10 restarts, Adam then L-BFGS, and the lowest-NMSE rule."""
    res = cj.learn.fit_delay_mlp(series, lags=LAGS, hidden=HIDDEN, restarts=10,
                                 key=jax.random.key(0))  # fmt: skip
    best = res.selected
    assert best == int(np.argmin(res.nmse)) and float(res.nmse[best]) < 1e-5
    S = np.asarray(res.sensitivities[best])
    assert abs(S[0] - TRUE_S1) < 0.05 * TRUE_S1
    assert abs(S[3] - TRUE_S4) < 0.03
    assert np.all(S[[1, 2, 4]] < 0.03)
    own = cj.lag_sensitivities(res.model, res.model.default_state(), 10_000, transient=1_000)
    np.testing.assert_allclose(own.sensitivities, [TRUE_S1, 0, 0, TRUE_S4, 0], atol=0.03)
    # Both families occur among the restarts: the true lags, and networks that rebuild
    # x_{n-1} from x_{n-2} and x_{n-5} (S(2) well above zero) with as small an error.
    s2 = np.asarray(res.sensitivities[:, 1])
    good = np.asarray(res.nmse) < 1e-5
    assert np.sum(good & (s2 < 0.03)) >= 1 and np.sum(good & (s2 > 0.1)) >= 1

    # The reversed series: a model of the inverted map, against its exact sensitivities
    # along the same data (~19.0 and 10).
    exact = cj.lag_sensitivities(henon, orbit=cj.learn.delay_embed(series, 4), inverse=True)
    true_inv = np.asarray(exact.inverse.sensitivities)
    rev = cj.learn.fit_delay_mlp(series, lags=LAGS, hidden=HIDDEN, restarts=10,
                                 key=jax.random.key(0), reverse=True)  # fmt: skip
    R = np.asarray(rev.sensitivities[rev.selected])
    assert float(rev.nmse[rev.selected]) < 1e-3
    assert abs(R[2] - true_inv[2]) < 0.02 * true_inv[2]
    # In reversed coordinates lags 1, 4 and 5 are related (x_{n+1} = 1 - a x_n^2 +
    # b x_{n-3}), so S(4) trades against S(5): 10 % on S(4).
    assert abs(R[3] - true_inv[3]) < 0.1 * true_inv[3]
    assert np.all(R[[0, 1]] < 0.1)
