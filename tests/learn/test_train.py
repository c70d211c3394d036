import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import chaosjax as cj


class Linear(eqx.Module):
    w: jax.Array


def sq_loss(model, batch):
    A, b = batch
    return jnp.mean((A @ model.w - b) ** 2)


@pytest.fixture(scope="module")
def lstsq_problem():
    kA, kb = jax.random.split(jax.random.key(0))
    # Columns of different scale: condition number ~ 30.
    A = jax.random.normal(kA, (64, 4)) * jnp.array([[1.0, 3.0, 0.3, 1.5]])
    b = jnp.sin(jnp.arange(64.0)) + 0.1 * jax.random.normal(kb, (64,))
    w = np.linalg.lstsq(np.asarray(A), np.asarray(b), rcond=None)[0]
    return A, b, w


def test_adam_full_batch_converges_to_lstsq(lstsq_problem):
    A, b, w = lstsq_problem
    res = cj.learn.fit(
        Linear(jnp.zeros(4)), sq_loss, (A, b), key=jax.random.key(1),
        steps=3000, optimizer="adam", learning_rate=2e-2, eval_every=500,
    )  # fmt: skip
    # Full-batch Adam on a convex quadratic settles onto the minimiser.
    np.testing.assert_allclose(res.model.w, w, atol=1e-8)
    assert res.history.train.shape == (1, 6)
    np.testing.assert_array_equal(res.history.steps, [500, 1000, 1500, 2000, 2500, 3000])
    assert int(res.steps_done[0]) == 3000 and not bool(res.stopped_early[0])
    assert float(res.restart_losses[0]) == pytest.approx(float(sq_loss(res.model, (A, b))))


def test_lbfgs_converges_to_lstsq_in_few_steps(lstsq_problem):
    A, b, w = lstsq_problem
    res = cj.learn.fit(
        Linear(jnp.zeros(4)), sq_loss, (A, b), key=jax.random.key(1),
        steps=20, optimizer=cj.learn.LBFGS(), eval_every=20,
    )  # fmt: skip
    np.testing.assert_allclose(res.model.w, w, atol=1e-10)


def test_minibatch_adam_then_lbfgs_stages_and_determinism(lstsq_problem):
    A, b, w = lstsq_problem
    kwargs = dict(
        key=jax.random.key(2), batch_size=16, eval_every=100,
        stages=[(cj.learn.Adam(learning_rate=optax.exponential_decay(3e-2, 200, 0.5)), 400),
                ("lbfgs", 20)],  # compiled once with the test above
    )  # fmt: skip
    res = cj.learn.fit(Linear(jnp.zeros(4)), sq_loss, (A, b), **kwargs)
    # Adam on mini-batches ends near w; L-BFGS on the full batch finishes the job.
    np.testing.assert_allclose(res.model.w, w, atol=1e-10)
    np.testing.assert_array_equal(res.history.stage, [0, 0, 0, 0, 1])
    adam_only = cj.learn.fit(
        Linear(jnp.zeros(4)), sq_loss, (A, b), **{**kwargs, "stages": kwargs["stages"][:1]}
    )
    assert 1e-10 < float(jnp.max(jnp.abs(adam_only.model.w - w))) < 0.2
    again = cj.learn.fit(
        Linear(jnp.zeros(4)), sq_loss, (A, b), **{**kwargs, "stages": kwargs["stages"][:1]}
    )
    assert jnp.array_equal(again.model.w, adam_only.model.w)
    other = cj.learn.fit(
        Linear(jnp.zeros(4)), sq_loss, (A, b),
        **{**kwargs, "stages": kwargs["stages"][:1], "key": jax.random.key(3)},
    )  # fmt: skip
    assert not jnp.array_equal(other.model.w, adam_only.model.w)


def test_early_stopping_stops_and_keeps_the_best_validation_point():
    # Training pulls w from 0 to 1; the validation loss is smallest at w = 0.2.
    class Scalar(eqx.Module):
        w: jax.Array

    loss = lambda m, target: jnp.mean((m.w - target) ** 2)
    res = cj.learn.fit(
        Scalar(jnp.zeros(())), loss, jnp.ones(1), key=jax.random.key(0),
        steps=2000, optimizer=optax.sgd(1e-2), validation=jnp.full(1, 0.2),
        early_stopping=3, eval_every=10,
    )  # fmt: skip
    assert bool(res.stopped_early[0])
    steps_done = int(res.steps_done[0])
    assert steps_done < 300
    # w_k = 1 - 0.98^k: the best evaluation is the multiple of 10 nearest 0.2 (k ~ 11).
    k = np.arange(10, 2001, 10)
    best_k = k[np.argmin(np.abs(1 - 0.98**k - 0.2))]
    assert float(res.model.w) == pytest.approx(1 - 0.98**best_k, rel=1e-12)
    assert steps_done == best_k + 30
    evals = steps_done // 10
    assert np.all(np.isfinite(res.history.validation[0, :evals]))
    assert np.all(np.isnan(res.history.validation[0, evals:]))


