"""Checking the arguments shared by the simulation functions, before any tracing."""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike

from .. import _validate as v
from ..discretize import as_map

#: A function of one state (dim,) to an array, or a pytree of arrays.
Observable = Callable[[Array], ArrayLike]


def prepare(system, x0, dt, solver, *, steps, transient, name_steps="steps"):
    """(one-step map, state, steps, transient), each checked."""
    m = as_map(system, dt, solver)
    steps = v.positive_int(steps, name_steps)
    transient = v.nonnegative_int(transient, "transient")
    x = v.state(x0, system.dim, "x0")
    return m, x, steps, transient


def identity(x):
    """The default observable: the state itself."""
    return x


def check_observable(observable, dim, dtype):
    """The output shapes of `observable` on a state (dim,), checked."""
    if not callable(observable):
        raise ValueError(f"`observable` must be a callable x -> value, got {observable!r}.")
    try:
        out = _observable_shape(observable, dim, dtype)
    except Exception as e:  # noqa: BLE001 - re-raised with the argument named
        raise ValueError(
            f"`observable` failed on a state of shape ({dim},): {type(e).__name__}: {e}"
        ) from e
    for leaf in jax.tree_util.tree_leaves(out):
        if not jnp.issubdtype(leaf.dtype, jnp.inexact) and not jnp.issubdtype(
            leaf.dtype, jnp.integer
        ):
            raise ValueError(f"`observable` must return numbers, got dtype {leaf.dtype}.")
    return out


@functools.lru_cache(maxsize=64)
def _cached_shape(observable, dim, dtype):
    return jax.eval_shape(observable, jax.ShapeDtypeStruct((dim,), dtype))


def _observable_shape(observable, dim, dtype):
    """The output shapes of `observable` on a state (dim,): traced once per observable
    (a trace can cost more than a short batched run)."""
    try:
        return _cached_shape(observable, dim, jnp.dtype(dtype))
    except TypeError as e:  # an unhashable callable: trace it every time
        if "unhashable" not in str(e):
            raise
        return jax.eval_shape(observable, jax.ShapeDtypeStruct((dim,), dtype))
