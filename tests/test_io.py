import json
import os

import jax
import numpy as np
import pytest
import xarray as xr

import chaosjax as cj
from chaosjax import _files


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
    assert back["state"].dims == ("time", "variable")
    np.testing.assert_array_equal(back["state"].values, np.asarray(xs))
    # The variables are named as in Lorenz (1963), and selectable by name.
    assert list(back["variable"].values) == ["x", "y", "z"]
    np.testing.assert_array_equal(back["state"].sel(variable="z").values, np.asarray(xs)[:, 2])
    # The time axis counts from x0, transient included: 10 steps, then every 2nd.
    np.testing.assert_allclose(back["time"].values[:3], [0.10, 0.12, 0.14])
    # CF units: a nondimensional time and state are "1".
    assert back["time"].attrs["units"] == "1" and back["state"].attrs["units"] == "1"
    assert set(back["state"].dims) <= set(back.coords)
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
    assert back["time"].attrs["units"] == "1"
    assert back["time"].attrs["long_name"] == "iterations since x0"
    assert list(back["variable"].values) == ["x", "y"]
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


@pytest.mark.parametrize("in_memory", [True, False])
def test_save_is_atomic_when_the_writer_fails(tmp_path, monkeypatch, lorenz_run, in_memory):
    lor, xs = lorenz_run
    target = tmp_path / "run.nc"
    old = cj.io.trajectory_dataset(lor, xs[:5], dt=0.01)
    cj.io.save(old, target)
    before = target.read_bytes()
    # Small datasets are serialised in memory first, large ones written by HDF5 itself.
    monkeypatch.setattr(_files, "_IN_MEMORY_BYTES", 1 << 30 if in_memory else 0)

    def crash(self, path=None, **kwargs):
        assert (path is None) == in_memory
        if path is not None:
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


# --------------------------------------------------------------------------- analysis datasets


def _provenance(attrs, system_name):
    assert attrs["system"] == system_name and attrs["chaosjax_version"] == cj.__version__
    assert "created" in attrs and "parameters" in attrs


def test_lyapunov_dataset_of_a_map_and_a_flow(tmp_path):
    hen = cj.systems.Henon()
    res = cj.lyapunov_spectrum(hen, hen.default_state(), steps=2_000, transient=100)
    ds = cj.io.lyapunov_dataset(hen, res, dt=None, steps=2_000, transient=100)
    back = cj.io.load(cj.io.save(ds, tmp_path / "l.nc"))
    assert list(back.data_vars) == ["exponents", "history", "kaplan_yorke_dimension"]
    assert back["exponents"].dims == ("exponent",) and back["kaplan_yorke_dimension"].dims == ()
    assert back["history"].dims == ("history_time", "exponent")
    np.testing.assert_array_equal(back["exponents"].values, np.asarray(res.exponents))
    np.testing.assert_array_equal(back["history"].values, np.asarray(res.history))
    assert float(back["kaplan_yorke_dimension"]) == float(cj.kaplan_yorke_dimension(res.exponents))
    # A map: exponents per iteration, the history counted in iterations.
    assert back["exponents"].attrs["units"] == "1"
    assert "per iteration" in back["exponents"].attrs["long_name"]
    assert back["history_time"].attrs["units"] == "1"
    np.testing.assert_array_equal(back["exponent"].values, [1, 2])
    np.testing.assert_array_equal(back["history_time"].values, np.asarray(res.history_steps))
    _provenance(back.attrs, "henon")
    assert back.attrs["content"] == "lyapunov spectrum" and "dt" not in back.attrs
    assert back.attrs["steps"] == 2_000 and back.attrs["transient"] == 100

    lor = cj.systems.Lorenz63()
    res = cj.lyapunov_spectrum(lor, lor.default_state(), steps=200, dt=0.01, k=2)
    ds = cj.io.lyapunov_dataset(lor, res, dt=0.01, solver="rk4")
    assert ds.sizes["exponent"] == 2
    assert ds["exponents"].attrs["units"] == "1"
    assert "per unit time" in ds["exponents"].attrs["long_name"]
    assert ds["history_time"].attrs["units"] == "1"
    np.testing.assert_allclose(ds["history_time"].values, np.asarray(res.history_steps) * 0.01)
    assert ds.attrs["dt"] == 0.01 and ds.attrs["solver"] == "rk4"


