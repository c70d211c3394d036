import jax
import jax.numpy as jnp
import numpy as np
import pytest

import chaosjax as cj


@pytest.fixture(scope="module")
def lorenz_box():
    lower, upper = jnp.array([-20.0, -27.0, 1.0]), jnp.array([20.0, 27.0, 49.0])
    return cj.learn.GridTokenizer(lower, upper, 50)


def test_round_trip_within_half_a_cell_and_row_major_order(lorenz_box):
    tok = lorenz_box
    assert tok.vocab_size == 125_000 and tok.dim == 3
    np.testing.assert_allclose(tok.cell_size, [0.8, 1.08, 0.96], rtol=1e-14)
    u = jax.random.uniform(jax.random.key(0), (4, 250, 3))
    xs = tok.lower[None, None] + u * (tok.upper - tok.lower)[None, None]
    tokens = tok.encode(xs)
    assert tokens.shape == (4, 250) and tokens.dtype == jnp.int32
    err = np.abs(np.asarray(tok.decode(tokens)) - np.asarray(xs)) / np.asarray(tok.cell_size)
    # A cell centre is within half a cell of every point of the cell (1e-9: rounding).
    assert err.max() <= 0.5 + 1e-9
    # The token is numpy's row-major index of the floor cell indices.
    idx = np.floor((np.asarray(xs) - np.asarray(tok.lower)) / np.asarray(tok.cell_size))
    expected = np.ravel_multi_index(tuple(idx.astype(int).reshape(-1, 3).T), (50, 50, 50))
    np.testing.assert_array_equal(np.asarray(tokens).ravel(), expected)
    # Decoding a centre gives back its token; every token in [0, n^3) round-trips.
    every = jnp.arange(125_000, dtype=jnp.int32)
    np.testing.assert_array_equal(tok.encode(tok.decode(every)), every)
    # Under jit too.
    np.testing.assert_array_equal(jax.jit(lambda t, x: t.encode(x))(tok, xs), tokens)


def test_states_outside_the_box_are_clipped_and_counted(lorenz_box):
    tok = lorenz_box
    inside = jnp.array([0.0, 0.0, 25.0])
    xs = jnp.stack(
        [
            inside,
            jnp.array([-25.0, 0.0, 25.0]),  # below in x
            jnp.array([0.0, 30.0, 60.0]),  # above in y and z
            jnp.array([20.0, 27.0, 49.0]),  # the upper corner itself: inside
            jnp.array([jnp.nan, 0.0, 0.0]),  # non-finite: token 0, counted
        ]
    )
    tokens, clipped = tok.encode_counting(xs)
    assert int(clipped) == 3
    assert int(tokens[4]) == 0
    np.testing.assert_array_equal(tok.encode(xs[1]), tok.encode(jnp.array([-20.0, 0.0, 25.0])))
    np.testing.assert_array_equal(tok.encode(xs[2]), tok.encode(jnp.array([0.0, 26.9, 48.9])))
    assert int(tokens[3]) == 125_000 - 1


def test_fit_widens_the_bounding_box_by_the_margin():
    hen = cj.systems.Henon()
    xs = cj.trajectory(hen, jnp.array([0.1, 0.1]), steps=5_000, transient=100)
    tok = cj.learn.GridTokenizer.fit(xs[None], 50, margin=0.1)
    lo, hi = np.asarray(xs).min(0), np.asarray(xs).max(0)
    np.testing.assert_allclose(tok.lower, lo - 0.1 * (hi - lo), rtol=1e-14)
    np.testing.assert_allclose(tok.upper, hi + 0.1 * (hi - lo), rtol=1e-14)
    tokens, clipped = tok.encode_counting(xs)
    assert int(clipped) == 0 and tokens.shape == (5_001,)
    # The Henon attractor occupies a small fraction of the 2,500 cells.
    assert 100 < len(np.unique(np.asarray(tokens))) < 1_000


