"""Systems: what evolves. Base classes `Flow` and `Map`, and the catalogue.

The abstract bases are `Flow`, `Map`, `InvertibleMap`, `DrivenMap`,
`PiecewiseSmoothFlow` and `FilippovFlow`; the catalogue's classes are final, with
parameters as array leaves (`param`) and their metadata (name, citation, reference
exponents) on the class.
src/chaosjax/systems/README.md explains how to add a system.

```python
import chaosjax as cj
cj.systems.catalog()                    # every built-in name
cj.systems.get("lorenz63", rho=30.0)    # by name, with overrides
```
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np
from jax.core import Tracer

from .._validate import unknown_name
from ._base import DrivenMap as DrivenMap
from ._base import FilippovFlow as FilippovFlow
from ._base import Flow as Flow
from ._base import InvertibleMap as InvertibleMap
from ._base import Map as Map
from ._base import PiecewiseSmoothFlow as PiecewiseSmoothFlow
from ._base import check_parameter_name
from ._base import is_time_dependent as is_time_dependent
from ._base import param as param
from .filippov import RelayFeedback, StickSlipOscillator
from .flows import (
    Chen,
    Chua,
    Duffing,
    Halvorsen,
    LinearFlow,
    Lorenz63,
    Lorenz96,
    PiecewiseLinearFlow,
    ReluFlow,
    Rossler,
    SprottB,
    Thomas,
)
from .forced import Autonomised, ForcedDuffing
from .maps import (
    Burgers,
    DelayedHenon,
    DelayedLogistic,
    Henon,
    Ikeda,
    Logistic,
    Lozi,
    PiecewiseLinearMap,
    SmoothedSigmoidMap,
    StandardMap,
    Tent,
    Tinkerbell,
)
from .networks import (
    ACTIVATIONS,
    FeedForwardFlow,
    FeedForwardMap,
    RingSeparatingFlow,
    activation_function,
)
from .rnn import GRU, LSTM, RNN  # input-driven maps; not in the catalogue (need weights)

__all__ = [
    "Flow", "Map", "InvertibleMap", "DrivenMap", "PiecewiseSmoothFlow", "FilippovFlow",
    "param", "catalog", "get", "system_class",
    "Lorenz63", "Rossler", "Lorenz96", "Chen", "Chua", "Thomas", "Halvorsen", "SprottB",
    "Duffing", "LinearFlow", "ReluFlow", "PiecewiseLinearFlow", "StickSlipOscillator",
    "RelayFeedback",
    "Logistic", "Tent", "Henon", "Lozi", "Tinkerbell", "DelayedLogistic", "Burgers", "Ikeda",
    "DelayedHenon", "SmoothedSigmoidMap", "StandardMap",
]  # fmt: skip
__all__ += ["RNN", "GRU", "LSTM", "PiecewiseLinearMap"]
__all__ += [
    "ACTIVATIONS", "FeedForwardMap", "FeedForwardFlow", "RingSeparatingFlow",
    "activation_function",
]  # fmt: skip
__all__ += ["ForcedDuffing", "Autonomised", "is_time_dependent"]

_CATALOG: dict[str, type] = {
    cls.name: cls
    for cls in (
        Lorenz63, Rossler, Lorenz96, Chen, Chua, Thomas, Halvorsen, SprottB, Duffing,
        ForcedDuffing,
        LinearFlow, ReluFlow, PiecewiseLinearFlow, StickSlipOscillator, RelayFeedback,
        Logistic, Tent, Henon, Lozi, Tinkerbell, DelayedLogistic, Burgers, Ikeda,
        DelayedHenon, SmoothedSigmoidMap, StandardMap,
    )
}  # fmt: skip

_PRESETS: dict[str, Any] = {
    "pwl_fp_to_limit_cycle": PiecewiseLinearFlow.fp_to_limit_cycle,
    "pwl_fp_to_chaos": PiecewiseLinearFlow.fp_to_chaos,
}


def catalog() -> list[str]:
    """Names of every built-in system (flows first, then maps), plus named presets.

    **Returns:**

    A list of names, each accepted by `get`.

    Example:

    ```python
    "lorenz63" in cj.systems.catalog()      # True
    ```
    """
    return list(_CATALOG) + list(_PRESETS)


def system_class(name: str) -> type:
    """The class registered under a catalogue name.

    **Arguments:**

    - `name`: a catalogue name (case and "-" / "_" are ignored); presets are not classes.

    **Returns:**

    The class; an unknown name raises `ValueError` listing close matches.

    Example:

    ```python
    cj.systems.system_class("henon")        # cj.systems.Henon
    ```
    """
    key = name.strip().lower().replace("-", "_")
    if key in _CATALOG:
        return _CATALOG[key]
    raise unknown_name(name, catalog(), "System")


def get(name: str, /, **params: Any) -> Flow | Map:
    """The built-in system `name`, with parameters overridden by keyword.

    **Arguments:**

    - `name`: a name from `catalog()` (a class or a preset such as "pwl_fp_to_chaos").
    - `**params`: parameter values that replace the defaults: real and finite, a scalar
      where the default is one (a matrix keeps its number of axes). Only parameters
      (the class's fields) are accepted, not class metadata such as `dim`.

    **Returns:**

    The system (a `Flow` or a `Map`). An unknown name (with close matches), a
    parameter the system does not have, or a value that is not a real finite number
    (array) of the right number of axes raises `ValueError` naming the parameter.

    Example:

    ```python
    lor = cj.systems.get("lorenz63", rho=30.0)
    ```
    """
    if not isinstance(name, str):
        raise ValueError(f"`name` must be a system name (str), got {name!r}.")
    key = name.strip().lower().replace("-", "_")
    if key in _PRESETS:
        base = _PRESETS[key]()
        for p, value in params.items():
            _check_parameter(base, p, value)
        return base.replace(**params) if params else base
    cls = system_class(key)
    for p in params:
        check_parameter_name(cls, p)
    try:
        default = cls()
    except TypeError:  # a system without defaults for every field
        default = None
    for p, value in params.items():
        _check_parameter(default, p, value)
    return cls(**params)


def _check_parameter(default: object, name: str, value: object) -> None:
    """A parameter override for an array parameter of `default`: real numbers, finite,
    with the default's number of axes; else a `ValueError` naming the parameter."""
    old = getattr(default, name, None)
    if not isinstance(old, jax.Array):
        return
    what = f"`{name}` (a parameter of {type(default).__name__})"
    if isinstance(value, Tracer):  # under jit/vmap: shape and dtype only
        arr = np.empty(value.shape, value.dtype)
    else:
        try:
            arr = np.asarray(value)
        except (TypeError, ValueError):
            arr = np.asarray(None)
    if arr.dtype.kind not in "biuf":
        kind = "complex" if arr.dtype.kind == "c" else f"{value!r}"
        raise ValueError(f"{what} must be a real number or array of them, got {kind}.")
    # A matrix parameter may change size (with the dimension); a scalar stays a scalar.
    if arr.ndim != old.ndim:
        want = "a scalar" if old.ndim == 0 else f"{old.ndim}-D (default shape {old.shape})"
        raise ValueError(f"{what} must be {want}, got shape {arr.shape}.")
    if not isinstance(value, Tracer) and not np.all(np.isfinite(arr)):
        raise ValueError(f"{what} must be finite, got {value!r}.")
