"""Results as xarray Datasets, written to NetCDF (h5netcdf) or Zarr atomically.

Every dataset chaosjax writes has named dimensions (`member`, `time`, `component`, ...),
units on its coordinates and variables, and attributes that say how it was made:
`system`, `kind`, `parameters` (JSON), one `parameter_<name>` per scalar parameter,
`dt`, `solver`, `seed`, `chaosjax_version` and `created`.

Writes are atomic: the file is written to a temporary name in the target's own
directory, flushed to disk, then renamed over the target with `os.replace`. An
interrupted or killed writer therefore leaves either the previous file or the
complete new one, never a truncated file.

```python
ds = cj.io.trajectory_dataset(lor, xs, dt=0.005, solver="rk4", seed=0)
cj.io.save(ds, "run.nc")           # or "run.zarr" when zarr is installed
ds = cj.io.load("run.nc")
```
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

__all__ = [
    "atomic_path",
    "attributes",
    "ensemble_dataset",
    "ensure_writable_dir",
    "load",
    "save",
    "save_figure",
    "system_parameters",
    "trajectory_dataset",
    "write_json",
    "write_text",
    "zarr_available",
]


def zarr_available() -> bool:
    """True when the optional `zarr` package is importable (for `.zarr` outputs)."""
    try:
        import zarr  # noqa: F401
    except ImportError:
        return False
    return True


# --------------------------------------------------------------------------- atomic writes


def _sync_dir(directory: Path) -> None:
    # The rename is durable only once the directory entry is on disk (POSIX only).
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _default_mode() -> int:
    # mkstemp makes 0600 files; give the new file the mode a plain open() would.
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, directory: bool = False) -> Iterator[Path]:
    """A temporary path beside `path`; on success it replaces `path` in one rename.

    Write the new content to the yielded path inside the `with` block. On a normal
    exit the temporary file is fsynced and renamed over `path` (`os.replace`); on any
    exception (KeyboardInterrupt included) it is removed and `path` is untouched. With
    `directory=True` the temporary path is a directory (for Zarr stores); an existing
    target directory is moved aside and removed only after the new one is in place.

    Raises `OSError` (from the filesystem) when the target directory is not writable.
    """
    target = Path(path)
    parent = target.parent if str(target.parent) else Path(".")
    prefix = f".{target.name}."
    if directory:
        tmp = Path(tempfile.mkdtemp(prefix=prefix, suffix=".tmp", dir=parent))
    else:
        fd, name = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=parent)
        os.close(fd)
        tmp = Path(name)
    try:
        yield tmp
        if not directory:
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
            os.chmod(tmp, _default_mode())
            os.replace(tmp, target)
        else:
            old = None
            if target.exists():
                old = parent / f".{target.name}.old-{os.getpid()}"
                _remove(old)
                os.replace(target, old)
            os.replace(tmp, target)
            if old is not None:
                _remove(old)
        _sync_dir(parent)
    except BaseException:
        _remove(tmp)
        raise


def ensure_writable_dir(directory: str | os.PathLike) -> Path:
    """Create `directory` (and parents) and check that a file can be written in it.

    Raises `OSError` (from the filesystem) when it cannot. Returns the path.
    """
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    probe = path / f".chaosjax-write-test-{os.getpid()}"
    probe.write_bytes(b"")
    probe.unlink()
    return path


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write `text` (UTF-8) to `path` atomically. Returns the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if hasattr(obj, "__array__"):
        return np.asarray(obj).tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write `obj` as indented JSON to `path` atomically (NumPy/JAX arrays become lists)."""
    return write_text(path, json.dumps(obj, indent=2, default=_json_default) + "\n")


def save_figure(fig: Any, path: str | os.PathLike, *, dpi: int = 110) -> Path:
    """Save a matplotlib figure to `path` (format from the suffix) atomically and close it."""
    import matplotlib.pyplot as plt

    target = Path(path)
    try:
        with atomic_path(target) as tmp:
            fig.savefig(tmp, format=target.suffix.lstrip(".") or "png", dpi=dpi)
    finally:
        plt.close(fig)
    return target


# --------------------------------------------------------------------------- NetCDF / Zarr


def _format_of(path: Path, format: str | None) -> str:
    if format is not None:
        if format not in ("netcdf", "zarr"):
            raise ValueError(f"`format` must be 'netcdf' or 'zarr', got {format!r}.")
        return format
    suffix = path.suffix.lower()
    if suffix == ".zarr":
        return "zarr"
    if suffix in (".nc", ".nc4", ".netcdf", ".h5", ".cdf"):
        return "netcdf"
    raise ValueError(f"`path` must end in .nc (NetCDF) or .zarr (Zarr), got {str(path)!r}.")


