"""The Lyapunov spectrum of one orbit in generated C: the whole time loop in registers.

XLA:CPU compiles one tangent step plus QR into several small kernels per step; the
loop of one orbit is latency-bound, so each kernel launch costs more than its
arithmetic (docs/lyapunov.md, Speed). Here the push `(x, Q) -> (F(x), DF(x) Q)` is
traced to a jaxpr and translated to straight-line scalar C (`codegen.py`), and the
time loop (blocks of `qr_every` pushes, each followed by a Gram-Schmidt step, a
history row every so many blocks) runs in C with the state and the basis in
registers.

The tangent part of the push is generated for one column and run on all k columns at
once, one vector lane per column (`_source_vec`; `_source` is the scalar fallback).
The Gram-Schmidt step does not normalise (`_gram_schmidt`): pushing orthogonal
columns W of norms |w_i| and orthogonalising them (modified Gram-Schmidt order) gives
w_i' = q_i' r_ii |w_i|, the same directions as the QR of the pushed orthonormal basis,
so r_ii = |w_i'| / |w_i| and the sums of log r_ii telescope to log |w_i(end)| -
log |w_i(start)|. A step then takes at most k - 1 divisions and no square root or
logarithm; square 2-D/3-D bases close their last column as `_qr.py` does. A column
whose squared norm leaves [2^-400, 2^400] is scaled by an exact power of two, counted
in an integer exponent (a column that vanishes or overflows gives -inf or +inf, then
NaN, as the XLA kernel's QR does). The kernel hands back the unnormalised basis and
its carry (`_carry_in`), so a run split into calls gives the same bits as one call;
the caller takes the logarithms (`_sums`, per history row and at the end) and
normalises the basis. The state does not depend on the basis, so it is bitwise that
of the XLA kernel; the sums agree with its QR to rounding.

The run plan (transient, history rows, tail, divergence) is the caller's
(`lyapunov/spectrum.py`, `run_plan`): this module gives it the primitives, `blocks`
and `rows`, eagerly through ctypes (`_Eager`) or, for traced values, as XLA custom
calls (`_Traced`, `ffi.py`).
"""

from __future__ import annotations

import contextlib
import contextvars
import ctypes
import weakref
from typing import Any

import equinox as eqx
import jax
import numpy as np
from jax.core import Tracer

from .codegen import (
    HEADER,
    LANES_TYPEDEF,
    LATENCY_OPS,
    LINE,
    MAX_LINES,
    Emitter,
    Unsupported,
    c_expr,
    eval_closed,
    in_lanes,
    kernel_parameters,
    lane_value,
    names_in,
    names_of,
    plain_arithmetic,
    products_fused,
    scalar_names,
    tree_sum,
)
from .compile import cached, compile_kernel, enabled

_ARGS = [
    ctypes.c_void_p,  # P: parameters
    ctypes.c_void_p,  # Y: state, basis (row-major dim x k), log-sums; in and out
    ctypes.c_void_p,  # H: history rows (k sums + 1 finiteness flag) or NULL
    ctypes.c_int64,  # rows
    ctypes.c_int64,  # blocks per row
    ctypes.c_int64,  # pushes per block
]

_kernels: dict[Any, Any] = {}

_SCALE = """
/* Whether a column of squared norm n needs the slow path: n zero or infinite, or
   finite and outside [2^-400, 2^400]. (NaN propagates as it is; subnormals are kept.) */
static inline int cj_odd(double n)
{
    uint64_t u;
    memcpy(&u, &n, 8);
    const uint64_t b = (u >> 52) & 0x7ff;
    if (b == 0 || b == 0x7ff)
        return n == 0.0 || n == INFINITY;
    return b < 1023 - 400 || b > 1023 + 400;
}

/* The power of two 2^-s that brings n's column back near norm 1 (s added to *e). */
static inline double cj_rescale(double n, int64_t *e)
{
    uint64_t u;
    memcpy(&u, &n, 8);
    const int64_t s = ((int64_t)((u >> 52) & 0x7ff) - 1023) >> 1;
    *e += s;
    u = (uint64_t)(1023 - s) << 52;
    double f;
    memcpy(&f, &u, 8);
    return f;
}
"""


def _columns(dim: int, k: int) -> list[list[str]]:
    """The C names of the basis' columns (row-major dim x k: column j is q_{i k + j})."""
    return [[f"q{i * k + j}" for i in range(dim)] for j in range(k)]


def _norm2(col: list[str]) -> str:
    return " + ".join(f"{a} * {a}" for a in col)