def double_well_init(key):
    return Linear(2.0 * jax.random.normal(key, (1,)))


def double_well(model, data):
    # Two minima: the global one near w = -1.07, a local one near w = +0.92.
    w = model.w[0]
    return (w**2 - 1.0) ** 2 + 0.3 * w + 0.0 * jnp.sum(data)


def test_restarts_pick_the_best_and_vmap_equals_sequential():
    kw = dict(key=jax.random.key(5), steps=300, optimizer="adam", learning_rate=3e-2,
              eval_every=100, restarts=6)  # fmt: skip
    res = cj.learn.fit(double_well_init, double_well, jnp.zeros(1), **kw)
    finals = np.asarray([float(m.w[0]) for m in res.models])
    # Both basins are reached from these keys, and the global minimum is picked.
    assert np.any(finals < -0.9) and np.any(finals > 0.8)
    assert res.best_restart == int(np.argmin(res.restart_losses))
    assert float(res.model.w[0]) < -1.0
    np.testing.assert_allclose(
        res.restart_losses, [float(double_well(m, jnp.zeros(1))) for m in res.models], rtol=1e-12
    )
    seq = cj.learn.fit(double_well_init, double_well, jnp.zeros(1), vmap_restarts=False, **kw)
    for a, b in zip(res.models, seq.models, strict=True):
        # Vectorised and one-by-one runs differ only in rounding.
        np.testing.assert_allclose(a.w, b.w, rtol=1e-12)
    np.testing.assert_allclose(res.history.train, seq.history.train, rtol=1e-12)
    # Restart r is initialised from fold_in(key, r).
    k0 = jax.random.split(jax.random.fold_in(jax.random.key(5), 0))[0]
    single = cj.learn.fit(double_well_init(k0), double_well, jnp.zeros(1),
                          **{**kw, "restarts": 1})  # fmt: skip
    np.testing.assert_allclose(single.model.w, res.models[0].w, rtol=1e-12)


class Poly(eqx.Module):
    c: jax.Array


def poly_init(key):
    # Degree 1 or 2 depending on the key: restarts of different shapes.
    degree = 1 + int(jax.random.bernoulli(key))
    return Poly(0.1 * jax.random.normal(key, (degree + 1,)))


def poly_loss(model, batch):
    x, y = batch
    powers = x[:, None] ** jnp.arange(model.c.shape[0], dtype=x.dtype)[None, :]
    return jnp.mean((powers @ model.c - y) ** 2)


def test_restarts_of_different_shapes_run_in_groups():
    x = jnp.linspace(-1, 1, 30)
    y = 1.0 - 2.0 * x + 0.5 * x**2
    kw = dict(key=jax.random.key(0), steps=1000, optimizer="adam", learning_rate=5e-2,
              restarts=3, eval_every=500)  # fmt: skip
    res = cj.learn.fit(poly_init, poly_loss, (x, y), **kw)
    sizes = [m.c.shape[0] for m in res.models]
    assert set(sizes) == {2, 3}
    # Only a quadratic fits exactly, so a degree-2 restart wins.
    assert res.model.c.shape == (3,)
    np.testing.assert_allclose(res.model.c, [1.0, -2.0, 0.5], atol=1e-6)
    seq = cj.learn.fit(poly_init, poly_loss, (x, y), vmap_restarts=False, **kw)
    for a, b in zip(res.models, seq.models, strict=True):
        np.testing.assert_allclose(a.c, b.c, rtol=1e-10, atol=1e-12)


def test_normalizer_is_not_trained_even_with_weight_decay(lstsq_problem):
    A, b, w = lstsq_problem

    class Scaled(eqx.Module):
        norm: cj.learn.Normalizer
        w: jax.Array

    def loss(m, batch):
        A, b = batch
        return jnp.mean((m.norm.normalize(A) @ m.w - b) ** 2)

    norm = cj.learn.Normalizer.fit(A)
    res = cj.learn.fit(
        Scaled(norm, jnp.zeros(4)), loss, (A, b), key=jax.random.key(0), steps=200,
        optimizer=cj.learn.AdamW(learning_rate=1e-2, weight_decay=0.1), eval_every=100,
    )  # fmt: skip
    assert jnp.array_equal(res.model.norm.mean, norm.mean)
    assert jnp.array_equal(res.model.norm.scale, norm.scale)
    assert not jnp.array_equal(res.model.w, jnp.zeros(4))


def test_progress_bar_and_callback_run(lstsq_problem, capsys):
    A, b, _ = lstsq_problem
    seen = []
    cj.learn.fit(
        Linear(jnp.zeros(4)), sq_loss, (A, b), key=jax.random.key(0), steps=30,
        eval_every=10, progress=True, callback=lambda step, tl, vl: seen.append(step),
    )  # fmt: skip
    assert seen == [10, 20, 30]


