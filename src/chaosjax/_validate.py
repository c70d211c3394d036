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


def boolean(value: object, name: str) -> bool:
    """`value` as a bool (Python or NumPy); else a `ValueError` naming `name` (a string
    such as "no" would otherwise count as true)."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"`{name}` must be True or False, got {value!r}.")
    return bool(value)


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
    """Check a state of shape (dim,) — or (n, dim) when `batch` — and that it is finite.

    The dtype rule: a state is converted to the working float dtype,
    `jnp.result_type(float)` (float64 with `jax_enable_x64`, else float32). Integer,
    boolean and other-precision float states (float32 data loaded from a file, say) are
    converted; complex states are rejected (their imaginary part would be dropped).
    """
    try:
        x = jnp.asarray(x0)
    except (TypeError, ValueError):
        raise ValueError(f"`{name}` must be an array of shape ({dim},), got {x0!r}.") from None
    if jnp.issubdtype(x.dtype, jnp.complexfloating):
        raise ValueError(f"`{name}` must be real, got complex dtype {x.dtype}.")
    if not (jnp.issubdtype(x.dtype, jnp.number) or x.dtype == jnp.bool_):
        raise ValueError(f"`{name}` must be an array of numbers, got dtype {x.dtype}.")
    shapes = f"({dim},) or (n, {dim})" if batch else f"({dim},)"
    ok_shape = x.ndim >= 1 and x.shape[-1] == dim and (x.ndim == 1 or (batch and x.ndim == 2))
    if not ok_shape:
        raise ValueError(f"`{name}` must have shape {shapes}, got shape {tuple(x.shape)}.")
    working = jnp.result_type(float)
    if x.dtype != working:
        x = x.astype(working)
    # NumPy, not jnp: inside an outer jit a jnp op on a constant would be staged out.
    if is_concrete(x) and not np.all(np.isfinite(np.asarray(x))):
        bad = np.argwhere(~np.isfinite(np.asarray(x)))[0].tolist()
        raise ValueError(f"`{name}` must be finite; entry {bad} is {np.asarray(x)[tuple(bad)]}.")
    return x


def real_array(x: Any, name: str) -> jax.Array:
    """`x` as a floating JAX array (integers are converted); else a `ValueError`."""
    try:
        # device_put moves a NumPy array as it is; jnp.asarray copies it through a
        # compiled conversion, 15x slower for a million 3-D samples.
        arr = jax.device_put(x) if isinstance(x, np.ndarray) else jnp.asarray(x)
    except (TypeError, ValueError):
        raise ValueError(f"`{name}` must be an array of numbers, got {x!r}.") from None
    if jnp.issubdtype(arr.dtype, jnp.complexfloating) or arr.dtype == jnp.bool_:
        raise ValueError(f"`{name}` must hold real numbers, got dtype {arr.dtype}.")
    if not jnp.issubdtype(arr.dtype, jnp.floating):
        arr = arr.astype(jnp.result_type(float))
    return arr


def finite(x: jax.Array, name: str) -> None:
    """A `ValueError` naming `name` and the first bad entry if concrete `x` is not finite."""
    if is_concrete(x):
        host = np.asarray(x)
        bad = ~np.isfinite(host)
        if bad.any():
            where = np.argwhere(bad)[0].tolist()
            raise ValueError(f"`{name}` must be finite; entry {where} is {host[tuple(where)]}.")


def system_parameters(system: eqx.Module, name: str = "system") -> None:
    """Every array parameter of `system` must be real, and finite where concrete."""
    leaves = jax.tree_util.tree_leaves_with_path(eqx.filter(system, eqx.is_array))
    for path, leaf in leaves:
        if jnp.issubdtype(leaf.dtype, jnp.complexfloating):
            where = jax.tree_util.keystr(path)
            raise ValueError(
                f"`{name}` has a complex parameter {where} (dtype {leaf.dtype}); "
                "parameters must be real."
            )
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
    """A typed PRNG key (legacy uint32 (2,) keys are wrapped); `ValueError` otherwise
    (None, ints, strings, an array of several keys such as `jax.random.split(key)`)."""
    dtype = getattr(key, "dtype", None)
    shape = tuple(getattr(key, "shape", ()))
    try:
        typed = dtype is not None and jnp.issubdtype(dtype, jax.dtypes.prng_key)
    except TypeError:
        typed = False
    legacy = dtype == np.uint32 and len(shape) >= 1 and shape[-1] == 2
    if typed and shape == ():
        return key
    if legacy and shape == (2,):
        return jax.random.wrap_key_data(jnp.asarray(key))
    if typed or legacy:
        raise ValueError(
            f"`{name}` must be one PRNG key, got an array of keys of shape "
            f"{shape[:-1] if legacy else shape} (pick one, e.g. `keys[0]`)."
        )
    raise ValueError(f"`{name}` must be a PRNG key (jax.random.key(seed)), got {key!r}.")


def optional_prng_key(key: Any, name: str = "key") -> Any:
    """None, or `prng_key(key, name)`."""
    return None if key is None else prng_key(key, name)
