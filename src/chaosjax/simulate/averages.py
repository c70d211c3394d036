"""Time averages along orbits, and their spread over an ensemble of initial states.

The sums are carried in the time loop (no trajectory is stored), in chunks
(`_chunked.py`): generated C for a concrete batch on a CPU, XLA otherwise.
"""

from __future__ import annotations

import math
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from .. import _validate as v
from .._divergence import guard_traced
from .._results import Dims, Result
from ..discretize import as_map
from ..parallel import shard_batch
from ..systems import Flow, Map
from ._arguments import (
    Observable,
    check_observable,
    identity,
    observe_without_time,
    prepare,
    without_time,
)
from ._chunked import last_backend as _last_backend
from ._chunked import sum_observable


def last_backend() -> str:
    """Which backend computed this thread's last `cj.time_average` (or
    `cj.ensemble_time_average`): chaosjax's generated C kernels or its XLA kernels.

    `cj.time_average` returns a bare array, so the backend is kept beside it rather than
    in it (results such as `EnsembleAverage` and `LyapunovResult` carry it as
    `backend`). A time average runs as generated C (`chaosjax.native`) when the call is
    on a CPU in float64 and its step and observable translate to C, eagerly or inside
    `jit`/`vmap` (as an XLA custom call); otherwise (a GPU, a sharded batch, float32,
    `CHAOSJAX_CGEN=0`, ...) through XLA. Inside `jax.jit` the choice is made when the
    function is traced: a later call of the compiled function runs the same backend and
    does not update this value.

    **Returns:**

    "native" (generated C), "xla", or "native+xla" when the chunks of one run differed;
    "xla" before any time average has run in this thread.

    Example:

    ```python
    lor = cj.systems.Lorenz63()
    x0s = lor.sample_state(jax.random.key(0), 64)
    zbar = cj.time_average(lor, x0s, lambda x: x[2], steps=1_000, dt=0.01)
    cj.simulate.last_backend()                       # "native" on a CPU with gcc
    ```
    """
    return _last_backend()


def time_average(
    system: Flow | Map,
    x0: Float[ArrayLike, "*batch dim"] | None = None,
    observable: Observable | None = None,
    *,
    steps: int | None = None,
    t_final: float | None = None,
    dt: float | None = None,
    solver: str = "rk4",
    transient: int = 0,
    throw: bool = True,
    progress: bool = False,
    chunk_size: int | None = None,
) -> Array:
    """The finite-time average (1/N) sum_{k=0}^{N-1} S(x_k) along one orbit or many.

    x_0 is the state after `transient` discarded steps and N = `steps`; by Birkhoff's
    ergodic theorem the average tends to the mean of S over the invariant measure as N
    grows (Birkhoff 1931, PNAS 17, 656-660). The sum is carried in the scan, in chunks
    of `chunk_size` steps: no trajectory is stored. Differentiable with `jax.grad` with
    respect to system parameters and `x0` (reverse mode stores one state per step).

    **Arguments:**

    - `system`: a `cj.Flow` (time-dependent ones from t = 0) or `cj.Map`.
    - `x0`: the initial state, shape (dim,), or (n, dim) for n orbits at once; default
      `system.default_state()`.
    - `observable`: S, a function of one state (dim,) to an array or a pytree of arrays;
      default the state itself.
    - `steps`: N, the number of states averaged, a positive int.
    - `t_final`: the averaging time instead (N = t_final / dt); give exactly one of
      `steps` and `t_final`.
    - `dt`: the time per step of a flow (time units); default the flow's `default_dt`;
      None for a map.
    - `solver`: a flow's solver, as in `cj.trajectory` (default "rk4").
    - `transient`: steps run and discarded first (default 0).
    - `throw`: raise `cj.DivergenceError`, naming the step, when a state becomes
      non-finite (default True).
    - `progress`: show a progress bar advancing between chunks (default False).
    - `chunk_size`: steps per compiled chunk; default chunks of about 2e9
      state updates (steps x batch x dim; one chunk inside `jit`), 100 chunks with
      `progress`. Ctrl-C stops a run between chunks; the result does not depend on
      the chunking.

    **Returns:**

    The average, of the shape (and units) of S's output, with a leading axis n when
    `x0` is (n, dim).

    Example:

    ```python
    lor = cj.systems.Lorenz63()
    zbar = cj.time_average(lor, lor.default_state(), lambda x: x[2], steps=20_000,
                           dt=0.005, transient=2_000)          # ~23.6
    ```
    """
    m, x, steps, transient = prepare(
        system, x0, dt, solver, steps=steps, transient=transient, t_final=t_final
    )
    throw = v.boolean(throw, "throw")
    observable = identity if observable is None else observable
    obs0 = check_observable(observable, system.dim, x.dtype, without_time(system, x))
    observable = observe_without_time(system, observable)
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


