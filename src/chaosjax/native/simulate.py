"""Batched time loops in generated C: one trajectory's step, vectorised across a tile.

XLA:CPU splits one RK4 step into several loop fusions, each writing its stage arrays
to memory; a hand-written loop keeps the whole step of one trajectory in registers
(benchmarks/RESULTS.md). This kernel is that loop for any map: `m.step` (with the
map's array parameters as inputs) and the observable are traced to jaxprs and
translated to scalar C (`codegen.py`), wrapped in a loop where

- the time loop runs outside a `#pragma omp simd` loop over a tile of trajectories
  stored structure-of-arrays (batch innermost, contiguous), so the compiler vectorises
  across trajectories and a tile stays in L1 for its whole time loop;
- tiles are shared among the available cores by OpenMP (`schedule(dynamic)`, so a core
  taken by another process does not hold the others back).

Results agree with the XLA path to rounding (FMA contraction changes the last bit of
a step). Divergence is left to the caller: the kernel returns the final state (NaN and
inf propagate) and the caller re-runs a diverged chunk on the XLA path to name the
step.
"""

from __future__ import annotations

import ctypes
import os
from typing import Any

import equinox as eqx
import jax
import numpy as np
from jax.core import Tracer

from .codegen import (
    HEADER,
    MAX_LINES,
    Emitter,
    Unsupported,
    c_expr,
    c_kind,
    eval_closed,
    kernel_parameters,
    scalar_names,
)
from .compile import cached, compile_kernel, cores, enabled

#: Trajectories per tile: the width of the `omp simd` loop (a few vectors of eight
#: doubles; tiles of 32 to 128 ran alike).
TILE = int(os.environ.get("CHAOSJAX_CGEN_TILE", "64"))
#: A tile's states and sums beyond this many bytes overflow the L1/L2 cache: XLA's
#: path is the better one.
_MAX_TILE_BYTES = 256 * 1024


def soa_tiles(a, npad: int):
    """(B, c) -> (c, npad): the structure-of-arrays layout of the tile kernels, the batch
    padded to `npad` (whole tiles) with copies of its last member (jax.numpy)."""
    B = a.shape[0]
    if npad > B:
        jnp = jax.numpy
        a = jnp.concatenate([a, jnp.broadcast_to(a[-1:], (npad - B, a.shape[1]))])
    return a.T


_ARGS = [
    ctypes.c_void_p,  # P: parameters
    ctypes.c_void_p,  # X: states, (dim, npad) structure-of-arrays; in and out
    ctypes.c_void_p,  # A: sums of the observable, (k, npad); in and out
    ctypes.c_int64,  # npad: the batch padded to whole tiles
    ctypes.c_int64,  # steps
    ctypes.c_int,  # threads
]

_kernels: dict[Any, Any] = {}


