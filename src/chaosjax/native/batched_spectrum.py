"""Benettin's loop for a batch of orbits in generated C, vectorised across members.

A sweep of Lyapunov exponents over parameter values (or over initial states) runs one
orbit per member, each with its own parameters, state and tangent basis. One orbit's
loop is latency-bound (`spectrum.py`); a batch is not: here the push `(x, Q) -> (F(x),
DF(x) Q)` and the raw QR `V -> (Q, diag R^2)` (the same jaxprs as `spectrum.py`,
translated by `codegen.py`) run inside a `#pragma omp simd` loop over a tile of
members stored structure-of-arrays -- parameters too, one vector per member, as the
per-member kernel of `simulate.py` reads them -- with the time loop outside it and the
tiles shared among the cores by OpenMP. For k = 1 the QR is the normalisation of one
tangent vector (the largest exponent); any k <= dim runs the same way (modified
Gram-Schmidt, or the caller's raw QR).

The log-sums are carried as in `spectrum.py`: running products of diag R^2 with their
binary exponents split off each step (bit operations, vectorised; no logarithm in the
loop), logarithms only per history row and per call (`cj_log`, straight-line C that
the member loop vectorises; glibc's `log` would be one call per member). For k = 1 the
tangent map is linear, so the vector is normalised once per `GROUP_PUSHES` pushes (the
same Q and the same product of squared norms as per block); a tile whose squared norm
left [2^-900, 2^900] in a group, in a member still live at its start, runs that group
again block by block, so overflow and underflow are met exactly where the step-by-step
loop meets them. Results equal those of the XLA kernel vmapped to rounding (FMA
contraction, the logarithm of a product instead of a sum of logarithms, a few ulp of
`cj_log`); a member that diverges carries NaN or inf in its own lanes only and is
marked by the caller's rules, member by member.

Entry point: `vmap_rule` (the batching rule of `spectrum._traced`: a primitive, `_batch_p`, lowered
to the custom call `ffi.spectrum_batch_call`, whose own batching rule merges nested
vmaps into the batch and whose dead-code rule drops the history rows where nothing
reads them or the divergence step).
"""

from __future__ import annotations

import ctypes
import functools
from typing import Any

import equinox as eqx
import jax
import numpy as np

from .codegen import (
    HEADER,
    MAX_LINES,
    Emitter,
    Unsupported,
    c_expr,
    eval_closed,
    names_of,
    products_fused,
    scalar_names,
)
from .compile import cached, compile_kernel, cores, enabled
from .simulate import TILE, soa_tiles

_ARGS = [
    ctypes.c_void_p,  # P: parameters, (n_params, npad) structure-of-arrays
    ctypes.c_void_p,  # Y: state, basis, log-sums, (ny, npad); in and out
    ctypes.c_void_p,  # H: history rows, (nrows, k + 1, npad), or NULL
    ctypes.c_int64,  # npad: the batch padded to whole tiles
    ctypes.c_int64,  # nrows: groups of `blocks` blocks, a history row after each
    ctypes.c_int64,  # blocks per row
    ctypes.c_int64,  # pushes per block
    ctypes.c_int,  # threads
]

#: Member-pushes x lines of C per push below which a call runs on one thread: ~1e7 is
#: of the order of 0.1 ms of work, where waking the other threads (microseconds on an
#: idle machine, a time slice on a loaded one) stops paying.
_PARALLEL_WORK = 1e7

#: A tile's rows (parameters, state, basis, sums) beyond this many bytes overflow L1/L2.
_MAX_TILE_BYTES = 256 * 1024

_kernels: dict[Any, Any] = {}

#: For k = 1, pushes between two normalisations of the tangent vector (at least one
#: block of `qr_every`): a Lorenz63 RK4 step at dt = 0.01 changes a norm by at most
#: e^0.05 or so, a logistic-map step by at most a factor 4 -- far from the range that
#: triggers the block-by-block rerun.
GROUP_PUSHES = 16