class EnsembleAverage(Result):
    """Ensemble statistics of finite-time averages over `n` initial conditions (what
    `ensemble_time_average` returns).

    **Attributes:**

    - `mean`: the mean over members of the time averages, the shape of the observable's
      output (*obs).
    - `std`: their standard deviation over members (ddof=1; 0 for one member), (*obs).
    - `sem`: `std / sqrt(n)`, the standard error of `mean`, (*obs).
    - `values`: each member's time average, (n, *obs).
    - `initial_states`: (n, dim), the members' initial states.
    - `steps`, `transient`: the steps averaged and discarded by each member.
    - `backend`: "native" when generated C ran the time loop (eagerly or as an XLA
      custom call inside `jit`), "xla" when XLA's kernels did ("native+xla": some
      chunks each).

    Example:

    ```python
    ens = cj.ensemble_time_average(cj.systems.Henon(), jax.random.key(0), 8,
                                   lambda x: x[0], steps=10_000, transient=100)
    ens.values.shape, ens.mean, ens.sem
    ```
    """

    mean: Array
    std: Array
    sem: Array
    values: Array
    initial_states: Float[Array, "n dim"]
    steps: int = eqx.field(static=True)
    transient: int = eqx.field(static=True)
    backend: str = eqx.field(static=True, default="xla")

    _xarray_dims: ClassVar[dict[str, Dims]] = {
        "values": ("member", ...),
        "initial_states": ("member", "variable"),
    }


def ensemble_time_average(
    system: Flow | Map,
    key: PRNGKeyArray | None,
    n: int,
    observable: Observable | None = None,
    *,
    steps: int | None = None,
    t_final: float | None = None,
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

    Each member runs `transient` discarded steps, then `steps` averaged ones, as in
    `time_average`, all members in one batched run. The spread of the members' averages
    over the attractor shows how far a finite-time average is from the ensemble limit
    (the ensemble band of UW PLSE 2026, "Chaotic Dynamical Systems Using JAX",
    https://uwplse.org/2026/06/16/jax.html, sec. 4). With `shard=True` the batch axis
    is split over `jax.devices()` (all CPU cores after `cj.use_all_cpu_cores()`, or
    every GPU).

    **Arguments:**

    - `system`: a `cj.Flow` or `cj.Map`.
    - `key`: PRNG key for `system.sample_state(key, n)` (`jax.random.key(seed)`, or a
      legacy `jax.random.PRNGKey(seed)`; ignored when `x0` is given, may then be None).
    - `n`: the number of members, a positive int.
    - `observable`: S, a function of one state (dim,) to an array; default the state.
    - `steps`: the number of states averaged per member, a positive int.
    - `t_final`: the averaging time instead (steps = t_final / dt); give exactly one of
      `steps` and `t_final`.
    - `dt`: the time per step of a flow (time units); default the flow's `default_dt`;
      None for a map.
    - `solver`: a flow's solver, as in `cj.trajectory` (default "rk4").
    - `transient`: steps run and discarded first by each member (default 0).
    - `x0`: the initial states, shape (n, dim); default sampled with `key`.
    - `throw`, `progress`, `chunk_size`: as in `time_average`.
    - `shard`: split the members over `jax.devices()` (default True).

    **Returns:**

    An `EnsembleAverage`: `mean`, `std` and `sem` of the shape of S's output, and
    `values` (n, *obs).

    Example:

    ```python
    lor = cj.systems.Lorenz63()
    ens = cj.ensemble_time_average(lor, jax.random.key(0), 16, lambda x: x[2],
                                   steps=5_000, dt=0.005, transient=2_000)
    ens.mean, ens.std
    ```
    """
    m = as_map(system, dt, solver, time_dependent=True)  # system, `dt`, `solver` first
    steps = v.steps_or_time(steps, t_final, float(m.time_per_step))
    n = v.positive_int(n, "n")
    if observable is not None and not callable(observable):
        raise ValueError(f"`observable` must be a callable x -> value, got {observable!r}.")
    if x0 is None:
        x0 = system.sample_state(v.prng_key(key), n)
    elif key is not None:
        v.prng_key(key)
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
    backend = last_backend()  # (the backend `time_average` just ran on)
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
        backend=backend,
    )
