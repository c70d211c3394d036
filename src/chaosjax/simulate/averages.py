"""Time averages along orbits, and their spread over an ensemble of initial states.

The sums are carried in the time loop (no trajectory is stored), in chunks
(`_chunked.py`): generated C for a concrete batch on a CPU, XLA otherwise.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from .. import _validate as v
from .._divergence import guard_traced
from ..parallel import shard_batch
from ..systems import Flow, Map
from ._arguments import Observable, check_observable, identity, prepare
from ._chunked import sum_observable


def time_average(
    system: Flow | Map,
    x0: Float[ArrayLike, "*batch dim"],
    observable: Observable | None = None,
    *,
    steps: int,
    dt: float | None = None,
    solver: str = "rk4",
    transient: int = 0,
    throw: bool = True,
    progress: bool = False,
    chunk_size: int | None = None,
) -> Array:
    """The finite-time average (1/N) sum_{k=0}^{N-1} S(x_k) along one orbit or many.

    x_0 is the state after `transient` discarded steps and N = `steps`. The sum is
    carried in the scan: no trajectory is stored. Differentiable with `jax.grad` with
    respect to system parameters and `x0` (reverse mode stores one state per step).

    **Arguments:** `observable` S maps a state (dim,) to an array (or pytree); default
    the state itself. Others as `trajectory`.

    **Returns:** S's shape, with a leading batch axis if `x0` is (n, dim).

    Example:
    ```python
    zbar = cj.time_average(lor, x0, lambda x: x[2], steps=20_000, dt=0.005,
                           transient=20_000)
    ```
    """
    m, x, steps, transient = prepare(system, x0, dt, solver, steps=steps, transient=transient)
    observable = identity if observable is None else observable
    obs0 = check_observable(observable, x.shape[-1], x.dtype)
    acc, x_end = sum_observable(
        m,
        x,
        observable,
        obs0,
        steps,
        transient,
        throw,
        progress,
        chunk_size,
        f"{getattr(system, 'name', '')} time average",
    )
    avg = jax.tree.map(lambda s: s / steps, acc)
    return guard_traced(avg, x_end, throw, "time_average")


class EnsembleAverage(eqx.Module):
    """Ensemble statistics of finite-time averages over `n` initial conditions.

    `values` holds each member's time average (n, *obs); `mean` and `std` (ddof=1) are
    over members; `sem = std / sqrt(n)` is the standard error of `mean`.
    """

    mean: Array
    std: Array
    sem: Array
    values: Array
    initial_states: Float[Array, "n dim"]
    steps: int = eqx.field(static=True)
    transient: int = eqx.field(static=True)


def ensemble_time_average(
    system: Flow | Map,
    key: PRNGKeyArray,
    n: int,
    observable: Observable | None = None,
    *,
    steps: int,
    dt: float | None = None,
    solver: str = "rk4",
    transient: int = 0,
    x0: Float[ArrayLike, "n dim"] | None = None,
    throw: bool = True,
    progress: bool = False,
    chunk_size: int | None = None,
    shard: bool = True,
) -> EnsembleAverage:
    """Time averages of `observable` from `n` initial conditions, with their spread.

    Initial conditions are `system.sample_state(key, n)` (or `x0` if given); each runs
    `transient` discarded steps, then `steps` averaged ones. With `shard=True` the batch
    axis is split over `jax.devices()` (all CPU cores after `cj.use_all_cpu_cores()`,
    or every GPU).

    **Returns:** an `EnsembleAverage` with `mean`, `std`, `sem`, `values` (n, *obs).

    Example:
    ```python
    ens = cj.ensemble_time_average(lor, jax.random.key(0), 256, lambda x: x[2],
                                   steps=20_000, dt=0.005, transient=20_000)
    ens.mean, ens.std
    ```
    """
    n = v.positive_int(n, "n")
    if x0 is None:
        x0 = system.sample_state(key, n)
    x0 = v.state(x0, system.dim, "x0")
    if x0.ndim != 2 or x0.shape[0] != n:
        raise ValueError(f"`x0` must have shape ({n}, {system.dim}), got {tuple(x0.shape)}.")
    if shard:
        x0 = shard_batch(x0)
    values = time_average(
        system,
        x0,
        observable,
        steps=steps,
        dt=dt,
        solver=solver,
        transient=transient,
        throw=throw,
        progress=progress,
        chunk_size=chunk_size,
    )
    mean = jnp.mean(values, axis=0)
    std = jnp.std(values, axis=0, ddof=1) if n > 1 else jnp.zeros_like(mean)
    return EnsembleAverage(
        mean=mean,
        std=std,
        sem=std / math.sqrt(n),
        values=values,
        initial_states=x0,
        steps=steps,
        transient=transient,
    )
