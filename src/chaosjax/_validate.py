"""Argument checks that run in Python, before anything is traced or compiled.

Every message names the argument, the expected form and the value received.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.core import Tracer


def is_concrete(x: Any) -> bool:
    """True when `x` holds values now (not a tracer inside jit/vmap/grad)."""
    return not isinstance(x, Tracer)


def positive_int(value: object, name: str) -> int:
    """`value` as an int >= 1; else a `ValueError` naming `name`."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"`{name}` must be a positive int, got {value!r}.")
    return int(value)


def nonnegative_int(value: object, name: str) -> int:
    """`value` as an int >= 0; else a `ValueError` naming `name`."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"`{name}` must be a non-negative int, got {value!r}.")
    return int(value)


def positive_float(value: object, name: str) -> float:
    """A positive finite Python/NumPy number (static: used for loop lengths and step sizes)."""
    if isinstance(value, bool):
        raise ValueError(f"`{name}` must be a positive float, got {value!r}.")
    if is_concrete(value):
        try:
            v = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ValueError(f"`{name}` must be a positive float, got {value!r}.") from None
        if not np.isfinite(v) or v <= 0.0:
            raise ValueError(f"`{name}` must be a positive finite float, got {value!r}.")
        return v
    raise ValueError(f"`{name}` must be a concrete positive float (not traced), got {value!r}.")


def one_of(value: object, name: str, choices: Iterable[str]) -> str:
    """`value` if it is one of `choices`; else a `ValueError` with the close matches."""
    choices = list(choices)
    if not isinstance(value, str) or value not in choices:
        close = difflib.get_close_matches(str(value), choices, n=3)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise ValueError(f"`{name}` must be one of {choices}, got {value!r}.{hint}")
    return value


def state(x0: Any, dim: int, name: str = "x0", *, batch: bool = True) -> jax.Array:
    """Check a state of shape (dim,) — or (n, dim) when `batch` — and that it is finite."""
    try:
        x = jnp.asarray(x0)
    except (TypeError, ValueError):
        raise ValueError(f"`{name}` must be an array of shape ({dim},), got {x0!r}.") from None
    shapes = f"({dim},) or (n, {dim})" if batch else f"({dim},)"
    ok_shape = x.ndim >= 1 and x.shape[-1] == dim and (x.ndim == 1 or (batch and x.ndim == 2))
    if not ok_shape:
        raise ValueError(f"`{name}` must have shape {shapes}, got shape {tuple(x.shape)}.")
    if not jnp.issubdtype(x.dtype, jnp.floating):
        x = x.astype(jnp.result_type(float))
    # NumPy, not jnp: inside an outer jit a jnp op on a constant would be staged out.
    if is_concrete(x) and not np.all(np.isfinite(np.asarray(x))):
        bad = np.argwhere(~np.isfinite(np.asarray(x)))[0].tolist()
        raise ValueError(f"`{name}` must be finite; entry {bad} is {np.asarray(x)[tuple(bad)]}.")
    return x


def system_parameters(system: eqx.Module, name: str = "system") -> None:
    """Every concrete array parameter of `system` must be finite."""
    leaves = jax.tree_util.tree_leaves_with_path(eqx.filter(system, eqx.is_array))
    for path, leaf in leaves:
        if is_concrete(leaf) and jnp.issubdtype(leaf.dtype, jnp.inexact):
            if not np.all(np.isfinite(np.asarray(leaf))):
                where = jax.tree_util.keystr(path)
                raise ValueError(
                    f"`{name}` has a non-finite parameter {where} = {np.asarray(leaf)!r}; "
                    "parameters must be finite."
                )


def unknown_name(name: str, choices: Iterable[str], what: str) -> ValueError:
    """The `ValueError` (returned, not raised) for an unknown name, with close matches."""
    choices = sorted(choices)
    close = difflib.get_close_matches(name, choices, n=3)
    hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
    return ValueError(f"{what} {name!r} is unknown.{hint} Known: {', '.join(choices)}.")


def prng_key(key: Any, name: str = "key") -> Any:
    """A typed PRNG key (legacy uint32 (2,) keys are wrapped); `ValueError` otherwise."""
    try:
        if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
            return key
        arr = jnp.asarray(key)
        if arr.shape == (2,) and arr.dtype == jnp.uint32:
            return jax.random.wrap_key_data(arr)
    except (AttributeError, TypeError, ValueError):
        pass
    raise ValueError(f"`{name}` must be a PRNG key (jax.random.key(seed)), got {key!r}.")