def _source(
    step_jaxpr, obs_jaxpr, shapes, dim: int, tile: int, per_member: bool = False
) -> tuple[str, int]:
    """C source of the kernel, and the number of observable scalars it accumulates.

    The step's inputs are the parameter leaves (`shapes`, elements named p0, p1, ...
    in order, read from P) and the state (s0, s1, ...). `per_member`: P holds one
    parameter vector per trajectory, structure-of-arrays (n_params, npad), read per
    lane like the state (a vmapped parameter: sweeps)."""
    (state,), params = scalar_names("s", [(dim,)]), scalar_names("p", shapes)
    n_params = sum(a.size for a in params)
    em = Emitter()
    obs_flat: list = []
    if obs_jaxpr is not None:
        outs = eval_closed(em, obs_jaxpr, [state])
        for o, v in zip(outs, obs_jaxpr.jaxpr.outvars, strict=True):
            if c_kind(v.aval.dtype) != "f":
                raise Unsupported("a non-float observable")
            obs_flat += list(np.ravel(o))
    obs_lines = list(em.lines)
    em.lines = []
    (new,) = eval_closed(em, step_jaxpr, params + [state])
    new = np.ravel(new)
    k = len(obs_flat)
    rows = dim + k + (n_params if per_member else 0)
    if len(obs_lines) + len(em.lines) > MAX_LINES or rows * tile * 8 > _MAX_TILE_BYTES:
        raise Unsupported("a step too large for straight-line code")
    ind = " " * 16
    src = [
        HEADER,
        f"#define T {tile}",
        "",
        # gcc's unroll-and-jam (-O3) would run two steps of each vector in one pass of
        # the member loop: a dependency chain twice as long per pass (a loaded core
        # hides it less well). gcc 12 knows AVX-512 AMD cores (Zen 4, Zen 5) only as
        # Zen 3, whose instruction schedule is 4% slower on them than Ice Lake's
        # (the same instructions, bit for bit the same results; README.md).
        "#if defined(__GNUC__) && !defined(__clang__)",
        "#if defined(__x86_64__) && defined(__AVX512F__) && defined(__tune_znver3__)",
        '__attribute__((optimize("no-loop-unroll-and-jam"), target("tune=icelake-server")))',
        "#else",
        '__attribute__((optimize("no-loop-unroll-and-jam")))',
        "#endif",
        "#endif",
        "void cj_kernel(const double *restrict P, double *restrict X, "
        "double *restrict A, int64_t npad, int64_t nsteps, int nthreads)",
        "{",
        "    const int64_t ntiles = npad / T;",
        "    #pragma omp parallel for schedule(dynamic, 1) num_threads(nthreads)",
        "    for (int64_t tile = 0; tile < ntiles; ++tile) {",
        "        const int64_t off = tile * T;",
    ]
    if per_member:
        src += [f"        double pb{i}[T] __attribute__((aligned(64)));" for i in range(n_params)]
        src += [
            f"        memcpy(pb{i}, P + {i} * npad + off, sizeof(pb{i}));" for i in range(n_params)
        ]
    else:
        src += [f"        const double p{i} = P[{i}];" for i in range(n_params)]
    # The tile's states (rows 0..dim-1) and sums (rows dim..) in one block: one
    # pointer walks all rows in the member loop.
    src += [f"        double buf[{dim + k}][T] __attribute__((aligned(64)));"]
    src += [f"        double *x{i} = buf[{i}];" for i in range(dim)]
    src += [f"        double *a{q} = buf[{dim + q}];" for q in range(k)]
    src += [f"        memcpy(x{i}, X + {i} * npad + off, sizeof(buf[0]));" for i in range(dim)]
    src += [f"        memcpy(a{q}, A + {q} * npad + off, sizeof(buf[0]));" for q in range(k)]
    src += [
        "        for (int64_t s = 0; s < nsteps; ++s) {",
        "            #pragma omp simd",
        "            for (int j = 0; j < T; ++j) {",
    ]
    if per_member:
        src += [f"{ind}const double p{i} = pb{i}[j];" for i in range(n_params)]
    src += [f"{ind}const double s{i} = x{i}[j];" for i in range(dim)]
    src += [ind + line for line in obs_lines]
    src += [
        f"{ind}a{q} [j] += {c_expr(o, 'f')};".replace(" [", "[") for q, o in enumerate(obs_flat)
    ]
    src += [ind + line for line in em.lines]
    src += [f"{ind}x{i}[j] = {c_expr(e, 'f')};" for i, e in enumerate(new)]
    src += ["            }", "        }"]
    src += [f"        memcpy(X + {i} * npad + off, x{i}, sizeof(buf[0]));" for i in range(dim)]
    src += [f"        memcpy(A + {q} * npad + off, a{q}, sizeof(buf[0]));" for q in range(k)]
    src += ["    }", "}", ""]
    return "\n".join(src), k


