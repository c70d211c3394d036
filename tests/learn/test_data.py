import jax
import jax.numpy as jnp
import numpy as np
import pytest

import chaosjax as cj


@pytest.fixture(scope="module")
def lorenz_data():
    lor = cj.systems.Lorenz63()
    key = jax.random.key(3)
    ds = cj.learn.dataset(lor, 5, 100, dt=0.01, key=key, transient=50, noise=0.01, save_every=2)
    return lor, key, ds


def test_dataset_layout_values_and_provenance(lorenz_data):
    lor, key, ds = lorenz_data
    assert ds["states"].dims == ("member", "time", "state")
    assert ds["states"].shape == (5, 51, 3)
    assert list(ds["state"].values) == ["x", "y", "z"]  # Lorenz63.variable_names()
    # Whole trajectories per split, train first: (0.7, 0.15, 0.15) of 5 is 3, 1, 1.
    assert list(ds["split"].values) == ["train"] * 3 + ["validation", "test"]
    assert ds["split"].dims == ("member",)
    # Time counts from the sampled state, the transient included, in time units.
    np.testing.assert_allclose(ds["time"].values[:3], [0.50, 0.52, 0.54], rtol=1e-12)
    # The clean states are exactly cj.trajectory from the sampled initial states.
    x0 = lor.sample_state(jax.random.split(key)[0], 5)
    xs = cj.trajectory(lor, x0, steps=100, dt=0.01, transient=50, save_every=2)
    np.testing.assert_array_equal(ds["clean"].values, np.asarray(xs))
    assert ds.attrs["system"] == "lorenz63" and ds.attrs["dt"] == 0.01
    assert ds.attrs["noise"] == 0.01 and ds.attrs["transient"] == 50


def test_noise_is_relative_to_each_coordinates_std(lorenz_data):
    _, _, ds = lorenz_data
    clean = ds["clean"].values
    rel = (ds["states"].values - clean) / clean.reshape(-1, 3).std(axis=0)
    # 765 draws of N(0, 0.01^2) per coordinate: the sample std is within ~8 % of 0.01.
    np.testing.assert_allclose(rel.reshape(-1, 3).std(axis=0), 0.01, rtol=0.1)
    assert abs(rel.mean()) < 2e-3


def test_subset_and_netcdf_round_trip(lorenz_data, tmp_path):
    _, _, ds = lorenz_data
    train = cj.learn.subset(ds, "train")
    assert train["states"].shape == (3, 51, 3)
    np.testing.assert_array_equal(train["states"].values, ds["states"].values[:3])
    assert cj.learn.subset(ds, "test")["states"].shape == (1, 51, 3)
    back = cj.io.load(cj.io.save(ds, tmp_path / "data.nc"))
    np.testing.assert_array_equal(back["states"].values, ds["states"].values)
    with pytest.raises(ValueError, match="`which`"):
        cj.learn.subset(ds, "training")


def test_single_trajectory_splits_along_time_and_map_time_is_iterations():
    hen = cj.systems.Henon()
    ds = cj.learn.dataset(hen, 1, 99, key=jax.random.key(0), transient=100, split=(0.6, 0.2, 0.2))
    assert ds["split"].dims == ("time",)
    labels = ds["split"].values
    assert (labels == "train").sum() == 60 and (labels == "validation").sum() == 20
    # Contiguous, in order.
    assert list(labels[:60]) == ["train"] * 60 and list(labels[80:]) == ["test"] * 20
    np.testing.assert_array_equal(ds["time"].values[:2], [100.0, 101.0])
    assert ds.attrs["time_units"] == "iterations" and "dt" not in ds.attrs
    val = cj.learn.subset(ds, "validation")
    assert val["states"].shape == (1, 20, 2)
    # Consecutive states obey the map exactly.
    xs = ds["states"].values[0]
    np.testing.assert_allclose(np.asarray(jax.vmap(hen.step)(xs[:-1])), xs[1:], atol=1e-15)