def _det(cols: list[list[str]]) -> str:
    """C expression: det of a 2 x 2 or 3 x 3 matrix given by its columns' names."""
    if len(cols) == 2:
        (a, c), (b, d) = cols
        return f"{a} * {d} - {b} * {c}"
    (a, d, g), (b, e, h), (c, f, i) = cols
    minors = f"({e} * {i} - {f} * {h})", f"({d} * {i} - {f} * {g})", f"({d} * {h} - {e} * {g})"
    return f"{a} * {minors[0]} - {b} * {minors[1]} + {c} * {minors[2]}"


def _close(cols: list[list[str]]) -> tuple[list[str], list[str]]:
    """The last column of a square 2-D or 3-D basis from the others, as `_qr.py` closes
    it, unnormalised: z = the perpendicular of w_1 (2-D) or w_1 x w_2 (3-D) times
    det V / |z|^2, of norm |det V| / |z|, the pushed column's r_dd |w_d|. z is taken
    from the pushed columns before any projection (w_1 x (w_2 - c w_1) = w_1 x w_2),
    so the last column is off the chain of the others' projections and needs no
    cancelling subtraction. Returns (lines before the projections, lines after)."""
    if len(cols) == 2:
        (a, b), last = cols
        z = [f"-{b}", a]
    else:
        (a0, a1, a2), (b0, b1, b2), last = cols
        z = [
            f"{a1} * {b2} - {a2} * {b1}",
            f"{a2} * {b0} - {a0} * {b2}",
            f"{a0} * {b1} - {a1} * {b0}",
        ]
    pre = [f"const double det = {_det(cols)};"]
    pre += [f"const double z{i} = {e};" for i, e in enumerate(z)]
    pre.append(f"const double fc = det / {tree_sum([f'z{i} * z{i}' for i in range(len(z))])};")
    return pre, [f"{q} = fc * z{i};" for i, q in enumerate(last)]


def _gram_schmidt(dim: int, k: int, lanes: bool = False) -> list[str]:
    """Modified Gram-Schmidt of the columns in place, without normalisation, and the
    power-of-two rescaling of columns far from norm 1. `lanes`: one column held in
    `cj_f2` vectors (`_source` with k = 1), rescaled in both lanes."""
    if lanes and k != 1:
        raise ValueError("lanes: one column only")
    cols, lines = _columns(dim, k), []
    norm2 = (lambda u: f"({_norm2(u)})[0]") if lanes else _norm2
    nan = "(cj_f2){NAN, NAN}" if lanes else "NAN"
    closed = dim == k and k in (2, 3)
    if closed:  # the last column, from the pushed ones
        pre, post = _close(cols)
        lines += pre
    for j, u in enumerate(cols):
        if closed and j == k - 1:
            lines += post
            lines.append(f"const double n{j} = {_norm2(u)};")
            break
        for i in range(j):
            dot = tree_sum([f"{a} * {b}" for a, b in zip(cols[i], u, strict=True)])
            lines.append(f"const double c{i}_{j} = ({dot}) * r{i};")
            lines += [f"{a} -= c{i}_{j} * {b};" for a, b in zip(u, cols[i], strict=True)]
        lines.append(f"const double n{j} = {norm2(u)};")
        if j < k - 1:
            lines.append(f"const double r{j} = 1.0 / n{j};")
    # The slow path: an exact rescaling; or, for a column that vanished or overflowed,
    # what the XLA kernel's QR gives: -inf or +inf in the sum at that step (a_j), NaN
    # after it (the column made NaN the next time).
    for j, u in enumerate(cols):
        lines.append(f"if (__builtin_expect(cj_odd(n{j}), 0)) {{")
        lines.append(f"    if (n{j} == 0.0 || n{j} == INFINITY) {{")
        lines.append(f"        if (isinf(a{j})) {{")
        lines += [f"            {a} = {nan};" for a in u]
        lines.append("        } else {")
        lines.append(f"            a{j} = n{j} == 0.0 ? -INFINITY : INFINITY;")
        lines.append("        }")
        lines.append("    } else {")
        lines.append(f"        const double f = cj_rescale(n{j}, &e{j});")
        lines += [f"        {a} *= f;" for a in u]
        lines.append("    }")
        lines.append("}")
    return lines


def _carry_in(o: int, k: int) -> list[str]:
    """C lines: the carry after the basis in Y. The log-sum of column j is
    a_j + log |w_j| + e_j log 2, n_j = |w_j|^2 (written at the end of each call and in
    every history row, for the caller: `_sums`)."""
    return [f"    double a{j} = Y[{o + j}];" for j in range(k)] + [
        f"    int64_t e{j} = (int64_t)Y[{o + k + j}];" for j in range(k)
    ]