def rows_of_y(dim: int, k: int) -> int:
    """Rows of Y per member: state, basis (dim x k, row-major), and the log-sums at the
    start of the run (a), the running products (m), their binary exponents (e) and the
    log-sums now, k each."""
    return dim + dim * k + 4 * k


def _split(i: int, g: str, ind: str) -> list[str]:
    """C lines: m_i *= g with its binary exponent moved to e_i (zero, subnormal, inf and
    NaN products left as they are), branch-free so that the member loop vectorises."""
    return [
        f"{ind}{{",
        f"{ind}    double mm = m{i}[l] * ({g});",
        f"{ind}    uint64_t u;",
        f"{ind}    memcpy(&u, &mm, 8);",
        f"{ind}    const int64_t bx = (int64_t)((u >> 52) & 0x7ff);",
        f"{ind}    const int64_t ok = (bx != 0) & (bx != 0x7ff);",
        f"{ind}    e{i}[l] += ok ? bx - 1023 : 0;",
        f"{ind}    u = ok ? ((u & 0x800fffffffffffffULL) | (1023ULL << 52)) : u;",
        f"{ind}    memcpy(&mm, &u, 8);",
        f"{ind}    m{i}[l] = mm;",
        f"{ind}}}",
    ]


#: The natural logarithm in straight-line C that the member loops vectorise (glibc's
#: `log` is a call, one member at a time, and a history row takes one per member): the
#: binary exponent split off, the mantissa reduced to [sqrt(1/2), sqrt(2)), and
#: log f = 2 atanh(s), s = (f - 1) / (f + 1), |s| <= 0.1716, summed to s^25 (terms
#: below 2^-56 of the first); within a few ulp of `log`. Zero, inf, NaN and negative
#: numbers give what `log` gives; subnormal numbers are scaled up first.
LOG_C = r"""
static inline double cj_log(double x)
{
    /* Tests on the bits only: a floating-point comparison may raise a flag, and the
       compiler keeps a branch around one that the source evaluates conditionally,
       which stops the vectorisation of the member loop. */
    uint64_t ux;
    memcpy(&ux, &x, 8);
    const int sub = ((ux >> 52) & 0x7ff) == 0;
    const double y = x * (sub ? 0x1p54 : 1.0);
    uint64_t u;
    memcpy(&u, &y, 8);
    int64_t ex = (int64_t)((u >> 52) & 0x7ff) - (sub ? 1077 : 1023);
    u = (u & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL;
    double f;
    memcpy(&f, &u, 8);
    const int big = (u & 0x000fffffffffffffULL) > 0x6a09e667f3bcdULL;
    f = f * (big ? 0.5 : 1.0);
    ex += big;
    const double s = (f - 1.0) / (f + 1.0);
    const double z = s * s;
    double p = 1.0 / 25.0;
    p = p * z + 1.0 / 23.0;
    p = p * z + 1.0 / 21.0;
    p = p * z + 1.0 / 19.0;
    p = p * z + 1.0 / 17.0;
    p = p * z + 1.0 / 15.0;
    p = p * z + 1.0 / 13.0;
    p = p * z + 1.0 / 11.0;
    p = p * z + 1.0 / 9.0;
    p = p * z + 1.0 / 7.0;
    p = p * z + 1.0 / 5.0;
    p = p * z + 1.0 / 3.0;
    const double lf = 2.0 * s + 2.0 * s * (z * p);
    const double de = (double)ex;
    const double r = de * 0x1.62e42feep-1 + (lf + de * 0x1.a39ef35793c76p-33);
    const int zero = (ux << 1) == 0, neg = (ux >> 63) != 0;
    const int ok = !zero & !neg & (((ux >> 52) & 0x7ff) != 0x7ff);
    const double special = zero ? -INFINITY : (neg ? NAN : x); /* x: inf or NaN */
    /* A blend of the bits: with a select the compiler would move r's arithmetic
       (a division, which may raise a flag) under a branch. */
    const uint64_t mask = (uint64_t)0 - (uint64_t)ok;
    uint64_t ur, us;
    memcpy(&ur, &r, 8);
    memcpy(&us, &special, 8);
    ur = (ur & mask) | (us & ~mask);
    double out;
    memcpy(&out, &ur, 8);
    return out;
}
"""


