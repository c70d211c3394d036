"""`cj.sweep`: grids of parameters and initial states in batches, streamed to Zarr,
resumed after a kill, refused when another sweep's store is given."""

import hashlib
import os
import subprocess
import sys
import textwrap
import tracemalloc
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import chaosjax as cj

X0 = jnp.array([1.0, 1.0, 1.0])


def largest(a, b):
    """The largest exponent of the Henon map (cheap to compile: the unit tests' case)."""
    return cj.max_lyapunov(cj.systems.Henon(a=a, b=b), jnp.array([0.1, 0.1]), steps=200).largest


GRID = {"a": np.linspace(1.0, 1.4, 6), "b": np.linspace(0.2, 0.3, 5)}


def _reference():
    inner = jax.vmap(largest, in_axes=(None, 0))
    return np.asarray(jax.jit(jax.vmap(inner, in_axes=(0, None)))(GRID["a"], GRID["b"]))


def _snapshot(path: Path) -> dict:
    """Every file under `path` with its bytes' digest and modification time."""
    return {
        str(p.relative_to(path)): (hashlib.sha1(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


def test_dict_grid_in_uneven_batches_equals_nested_vmap_in_memory_and_in_the_store(tmp_path):
    ref = _reference()
    # 30 points in batches of 7: the last batch is padded, batches cross grid rows.
    ds = cj.sweep(largest, GRID, batch_size=7)
    assert ds["value"].dims == ("a", "b")
    np.testing.assert_array_equal(ds["a"].values, GRID["a"])
    np.testing.assert_allclose(ds["value"].values, ref, rtol=1e-12, atol=0)
    stored = cj.sweep(largest, GRID, batch_size=7, out=tmp_path / "s.zarr")
    np.testing.assert_array_equal(stored["value"].values, ds["value"].values)
    assert '"batch_size": 7' in stored.attrs["chaosjax_sweep"]
    # The store is an ordinary Zarr dataset with the grid's axes.
    import xarray as xr

    raw = xr.open_zarr(tmp_path / "s.zarr", consolidated=False)
    assert raw["sweep_batch_done"].values.tolist() == [1] * 5
    np.testing.assert_array_equal(raw["value"].values, ds["value"].values)


def test_array_grid_of_initial_states_with_pytree_outputs(tmp_path):
    lor = cj.systems.Lorenz63()
    x0s = np.asarray(lor.sample_state(jax.random.key(0), 12)).reshape(3, 4, 3)

    def fn(x):
        zbar = cj.time_average(lor, x, lambda y: y[2], steps=50, dt=0.01)
        return {"z": zbar, "end": cj.final_state(lor, x, steps=50, dt=0.01)}

    ds = cj.sweep(fn, x0s, axes=("a", "b"), batch_size=5, out=tmp_path / "ic.zarr")
    assert ds["z"].dims == ("a", "b") and ds["end"].dims == ("a", "b", "end_dim_0")
    flat = x0s.reshape(12, 3)
    np.testing.assert_allclose(
        ds["z"].values.reshape(12), np.asarray(jax.vmap(lambda x: fn(x)["z"])(flat)), rtol=1e-12
    )
    np.testing.assert_allclose(
        ds["end"].values.reshape(12, 3),
        np.asarray(jax.vmap(lambda x: fn(x)["end"])(flat)),
        rtol=1e-12,
    )
    # Default axes of an array grid: every axis but the last.
    assert cj.sweep(lambda x: x.sum(), x0s, batch_size=12)["value"].dims == ("dim_0", "dim_1")


def test_bad_grid_and_batch_size_are_refused_naming_the_argument():
    with pytest.raises(ValueError, match=r"`grid\['a'\]` must be finite.*nan at index 2"):
        cj.sweep(largest, {"a": np.array([1.0, 1.1, np.nan]), "b": np.ones(2)})
    with pytest.raises(ValueError, match="`grid` must be finite"):
        cj.sweep(lambda x: x, np.array([[1.0, 2.0], [np.inf, 0.0]]))
    with pytest.raises(ValueError, match=r"`batch_size` = 31 is larger than the grid \(30 points"):
        cj.sweep(largest, GRID, batch_size=31)
    with pytest.raises(ValueError, match="`batch_size` must be a positive int"):
        cj.sweep(largest, GRID, batch_size=0)
    with pytest.raises(ValueError, match="`axes`"):
        cj.sweep(largest, GRID, axes=("a",))
    with pytest.raises(ValueError, match=r"`grid\['b'\]` must be a non-empty 1-D"):
        cj.sweep(largest, {"a": np.ones(2), "b": np.ones((2, 2))})


def test_a_store_of_another_sweep_is_refused_and_left_untouched(tmp_path):
    out = tmp_path / "s.zarr"
    cj.sweep(largest, GRID, batch_size=10, out=out)
    before = _snapshot(out)

    def other(a, b):  # another function
        return 2.0 * largest(a, b)

    with pytest.raises(ValueError, match=r"`out` = .* holds another sweep.*the function"):
        cj.sweep(other, GRID, batch_size=10, out=out)
    grid = dict(GRID, b=GRID["b"] + 0.01)  # another grid
    with pytest.raises(ValueError, match=r"`out` = .* holds another sweep.*the grid differ"):
        cj.sweep(largest, grid, batch_size=10, out=out)
    with pytest.raises(ValueError, match="`batch_size` = 6 differs from the 10"):
        cj.sweep(largest, GRID, batch_size=6, out=out)
    assert _snapshot(out) == before
    # Anything else at `out` is not overwritten either.
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.txt").write_text("keep")
    with pytest.raises(ValueError, match="not a chaosjax sweep store"):
        cj.sweep(largest, GRID, out=tmp_path / "notes")
    (tmp_path / "file.zarr").write_text("keep")
    with pytest.raises(ValueError, match="is a file"):
        cj.sweep(largest, GRID, out=tmp_path / "file.zarr")
    assert (tmp_path / "notes" / "a.txt").read_text() == "keep"
    # The same sweep again reads the store: nothing recomputed, nothing rewritten.
    again = cj.sweep(largest, GRID, out=out)
    assert _snapshot(out) == before
    np.testing.assert_allclose(again["value"].values, _reference(), rtol=1e-12)


def test_memory_of_a_streamed_sweep_is_bounded_by_the_batch_not_the_grid(tmp_path):
    grid = {"a": np.linspace(0.0, 1.0, 500), "b": np.linspace(0.0, 1.0, 400)}
    fn = lambda a, b: a * jnp.arange(16.0) + b  # 200,000 points x 16 float64 = 25.6 MB
    full = 500 * 400 * 16 * 8
    tracemalloc.start()
    try:
        ds = cj.sweep(fn, grid, batch_size=4000, out=tmp_path / "big.zarr")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    print(f"peak Python/NumPy allocation of a streamed 25.6 MB sweep: {peak / 1e6:.2f} MB")
    assert peak < full / 8
    np.testing.assert_array_equal(ds["value"][499, 399].values, 1.0 * np.arange(16.0) + 1.0)


EXPONENT = textwrap.dedent(
    """
    import jax.numpy as jnp
    import numpy as np
    import chaosjax as cj

    def exponent_and_grid(system, steps, n_p, n_q):
        if system == "lorenz":  # (rho, sigma) of Lorenz63, RK4 with dt = 0.01
            def fn(rho, sigma):
                lor = cj.systems.Lorenz63(rho=rho, sigma=sigma)
                x0 = jnp.array([1.0, 1.0, 1.0])
                return cj.max_lyapunov(lor, x0, steps=steps, dt=0.01, transient=20).largest
            return fn, {"rho": np.linspace(20.0, 40.0, n_p), "sigma": np.linspace(5.0, 15.0, n_q)}
        def fn(a, b):  # (a, b) of the Henon map
            x0 = jnp.array([0.1, 0.1])
            return cj.max_lyapunov(cj.systems.Henon(a=a, b=b), x0, steps=steps).largest
        return fn, {"a": np.linspace(1.0, 1.4, n_p), "b": np.linspace(0.2, 0.3, n_q)}
    """
)

CHILD = EXPONENT + textwrap.dedent(
    """
    import os, resource, signal, sys, time
    import jax
    cj.enable_x64()
    out, log, system, n_p, n_q, batch, steps, kill_at = sys.argv[1:9]
    seen = [0]

    def tick(p):  # called once per batch: a time stamp, then maybe the kill
        with open(log, "a") as f:
            f.write(f"{time.time()} {p.shape[0]}\\n")
        if seen[0] == int(kill_at):
            os.kill(os.getpid(), signal.SIGKILL)
        seen[0] += 1
        return np.zeros_like(p)

    exponent, grid = exponent_and_grid(system, int(steps), int(n_p), int(n_q))

    def counted(p, q):
        stamp = jax.pure_callback(tick, jax.ShapeDtypeStruct((), p.dtype), p,
                                  vmap_method="broadcast_all")
        return exponent(p, q) + stamp

    cj.sweep(lambda **pq: counted(*pq.values()), grid, batch_size=int(batch), out=out)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"{system} sweep of {n_p} x {n_q} points in batches of {batch}: "
          f"peak resident memory {rss / 1024:.0f} MB")
    """
)


def _killed_and_resumed(tmp_path, system, n_p, n_q, batch, steps, kill_at):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    out, log = tmp_path / "sweep.zarr", tmp_path / "batches.log"
    env = dict(os.environ, PYTHONPATH=str(Path(cj.__file__).parents[1]))

    def run(kill):
        args = [out, log, system, n_p, n_q, batch, steps, kill]
        return subprocess.run(
            [sys.executable, str(script), *map(str, args)],
            capture_output=True,
            text=True,
            timeout=600,
            env=env,
        )

    killed = run(kill_at)
    assert killed.returncode == -9, killed.stdout + killed.stderr
    n_batches = -(-n_p * n_q // batch)
    import zarr

    done = np.asarray(zarr.open_array(str(out / "sweep_batch_done"), mode="r")[:])
    assert done.tolist() == [1] * kill_at + [0] * (n_batches - kill_at)
    chunks = (out / "value" / "c").rglob("*")
    before = {p: p.stat().st_mtime_ns for p in chunks if p.is_file()}
    marks = {p: p.stat().st_mtime_ns for p in (out / "sweep_batch_done").rglob("*") if p.is_file()}
    log.write_text("")

    resumed = run(-1)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    print(resumed.stdout.strip())
    # Only the unfinished batches ran again (one time stamp per batch) ...
    assert len(log.read_text().splitlines()) == n_batches - kill_at
    # ... and the finished batches' data (whole rows of the grid) and marks were kept.
    rows_done = kill_at * batch // n_q
    assert rows_done > 0
    for p, t in before.items():
        if int(p.relative_to(out / "value" / "c").parts[0]) < rows_done:
            assert p.stat().st_mtime_ns == t, p
    assert all(p.stat().st_mtime_ns == t for p, t in marks.items())

    # The result equals an uninterrupted run with the same batches.
    scope: dict = {}
    exec(EXPONENT, scope)
    exponent, grid = scope["exponent_and_grid"](system, steps, n_p, n_q)
    whole = cj.sweep(exponent, grid, batch_size=batch)
    final = cj.io.load(out)
    np.testing.assert_array_equal(final["value"].values, whole["value"].values)
    assert np.all(np.isfinite(whole["value"].values))


@pytest.mark.slow
def test_a_killed_sweep_resumes_without_recomputing_finished_batches(tmp_path):
    # Batches of 400 cover whole rows of 40 values of b (the row check above).
    _killed_and_resumed(tmp_path, "henon", n_p=50, n_q=40, batch=400, steps=200, kill_at=2)


def test_a_killed_200_by_200_lorenz_sweep_resumes(tmp_path):
    _killed_and_resumed(tmp_path, "lorenz", n_p=200, n_q=200, batch=2000, steps=1000, kill_at=7)


TWO_PROCESSES = textwrap.dedent(
    """
    import sys
    import numpy as np
    import chaosjax as cj
    address, rank, out, result = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    assert cj.parallel.initialize(address, 2, rank) == (rank, 2)
    cj.enable_x64()
    import jax, jax.numpy as jnp
    from jax.experimental import multihost_utils
    assert len(jax.devices()) == 2 and len(jax.local_devices()) == 1
    lor = cj.systems.Lorenz63()
    x0s = lor.sample_state(jax.random.key(1), 32)
    z = lambda x: cj.time_average(lor, x, lambda y: y[2], steps=300, dt=0.01, transient=50)
    ens = cj.parallel.sharded_vmap(z, x0s)
    assert len(ens.sharding.device_set) == 2
    ens = np.asarray(multihost_utils.process_allgather(ens, tiled=True))
    def largest(a, b):
        return cj.max_lyapunov(cj.systems.Henon(a=a, b=b), jnp.array([0.1, 0.1]), steps=200).largest
    grid = {"a": np.linspace(1.0, 1.4, 9), "b": np.linspace(0.2, 0.3, 7)}
    ds = cj.sweep(largest, grid, batch_size=10, out=out)
    if rank == 0:
        np.savez(result, ensemble=ens, sweep=ds["value"].values)
    print("OK", rank)
    """
)


def test_two_processes_on_jax_distributed_equal_one_process(tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    script = tmp_path / "two.py"
    script.write_text(TWO_PROCESSES)
    env = dict(os.environ, PYTHONPATH=str(Path(cj.__file__).parents[1]))
    result = tmp_path / "result.npz"
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), f"127.0.0.1:{port}", str(rank)]
            + [str(tmp_path / "two.zarr"), str(result)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        for rank in (0, 1)
    ]
    try:
        outs = [p.communicate(timeout=300)[0] for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for p, text in zip(procs, outs):
        assert p.returncode == 0, text
    got = np.load(result)

    lor = cj.systems.Lorenz63()
    x0s = lor.sample_state(jax.random.key(1), 32)
    z = lambda x: cj.time_average(lor, x, lambda y: y[2], steps=300, dt=0.01, transient=50)
    np.testing.assert_allclose(got["ensemble"], np.asarray(jax.vmap(z)(x0s)), rtol=1e-12, atol=0)
    grid = {"a": np.linspace(1.0, 1.4, 9), "b": np.linspace(0.2, 0.3, 7)}
    one = cj.sweep(largest, grid, batch_size=10)
    np.testing.assert_allclose(got["sweep"], one["value"].values, rtol=1e-12, atol=0)


def test_default_batch_size_follows_free_memory_and_names_do_not_clash(monkeypatch):
    from chaosjax import _sweep

    fn = lambda a, b: a * jnp.arange(64.0) + b
    grid = {"a": np.linspace(0.0, 1.0, 300), "b": np.linspace(0.0, 1.0, 200)}
    # Plenty of memory: at least 8,192 points per device, else a tenth of the grid.
    record = cj.sweep(fn, grid).attrs["chaosjax_sweep"]
    assert f'"batch_size": {max(6000, 8192 * len(jax.devices()))}' in record
    # A quarter of 2 MB holds about 1,000 points of 64 float64 (plus inputs and
    # temporaries): the default batch shrinks to what fits.
    monkeypatch.setattr(_sweep, "_free_bytes_per_device", lambda: 2_000_000)
    ds = cj.sweep(fn, grid)
    batch = int(ds.attrs["chaosjax_sweep"].split('"batch_size": ')[1].split(",")[0])
    assert 100 <= batch <= 1000 * len(jax.devices())
    np.testing.assert_array_equal(ds["value"][299, 199].values, np.arange(64.0) + 1.0)
    with pytest.raises(ValueError, match=r"outputs named \['a'\]"):
        cj.sweep(lambda a, b: {"a": a, "c": b}, grid)


def test_xarray_grid_keeps_its_dims_and_coordinates():
    import xarray as xr

    states = xr.DataArray(
        np.arange(24.0).reshape(4, 2, 3),
        dims=("member", "copy", "variable"),
        coords={"member": [10, 20, 30, 40]},
    )
    ds = cj.sweep(lambda x: x.sum(), states, batch_size=3)
    assert ds["value"].dims == ("member", "copy")
    assert ds["member"].values.tolist() == [10, 20, 30, 40]
    np.testing.assert_array_equal(ds["value"].values, states.values.sum(-1))


def test_initialize_checks_its_arguments_before_joining():
    with pytest.raises(ValueError, match="`coordinator_address` must be 'host:port'"):
        cj.parallel.initialize("localhost", 2, 0)
    with pytest.raises(ValueError, match=r"`process_id` must be in \[0, 2\)"):
        cj.parallel.initialize("127.0.0.1:1234", 2, 5)
