"""Stored orbits in generated C: a transient, then every `save_every`-th state kept.

The loop of `cj.trajectory` and of a map's orbit diagram: `transient` steps, then
`n_saves` blocks of `save_every` steps, the state after each block written to the
output (and, with `with_start`, the state after the transient first). Three kernels
share one signature:

- "single": one orbit, its state in registers (the speed is the latency of a step);
- "batch": members in tiles of `TILE` lanes (`omp simd`), as the time-average kernel
  (`simulate.py`), each core taking one run of consecutive tiles (OpenMP, static);
- "member": the same with one parameter vector per member (a vmapped parameter: the
  values of an orbit diagram), read from a structure-of-arrays tile like the state.

The output rows are written straight into the caller's layout (member, row, dim), so
nothing is transposed after the run: the batched kernels buffer a block of saves per
tile and write it out in 8 x 8 blocks turned by vector shuffles (`_PUT8X8`). Beside
them each kernel counts, per member, the saved states that are finite before the first
non-finite one (none when the state after the transient is not finite): the orbit
diagram's `counts`.

Eager and traced calls both run as an XLA custom call (`ffi.store_call`): an eager
call goes through a jitted function cached per kernel and shape, which costs less
than handing a NumPy result to JAX. Derivatives: the caller's XLA kernel (`xla=`),
with the one notice of `ffi.grad_notice`.
"""

from __future__ import annotations

import ctypes
import math
from typing import Any

import equinox as eqx
import jax
import numpy as np
from jax.core import Tracer

from .codegen import (
    HEADER,
    LANES_TYPEDEF,
    LINE,
    MAX_LINES,
    Emitter,
    Unsupported,
    binary,
    c_expr,
    eval_closed,
    in_lanes,
    kernel_parameters,
    lane_value,
    scalar_names,
    tree_sum,
)
from .compile import cached, compile_kernel, cores, enabled
from .simulate import _MAX_TILE_BYTES, TILE, soa_tiles, trace_step

_ARGS = [
    ctypes.c_void_p,  # P: parameters ((n_params,), or (n_params, npad) per member)
    ctypes.c_void_p,  # X: states (dim, npad) structure-of-arrays; in and out
    ctypes.c_void_p,  # Y: saved states, member j's row r at Y[j * ystride + r * dim]
    ctypes.c_void_p,  # C: per member, finite saved states before the first non-finite
    ctypes.c_int64,  # npad: the batch padded to whole tiles (1 for "single")
    ctypes.c_int64,  # n: the members written (<= npad)
    ctypes.c_int64,  # transient
    ctypes.c_int64,  # n_saves
    ctypes.c_int64,  # save_every
    ctypes.c_int64,  # ystride: doubles between members in Y
    ctypes.c_int64,  # with_start: row 0 is the state after the transient
    ctypes.c_int,  # threads
]

_SIGNATURE = (
    "void cj_kernel(const double *restrict P, double *restrict X, double *restrict Y, "
    "double *restrict C, int64_t npad, int64_t n, int64_t transient, int64_t nsaves, "
    "int64_t save_every, int64_t ystride, int64_t with_start, int nthreads)"
)

#: The structure-of-arrays buffer of saved states per tile (`_save_block`).
_SAVE_BUFFER_BYTES = 16 * 1024