#: Linux: an OpenMP worker woken onto its master's CPU moves off it for the region.
#: After a pause, or when the master thread differs from the last call's (XLA runs a
#: custom call on one of its own threads; numba's and others' parallel regions have
#: theirs), the scheduler may place a woken worker on the master's CPU, where the two
#: share one core until the load balancer moves one of them (milliseconds: on two
#: cores, Lorenz63 over 10,000 members took 23-33 ms instead of 18.5 in one of two
#: calls). The worker's affinity is restored at the end of the region.
SPREAD_C = r"""
#if defined(__linux__) && defined(_OPENMP)
#include <omp.h>
#include <sched.h>
#define CJ_SPREAD 1
static int cj_spread(int master_cpu, cpu_set_t *saved)
{
    if (omp_get_thread_num() == 0 || master_cpu < 0 || sched_getcpu() != master_cpu) return 0;
    if (sched_getaffinity(0, sizeof(*saved), saved) != 0) return 0;
    cpu_set_t other = *saved;
    CPU_CLR(master_cpu, &other);
    if (CPU_COUNT(&other) == 0) return 0;
    return sched_setaffinity(0, sizeof(other), &other) == 0;
}
#endif
"""


def _sum(i: int) -> str:
    return f"a{i}[l] + 0.5 * (cj_log(m{i}[l]) + (double)e{i}[l] * 0.69314718055994530942)"


