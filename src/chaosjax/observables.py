"""Observables and their statistics: cumulative (running) time averages along orbits,
an optax-style running-mean accumulator, and ready-made observables.

For an ergodic system Birkhoff's theorem makes the time average of an observable S
converge to its mean over the invariant measure; the cumulative average shows that
convergence, and its spread over an ensemble shows how long "long" is (UW PLSE 2026,
"Chaotic Dynamical Systems Using JAX", https://uwplse.org/2026/06/16/jax.html, sec. 4).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from . import _validate as v
from ._divergence import check_finite, check_observable_finite, guard_traced
from ._progress import progress_bar
from ._results import Result
from .simulate._arguments import (
    check_observable,
    identity,
    observe_without_time,
    prepare,
    without_time,
)
from .simulate._chunked import bounded_chunk, run_transient, split_chunks
from .simulate._kernels import cumulative_chunk
from .systems import Flow, Map


def coordinate(i: int) -> Callable[[Array], Array]:
    """The observable x -> x[i], one coordinate of the state.

    **Arguments:**

    - `i`: the index of the coordinate, a non-negative int.

    **Returns:**

    A function of one state (dim,) to a scalar, for `observable=` arguments.

    Example:

    ```python
    lor = cj.systems.Lorenz63()
    z = cj.observables.coordinate(2)
    zbar = cj.time_average(lor, lor.default_state(), z, steps=10_000, dt=0.005)
    ```
    """
    i = v.nonnegative_int(i, "i")
    return lambda x: x[i]


def second_moment(i: int) -> Callable[[Array], Array]:
    """The observable x -> x[i]**2, the square of one coordinate of the state.

    **Arguments:**

    - `i`: the index of the coordinate, a non-negative int.

    **Returns:**

    A function of one state (dim,) to a scalar, for `observable=` arguments; its time
    average is the second moment of x[i].

    Example:

    ```python
    x2 = cj.observables.second_moment(0)
    x2(jnp.array([3.0, 1.0]))              # 9.0
    ```
    """
    i = v.nonnegative_int(i, "i")
    return lambda x: x[i] ** 2


class CumulativeAverage(Result):
    """Running time averages along an orbit (what `cumulative_average` returns).

    **Attributes:**

    - `times`: (saves,), the time of each average, `counts * time_per_step` (time units
      for a flow, iterations for a map).
    - `counts`: (saves,), the number of states in each average.
    - `averages`: (saves, *obs), or (n, saves, *obs) for a batch: `averages[..., j, :]`
      is the mean of S over the first `counts[j]` states after the transient.

    Example:

    ```python
    ca = cj.observables.cumulative_average(cj.systems.Henon(), jnp.zeros(2),
                                           lambda x: x[0], steps=1_000, save_every=100)
    ca.counts[-1], ca.averages[-1]           # 1000, the average over all the states
    ```
    """

    times: Float[Array, " saves"]
    counts: Array
    averages: Array


def cumulative_average(
    system: Flow | Map,
    x0: Float[ArrayLike, "*batch dim"] | None = None,
    observable: Callable[[Array], ArrayLike] | None = None,
    *,
    steps: int | None = None,
    t_final: float | None = None,
    dt: float | None = None,
    solver: str = "rk4",
    transient: int = 0,
    save_every: int = 1,
    throw: bool = True,
    progress: bool = False,
    chunk_size: int | None = None,
) -> CumulativeAverage:
    """The cumulative time average `(1/m) sum_{k<m} S(x_k)` for m = s, 2s, ..., `steps`.

    x_0 is the state after `transient` discarded steps and s = `save_every`. Only the
    running sums are carried in the scan; one average is stored every `save_every`
    steps. For an ergodic system the curve converges to the mean of S over the invariant
    measure (Birkhoff 1931, PNAS 17, 656-660); with `x0` of shape (n, dim) every member
    gets its curve, and their spread is the ensemble band of UW PLSE (2026), "Chaotic
    Dynamical Systems Using JAX", https://uwplse.org/2026/06/16/jax.html, sec. 4.

    **Arguments:**

    - `system`: a `cj.Flow` (time-dependent ones from t = 0) or `cj.Map`.
    - `x0`: the initial state, shape (dim,), or (n, dim) for n orbits at once; default
      `system.default_state()`.
    - `observable`: S, a function of one state (dim,) to an array; default the state.
    - `steps`: the number of states averaged, a positive multiple of `save_every`.
    - `t_final`: the averaging time instead (steps = t_final / dt); give exactly one of
      `steps` and `t_final`.
    - `dt`: the time per step of a flow (time units); default the flow's `default_dt`;
      None for a map.
    - `solver`: a flow's solver, as in `cj.trajectory` (default "rk4").
    - `transient`: steps run and discarded first (default 0).
    - `save_every`: steps between stored averages (default 1).
    - `throw`, `progress`, `chunk_size`: as in `cj.trajectory` (`chunk_size` counts
      stored averages).

    **Returns:**

    A `CumulativeAverage` with `averages` of shape (steps // save_every, *obs), or
    (n, steps // save_every, *obs) for a batch.

    Example:

    ```python
    lor = cj.systems.Lorenz63()
    x0s = lor.sample_state(jax.random.key(0), 8)
    ca = cj.observables.cumulative_average(lor, x0s, lambda x: x[2], steps=10_000,
                                           dt=0.005, transient=2_000, save_every=100)
    ca.averages.mean(0), ca.averages.std(0)  # the ensemble band, (100,) each
    ```
    """
    m, x, steps, transient = prepare(
        system, x0, dt, solver, steps=steps, transient=transient, t_final=t_final
    )
    throw = v.boolean(throw, "throw")
    save_every = v.positive_int(save_every, "save_every")
    if steps % save_every:
        raise ValueError(f"`steps` ({steps}) must be a multiple of `save_every` ({save_every}).")
    observable = identity if observable is None else observable
    obs0 = check_observable(observable, system.dim, x.dtype, without_time(system, x))
    observable = observe_without_time(system, observable)
    n_saves = steps // save_every
    v.output_fits(
        n_saves * (math.prod(x.shape[:-1]) * math.prod(obs0.shape) + 2) * x.dtype.itemsize,
        "steps",
        f"{n_saves} running averages",
        "keep fewer with a larger `save_every`, or keep the final average only (`cj.time_average`)",
    )
    acc = jnp.zeros(x.shape[:-1] + obs0.shape, x.dtype)
    if progress and chunk_size is None:
        chunk_size = max(1, n_saves // 100)
    chunk_size = bounded_chunk(chunk_size, x, save_every)
    pieces = []
    with progress_bar(progress, transient + steps, "cumulative average") as bar:
        x = run_transient(
            m,
            x,
            transient,
            chunk_size and chunk_size * save_every,
            throw,
            bar,
            "cumulative_average",
        )
        done = transient
        for n in split_chunks(n_saves, chunk_size):
            (x_new, acc), sums = cumulative_chunk(m, x, acc, observable, n, save_every)
            check_finite(m, x, x_new, n * save_every, done, throw, "cumulative_average")
            check_observable_finite(m, observable, x, acc, n * save_every, done, throw)
            pieces.append(sums)
            x, done = x_new, done + n * save_every
            bar.advance(n * save_every)
    sums = jnp.concatenate(pieces, axis=x.ndim - 1)
    counts = save_every * jnp.arange(1, n_saves + 1)
    shape = (1,) * (x.ndim - 1) + (n_saves,) + (1,) * len(obs0.shape)
    averages = sums / counts.reshape(shape).astype(sums.dtype)
    times = counts.astype(float) * m.time_per_step
    averages = guard_traced(averages, x, throw, "cumulative_average")
    return CumulativeAverage(times=times, counts=counts, averages=averages)


def running_mean(values: Float[ArrayLike, " times *obs"]) -> Float[Array, " times *obs"]:
    """The cumulative mean along the first axis of stored values.

    Entry j is the mean of values[0], ..., values[j] (cumsum / count), for a series that
    is already stored; `cumulative_average` computes the same along an orbit without
    storing it.

    **Arguments:**

    - `values`: shape (times, *obs).

    **Returns:**

    The running means, shape (times, *obs).

    Example:

    ```python
    cj.observables.running_mean(jnp.array([1.0, 3.0, 5.0]))    # [1, 2, 3]
    ```
    """
    values = jnp.asarray(values)
    count = jnp.arange(1, values.shape[0] + 1).reshape((-1,) + (1,) * (values.ndim - 1))
    return jnp.cumsum(values, axis=0) / count.astype(values.dtype)


# optax-style accumulator: state is an explicit pytree, init/update are pure.


class RunningMoments(Result):
    """The state of a running mean and variance: count, mean and sum of squared
    deviations, updated one value at a time by Welford's numerically stable recurrence
    (Welford 1962, Technometrics 4, 419-420). An optax-style accumulator: the state is an
    explicit pytree, `moments_init` makes it and `moments_update` returns the next one,
    so it can be carried through `lax.scan`.

    **Attributes:**

    - `count`: the number of values added, a scalar.
    - `mean`: their mean, the shape of one value.
    - `m2`: the sum of squared deviations from the mean, the shape of one value.
    - `variance`: `m2 / (count - 1)` (ddof=1; 0 for fewer than two values).

    Example:

    ```python
    state = cj.observables.moments_init(())
    for value in (1.0, 2.0, 4.0):
        state = cj.observables.moments_update(state, value)
    state.mean, state.variance            # 2.333..., 2.333...
    ```
    """

    count: Array
    mean: Array
    m2: Array

    @property
    def variance(self) -> Array:
        """The sample variance, m2 / (count - 1) (ddof=1)."""
        return self.m2 / jnp.maximum(self.count - 1, 1)


def moments_init(shape: tuple[int, ...] = (), dtype=None) -> RunningMoments:
    """An empty accumulator for values of `shape` (Welford 1962).

    **Arguments:**

    - `shape`: the shape of one value (default (): scalars).
    - `dtype`: the floating-point dtype of the statistics (default JAX's default float).

    **Returns:**

    A `RunningMoments` with count 0 and zero mean and `m2`.

    Example:

    ```python
    state = cj.observables.moments_init((3,))
    ```
    """
    dtype = dtype or jnp.result_type(float)
    return RunningMoments(jnp.zeros((), dtype), jnp.zeros(shape, dtype), jnp.zeros(shape, dtype))


def moments_update(state: RunningMoments, value: ArrayLike) -> RunningMoments:
    """The accumulator with one more value (Welford's update, 1962).

    With delta = value - mean: count += 1, mean += delta / count and
    m2 += delta * (value - new mean). Pure and traceable: use it in `lax.scan`.

    **Arguments:**

    - `state`: a `RunningMoments`.
    - `value`: one value, of the shape given to `moments_init`.

    **Returns:**

    The updated `RunningMoments`.

    Example:

    ```python
    xs = cj.trajectory(cj.systems.Henon(), jnp.zeros(2), steps=1_000)
    state, _ = jax.lax.scan(lambda s, x: (cj.observables.moments_update(s, x), None),
                            cj.observables.moments_init((2,)), xs)
    state.mean, state.variance
    ```
    """
    count = state.count + 1
    delta = value - state.mean
    mean = state.mean + delta / count
    return RunningMoments(count, mean, state.m2 + delta * (value - mean))