# Eight rows of eight doubles (`src`, rows `sstride` apart) written transposed: row q of
# `dst` (rows `dstride` apart) gets column q. Three rounds of two-vector shuffles (pairs,
# quads, halves: 24 shuffles for 64 values); a plain loop where the compiler has no
# `__builtin_shufflevector` (clang, GCC 12 and later have it).
_PUT8X8 = """\
#if defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 12)
typedef double cj_v8 __attribute__((vector_size(64)));
static inline void cj_put8x8(const double *src, int64_t sstride, double *dst, int64_t dstride)
{
    cj_v8 a[8], b[8], c[8], d[8];
    for (int i = 0; i < 8; ++i) memcpy(&a[i], src + i * sstride, sizeof(cj_v8));
    for (int i = 0; i < 8; i += 2) {
        b[i] = __builtin_shufflevector(a[i], a[i + 1], 0, 8, 2, 10, 4, 12, 6, 14);
        b[i + 1] = __builtin_shufflevector(a[i], a[i + 1], 1, 9, 3, 11, 5, 13, 7, 15);
    }
    for (int i = 0; i < 8; i += 4)
        for (int h = i; h < i + 2; ++h) {
            c[h] = __builtin_shufflevector(b[h], b[h + 2], 0, 1, 8, 9, 4, 5, 12, 13);
            c[h + 2] = __builtin_shufflevector(b[h], b[h + 2], 2, 3, 10, 11, 6, 7, 14, 15);
        }
    for (int q = 0; q < 4; ++q) {
        d[q] = __builtin_shufflevector(c[q], c[q + 4], 0, 1, 2, 3, 8, 9, 10, 11);
        d[q + 4] = __builtin_shufflevector(c[q], c[q + 4], 4, 5, 6, 7, 12, 13, 14, 15);
    }
    for (int q = 0; q < 8; ++q) memcpy(dst + q * dstride, &d[q], sizeof(cj_v8));
}
#else
static inline void cj_put8x8(const double *src, int64_t sstride, double *dst, int64_t dstride)
{
    for (int q = 0; q < 8; ++q)
        for (int i = 0; i < 8; ++i) dst[q * dstride + i] = src[i * sstride + q];
}
#endif
"""

_kernels: dict[Any, Any] = {}
_calls: dict[Any, Any] = {}
_fast: dict[Any, Any] = {}


def _finite(names) -> str:
    """C: all `names` finite, 1 or 0."""
    return "(" + (" && ".join(f"(isfinite({n}) != 0)" for n in names) or "1") + ")"


