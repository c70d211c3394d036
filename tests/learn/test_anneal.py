import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import chaosjax as cj


class Line(eqx.Module):
    w: jax.Array


@pytest.fixture(scope="module")
def problem():
    x = jnp.linspace(-1.0, 1.0, 40)
    y = 0.5 - 2.0 * x + 0.05 * jnp.sin(7.0 * x)
    A = np.stack([np.ones(40), np.asarray(x)], axis=1)
    w = np.linalg.lstsq(A, np.asarray(y), rcond=None)[0]
    loss = lambda m, d: jnp.mean((m.w[0] + m.w[1] * d[0] - d[1]) ** 2)
    return (x, y), loss, w, float(loss(Line(jnp.asarray(w)), (x, y)))


SHORT = cj.learn.Annealing(steps=6_000, step_size=0.3, final_step_size=1e-4, eval_every=1_000)


def test_anneal_finds_the_least_squares_line(problem):
    data, loss, w, best = problem
    res = cj.learn.anneal(Line(jnp.zeros(2)), loss, data, key=jax.random.key(0), schedule=SHORT)
    # A random search with the final neighbourhood 1e-4 lands within ~1e-3 of lstsq.
    np.testing.assert_allclose(res.model.w, w, atol=2e-3)
    assert float(res.restart_losses[0]) < best * (1 + 1e-3)
    assert float(res.restart_losses[0]) == pytest.approx(float(loss(res.model, data)), rel=1e-12)
    # The history is the best loss so far: never increasing, ending at the result.
    h = np.asarray(res.history[0])
    assert h.shape == (6,) and np.all(np.diff(h) <= 0) and h[-1] == res.restart_losses[0]
    assert 0 < float(res.acceptance[0]) < 1


def test_anneal_is_deterministic_and_restarts_are_vmapped(problem):
    data, loss, _, _ = problem
    init = lambda k: Line(jax.random.normal(k, (2,)))
    run = lambda key: cj.learn.anneal(init, loss, data, key=key, schedule=SHORT, restarts=3)
    a, b, c = run(jax.random.key(1)), run(jax.random.key(1)), run(jax.random.key(2))
    np.testing.assert_array_equal(a.restart_losses, b.restart_losses)
    np.testing.assert_array_equal(a.model.w, b.model.w)
    assert not np.array_equal(np.asarray(a.restart_losses), np.asarray(c.restart_losses))
    assert a.best_restart == int(np.argmin(a.restart_losses)) and len(a.models) == 3
    # A restart alone gives what it gives among others (restart r uses fold_in(key, r)).
    alone = cj.learn.anneal(init(jax.random.split(jax.random.fold_in(jax.random.key(1), 0))[0]),
                            loss, data, key=jax.random.key(1), schedule=SHORT)  # fmt: skip
    np.testing.assert_array_equal(alone.model.w, a.models[0].w)


def test_hill_climbing_accepts_only_improvements(problem):
    data, loss, _, _ = problem
    schedule = cj.learn.Annealing(steps=2_000, temperature=0.0, final_temperature=0.0,
                                  eval_every=100)  # fmt: skip
    res = cj.learn.anneal(Line(jnp.zeros(2)), loss, data, key=jax.random.key(3), schedule=schedule)
    # With T = 0 the current point is the best one, so every acceptance lowered the loss
    # and acceptances are rare once the neighbourhood is small.
    assert float(res.acceptance[0]) < 0.5
    assert float(res.restart_losses[0]) < float(loss(Line(jnp.zeros(2)), data))


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(steps=0), "steps"),
        (dict(step_size=-1.0), "step_size"),
        (dict(final_step_size=0.0), "final_step_size"),
        (dict(temperature=-1.0), "temperature"),
        (dict(temperature=0.0), "final_temperature"),
        (dict(far_probability=1.0), "far_probability"),
        (dict(far_factor=0.5), "far_factor"),
        (dict(eval_every=0), "eval_every"),
    ],
)
def test_bad_options_raise_naming_them(kwargs, name):
    with pytest.raises(ValueError, match=f"`{name}`"):
        cj.learn.Annealing(**kwargs)


def test_bad_arguments_raise(problem):
    data, loss, _, _ = problem
    with pytest.raises(ValueError, match="`model`"):
        cj.learn.anneal(Line(jnp.zeros(2)), loss, data, key=jax.random.key(0), restarts=2)
    with pytest.raises(ValueError, match="`data`"):
        cj.learn.anneal(Line(jnp.zeros(2)), loss, (data[0], jnp.full(40, jnp.nan)),
                        key=jax.random.key(0))  # fmt: skip
