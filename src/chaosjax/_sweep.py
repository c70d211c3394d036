"""Sweeps over parameter and initial-condition grids: batched, sharded, streamed, resumable.

`sweep(fn, grid)` evaluates a JAX function of one grid point at every point of a grid,
in batches: each batch is one call of `jit(vmap(fn))` with its points split over every
device of every process, and, with `out=`, each finished batch goes to a Zarr store at
once and is then marked done. Re-running the same sweep skips the batches marked done;
a store made by another sweep is refused and left as it is. No home-made scheduler:
many processes are JAX's own (`jax.distributed.initialize`, `cj.parallel.initialize`).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import weakref
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.core import Tracer

from . import _validate as v
from ._progress import progress_bar
from ._version import __version__

_DONE = "sweep_batch_done"
_ATTR = "chaosjax_sweep"
_DEFAULT_FRACTION = 0.25  # of the free memory a default batch may fill
_MIN_PER_DEVICE = 8192  # a default batch holds at least this many points per device
_TARGET_BATCHES = 10  # ... and otherwise about a tenth of the grid


# --------------------------------------------------------------------------- the grid


class _Grid:
    """A grid made flat: `points` (a pytree of arrays with a leading axis of `size`),
    the grid `shape`, axis names `axes`, `coords` {axis: values} and how `fn` is called."""

    def __init__(self, grid: object, axes: object):
        import xarray as xr

        self.coords: dict[str, np.ndarray] = {}
        if isinstance(grid, Mapping):
            if axes is not None:
                raise ValueError(
                    "`axes` names the leading axes of an array grid; a dict grid is named "
                    "by its keys, so leave `axes` out."
                )
            if not grid:
                raise ValueError("`grid` must name at least one axis, got an empty dict.")
            values = {}
            for name, vals in grid.items():
                if not isinstance(name, str) or not name.isidentifier():
                    raise ValueError(
                        f"`grid` keys must be argument names of `fn` (identifiers), got {name!r}."
                    )
                arr = _numbers(vals, f"grid[{name!r}]")
                if arr.ndim != 1 or arr.size == 0:
                    raise ValueError(
                        f"`grid[{name!r}]` must be a non-empty 1-D array of values, got "
                        f"shape {arr.shape}."
                    )
                values[name] = arr
            self.axes = tuple(values)
            self.shape = tuple(a.size for a in values.values())
            self.coords = dict(values)
            self.points: Any = None  # the outer product is never stored: see `take`
            self.keywords = True
            self.digest_parts = [(k, a) for k, a in values.items()]
            return
        dims: tuple[str, ...] | None = None
        if isinstance(grid, xr.DataArray):
            dims = tuple(str(d) for d in grid.dims)
            da = grid
            grid = grid.values
        arr = _numbers(grid, "grid")
        if arr.ndim == 0:
            raise ValueError("`grid` must have at least one axis, got a scalar.")
        if axes is None:
            n_axes = 1 if arr.ndim == 1 else arr.ndim - 1
            names = dims[:n_axes] if dims is not None else tuple(f"dim_{i}" for i in range(n_axes))
        else:
            if isinstance(axes, str) or not isinstance(axes, Sequence) or not axes:
                raise ValueError(
                    f"`axes` must be a non-empty sequence of names of the grid's leading "
                    f"axes, got {axes!r}."
                )
            names = tuple(axes)
            if not all(isinstance(a, str) and a for a in names) or len(set(names)) != len(names):
                raise ValueError(f"`axes` must be distinct non-empty strings, got {axes!r}.")
            if len(names) > arr.ndim:
                raise ValueError(
                    f"`axes` names {len(names)} axes but `grid` has only {arr.ndim} "
                    f"(shape {arr.shape})."
                )
        self.axes = names
        self.shape = arr.shape[: len(names)]
        if 0 in self.shape:
            raise ValueError(f"`grid` must not be empty, got shape {arr.shape}.")
        if dims is not None:
            for d in dims[: len(names)]:
                if d in da.coords and da.coords[d].ndim == 1:
                    self.coords[names[dims.index(d)]] = np.asarray(da.coords[d].values)
        self.points = arr.reshape((-1,) + arr.shape[len(names) :])
        self.keywords = False
        self.digest_parts = [("grid", arr)]

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def take(self, start: int, stop: int, length: int) -> Any:
        """Points [start, stop) padded to `length` with copies of the last one."""

        flat = np.minimum(np.arange(start, start + length), stop - 1)
        if self.keywords:
            index = np.unravel_index(flat, self.shape)
            return {k: self.coords[k][i] for k, i in zip(self.axes, index)}
        return self.points[flat]

    def example(self) -> Any:
        """One point, as `fn` receives it."""
        return jax.tree.map(lambda a: a[0], self.take(0, 1, 1))

    def digest(self) -> str:
        h = hashlib.sha256()
        h.update(repr((self.axes, self.shape, self.keywords)).encode())
        for name, arr in self.digest_parts:
            h.update(name.encode())
            h.update(str(arr.dtype).encode())
            h.update(np.ascontiguousarray(arr).tobytes())
        return h.hexdigest()


def _numbers(values: object, name: str) -> np.ndarray:
    if isinstance(values, Tracer):
        raise ValueError(f"`{name}` must hold concrete values (a sweep cannot run inside jit).")
    try:
        arr = np.asarray(values)
    except (TypeError, ValueError) as e:
        raise ValueError(f"`{name}` must be an array of numbers, got {values!r}.") from e
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"`{name}` must be an array of numbers, got dtype {arr.dtype}.")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        bad = np.argwhere(~np.isfinite(arr))[0]
        index = int(bad[0]) if arr.ndim == 1 else tuple(int(i) for i in bad)
        raise ValueError(
            f"`{name}` must be finite, but holds {arr[tuple(bad)]} at index {index}: "
            "remove or replace the non-finite values."
        )
    if arr.dtype.kind == "f" and not jax.config.read("jax_enable_x64"):
        arr = arr.astype(np.float32)
    elif arr.dtype.kind in "iu" and not jax.config.read("jax_enable_x64"):
        arr = arr.astype(np.int32)
    return arr


# --------------------------------------------------------------------------- identity


def _function_digest(fn: Callable, call: Callable, example: Any) -> tuple[str, str, Any]:
    """The function's name, a digest of what it computes (its jaxpr at one point, memory
    addresses removed, and the values of the constants it closes over) and its output
    shapes."""
    name = f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', type(fn).__name__)}"
    try:
        closed, shapes = jax.make_jaxpr(call, return_shape=True)(example)
    except (TypeError, ValueError) as e:
        raise ValueError(f"`fn` cannot be evaluated at one point of `grid`: {e}") from e
    text = re.sub(r" at 0x[0-9a-fA-F]+", "", str(closed.jaxpr))
    h = hashlib.sha256(name.encode())
    h.update(text.encode())
    for c in closed.consts:
        try:
            a = np.asarray(c)
        except Exception:  # a key or opaque constant: its type stands in for it
            h.update(type(c).__name__.encode())
            continue
        h.update(str(a.dtype).encode() + str(a.shape).encode())
        if a.dtype.kind in "biufc":
            h.update(np.ascontiguousarray(a).tobytes())
    return name, h.hexdigest(), shapes


def _leaf_names(tree: Any) -> list[str]:
    flat, _ = jax.tree_util.tree_flatten_with_path(tree)
    names = []
    for path, _leaf in flat:
        parts = []
        for k in path:
            if isinstance(k, jax.tree_util.DictKey):
                parts.append(str(k.key))
            elif isinstance(k, jax.tree_util.GetAttrKey):
                parts.append(k.name)
            elif isinstance(k, jax.tree_util.SequenceKey):
                parts.append(str(k.idx))
            else:
                parts.append(re.sub(r"\W", "", str(k)))
        names.append("_".join(p for p in parts if p) or "value")
    if len(set(names)) != len(names):
        names = [f"{n}_{i}" for i, n in enumerate(names)]
    return names


# --------------------------------------------------------------------------- batch size


def _free_bytes_per_device() -> int:
    dev = jax.local_devices()[0]
    stats = None
    try:
        stats = dev.memory_stats()
    except Exception:  # not every backend reports memory
        stats = None
    if stats and "bytes_limit" in stats:
        return max(int(stats["bytes_limit"]) - int(stats.get("bytes_in_use", 0)), 1 << 20)
    total = v.physical_memory() or (8 << 30)
    return max(total // max(jax.local_device_count(), 1), 1 << 20)


def _default_batch_size(batched: Callable, example: Any, n: int, n_dev: int) -> int:
    """About a tenth of the grid, at least `_MIN_PER_DEVICE` points per device, at most
    what fills `_DEFAULT_FRACTION` of a device's free memory (measured by compiling one
    point per device and reading XLA's memory analysis)."""
    probe = jax.tree.map(lambda a: jax.ShapeDtypeStruct((n_dev,) + a.shape[1:], a.dtype), example)
    per_point = 0
    try:
        stats = batched.lower(probe).compile().memory_analysis()
        if stats is not None:
            per_point = (
                stats.argument_size_in_bytes + stats.output_size_in_bytes + stats.temp_size_in_bytes
            )
    except Exception:  # no memory analysis on this backend: the other two bounds only
        per_point = 0
    fits = n if per_point <= 0 else int(_DEFAULT_FRACTION * _free_bytes_per_device() / per_point)
    wanted = max(math.ceil(n / _TARGET_BATCHES), _MIN_PER_DEVICE * n_dev)
    return max(1, min(n, wanted, max(fits * n_dev, n_dev)))