def _source(step_jaxpr, shapes, dim: int, mode: str, tile: int) -> str:
    """C source of the store kernel of `mode` ("single", "batch" or "member")."""
    (state,), params = scalar_names("s", [(dim,)]), scalar_names("p", shapes)
    n_params = sum(a.size for a in params)
    em = Emitter()
    (new,) = eval_closed(em, step_jaxpr, params + [state])
    new = [c_expr(e, "f") for e in np.ravel(new)]
    rows = dim + (n_params if mode == "member" else 0)
    if len(em.lines) > MAX_LINES or rows * tile * 8 > _MAX_TILE_BYTES:
        raise Unsupported("a step too large for straight-line code")
    if mode == "single":
        return _single_source(em.lines, new, dim, n_params)
    ind = " " * 16
    xs = [f"x{i}[j]" for i in range(dim)]
    src = [
        HEADER,
        _PUT8X8,
        f"#define T {tile}",
        "",
        _SIGNATURE,
        "{",
        "    (void)npad;",
        "    const int64_t ntiles = npad / T;",
        # Each thread takes one run of consecutive tiles (every tile costs the same):
        # the output is the bound, and tiles handed out one at a time, so that the two
        # threads wrote neighbouring 0.5 MB blocks, made an orbit diagram's kernel up to
        # 1.6x slower (10,000 x 1,000 points into written memory: 3.4-4.8 ms, now
        # 2.7-3.4; numba's `prange` loop 3.0-3.3, docs/performance.md).
        "    #pragma omp parallel for schedule(static) num_threads(nthreads)",
        "    for (int64_t tile = 0; tile < ntiles; ++tile) {",
        "        const int64_t off = tile * T;",
        "        const int64_t jmax = n - off < T ? n - off : T;",
    ]
    if mode == "member":
        src += [f"        double pb{i}[T] __attribute__((aligned(64)));" for i in range(n_params)]
        src += [
            f"        memcpy(pb{i}, P + {i} * npad + off, sizeof(pb{i}));" for i in range(n_params)
        ]
    else:
        src += [f"        const double p{i} = P[{i}];" for i in range(n_params)]
    src += [f"        double x{i}[T] __attribute__((aligned(64)));" for i in range(dim)]
    src += [f"        memcpy(x{i}, X + {i} * npad + off, sizeof(x{i}));" for i in range(dim)]
    # The saved states of `k` saves go to a structure-of-arrays buffer (vector stores),
    # then out in 8 x 8 blocks turned by shuffles (`cj_put8x8`): a member's k * dim
    # values are consecutive in its row of Y, so each store writes 8 of them, and a
    # tile's 64 rows are each written in runs of k * dim doubles instead of one double
    # per row after every save (as the structure-of-arrays numba loop of
    # benchmarks/_numba_peers.py writes its chunk, there value by value). The finite
    # count runs in the same vector loop (alive and count as 1.0/0.0 and sums).
    k = _save_block(dim, tile)
    rows = k * dim
    src += [
        f"        double buf[{rows}][T] __attribute__((aligned(64)));",
        "        double alive[T] __attribute__((aligned(64)));",
        "        double count[T] __attribute__((aligned(64)));",
    ]

    def steps(count: str, indent: str = "") -> list[str]:
        body = [
            f"        for (int64_t e = 0; e < {count}; ++e) {{",
            "            #pragma omp simd",
            "            for (int j = 0; j < T; ++j) {",
        ]
        if mode == "member":
            body += [f"{ind}const double p{i} = pb{i}[j];" for i in range(n_params)]
        body += [f"{ind}const double s{i} = x{i}[j];" for i in range(dim)]
        body += [ind + line for line in em.lines]
        body += [f"{ind}x{i}[j] = {e};" for i, e in enumerate(new)]
        return [indent + line for line in body + ["            }", "        }"]]

    finite = " & ".join(f"isfinite({x})" for x in xs)
    src += steps("transient")
    src += [
        "        #pragma omp simd",
        "        for (int j = 0; j < T; ++j) {",
        f"            alive[j] = ({finite}) ? 1.0 : 0.0;",
        "            count[j] = 0.0;",
        "        }",
        "        if (with_start)",
        "            for (int j = 0; j < jmax; ++j) {",
        "                double *y = Y + (off + j) * ystride;",
    ]
    src += [f"                y[{i}] = x{i}[j];" for i in range(dim)]
    src += [
        "            }",
        f"        for (int64_t k0 = 0; k0 < nsaves; k0 += {k}) {{",
        f"            const int64_t kb = nsaves - k0 < {k} ? nsaves - k0 : {k};",
        "            for (int64_t b = 0; b < kb; ++b) {",
    ]
    src += steps("save_every", "        ")
    src += ["                #pragma omp simd", "                for (int j = 0; j < T; ++j) {"]
    src += [f"                    buf[b * {dim} + {i}][j] = x{i}[j];" for i in range(dim)]
    src += [
        f"                    alive[j] = ({finite}) ? alive[j] : 0.0;",
        "                    count[j] += alive[j];",
        "                }",
        "            }",
        f"            const int64_t nr = kb * {dim};",
        f"            double *y0 = Y + off * ystride + (k0 + with_start) * {dim};",
        "            int j0 = 0;",
        "            for (; j0 + 8 <= jmax; j0 += 8) {",
        "                int64_t r0 = 0;",
        "                for (; r0 + 8 <= nr; r0 += 8)",
        "                    cj_put8x8(&buf[r0][j0], T, y0 + j0 * ystride + r0, ystride);",
        "                for (int j = j0; j < j0 + 8; ++j)",
        "                    for (int64_t r = r0; r < nr; ++r) y0[j * ystride + r] = buf[r][j];",
        "            }",
        "            for (int j = j0; j < jmax; ++j)",
        "                for (int64_t r = 0; r < nr; ++r) y0[j * ystride + r] = buf[r][j];",
        "        }",
        "        for (int j = 0; j < jmax; ++j) C[off + j] = count[j];",
    ]
    src += [f"        memcpy(X + {i} * npad + off, x{i}, sizeof(x{i}));" for i in range(dim)]
    src += ["    }", "}", ""]
    return "\n".join(src)