def test_sensitivity_dataset_of_shadowing_and_a_blowup_table(tmp_path):
    hen = cj.systems.Henon()
    tab = cj.sensitivity_blowup_table(
        hen, "a", lambda x: x[0], horizons=(5.0, 10.0), n_initial=4, key=jax.random.key(0)
    )
    res = cj.shadowing_sensitivity(
        hen, "a", lambda x: x[0], hen.default_state(), steps=4_000, segments=4, method="lss"
    )
    ds = cj.io.sensitivity_dataset(
        hen,
        parameter="a",
        observable="x[0]",
        shadowing=res,
        blowup=tab,
        dt=None,
        seed=3,
        method="both",
    )
    back = cj.io.load(cj.io.save(ds, tmp_path / "s.nc"))
    assert list(back.data_vars) == [
        "shadowing_derivative",
        "shadowing_error",
        "shadowing_estimates",
        "gradient",
        "average",
        "mean",
        "std",
        "median",
    ]
    assert back["shadowing_derivative"].dims == () and back["shadowing_error"].dims == ()
    assert back["shadowing_estimates"].dims == ("window",) and back.sizes["window"] == 4
    assert float(back["shadowing_derivative"]) == float(res.derivative)
    assert back["gradient"].dims == ("horizon", "member") and back["gradient"].shape == (2, 4)
    assert back["average"].dims == ("horizon", "member")
    for stat in ("mean", "std", "median"):
        assert back[stat].dims == ("horizon",)
        np.testing.assert_array_equal(back[stat].values, np.asarray(getattr(tab, stat)))
    np.testing.assert_array_equal(back["horizon"].values, [5.0, 10.0])
    assert back["horizon"].attrs["units"] == "1"
    assert set(back.dims) <= set(back.coords)  # a coordinate on every dimension
    _provenance(back.attrs, "henon")
    assert back.attrs["parameter"] == "a" and back.attrs["observable"] == "x[0]"
    assert back.attrs["method"] == "both" and back.attrs["content"] == "sensitivity"
    assert back.attrs["seed"] == 3

    # S3 adds its three parts, whose sum is the derivative.
    s3 = cj.shadowing_sensitivity(
        hen, "a", lambda x: x[0], hen.default_state(), steps=8_000, segments=2, method="s3"
    )
    ds = cj.io.sensitivity_dataset(hen, parameter="a", observable="x[0]", shadowing=s3, dt=None)
    assert ds["s3_parts"].dims == ("part",) and ds.sizes["part"] == 3
    assert list(ds["part"].values) == ["shadowing-like", "flow direction", "unstable"]
    np.testing.assert_allclose(float(ds["s3_parts"].sum()), float(ds["shadowing_derivative"]))
    assert "gradient" not in ds and "horizon" not in ds.coords


def test_orbit_diagram_dataset(tmp_path):
    log = cj.systems.Logistic()
    values = np.linspace(2.8, 3.2, 5)
    d = cj.orbit_diagram(log, "r", values, transient=500, keep=16)
    ds = cj.io.orbit_diagram_dataset(log, d, dt=None, transient=500, keep=16)
    back = cj.io.load(cj.io.save(ds, tmp_path / "b.nc"))
    assert list(back.data_vars) == ["points", "counts", "diverged"]
    # The swept dimension is named after the parameter, r of May (1976).
    assert back["points"].dims == ("r", "point", "variable")
    assert back["points"].shape == (5, 16, 1)
    assert back["points"].attrs["long_name"] == "iterates"
    assert back["counts"].dims == ("r",) and back["diverged"].dtype == np.int8
    np.testing.assert_array_equal(back["r"].values, values)
    assert back["r"].attrs["long_name"] == "parameter r"
    assert set(back.dims) <= set(back.coords)
    assert back["points"].sel(r=3.2, variable="x").shape == (16,)
    # r = 2.8: every kept iterate is the fixed point 1 - 1/r.
    np.testing.assert_allclose(back["points"].values[0, :, 0], 1 - 1 / 2.8, atol=1e-6)
    _provenance(back.attrs, "logistic")
    assert back.attrs["parameter"] == "r" and back.attrs["content"] == "orbit diagram"
    assert back.attrs["transient"] == 500 and back.attrs["keep"] == 16
    named = cj.io.orbit_diagram_dataset(log, d, dt=None, points_long_name="section minima")
    assert named["points"].attrs["long_name"] == "section minima"