def test_save_load_round_trip(tmp_path, lorenz_box):
    path = cj.learn.save(lorenz_box, tmp_path / "tok.eqx")
    back = cj.learn.load(path)
    assert back.n == 50 and back.max_vocab == lorenz_box.max_vocab
    np.testing.assert_array_equal(back.lower, lorenz_box.lower)
    np.testing.assert_array_equal(back.upper, lorenz_box.upper)


def test_bad_input(lorenz_box):
    with pytest.raises(ValueError, match="`states`"):
        lorenz_box.encode(jnp.zeros((10, 2)))
    with pytest.raises(ValueError, match="`states`"):
        cj.learn.GridTokenizer.fit(jnp.array([[0.0, jnp.inf]]), 10)
    with pytest.raises(ValueError, match="`tokens`"):
        lorenz_box.decode(jnp.zeros(3))
    # 200^3 = 8,000,000 tokens exceed the default limit of 2**22.
    with pytest.raises(ValueError, match="`n`"):
        cj.learn.GridTokenizer(lorenz_box.lower, lorenz_box.upper, 200)
    with pytest.raises(ValueError, match="`n`"):
        cj.learn.GridTokenizer.fit(jnp.ones((5, 3)), 20, max_vocab=1_000)
    with pytest.raises(ValueError, match="`max_vocab`"):
        cj.learn.GridTokenizer(lorenz_box.lower, lorenz_box.upper, 2, max_vocab=2**31)
    with pytest.raises(ValueError, match="`n`"):
        cj.learn.GridTokenizer(lorenz_box.lower, lorenz_box.upper, 0)
    with pytest.raises(ValueError, match="`lower`"):
        cj.learn.GridTokenizer(jnp.ones(3), jnp.zeros(3), 5)
    with pytest.raises(ValueError, match="`margin`"):
        cj.learn.GridTokenizer.fit(jnp.ones((5, 3)), 5, margin=-1.0)


def test_a_vocabulary_of_visited_cells_round_trips_and_maps_the_rest_to_the_nearest(tmp_path):
    lor = cj.systems.Lorenz63()
    xs = np.asarray(cj.trajectory(lor, lor.default_state(), steps=3_000, dt=0.01, transient=500))
    full = cj.learn.GridTokenizer.fit(xs, 20, margin=0.0)
    tok = cj.learn.GridTokenizer.fit(xs, 20, margin=0.0, occupied=True)
    visited = np.unique(np.asarray(full.encode(xs)))
    assert tok.vocab_size == visited.size < full.vocab_size
    # Training states: the same cell centre as the full grid, tokens in [0, k), none counted.
    tokens, outside = tok.encode_counting(xs)
    assert int(outside) == 0 and int(tokens.max()) == tok.vocab_size - 1
    np.testing.assert_array_equal(tok.decode(tokens), full.decode(full.encode(xs)))
    # A state in a cell never visited goes to the nearest visited cell and is counted.
    free = np.setdiff1d(np.arange(full.vocab_size), visited)[0]
    centre = np.asarray(full.decode(jnp.asarray(free)))
    t, counted = tok.encode_counting(centre[None])
    assert int(counted) == 1
    idx = np.stack(np.unravel_index(visited, (20, 20, 20)), -1)
    me = np.array(np.unravel_index(free, (20, 20, 20)))
    best = np.min(np.linalg.norm(idx - me, axis=1))
    got = np.array(np.unravel_index(int(visited[int(t[0])]), (20, 20, 20)))
    assert np.linalg.norm(got - me) == pytest.approx(best)
    path = cj.learn.save(tok, tmp_path / "tok.eqx")
    back = cj.learn.load(path)
    np.testing.assert_array_equal(back.encode(xs), tokens)
    with pytest.raises(ValueError, match="`occupied`"):
        cj.learn.GridTokenizer.fit(xs, 20, occupied=1)  # pyright: ignore[reportArgumentType]
    with pytest.raises(ValueError, match="`cells` and `table`"):
        cj.learn.GridTokenizer(tok.lower, tok.upper, 20, cells=tok.cells)