def _clean_attr(value: Any) -> Any:
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, (str, int, float, np.integer, np.floating)):
        return value
    if (
        isinstance(value, (list, tuple))
        and all(
            isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
            for v in value
        )
        and value
    ):
        return np.asarray(value)
    if isinstance(value, np.ndarray) and value.dtype.kind in "iuf":
        return value
    return json.dumps(value, default=_json_default)


def _netcdf_safe(ds: xr.Dataset) -> xr.Dataset:
    """NetCDF attributes are strings, numbers or 1-D numeric arrays: convert the rest."""
    ds = ds.copy()
    ds.attrs = {k: _clean_attr(v) for k, v in ds.attrs.items() if v is not None}
    for name in ds.variables:
        ds[name].attrs = {k: _clean_attr(v) for k, v in ds[name].attrs.items() if v is not None}
    return ds


def save(ds: xr.Dataset, path: str | os.PathLike, *, format: str | None = None) -> Path:
    """Write `ds` to `path` atomically: NetCDF-4 via h5netcdf (`.nc`) or Zarr (`.zarr`).

    The format follows the suffix unless `format` ("netcdf" or "zarr") is given.
    Attribute values that NetCDF cannot hold (dicts, None, booleans) are stored as
    JSON strings or integers. Returns the path.

    Raises `ValueError` for an unknown suffix or when Zarr is requested but not
    installed, and `OSError` when the directory is not writable.
    """
    if not isinstance(ds, xr.Dataset):
        raise ValueError(f"`ds` must be an xarray.Dataset, got {type(ds).__name__}.")
    target = Path(path)
    fmt = _format_of(target, format)
    ds = _netcdf_safe(ds)
    if fmt == "zarr":
        if not zarr_available():
            raise ValueError(
                f"Cannot write {str(target)!r}: Zarr output needs the optional `zarr` "
                "package (pip install 'chaosjax[zarr]'); use a .nc path for NetCDF."
            )
        with atomic_path(target, directory=True) as tmp:
            ds.to_zarr(tmp, mode="w", consolidated=False)
        return target
    with atomic_path(target) as tmp:
        ds.to_netcdf(tmp, engine="h5netcdf", invalid_netcdf=False)
    return target


def load(path: str | os.PathLike) -> xr.Dataset:
    """Read a dataset written by `save` (NetCDF or Zarr) fully into memory.

    The file is closed on return, so it can be replaced or deleted afterwards.
    Raises `FileNotFoundError` when `path` does not exist.
    """
    target = Path(path)
    if not target.exists():
        raise FileNotFoundError(f"No such file or store: {str(target)!r}.")
    if _format_of(target, None) == "zarr" or target.is_dir():
        return xr.open_zarr(target, consolidated=False).load()
    return xr.load_dataset(target, engine="h5netcdf")


# --------------------------------------------------------------------------- datasets


def _version() -> str:
    from . import __version__

    return __version__


def system_parameters(system: Any) -> dict[str, Any]:
    """The system's parameters as plain Python numbers or lists (JSON-ready)."""
    out: dict[str, Any] = {}
    params = system.parameters() if hasattr(system, "parameters") else {}
    for name, value in params.items():
        arr = np.asarray(value)
        out[name] = arr.item() if arr.ndim == 0 else arr.tolist()
    if hasattr(system, "static_parameters"):
        for name, value in system.static_parameters().items():
            if isinstance(value, (int, float, str, bool)):
                out[name] = value
    return out


def system_name(system: Any) -> str:
    """The catalogue name of `system`, or its class name for a user's own system."""
    return getattr(system, "name", "") or type(system).__name__


