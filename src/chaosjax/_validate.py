"""Argument checks that run in Python, before anything is traced or compiled.

Every message names the argument, the expected form and the value received.
"""

from __future__ import annotations

import difflib
import os
import weakref
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


def max_count() -> int:
    """The most steps a run may count: 2**53 with 64-bit JAX (counts stay exact as
    float64 times), 2**31 - 1 with 32-bit JAX (its loop counters)."""
    return 2**53 if jax.config.read("jax_enable_x64") else 2**31 - 1


def _count_limit_message(name: str, value: int, before: int, limit: int) -> str:
    hint = (
        "split the run into pieces (`cj.final_state`, then run on from its end state; "
        "`resume=` for Lyapunov spectra)"
        if limit > 2**31
        else "enable 64-bit JAX (`jax.config.update('jax_enable_x64', True)`) or split "
        "the run into pieces"
    )
    plus = f" (plus {before} steps before them)" if before else ""
    return f"`{name}` = {value}{plus} is more steps than a run can count (at most {limit}); {hint}."


def step_count(value: object, name: str, *, positive: bool = True, total: int = 0) -> int:
    """`value` as a count of steps (>= 1, or >= 0 without `positive`) that a run can
    count, also with `total` steps before it; else a `ValueError` naming `name`."""
    n = positive_int(value, name) if positive else nonnegative_int(value, name)
    limit = max_count()
    if n + total > limit:
        raise ValueError(_count_limit_message(name, n, total, limit))
    return n


def steps_or_time(steps: object, t_final: object, time_per_step: float, *, total: int = 0) -> int:
    """The step count from exactly one of `steps` and `t_final` (a length in time units,
    a whole number of steps of `time_per_step`); else a `ValueError` naming both."""
    if (steps is None) == (t_final is None):
        given = "both" if steps is not None else "neither"
        raise ValueError(
            f"Give exactly one of `steps` (a count of steps) and `t_final` (a length in "
            f"time units, steps = t_final / dt); got {given}."
        )
    if steps is not None:
        return step_count(steps, "steps", total=total)
    t = positive_float(t_final, "t_final")
    n = round(t / time_per_step)
    if n < 1 or abs(n * time_per_step - t) > 1e-9 * max(t, time_per_step):
        raise ValueError(
            f"`t_final` ({t:g}) must be a positive whole number of steps of {time_per_step:g} "
            f"time units (t_final / dt = {t / time_per_step:.6g}); adjust `t_final` or `dt`, "
            "or give `steps`."
        )
    return step_count(n, "t_final / dt", total=total)


def physical_memory() -> int | None:
    """Bytes of memory of this machine (None where the OS does not say)."""
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return None


def _bytes(n: int | float) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.3g} {unit}"
        n /= 1000
    return f"{n:.3g} PB"  # pragma: no cover


def output_fits(nbytes: int, name: str, what: str, advice: str) -> None:
    """A `ValueError` naming `name` when an output of `nbytes` would take more than half
    the memory of this machine, raised before it is allocated; `advice` says what to
    do instead."""
    memory = physical_memory()
    if memory is not None and nbytes > memory // 2:
        named = name if name.startswith("--") else f"`{name}`"
        raise ValueError(
            f"{named}: {what} would take {_bytes(nbytes)}, more than half the memory of "
            f"this machine ({_bytes(memory)}); {advice}."
        )


def boolean(value: object, name: str) -> bool:
    """`value` as a bool (Python or NumPy); else a `ValueError` naming `name` (a string
    such as "no" would otherwise count as true)."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"`{name}` must be True or False, got {value!r}.")
    return bool(value)


def positive_float(value: object, name: str) -> float:
    """A positive finite Python/NumPy number (static: used for loop lengths and step sizes)."""
    # A string would pass float() ("0.01"): a number is asked for.
    if isinstance(value, (bool, str, bytes)):
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
    if (
        isinstance(x0, jax.Array)
        and not isinstance(x0, Tracer)
        and x0.dtype == jnp.result_type(float)
        and x0.shape in ((dim,), *(((x0.shape[0], dim),) if batch and x0.ndim == 2 else ()))
        and (_known_finite(x0) or np.isfinite(np.asarray(x0)).all())
    ):
        _remember_finite(x0)
        return x0  # the common case: a finite concrete array of the working dtype
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


_finite_arrays: dict[int, weakref.ref] = {}


def _known_finite(x: jax.Array) -> bool:
    """Whether the array `x` itself was found finite before (`_remember_finite`)."""
    known = _finite_arrays.get(id(x))
    return known is not None and known() is x


def found_finite(x: Any) -> bool:
    """Whether the concrete array `x` is finite; a JAX array found finite is remembered
    while it lives (JAX arrays are immutable), so asking again costs a lookup."""
    if isinstance(x, jax.Array) and _known_finite(x):
        return True
    if not np.isfinite(np.asarray(x)).all():
        return False
    if isinstance(x, jax.Array):
        _remember_finite(x)
    return True


def _remember_finite(leaf: jax.Array) -> None:
    """Keep `leaf` (a concrete array found finite) in `_finite_arrays` while it lives."""
    key = id(leaf)
    try:
        ref = weakref.ref(leaf, lambda _, key=key: _finite_arrays.pop(key, None))
    except TypeError:  # an array type without weak references: not remembered
        return
    if len(_finite_arrays) >= 4096:
        _finite_arrays.clear()
    _finite_arrays[key] = ref


def system_parameters(system: eqx.Module, name: str = "system") -> None:
    """Every array parameter of `system` must be real, and finite where concrete."""
    # The common case first, in one pass: concrete real float arrays, all finite (an
    # array once found finite is remembered while it lives: JAX arrays are immutable).
    fast = True
    for leaf in jax.tree_util.tree_leaves(system):
        if isinstance(leaf, jax.Array) and not isinstance(leaf, Tracer):
            if _known_finite(leaf):
                continue
            if leaf.dtype.kind != "f" or not np.isfinite(np.asarray(leaf)).all():
                fast = False
                break
            _remember_finite(leaf)
        elif eqx.is_array(leaf):
            fast = False
            break
    if fast:
        return
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