def test_ensemble_dataset_with_member_states():
    lor = cj.systems.Lorenz63()
    x0s = lor.default_state()[None, :] + 0.01 * np.arange(6.0).reshape(2, 3)
    xs = jax.vmap(lambda x: cj.trajectory(lor, x, steps=20, dt=0.01, transient=4, save_every=5))(
        x0s
    )
    ds = cj.io.ensemble_dataset(
        lor,
        initial_states=x0s,
        time_averages=np.asarray(xs).mean(1),
        states=xs,
        save_every=5,
        transient=4,
        dt=0.01,
        steps=20,
    )
    assert ds["state"].dims == ("member", "time", "variable") and ds["state"].shape == (2, 5, 3)
    assert set(ds.dims) <= set(ds.coords)
    assert ds["state"].attrs["long_name"] == "member states"
    np.testing.assert_array_equal(ds["step"].values, [4, 9, 14, 19, 24])
    np.testing.assert_allclose(ds["time"].values, [0.04, 0.09, 0.14, 0.19, 0.24])
    assert ds.attrs["members"] == 2 and ds.attrs["content"] == "ensemble"


def test_json_of_jax_arrays_and_unserialisable_objects(tmp_path):
    path = cj.io.write_json(tmp_path / "j.json", {"x": jax.numpy.arange(3.0), "s": np.str_("a")})
    assert json.loads(path.read_text()) == {"x": [0.0, 1.0, 2.0], "s": "a"}
    with pytest.raises(TypeError, match="object"):
        cj.io.write_json(tmp_path / "bad.json", {"o": object()})
    assert not (tmp_path / "bad.json").exists()


def test_system_parameters_include_static_structure():
    params = cj.io.system_parameters(cj.systems.DelayedHenon(d=4))
    assert params["d"] == 4 and isinstance(params["a"], float)


# --------------------------------------------------------------------------- named variables


def test_units_per_variable_and_the_variable_coordinate(tmp_path):
    duf = cj.systems.Duffing()
    xs = cj.trajectory(duf, duf.default_state(), steps=10, dt=0.05)
    back = cj.io.load(cj.io.save(cj.io.trajectory_dataset(duf, xs, dt=0.05), tmp_path / "d.nc"))
    assert list(back["variable"].values) == ["x", "v", "theta"]
    # Mixed units: one per variable in `variable_units`, none on the state as a whole.
    assert list(back["variable_units"].values) == ["1", "1", "rad"]
    assert "units" not in back["state"].attrs

    class Pendulum(cj.Flow):
        variables = ("angle", "rate")
        units = ("rad", "rad/s")
        time_units = "s"

        def vector_field(self, x):
            return jax.numpy.stack([x[1], -jax.numpy.sin(x[0])])

        def default_state(self):
            return jax.numpy.array([0.5, 0.0])

    pen = Pendulum()
    ds = cj.io.trajectory_dataset(pen, np.zeros((4, 2)), dt=0.1)
    assert ds["time"].attrs["units"] == "s" and list(ds["variable"].values) == ["angle", "rate"]
    assert ds.attrs["time_units"] == "s" and ds["state"].attrs.get("units") is None
    res = cj.lyapunov_spectrum(pen, pen.default_state(), steps=20, dt=0.1)
    assert cj.io.lyapunov_dataset(pen, res, dt=0.1)["exponents"].attrs["units"] == "s-1"


