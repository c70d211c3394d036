"""Trajectories and final states of flows and maps.

Everything runs on the one-step map of the system (`cj.discretize` for flows): a
`lax.scan` under `jit`, batched when `x0` has a leading batch axis, in chunks
(`_chunked.py`) with divergence caught after each.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ClassVar, Literal, overload

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.core import Tracer
from jaxtyping import Array, ArrayLike, Float

from .. import _remembered, native
from .. import _validate as v
from .._divergence import DivergenceError, check_finite, guard_traced, is_traced
from .._progress import progress_bar
from .._results import Dims, Result
from ..solvers import ADAPTIVE, solve_adaptive
from ..systems import Flow, Map, is_time_dependent
from . import _tiling
from ._arguments import prepare, without_time
from ._chunked import bounded_chunk, run_transient, split_chunks
from ._kernels import save_chunk, store_reference
from ._tiling import call_per_group


class Trajectory(Result):
    """States with their times (what `trajectory(..., times=True)` returns), named as
    diffrax's `Solution`: `ts` and `ys`. Unpacks as a pair: `ts, ys = cj.trajectory(...,
    times=True)`.

    **Attributes:**

    - `ts`: (times,), the time of each saved state, counted from `x0` (so the first is
      `transient * dt`); for a map the iteration count times `time_per_step`.
    - `ys`: (times, dim), or (n, times, dim) for a batch, the states, as `trajectory`
      returns them without `times`.

    Example:

    ```python
    lor = cj.systems.Lorenz63()
    ts, ys = cj.trajectory(lor, t_final=10.0, dt=0.01, times=True)
    ts[-1], ys.shape                        # 10.0, (1001, 3)
    ```
    """

    ts: Float[Array, " times"]
    ys: Float[Array, "*batch times dim"]

    _xarray_dims: ClassVar[dict[str, Dims]] = {
        "ts": ("time",),
        "ys": (..., "time", "variable"),
    }

    def __iter__(self):
        return iter((self.ts, self.ys))


@overload
def trajectory(
    system: Flow | Map,
    x0: Float[ArrayLike, "*batch dim"] | None = None,
    *,
    steps: int | None = None,
    t_final: float | None = None,
    dt: float | None = None,
    solver: str = "rk4",
    transient: int = 0,
    save_every: int = 1,
    times: Literal[False] = False,
    throw: bool = True,
    progress: bool = False,
    chunk_size: int | None = None,
    rtol: float = 1e-9,
    atol: float = 1e-9,
) -> Float[Array, "*batch times dim"]: ...


@overload
def trajectory(
    system: Flow | Map,
    x0: Float[ArrayLike, "*batch dim"] | None = None,
    *,
    steps: int | None = None,
    t_final: float | None = None,
    dt: float | None = None,
    solver: str = "rk4",
    transient: int = 0,
    save_every: int = 1,
    times: Literal[True],
    throw: bool = True,
    progress: bool = False,
    chunk_size: int | None = None,
    rtol: float = 1e-9,
    atol: float = 1e-9,
) -> Trajectory: ...


def trajectory(
    system: Flow | Map,
    x0: Float[ArrayLike, "*batch dim"] | None = None,
    *,
    steps: int | None = None,
    t_final: float | None = None,
    dt: float | None = None,
    solver: str = "rk4",
    transient: int = 0,
    save_every: int = 1,
    times: bool = False,
    throw: bool = True,
    progress: bool = False,
    chunk_size: int | None = None,
    rtol: float = 1e-9,
    atol: float = 1e-9,
) -> Float[Array, "*batch times dim"] | Trajectory:
    """The states x_0, x_s, x_2s, ..., x_steps (s = `save_every`) after a transient.

    Iterates the one-step map of `system` (a map itself, or a flow discretised with
    `solver` and `dt`, see `cj.as_map`) in a `lax.scan` under `jit`, in chunks of
    `chunk_size` saves. `transient` steps are run and discarded first; the returned
    first row is the state after them. With an adaptive solver (`cj.solve_adaptive`:
    diffrax's Runge-Kutta pairs of Tsitouras 2011 and Dormand & Prince 1980, 1981) the
    flow is integrated with the solver's own steps and the solution is interpolated
    onto the grid of `dt`.

    A time-dependent flow (`vector_field(t, x)`) is integrated from t = 0.

    **Arguments:**

    - `system`: a `cj.Flow` or `cj.Map`.
    - `x0`: the initial state, shape (dim,), or (n, dim) for n trajectories at once;
      default `system.default_state()`.
    - `steps`: steps after the transient, a positive multiple of `save_every`.
    - `t_final`: the same length in time units instead (steps = t_final / dt, a whole
      number); give exactly one of `steps` and `t_final`.
    - `dt`: the time per step of a flow (time units); default the flow's `default_dt`;
      None for a map.
    - `solver`: a flow's solver: "rk4" (default), "euler", "event" (a
      `cj.systems.PiecewiseSmoothFlow`) or adaptive "tsit5", "dopri5", "dopri8".
    - `transient`: steps run and discarded first (default 0).
    - `save_every`: keep every `save_every`-th state (default 1: all).
    - `times`: also return the times of the states, as a `Trajectory` (`ts, ys`);
      default False: the states alone.
    - `throw`: raise `cj.DivergenceError`, naming the step, when a state becomes
      non-finite (default True); under `jit` a fixed-step run fails through
      `eqx.error_if` instead. With False the non-finite states are returned.
    - `progress`: show a progress bar advancing between chunks (default False).
    - `chunk_size`: saves per compiled chunk; default chunks of about 2e9
      state updates (steps x batch x dim; one chunk inside `jit`), 100 chunks with
      `progress`. Ctrl-C stops a run between chunks; the result does not depend on
      the chunking.
    - `rtol`, `atol`: the tolerances of an adaptive solver (default 1e-9).

    **Returns:**

    The states, shape (steps // save_every + 1, dim), or (n, steps // save_every + 1,
    dim) for a batch; row j is the state `transient + j * save_every` steps after `x0`.
    With `times=True` a `Trajectory` holding them as `ys` and their times as `ts`.

    Example:

    ```python
    lor = cj.systems.Lorenz63()
    xs = cj.trajectory(lor, lor.default_state(), steps=2_000, dt=0.005, save_every=10)
    xs.shape                                   # (201, 3)
    ts, ys = cj.trajectory(lor, t_final=10.0, times=True)   # default x0 and dt (0.01)
    ```
    """
    key = None
    if times is False and progress is False and chunk_size is None:
        key = _remembered.settings(steps, t_final, dt, solver, transient, save_every, throw)
        got = _remembered.run("trajectory", system, key, x0)  # (see `_keeper`)
        if got is not None:
            return got
    m, x, steps, transient = prepare(
        system, x0, dt, solver, steps=steps, transient=transient, t_final=t_final
    )
    throw = v.boolean(throw, "throw")
    save_every = v.positive_int(save_every, "save_every")
    times = v.boolean(times, "times")
    if steps % save_every:
        raise ValueError(f"`steps` ({steps}) must be a multiple of `save_every` ({save_every}).")
    out = _trajectory(
        system, m, x, steps, solver, transient, save_every, throw, progress, chunk_size,
        rtol, atol, _keeper("trajectory", system, x, key),
    )  # fmt: skip
    if not times:
        return out
    tau = float(m.time_per_step)
    ts = (transient + save_every * np.arange(steps // save_every + 1)) * tau
    return Trajectory(ts=jnp.asarray(ts, dtype=out.dtype), ys=out)


def _keeper(what: str, system, x, key):
    """What `native.store` calls with its compiled eager run (`keep`): remember it for
    `what` on `system`, for one state of an undriven system; None if not.

    The run is remembered as checked: `_remembered.run` then returns its saved states
    from a new state, or None where there is no such run, the state is not one it
    takes, or the run met a non-finite state (the kernel's own check,
    `_native_trajectory`; the full path then locates the divergence and raises, or
    returns the states with `throw=False`)."""
    if key is None or x.ndim != 1 or is_time_dependent(system):
        return None
    return lambda fn, arrays: _remembered.remember(what, system, key, fn, arrays, True)


def _trajectory(
    system, m, x, steps, solver, transient, save_every, throw, progress, chunk_size, rtol, atol,
    keep=None,
):  # fmt: skip
    """`trajectory`'s states, its arguments checked (time dropped for a time-dependent
    flow); `keep` as `native.store`'s."""
    if isinstance(system, Flow) and solver in ADAPTIVE:
        return _adaptive_trajectory(
            system,
            without_time(system, x),
            steps,
            m.time_per_step,
            solver,
            transient,
            save_every,
            throw,
            rtol,
            atol,
        )
    n_saves = steps // save_every
    v.output_fits(
        (n_saves + 1) * x.size * x.dtype.itemsize,
        "steps",
        f"a trajectory of {n_saves + 1} states of shape {tuple(x.shape)}",
        "store fewer states with `save_every`, run in pieces (`cj.final_state`, then on "
        "from its end state), or keep averages only (`cj.time_average`, "
        "`cj.observables.cumulative_average`)",
    )
    if progress and chunk_size is None:
        chunk_size = max(1, n_saves // 100)
    # Bounded chunks (Ctrl-C lands between them). Up to 256 MB they are joined at the
    # end; beyond, each is written into the output allocated once (no second copy).
    chunk_size = bounded_chunk(chunk_size, x, save_every)
    if chunk_size is None or (chunk_size >= n_saves and chunk_size * save_every >= transient):
        got = _native_trajectory(m, x, transient, n_saves, save_every, throw, progress, keep=keep)
        if got is not None:
            return without_time(system, got)
    in_place = n_saves * x.size * x.dtype.itemsize > _CHUNKED_OUTPUT_BYTES
    what = "trajectory"
    desc = f"{getattr(system, 'name', '')} trajectory"
    with progress_bar(progress, transient + steps, desc) as bar:
        x = run_transient(m, x, transient, chunk_size and chunk_size * save_every, throw, bar, what)
        chunks = split_chunks(n_saves, chunk_size)
        in_place = in_place and len(chunks) > 1
        out = jnp.empty(x.shape[:-1] + (n_saves + 1, x.shape[-1]), x.dtype) if in_place else None
        pieces, row = [], 0
        done, plan = transient, _tiling.tile_plan(x)
        for n in chunks:
            first = row == 0
            x_new, saved = call_per_group(
                lambda x, _, plan: save_chunk(m, x, n, save_every, plan, first), plan, x
            )
            check_finite(m, x, x_new, n * save_every, done, throw, what)
            if out is not None:
                out = _write_rows(out, saved, jnp.asarray(row))
            else:
                pieces.append(saved)
            row += saved.shape[-2]
            x, done = x_new, done + n * save_every
            bar.advance(n * save_every)
    if out is None:
        out = pieces[0] if len(pieces) == 1 else jnp.concatenate(pieces, axis=-2)
    return without_time(system, guard_traced(out, x, throw, what))


def _native_trajectory(
    m, x, transient, n_saves, save_every, throw, progress, what="trajectory", keep=None,
    end=False,
):  # fmt: skip
    """The stored orbit (with `end`, its end state) in one generated-C call
    (`chaosjax.native.store`), with the divergence checks of the XLA path; None when
    the native kernel cannot run it."""
    # An eager run of one state is checked in the kernel (with `throw`, every saved
    # state; else the starting one, which the checks here passed): it returns what was
    # asked for and nothing is read back, here or in the call `keep` remembers.
    check = 2 if throw else 1
    got = native.store(
        m, x, transient, n_saves, save_every, xla=store_reference, keep=keep, check=check,
        end_only=end,
    )  # fmt: skip
    if got is None:
        return None
    x_end, out, counts = got
    steps = transient + n_saves * save_every
    if isinstance(x_end, Tracer):
        return guard_traced(x_end if end else out, x_end, throw, what)
    if progress:
        with progress_bar(progress, steps, what) as bar:
            bar.advance(steps)
    if x_end is not None and counts is not None:  # (None: the kernel's check passed)
        check_finite(m, x, x_end, steps, 0, throw, what)
    return x_end if end else out


@functools.partial(jax.jit, donate_argnums=0)
def _write_rows(out: Array, rows: Array, start: Array) -> Array:
    """`out` with `rows` written from row `start` on (axis -2), in place (donated)."""
    return jax.lax.dynamic_update_slice_in_dim(out, rows, start, axis=out.ndim - 2)


_CHUNKED_OUTPUT_BYTES = 1 << 28  # trajectories up to 256 MB are split into bounded chunks


def _vmap_if_batched(fn: Callable, x: Array, *args) -> Any:
    """fn(x, *args) for one state x (dim,), vmapped over the rows of a batch (n, dim)."""
    if x.ndim == 2:
        return jax.vmap(fn, in_axes=(0,) + (None,) * len(args))(x, *args)
    return fn(x, *args)


@eqx.filter_jit
def _adaptive_kernel(flow, x, ts, t_start: float, solver: str, rtol: float, atol: float):
    """The states at times `ts` after a transient to `t_start` (static, as the solver and
    the tolerances: one compilation per setting, not per call)."""

    def one(x):
        if t_start:
            x = solve_adaptive(
                flow, x, jnp.array([0.0, t_start]), solver=solver, rtol=rtol, atol=atol
            )[-1]
        return solve_adaptive(flow, x, ts, solver=solver, rtol=rtol, atol=atol)

    return _vmap_if_batched(one, x)


def _adaptive_trajectory(flow, x, steps, dt, solver, transient, save_every, throw, rtol, atol):
    n_saves = steps // save_every
    t_start = transient * dt
    ts = t_start + dt * save_every * jnp.arange(n_saves + 1, dtype=float)
    out = _adaptive_kernel(flow, x, ts, t_start, solver, rtol, atol)
    if throw and not is_traced(out) and not bool(jnp.all(jnp.isfinite(out))):
        rows = np.flatnonzero(~np.isfinite(np.asarray(out)).reshape(-1, out.shape[-1]).all(-1))
        k = int(rows[0] % (n_saves + 1)) * save_every + transient
        raise DivergenceError(f"adaptive trajectory diverged near step {k}.", k)
    return out


def final_state(
    system: Flow | Map,
    x0: Float[ArrayLike, "*batch dim"] | None = None,
    *,
    steps: int | None = None,
    t_final: float | None = None,
    dt: float | None = None,
    solver: str = "rk4",
    throw: bool = True,
    progress: bool = False,
    chunk_size: int | None = None,
) -> Float[Array, "*batch dim"]:
    """The state after `steps` steps of the one-step map, nothing stored on the way.

    The map of `system` (a flow discretised with `solver` and `dt`, see `cj.as_map`) is
    iterated in a `lax.scan` under `jit`, in chunks of `chunk_size` steps; only the
    current state is carried, so memory does not grow with `steps`.

    **Arguments:**

    - `system`: a `cj.Flow` (time-dependent ones from t = 0) or `cj.Map`.
    - `x0`: the initial state, shape (dim,), or (n, dim) for n states at once; default
      `system.default_state()`.
    - `steps`: the number of steps, a positive int.
    - `t_final`: the same in time units instead (steps = t_final / dt); give exactly one
      of `steps` and `t_final`.
    - `dt`: the time per step of a flow (time units); default the flow's `default_dt`;
      None for a map.
    - `solver`: a flow's solver, as in `trajectory` (default "rk4").
    - `throw`: raise `cj.DivergenceError`, naming the step, when the state becomes
      non-finite (default True).
    - `progress`: show a progress bar advancing between chunks (default False).
    - `chunk_size`: steps per compiled chunk; default chunks of about 2e9
      state updates (steps x batch x dim; one chunk inside `jit`), 100 chunks with
      `progress`. Ctrl-C stops a run between chunks; the result does not depend on
      the chunking.

    **Returns:**

    The state after `steps` steps (`steps * dt` time units for a flow), of the shape of
    `x0`.

    Example:

    ```python
    lor = cj.systems.Lorenz63()
    x = cj.final_state(lor, lor.default_state(), steps=2_000, dt=0.005)   # shape (3,)
    ```
    """
    key = None
    if progress is False and chunk_size is None:
        key = _remembered.settings(steps, t_final, dt, solver, throw)
        got = _remembered.run("final_state", system, key, x0)  # (see `_keeper`)
        if got is not None:
            return got
    m, x, steps, _ = prepare(system, x0, dt, solver, steps=steps, transient=0, t_final=t_final)
    throw = v.boolean(throw, "throw")
    one_chunk = bounded_chunk(chunk_size, x)
    if x.ndim == 1 and not progress and (one_chunk is None or one_chunk >= steps):
        # One state in one chunk: the single-orbit kernel, its state in registers (a
        # batch keeps the tiled kernels of `run_transient`).
        keep = _keeper("final_state", system, x, key)
        got = _native_trajectory(m, x, steps, 0, 1, throw, progress, "final_state", keep, end=True)
        if got is not None:
            return without_time(system, got)
    if progress and chunk_size is None:
        chunk_size = max(1, steps // 100)
    chunk_size = bounded_chunk(chunk_size, x)
    with progress_bar(progress, steps, f"{getattr(system, 'name', '')} final state") as bar:
        x_end = run_transient(m, x, steps, chunk_size, throw, bar, "final_state")
    return without_time(system, guard_traced(x_end, x_end, throw, "final_state"))
