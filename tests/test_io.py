import json
import os

import jax
import numpy as np
import pytest
import xarray as xr

import chaosjax as cj


@pytest.fixture(scope="module")
def lorenz_run():
    lor = cj.systems.Lorenz63(rho=30.0)
    xs = cj.trajectory(lor, lor.default_state(), steps=200, dt=0.01, transient=10, save_every=2)
    return lor, xs


def test_trajectory_dataset_round_trips_with_dims_units_and_provenance(tmp_path, lorenz_run):
    lor, xs = lorenz_run
    ds = cj.io.trajectory_dataset(
        lor, xs, dt=0.01, solver="rk4", seed=7, transient=10, save_every=2
    )
    path = cj.io.save(ds, tmp_path / "run.nc")
    back = cj.io.load(path)
    assert back["state"].dims == ("time", "component")
    np.testing.assert_array_equal(back["state"].values, np.asarray(xs))
    # The time axis counts from x0, transient included: 10 steps, then every 2nd.
    np.testing.assert_allclose(back["time"].values[:3], [0.10, 0.12, 0.14])
    assert back["time"].attrs["units"] == "time units of the system"
    assert back["state"].attrs["units"] == "state units"
    attrs = back.attrs
    assert attrs["system"] == "lorenz63" and attrs["kind"] == "flow"
    assert json.loads(attrs["parameters"])["rho"] == 30.0
    assert attrs["parameter_rho"] == 30.0
    assert attrs["dt"] == 0.01 and attrs["solver"] == "rk4" and attrs["seed"] == 7
    assert attrs["chaosjax_version"] == cj.__version__


def test_map_dataset_counts_iterations_and_has_no_dt(tmp_path):
    hen = cj.systems.Henon()
    xs = cj.trajectory(hen, hen.default_state(), steps=50)
    ds = cj.io.trajectory_dataset(hen, xs, dt=None)
    back = cj.io.load(cj.io.save(ds, tmp_path / "henon.nc"))
    assert back["time"].attrs["units"] == "iterations"
    assert "dt" not in back.attrs and "solver" not in back.attrs
    np.testing.assert_array_equal(back["time"].values, np.arange(51.0))


def test_ensemble_dataset_statistics(tmp_path):
    lor = cj.systems.Lorenz63()
    vals = np.array([[1.0, 2.0, 20.0], [3.0, 2.0, 24.0]])
    ds = cj.io.ensemble_dataset(
        lor,
        initial_states=np.zeros((2, 3)),
        time_averages=vals,
        dt=0.01,
        solver="rk4",
        seed=0,
        steps=100,
    )
    back = cj.io.load(cj.io.save(ds, tmp_path / "ens.nc"))
    np.testing.assert_allclose(back["mean"].values, [2.0, 2.0, 22.0])
    # ddof=1 spread over two members: |a - b| / sqrt(2).
    np.testing.assert_allclose(back["std"].values, [np.sqrt(2), 0.0, np.sqrt(8)])
    np.testing.assert_allclose(back["sem"].values, back["std"].values / np.sqrt(2))
    assert back.attrs["members"] == 2


def test_save_is_atomic_when_the_writer_fails(tmp_path, monkeypatch, lorenz_run):
    lor, xs = lorenz_run
    target = tmp_path / "run.nc"
    old = cj.io.trajectory_dataset(lor, xs[:5], dt=0.01)
    cj.io.save(old, target)
    before = target.read_bytes()

    def crash(self, path, **kwargs):
        with open(path, "wb") as f:
            f.write(b"half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(xr.Dataset, "to_netcdf", crash)
    with pytest.raises(KeyboardInterrupt):
        cj.io.save(cj.io.trajectory_dataset(lor, xs, dt=0.01), target)
    # The previous file is intact and no temporary file is left behind.
    assert target.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["run.nc"]


def test_write_json_and_text_are_atomic_and_readable(tmp_path):
    path = cj.io.write_json(tmp_path / "r.json", {"a": np.float64(1.5), "b": np.arange(3)})
    assert json.loads(path.read_text()) == {"a": 1.5, "b": [0, 1, 2]}
    assert oct(path.stat().st_mode & 0o777) != oct(0o600)  # not mkstemp's private mode


def test_bad_paths_and_formats_raise_clear_errors(tmp_path, lorenz_run):
    lor, xs = lorenz_run
    ds = cj.io.trajectory_dataset(lor, xs, dt=0.01)
    with pytest.raises(ValueError, match=r"\.nc"):
        cj.io.save(ds, tmp_path / "run.txt")
    with pytest.raises(FileNotFoundError, match="missing.nc"):
        cj.io.load(tmp_path / "missing.nc")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OSError):
        cj.io.save(ds, blocker / "run.nc")
    if not cj.io.zarr_available():
        with pytest.raises(ValueError, match="zarr"):
            cj.io.save(ds, tmp_path / "run.zarr")


def test_zarr_round_trip(tmp_path, lorenz_run):
    pytest.importorskip("zarr", reason="Zarr output needs the optional zarr package")
    lor, xs = lorenz_run
    ds = cj.io.trajectory_dataset(lor, xs, dt=0.01, seed=1)
    cj.io.save(ds, tmp_path / "run.zarr")
    cj.io.save(ds, tmp_path / "run.zarr")  # replacing an existing store
    back = cj.io.load(tmp_path / "run.zarr")
    np.testing.assert_array_equal(back["state"].values, np.asarray(xs))
    assert back.attrs["seed"] == 1


def test_attributes_of_a_users_own_system():
    class Decay(cj.Flow):
        k: float = cj.systems.param(0.5)

        def vector_field(self, x):
            return -self.k * x

        def default_state(self):
            return jax.numpy.ones(2)

    attrs = cj.io.attributes(Decay(), dt=0.1, solver="euler", seed=3)
    assert attrs["system"] == "Decay" and attrs["parameter_k"] == 0.5 and attrs["dim"] == 2