def test_a_sampler_draws_the_batches(lstsq_problem):
    A, b, w = lstsq_problem
    kw = dict(key=jax.random.key(3), steps=200, eval_every=100, learning_rate=2e-2)
    full = cj.learn.fit(Linear(jnp.zeros(4)), sq_loss, (A, b), **kw)
    # A sampler that returns the whole data is full-batch training, bit for bit.
    same = cj.learn.fit(Linear(jnp.zeros(4)), sq_loss, (A, b), sample=lambda k, d: d, **kw)
    assert jnp.array_equal(full.model.w, same.model.w)

    # A sampler of 8 random rows with replacement (keyed by the step) trains on them,
    # and its note appears after each evaluation without changing the result.
    def rows(k, data):
        idx = jax.random.randint(k, (8,), 0, data[0].shape[0])
        return data[0][idx], data[1][idx]

    notes = []
    res = cj.learn.fit(
        Linear(jnp.zeros(4)), sq_loss, (A, b), sample=rows, progress=True,
        callback=lambda step, tl, vl: notes.append(step) or f"note {step}", **kw,
    )  # fmt: skip
    again = cj.learn.fit(Linear(jnp.zeros(4)), sq_loss, (A, b), sample=rows, **kw)
    assert notes == [100, 200] and jnp.array_equal(res.model.w, again.model.w)
    assert not jnp.array_equal(res.model.w, full.model.w)
    # Noisy gradients (8 of 64 rows) end near the least-squares minimum, not on it.
    best = float(sq_loss(Linear(jnp.asarray(w)), (A, b)))
    assert best < float(res.history.train[0, -1]) < 1.1 * best


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(data=(jnp.array([[1.0, jnp.nan]] * 4), jnp.ones(4))), "data"),
        (dict(data=(jnp.ones((4, 2)), jnp.ones(5))), "data"),
        (dict(validation=(jnp.ones((3, 2)), jnp.array([1.0, 2.0, jnp.inf]))), "validation"),
        (dict(batch_size=5), "batch_size"),
        (dict(batch_size=0), "batch_size"),
        (dict(optimizer="adma"), "optimizer"),
        (dict(optimizer=cj.learn.Adam(), learning_rate=1e-2), "learning_rate"),
        (dict(steps=None), "steps"),
        (dict(steps=0), "steps"),
        (dict(restarts=2), "model"),
        (dict(eval_every=0), "eval_every"),
        (dict(early_stopping=0), "early_stopping"),
        (dict(stages=[("adam", 10)]), "stages"),
        (dict(steps=None, stages=[("sgd", 10)]), "stages"),
        (dict(steps=None, stages=[]), "stages"),
        (dict(loss=lambda m, batch: batch[0] @ m.w), "loss"),
        (dict(checkpoint_every=0), "checkpoint_every"),
        (dict(sample=lambda k, data: data, batch_size=2), "batch_size"),
    ],
)
def test_fit_bad_input(kwargs, name):
    args = dict(
        model=Linear(jnp.zeros(2)), loss=sq_loss, data=(jnp.ones((4, 2)), jnp.ones(4)),
        key=jax.random.key(0), steps=10,
    )  # fmt: skip
    args.update(kwargs)
    with pytest.raises(ValueError, match=f"`{name}`"):
        cj.learn.fit(args.pop("model"), args.pop("loss"), args.pop("data"), **args)


def test_optimizer_options_validate_themselves():
    with pytest.raises(ValueError, match="`learning_rate`"):
        cj.learn.Adam(learning_rate=-1.0)
    with pytest.raises(ValueError, match="`weight_decay`"):
        cj.learn.AdamW(weight_decay=-1.0)
    with pytest.raises(ValueError, match="`memory_size`"):
        cj.learn.LBFGS(memory_size=0)
    with pytest.raises(ValueError, match="`steps`"):
        cj.learn.Stage("adam", 0)
    assert isinstance(cj.learn.Stage("lbfgs", 3).optimizer, cj.learn.LBFGS)


def test_a_catalogue_map_is_fitted_directly_and_stays_a_map():
    # Parameters are leaves, so a chaosjax system trains as it is: one-step loss on
    # Henon (1976) pairs recovers a = 1.4, b = 0.3.
    truth = cj.systems.Henon()
    xs = cj.trajectory(truth, truth.default_state(), steps=200)
    loss = lambda m, pair: jnp.mean((jax.vmap(m.step)(pair[0]) - pair[1]) ** 2)
    res = cj.learn.fit(
        cj.systems.Henon(a=1.2, b=0.2), loss, (xs[:-1], xs[1:]), key=jax.random.key(0),
        steps=1500, optimizer="adam", learning_rate=2e-2, eval_every=500,
    )  # fmt: skip
    assert isinstance(res.model, cj.systems.Henon)
    np.testing.assert_allclose([res.model.a, res.model.b], [1.4, 0.3], atol=1e-6)
    lam = cj.lyapunov_spectrum(res.model, truth.default_state(), steps=20_000).exponents
    np.testing.assert_allclose(lam, truth.reference_exponents, atol=1e-2)