def _source(push_jaxpr, qr_jaxpr, shapes, dim: int, k: int, tile: int) -> str:
    em = Emitter()
    params = scalar_names("p", shapes)
    n_params = sum(int(np.prod(shape, dtype=int)) for shape in shapes)
    s_in, v_in = scalar_names("s", [(dim,)])[0], scalar_names("v", [(dim, k)])[0]
    x_new, V_new = eval_closed(em, push_jaxpr, params + [s_in, v_in])
    push_lines = products_fused(em.lines, names_of(v_in), names_of(x_new, V_new))
    em.lines = []
    Q_new, g = eval_closed(em, qr_jaxpr, [scalar_names("w", [(dim, k)])[0]])
    qr_lines = em.lines
    if len(push_lines) + len(qr_lines) > MAX_LINES:
        raise Unsupported("a step too large for straight-line code")
    nq = dim * k
    ny = rows_of_y(dim, k)
    snapshot = dim + nq + 1 if k == 1 else 0
    if (ny + n_params + snapshot) * tile * 8 > _MAX_TILE_BYTES:
        raise Unsupported("a tile too large for the cache")
    f = lambda e: c_expr(e, "f")  # noqa: E731
    x_new, V_new = np.ravel(x_new), np.ravel(V_new)
    Q_new, g = np.ravel(Q_new), np.ravel(g)
    o = dim + nq
    i2, i3, i4 = " " * 8, " " * 12, " " * 16
    al = "__attribute__((aligned(64)))"

    def load_push(ind: str) -> list[str]:
        out = [f"{ind}const double p{i} = pb{i}[l];" for i in range(n_params)]
        out += [f"{ind}const double s{i} = x{i}[l];" for i in range(dim)]
        out += [f"{ind}const double v{i} = q{i}[l];" for i in range(nq)]
        return out + [ind + line for line in push_lines]

    src = [
        "#define _GNU_SOURCE",  # sched_getcpu, CPU_CLR (SPREAD_C); before any header
        HEADER,
        LOG_C,
        SPREAD_C,
        f"#define T {tile}",
        "",
        # gcc's unroll-and-jam would run two pushes of a small map in one pass and fuse
        # a product of one push into an addition of the next (FMA contraction across
        # pushes): other roundings than one push at a time, which chaos amplifies.
        "#if defined(__GNUC__) && !defined(__clang__)",
        '__attribute__((optimize("no-loop-unroll-and-jam")))',
        "#endif",
        "void cj_kernel(const double *restrict P, double *restrict Y, double *restrict H, "
        "int64_t npad, int64_t nrows, int64_t nblocks, int64_t blen, int nthreads)",
        "{",
        "    const int64_t ntiles = npad / T;",
        # A call too short to pay for waking the other threads (one history row of a
        # small map) runs on the caller's thread alone.
        f"    const int par = (double)npad * (double)(nrows * nblocks * blen)"
        f" * {len(push_lines) + 1}.0"
        f" >= {_PARALLEL_WORK:.1e};",
        "#ifdef CJ_SPREAD",
        "    const int master_cpu = sched_getcpu();",
        "#endif",
        "    #pragma omp parallel num_threads(nthreads) if(par)",
        "    {",
        "#ifdef CJ_SPREAD",
        "    cpu_set_t saved;",
        "    const int moved = cj_spread(master_cpu, &saved);",
        "#endif",
        "    #pragma omp for schedule(dynamic, 1)",
        "    for (int64_t tile = 0; tile < ntiles; ++tile) {",
        "        const int64_t off = tile * T;",
    ]
    src += [f"{i2}double pb{i}[T] {al};" for i in range(n_params)]
    src += [f"{i2}memcpy(pb{i}, P + {i} * npad + off, sizeof(pb{i}));" for i in range(n_params)]
    src += [f"{i2}double x{i}[T] {al};" for i in range(dim)]
    src += [f"{i2}double q{i}[T] {al};" for i in range(nq)]
    src += [f"{i2}double a{i}[T] {al};" for i in range(k)]
    src += [f"{i2}double m{i}[T] {al};" for i in range(k)]
    src += [f"{i2}int64_t e{i}[T] {al};" for i in range(k)]
    src += [f"{i2}memcpy(x{i}, Y + {i} * npad + off, sizeof(x{i}));" for i in range(dim)]
    src += [f"{i2}memcpy(q{i}, Y + {dim + i} * npad + off, sizeof(q{i}));" for i in range(nq)]
    src += [f"{i2}memcpy(a{i}, Y + {o + i} * npad + off, sizeof(a{i}));" for i in range(k)]
    src += [f"{i2}memcpy(m{i}, Y + {o + k + i} * npad + off, sizeof(m{i}));" for i in range(k)]
    src += [f"{i2}for (int l = 0; l < T; ++l) {{"]
    src += [f"{i3}e{i}[l] = (int64_t)Y[{o + 2 * k + i} * npad + off + l];" for i in range(k)]
    src += [f"{i2}}}"]

    def block(ind: str) -> list[str]:
        """One block at indentation `ind`: blen - 1 pushes alone, then the last push with
        the QR and the products, in registers."""
        d = " " * 4
        out = [
            f"{ind}for (int64_t j = 1; j < blen; ++j) {{",
            f"{ind}{d}#pragma omp simd",
            f"{ind}{d}for (int l = 0; l < T; ++l) {{",
        ]
        out += load_push(ind + d * 2)
        out += [f"{ind}{d * 2}x{i}[l] = {f(e)};" for i, e in enumerate(x_new)]
        out += [f"{ind}{d * 2}q{i}[l] = {f(e)};" for i, e in enumerate(V_new)]
        out += [f"{ind}{d}}}", f"{ind}}}", f"{ind}#pragma omp simd"]
        out += [f"{ind}for (int l = 0; l < T; ++l) {{"]
        out += load_push(ind + d)
        out += [f"{ind}{d}x{i}[l] = {f(e)};" for i, e in enumerate(x_new)]
        out += [f"{ind}{d}const double w{i} = {f(e)};" for i, e in enumerate(V_new)]
        out += [ind + d + line for line in qr_lines]
        out += [f"{ind}{d}q{i}[l] = {f(e)};" for i, e in enumerate(Q_new)]
        for i, e in enumerate(g):
            out += _split(i, f(e), ind + d)
        return out + [f"{ind}}}"]

    rb: list[str] = []  # one history row: `nblocks` blocks, then its log-sums
    if k != 1:
        rb += ["        for (int64_t b = 0; b < nblocks; ++b) {"]
        rb += block(i3)
        rb += ["        }"]
    else:
        # One vector: the tangent map is linear, so `gq` blocks pushed without the
        # normalisation in between and normalised once give the same Q and the same
        # product of squared norms. A tile whose squared norm left the safe range in a
        # group, in a member still finite at its start (overflow, underflow, a zero
        # vector: anything the step-by-step loop could see otherwise), runs the group
        # again from its start block by block.
        i5 = " " * 20
        src += [
            f"{i2}const int64_t gq = blen >= {GROUP_PUSHES} ? 1 : {GROUP_PUSHES} / blen;",
            f"{i2}double gg[T] {al};",
        ]
        src += [f"{i2}double xs{i}[T] {al};" for i in range(dim)]
        src += [f"{i2}double qs{i}[T] {al};" for i in range(nq)]
        # The groups start afresh in every row (the row's end is a group's end).
        rb += [
            f"{i2}for (int64_t b = 0; b < nblocks; b += gq) {{",
            f"{i3}const int64_t nb = nblocks - b < gq ? nblocks - b : gq;",
        ]
        rb += [f"{i3}memcpy(xs{i}, x{i}, sizeof(x{i}));" for i in range(dim)]
        rb += [f"{i3}memcpy(qs{i}, q{i}, sizeof(q{i}));" for i in range(nq)]
        rb += [
            f"{i3}for (int64_t j = 1; j < nb * blen; ++j) {{",
            f"{i4}#pragma omp simd",
            f"{i4}for (int l = 0; l < T; ++l) {{",
        ]
        rb += load_push(i5)
        rb += [f"{i5}x{i}[l] = {f(e)};" for i, e in enumerate(x_new)]
        rb += [f"{i5}q{i}[l] = {f(e)};" for i, e in enumerate(V_new)]
        rb += [f"{i4}}}", f"{i3}}}", f"{i3}int bad = 0;"]
        rb += [f"{i3}#pragma omp simd reduction(|:bad)", f"{i3}for (int l = 0; l < T; ++l) {{"]
        rb += load_push(i4)
        rb += [f"{i4}x{i}[l] = {f(e)};" for i, e in enumerate(x_new)]
        rb += [f"{i4}const double w{i} = {f(e)};" for i, e in enumerate(V_new)]
        rb += [i4 + line for line in qr_lines]
        rb += [f"{i4}q{i}[l] = {f(e)};" for i, e in enumerate(Q_new)]
        rb += [
            f"{i4}const double g0 = {f(g[0])};",
            f"{i4}gg[l] = g0;",
            # Bit tests, not comparisons: see cj_log. The squared norm's biased exponent
            # (its sign bit included) in (123, 1923): 2^-900 < g0 < 2^900.
            f"{i4}uint64_t ug, uq;",
            f"{i4}memcpy(&ug, &g0, 8);",
            f"{i4}memcpy(&uq, &qs0[l], 8);",
            f"{i4}const int64_t eg = (int64_t)(ug >> 52);",
            f"{i4}const int live = (uq << 1) <= (0x7ffULL << 53);  /* not NaN at the start */",
            f"{i4}bad |= ((eg <= 123) | (eg >= 1923)) & live;",
            f"{i3}}}",
            f"{i3}if (bad) {{",
        ]
        rb += [f"{i4}memcpy(x{i}, xs{i}, sizeof(x{i}));" for i in range(dim)]
        rb += [f"{i4}memcpy(q{i}, qs{i}, sizeof(q{i}));" for i in range(nq)]
        rb += [f"{i4}for (int64_t bb = 0; bb < nb; ++bb) {{"]
        rb += block(i5)
        rb += [f"{i4}}}", f"{i3}}} else {{", f"{i4}#pragma omp simd"]
        rb += [f"{i4}for (int l = 0; l < T; ++l) {{"]
        rb += _split(0, "gg[l]", i5)
        rb += [f"{i4}}}", f"{i3}}}", f"{i2}}}"]
    # The row's log-sums and the state's finiteness into H's row r.
    finite = " && ".join(f"isfinite(x{i}[l])" for i in range(dim))
    rb += [f"{i2}if (H) {{", f"{i3}double *restrict h = H + r * {k + 1} * npad + off;"]
    rb += [f"{i3}#pragma omp simd", f"{i3}for (int l = 0; l < T; ++l) {{"]
    rb += [f"{i4}h[{i} * npad + l] = {_sum(i)};" for i in range(k)]
    rb += [f"{i4}h[{k} * npad + l] = ({finite}) ? 1.0 : 0.0;", f"{i3}}}", f"{i2}}}"]
    src += [f"{i2}for (int64_t r = 0; r < nrows; ++r) {{"]
    src += ["    " + line for line in rb]
    src += [f"{i2}}}"]
    src += [f"{i2}memcpy(Y + {i} * npad + off, x{i}, sizeof(x{i}));" for i in range(dim)]
    src += [f"{i2}memcpy(Y + {dim + i} * npad + off, q{i}, sizeof(q{i}));" for i in range(nq)]
    src += [f"{i2}memcpy(Y + {o + k + i} * npad + off, m{i}, sizeof(m{i}));" for i in range(k)]
    # The log-sums now, into Y.
    src += [f"{i2}#pragma omp simd", f"{i2}for (int l = 0; l < T; ++l) {{"]
    src += [f"{i3}Y[{o + 2 * k + i} * npad + off + l] = (double)e{i}[l];" for i in range(k)]
    src += [f"{i3}Y[{o + 3 * k + i} * npad + off + l] = {_sum(i)};" for i in range(k)]
    src += [f"{i2}}}", "    }"]
    src += ["#ifdef CJ_SPREAD", "    if (moved) sched_setaffinity(0, sizeof(saved), &saved);"]
    src += ["#endif", "    }", "}", ""]
    return "\n".join(src)