def _carry_out(o: int, k: int, norms: list[str]) -> list[str]:
    out = [f"    Y[{o + j}] = a{j};" for j in range(k)]
    out += [f"    Y[{o + k + j}] = (double)e{j};" for j in range(k)]
    return out + [f"    Y[{o + 2 * k + j}] = {n};" for j, n in enumerate(norms)]


def _row(dim: int, k: int, norms: list[str], xs: list[str] | None = None) -> list[str]:
    """C lines: history row r, (a, e, n) as in `_carry_in` and whether the state (C
    names `xs`, default x0, x1, ...) is finite; the caller takes the logarithms
    (`_sums`)."""
    w = 3 * k + 1
    out = [f"H[r * {w} + {j}] = a{j};" for j in range(k)]
    out += [f"H[r * {w} + {k + j}] = (double)e{j};" for j in range(k)]
    out += [f"H[r * {w} + {2 * k + j}] = {n};" for j, n in enumerate(norms)]
    xs = xs or [f"x{i}" for i in range(dim)]
    finite = " && ".join(f"isfinite({x})" for x in xs)
    return out + [f"H[r * {w} + {3 * k}] = ({finite}) ? 1.0 : 0.0;"]


def _source(push_jaxpr, shapes, dim: int, k: int) -> str:
    """The scalar kernel: any k, the push as straight-line scalar C. With one column
    (k = 1, the largest exponent) its arithmetic runs on `cj_f2` vectors holding each
    value twice (`codegen.in_lanes`): the loop is bound by the latency of the push,
    and vector register copies cost no latency where gcc's scalar ones cost a cycle."""
    em = Emitter(LATENCY_OPS)
    params = scalar_names("p", shapes)
    n_params = sum(int(np.prod(shape, dtype=int)) for shape in shapes)
    s_in, v_in = scalar_names("s", [(dim,)])[0], scalar_names("v", [(dim, k)])[0]
    x_new, V_new = eval_closed(em, push_jaxpr, params + [s_in, v_in])
    push_lines = products_fused(em.lines, names_of(v_in), names_of(x_new, V_new))
    if len(push_lines) + 3 * dim * k * k > MAX_LINES:
        raise Unsupported("a step too large for straight-line code")
    x_new, V_new = np.ravel(x_new), np.ravel(V_new)
    nq, cols = dim * k, _columns(dim, k)
    lanes = k == 1
    if lanes:
        names = {str(a) for a in (*np.ravel(s_in), *np.ravel(v_in))}
        names |= {f"p{i}" for i in range(n_params)}
        push_lines = in_lanes(push_lines, names)
        f = lambda e: lane_value(e, names)  # noqa: E731
        kind, lane0 = "cj_f2", "[0]"
        load = lambda i: f"{{Y[{i}], Y[{i}]}}"  # noqa: E731
    else:
        f = lambda e: c_expr(e, "f")  # noqa: E731
        kind, lane0 = "double", ""
        load = lambda i: f"Y[{i}]"  # noqa: E731
    i3, i4 = " " * 12, " " * 16
    src = [
        HEADER,
        LANES_TYPEDEF,
        _SCALE,
        "void cj_kernel(const double *restrict P, double *restrict Y, double *restrict H, "
        "int64_t nrows, int64_t nblocks, int64_t blen)",
        "{",
    ]
    if lanes:
        src += [f"    const cj_f2 p{i} = {{P[{i}], P[{i}]}};" for i in range(n_params)]
    else:
        src += [f"    const double p{i} = P[{i}];" for i in range(n_params)]
    src += [f"    {kind} x{i} = {load(i)};" for i in range(dim)]
    src += [f"    {kind} q{i} = {load(dim + i)};" for i in range(nq)]
    o = dim + nq
    src += _carry_in(o, k)
    src += [
        "    for (int64_t r = 0; r < nrows; ++r) {",
        "        for (int64_t b = 0; b < nblocks; ++b) {",
        "            for (int64_t j = 0; j < blen; ++j) {",
    ]
    src += [f"{i4}const {kind} s{i} = x{i};" for i in range(dim)]
    src += [f"{i4}const {kind} v{i} = q{i};" for i in range(nq)]
    src += [i4 + line for line in push_lines]
    src += [f"{i4}x{i} = {f(e)};" for i, e in enumerate(x_new)]
    src += [f"{i4}q{i} = {f(e)};" for i, e in enumerate(V_new)]
    src += [f"{i3}}}", f"{i3}{{"]
    src += [i4 + line for line in _gram_schmidt(dim, k, lanes)]
    src += [f"{i3}}}", "        }", "        if (H) {"]
    norms = [f"({_norm2(c)}){lane0}" for c in cols]
    xs = [f"x{i}{lane0}" for i in range(dim)]
    src += [i3 + line for line in _row(dim, k, norms, xs)] + ["        }", "    }"]
    src += [f"    Y[{i}] = x{i}{lane0};" for i in range(dim)]
    src += [f"    Y[{dim + i}] = q{i}{lane0};" for i in range(nq)]
    src += _carry_out(o, k, norms)
    src += ["}", ""]
    return "\n".join(src)


