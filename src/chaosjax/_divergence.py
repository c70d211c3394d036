"""Divergence: finding the first non-finite state and reporting it, in one place.

A trajectory that leaves every bound is reported as a `DivergenceError` naming the
step (and the ensemble member), never returned as silent NaNs. Outside `jit` the
public functions raise; under `jit`/`vmap`/`grad` they either carry the step in a
result field or fail at run time through `eqx.error_if`.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.core import Tracer
from jaxtyping import Array, Int

from ._iterate import step
from .systems import Map


class DivergenceError(FloatingPointError):
    """A trajectory left every bound (a NaN or inf state) at a known step.

    Raised by the public functions outside `jit` when `throw=True`; under
    `jit`/`vmap`/`grad` a result field (`diverged_at`) or `eqx.error_if` reports it.

    **Attributes:**

    - `step`: the first step whose state is non-finite.
    - `member`: the ensemble member, or None for a single state.

    Example:

    ```python
    try:
        cj.trajectory(cj.systems.Logistic(r=4.5), jnp.array([0.3]), steps=100)
    except cj.DivergenceError as e:
        print(e.step)
    ```
    """

    def __init__(self, message: str, step: int, member: int | None = None):
        super().__init__(message)
        self.step = step
        self.member = member


def is_traced(*trees) -> bool:
    """True when any leaf is a tracer (inside jit/vmap/grad): no Python raise possible."""
    return any(isinstance(leaf, Tracer) for leaf in jax.tree_util.tree_leaves(trees))


@eqx.filter_jit
def first_nonfinite(m: Map, x: Array, n: int, inputs: Array | None = None) -> Int[Array, "*batch"]:
    """The first k in 1..n whose state F^k(x) is non-finite, or -1; per member for a
    batch `x` of shape (batch, dim). `inputs` (n, n_inputs) drive a `DrivenMap`."""

    def one(x):
        def body(carry, ku):
            y, first = carry
            k, u = ku
            y = step(m, y, u)
            bad = ~jnp.all(jnp.isfinite(y))
            return (y, jnp.where((first < 0) & bad, k, first)), None

        us = None if inputs is None else inputs[:n]
        ks = jnp.arange(1, n + 1)
        (_, first), _ = jax.lax.scan(body, (x, jnp.asarray(-1)), (ks, us), length=n)
        return first

    return jax.vmap(one)(x) if x.ndim == 2 else one(x)


def raise_diverged(
    first,
    what: str,
    *,
    subject: str = "the state",
    at: str = "at step",
    origin: str = "counting from x0, transient included",
    hint: str = "",
) -> None:
    """Raise `DivergenceError` for the earliest step in `first` (a step index, or one per
    ensemble member; -1 means finite). Does nothing when every entry is -1."""
    d = np.asarray(first)
    if d.ndim == 0:
        if d < 0:
            return
        raise DivergenceError(
            f"{what} diverged: {subject} became non-finite {at} {int(d)} ({origin}){hint}.",
            int(d),
        )
    bad = np.flatnonzero(d >= 0)
    if bad.size == 0:
        return
    member = int(bad[np.argmin(d[bad])])
    k = int(d[member])
    raise DivergenceError(
        f"{what} diverged: ensemble member {member} became non-finite {at} {k} ({origin}); "
        f"{bad.size} member(s) diverged.",
        k,
        member,
    )


def check_finite(
    m: Map, x_start: Array, x_end: Array, n: int, offset: int, throw: bool, what: str
) -> None:
    """After `n` steps from `x_start` to `x_end`: if `x_end` is not finite, locate the
    first non-finite step (counting `offset` steps before `x_start`) and raise."""
    if not throw or is_traced(x_end):
        return
    # On the host: one transfer instead of another dispatch and a transfer.
    if np.isfinite(np.asarray(x_end)).all():
        return
    first = np.asarray(first_nonfinite(m, x_start, n))
    # A state that turns non-finite only in the kernel's rounding: blame the last step.
    first = np.where(first >= 0, first, n) if first.ndim == 0 or (first < 0).all() else first
    raise_diverged(np.where(first >= 0, first + offset, -1), what)


@eqx.filter_jit
def first_nonfinite_value(m: Map, observable, x: Array, n: int) -> Int[Array, "*batch"]:
    """The first k in 0..n-1 whose value observable(F^k(x)) is non-finite, or -1; per
    member for a batch `x` of shape (batch, dim)."""

    def one(x):
        def body(carry, k):
            y, first = carry
            leaves = jax.tree_util.tree_leaves(observable(y))
            bad = ~jnp.all(jnp.stack([jnp.all(jnp.isfinite(v)) for v in leaves]))
            return (m.step(y), jnp.where((first < 0) & bad, k, first)), None

        (_, first), _ = jax.lax.scan(body, (x, jnp.asarray(-1)), jnp.arange(n), length=n)
        return first

    return jax.vmap(one)(x) if x.ndim == 2 else one(x)


def check_observable_finite(
    m: Map, observable, x_start: Array, sums, n: int, offset: int, throw: bool
) -> None:
    """After summing `observable` over the `n` states from `x_start` (the orbit itself
    finite): if a sum is not finite, name the first step whose value is non-finite
    (counting `offset` steps before `x_start`) in a `ValueError` blaming `observable`."""
    if not throw or is_traced(sums):
        return
    if all(np.isfinite(np.asarray(s)).all() for s in jax.tree_util.tree_leaves(sums)):
        return
    if not _raise_non_finite_value(m, observable, x_start, n, offset):
        raise ValueError(
            "`observable` has finite values along the orbit but their sum overflowed "
            "(beyond float range); rescale the observable."
        )


def blame_non_finite(m: Map, observable, x: Array, n: int, offset: int, what: str) -> None:
    """A result computed along `n` steps from `x` (state or batch) is not finite: raise
    `DivergenceError` naming the step if the orbit left every bound, else a
    `ValueError` naming the step if `observable` did; return if neither did."""
    first = np.asarray(first_nonfinite(m, x, n))
    if (first >= 0).any():
        raise_diverged(np.where(first >= 0, first + offset, -1), what)
    _raise_non_finite_value(m, observable, x, n, offset)


def _raise_non_finite_value(m: Map, observable, x: Array, n: int, offset: int) -> bool:
    """Raise the `ValueError` naming the first step where `observable` is non-finite
    along `n` steps from `x`; False if it is finite there."""
    first = np.asarray(first_nonfinite_value(m, observable, x, n))
    bad = np.flatnonzero(first.reshape(-1) >= 0)
    if bad.size == 0:
        return False
    member = int(bad[np.argmin(first.reshape(-1)[bad])])
    k = int(first.reshape(-1)[member])
    x1 = np.asarray(x).reshape(-1, x.shape[-1])[member]
    y = np.asarray(state_after(m, jnp.asarray(x1), jnp.asarray(k)))
    which = f" of ensemble member {member}" if first.ndim else ""
    raise ValueError(
        f"`observable` returned a non-finite value at step {k + offset}{which} (counting "
        f"from x0, transient included), on the finite state "
        f"{np.array2string(y, precision=6)}; an observable must be finite along the orbit "
        "(`throw=False`, where there is one, returns the non-finite result)."
    )


@eqx.filter_jit
def state_after(m: Map, x: Array, k: Array) -> Array:
    """F^k(x) for one state (k an array: one compilation for every k)."""
    return jax.lax.fori_loop(0, k, lambda i, y: m.step(y), x)


def guard_traced(value, x_end, throw: bool, what: str):
    """Under jit/vmap/grad a Python raise is impossible: error at run time instead."""
    if throw and is_traced(x_end):
        return eqx.error_if(
            value,
            ~jnp.all(jnp.isfinite(x_end)),
            f"{what} diverged (non-finite state); call outside jit to get the step.",
        )
    return value