def test_observe_gives_named_observations():
    hen = cj.systems.Henon()
    full = cj.learn.dataset(hen, 4, 20, key=jax.random.key(1))
    obs = cj.learn.dataset(hen, 4, 20, key=jax.random.key(1), observe=lambda x: x[0])
    assert obs["states"].shape == (4, 21, 1) and list(obs["state"].values) == ["y0"]
    np.testing.assert_array_equal(obs["states"].values[..., 0], full["states"].values[..., 0])
    assert obs.attrs["observed"] == 1


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(n_trajectories=0), "n_trajectories"),
        (dict(split=(0.5, 0.5, 0.5)), "split"),
        (dict(split=(0.0, 0.5, 0.5)), "split"),
        (dict(split=(0.8, 0.2)), "split"),
        (dict(noise=-0.1), "noise"),
        (dict(noise=float("nan")), "noise"),
        (dict(steps=0), "steps"),
        (dict(n_trajectories=2, split=(0.4, 0.3, 0.3)), "split"),
    ],
)
def test_dataset_bad_input(kwargs, name):
    args = dict(n_trajectories=4, steps=10)
    args.update(kwargs)
    with pytest.raises(ValueError, match=f"`{name}`"):
        cj.learn.dataset(
            cj.systems.Henon(), args.pop("n_trajectories"), args.pop("steps"),
            key=jax.random.key(0), **args,
        )  # fmt: skip


def test_delay_embed_order_and_delayed_henon_states():
    np.testing.assert_array_equal(
        cj.learn.delay_embed(jnp.arange(5.0), 3), [[2, 1, 0], [3, 2, 1], [4, 3, 2]]
    )
    # A DelayedHenon state is (x_{n-1}, ..., x_{n-d}): the delay vector of its series.
    m = cj.systems.DelayedHenon(d=4)
    xs = cj.trajectory(m, m.default_state(), steps=60, transient=100)
    s = xs[:, 0]
    np.testing.assert_array_equal(cj.learn.delay_embed(s, 4), xs[3:])
    pairs = cj.learn.delay_pairs(s, 4)
    assert pairs.inputs.shape == (57, 4) and pairs.targets.shape == (57,)
    np.testing.assert_array_equal(pairs.targets, s[4:])
    # The map's new value from each delay vector is its target
    # (to rounding: the trajectory ran in a fused compiled loop)
    np.testing.assert_allclose(jax.vmap(m.step)(pairs.inputs)[:, 0], pairs.targets, atol=1e-14)
    far = cj.learn.delay_pairs(s, 4, horizon=3)
    np.testing.assert_array_equal(far.targets, s[6:])
    np.testing.assert_array_equal(far.inputs, pairs.inputs[:55])


def test_delay_embed_batches_and_bad_input():
    series = jnp.stack([jnp.arange(6.0), 10 + jnp.arange(6.0)])
    out = cj.learn.delay_embed(series, 2)
    assert out.shape == (2, 5, 2)
    np.testing.assert_array_equal(out[1, 0], [11.0, 10.0])
    with pytest.raises(ValueError, match="`series`"):
        cj.learn.delay_embed(jnp.arange(3.0), 4)
    with pytest.raises(ValueError, match="`series`"):
        cj.learn.delay_pairs(jnp.arange(4.0), 4)
    with pytest.raises(ValueError, match="`series`"):
        cj.learn.delay_embed(jnp.array([0.0, jnp.nan, 1.0]), 2)
    with pytest.raises(ValueError, match="`lags`"):
        cj.learn.delay_embed(jnp.arange(4.0), 0)
    with pytest.raises(ValueError, match="`horizon`"):
        cj.learn.delay_pairs(jnp.arange(9.0), 2, horizon=0)


def test_normalizer_statistics_round_trip_and_no_gradient():
    x = jax.random.normal(jax.random.key(0), (200, 3)) * jnp.array([[1.0, 5.0, 0.0]]) + 2.0
    norm = cj.learn.Normalizer.fit(x)
    np.testing.assert_allclose(norm.mean, np.asarray(x).mean(axis=0), rtol=1e-14)
    # A constant coordinate keeps scale 1 instead of dividing by zero.
    np.testing.assert_allclose(norm.scale, [*np.asarray(x).std(axis=0)[:2], 1.0], rtol=1e-14)
    z = norm.normalize(x)
    np.testing.assert_allclose(z[:, :2].mean(axis=0), 0.0, atol=1e-14)
    np.testing.assert_allclose(z[:, :2].std(axis=0), 1.0, rtol=1e-14)
    np.testing.assert_allclose(norm.denormalize(z), x, rtol=1e-14, atol=1e-15)
    # A single state broadcasts against per-coordinate statistics.
    np.testing.assert_allclose(norm.normalize(x[0]), z[0], rtol=1e-14)
    grads = jax.grad(lambda n: jnp.sum(n.normalize(x) ** 2))(norm)
    assert np.all(np.asarray(grads.mean) == 0) and np.all(np.asarray(grads.scale) == 0)
    series = cj.learn.Normalizer.fit(jnp.arange(5.0))
    assert series.mean.shape == () and float(series.mean) == 2.0
    with pytest.raises(ValueError, match="`x`"):
        cj.learn.Normalizer.fit(jnp.array([[1.0, jnp.nan]]))
