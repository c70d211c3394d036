"""Trajectories, final states and time averages of flows and maps.

Everything runs on the one-step map of the system (`cj.discretize` for flows): a
`lax.scan` under `jit`, batched with `vmap` when `x0` has a leading batch axis.
Long runs are split into chunks of one compiled scan, so memory stays bounded, a
progress bar can advance, and a divergence (non-finite state) is caught after each
chunk and located to the exact step by re-running only that chunk.

Speed of batches on a CPU (benchmarks/ensemble.py, benchmarks/RESULTS.md): a batch
(n, dim) runs as structure-of-arrays tiles, batch axis last, so that `step` and the
observable are vectorised across trajectories (`vmap(f, in_axes=1)`); each tile
(~6 KiB per state array: 256 Lorenz63 states) runs its whole time loop while it
stays in L1, tiles follow one another in a `lax.map`, and two independent groups of
tiles per core run concurrently on XLA's thread pool. This is any Flow or Map and
any observable, chosen automatically; a batch sharded over several devices, or on a
GPU, keeps the plain `vmap`. chaosjax's kernels also compile with
`CPU_COMPILER_OPTIONS` (512-bit vectors), per compilation and only for them.

Faster still, time averages and transients of a concrete batch on a CPU run through
generated C (`_cgen.py`: one trajectory's step and observable as scalar code, vectorised
across a tile, tiles over the cores with OpenMP) whenever the step and observable
translate; anything else (`CHAOSJAX_CGEN=0` included) takes the XLA path above.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from . import _cgen
from . import _validate as v
from ._divergence import DivergenceError, check_finite, guard_traced, is_traced
from ._progress import progress_bar
from .discretize import as_map
from .solvers import ADAPTIVE, solve_adaptive
from .systems import Flow, Map

Observable = Callable[[Array], ArrayLike]


# --------------------------------------------------------------------------- kernels
# Each kernel acts on one state, or on a batch (n, dim). On a CPU a batch runs in
# structure-of-arrays tiles (`_over_tiles`): the batch is the last axis, so the step
# and the observable are vectorised across trajectories, and each tile is small
# enough to stay in L1 for its whole time loop.

# XLA:CPU vectorises loop fusions 256 bits wide by default; 512 bits ran the batched
# RK4 kernels ~25 % faster on an AVX-512 machine and changes nothing where AVX-512 is
# absent (benchmarks/RESULTS.md). It is set per compilation, for chaosjax's own
# kernels only: no global XLA flag, nothing a user's own jit sees.
CPU_COMPILER_OPTIONS: dict[str, Any] = {"xla_cpu_prefer_vector_width": 512}

#: Bytes of one tile's state array: tiles of 256 Lorenz63 states (6 KiB) kept the
#: RK4 stages in L1; larger tiles fell out of it, smaller ones paid loop overhead.
_TILE_BYTES = 6 * 1024
#: Independent tile groups per call: two per core (at most this many). XLA:CPU runs
#: independent loops concurrently on its thread pool; two per core balance the load
#: when another process takes a core for a while, and more only cost compile time.
_MAX_GROUPS = 16

_STATIC = object()
_options_ok = [True]  # False once XLA has refused CPU_COMPILER_OPTIONS


def _top_level() -> bool:
    """True outside every jit/vmap/grad trace (False if JAX cannot tell us)."""
    try:
        from jax._src.core import trace_state_clean
    except ImportError:  # pragma: no cover - private API moved: skip the options
        return False
    return trace_state_clean()


def _kernel(fun: Callable) -> Callable:
    """Like `eqx.filter_jit`, with `CPU_COMPILER_OPTIONS` when compiling for a CPU.

    Array leaves of the arguments are traced; every other leaf is static (hashed).
    """
    compiled = {}

    def run(treedef, static, *dynamic):
        leaves = [d if s is _STATIC else s for s, d in zip(static, dynamic, strict=True)]
        return fun(*jax.tree.unflatten(treedef, leaves))

    def wrapper(*args):
        leaves, treedef = jax.tree.flatten(args)
        arrays = [eqx.is_array(leaf) for leaf in leaves]
        static = tuple(_STATIC if a else leaf for a, leaf in zip(arrays, leaves, strict=True))
        dynamic = [leaf if a else None for a, leaf in zip(arrays, leaves, strict=True)]
        # Compiler options are refused on a jit nested in a user's jit/vmap/grad.
        tuned = _options_ok[0] and jax.default_backend() == "cpu" and _top_level()
        if tuned not in compiled:
            options = CPU_COMPILER_OPTIONS if tuned else None
            compiled[tuned] = jax.jit(run, static_argnums=(0, 1), compiler_options=options)
        try:
            return compiled[tuned](treedef, static, *dynamic)
        except Exception as e:  # a JAX/XLA without the option: compile without it
            if not tuned or "compile option" not in str(e):
                raise
            _options_ok[0] = False
            return wrapper(*args)

    wrapper.__wrapped__ = fun
    wrapper.__doc__ = fun.__doc__
    return wrapper


def _batched(fn: Callable, x: Array, *args) -> Any:
    if x.ndim == 2:
        return jax.vmap(fn, in_axes=(0,) + (None,) * len(args))(x, *args)
    return fn(x, *args)


def _plan(x: Array) -> tuple[int, int, int] | None:
    """How to tile a batch: (groups, tiles per group, tile size), or None for a plain vmap.

    Tiles pay on a CPU. A batch sharded over several devices is left to the SPMD
    partitioner (a plain vmap), and so is any GPU.
    """
    if x.ndim != 2 or jax.default_backend() != "cpu":
        return None
    if is_traced(x):
        if jax.device_count() > 1:
            return None
    elif len(x.sharding.device_set) > 1:
        return None
    n, dim = x.shape
    per_tile = _TILE_BYTES // (x.dtype.itemsize * dim)
    target = max(8, min(1024, 1 << max(0, per_tile.bit_length() - 1)))  # a power of 2
    if n <= 8:
        return (1, 1, n)
    groups = max(1, min(2 * _cgen.cores(), _MAX_GROUPS, -(-n // target)))
    per_group = -(-n // (groups * target))
    tile = -(-n // (groups * per_group))
    tile = min(target, -(-tile // 8) * 8)
    return (groups, per_group, tile)


def _over_tiles(fn: Callable, plan: tuple[int, int, int], *trees) -> Any:
    """fn over tiles of the batch, which is the *last* axis of every leaf (in and out).

    The batch is padded (with copies of its last member, so padding never diverges),
    split into `groups` independent loops over `per_group` tiles each (`lax.map`, so
    one tile's time loop runs to the end while it is in cache), and reassembled.
    """
    groups, per_group, tile = plan
    n = jax.tree_util.tree_leaves(trees)[0].shape[-1]
    total = groups * per_group * tile

    def split(a):
        if total > n:
            a = jnp.pad(a, [(0, 0)] * (a.ndim - 1) + [(0, total - n)], mode="edge")
        a = a.reshape(a.shape[:-1] + (groups, per_group, tile))
        return jnp.moveaxis(a, (-3, -2), (0, 1))

    parts = jax.tree.map(split, trees)
    outs = [
        jax.lax.map(lambda args: fn(*args), jax.tree.map(lambda a, g=g: a[g], parts))
        for g in range(groups)
    ]

    def join(*pieces):
        a = jnp.moveaxis(jnp.stack(pieces), (0, 1), (-3, -2))
        return a.reshape(a.shape[:-3] + (total,))[..., :n]

    return jax.tree.map(join, *outs)


def _grouped(call: Callable, plan, x: Array, acc: Any = None) -> Any:
    """call(x, acc, plan), with the groups of `plan` run as separate calls.

    XLA's CPU client runs the calls concurrently, as it runs independent loops of one
    program, but one group's program compiles in ~60 % of the time of all groups'
    (0.31 vs 0.49 s for a time average). Inside a user's trace, the groups stay in one
    program. Every output has the batch first.
    """
    if plan is None or plan[0] == 1 or is_traced(x, acc) or not _top_level():
        return call(x, acc, plan)
    groups, per_group, tile = plan
    size, n = per_group * tile, x.shape[0]

    def parts(tree):
        def pad(a):
            a = np.asarray(a)
            return np.pad(a, [(0, groups * size - n)] + [(0, 0)] * (a.ndim - 1), mode="edge")

        host = jax.tree.map(pad, tree)
        return [
            jax.tree.map(lambda a, g=g: jnp.asarray(a[g * size : (g + 1) * size]), host)
            for g in range(groups)
        ]

    xs = parts(x)
    accs = parts(acc) if acc is not None else [None] * groups
    outs = [call(xg, ag, (1, per_group, tile)) for xg, ag in zip(xs, accs, strict=True)]
    return jax.tree.map(lambda *o: jnp.concatenate(o, axis=0)[:n], *outs)


def _soa(f: Callable) -> Callable:
    """f: (dim,) -> out, applied to a tile (dim, tile) -> out with the tile last."""
    return jax.vmap(f, in_axes=1, out_axes=-1)


def _batch_last(tree):
    return jax.tree.map(lambda a: jnp.moveaxis(a, 0, -1), tree)


def _batch_first(tree):
    return jax.tree.map(lambda a: jnp.moveaxis(a, -1, 0), tree)


def _members(loop: Callable, fns: list[Callable], x: Array, *trees, plan=None) -> Any:
    """loop(*fns, x, *trees) for one state x, for a batch (vmapped over the first axis)
    or, with a `plan`, for structure-of-arrays tiles of the batch (`fns`, functions of
    one state, vectorised across the tile). Every output has the batch first."""
    if plan is not None:
        soa = [_soa(f) for f in fns]
        tiles = _over_tiles(lambda *a: loop(*soa, *a), plan, *_batch_last((x, *trees)))
        return _batch_first(tiles)
    if x.ndim == 2:
        return jax.vmap(lambda *a: loop(*fns, *a))(x, *trees)
    return loop(*fns, x, *trees)


def _repeat(n: int, step: Callable, x: Array) -> Array:
    return jax.lax.fori_loop(0, n, lambda i, y: step(y), x)


def _sum_body(step: Callable, observable: Observable) -> Callable:
    """fori_loop body: add observable(x_k) to the sums, and step."""

    def body(i, carry):
        y, s = carry
        s = jax.tree.map(jnp.add, s, observable(y))
        return step(y), s

    return body


@_kernel
def _advance(m: Map, x: Array, n: int, plan=None) -> Array:
    return _members(functools.partial(_repeat, n), [m.step], x, plan=plan)


@_kernel
def _saved_chunk(
    m: Map, x: Array, n_saves: int, save_every: int, plan=None, with_start: bool = False
) -> tuple[Array, Array]:
    """n_saves states, one every save_every steps; with_start: x itself first (in the
    same call, which spares a separate concatenation of the whole trajectory)."""

    def loop(step, x):
        def body(y, _):
            y = _repeat(save_every, step, y)
            return y, y

        return jax.lax.scan(body, x, None, length=n_saves)

    x_end, saved = _members(loop, [m.step], x, plan=plan)
    if with_start:
        saved = jnp.concatenate([x[..., None, :], saved], axis=-2)
    return x_end, saved


@_kernel
def _sum_chunk(m: Map, x: Array, acc: Any, observable: Observable, n: int, plan=None):
    """Advance n steps, adding observable(x_k) for the n states *before* each step."""

    def loop(step, observable, x, acc):
        return jax.lax.fori_loop(0, n, _sum_body(step, observable), (x, acc))

    return _members(loop, [m.step, observable], x, acc, plan=plan)


def _cumulative_chunk(
    m: Map, x: Array, acc: Any, observable: Observable, n_saves: int, save_every: int
):
    """((x_end, acc_end), sums): the running sum after every `save_every` steps."""
    return _grouped(
        lambda x, acc, plan: _cumulative_kernel(m, x, acc, observable, n_saves, save_every, plan),
        _plan(x),
        x,
        acc,
    )


@_kernel
def _cumulative_kernel(m, x, acc, observable, n_saves, save_every, plan):
    def loop(step, observable, x, acc):
        def body(carry, _):
            carry = jax.lax.fori_loop(0, save_every, _sum_body(step, observable), carry)
            return carry, carry[1]

        return jax.lax.scan(body, (x, acc), None, length=n_saves)

    return _members(loop, [m.step, observable], x, acc, plan=plan)


# --------------------------------------------------------------------------- helpers


def _prepare(system, x0, dt, solver, *, steps, transient, name_steps="steps"):
    m = as_map(system, dt, solver)
    steps = v.positive_int(steps, name_steps)
    transient = v.nonnegative_int(transient, "transient")
    x = v.state(x0, system.dim, "x0")
    return m, x, steps, transient


def _chunks(total: int, chunk: int | None) -> list[int]:
    if chunk is None or chunk >= total:
        return [total]
    chunk = v.positive_int(chunk, "chunk_size")
    out = [chunk] * (total // chunk)
    if total % chunk:
        out.append(total % chunk)
    return out


def _run_transient(m, x, transient, chunk_size, throw, bar, what):
    done, plan = 0, _plan(x)
    for n in _chunks(transient, chunk_size) if transient else []:
        x_new = _cgen.advance(m, x, n) if plan is not None else None
        if x_new is None:
            x_new = _grouped(lambda x, _, plan: _advance(m, x, n, plan), plan, x)
        check_finite(m, x, x_new, n, done, throw, what)
        x, done = x_new, done + n
        bar.advance(n)
    return x


# --------------------------------------------------------------------------- public API


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
    m, x, steps, transient = _prepare(system, x0, dt, solver, steps=steps, transient=transient)
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
        x = _run_transient(
            m, x, transient, chunk_size and chunk_size * save_every, throw, bar, what
        )
        pieces = []
        done, plan = transient, _plan(x)
        for n in _chunks(n_saves, chunk_size):
            first = not pieces
            x_new, saved = _grouped(
                lambda x, _, plan: _saved_chunk(m, x, n, save_every, plan, first), plan, x
            )
            check_finite(m, x, x_new, n * save_every, done, throw, what)
            pieces.append(saved)
            x, done = x_new, done + n * save_every
            bar.advance(n * save_every)
    out = pieces[0] if len(pieces) == 1 else jnp.concatenate(pieces, axis=-2)
    return guard_traced(out, x, throw, what)


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

    return _batched(one, x)


def _adaptive_trajectory(flow, x, steps, dt, solver, transient, save_every, throw, rtol, atol):
    n_saves = steps // save_every
    t_start = transient * dt
    ts = t_start + dt * save_every * jnp.arange(n_saves + 1)
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
    m, x, steps, _ = _prepare(system, x0, dt, solver, steps=steps, transient=0)
    if progress and chunk_size is None:
        chunk_size = max(1, steps // 100)
    with progress_bar(progress, steps, f"{getattr(system, 'name', '')} final state") as bar:
        x_end = _run_transient(m, x, steps, chunk_size, throw, bar, "final_state")
    return guard_traced(x_end, x_end, throw, "final_state")


def _observable_sum(m, x, observable, obs0, steps, transient, throw, progress, chunk_size, desc):
    zeros = jax.tree.map(lambda s: jnp.zeros(x.shape[:-1] + s.shape, x.dtype), obs0)
    if progress and chunk_size is None:
        chunk_size = max(1, (steps + transient) // 100)
    with progress_bar(progress, transient + steps, desc) as bar:
        x = _run_transient(m, x, transient, chunk_size, throw, bar, "time_average")
        acc, done, plan = zeros, transient, _plan(x)
        for n in _chunks(steps, chunk_size):
            # Generated C first (one trajectory's step in registers, _cgen.py); None when
            # it cannot run this system/observable/batch: then XLA.
            out = _cgen.sum_chunk(m, x, acc, observable, n) if plan is not None else None
            x_new, acc = (
                out
                if out is not None
                else _grouped(
                    lambda x, acc, plan: _sum_chunk(m, x, acc, observable, n, plan), plan, x, acc
                )
            )
            check_finite(m, x, x_new, n, done, throw, "time_average")
            x, done = x_new, done + n
            bar.advance(n)
    return acc, x


def _check_observable(observable, dim, dtype):
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
    (a trace costs ~0.1 ms, more than a short batched run)."""
    try:
        return _cached_shape(observable, dim, jnp.dtype(dtype))
    except TypeError as e:  # an unhashable callable: trace it every time
        if "unhashable" not in str(e):
            raise
        return jax.eval_shape(observable, jax.ShapeDtypeStruct((dim,), dtype))


def _identity(x):
    return x


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
    m, x, steps, transient = _prepare(system, x0, dt, solver, steps=steps, transient=transient)
    observable = _identity if observable is None else observable
    obs0 = _check_observable(observable, x.shape[-1], x.dtype)
    acc, x_end = _observable_sum(
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
        from .parallel import shard_batch

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