def _linear_lines(lines: list[str], vec: set[str]) -> list[str]:
    """`lines` with every value that depends on a name in `vec` (the tangent column)
    typed `cj_vec` (one lane per column). Such a line may hold only names, float
    literals and + - * / ( ): anything else (a call, a comparison, a select) raises
    `Unsupported`, and the scalar kernel is generated instead."""
    out = []
    for line in lines:
        m = LINE.match(line)
        if not set(names_in(line)) & vec:
            out.append(line)
            continue
        if m is None or m.group(1) != "double":
            raise Unsupported("a tangent value that is not a float")
        expr = m.group(3)
        if not plain_arithmetic(expr):
            raise Unsupported("a tangent operation other than + - * /")
        vec.add(m.group(2))
        out.append(f"const cj_vec {m.group(2)} = {expr};")
    return out


def _lanes(k: int) -> int:
    """Lanes of the column vectors: k rounded up to 2, 4 or 8."""
    return 2 if k == 2 else 4 if k <= 4 else 8


def _source_vec(push_jaxpr, shapes, dim: int, k: int) -> str:
    """The kernel with the basis held as `dim` vectors of the k columns (GCC/clang vector
    extensions): `push_jaxpr` is the push of one column, (x, q) -> (F(x), DF(x) q), and
    its tangent part runs on all columns at once; Gram-Schmidt works on the vectors too.
    Raises `Unsupported` when the tangent is not plain arithmetic (or k = 1 or k > 8)."""
    if not 2 <= k <= 8:
        raise Unsupported("one column, or more than 8")
    L = _lanes(k)
    em = Emitter(LATENCY_OPS)
    params = scalar_names("p", shapes)
    n_params = sum(int(np.prod(shape, dtype=int)) for shape in shapes)
    s_in, v_in = scalar_names("s", [(dim,)])[0], scalar_names("v", [(dim, 1)])[0]
    x_new, V_new = eval_closed(em, push_jaxpr, params + [s_in, v_in])
    vec = {str(v) for v in np.ravel(v_in)}
    lines = products_fused(em.lines, vec, names_of(x_new, V_new))
    push_lines = _linear_lines(lines, vec)
    if len(push_lines) + 8 * dim * k > MAX_LINES:
        raise Unsupported("a step too large for straight-line code")
    x_new, V_new = np.ravel(x_new), np.ravel(V_new)
    if any(isinstance(e, str) and e in vec for e in x_new):
        raise Unsupported("a state that depends on the tangent")

    def as_vec(e):
        return e if isinstance(e, str) and e in vec else f"(cj_zero + {c_expr(e, 'f')})"

    o = dim + dim * k
    rows = [f"q{i}" for i in range(dim)]
    norm2 = " + ".join(f"{q} * {q}" for q in rows)
    lane_mask = ", ".join("-1" if j < k else "0" for j in range(L))
    i3, i4 = " " * 12, " " * 16
    src = [
        HEADER,
        _SCALE,
        f"typedef double cj_vec __attribute__((vector_size({8 * L})));",
        f"typedef int64_t cj_ivec __attribute__((vector_size({8 * L})));",
        "void cj_kernel(const double *restrict P, double *restrict Y, double *restrict H, "
        "int64_t nrows, int64_t nblocks, int64_t blen)",
        "{",
        "    const cj_vec cj_zero = {0};",
        f"    const cj_ivec cj_valid = {{{lane_mask}}};",
    ]
    for l in range(k - 1):  # lanes after l: the columns projected against column l
        mask = ", ".join("-1" if l < j < k else "0" for j in range(L))
        src.append(f"    const cj_ivec cj_after{l} = {{{mask}}};")
    src += [f"    const double p{i} = P[{i}];" for i in range(n_params)]
    src += [f"    double x{i} = Y[{i}];" for i in range(dim)]
    for i in range(dim):
        lanes = ", ".join(f"Y[{dim + i * k + j}]" for j in range(k))
        src.append(f"    cj_vec q{i} = {{{lanes}}};")
    src += _carry_in(o, k)
    src += [
        "    for (int64_t r = 0; r < nrows; ++r) {",
        "        for (int64_t b = 0; b < nblocks; ++b) {",
        "            for (int64_t j = 0; j < blen; ++j) {",
    ]
    src += [f"{i4}const double s{i} = x{i};" for i in range(dim)]
    src += [f"{i4}const cj_vec v{i} = q{i};" for i in range(dim)]
    src += [i4 + line for line in push_lines]
    src += [f"{i4}x{i} = {c_expr(e, 'f')};" for i, e in enumerate(x_new)]
    src += [f"{i4}q{i} = {as_vec(e)};" for i, e in enumerate(V_new)]
    src += [f"{i3}}}", f"{i3}{{"]
    # Modified Gram-Schmidt without normalisation, column l against all later ones at
    # once: d = (w_l . w_j) for every j, c_j = d_j / |w_l|^2 for j > l, w_j -= c_j w_l.
    closed = dim == k and k in (2, 3)
    lane_cols = [[f"{q}[{j}]" for q in rows] for j in range(k)]
    if closed:  # the last column from the pushed ones, as in `_gram_schmidt`
        pre, post = _close(lane_cols)
        src += [i4 + line for line in pre]
    for l in range(k - 2 if closed else k - 1):
        dot = tree_sum([f"{q} * {q}[{l}]" for q in rows])
        src.append(f"{i4}const cj_vec d{l} = {dot};")
        src.append(f"{i4}const double r{l} = 1.0 / d{l}[{l}];")
        c = f"(cj_vec)((cj_ivec)(d{l} * r{l}) & cj_after{l})"
        src.append(f"{i4}const cj_vec c{l} = {c};")
        src += [f"{i4}{q} -= c{l} * {q}[{l}];" for q in rows]
    if closed:
        src += [i4 + line for line in post]
    src.append(f"{i4}const cj_vec n = {norm2};")
    src.append(f"{i4}const cj_ivec bx = ((cj_ivec)n >> 52) & 0x7ff;")
    src.append(f"{i4}const cj_ivec far = ((bx < {1023 - 400}) | (bx > {1023 + 400})) & cj_valid;")
    any_far = " | ".join(f"far[{j}]" for j in range(k))
    src.append(f"{i4}if (__builtin_expect(({any_far}) != 0, 0)) {{")
    for j in range(k):  # as in _gram_schmidt, lane by lane
        src.append(f"{i4}    if (cj_odd(n[{j}])) {{")
        src.append(f"{i4}        if (n[{j}] == 0.0 || n[{j}] == INFINITY) {{")
        src.append(f"{i4}            if (isinf(a{j})) {{")
        src += [f"{i4}                {q}[{j}] = NAN;" for q in rows]
        src.append(f"{i4}            }} else {{")
        src.append(f"{i4}                a{j} = n[{j}] == 0.0 ? -INFINITY : INFINITY;")
        src.append(f"{i4}            }}")
        src.append(f"{i4}        }} else {{")
        src.append(f"{i4}            const double f = cj_rescale(n[{j}], &e{j});")
        src += [f"{i4}            {q}[{j}] *= f;" for q in rows]
        src.append(f"{i4}        }}")
        src.append(f"{i4}    }}")
    src.append(f"{i4}}}")
    src += [f"{i3}}}", "        }", "        if (H) {", f"{i3}const cj_vec n = {norm2};"]
    norms = [f"n[{j}]" for j in range(k)]
    src += [i3 + line for line in _row(dim, k, norms)] + ["        }", "    }"]
    src += [f"    Y[{i}] = x{i};" for i in range(dim)]
    src += [f"    Y[{dim + i * k + j}] = q{i}[{j}];" for i in range(dim) for j in range(k)]
    src += ["    {", f"        const cj_vec n = {norm2};"]
    src += ["    " + line for line in _carry_out(o, k, norms)] + ["    }"]
    src += ["}", ""]
    return "\n".join(src)