def _key(spec, qr_raw, dim: int, k: int):
    """The kernel's cache key: the push's structure and static leaves, the QR, the
    shapes (as `codegen.kernel_parameters` keys the one-orbit kernel); None if
    unhashable."""
    treedef, static, shapes = spec
    key = (
        "batched",
        treedef,
        jax.tree.flatten(static)[1],
        tuple(jax.tree.leaves(static)),
        tuple(map(tuple, shapes)),
        qr_raw,
        dim,
        k,
        TILE,
    )
    try:
        hash(key)
    except TypeError:
        return None
    return key


def kernel_for(spec, qr_raw, dim: int, k: int):
    """The batched kernel (a ctypes function) for a push of structure `spec` =
    (treedef, static, parameter shapes) and this raw QR, or None."""
    return cached(_kernels, _key(spec, qr_raw, dim, k), lambda: _generate(spec, qr_raw, dim, k))


def _generate(spec, qr_raw, dim, k):
    treedef, static, shapes = spec
    xs = jax.ShapeDtypeStruct((dim,), np.float64)
    Qs = jax.ShapeDtypeStruct((dim, k), np.float64)
    param_specs = [jax.ShapeDtypeStruct(s, np.float64) for s in shapes]

    def push_fn(leaves, x, Q):
        return eqx.combine(jax.tree.unflatten(treedef, leaves), static)(x, Q)

    try:
        pj = jax.make_jaxpr(push_fn)(param_specs, xs, Qs)
        qj = jax.make_jaxpr(qr_raw)(Qs)
        want_p = [((dim,), np.float64), ((dim, k), np.float64)]
        want_q = [((dim, k), np.float64), ((k,), np.float64)]
        for avals, want in ((pj.out_avals, want_p), (qj.out_avals, want_q)):
            if [(tuple(a.shape), a.dtype) for a in avals] != want:
                return None
        src = _source(pj, qj, shapes, dim, k, TILE)
    except Unsupported:
        return None
    except Exception:  # noqa: BLE001 - a trace that fails here fails on the XLA path too
        return None
    return compile_kernel(src, _ARGS)


