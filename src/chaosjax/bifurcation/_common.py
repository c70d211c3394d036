"""What the bifurcation analyses share: the checks of a parameter sweep's arguments, the
states it starts from, its placement on the devices, and the sweep itself (one `vmap` of
a kernel over the one-step maps at every parameter value).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .. import _validate as v
from .._iterate import iterate as iterate
from ..discretize import as_map
from ..parallel import shard_batch
from ..systems import Flow, Map


def check_system(system: object) -> None:
    """The checks `as_map` makes of a system, for the analyses that need no step: Newton's
    method on a flow's vector field (f(x) = 0) takes no `dt`."""
    if not isinstance(system, (Flow, Map)):
        raise ValueError(f"`system` must be a cj.Flow or cj.Map, got {type(system).__name__}.")
    v.system_parameters(system)


def checked_dt(system: object, dt: float | None, solver: str) -> float | None:
    """Check `system`, `dt` and `solver` through `as_map` before anything is traced, and
    return `dt` as the Python float the compiled sweep takes as a static argument (None
    for a map). Inside the sweep `as_map` is called again, at each traced parameter value.
    """
    m = as_map(system, dt, solver)
    return m.time_per_step if isinstance(system, Flow) else None


def check_param(system: Flow | Map, param: object, values: object) -> Array:
    """`values` of the numeric parameter `param` as an array (n, *shape of the parameter),
    checked to be finite; a structural (static) or unknown name is a `ValueError`."""
    if not isinstance(param, str):
        raise ValueError(f"`param` must be a parameter name (str), got {param!r}.")
    params = system.parameters()
    if param not in params:
        if param in system.static_parameters():
            raise ValueError(
                f"Parameter {param!r} of {type(system).__name__} is structural (static, it "
                "fixes the state dimension) and cannot be swept; sweep a numeric parameter "
                f"({', '.join(sorted(params))})."
            )
        raise v.unknown_name(param, params, f"Parameter of {type(system).__name__}:")
    shape = tuple(jnp.shape(params[param]))
    # A string would be parsed ("3.5") and a complex cast would drop its imaginary part.
    if isinstance(values, (str, bytes)) or np.iscomplexobj(cast(Any, values)):
        raise ValueError(f"`values` must be an array of real numbers, got {values!r}.")
    try:
        vals = jnp.asarray(values, dtype=jnp.result_type(float))
    except (TypeError, ValueError):
        raise ValueError(f"`values` must be an array of numbers, got {values!r}.") from None
    if vals.ndim == len(shape):
        vals = vals[None]
    if tuple(vals.shape[1:]) != shape or vals.shape[0] < 1:
        raise ValueError(
            f"`values` must have shape (n,{''.join(f' {s},' for s in shape)}) for parameter "
            f"{param!r} of shape {shape}, got {tuple(vals.shape)}."
        )
    if v.is_concrete(vals) and not v.found_finite(vals):
        raise ValueError(f"`values` must be finite; got {np.asarray(vals)}.")
    return vals


def initial_states(
    system: Flow | Map, x0: ArrayLike | None, n_values: int | None = None
) -> Float[Array, "*n dim"]:
    """`x0` checked: (dim,) shared by every parameter value, or (n_values, dim) one per
    value when `n_values` is given; `system.default_state()` when None."""
    x0 = system.default_state() if x0 is None else x0
    x = v.state(x0, system.dim, "x0", batch=n_values is not None)
    if x.ndim == 2 and x.shape[0] != n_values:
        raise ValueError(
            f"`x0` must have shape ({system.dim},) or ({n_values}, {system.dim}) (one per "
            f"parameter value), got {tuple(x.shape)}."
        )
    return x


def shard_sweep(values: Array, x0: Array, shard: bool) -> tuple[Array, Array]:
    """Place the parameter axis (and x0 when it holds one state per value) split over
    `jax.devices()`."""
    if not shard:
        return values, x0
    return shard_batch(values), (shard_batch(x0) if x0.ndim == 2 else x0)


def over_values(
    kernel: Callable[[Map, Array], Any],
    system: Flow | Map,
    param: str,
    values: Array,
    x0: Array,
    dt: float | None,
    solver: str,
) -> Any:
    """`kernel(m, x0)` for the one-step map `m` of `system` at every value of `param`: one
    `vmap` over `values` (and over `x0` when it holds one state per value, shape (n, dim)).

    Called inside a compiled function; `system`, `dt` and `solver` were checked before
    tracing (`checked_dt`), so `as_map` here only builds the map (the traced parameter is
    skipped by its finiteness check).
    """

    def one(value: Array, x: Array) -> Any:
        return kernel(as_map(system.replace(**{param: value}), dt, solver), x)

    return jax.vmap(one, in_axes=(0, 0 if x0.ndim == 2 else None))(values, x0)