# --------------------------------------------------------------------------- load_system


@pytest.mark.parametrize(
    "system",
    [
        cj.systems.Lorenz63(rho=30.0, sigma=11.0),
        cj.systems.Lorenz96(n=6, F=9.5),
        cj.systems.LinearFlow(A=np.array([[-0.1, 2.0, 0.0], [-2.0, -0.1, 0.0], [0, 0, -1.0]])),
        cj.systems.PiecewiseLinearFlow.fp_to_chaos(0.5),
        cj.systems.GRU.random(jax.random.key(0), 3, n_inputs=1),
    ],
    ids=lambda s: type(s).__name__,
)
def test_load_system_rebuilds_the_system_from_a_file(tmp_path, system):
    xs = np.zeros((3, system.dim))
    path = cj.io.save(cj.io.trajectory_dataset(system, xs, dt=0.01), tmp_path / "run.nc")
    back = cj.io.load_system(path)
    assert type(back) is type(system) and back.dim == system.dim
    assert jax.tree.structure(back) == jax.tree.structure(system)  # static fields too
    for a, b in zip(jax.tree.leaves(system), jax.tree.leaves(back), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    # From the loaded Dataset as well.
    assert cj.io.load_system(cj.io.load(path)).parameters().keys() == system.parameters().keys()


def test_load_system_refuses_a_user_class_unless_given_and_explains_failures(tmp_path):
    class Decay(cj.Flow):
        k: float = cj.systems.param(0.5)

        def vector_field(self, x):
            return -self.k * x

        def default_state(self):
            return jax.numpy.ones(2)

    ds = cj.io.trajectory_dataset(Decay(k=0.25), np.zeros((3, 2)), dt=0.1)
    path = cj.io.save(ds, tmp_path / "decay.nc")
    with pytest.raises(ValueError, match="user-defined system .*Decay.*system_class=Decay"):
        cj.io.load_system(path)
    back = cj.io.load_system(path, system_class=Decay)
    assert float(back.k) == 0.25
    with pytest.raises(ValueError, match="not by `system_class` = Henon"):
        cj.io.load_system(path, system_class=cj.systems.Henon)
    # A class this chaosjax does not have, and a file without provenance.
    gone = ds.assign_attrs(system_class="chaosjax.systems.flows.Gone")
    with pytest.raises(ValueError, match="chaosjax.systems.flows.Gone, which this chaosjax"):
        cj.io.load_system(gone)
    with pytest.raises(ValueError, match="no system provenance"):
        cj.io.load_system(xr.Dataset({"a": ("t", [1.0])}))
    with pytest.raises(ValueError, match="`source`"):
        cj.io.load_system(42)


def test_groups_round_trip_and_load_one_group(tmp_path):
    lor = cj.systems.Lorenz63(rho=26.0)
    tree = xr.DataTree.from_dict(
        {
            "/": xr.Dataset(attrs=cj.io.attributes(lor, dt=0.01)),
            "/a": xr.Dataset({"u": ("variable", [1.0, 2.0])}, coords={"variable": ["x", "y"]}),
            "/b": xr.Dataset({"w": ((), 4.0)}),
        }
    )
    path = cj.io.save(tree, tmp_path / "g.nc")
    back = cj.io.load_tree(path)
    assert set(back.children) == {"a", "b"}
    assert list(cj.io.load(path, group="a")["variable"].values) == ["x", "y"]
    assert float(cj.io.load(path, group="b")["w"]) == 4.0
    with pytest.raises(ValueError, match="did you mean 'a'|'c' is unknown"):
        cj.io.load(path, group="c")
    assert float(cj.io.load_system(path).rho) == 26.0  # provenance on the root
    if cj.io.zarr_available():
        zback = cj.io.load_tree(cj.io.save(tree, tmp_path / "g.zarr"))
        assert list(zback["a"]["variable"].values) == ["x", "y"]