# --------------------------------------------------------------------------- the store


def _boxes(shape: tuple[int, ...], a: int, e: int) -> list[tuple[tuple[slice, ...], int, int]]:
    """Rectangular boxes of a C-ordered grid covering flat indices [a, e), each with its
    flat range (so that data[start:stop].reshape(box) fills it)."""
    if a >= e:
        return []
    if len(shape) == 1:
        return [((slice(a, e),), a, e)]
    row = math.prod(shape[1:])
    i0, i1 = a // row, e // row
    full = tuple(slice(0, s) for s in shape[1:])
    if (e - 1) // row == i0:  # within one row
        return [
            ((slice(i0, i0 + 1),) + box, s + i0 * row, t + i0 * row)
            for box, s, t in _boxes(shape[1:], a - i0 * row, e - i0 * row)
        ]
    out = []
    if a % row:
        out += _boxes(shape, a, (i0 + 1) * row)
        i0 += 1
    if i1 > i0:
        out.append(((slice(i0, i1),) + full, i0 * row, i1 * row))
    if e % row:
        out += _boxes(shape, i1 * row, e)
    return out


def _store_record(out: Path) -> dict | None:
    """The sweep record of an existing store, or None if `out` holds no sweep."""
    meta = out / "zarr.json"
    if not meta.is_file():
        return None
    try:
        record = json.loads(meta.read_text()).get("attributes", {}).get(_ATTR)
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _check_store(out: Path, record: dict, batch_size: int | None) -> dict | None:
    """The existing record when `out` holds this very sweep; None when `out` is free;
    else a ValueError naming `out` (and nothing is written)."""
    if not out.exists():
        return None
    if out.is_dir() and not any(out.iterdir()):
        return None
    old = _store_record(out)
    if old is None:
        raise ValueError(
            f"`out` = {str(out)!r} exists and is not a chaosjax sweep store; choose another "
            "path (it was left untouched)."
        )
    differ = [
        what
        for what, key in (
            ("the function (its name or what it computes)", "function_digest"),
            ("the grid", "grid_digest"),
            ("the outputs' names, shapes or dtypes", "outputs"),
            ("the chaosjax version", "version"),
        )
        if old.get(key) != record.get(key)
    ]
    if differ:
        raise ValueError(
            f"`out` = {str(out)!r} holds another sweep ({old.get('function')!r}, chaosjax "
            f"{old.get('version')}), not this one ({record['function']!r}, chaosjax "
            f"{record['version']}): {' and '.join(differ)} differ. It was left untouched; "
            "use a new path, or delete it to start over."
        )
    if batch_size is not None and batch_size != old["batch_size"]:
        raise ValueError(
            f"`batch_size` = {batch_size} differs from the {old['batch_size']} that the "
            f"sweep in `out` = {str(out)!r} was started with; resume with "
            f"batch_size={old['batch_size']} (or None)."
        )
    return old


