"""Repeated eager calls, remembered by weak reference to their system.

A loop that calls `cj.trajectory(system, x, steps=...)` or `cj.lyapunov_spectrum(system,
x, ...)` with one system and new states pays each time for checks that passed before,
for building the one-step map and for flattening it into its arrays: tens of
microseconds, as much as a short run. The first call that ran as one compiled function
(`fn(arrays, x)`) leaves it here, under what was called, the system's id, the call's
settings, whether the C kernels are on and the working precision, with the system's own
array leaves; a later call with the same system object and settings calls it on the new
state directly.

A run remembered as checked (`remember(..., checked=True)`: the stored orbits, whose
kernel fails on a non-finite state, `native.store`'s `check`) reads nothing back: the
state's finiteness is not looked at here, and a failed run returns None.

An entry goes when its system goes (the callback of a weak reference), so nothing here
keeps a system or its arrays alive, and a new system that reuses an old id never meets
an old entry. The leaves are the system's objects, so a NumPy leaf changed in place is
read as it is at each call.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import numpy as np
from jax.core import Tracer

from . import _validate
from .native.compile import enabled

_calls: dict = {}
_MAX = 256
_F64 = np.dtype(np.float64)
_CONFIG: Any = jax.config  # (`.jax_enable_x64`: the working precision, read directly)
#: The concrete array types met so far (NumPy's and JAX's array classes), found by a set
#: lookup instead of two `isinstance` calls.
_PLAIN: set[type] = {np.ndarray}


def settings(*values) -> tuple:
    """A call's settings as a key: the values and their types (1 and 1.0 and True
    differ)."""
    return (values, tuple(map(type, values)))


def array_leaves(system) -> list:
    """The array leaves of `system`, in order (what `fn` takes first)."""
    return [a for a in jax.tree.leaves(system) if eqx.is_array(a)]


def concrete_state(x0, dim: int, finite: bool = True) -> bool:
    """Whether `x0` is one concrete, finite float64 state of `dim` numbers, which a
    remembered (or compiled one-call) run takes; never under `jax.disable_jit()`, where
    the run's own `jit` would call itself. `finite=False`: finiteness not looked at."""
    if type(x0) not in _PLAIN:
        if isinstance(x0, Tracer) or not isinstance(x0, (np.ndarray, jax.Array)):
            return False
        if isinstance(x0, jax.Array) and len(_PLAIN) < 8:
            _PLAIN.add(type(x0))  # (JAX's concrete array class)
    if x0.shape != (dim,) or x0.dtype != _F64:
        return False
    if getattr(jax.config, "jax_disable_jit", False):
        return False
    return not finite or _validate.found_finite(x0)  # (else the checks name it)


def _at(what: str, system, key: tuple) -> tuple:
    # (whether the C kernels may run, and the working precision, are read when the
    # run is traced: part of the key)
    return (what, id(system), key, enabled(), _CONFIG.jax_enable_x64)


def remember(
    what: str, system, key: tuple, fn: Callable, arrays: list, checked: bool = False
) -> None:
    """Remember `fn(arrays, x)` for calls of `what` on `system` with settings `key`,
    if `arrays` are the system's own array leaves, in order (else nothing). `checked`:
    `fn` fails on a non-finite state (`chaosjax.native.ffi.failed_check`, see above)."""
    own = array_leaves(system)
    if len(own) != len(arrays) or any(a is not b for a, b in zip(own, arrays, strict=True)):
        return
    at = _at(what, system, key)
    try:
        hash(at)
        ref = weakref.ref(system, lambda _, at=at: _calls.pop(at, None))
    except TypeError:  # an unhashable setting, or a system without weak references
        return
    if len(_calls) >= _MAX:
        _calls.clear()
    # (the state's size kept too: `system.dim` is a property, 0.25 µs a read)
    _calls[at] = (ref, fn, own, checked, system.dim)


def recall(what: str, system, key: tuple) -> tuple[Callable, list, bool] | None:
    """(fn, the system's array leaves, checked) remembered for `what` on this very
    system with settings `key`, or None."""
    try:
        hit: Any = _calls.get(_at(what, system, key))
    except TypeError:
        return None
    if hit is None or hit[0]() is not system:
        return None
    return hit[1:4]


def run(what: str, system, key: tuple, x0, verify: Callable | None = None) -> Any:
    """What the run remembered for `what` on `system` with settings `key` returns from
    the state `x0`, or None: no such run, or a state it does not take
    (`concrete_state`), or a checked run that failed, or an unchecked one whose result
    `verify` (given) finds wrong (a divergence: the caller goes the full way).

    The path of every repeated eager call, written for its few microseconds (the jit
    call of the run itself takes 3.5)."""
    try:  # (the key of `_at`, written out: one call less on every repeated call)
        hit: Any = _calls.get((what, id(system), key, enabled(), _CONFIG.jax_enable_x64))
    except TypeError:
        return None
    if hit is None:
        return None
    ref, fn, arrays, checked, dim = hit
    if ref() is not system or not concrete_state(x0, dim, finite=not checked):
        return None
    if not checked:
        got = fn(arrays, x0)
        return got if verify is None or verify(got) else None
    try:
        got = fn(arrays, x0)
        # (a failed run's outputs all hold its error: waiting for one raises it)
        first = got[0] if type(got) is tuple else got
        if isinstance(first, jax.Array):
            first.block_until_ready()
        else:
            jax.block_until_ready(first)
    except (jax.errors.JaxRuntimeError, ValueError) as e:
        from .native import ffi

        if ffi.failed_check(e):
            return None
        raise
    return got
