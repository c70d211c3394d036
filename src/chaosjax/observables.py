"""Observables and their statistics: cumulative (running) time averages along orbits,
an optax-style running-mean accumulator, and ready-made observables.

For an ergodic system Birkhoff's theorem makes the time average of an observable S
converge to its mean over the invariant measure; the cumulative average shows that
convergence, and its spread over an ensemble shows how long "long" is (seed 000).
"""

from __future__ import annotations

from collections.abc import Callable

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from . import _validate as v
from ._divergence import check_finite, guard_traced
from ._progress import progress_bar
from .simulate._arguments import check_observable, identity, prepare
from .simulate._chunked import run_transient, split_chunks
from .simulate._kernels import cumulative_chunk
from .systems import Flow, Map


def coordinate(i: int) -> Callable[[Array], Array]:
    """The observable x -> x[i]."""
    i = v.nonnegative_int(i, "i")
    return lambda x: x[i]


def second_moment(i: int) -> Callable[[Array], Array]:
    """The observable x -> x[i]**2."""
    i = v.nonnegative_int(i, "i")
    return lambda x: x[i] ** 2


class CumulativeAverage(eqx.Module):
    """Running time averages: `averages[..., j, :]` is the mean of S over the first
    `counts[j]` states after the transient, at times `times[j]` (units of the system)."""

    times: Float[Array, " saves"]
    counts: Array
    averages: Array


def cumulative_average(
    system: Flow | Map,
    x0: Float[ArrayLike, "*batch dim"],
    observable: Callable[[Array], ArrayLike] | None = None,
    *,
    steps: int,
    dt: float | None = None,
    solver: str = "rk4",
    transient: int = 0,
    save_every: int = 1,
    throw: bool = True,
    progress: bool = False,
    chunk_size: int | None = None,
) -> CumulativeAverage:
    """The cumulative time average (1/m) sum_{k<m} S(x_k) for m = s, 2s, ..., `steps`.

    Only the running sums are carried; one average is stored every `save_every` steps.
    With `x0` of shape (n, dim) every member gets its curve: averages (n, saves, *obs),
    the ensemble band of seed 000.

    Example:
    ```python
    ca = cj.observables.cumulative_average(lor, x0s, lambda x: x[2], steps=20_000,
                                           dt=0.005, transient=20_000, save_every=100)
    ca.averages.mean(0), ca.averages.std(0)
    ```
    """
    m, x, steps, transient = prepare(system, x0, dt, solver, steps=steps, transient=transient)
    save_every = v.positive_int(save_every, "save_every")
    if steps % save_every:
        raise ValueError(f"`steps` ({steps}) must be a multiple of `save_every` ({save_every}).")
    observable = identity if observable is None else observable
    obs0 = check_observable(observable, x.shape[-1], x.dtype)
    acc = jnp.zeros(x.shape[:-1] + obs0.shape, x.dtype)
    n_saves = steps // save_every
    if progress and chunk_size is None:
        chunk_size = max(1, n_saves // 100)
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
    """Cumulative mean along the first axis of stored values: cumsum / count."""
    values = jnp.asarray(values)
    count = jnp.arange(1, values.shape[0] + 1).reshape((-1,) + (1,) * (values.ndim - 1))
    return jnp.cumsum(values, axis=0) / count.astype(values.dtype)


# optax-style accumulator: state is an explicit pytree, init/update are pure.


class RunningMoments(eqx.Module):
    """Count, mean and sum of squared deviations (Welford 1962), numerically stable."""

    count: Array
    mean: Array
    m2: Array

    @property
    def variance(self) -> Array:
        return self.m2 / jnp.maximum(self.count - 1, 1)


def moments_init(shape: tuple[int, ...] = (), dtype=None) -> RunningMoments:
    """An empty accumulator for values of `shape`."""
    dtype = dtype or jnp.result_type(float)
    return RunningMoments(jnp.zeros((), dtype), jnp.zeros(shape, dtype), jnp.zeros(shape, dtype))


def moments_update(state: RunningMoments, value: ArrayLike) -> RunningMoments:
    """Add one value (Welford's update)."""
    count = state.count + 1
    delta = value - state.mean
    mean = state.mean + delta / count
    return RunningMoments(count, mean, state.m2 + delta * (value - mean))
