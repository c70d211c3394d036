"""The Lyapunov spectrum of one orbit in generated C: the whole time loop in registers.

XLA:CPU compiles one tangent step plus QR into several small kernels per step; the
loop of one orbit is latency-bound, so each kernel launch costs more than its
arithmetic (docs/lyapunov.md, Speed). Here the functions the XLA kernel runs -- the
push `(x, Q) -> (F(x), DF(x) Q)` and a QR in its raw form `V -> (Q, diag R^2)` -- are
traced to jaxprs, translated to straight-line scalar C (`codegen.py`), and the whole
time loop (blocks of `qr_every` pushes, one QR, a history row every so many blocks)
runs in C with the state, basis and sums in registers. The sums of log diag R are
kept as running products with their binary exponents split off each step (exact
scaling by a power of two), so a step takes no logarithm; the logarithms are taken per
history row.

`lyapunov_spectrum` follows the caller's plan of transient, history rows and tail and
marks divergence as the XLA kernel does; it returns None when the call is not
supported, and the caller runs its XLA kernel.
"""

from __future__ import annotations

import ctypes
from typing import Any

import equinox as eqx
import jax
import numpy as np
from jax.core import Tracer

from .codegen import (
    HEADER,
    LATENCY_OPS,
    MAX_LINES,
    Emitter,
    Unsupported,
    c_expr,
    eval_closed,
    kernel_parameters,
    scalar_names,
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


_SPLIT = """
/* m with its binary exponent moved to *e (m in [1, 2) after); zero, subnormal,
   infinite and NaN products are left as they are (their logarithm says it all). */
static inline double cj_split(double m, int64_t *e)
{
    uint64_t u;
    memcpy(&u, &m, 8);
    const int64_t b = (int64_t)((u >> 52) & 0x7ff);
    if (b != 0 && b != 0x7ff) {
        *e += b - 1023;
        u = (u & 0x800fffffffffffffULL) | (1023ULL << 52);
        memcpy(&m, &u, 8);
    }
    return m;
}
"""


def _sum(i: int) -> str:
    """C expression: the log-sum of column i so far."""
    return f"a{i} + 0.5 * (log(m{i}) + (double)e{i} * 0.69314718055994530942)"


def _source(push_jaxpr, qr_jaxpr, shapes, dim: int, k: int) -> str:
    em = Emitter(LATENCY_OPS)
    params = scalar_names("p", shapes)
    n_params = sum(int(np.prod(shape, dtype=int)) for shape in shapes)
    s_in, v_in = scalar_names("s", [(dim,)])[0], scalar_names("v", [(dim, k)])[0]
    x_new, V_new = eval_closed(em, push_jaxpr, params + [s_in, v_in])
    push_lines, em.lines = em.lines, []
    Q_new, g = eval_closed(em, qr_jaxpr, [scalar_names("w", [(dim, k)])[0]])
    qr_lines = em.lines
    if len(push_lines) + len(qr_lines) > MAX_LINES:
        raise Unsupported("a step too large for straight-line code")
    f = lambda e: c_expr(e, "f")  # noqa: E731
    x_new, V_new = np.ravel(x_new), np.ravel(V_new)
    Q_new, g = np.ravel(Q_new), np.ravel(g)
    nq = dim * k
    i3, i4 = " " * 12, " " * 16
    src = [
        HEADER,
        _SPLIT,
        "void cj_kernel(const double *restrict P, double *restrict Y, double *restrict H, "
        "int64_t nrows, int64_t nblocks, int64_t blen)",
        "{",
    ]
    src += [f"    const double p{i} = P[{i}];" for i in range(n_params)]
    src += [f"    double x{i} = Y[{i}];" for i in range(dim)]
    src += [f"    double q{i} = Y[{dim + i}];" for i in range(nq)]
    # Y: state, basis, the log-sums a at the start of the run, the running products m
    # and binary exponents e since then (carried from call to call, so a run split into
    # calls sums exactly as one call), and the log-sums now (written back).
    o = dim + nq
    src += [f"    const double a{i} = Y[{o + i}];" for i in range(k)]
    src += [f"    double m{i} = Y[{o + k + i}];" for i in range(k)]
    src += [f"    int64_t e{i} = (int64_t)Y[{o + 2 * k + i}];" for i in range(k)]
    src += [
        "    for (int64_t r = 0; r < nrows; ++r) {",
        "        for (int64_t b = 0; b < nblocks; ++b) {",
        "            for (int64_t j = 0; j < blen; ++j) {",
    ]
    src += [f"{i4}const double s{i} = x{i};" for i in range(dim)]
    src += [f"{i4}const double v{i} = q{i};" for i in range(nq)]
    src += [i4 + line for line in push_lines]
    src += [f"{i4}x{i} = {f(e)};" for i, e in enumerate(x_new)]
    src += [f"{i4}q{i} = {f(e)};" for i, e in enumerate(V_new)]
    src += [f"{i3}}}", f"{i3}{{"]
    src += [f"{i4}const double w{i} = q{i};" for i in range(nq)]
    src += [i4 + line for line in qr_lines]
    src += [f"{i4}q{i} = {f(e)};" for i, e in enumerate(Q_new)]
    # g = r_ii^2 multiplied into m_i, whose binary exponent moves to e_i every step:
    # sum log r_ii = (log m_i + e_i log 2) / 2, a logarithm only per history row.
    src += [f"{i4}m{i} = cj_split(m{i} * ({f(e)}), &e{i});" for i, e in enumerate(g)]
    src += [f"{i3}}}", "        }", "        if (H) {"]
    src += [f"{i3}H[r * {k + 1} + {i}] = {_sum(i)};" for i in range(k)]
    finite = " && ".join(f"isfinite(x{i})" for i in range(dim))
    src += [f"{i3}H[r * {k + 1} + {k}] = ({finite}) ? 1.0 : 0.0;", "        }", "    }"]
    src += [f"    Y[{i}] = x{i};" for i in range(dim)]
    src += [f"    Y[{dim + i}] = q{i};" for i in range(nq)]
    src += [f"    Y[{o + k + i}] = m{i};" for i in range(k)]
    src += [f"    Y[{o + 2 * k + i}] = (double)e{i};" for i in range(k)]
    src += [f"    Y[{o + 3 * k + i}] = {_sum(i)};" for i in range(k)]
    src += ["}", ""]
    return "\n".join(src)


def _kernel_for(push, qr_raw, dim: int, k: int, traced: bool = False):
    """(fn, params, (treedef, static, shapes)) for this push structure and QR, or None."""
    split = kernel_parameters(push, qr_raw, dim, k, traced=traced)
    if split is None:
        return None
    treedef, static, shapes, params, key = split
    fn = cached(_kernels, key, lambda: _generate(treedef, static, shapes, qr_raw, dim, k))
    return None if fn is None else (fn, params, (treedef, static, shapes))


def _generate(treedef, static, shapes, qr_raw, dim, k):
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
        src = _source(pj, qj, shapes, dim, k)
    except Unsupported:
        return None
    except Exception:  # noqa: BLE001 - a trace that fails here fails on the XLA path too
        return None
    return compile_kernel(src, _ARGS)


_PUSHES_PER_CALL = 1 << 26
"""Work of one call to the kernel, in pushes x dim x k x (dim + k): about 0.1-0.2 s, so
that Ctrl-C (delivered between calls) stops a long run at once."""


def restart(Y, o: int, k: int) -> None:
    """Zero the log-sums in `Y` (a run starts): a = 0, m = 1, e = 0."""
    Y[o : o + k], Y[o + k : o + 2 * k], Y[o + 2 * k : o + 3 * k] = 0.0, 1.0, 0.0


class _Runner:
    """Calls to the kernel of at most `per_call` pushes: the blocks of one history row
    (or of the transient, or the tail) split into calls, the row written by the last."""

    def __init__(self, fn, P, Y, qr_every: int, per_call: int):
        self.fn, self.pp, self.py = fn, P.ctypes.data, Y.ctypes.data
        self.per_call = max(1, per_call // max(1, qr_every))  # whole blocks per call

    def blocks(self, n: int, length: int, row=None) -> None:
        """n blocks of `length` pushes; the history row `row` (a NumPy view) after them."""
        if n <= 0 or length <= 0:
            return
        while n > self.per_call:
            self.fn(self.pp, self.py, None, 1, self.per_call, length)
            n -= self.per_call
        self.fn(self.pp, self.py, None if row is None else row.ctypes.data, 1, n, length)


def _finite(a) -> bool:
    return bool(np.isfinite(a).all())


def lyapunov_spectrum(push, qr_raw, x, Q, *, transient: int, qr_every: int, plan, xla=None):
    """Benettin's loop for one orbit in C: what the caller's XLA kernel returns, or None.

    **Arguments:**

    - `push`: a Module `(x, Q) -> (F(x), DF(x) Q)`; its array leaves become the kernel's
      parameters.
    - `qr_raw`: `V -> (Q, g)` with log diag R = log(g) / 2.
    - `x`, `Q`: the concrete float64 state (dim,) and basis (dim, k) on one CPU device.
    - `transient`: steps run first (state and basis), their sums discarded.
    - `qr_every`: pushes per QR.
    - `plan`: (rows, blocks_per_row, tail_blocks, tail_steps): `rows` history rows of
      `blocks_per_row` blocks of `qr_every` pushes, then `tail_blocks` blocks and a last
      partial block of `tail_steps` pushes.

    - `xla`: the caller's XLA kernel `(push, x, Q) -> (the same six results)`; given,
      a traced call (inside jit, vmap or grad) runs the kernel as an XLA custom call,
      differentiated through `xla`; vmapped, the batched kernel of
      `batched_spectrum.py` (else `xla`, vmapped).

    **Returns:** NumPy arrays (final state, basis, log-sums, history of log-sums (rows, k),
    divergence step, state after the transient), the divergence step being 0 for the
    transient, the end of the first non-finite history row, `steps` for the tail, or -1;
    None when unsupported (not float64, traced, not on a CPU, a primitive without a
    translation, no compiler, `CHAOSJAX_CGEN=0`).
    """
    if not enabled() or jax.default_backend() != "cpu":
        return None
    if any(isinstance(a, Tracer) for a in (x, Q, *jax.tree.leaves(push))):
        if xla is None:
            return None
        return _traced(push, qr_raw, x, Q, transient, qr_every, plan, xla)
    for a in (x, Q):
        if not isinstance(a, (jax.Array, np.ndarray)):
            return None
        if a.dtype != np.float64 or (isinstance(a, jax.Array) and len(a.devices()) > 1):
            return None
    if x.ndim != 1 or Q.ndim != 2 or Q.shape[0] != x.shape[0]:
        return None
    dim, k = Q.shape
    got = _kernel_for(push, qr_raw, dim, k)
    if got is None:
        return None
    fn, P, _ = got
    nq = dim * k
    sums = slice(dim + nq + 3 * k, dim + nq + 4 * k)
    Y = np.zeros(dim + nq + 4 * k)
    Y[:dim], Y[dim : dim + nq] = np.asarray(x, np.float64), np.asarray(Q, np.float64).ravel()
    restart(Y, dim + nq, k)
    run = _Runner(fn, P, Y, qr_every, max(1, _PUSHES_PER_CALL // (dim * k * (dim + k))))
    tb, trem = divmod(transient, qr_every)
    run.blocks(tb, qr_every)
    run.blocks(1 if trem else 0, trem)
    x_run = Y[:dim].copy()
    div = -1 if _finite(Y[:dim]) and _finite(Y[sums]) else 0
    restart(Y, dim + nq, k)
    rows, per_row, tail_blocks, tail_steps = plan
    steps = (rows * per_row + tail_blocks) * qr_every + tail_steps
    row_len = per_row * qr_every
    H = np.zeros((rows, k + 1))
    for r in range(rows):
        run.blocks(per_row, qr_every, H[r])
    if rows and div < 0:
        bad = ~((H[:, k] == 1.0) & np.isfinite(H[:, :k]).all(axis=1))
        if bad.any():
            div = (int(np.argmax(bad)) + 1) * row_len
    run.blocks(tail_blocks, qr_every)
    run.blocks(1 if tail_steps else 0, tail_steps)
    if div < 0 and not (_finite(Y[:dim]) and _finite(Y[sums])):
        div = steps
    Y[dim + nq : dim + nq + k] = Y[sums]
    return (  # NumPy arrays: the caller finishes in NumPy
        Y[:dim].copy(),
        Y[dim : dim + dim * k].reshape(dim, k).copy(),
        Y[sums].copy(),
        H[:, :k].copy(),
        np.asarray(div, jax.dtypes.canonicalize_dtype(np.int64)),
        x_run,
    )


def _traced(push, qr_raw, x, Q, transient, qr_every, plan, xla):
    """`lyapunov_spectrum` of traced values as an XLA custom call (JAX arrays), or None."""
    from . import batched_spectrum, ffi

    if jax.device_count() > 1 or x.ndim != 1 or Q.ndim != 2 or Q.shape[0] != x.shape[0]:
        return None
    if x.dtype != np.float64 or Q.dtype != np.float64:
        return None
    dim, k = Q.shape
    got = _kernel_for(push, qr_raw, dim, k, traced=True)
    if got is None:
        return None
    fn, P, (treedef, static, shapes) = got
    name = ffi.register(fn)
    if name is None:
        return None
    jnp = jax.numpy
    sizes = [int(np.prod(s, dtype=int)) for s in shapes]
    offsets = np.cumsum([0, *sizes])

    def xla_flat(P, x, Q):
        leaves = [P[o : o + z].reshape(s) for o, z, s in zip(offsets, sizes, shapes, strict=False)]
        return xla(eqx.combine(jax.tree.unflatten(treedef, leaves), static), x, Q)

    rows, per_row, tail_blocks, tail_steps = plan
    steps = (rows * per_row + tail_blocks) * qr_every + tail_steps
    nq = dim * k
    o = dim + nq

    def native(P, x, Q):
        Y = jnp.concatenate(
            [x, Q.reshape(-1), jnp.zeros(k), jnp.ones(k), jnp.zeros(k), jnp.zeros(k)]
        )
        Y, H, XR = ffi.spectrum_call(
            name, P, Y, dim=dim, k=k, transient=transient, qr_every=qr_every, plan=plan
        )
        sums = Y[o + 3 * k : o + 4 * k]
        count = jax.dtypes.canonicalize_dtype(np.int64)
        div = jnp.where(XR[dim] == 1.0, -1, 0).astype(count)
        if rows:
            bad = ~((H[:, k] == 1.0) & jnp.isfinite(H[:, :k]).all(axis=1))
            first = ((jnp.argmax(bad) + 1) * per_row * qr_every).astype(count)
            div = jnp.where((div < 0) & bad.any(), first, div)
        ok = jnp.isfinite(Y[:dim]).all() & jnp.isfinite(sums).all()
        div = jnp.where((div < 0) & ~ok, jnp.asarray(steps, count), div)
        return Y[:dim], Y[dim:o].reshape(dim, k), sums, H[:, :k], div, XR[:dim]

    @jax.custom_batching.custom_vmap
    def batched(P, x, Q):
        return native(P, x, Q)

    @batched.def_vmap
    def _rule(axis_size, in_batched, P, x, Q):  # the batched kernel, else XLA's, vmapped
        out = batched_spectrum.vmap_rule(
            (treedef, static, shapes), qr_raw, axis_size, in_batched, P, x, Q,
            transient=transient, qr_every=qr_every, plan=plan,
        )  # fmt: skip
        if out is not None:
            return out, (True,) * 6
        axes = tuple(0 if b else None for b in in_batched)
        return jax.vmap(xla_flat, in_axes=axes)(P, x, Q), (True,) * 6

    @jax.custom_jvp
    def op(P, x, Q):
        return batched(P, x, Q)

    @op.defjvp
    def _jvp(primals, tangents):
        ffi.grad_notice()
        return jax.jvp(xla_flat, primals, tangents)

    return op(jnp.asarray(P), x, Q)
