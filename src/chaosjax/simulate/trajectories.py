"""Trajectories and final states of flows and maps.

Everything runs on the one-step map of the system (`cj.discretize` for flows): a
`lax.scan` under `jit`, batched when `x0` has a leading batch axis, in chunks
(`_chunked.py`) with divergence caught after each.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .. import _validate as v
from .._divergence import DivergenceError, check_finite, guard_traced, is_traced
from .._progress import progress_bar
from ..solvers import ADAPTIVE, solve_adaptive
from ..systems import Flow, Map
from . import _tiling
from ._arguments import prepare
from ._chunked import run_transient, split_chunks
from ._kernels import save_chunk
from ._tiling import call_per_group


def trajectory(
    system: Flow | Map,
    x0: Float[ArrayLike, "*batch dim"],
    *,
    steps: int,
    dt: float | None = None,
    solver: str = "rk4",
    transient: int = 0,
    save_every: int = 1,
    throw: bool = True,
    progress: bool = False,
    chunk_size: int | None = None,
    rtol: float = 1e-9,
    atol: float = 1e-9,
) -> Float[Array, "*batch times dim"]:
    """The states x_0, x_s, x_2s, ..., x_steps (s = `save_every`) after a transient.

    Iterates the one-step map of `system` (a map itself, or a flow discretised with
    `solver` and `dt`). `transient` steps are run and discarded first; the returned
    first row is the state after them.

    **Arguments:**
    - `system`: a `cj.Flow` or `cj.Map`.
    - `x0`: shape (dim,), or (n, dim) for n trajectories at once (vmapped).
    - `steps`: steps after the transient; a multiple of `save_every`.
    - `dt`: time per step (flows only; None for maps).
    - `solver`: "rk4" (default), "euler", or adaptive "tsit5"/"dopri5"/"dopri8"
      (diffrax, tolerances `rtol`, `atol`; the states are interpolated onto the dt grid).
    - `throw`: raise `DivergenceError` naming the step when a state becomes non-finite.
    - `progress`: show a progress bar advancing between chunks of `chunk_size` saves.

    **Returns:** an array (steps // save_every + 1, dim), or (n, ..., dim) when batched.

    Example:
    ```python
    xs = cj.trajectory(cj.systems.Lorenz63(), jnp.ones(3), steps=20_000, dt=0.005)
    ```
    """
    m, x, steps, transient = prepare(system, x0, dt, solver, steps=steps, transient=transient)
    save_every = v.positive_int(save_every, "save_every")
    if steps % save_every:
        raise ValueError(f"`steps` ({steps}) must be a multiple of `save_every` ({save_every}).")
    if isinstance(system, Flow) and solver in ADAPTIVE:
        return _adaptive_trajectory(
            system, x, steps, m.time_per_step, solver, transient, save_every, throw, rtol, atol
        )
    n_saves = steps // save_every
    if progress and chunk_size is None:
        chunk_size = max(1, n_saves // 100)
    what = "trajectory"
    desc = f"{getattr(system, 'name', '')} trajectory"
    with progress_bar(progress, transient + steps, desc) as bar:
        x = run_transient(m, x, transient, chunk_size and chunk_size * save_every, throw, bar, what)
        pieces = []
        done, plan = transient, _tiling.tile_plan(x)
        for n in split_chunks(n_saves, chunk_size):
            first = not pieces
            x_new, saved = call_per_group(
                lambda x, _, plan: save_chunk(m, x, n, save_every, plan, first), plan, x
            )
            check_finite(m, x, x_new, n * save_every, done, throw, what)
            pieces.append(saved)
            x, done = x_new, done + n * save_every
            bar.advance(n * save_every)
    out = pieces[0] if len(pieces) == 1 else jnp.concatenate(pieces, axis=-2)
    return guard_traced(out, x, throw, what)


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
    x0: Float[ArrayLike, "*batch dim"],
    *,
    steps: int,
    dt: float | None = None,
    solver: str = "rk4",
    throw: bool = True,
    progress: bool = False,
    chunk_size: int | None = None,
) -> Float[Array, "*batch dim"]:
    """The state after `steps` steps of the one-step map (nothing stored on the way).

    **Arguments:** as `trajectory`. **Returns:** shape of `x0`.

    Example: `cj.final_state(lor, x0, steps=20_000, dt=0.005)`.
    """
    m, x, steps, _ = prepare(system, x0, dt, solver, steps=steps, transient=0)
    if progress and chunk_size is None:
        chunk_size = max(1, steps // 100)
    with progress_bar(progress, steps, f"{getattr(system, 'name', '')} final state") as bar:
        x_end = run_transient(m, x, steps, chunk_size, throw, bar, "final_state")
    return guard_traced(x_end, x_end, throw, "final_state")