def _kernel_for(m, observable, dim: int, traced: bool = False, per_member: bool = False):
    """(fn, params, k, (treedef, static, shapes)) for this map structure and observable,
    or None (`per_member`: the kernel reading one parameter vector per trajectory)."""
    split = kernel_parameters(m, observable, dim, traced=traced)
    if split is None:
        return None
    treedef, static, shapes, params, key = split
    key = None if key is None else (*key, per_member)
    entry = cached(
        _kernels, key, lambda: _generate(treedef, static, shapes, observable, dim, per_member)
    )
    return None if entry is None else (entry[0], params, entry[1], (treedef, static, shapes))


def trace_step(treedef, static, shapes, dim: int):
    """The closed jaxpr of a map's `step` as a function of (its float64 parameter leaves
    of `shapes`, a float64 state (dim,)), or None when it does not return such a state.
    Trace errors propagate (the caller treats them as "no kernel")."""
    spec = jax.ShapeDtypeStruct((dim,), np.float64)
    param_specs = [jax.ShapeDtypeStruct(s, np.float64) for s in shapes]

    def step(leaves, x):
        return eqx.combine(jax.tree.unflatten(treedef, leaves), static).step(x)

    closed = jax.make_jaxpr(step)(param_specs, spec)
    out = closed.out_avals
    if len(out) != 1 or tuple(out[0].shape) != (dim,) or out[0].dtype != np.float64:
        return None
    return closed


def _generate(treedef, static, shapes, observable, dim, per_member=False):
    try:
        step_jaxpr = trace_step(treedef, static, shapes, dim)
        if step_jaxpr is None:
            return None
        obs_jaxpr = None
        if observable is not None:
            spec = jax.ShapeDtypeStruct((dim,), np.float64)
            obs_jaxpr = jax.make_jaxpr(lambda x: jax.tree.leaves(observable(x)))(spec)
        src, k = _source(step_jaxpr, obs_jaxpr, shapes, dim, TILE, per_member)
    except Unsupported:
        return None
    except Exception:  # noqa: BLE001 - a trace that fails here fails on the XLA path too
        return None
    fn = compile_kernel(src, _ARGS)
    return None if fn is None else (fn, k)


def iterate_and_sum(m, x, acc, observable, n: int, xla=None):
    """(x_end, acc_end) of `n` steps adding observable(x_k) before each step, or None.

    x: a concrete float64 batch (B, dim) on one CPU device; acc: the running sums, a
    pytree of (B, *shape) float64 arrays matching observable's output.

    Traced (inside jit, vmap or grad; `x` may then be one state (dim,)): given `xla`,
    the caller's XLA kernel `(m, x, acc) -> (x_end, acc_end)`, the kernel runs as an
    XLA custom call (`ffi.py`) with a batching rule that hands a vmapped batch to the
    tiled kernel, and derivatives computed by `xla`; without `xla`, None.
    """
    return _run(m, x, acc, observable, n, xla)


def iterate(m, x, n: int, xla=None):
    """The batch x after `n` steps, or None (see `iterate_and_sum`; `xla`: `(m, x) ->
    x_end`)."""
    wrapped = None if xla is None else (lambda m, x, acc: (xla(m, x), acc))
    out = _run(m, x, None, None, n, wrapped)
    return None if out is None else out[0]