def attributes(
    system: Any,
    *,
    dt: float | None = None,
    solver: str | None = None,
    seed: int | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The provenance attributes every chaosjax dataset carries.

    `system`, `system_class`, `kind`, `dim`, `parameters` (JSON), `parameter_<name>`
    for each scalar parameter, `dt` (time per step; absent for maps), `solver`,
    `seed`, `chaosjax_version`, `created` (UTC, ISO 8601), plus `extra`.
    """
    params = system_parameters(system)
    attrs: dict[str, Any] = {
        "system": system_name(system),
        "system_class": f"{type(system).__module__}.{type(system).__qualname__}",
        "kind": getattr(system, "kind", ""),
        "dim": int(system.dim),
        "parameters": json.dumps(params),
    }
    for name, value in params.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            attrs[f"parameter_{name}"] = value
    if dt is not None:
        attrs["dt"] = float(dt)
        attrs["time_units"] = "time units of the system"
    else:
        attrs["time_units"] = "iterations"
    if solver is not None and dt is not None:
        attrs["solver"] = solver
    if seed is not None:
        attrs["seed"] = int(seed)
    attrs["chaosjax_version"] = _version()
    attrs["created"] = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    attrs.update({k: v for k, v in extra.items() if v is not None})
    return attrs


def _time_coord(n_saves: int, transient: int, save_every: int, dt: float | None):
    steps = transient + save_every * np.arange(n_saves)
    unit = "iterations" if dt is None else "time units of the system"
    time = steps.astype(float) if dt is None else steps * float(dt)
    return {
        "time": ("time", time, {"units": unit, "long_name": "time since x0"}),
        "step": ("time", steps, {"units": "steps", "long_name": "steps since x0"}),
    }


def _component_coord(dim: int) -> dict[str, Any]:
    return {"component": ("component", np.arange(dim), {"long_name": "state coordinate index"})}


def trajectory_dataset(
    system: Any,
    states: Any,
    *,
    dt: float | None,
    solver: str | None = None,
    seed: int | None = None,
    transient: int = 0,
    save_every: int = 1,
    **extra: Any,
) -> xr.Dataset:
    """A Dataset of one trajectory (time, component) or many (member, time, component).

    `states` is what `cj.trajectory` returned with the same `transient` and
    `save_every`; the `time` coordinate counts from the original x0.
    """
    xs = np.asarray(states)
    if xs.ndim not in (2, 3):
        raise ValueError(f"`states` must be (time, dim) or (member, time, dim), got {xs.shape}.")
    dims = ("time", "component") if xs.ndim == 2 else ("member", "time", "component")
    coords = {
        **_time_coord(xs.shape[-2], transient, save_every, dt),
        **_component_coord(xs.shape[-1]),
    }
    if xs.ndim == 3:
        coords["member"] = ("member", np.arange(xs.shape[0]), {"long_name": "ensemble member"})
    unit = "state units"
    ds = xr.Dataset(
        {"state": (dims, xs, {"units": unit, "long_name": "system state"})},
        coords=coords,
        attrs=attributes(
            system,
            dt=dt,
            solver=solver,
            seed=seed,
            transient=transient,
            save_every=save_every,
            content="trajectory",
            **extra,
        ),
    )
    return ds


def ensemble_dataset(
    system: Any,
    *,
    initial_states: Any,
    time_averages: Any,
    cumulative_times: Any = None,
    cumulative_averages: Any = None,
    dt: float | None,
    solver: str | None = None,
    seed: int | None = None,
    transient: int = 0,
    steps: int = 0,
    observable: str = "state components",
    extra_vars: Mapping[str, Any] | None = None,
    **extra: Any,
) -> xr.Dataset:
    """A Dataset of ensemble statistics of time averages of each state component.

    Variables: `initial_state` (member, component), `time_average` (member, component),
    `mean`, `std` (ddof=1), `sem` (component), and when given the running averages
    `cumulative_average` (member, averaging_time, component).
    """
    x0 = np.asarray(initial_states)
    vals = np.asarray(time_averages)
    n = vals.shape[0]
    std = vals.std(0, ddof=1) if n > 1 else np.zeros(vals.shape[1:])
    t_unit = "iterations" if dt is None else "time units of the system"
    data: dict[str, Any] = {
        "initial_state": (
            ("member", "component"),
            x0,
            {"units": "state units", "long_name": "initial state (before transient)"},
        ),
        "time_average": (
            ("member", "component"),
            vals,
            {
                "units": "state units",
                "long_name": f"finite-time average over {steps} steps after the transient",
            },
        ),
        "mean": (
            ("component",),
            vals.mean(0),
            {"units": "state units", "long_name": "ensemble mean"},
        ),
        "std": (
            ("component",),
            std,
            {"units": "state units", "long_name": "ensemble standard deviation (ddof=1)"},
        ),
        "sem": (
            ("component",),
            std / np.sqrt(n),
            {"units": "state units", "long_name": "standard error of the mean"},
        ),
    }
    coords: dict[str, Any] = {
        "member": ("member", np.arange(n), {"long_name": "ensemble member"}),
        **_component_coord(vals.shape[-1]),
    }
    if cumulative_averages is not None:
        ca = np.asarray(cumulative_averages)
        data["cumulative_average"] = (
            ("member", "averaging_time", "component"),
            ca,
            {"units": "state units", "long_name": "running time average"},
        )
        coords["averaging_time"] = (
            "averaging_time",
            np.asarray(cumulative_times),
            {"units": t_unit, "long_name": "averaging time T"},
        )
    for name, value in (extra_vars or {}).items():
        data[name] = value
    return xr.Dataset(
        data,
        coords=coords,
        attrs=attributes(
            system,
            dt=dt,
            solver=solver,
            seed=seed,
            transient=transient,
            steps=steps,
            members=n,
            observable=observable,
            content="ensemble",
            **extra,
        ),
    )