def _save_block(dim: int, tile: int) -> int:
    """The saves buffered per tile: about 16 KiB of buffer (in L1), in whole 8-row groups
    of `cj_put8x8` where that takes at most 64 KiB, else as many as fit (at least one)."""
    rows = max(8, _SAVE_BUFFER_BYTES // (8 * tile))
    unit = 8 // math.gcd(dim, 8)  # saves per whole number of 8-row groups
    k = (rows // dim) // unit * unit
    if k == 0:
        k = unit if unit * dim * tile * 8 <= 4 * _SAVE_BUFFER_BYTES else max(1, rows // dim)
    return k


def _increments(lines, new) -> bool:
    """Whether every new state component is the old one plus or minus something
    (`s_i + ...`, as an explicit Runge-Kutta or Euler step writes it): then a
    non-finite component stays non-finite (NaN + y is NaN, inf + y is inf or NaN, also
    fused into a multiply-add), so the orbit is finite up to its end exactly when its
    end state is."""
    defined = {m.group(2): m.group(3) for m in map(LINE.match, lines) if m is not None}
    for i, e in enumerate(new):
        b = binary(defined.get(e, ""))
        if b is None or b[1] == "*" or f"s{i}" not in (b[0], b[2] if b[1] == "+" else None):
            return False
    return True


def _single_source(lines, new, dim: int, n_params: int) -> str:
    """One orbit: the state in registers, every step's scalars local to the loop body,
    as `cj_f2` vectors (`in_lanes`: no latency in register copies)."""
    ind = " " * 8
    sticky = _increments(lines, new)
    lanes = {f"s{i}" for i in range(dim)} | {f"p{i}" for i in range(n_params)}
    lines = in_lanes(lines, lanes)
    xs = [f"x{i}[0]" for i in range(dim)]

    def steps(count: str, indent: str) -> list[str]:
        body = [f"{indent}for (int64_t e = 0; e < {count}; ++e) {{"]
        body += [f"{indent}    const cj_f2 s{i} = x{i};" for i in range(dim)]
        body += [indent + "    " + line for line in lines]
        body += [
            f"{indent}    const cj_f2 n{i} = {lane_value(e, lanes)};" for i, e in enumerate(new)
        ]
        body += [f"{indent}    x{i} = n{i};" for i in range(dim)]
        return body + [f"{indent}}}"]

    src = [HEADER, LANES_TYPEDEF, "", _SIGNATURE, "{"]
    src += ["    (void)npad; (void)n; (void)ystride; (void)nthreads;"]
    src += [f"    const cj_f2 p{i} = {{P[{i}], P[{i}]}};" for i in range(n_params)]
    src += [f"    cj_f2 x{i} = {{X[{i}], X[{i}]}};" for i in range(dim)]
    src += steps("transient", "    ")
    src += [f"    const int64_t alive = {_finite(xs)};"]
    src += ["    if (with_start) {"]
    src += [f"        Y[{i}] = {x};" for i, x in enumerate(xs)]
    src += ["        Y += " + f"{dim};", "    }"]
    # x - x is 0 for a finite x and NaN otherwise: `bad` stays 0 while every saved state
    # is finite and is NaN from the first non-finite one on. Vector arithmetic off the
    # step's chain, cheaper than a comparison per number; the count of finite saves is
    # then only searched for when one was not (a rare run).
    # A step that increments the state (`_increments`) needs no sum: a non-finite
    # saved state leaves the end state non-finite.
    diffs = tree_sum([f"(x{i} - x{i})" for i in range(dim)])
    src += ["    double *const Ys = Y;", "    cj_f2 bad = {0.0, 0.0};"]
    src += ["    for (int64_t s = 0; s < nsaves; ++s) {"]
    src += steps("save_every", ind)
    src += [f"        Y[{i}] = {x};" for i, x in enumerate(xs)]
    src += [f"        Y += {dim};"] + ([] if sticky else [f"        bad += {diffs};"]) + ["    }"]
    if sticky:
        src += [f"    bad += {diffs};"]
    row = [f"Ys[count * {dim} + {i}]" for i in range(dim)]
    src += [
        "    int64_t count = alive ? nsaves : 0;",
        "    if (alive && bad[0] != 0.0) {",
        "        count = 0;",
        f"        while (count < nsaves && {_finite(row)}) ++count;",
        "    }",
    ]
    src += ["    C[0] = (double)count;"]
    src += [f"    X[{i}] = {x};" for i, x in enumerate(xs)]
    src += ["}", ""]
    return "\n".join(src)


def _kernel_for(m, dim: int, mode: str):
    """(fn, (treedef, static, shapes)) of the store kernel of `mode` for this map's
    structure, or None."""
    split = kernel_parameters(m, "store", dim, traced=True)
    if split is None:
        return None
    treedef, static, shapes, _, key = split
    entry = cached(
        _kernels,
        None if key is None else (*key, mode),
        lambda: _generate(treedef, static, shapes, dim, mode),
    )
    return None if entry is None else (entry, (treedef, static, tuple(shapes)))


def _structure(m) -> tuple[Any, list]:
    """(a hashable key of the map's structure and static leaves, or None; its array
    leaves): one flatten, cheaper than `eqx.partition` on every call."""
    leaves, treedef = jax.tree.flatten(m)
    mask = tuple(eqx.is_array(a) for a in leaves)
    arrays = [a for a, is_array in zip(leaves, mask, strict=True) if is_array]
    key = (
        treedef,
        mask,
        tuple(a for a, is_array in zip(leaves, mask, strict=True) if not is_array),
    )
    try:
        hash(key)
    except TypeError:
        key = None
    return key, arrays


def _generate(treedef, static, shapes, dim, mode):
    try:
        step_jaxpr = trace_step(treedef, static, shapes, dim)
        if step_jaxpr is None:
            return None
        src = _source(step_jaxpr, shapes, dim, mode, TILE)
    except Unsupported:
        return None
    except Exception:  # noqa: BLE001 - a trace that fails here fails on the XLA path too
        return None
    return compile_kernel(src, _ARGS)


def store(
    m, x, transient: int, n_saves: int, save_every: int, *, with_start=True, xla=None, keep=None,
    check=0, end_only=False,
):  # fmt: skip
    """(x_end, saved, counts) of a stored orbit, or None (the caller runs `xla`).

    `x`: one state (dim,) or a batch (B, dim), float64, concrete or traced. `saved`:
    (n_saves + with_start, dim), or (B, ..., dim): the state after `transient` steps
    (with `with_start`) and after each further block of `save_every` steps. `counts`
    (float64, () or (B,)): the saved states after the transient that are finite before
    the first non-finite one (0 when the state after the transient is not).

    `xla(m, x, transient, n_saves, save_every) -> (x_end, saved_with_start)` for one
    state (dim,): the caller's XLA kernel (a module-level function: eager calls are
    cached by it), which computes derivatives (`jax.custom_jvp`) and vmaps over
    parameters when no per-member kernel can be made. Required: without it, None.
    `keep`, given, is called with the compiled eager call and `m`'s array leaves (what
    it takes first) when an eager call ran.

    `check` (an eager run of one state): 1, the kernel fails on a non-finite starting
    state; 2, also on a non-finite saved or end state. A run that passes returns
    (None, saved, None), or (x_end, None, None) with `end_only` (one output, a cheaper
    call); one that fails is run again unchecked, with all three. The call given to
    `keep` is the checked one, `fn(leaves, x) -> saved` (or `x_end`), which raises
    (`ffi.failed_check`) instead of returning such states, so that a caller may skip
    reading them back.
    """
    if xla is None or not enabled() or jax.default_backend() != "cpu":
        return None
    if n_saves < 0 or transient < 0 or save_every < 1 or n_saves + transient == 0:
        return None
    if x.ndim not in (1, 2) or x.dtype != np.float64 or jax.device_count() > 1:
        return None
    if not isinstance(x, Tracer) and isinstance(x, jax.Array):
        if len(x.sharding.device_set) > 1:
            return None
    dim = x.shape[-1]
    if x.ndim == 2 and x.shape[0] == 0:
        return None
    mode = "single" if x.ndim == 1 else "batch"
    key, arrays = _structure(m)
    if any(a.dtype != np.float64 for a in arrays):
        return None
    fast = _fast.get((key, dim, mode)) if key is not None else None
    if fast is None:
        from . import ffi

        got = _kernel_for(m, dim, mode)
        name = None if got is None else ffi.register(got[0])
        fast = (name, None if got is None else got[1])
        if key is not None:
            if len(_fast) >= 256:
                _fast.clear()
            _fast[(key, dim, mode)] = fast
    name, structure = fast
    if name is None or structure is None:
        return None
    spec = (*structure, dim, transient, n_saves, save_every, bool(with_start))
    traced = isinstance(x, Tracer) or any(isinstance(a, Tracer) for a in arrays)
    if traced:
        return _op(spec, name, xla, mode)(_flat(arrays), x)
    # Eager: the same custom call under a jit cached per kernel, shapes, `xla` and
    # check, on the parameter vector made on the host (NumPy: no dispatch).
    check = check if mode == "single" else 0
    P = _host_flat(arrays)
    part = (0 if end_only else 1) if check else None
    call = _eager(spec, name, xla, mode, x.shape, check, part)
    try:
        out = call(P, x)
        if part is not None:
            one = out.block_until_ready()
            out = (one, None, None) if part == 0 else (None, one, None)
    except (jax.errors.JaxRuntimeError, ValueError) as e:
        from . import ffi

        if not (check and ffi.failed_check(e)):
            raise
        out = _eager(spec, name, xla, mode, x.shape, 0, None)(P, x)
    if keep is not None:
        keep(_with_parameters(call, arrays, P), arrays)
    return out


def _eager(spec, name: str, xla, mode: str, shape: tuple, check: int, part: int | None):
    """The compiled eager call (P, x) -> (x_end, saved, counts), or only output `part`
    of them, cached per kernel, settings, shape, `xla`, `check` and `part`."""
    ckey = (name, spec[3:], shape, xla, check, part)
    call = _calls.get(ckey)
    if call is None:
        op = _op(spec, name, xla, mode, check)
        call = jax.jit(op if part is None else (lambda P, x: op(P, x)[part]))
        if len(_calls) >= 256:
            _calls.clear()
        _calls[ckey] = call
    return call


def _with_parameters(call, arrays: list, P: np.ndarray):
    """`call` as `fn(leaves, x)`: on `P`, made once into a JAX array at the first call,
    when the leaves are JAX arrays (immutable, so P stays theirs); else on the leaves
    flattened again at each call (a NumPy leaf may change in place)."""
    if not all(isinstance(a, jax.Array) for a in arrays):
        return lambda leaves, x: call(_host_flat(leaves), x)
    made: list = []

    def run(leaves, x):
        if not made:
            made.append(jax.device_put(P))
        return call(made[0], x)

    return run


def _host_flat(arrays) -> np.ndarray:
    """`_flat` of concrete leaves, in NumPy."""
    if not arrays:
        return np.zeros(1)
    return np.concatenate([np.ravel(np.asarray(a, dtype=np.float64)) for a in arrays])


def _flat(arrays):
    """The parameter vector P: the array leaves raveled and joined (one zero if none)."""
    jnp = jax.numpy
    if not arrays:
        return jnp.zeros(1)
    return jnp.concatenate([jnp.ravel(a) for a in arrays])


def _op(spec, name: str, xla, mode: str, check: int = 0):
    """(P, x) -> (x_end, saved, counts): the custom call of the store kernel, batched
    by merging vmapped axes into the batch (a vmapped P: the per-member kernel),
    differentiated through the caller's `xla`; `check` as `store`'s (one state)."""
    from . import ffi

    treedef, static, shapes, dim, transient, n_saves, save_every, with_start = spec
    jnp = jax.numpy
    sizes = [int(np.prod(s, dtype=int)) for s in shapes]
    offsets = np.cumsum([0, *sizes])
    rows = n_saves + (1 if with_start else 0)

    def module(P):
        leaves = [P[o : o + z].reshape(s) for o, z, s in zip(offsets, sizes, shapes, strict=False)]
        return eqx.combine(jax.tree.unflatten(treedef, leaves), static)

    def xla_one(P, x):  # one state: (x_end, saved, counts) on the XLA path
        x_end, saved = xla(module(P), x, transient, n_saves, save_every)
        finite = jnp.all(jnp.isfinite(saved), axis=-1)
        alive = jnp.cumprod(finite[1:].astype(np.int64)) * finite[0].astype(np.int64)
        return x_end, (saved if with_start else saved[1:]), jnp.sum(alive).astype(np.float64)

    def xla_flat(P, x):
        if x.ndim == 1:
            return xla_one(P, x)
        return jax.vmap(xla_one, in_axes=(None if P.ndim == 1 else 0, 0))(P, x)

    names: dict[str, str | None] = {mode: name}

    def kernel(mode):
        if mode not in names:
            got = cached(
                _kernels,
                _kernel_key(treedef, static, dim, mode),
                lambda: _generate(treedef, static, shapes, dim, mode),
            )
            names[mode] = None if got is None else ffi.register(got)
        return names[mode]

    def apply(mode, P, x):  # x (B, dim) (or (dim,) for "single"); P per member for "member"
        name = kernel(mode)
        assert name is not None  # (the rules ask for a kernel only where one was made)
        if mode == "single":
            X = x.reshape(dim, 1)
            X_end, Y, C = ffi.store_call(
                name, P, X, (rows, dim), 1, transient, n_saves, save_every,
                with_start, 1, check,
            )  # fmt: skip
            return X_end.reshape(dim), Y, C.reshape(())
        B = x.shape[0]
        npad = -(-B // TILE) * TILE
        threads = min(cores(), npad // TILE)
        Ps = soa_tiles(P, npad) if mode == "member" else P
        X_end, Y, C = ffi.store_call(
            name, Ps, soa_tiles(x, npad), (B, rows, dim), B,
            transient, n_saves, save_every, with_start, threads,
        )  # fmt: skip
        return X_end[:, :B].T, Y, C

    def unfold(V, B, out):
        x_end, Y, C = out
        return (x_end.reshape(V, B, dim), Y.reshape(V, B, rows, dim), C.reshape(V, B)), (
            (True,) * 3
        )

    @jax.custom_batching.custom_vmap
    def single(P, x):
        return apply("single", P, x)

    @jax.custom_batching.custom_vmap
    def batch(P, x):
        return apply("batch", P, x)

    @jax.custom_batching.custom_vmap
    def member(P, x):  # P: (B, nP), one parameter vector per member
        return apply("member", P, x)

    def members(V, B, P, x):
        """The batch of V x B members with P (V, nP) (one per outer index)."""
        if kernel("member") is None:  # no such kernel: the XLA kernel, vmapped
            return None
        if P.ndim == 2:
            P = jnp.broadcast_to(P[:, None, :], (V, B, P.shape[-1]))
        return member(P.reshape(V * B, -1), x.reshape(V * B, dim))

    @single.def_vmap
    def _single_rule(V, in_batched, P, x):
        x = x if in_batched[1] else jnp.broadcast_to(x, (V, dim))
        if not in_batched[0]:
            if kernel("batch") is None:
                return jax.vmap(xla_one, (None, 0))(P, x), (True,) * 3
            return batch(P, x), (True,) * 3
        if kernel("member") is None:
            return jax.vmap(xla_one)(P, x), (True,) * 3
        return member(P, x), (True,) * 3

    @batch.def_vmap
    def _batch_rule(V, in_batched, P, x):
        x = x if in_batched[1] else jnp.broadcast_to(x, (V, *x.shape))
        B = x.shape[1]
        if not in_batched[0]:
            return unfold(V, B, batch(P, x.reshape(V * B, dim)))
        out = members(V, B, P, x)
        if out is None:
            return jax.vmap(jax.vmap(xla_one, (None, 0)))(P, x), (True,) * 3
        return unfold(V, B, out)

    @member.def_vmap
    def _member_rule(V, in_batched, P, x):
        x = x if in_batched[1] else jnp.broadcast_to(x, (V, *x.shape))
        P = P if in_batched[0] else jnp.broadcast_to(P, (V, *P.shape))
        B = x.shape[1]
        return unfold(V, B, member(P.reshape(V * B, -1), x.reshape(V * B, dim)))

    @jax.custom_jvp
    def op(P, x):
        return single(P, x) if x.ndim == 1 else batch(P, x)

    @op.defjvp
    def _jvp(primals, tangents):
        ffi.grad_notice()
        return jax.jvp(xla_flat, primals, tangents)

    return op


def _kernel_key(treedef, static, dim, mode):
    key = (treedef, jax.tree.flatten(static)[1], tuple(jax.tree.leaves(static)), "store", dim)
    try:
        hash(key)
    except TypeError:
        return None
    return (*key, mode)