def _run(m, x, acc, observable, n, xla=None):
    """`iterate_and_sum` (acc and observable None: `iterate`), or None."""
    if not enabled() or jax.default_backend() != "cpu" or n <= 0:
        return None
    traced = any(isinstance(leaf, Tracer) for leaf in [x, *jax.tree.leaves(acc)])
    traced = traced or any(isinstance(a, Tracer) for a in jax.tree.leaves(m))
    if traced:
        return None if xla is None else _traced(m, x, acc, observable, n, xla)
    if not isinstance(x, (jax.Array, np.ndarray)) or x.ndim != 2 or x.dtype != np.float64:
        return None
    if isinstance(x, jax.Array) and len(x.sharding.device_set) > 1:
        return None
    acc_leaves, acc_tree = jax.tree.flatten(acc)
    if any(np.dtype(a.dtype) != np.float64 for a in acc_leaves):
        return None
    B, dim = x.shape
    if B == 0:
        return None
    got = _kernel_for(m, observable, dim)
    if got is None:
        return None
    fn, params, k, _ = got
    if k != sum(int(np.prod(a.shape[1:])) for a in acc_leaves):
        return None
    npad = -(-B // TILE) * TILE

    def soa(a):  # (B, ...) -> (rows, npad), padded with copies of the last member
        a = np.asarray(a).reshape(B, -1).T
        out = np.empty((a.shape[0], npad))
        out[:, :B] = a
        out[:, B:] = a[:, B - 1 : B]
        return out

    X = soa(x)
    A = np.ascontiguousarray(np.concatenate([soa(a) for a in acc_leaves])) if k else np.zeros(1)
    # No more threads than tiles: an idle thread still joins the barrier at the end.
    P = np.asarray(params)  # (concrete here: a traced parameter took `_traced`)
    fn(P.ctypes.data, X.ctypes.data, A.ctypes.data, npad, int(n), min(cores(), npad // TILE))
    x_end = jax.numpy.asarray(np.ascontiguousarray(X[:, :B].T))
    sums, row = [], 0
    for a in acc_leaves:
        size = int(np.prod(a.shape[1:]))
        sums.append(
            jax.numpy.asarray(np.ascontiguousarray(A[row : row + size, :B].T).reshape(a.shape))
        )
        row += size
    return x_end, jax.tree.unflatten(acc_tree, sums)


def _traced(m, x, acc, observable, n, xla):
    """`iterate_and_sum` of traced values as an XLA custom call, or None."""
    from . import ffi

    if jax.device_count() > 1 or x.ndim not in (1, 2) or x.dtype != np.float64:
        return None  # (several devices: the batch may be sharded; the SPMD path runs)
    acc_leaves, acc_tree = jax.tree.flatten(acc)
    if any(np.dtype(a.dtype) != np.float64 for a in acc_leaves):
        return None
    single = x.ndim == 1
    dim = x.shape[-1]
    got = _kernel_for(m, observable, dim, traced=True)
    if got is None:
        return None
    fn, P, k, (treedef, static, shapes) = got
    lead = 0 if single else 1
    if k != sum(int(np.prod(a.shape[lead:])) for a in acc_leaves):
        return None
    name = ffi.register(fn)
    if name is None:
        return None
    jnp = jax.numpy
    sizes = [int(np.prod(s, dtype=int)) for s in shapes]
    offsets = np.cumsum([0, *sizes])

    def unflat(P, x2, A2):  # the caller's (m, x, acc) from the kernel's flat arrays
        leaves = [P[o : o + z].reshape(s) for o, z, s in zip(offsets, sizes, shapes, strict=False)]
        mm = eqx.combine(jax.tree.unflatten(treedef, leaves), static)
        sums, row = [], 0
        for a in acc_leaves:
            size = int(np.prod(a.shape[lead:]))
            shape = a.shape[lead:] if single else (x2.shape[0], *a.shape[1:])
            sums.append(A2[:, row : row + size].reshape(shape))
            row += size
        return mm, (x2[0] if single else x2), jax.tree.unflatten(acc_tree, sums)

    def flat_acc(accs, B):
        leaves = jax.tree.leaves(accs)
        if not leaves:
            return jnp.zeros((B, 0))
        return jnp.concatenate([a.reshape(B, -1) for a in leaves], axis=1)

    def xla_flat(P, x2, A2):
        mm, xx, aa = unflat(P, x2, A2)
        x_end, acc_end = xla(mm, xx, aa)
        return x_end.reshape(x2.shape), flat_acc(acc_end, x2.shape[0])

    split = kernel_parameters(m, observable, dim, traced=True)
    key = None if split is None else split[4]

    def per_member_name():  # the kernel for a vmapped parameter, made when first needed
        entry = cached(
            _kernels,
            None if key is None else (*key, True),
            lambda: _generate(treedef, static, shapes, observable, dim, True),
        )
        return None if entry is None else ffi.register(entry[0])

    op = _ffi_op(ffi, name, int(n), k, xla_flat, per_member_name)
    x2 = x.reshape(1, dim) if single else x
    A2 = flat_acc(acc, x2.shape[0])
    x_end, A_end = op(jnp.asarray(P), x2, A2)
    _, x_end, acc_end = unflat(jnp.asarray(P), x_end, A_end)
    return x_end, acc_end


def _ffi_op(ffi, name: str, n: int, k: int, xla_flat, per_member_name):
    """(P, x (B, dim), A (B, k)) -> (x_end, A_end): the custom call, batched by merging
    vmapped axes into the batch (a vmapped P: the kernel with one parameter vector per
    trajectory), differentiated through `xla_flat`."""
    jnp = jax.numpy

    def apply(kernel, P, x, A, per_member):
        B = x.shape[0]
        npad = -(-B // TILE) * TILE

        A_in = soa_tiles(A, npad) if k else jnp.zeros((1, 1))
        threads = min(cores(), npad // TILE)
        X_end, A_end = ffi.sum_call(
            kernel, soa_tiles(P, npad) if per_member else P, soa_tiles(x, npad), A_in, n, threads
        )
        return X_end[:, :B].T, (A_end[:, :B].T if k else A)

    def fold(V, in_batched, x, A):  # (V, B, c) (or unbatched (B, c)) -> (V * B, c)
        x = x if in_batched[1] else jnp.broadcast_to(x, (V, *x.shape))
        A = A if in_batched[2] else jnp.broadcast_to(A, (V, *A.shape))
        B = x.shape[1]
        return x.reshape(V * B, x.shape[-1]), A.reshape(V * B, A.shape[-1]), B

    def unfold(V, B, x_end, A_end):
        return (x_end.reshape(V, B, -1), A_end.reshape(V, B, A_end.shape[-1])), (True, True)

    pm_name: list = [None]

    @jax.custom_batching.custom_vmap
    def batched(P, x, A):
        return apply(name, P, x, A, False)

    @jax.custom_batching.custom_vmap
    def batched_pm(P, x, A):  # P: (B, nP), one parameter vector per trajectory
        return apply(pm_name[0], P, x, A, True)

    @batched.def_vmap
    def _rule(axis_size, in_batched, P, x, A):
        xm, Am, B = fold(axis_size, in_batched, x, A)
        if not in_batched[0]:
            return unfold(axis_size, B, *batched(P, xm, Am))
        pm_name[0] = pm_name[0] or per_member_name()
        if pm_name[0] is None:  # no such kernel: the XLA kernel, vmapped
            axes = tuple(0 if b else None for b in in_batched)
            return jax.vmap(xla_flat, in_axes=axes)(P, x, A), (True, True)
        Pm = jnp.broadcast_to(P[:, None, :], (axis_size, B, P.shape[-1]))
        return unfold(axis_size, B, *batched_pm(Pm.reshape(axis_size * B, -1), xm, Am))

    @batched_pm.def_vmap
    def _rule_pm(axis_size, in_batched, P, x, A):
        xm, Am, B = fold(axis_size, in_batched, x, A)
        P = P if in_batched[0] else jnp.broadcast_to(P, (axis_size, *P.shape))
        return unfold(axis_size, B, *batched_pm(P.reshape(axis_size * B, -1), xm, Am))

    @jax.custom_jvp
    def op(P, x, A):
        return batched(P, x, A)

    @op.defjvp
    def _jvp(primals, tangents):
        ffi.grad_notice()
        return jax.jvp(xla_flat, primals, tangents)

    return op