def _kernel_for(push, dim: int, k: int, traced: bool = False):
    """(fn, params, (treedef, static, shapes)) for this push structure, or None."""
    leaves, treedef = jax.tree.flatten(push)
    arrays = [a for a in leaves if eqx.is_array(a)]
    reuse = not traced and all(
        isinstance(a, jax.Array) and not isinstance(a, Tracer) for a in arrays
    )
    # `_kernels` also keeps, per push structure, the kernel, weak references to the
    # parameter arrays of the last eager call and their parameter vector P. JAX arrays
    # are immutable, so while the same array objects come again (the same system called
    # again) P is reused; anything else (new arrays; NumPy arrays, which can change in
    # place) is flattened again.
    fast = None
    if reuse:
        fast = ("last", treedef, tuple(None if eqx.is_array(a) else a for a in leaves), dim, k)
        try:
            hit = _kernels.get(fast)
        except TypeError:
            hit = fast = None
        if hit is not None and len(hit[1]) == len(arrays):
            if all(ref() is a for ref, a in zip(hit[1], arrays, strict=True)):
                return hit[0]
    split = kernel_parameters(push, dim, k, traced=traced)
    if split is None:
        return None
    treedef, static, shapes, params, key = split
    fn = cached(_kernels, key, lambda: _generate(treedef, static, shapes, dim, k))
    got = None if fn is None else (fn, params, (treedef, static, shapes))
    if fast is not None and got is not None:
        if len(_kernels) >= 256:
            _kernels.clear()
        _kernels[fast] = (got, [weakref.ref(a) for a in arrays])
    return got


