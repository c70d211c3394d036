"""How a batch of trajectories runs on a CPU: structure-of-arrays tiles, in groups.

A batch (n, dim) runs as tiles with the batch axis *last*, so that `step` and the
observable, written for one state, are vectorised across trajectories
(`vmap(f, in_axes=1)`); each tile (about 6 KiB per state array: 256 Lorenz63 states)
runs its whole time loop while it stays in L1, tiles follow one another in a
`lax.map`, and two independent groups of tiles per core run concurrently on XLA's
thread pool. A batch sharded over several devices, or on a GPU, keeps the plain
`vmap`. The kernels built on this compile with `CPU_COMPILER_OPTIONS`, per
compilation and only for them (`cpu_tuned_jit`).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from .. import native
from .._divergence import is_traced

# XLA:CPU vectorises loop fusions 256 bits wide by default; 512 bits pay on processors
# with AVX-512 and change nothing elsewhere (benchmarks/RESULTS.md). It is set per
# compilation, for chaosjax's own kernels only: no global XLA flag, nothing a user's
# own jit sees.
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


@functools.cache
def _untraced_state():
    """JAX's trace state outside every trace, as a fresh thread sees it (JAX keeps its
    trace state per thread, and a new thread starts outside every trace)."""
    state = []
    probe = threading.Thread(target=lambda: state.append(_trace_state()))
    probe.start()
    probe.join()
    return state[0]


def _trace_state():
    """JAX's opaque trace state of this thread (None where JAX has no such API)."""
    try:
        from jax.extend.core import get_opaque_trace_state
    except ImportError:  # pragma: no cover - JAX without it: no tracer comparison
        return None
    return get_opaque_trace_state()


def outside_traces() -> bool:
    """True outside every jit/vmap/grad trace (False if JAX cannot tell us)."""
    state = _trace_state()
    return state is not None and state == _untraced_state()


def cpu_tuned_jit(fun: Callable) -> Callable:
    """Like `eqx.filter_jit`, with `CPU_COMPILER_OPTIONS` when compiling for a CPU.

    Array leaves of the arguments are traced; every other leaf is static (hashed).
    """
    compiled = {}

    def run(treedef, static, *dynamic):
        leaves = [d if s is _STATIC else s for s, d in zip(static, dynamic, strict=True)]
        return fun(*jax.tree.unflatten(treedef, leaves))

    @functools.wraps(fun)
    def wrapper(*args):
        leaves, treedef = jax.tree.flatten(args)
        arrays = [eqx.is_array(leaf) for leaf in leaves]
        static = tuple(_STATIC if a else leaf for a, leaf in zip(arrays, leaves, strict=True))
        dynamic = [leaf if a else None for a, leaf in zip(arrays, leaves, strict=True)]
        # Compiler options are refused on a jit nested in a user's jit/vmap/grad.
        tuned = _options_ok[0] and jax.default_backend() == "cpu" and outside_traces()
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

    return wrapper


def tile_plan(x: Array) -> tuple[int, int, int] | None:
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
    groups = max(1, min(2 * native.cores(), _MAX_GROUPS, -(-n // target)))
    per_group = -(-n // (groups * target))
    tile = -(-n // (groups * per_group))
    tile = min(target, -(-tile // 8) * 8)
    return (groups, per_group, tile)


def _map_over_tiles(fn: Callable, plan: tuple[int, int, int], *trees) -> Any:
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


def call_per_group(call: Callable, plan, x: Array, acc: Any = None) -> Any:
    """call(x, acc, plan), with the groups of `plan` run as separate calls.

    XLA's CPU client runs the calls concurrently, as it runs independent loops of one
    program, but one group's program compiles in much less time than all groups'
    together. Inside a user's trace, the groups stay in one program. Every output has
    the batch first.
    """
    if plan is None or plan[0] == 1 or is_traced(x, acc) or not outside_traces():
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


def _on_tile(f: Callable) -> Callable:
    """f: (dim,) -> out, applied to a tile (dim, tile) -> out with the tile last."""
    return jax.vmap(f, in_axes=1, out_axes=-1)


def _batch_axis_last(tree):
    """Every leaf's leading batch axis moved to the end (structure-of-arrays)."""
    return jax.tree.map(lambda a: jnp.moveaxis(a, 0, -1), tree)


def _batch_axis_first(tree):
    """Every leaf's trailing batch axis moved back to the front."""
    return jax.tree.map(lambda a: jnp.moveaxis(a, -1, 0), tree)


def for_each_member(loop: Callable, fns: list[Callable], x: Array, *trees, plan=None) -> Any:
    """loop(*fns, x, *trees) for one state x, for a batch (vmapped over the first axis)
    or, with a `plan`, for structure-of-arrays tiles of the batch (`fns`, functions of
    one state, vectorised across the tile). Every output has the batch first."""
    if plan is not None:
        on_tile = [_on_tile(f) for f in fns]
        tiles = _map_over_tiles(lambda *a: loop(*on_tile, *a), plan, *_batch_axis_last((x, *trees)))
        return _batch_axis_first(tiles)
    if x.ndim == 2:
        return jax.vmap(lambda *a: loop(*fns, *a))(x, *trees)
    return loop(*fns, x, *trees)
