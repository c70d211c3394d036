"""Provenance of results: a system's name and parameters and the attributes every
dataset and checkpoint chaosjax writes carries. Public through `cj.io`."""

from __future__ import annotations

import datetime as _dt
import json
from typing import Any

import numpy as np

from .systems import Flow, Map
from .systems._base import class_metadata


def _version() -> str:
    from ._version import __version__

    return __version__


def system_parameters(system: Flow | Map) -> dict[str, Any]:
    """A system's parameters as plain Python numbers or lists (JSON-ready).

    **Arguments:**

    - `system`: a `cj.Flow` or `cj.Map`.

    **Returns:**

    A dict name -> value: the numeric parameters, and the static ones that are plain
    numbers or strings (a delay `d`, a size `n`).

    Example:

    ```python
    cj.io.system_parameters(cj.systems.Henon())     # {'a': 1.4, 'b': 0.3}
    ```
    """
    out: dict[str, Any] = {}
    for name, value in system.parameters().items():
        arr = np.asarray(value)
        out[name] = arr.item() if arr.ndim == 0 else arr.tolist()
    for name, value in system.static_parameters().items():
        if isinstance(value, (int, float, str, bool)):
            out[name] = value
    return out


def system_name(system: Flow | Map) -> str:
    """The catalogue name of a system, or its class name for a user's own system.

    **Arguments:**

    - `system`: a `cj.Flow` or `cj.Map`.

    **Returns:**

    The name, e.g. "lorenz63".

    Example:

    ```python
    cj.io.system_name(cj.systems.Lorenz63())        # 'lorenz63'
    ```
    """
    return system.name or type(system).__name__