def _create_store(out: Path, record: dict, grid: _Grid, outputs: dict, n_batches: int) -> None:
    """Make the empty store in a temporary directory and rename it into place, so that a
    store at `out` always has its record."""
    import zarr  # pyright: ignore[reportMissingImports]

    from ._files import atomic_path

    with atomic_path(out, directory=True) as tmp:
        root = zarr.open_group(str(tmp), mode="w", zarr_format=3)
        last = grid.shape[-1]
        for name, (shape, dtype) in outputs.items():
            dt = np.dtype(dtype)
            fill = np.nan if dt.kind in "fc" else 0
            extra = tuple(f"{name}_dim_{i}" for i in range(len(shape)))
            chunks = (1,) * (len(grid.shape) - 1) + (min(last, record["batch_size"]),) + shape
            root.create_array(
                name,
                shape=grid.shape + shape,
                chunks=chunks,
                dtype=dt,
                fill_value=fill,
                dimension_names=grid.axes + extra,
            )
        for axis, values in grid.coords.items():
            arr = root.create_array(
                axis, shape=values.shape, dtype=values.dtype, dimension_names=(axis,)
            )
            arr[:] = values
        done = root.create_array(
            _DONE, shape=(n_batches,), chunks=(1,), dtype="uint8", fill_value=0,
            dimension_names=("sweep_batch",),
        )  # fmt: skip
        del done
        root.attrs[_ATTR] = record


