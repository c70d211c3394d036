"""Provenance of results: a system's name and parameters and the attributes every
dataset and checkpoint chaosjax writes carries. Public through `cj.io`."""

from __future__ import annotations

import datetime as _dt
import json
from typing import Any

import numpy as np

from .systems import Flow, Map


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
    `dt` (time per step; absent for maps), `time_units`, `solver`, `seed`,
    `chaosjax_version`, `created` (UTC, ISO 8601), plus `extra`.

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