def _generate(treedef, static, shapes, dim, k):
    xs = jax.ShapeDtypeStruct((dim,), np.float64)
    Qs = jax.ShapeDtypeStruct((dim, k), np.float64)
    param_specs = [jax.ShapeDtypeStruct(s, np.float64) for s in shapes]

    def push_fn(leaves, x, Q):
        return eqx.combine(jax.tree.unflatten(treedef, leaves), static)(x, Q)

    try:
        try:  # the tangent on all columns at once, if it is plain arithmetic
            q1 = jax.ShapeDtypeStruct((dim, 1), np.float64)
            pj = jax.make_jaxpr(push_fn)(param_specs, xs, q1)
            if [(tuple(a.shape), a.dtype) for a in pj.out_avals] != [
                ((dim,), np.float64),
                ((dim, 1), np.float64),
            ]:
                raise Unsupported("outputs")
            src = _source_vec(pj, shapes, dim, k)
        except Unsupported:
            pj = jax.make_jaxpr(push_fn)(param_specs, xs, Qs)
            want = [((dim,), np.float64), ((dim, k), np.float64)]
            if [(tuple(a.shape), a.dtype) for a in pj.out_avals] != want:
                return None
            src = _source(pj, shapes, dim, k)
    except Unsupported:
        return None
    except Exception:  # noqa: BLE001 - a trace that fails here fails on the XLA path too
        return None
    return compile_kernel(src, _ARGS)


_PUSHES_PER_CALL = 1 << 26
"""Work of one call to the kernel, in pushes x dim x k x (dim + k): about 0.1-0.2 s, so
that Ctrl-C (delivered between calls) stops a long run at once."""


_LOG2 = float(np.log(2.0))


def _sums(xp, a, e, n):
    """The log-sums from the carry (`_carry_in`): a + log |w| + e log 2 (a vanished or
    non-finite column gives -inf, inf or NaN, quietly, as in C)."""
    if xp is np:
        with np.errstate(all="ignore"):
            return a + 0.5 * np.log(n) + e * _LOG2
    return a + 0.5 * xp.log(n) + e * _LOG2


def _layout(dim: int, k: int):
    """Slices of Y: state, basis (dim x k, row-major), a, e, n (`_carry_in`)."""
    o = dim + dim * k
    return (
        slice(0, dim),
        slice(dim, o),
        slice(o, o + k),
        slice(o + k, o + 2 * k),
        slice(o + 2 * k, o + 3 * k),
    )