def attributes(
    system: Flow | Map,
    *,
    dt: float | None = None,
    solver: str | None = None,
    seed: int | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The provenance attributes every chaosjax dataset carries.

    `system`, `system_class`, `kind`, `dim`, `parameters` (JSON), `parameter_<name>`
    for each scalar parameter, `system_file` and `system_file_sha256` for a class
    loaded from a file (`--system-file`: its path and the SHA-256 of its content),
    `dt` (time per step; absent for maps), `time_units` (the flow's `time_units`,
    "time units of the system" when nondimensional, "iterations" for a map),
    `solver`, `seed`, `chaosjax_version`, `created` (UTC, ISO 8601), plus `extra`.

    **Arguments:**

    - `system`: a `cj.Flow` or `cj.Map`.
    - `dt`: the time step of a flow; None for a map.
    - `solver`: the solver's name (kept for flows only); `seed`: a random seed.
    - `**extra`: further attributes (None values are left out).

    **Returns:**

    A dict of attributes.

    Example:

    ```python
    attrs = cj.io.attributes(cj.systems.Lorenz63(), dt=0.01, solver="rk4", seed=0)
    ```
    """
    params = system_parameters(system)
    # A user's class loaded from a file (`--system-file`) names the file and its hash.
    source = getattr(type(system), "__chaosjax_source__", None)
    attrs: dict[str, Any] = {
        "system": system_name(system),
        "system_class": f"{source['file']}:{type(system).__qualname__}"
        if isinstance(source, dict)
        else f"{type(system).__module__}.{type(system).__qualname__}",
        "kind": system.kind,
        "dim": int(system.dim),
        "parameters": json.dumps(params),
    }
    for name, value in params.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            attrs[f"parameter_{name}"] = value
    if isinstance(source, dict):
        attrs["system_file"] = source["file"]
        attrs["system_file_sha256"] = source["sha256"]
    if dt is not None:
        attrs["dt"] = float(dt)
        own = class_metadata(type(system), "time_units", None)
        attrs["time_units"] = own or "time units of the system"
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


def load_system(source: object, *, system_class: type | None = None) -> Flow | Map:
    """The system a file chaosjax wrote was made with, rebuilt from its provenance.

    The attributes `system_class` and `parameters` (written by `attributes`, so on every
    dataset of `cj.io`, the CLI's files and a report's results.nc) name the class and
    hold every parameter; the class is called with them. chaosjax's own classes are
    rebuilt directly; a user's class (defined in a script or notebook) is not imported
    from a name in a file: pass it as `system_class`.

    **Arguments:**

    - `source`: an `xarray.Dataset` or `DataTree` chaosjax wrote, or the path of its
      file (`.nc` or `.zarr`).
    - `system_class`: the class to rebuild a user's system with (its name must match
      the file's); not needed for chaosjax's classes.

    **Returns:**

    The system, equal in class, parameters and dimension to the one that wrote the
    file. A `ValueError` says why it cannot be: no provenance attributes, a user's class
    not given (or another class given), a class chaosjax no longer has, or parameters
    the class does not accept.

    Example:

    ```python
    lor = cj.systems.Lorenz63(rho=30.0)
    xs = cj.trajectory(lor, lor.default_state(), steps=100, dt=0.01)
    cj.io.save(cj.io.trajectory_dataset(lor, xs, dt=0.01), "run.nc")
    cj.io.load_system("run.nc")                  # Lorenz63(rho=30.0, ...)
    ```
    """
    import importlib
    import os

    import xarray as xr

    if isinstance(source, (str, os.PathLike)):
        from ._files import load

        attrs = dict(load(source).attrs)
        where = repr(str(source))
    elif isinstance(source, (xr.Dataset, xr.DataTree)):
        attrs, where = dict(source.attrs), "the dataset"
    else:
        raise ValueError(
            f"`source` must be an xarray Dataset, DataTree or a file path, got "
            f"{type(source).__name__}."
        )
    if "system_class" not in attrs or "parameters" not in attrs:
        raise ValueError(
            f"{where} has no system provenance (attributes `system_class` and "
            "`parameters`): it was not written by chaosjax's cj.io or CLI."
        )
    qualified = str(attrs["system_class"])
    module, _, qualname = qualified.rpartition(".")
    try:
        params = json.loads(attrs["parameters"])
    except (TypeError, ValueError) as e:
        raise ValueError(f"{where}: attribute `parameters` is not JSON: {e}.") from e
    if system_class is not None:
        if not (isinstance(system_class, type) and issubclass(system_class, (Flow, Map))):
            raise ValueError(
                f"`system_class` must be a cj.Flow or cj.Map subclass, got {system_class!r}."
            )
        if system_class.__name__ != qualname.rpartition(".")[2]:
            raise ValueError(
                f"{where} was written by {qualname} ({qualified}), not by "
                f"`system_class` = {system_class.__name__}."
            )
        cls = system_class
    elif module == "chaosjax" or module.startswith("chaosjax."):
        try:
            cls = importlib.import_module(module)
            for part in qualname.split("."):
                cls = getattr(cls, part)
        except (ImportError, AttributeError):
            raise ValueError(
                f"{where} was written by {qualified}, which this chaosjax "
                f"({_version()}) does not have; it was written by chaosjax "
                f"{attrs.get('chaosjax_version', '(unknown)')}."
            ) from None
        if not (isinstance(cls, type) and issubclass(cls, (Flow, Map))):
            raise ValueError(f"{where}: {qualified} is not a system class.")
    else:
        short = qualified.rpartition(".")[2]
        raise ValueError(
            f"{where} was written by the user-defined system {short} ({qualified}); "
            "chaosjax does not import code named in a file. Pass the class: "
            f"cj.io.load_system(..., system_class={short})."
        )
    try:
        system = cls(**{k: v for k, v in params.items() if v is not None})
    except Exception as e:  # noqa: BLE001 - a class whose fields changed since the write
        raise ValueError(
            f"{where}: {qualname}(**parameters) failed with the file's parameters "
            f"{sorted(params)}: {e}"
        ) from e
    if "dim" in attrs and int(attrs["dim"]) != system.dim:
        raise ValueError(
            f"{where}: the rebuilt {qualname} has dimension {system.dim}, the file says "
            f"{int(attrs['dim'])}."
        )
    return system