def threads_for(npad: int) -> int:
    """No more threads than tiles: an idle thread still joins the barrier at the end."""
    return max(1, min(cores(), npad // TILE))


def finish_divergence(xp, fin_transient, H, x_end, sums, k, plan, qr_every):
    """Per member, as the XLA kernel marks it: 0 when the transient went non-finite,
    else the end of the first history row whose state or sums are non-finite, else
    `steps` when the end is, else -1. H: (B, rows, k + 1), the last column the row's
    finiteness flag for the state."""
    rows, per_row, tail_blocks, tail_steps = plan
    steps = (rows * per_row + tail_blocks) * qr_every + tail_steps
    count = jax.dtypes.canonicalize_dtype(np.int64)
    div = xp.where(fin_transient, -1, 0).astype(count)
    if rows:
        bad = ~((H[:, :, k] == 1.0) & xp.isfinite(H[:, :, :k]).all(axis=2))
        first = ((xp.argmax(bad, axis=1) + 1) * per_row * qr_every).astype(count)
        div = xp.where((div < 0) & bad.any(axis=1), first, div)
    ok = xp.isfinite(x_end).all(axis=1) & xp.isfinite(sums).all(axis=1)
    return xp.where((div < 0) & ~ok, xp.asarray(steps, count), div)


# --------------------------------------------------------------------------- traced


def vmap_rule(spec, qr_raw, axis_size: int, in_batched, P, x, Q, *, transient, qr_every, plan):
    """The batching rule of the traced one-orbit spectrum (`spectrum._traced`): the six
    results of every member, each with a leading batch axis, from one custom call of
    the batched kernel; None when it cannot run (the caller then vmaps XLA's kernel).

    `P` (n_params,) or (V, n_params), `x` (dim,) or (V, dim), `Q` (dim, k) or (V, dim,
    k), batched as `in_batched` says, V = `axis_size`.
    """
    from . import ffi

    if not enabled() or jax.device_count() > 1:
        return None
    if any(np.dtype(a.dtype) != np.float64 for a in (P, x, Q)):
        return None
    dim, k = Q.shape[-2:]
    fn = kernel_for(spec, qr_raw, dim, k)
    if fn is None:
        return None
    name = ffi.register(fn)
    if name is None:
        return None
    jnp = jax.numpy
    V = axis_size
    P, x, Q = (
        a if b else jnp.broadcast_to(a, (V, *a.shape)) for a, b in zip((P, x, Q), in_batched)
    )
    params = dict(transient=transient, qr_every=qr_every, plan=tuple(plan))
    return tuple(_batch_p.bind(P, x, Q, name=name, dim=dim, k=k, history=True, **params))


def _apply(P, x, Q, *, name, dim, k, transient, qr_every, plan, history):
    """(P (B, nP), x (B, dim), Q (B, dim, k)) -> the six results per member, around one
    custom call. Without `history` the kernel keeps no history rows (the call's history
    output is empty; the rows run as one, so that a single vector's groups of pushes
    run on across their ends: log-sums equal to rounding) and the history and
    divergence results are placeholders: only for a call whose history and divergence
    step nothing reads (`_dce`)."""
    from . import ffi

    jnp = jax.numpy
    nq, o = dim * k, dim + dim * k
    B = x.shape[0]
    npad = -(-B // TILE) * TILE

    if P.shape[1] == 0:
        P = jnp.zeros((B, 1))
    z, one = jnp.zeros((B, k)), jnp.ones((B, k))
    Y = soa_tiles(jnp.concatenate([x, Q.reshape(B, nq), z, one, z, z], axis=1), npad)
    Y, H, XR = ffi.spectrum_batch_call(
        name,
        soa_tiles(P, npad),
        Y,
        dim=dim,
        k=k,
        transient=transient,
        qr_every=qr_every,
        plan=plan,
        threads=threads_for(npad),
        history=history,
    )
    Y, XR = Y[:, :B].T, XR[:, :B].T
    x_end, sums = Y[:, :dim], Y[:, o + 3 * k : o + 4 * k]
    if history:
        H = H[:, :, :B].transpose(2, 0, 1)
        div = finish_divergence(jnp, XR[:, dim] == 1.0, H, x_end, sums, k, plan, qr_every)
        hist = H[:, :, :k]
    else:
        count = jax.dtypes.canonicalize_dtype(np.int64)
        hist, div = jnp.zeros((B, plan[0], k)), jnp.zeros((B,), count)
    return x_end, Y[:, dim:o].reshape(B, dim, k), sums, hist, div, XR[:, :dim]


def _abstract(P, x, Q, *, plan, history, **_):
    from jax.core import ShapedArray

    B, dim, k = Q.shape
    f, count = np.float64, jax.dtypes.canonicalize_dtype(np.int64)
    shapes = [((B, dim), f), ((B, dim, k), f), ((B, k), f), ((B, plan[0], k), f)]
    shapes += [((B,), count), ((B, dim), f)]
    return [ShapedArray(s, d) for s, d in shapes]


def _batch(args, dims, **params):
    """vmap of the batch: (V, B, ...) -> (V * B, ...), one call (nested vmaps merge)."""
    V = next(a.shape[d] for a, d in zip(args, dims) if d is not None)
    jnp = jax.numpy
    args = [
        jnp.broadcast_to(a, (V, *a.shape)) if d is None else jnp.moveaxis(a, d, 0)
        for a, d in zip(args, dims)
    ]
    B = args[1].shape[1]
    out = _batch_p.bind(*(a.reshape(V * B, *a.shape[2:]) for a in args), **params)
    return [a.reshape(V, B, *a.shape[1:]) for a in out], [0] * 6


def _dce(used, eqn):
    """Dead-code elimination: a call whose history and divergence step nothing reads
    (`jit` of `vmap(lambda p: max_lyapunov(...).largest)`) runs without history rows:
    200 rows of (k + 1) x B doubles written (32 MB for 10,000 members), then read by
    XLA, cost about as much as the arithmetic of a map's exponent."""
    if not any(used):
        return [False] * len(eqn.invars), None
    if eqn.params["history"] and not used[3] and not used[4]:
        eqn = eqn.replace(params={**eqn.params, "history": False})
    return [True] * len(eqn.invars), eqn


def _make_primitive():
    from jax.extend.core import Primitive
    from jax.interpreters import batching, mlir
    from jax.interpreters import partial_eval as pe

    p = Primitive("chaosjax_spectrum_batch")
    p.multiple_results = True
    p.def_impl(lambda *args, **params: _jit_apply(*args, **params))
    p.def_abstract_eval(_abstract)
    mlir.register_lowering(p, mlir.lower_fun(_apply, multiple_results=True), platform="cpu")
    batching.primitive_batchers[p] = _batch
    pe.dce_rules[p] = _dce
    return p


def _jit_apply(*args, **params):
    return _jitted(tuple(sorted(params.items())))(*args)


@functools.lru_cache(maxsize=64)
def _jitted(params):
    """`_apply` for these parameters, compiled (an eager call outside `jit`)."""
    return jax.jit(functools.partial(_apply, **dict(params)))


_batch_p = _make_primitive()
"""Benettin's loop for a batch as one JAX primitive: lowered to the custom call and the
XLA operations around it (`_apply`), batched by merging the vmapped axis into the batch
(`_batch`), and with a dead-code rule (`_dce`) that drops the history rows when nothing
reads them."""