class _Eager:
    """The primitives of `run_plan` on concrete values: ctypes calls of at most
    `_PUSHES_PER_CALL` work on Y = (state, unnormalised basis, carry), a NumPy vector.
    A run split into calls gives the same bits as one call."""

    xp = np

    def __init__(self, fn, P, dim: int, k: int, qr_every: int):
        self.fn, self.P, self.dim, self.k = fn, P, dim, k
        self.s = _layout(dim, k)
        # whole blocks per call
        self.per_call = max(1, _PUSHES_PER_CALL // (dim * k * (dim + k)) // qr_every)

    def start(self, x, Q):
        sx, sq, sa, se, sn = self.s
        Y = np.zeros(sn.stop)
        Q = np.asarray(Q)
        Y[sx], Y[sq], Y[sn] = np.asarray(x), Q.reshape(-1), (Q * Q).sum(axis=0)
        self.py = Y.ctypes.data
        return self.restart(Y)

    def blocks(self, Y, n: int, length: int, at: int):
        if n > 0 and length > 0:
            while n > self.per_call:
                self.fn(self.P.ctypes.data, self.py, None, 1, self.per_call, length)
                n -= self.per_call
            self.fn(self.P.ctypes.data, self.py, None, 1, n, length)
        return Y

    def rows(self, Y, rows: int, per_row: int, length: int, at: int):
        k, pp = self.k, self.P.ctypes.data
        w = 3 * k + 1
        H = np.zeros((rows, w))
        if per_row <= self.per_call:  # many rows per call
            group = self.per_call // per_row
            for r in range(0, rows, group):
                n = min(group, rows - r)
                self.fn(pp, self.py, H.ctypes.data + 8 * r * w, n, per_row, length)
        else:
            for r in range(rows):
                self.blocks(Y, per_row - 1, length, at)
                self.fn(pp, self.py, H.ctypes.data + 8 * r * w, 1, 1, length)
        hist = _sums(np, H[:, :k], H[:, k : 2 * k], H[:, 2 * k : 3 * k])
        return Y, hist, (H[:, 3 * k] == 1.0) & np.isfinite(hist).all(axis=1)

    def state(self, Y):
        return Y[self.s[0]].copy()

    def finite(self, Y):
        _, _, sa, se, sn = self.s
        s = _sums(np, Y[sa], Y[se], Y[sn])
        return bool(np.isfinite(Y[self.s[0]]).all() and np.isfinite(s).all())

    def restart(self, Y):
        _, _, sa, se, sn = self.s
        with np.errstate(all="ignore"):
            Y[sa], Y[se] = -0.5 * np.log(Y[sn]), 0.0
        return Y

    def end(self, Y, hist, div, x_run):
        """NumPy arrays: the caller takes them as they are (a device transfer of each
        would cost more than the rest of a short call), the basis normalised."""
        sx, sq, sa, se, sn = self.s
        count = jax.dtypes.canonicalize_dtype(np.int64)
        with np.errstate(all="ignore"):
            Q = Y[sq].reshape(self.dim, self.k) / np.sqrt(Y[sn])[None, :]
        s = _sums(np, Y[sa], Y[se], Y[sn])
        return Y[sx].copy(), Q, s, hist, np.asarray(div, count), x_run


_checking: contextvars.ContextVar[dict | None] = contextvars.ContextVar("checking", default=None)


@contextlib.contextmanager
def checked_calls():
    """Within: the custom calls traced are checked (`ffi.spectrum_call`'s `check`: the
    program fails where the run would be found diverged). Yields a dict whose "checked"
    is True once such a call was traced (a run on the XLA path traces none)."""
    seen: dict = {"checked": False}
    token = _checking.set(seen)
    try:
        yield seen
    finally:
        _checking.reset(token)


class _Traced:
    """The primitives of `run_plan` on traced values: each an XLA custom call of the
    kernel (`ffi.spectrum_call`) on Y = (state, unnormalised basis, carry)."""

    def __init__(self, ffi_name: str, P, dim: int, k: int):
        self.xp = jax.numpy
        self.ffi, self.P, self.dim, self.k = ffi_name, P, dim, k
        self.s = _layout(dim, k)

    def _call(self, Y, nrows, n, length):
        from . import ffi

        seen = _checking.get()
        if seen is not None:
            seen["checked"] = True
        return ffi.spectrum_call(
            self.ffi, self.P, Y, k=self.k, rows=nrows, blocks=n, length=length,
            check=int(seen is not None),
        )  # fmt: skip

    def start(self, x, Q):
        xp, k = self.xp, self.k
        z = xp.zeros(k, x.dtype)
        return self.restart(xp.concatenate([x, Q.reshape(-1), z, z, (Q * Q).sum(axis=0)]))

    def blocks(self, Y, n: int, length: int, at: int):
        return Y if n <= 0 or length <= 0 else self._call(Y, 1, n, length)[0]

    def rows(self, Y, rows: int, per_row: int, length: int, at: int):
        Y, H = self._call(Y, rows, per_row, length)
        k, xp = self.k, self.xp
        hist = _sums(xp, H[:, :k], H[:, k : 2 * k], H[:, 2 * k : 3 * k])
        return Y, hist, (H[:, 3 * k] == 1.0) & xp.isfinite(hist).all(axis=1)

    def state(self, Y):
        return Y[self.s[0]]

    def finite(self, Y):
        xp, (sx, _, sa, se, sn) = self.xp, self.s
        return xp.isfinite(Y[sx]).all() & xp.isfinite(_sums(xp, Y[sa], Y[se], Y[sn])).all()

    def restart(self, Y):
        _, _, sa, se, sn = self.s
        return Y.at[sa].set(-0.5 * self.xp.log(Y[sn])).at[se].set(0.0)

    def end(self, Y, hist, div, x_run):
        xp, (sx, sq, sa, se, sn) = self.xp, self.s
        Q = Y[sq].reshape(self.dim, self.k) / xp.sqrt(Y[sn])[None, :]
        return Y[sx], Q, _sums(xp, Y[sa], Y[se], Y[sn]), hist, div, x_run


def _supported(x, Q) -> bool:
    if x.ndim != 1 or Q.ndim != 2 or Q.shape[0] != x.shape[0]:
        return False
    return x.dtype == np.float64 and Q.dtype == np.float64


def lyapunov_spectrum(push, x, Q, *, qr_every: int, run, xla=None, batch=None):
    """Benettin's loop for one orbit in C: what the caller's XLA kernel returns, or None.

    **Arguments:**

    - `push`: a Module `(x, Q) -> (F(x), DF(x) Q)`; its array leaves become the kernel's
      parameters.
    - `x`, `Q`: the float64 state (dim,) and orthonormal basis (dim, k) on one CPU
      device.
    - `qr_every`: pushes per QR (sizes the calls of a long run).
    - `run`: the caller's plan, `run(backend, x, Q)`: it calls the backend's
      primitives (`blocks`, `rows`, ...) and returns what the caller's XLA kernel
      returns (`lyapunov/spectrum.py`, `run_plan`).
    - `xla`: the caller's XLA kernel `(push, x, Q) -> (the same results)`; given, a
      traced call (inside jit, vmap or grad) runs the kernel as XLA custom calls,
      vmapped and differentiated through `xla`.

    - `batch`: (qr_raw, transient, plan) for the batched kernel of `batched_spectrum.py`
      (`qr_raw`: `V -> (Q, g)` with log diag R = log(g) / 2; `plan`: `run`'s history
      plan): given, a vmapped traced call runs one custom call for the whole batch;
      otherwise (or where that kernel cannot run) `xla`, vmapped.

    **Returns:** `run`'s results (NumPy arrays eagerly, JAX arrays traced; the caller
    finishes either the same way), or None when unsupported (not float64,
    traced without `xla`, not on a CPU, a primitive without a translation, no
    compiler, `CHAOSJAX_CGEN=0`).
    """
    if not enabled() or jax.default_backend() != "cpu":
        return None
    if any(isinstance(a, Tracer) for a in (x, Q, *jax.tree.leaves(push))):
        if xla is None:
            return None
        return _traced(push, x, Q, qr_every, run, xla, batch)
    for a in (x, Q):
        if not isinstance(a, (jax.Array, np.ndarray)):
            return None
        if isinstance(a, jax.Array) and len(a.devices()) > 1:
            return None
    if not _supported(x, Q):
        return None
    dim, k = Q.shape
    got = _kernel_for(push, dim, k)
    if got is None:
        return None
    fn, P, _ = got
    return run(_Eager(fn, P, dim, k, qr_every), x, Q)


def _traced(push, x, Q, qr_every, run, xla, batch=None):
    """`lyapunov_spectrum` of traced values as XLA custom calls (JAX arrays), or None."""
    from . import ffi

    if jax.device_count() > 1 or not _supported(x, Q):
        return None
    dim, k = Q.shape
    got = _kernel_for(push, dim, k, traced=True)
    if got is None:
        return None
    fn, P, (treedef, static, shapes) = got
    name = ffi.register(fn)
    if name is None:
        return None
    sizes = [int(np.prod(s, dtype=int)) for s in shapes]
    offsets = np.cumsum([0, *sizes])

    def xla_flat(P, x, Q):
        leaves = [P[o : o + z].reshape(s) for o, z, s in zip(offsets, sizes, shapes, strict=False)]
        return xla(eqx.combine(jax.tree.unflatten(treedef, leaves), static), x, Q)

    @jax.custom_batching.custom_vmap
    def batched(P, x, Q):
        return run(_Traced(name, P, dim, k), x, Q)

    spec = (treedef, static, shapes)
    batched.def_vmap(
        lambda n, in_batched, P, x, Q: _vmap_rule(
            xla_flat, spec, batch, qr_every, n, in_batched, P, x, Q
        )
    )

    @jax.custom_jvp
    def op(P, x, Q):
        return batched(P, x, Q)

    @op.defjvp
    def _jvp(primals, tangents):
        ffi.grad_notice()
        return jax.jvp(xla_flat, primals, tangents)

    return op(jax.numpy.asarray(P), x, Q)


def _vmap_rule(xla_flat, spec, batch, qr_every, axis_size, in_batched, P, x, Q):
    """The batching rule of the traced spectrum: one custom call of the batched kernel
    (`batched_spectrum.py`) when `batch` is given and it can run, else XLA's, vmapped."""
    if batch is not None:
        from . import batched_spectrum

        qr_raw, transient, plan = batch
        out = batched_spectrum.vmap_rule(
            spec, qr_raw, axis_size, in_batched, P, x, Q,
            transient=transient, qr_every=qr_every, plan=plan,
        )  # fmt: skip
        if out is not None:
            return out, (True,) * 6
    axes = tuple(0 if b else None for b in in_batched)
    return jax.vmap(xla_flat, in_axes=axes)(P, x, Q), (True,) * 6