def _done_mask(out: Path, n_batches: int) -> np.ndarray:
    import zarr  # pyright: ignore[reportMissingImports]

    arr = zarr.open_array(str(out / _DONE), mode="r")
    mask = np.asarray(arr[:]).astype(bool)
    if mask.shape != (n_batches,):
        raise ValueError(f"`out` = {str(out)!r} has a damaged batch record; delete it.")
    return mask


# --------------------------------------------------------------------------- sweep


def sweep(
    fn: Callable,
    grid: object,
    *,
    axes: object = None,
    batch_size: object = None,
    out: object = None,
    progress: object = False,
) -> Any:
    """Evaluate `fn` at every point of a parameter or initial-condition grid, in batches
    sharded over every device of every process; optionally streamed to a resumable Zarr
    store.

    Each batch of grid points is one call of `jax.jit(jax.vmap(fn))`, its points split
    over `jax.devices()` (every device of every process after `jax.distributed.initialize`
    or `cj.parallel.initialize`; the batch is padded to a multiple of the device count).
    With `out`, each finished batch is written to a Zarr (v3) store and then marked done;
    the store is made with a record (a fingerprint) of the sweep: the function (its
    name and a digest of its jaxpr at one point, closed-over constants included), the
    grid, the outputs' shapes and the chaosjax version. Calling `sweep` again with the
    same `out` computes only the batches not marked done, so a killed sweep loses at most
    the batches that were running. A store from another sweep is refused with a
    `ValueError` and left untouched. With many processes, process 0 writes the store,
    which must be on a file system every process sees.

    **Arguments:**

    - `fn`: a JAX function of one grid point returning an array or a pytree of arrays
      (a dict, a tuple, a `cj.LyapunovResult`, ...). For a dict grid it is called with
      keyword arguments, one scalar per axis (`fn(rho=..., sigma=...)`); for an array
      grid with one point (`fn(x0)`).
    - `grid`: either a dict {axis name: 1-D values} (the grid is their outer product,
      axes in the dict's order), or an array (or `xarray.DataArray`) whose leading axes
      are grid axes and whose remaining axes hold one point (e.g. initial states of
      shape (*grid, dim)). Every value must be finite.
    - `axes`: for an array grid, the names of its leading grid axes (their number says
      how many there are); default every axis but the last (all of a 1-D array), named
      after a DataArray's dims or `dim_0`, `dim_1`, ...
    - `batch_size`: grid points per batch, at most the grid's size; default about a
      tenth of the grid, at least 8,192 points per device, at most what fills a quarter
      of a device's free memory (XLA's memory analysis of the compiled function).
      Resuming adopts the store's batch size.
    - `out`: a path for the Zarr store (a directory, e.g. "sweep.zarr"); default None
      (nothing written, nothing to resume).
    - `progress`: show a progress bar over the batches (default False).

    **Returns:**

    An `xarray.Dataset` with one variable per output leaf (named after dict keys or
    attribute names, `value` for a single array) of dims (*grid axes, name_dim_0, ...),
    the grid's values as coordinates, and the record in `attrs["chaosjax_sweep"]` (JSON).
    With `out` its values are read from the store when used (`.load()` reads them all),
    so a sweep larger than memory can be returned.

    Example:

    ```python
    x0 = cj.systems.Lorenz63().default_state()
    def largest(rho, sigma):
        lor = cj.systems.Lorenz63(rho=rho, sigma=sigma)
        return cj.max_lyapunov(lor, x0, steps=2_000, dt=0.01, transient=500).largest
    ds = cj.sweep(largest, {"rho": jnp.linspace(20.0, 40.0, 50),
                            "sigma": jnp.linspace(5.0, 15.0, 50)},
                  batch_size=500, out="lyapunov.zarr")
    ds["value"].sel(rho=28.0, sigma=10.0, method="nearest")
    ```
    """
    if not callable(fn):
        raise ValueError(f"`fn` must be a function of one grid point, got {fn!r}.")
    g = _Grid(grid, axes)
    n = g.size
    if batch_size is not None:
        batch_size = v.positive_int(batch_size, "batch_size")
        if batch_size > n:
            raise ValueError(
                f"`batch_size` = {batch_size} is larger than the grid ({n} points, shape "
                f"{g.shape}); use at most {n}."
            )
    progress = v.boolean(progress, "progress")
    path = None if out is None else _store_path(out)

    call = _keyword_call(fn) if g.keywords else fn
    fname, fdigest, shapes = _function_digest(fn, call, g.example())
    names = _leaf_names(shapes)
    leaves = jax.tree.leaves(shapes)
    outputs = {k: (tuple(s.shape), np.dtype(s.dtype).name) for k, s in zip(names, leaves)}
    clash = sorted(set(outputs) & (set(g.axes) | {_DONE}))
    if clash:
        raise ValueError(
            f"`fn` returns outputs named {clash}, the names of grid axes (or of the store's "
            "batch record): return them under other names (e.g. a dict with other keys)."
        )
    record = {
        "function": fname,
        "function_digest": fdigest,
        "grid_digest": g.digest(),
        "grid_shape": list(g.shape),
        "axes": list(g.axes),
        "outputs": {k: [list(s), d] for k, (s, d) in outputs.items()},
        "version": __version__,
    }

    old = None if path is None else _check_store(path, record, batch_size)
    if old is not None:
        batch_size = int(old["batch_size"])

    devices = jax.devices()
    n_dev = len(devices)
    mesh = jax.sharding.Mesh(np.asarray(devices), ("batch",))
    spread = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("batch"))
    whole = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec())
    batched = _batched(call, whole)
    if batch_size is None:
        # Every process must cut the same batches: process 0's estimate is used.
        estimate = _default_batch_size(batched, g.take(0, 1, 1), n, n_dev)
        batch_size = int(_broadcast(np.asarray(estimate)))
    padded = -(-batch_size // n_dev) * n_dev
    n_batches = -(-n // batch_size)
    record["batch_size"] = batch_size
    record["n_batches"] = n_batches

    writer = jax.process_index() == 0
    if path is not None and old is None and writer:
        _create_store(path, record, g, outputs, n_batches)
    if path is not None:
        _sync("chaosjax.sweep.created")
        done = _done_mask(path, n_batches) if writer else np.zeros(n_batches, bool)
        done = _broadcast(done)
    else:
        done = np.zeros(n_batches, bool)

    results = (
        None
        if path is not None
        else {k: np.empty(g.shape + s, dtype=d) for k, (s, d) in outputs.items()}
    )
    arrays: dict[str, Any] = {}
    done_arr: Any = None
    if path is not None and writer:
        import zarr  # pyright: ignore[reportMissingImports]

        root = zarr.open_group(str(path), mode="r+")
        arrays = {k: root[k] for k in outputs}
        done_arr = root[_DONE]
    todo = [b for b in range(n_batches) if not done[b]]
    with progress_bar(progress and writer, len(todo), f"sweep of {fname}") as bar:
        for b in todo:
            start, stop = b * batch_size, min((b + 1) * batch_size, n)
            host = g.take(start, stop, padded)
            placed = jax.tree.map(
                lambda a: jax.make_array_from_callback(a.shape, spread, lambda i, a=a: a[i]),
                host,
            )
            values = jax.tree.leaves(batched(placed))
            flat = {k: np.asarray(x)[: stop - start] for k, x in zip(names, values)}
            for box, s, t in _boxes(g.shape, start, stop):
                shape = tuple(sl.stop - sl.start for sl in box)
                for k, x in flat.items():
                    piece = x[s - start : t - start].reshape(shape + x.shape[1:])
                    if results is not None:
                        results[k][box] = piece
                    elif writer:
                        arrays[k][box] = piece
            if path is not None and writer:
                done_arr[b] = 1  # after the data: a batch marked done is complete
            bar.advance(1)

    if path is not None:
        _sync("chaosjax.sweep.finished")
        return _read(path)
    return _dataset(results or {}, g, record)


_KEYWORD_CALLS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_BATCHED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _keyword_call(fn: Callable) -> Callable:
    """`fn` called with a dict's items as keywords; one wrapper per `fn`, so that JAX's
    compilation cache serves a repeated sweep of the same function."""

    def call(point):
        return fn(**point)

    try:
        return _KEYWORD_CALLS.setdefault(fn, call)
    except TypeError:  # not weakly referenceable
        return call


def _batched(call: Callable, sharding: Any) -> Callable:
    try:
        cache = _BATCHED.setdefault(call, {})
    except TypeError:
        cache = {}
    if sharding not in cache:
        cache[sharding] = jax.jit(jax.vmap(call), out_shardings=sharding)
    return cache[sharding]


def _store_path(out: object) -> Path:
    if not isinstance(out, (str, os.PathLike)) or str(out) == "":
        raise ValueError(f"`out` must be a path for a Zarr store (str or Path), got {out!r}.")
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise ValueError(
            f"`out` = {str(path)!r} is a file, not a Zarr store (a directory); choose another "
            "path (it was left untouched)."
        )
    return path


def _dataset(results: dict, g: _Grid, record: dict) -> Any:
    import xarray as xr

    data = {
        k: (g.axes + tuple(f"{k}_dim_{i}" for i in range(a.ndim - len(g.shape))), a)
        for k, a in results.items()
    }
    return xr.Dataset(data, coords=dict(g.coords), attrs={_ATTR: json.dumps(record)})


def _read(path: Path) -> Any:
    import xarray as xr

    # Lazy: values are read from the store when used, so a sweep larger than memory
    # can be returned; `.load()` reads it all.
    ds = xr.open_zarr(path, consolidated=False, chunks=None)
    ds = ds.drop_vars(_DONE)
    ds.attrs[_ATTR] = json.dumps(ds.attrs[_ATTR])
    return ds


def _sync(name: str) -> None:
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils

        multihost_utils.sync_global_devices(name)


def _broadcast(x: np.ndarray) -> np.ndarray:
    """Process 0's value of `x` on every process."""
    if jax.process_count() == 1:
        return x
    from jax.experimental import multihost_utils

    return np.asarray(multihost_utils.broadcast_one_to_all(jnp.asarray(x))).astype(x.dtype)
