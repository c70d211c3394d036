"""Checking the arguments shared by the simulation functions, before any tracing."""

from __future__ import annotations

import functools
import warnings
import weakref
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax.core import Tracer
from jaxtyping import Array, ArrayLike

from .. import _validate as v
from .._config import x64_enabled
from ..discretize import as_map
from ..systems import is_time_dependent

#: A function of one state (dim,) to an array, or a pytree of arrays.
Observable = Callable[[Array], ArrayLike]


def prepare(system, x0, dt, solver, *, steps, transient, t_final=None):
    """(one-step map, state, steps, transient), each checked: `x0` defaults to the
    system's default state, `steps` may be given as `t_final` in time units. For a
    time-dependent flow the map acts on (x, t) and the state returned has t = 0
    appended (`with_time`); the caller drops it from what it returns.

    Called again with the same system and state objects (immutable: JAX arrays only;
    small ones) and the same settings, the checked result is reused: a loop calling
    `cj.trajectory(system, x0, ...)` checks them once."""
    key = _reuse_key(system, x0, dt, solver, steps, transient, t_final)
    if key is not None:
        hit = _prepared.get(key)
        if hit is not None and hit[0]() is system and (x0 is None or hit[1]() is x0):
            return hit[2]
    out = _prepare(system, x0, dt, solver, steps=steps, transient=transient, t_final=t_final)
    if key is not None:
        try:
            refs = (weakref.ref(system), None if x0 is None else weakref.ref(x0))
        except TypeError:  # no weak references to these objects: not reused
            return out
        if len(_prepared) >= _MAX_PREPARED:
            _prepared.clear()
        _prepared[key] = (*refs, out)
    return out


_prepared: dict = {}
#: The reused results hold their map and state (so their system and state live on
#: until the cache is cleared): a few, of small objects only.
_MAX_PREPARED = 8
_MAX_REUSED_SIZE = 1 << 16  # numbers in the state, and in the system's arrays


def _reuse_key(system, x0, dt, solver, steps, transient, t_final):
    """The key under which `prepare`'s result may be reused, or None: only for a state
    that is None or a concrete JAX array, and a system whose array leaves are all
    concrete JAX arrays (a NumPy array could be changed in place)."""
    if x0 is not None and (
        not isinstance(x0, jax.Array) or isinstance(x0, Tracer) or x0.size > _MAX_REUSED_SIZE
    ):
        return None
    size = 0
    for leaf in jax.tree_util.tree_leaves(system):
        if isinstance(leaf, (np.ndarray, Tracer)):
            return None
        if isinstance(leaf, jax.Array):
            size += leaf.size
            if size > _MAX_REUSED_SIZE or not leaf.is_fully_addressable:
                return None
    x64 = x64_enabled()  # (the working dtype of the state)
    key = (id(system), id(x0), type(system), dt, solver, steps, transient, t_final, x64)
    try:
        hash(key)
    except TypeError:
        return None
    return key


def _prepare(system, x0, dt, solver, *, steps, transient, t_final=None):
    """`prepare` without reuse."""
    m = as_map(system, dt, solver, time_dependent=True)
    transient = v.step_count(transient, "transient", positive=False)
    steps = v.steps_or_time(steps, t_final, float(m.time_per_step), total=transient)
    x = v.state(system.default_state() if x0 is None else x0, system.dim, "x0")
    return m, with_time(system, x), steps, transient


def with_time(system, x: Array) -> Array:
    """`x` (dim,) or (n, dim) with the time t = 0 appended when `system` is a
    time-dependent flow (the state of its `cj.systems.Autonomised` map); else `x`."""
    if not is_time_dependent(system):
        return x
    return jnp.concatenate([x, jnp.zeros(x.shape[:-1] + (1,), x.dtype)], axis=-1)


def without_time(system, x: Array) -> Array:
    """The states of a time-dependent flow's map with the time coordinate dropped."""
    return x[..., :-1] if is_time_dependent(system) else x


def observe_without_time(system, observable):
    """`observable` of a state with the time coordinate dropped, for a time-dependent
    flow; else `observable` itself."""
    if not is_time_dependent(system):
        return observable
    return _DropTime(observable)


class _DropTime:
    """observable(x[:-1]): hashable by the wrapped observable (its traced shape is
    cached per observable)."""

    def __init__(self, observable):
        self.observable = observable

    def __call__(self, x):
        return self.observable(x[..., :-1])

    def __hash__(self):
        return hash((_DropTime, self.observable))

    def __eq__(self, other):
        return isinstance(other, _DropTime) and other.observable == self.observable


def identity(x):
    """The default observable: the state itself."""
    return x


def check_observable(observable, dim, dtype, x=None):
    """The output shapes of `observable` on a state (dim,), checked: it must return real
    numbers (an array or a pytree of arrays, not None). With a concrete state `x` (dim,)
    or (n, dim), it is also called once on a NumPy copy of the first state, where an
    index out of range raises (JAX would clamp it silently)."""
    if not callable(observable):
        raise ValueError(f"`observable` must be a callable x -> value, got {observable!r}.")
    if x is not None and v.is_concrete(x):
        _index_check(observable, np.array(x).reshape(-1, dim)[0])
    try:
        out = _observable_shape(observable, dim, dtype)
    except Exception as e:  # noqa: BLE001 - re-raised with the argument named
        raise ValueError(
            f"`observable` failed on a state of shape ({dim},): {type(e).__name__}: {e}"
        ) from e
    leaves = jax.tree_util.tree_leaves(out)
    if not leaves:
        raise ValueError(f"`observable` must return an array of numbers, got {out!r}.")
    for leaf in leaves:
        if jnp.issubdtype(leaf.dtype, jnp.complexfloating):
            raise ValueError(f"`observable` must return real numbers, got dtype {leaf.dtype}.")
        if not jnp.issubdtype(leaf.dtype, jnp.inexact) and not jnp.issubdtype(
            leaf.dtype, jnp.integer
        ):
            raise ValueError(f"`observable` must return numbers, got dtype {leaf.dtype}.")
    return out


def _index_check(observable, x):
    """Call `observable` on a NumPy state: an index out of range raises `IndexError`
    there, where a traced call clamps it. Any other failure is left to the traced check
    (an observable may use what only JAX arrays have, such as `x.at`)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            observable(x)
    except IndexError as e:
        raise ValueError(
            f"`observable` indexes outside a state of shape ({x.shape[0]},): {e}"
        ) from None
    except Exception:  # noqa: BLE001 - only the index check belongs here
        pass


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
