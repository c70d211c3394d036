"""Batched time averages on a CPU through generated C: one trajectory's step, as scalar code.

XLA:CPU splits one RK4 step into several loop fusions, each writing its stage arrays
to memory; a hand-written loop keeps the whole step of one trajectory in registers
(benchmarks/RESULTS.md). This module writes that loop for any system: it traces
`m.step` (with the system's array parameters as inputs) and the observable to jaxprs,
emits C for one trajectory's step and observable as straight-line scalar code, and
wraps it in a kernel where

- the time loop runs outside a `#pragma omp simd` loop over a tile of trajectories
  stored structure-of-arrays (batch innermost, contiguous), so the compiler vectorises
  across trajectories and a tile stays in L1 for its whole time loop;
- tiles are shared among the available cores by OpenMP (`schedule(dynamic)`, so a core
  taken by another process does not hold the others back).

The C is compiled once with `gcc -O3 -march=native -fopenmp` (FMA contraction allowed,
no -ffast-math: NaN and inf behave as in IEEE arithmetic) and cached as a shared
library, named by a hash of its source and flags, under `$XDG_CACHE_HOME/chaosjax`
(default `~/.cache/chaosjax`). Results agree with the XLA path to rounding (~1e-13
relative over a few hundred steps; chaotic orbits then amplify the difference, as any
change of compiler would).

The translator (`_eval`: a jaxpr to straight-line scalar C) also serves the Lyapunov
spectrum of one orbit (`lyapunov/_cgen_spectrum.py`: tangent push and QR per step, the
time loop in C), whose speed is the latency of a step rather than its throughput.

Anything the generator does not know returns None, and the caller runs the XLA path:
a primitive without a C translation (gather, scan, while, ...), a traced call (inside
`jit`, `vmap`, `grad`), a backend other than the CPU, a batch sharded over devices, a
dtype other than float64 (states, parameters, observable values), or no working `gcc`
(`$CC` if set). Divergence is left to the caller: the kernel returns the final state
(NaN/inf propagate) and the caller re-runs a diverged chunk on the XLA path to name
the step.

Environment: `CHAOSJAX_CGEN=0` turns this path off (everything runs through XLA).
The kernels use OpenMP threads (libgomp): as with XLA's own thread pool, prefer the
"spawn" start method to `fork` for worker processes that run chaosjax again.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import itertools
import os
import shutil
import subprocess
import tempfile
import threading
from typing import Any

import equinox as eqx
import jax
import numpy as np

try:
    from jax.extend.core import Literal
except ImportError:  # pragma: no cover
    from jax.core import Literal

#: Trajectories per tile: the width of the `omp simd` loop. For Lorenz63/RK4, tiles of
#: 32, 64 and 128 ran within 1 % of each other; 512-bit vectors (eight doubles) ran 1.5x
#: faster than gcc's default 256 on an AVX-512 Xeon and change nothing without AVX-512.
TILE = int(os.environ.get("CHAOSJAX_CGEN_TILE", "64"))
CFLAGS = [
    "-O3",
    "-march=native",
    "-mprefer-vector-width=512",
    "-ffp-contract=fast",
    "-fno-math-errno",
    "-fopenmp",
    "-fPIC",
    "-shared",
]


class Unsupported(Exception):
    """The jaxpr uses something the generator cannot translate."""


def enabled() -> bool:
    return os.environ.get("CHAOSJAX_CGEN", "1").strip().lower() not in ("0", "false", "no", "off")


# --------------------------------------------------------------------------- C values
# A value of the jaxpr is a NumPy object array of its shape; each element is a C
# expression (str) or a Python number known at generation time (constants, indices).

_CTYPE = {"f": "double", "i": "long long", "u": "long long", "b": "int"}


def _kind(dtype) -> str:
    dtype = np.dtype(dtype)
    if dtype == np.float64:
        return "f"
    if dtype.kind in "iu" or dtype == np.bool_:
        return dtype.kind
    raise Unsupported(f"dtype {dtype}")


def _lit(value, kind: str) -> str:
    if kind == "f":
        v = float(value)
        if np.isnan(v):
            return "NAN"
        if np.isinf(v):
            return "INFINITY" if v > 0 else "(-INFINITY)"
        return f"({v.hex()})"
    if kind == "b":
        return "1" if value else "0"
    return f"({int(value)}LL)"


def _c(e, kind: str) -> str:
    return e if isinstance(e, str) else _lit(e, kind)


def _const_array(value) -> np.ndarray:
    a = np.asarray(value)
    _kind(a.dtype)
    out = np.empty(a.shape, object)
    for idx in np.ndindex(a.shape):
        out[idx] = a[idx].item()
    return out


class _Emitter:
    """Collects the C lines; `ops` overrides the C form of unary float primitives."""

    def __init__(self, ops: dict[str, str] | None = None):
        self.lines: list[str] = []
        self.names = itertools.count()
        self.ops = ops or {}

    def new(self, expr: str, kind: str) -> str:
        name = f"t{next(self.names)}"
        self.lines.append(f"const {_CTYPE[kind]} {name} = {expr};")
        return name


_BIN = {
    "add": "({} + {})",
    "add_any": "({} + {})",  # the tangent sums of jvp/linearize
    "sub": "({} - {})",
    "mul": "({} * {})",
    "lt": "({} < {})",
    "le": "({} <= {})",
    "gt": "({} > {})",
    "ge": "({} >= {})",
    "eq": "({} == {})",
    "ne": "({} != {})",
}
_BIN_F = {
    "div": "({} / {})",
    "pow": "pow({}, {})",
    "atan2": "atan2({}, {})",
    "rem": "fmod({}, {})",
    "max": "cj_max({}, {})",
    "min": "cj_min({}, {})",
    "nextafter": "nextafter({}, {})",
}
_BIN_I = {
    "div": "({} / {})",
    "rem": "({} % {})",
    "max": "({0} > {1} ? {0} : {1})",
    "min": "({0} < {1} ? {0} : {1})",
    "and": "({} & {})",
    "or": "({} | {})",
    "xor": "({} ^ {})",
}
_BIN_B = {
    "and": "({} & {})",
    "or": "({} | {})",
    "xor": "({} ^ {})",
    "max": "({} | {})",
    "min": "({} & {})",
}
_UN_F = {
    "neg": "(-{})",
    "exp": "exp({})",
    "log": "log({})",
    "sin": "sin({})",
    "cos": "cos({})",
    "tan": "tan({})",
    "tanh": "tanh({})",
    "sinh": "sinh({})",
    "cosh": "cosh({})",
    "asin": "asin({})",
    "acos": "acos({})",
    "atan": "atan({})",
    "asinh": "asinh({})",
    "acosh": "acosh({})",
    "atanh": "atanh({})",
    "sqrt": "sqrt({})",
    "rsqrt": "(1.0 / sqrt({}))",
    "cbrt": "cbrt({})",
    "abs": "fabs({})",
    "log1p": "log1p({})",
    "expm1": "expm1({})",
    "exp2": "exp2({})",
    "floor": "floor({})",
    "ceil": "ceil({})",
    "square": "({0} * {0})",
    "logistic": "(1.0 / (1.0 + exp(-{})))",
    "sign": "cj_sign({})",
    "erf": "erf({})",
    "erfc": "erfc({})",
    "is_finite": "isfinite({})",
}
_UN_I = {
    "neg": "(-{})",
    "abs": "llabs({})",
    "sign": "(({0} > 0) - ({0} < 0))",
    "not": "(~{})",
    "square": "({0} * {0})",
}
_UN_B = {"not": "(!{})"}
_IDENTITY = {"copy", "copy_p", "optimization_barrier", "stop_gradient", "reduce_precision"}
_CALLS = {
    "pjit",
    "jit",
    "closed_call",
    "core_call",
    "remat",
    "checkpoint",
    "custom_jvp_call",
    "custom_vjp_call",
    "custom_vjp_call_jaxpr",
}
_NP_BIN = {
    "add": np.add,
    "add_any": np.add,
    "sub": np.subtract,
    "mul": np.multiply,
    "lt": np.less,
    "le": np.less_equal,
    "gt": np.greater,
    "ge": np.greater_equal,
    "eq": np.equal,
    "ne": np.not_equal,
    "max": np.maximum,
    "min": np.minimum,
    "and": np.bitwise_and,
    "or": np.bitwise_or,
}


def _elementwise(em, fmt, ins, kinds, out_kind, fold=None):
    arrays = np.broadcast_arrays(*ins)
    out = np.empty(arrays[0].shape, object)
    for idx in np.ndindex(out.shape):
        vals = [a[idx] for a in arrays]
        if fold is not None and not any(isinstance(v, str) for v in vals):
            r = fold(*vals)
            out[idx] = r.item() if hasattr(r, "item") else r
        else:
            out[idx] = em.new(fmt.format(*[_c(v, k) for v, k in zip(vals, kinds)]), out_kind)
    return out


#: x + 0, x - 0, x * 1 -> x, as XLA's algebraic simplifier does (the sums that
#: `sum(...)` starts at 0 and the unit entries of an analytic Jacobian otherwise cost an
#: operation, and latency, in every step).
_NEUTRAL = {"add": 0.0, "add_any": 0.0, "sub": 0.0, "mul": 1.0}


def _float_arith(em, p, fmt, ins):
    a, b = np.broadcast_arrays(*ins)
    unit = _NEUTRAL[p]
    out = np.empty(a.shape, object)
    for idx in np.ndindex(out.shape):
        x, y = a[idx], b[idx]
        if not isinstance(y, str) and y == unit:
            out[idx] = x
        elif p != "sub" and not isinstance(x, str) and x == unit:
            out[idx] = y
        else:
            out[idx] = em.new(fmt.format(_c(x, "f"), _c(y, "f")), "f")
    return out


def _static_int(v) -> int:
    if isinstance(v, str):
        raise Unsupported("an index computed from the state")
    return int(v)


def _integer_pow(em, x, y: int, kind: str):
    # The same multiplication order as jax.lax.integer_pow's lowering.
    if y == 0:
        return 1.0 if kind == "f" else 1
    recip, y = y < 0, abs(y)
    acc = None
    while y > 0:
        if y & 1:
            acc = x if acc is None else em.new(f"({_c(acc, kind)} * {_c(x, kind)})", kind)
        y >>= 1
        if y > 0:
            x = em.new(f"({_c(x, kind)} * {_c(x, kind)})", kind)
    if recip:
        if kind != "f":
            raise Unsupported("negative integer_pow of an integer")
        acc = em.new(f"(1.0 / {_c(acc, kind)})", kind)
    return acc


def _names(prefix: str, shapes) -> list[np.ndarray]:
    """Arrays of `shapes` whose elements name C scalars prefix0, prefix1, ..., numbered on
    across the arrays (the parameter leaves: p0, p1, ... read in order from P)."""
    counter = itertools.count()
    out = []
    for shape in shapes:
        a = np.empty(shape, object)
        for idx in np.ndindex(shape):
            a[idx] = f"{prefix}{next(counter)}"
        out.append(a)
    return out


def _eval_closed(em: _Emitter, closed, args) -> list[np.ndarray]:
    """`_eval` of a ClosedJaxpr, its constants known at generation time."""
    return _eval(em, closed.jaxpr, [_const_array(c) for c in closed.consts], args)


def _eval(em: _Emitter, jaxpr, consts, args) -> list[np.ndarray]:
    env: dict[Any, np.ndarray] = {}

    def read(a):
        if isinstance(a, Literal):
            return _const_array(a.val)
        return env[a]

    for v, c in zip(jaxpr.constvars, consts, strict=True):
        env[v] = c
    for v, a in zip(jaxpr.invars, args, strict=True):
        env[v] = a
    for eqn in jaxpr.eqns:
        p = eqn.primitive.name
        prm = eqn.params
        ins = [read(a) for a in eqn.invars]
        in_kinds = [_kind(a.aval.dtype) for a in eqn.invars]
        if p in _CALLS:
            sub = prm.get("jaxpr") or prm.get("call_jaxpr") or prm.get("fun_jaxpr")
            if sub is None:
                raise Unsupported(p)
            if hasattr(sub, "jaxpr"):
                subj, subc = sub.jaxpr, [_const_array(c) for c in sub.consts]
            else:
                subj, subc = sub, []
            nargs = len(subj.invars)
            outs = _eval(em, subj, subc, ins[len(ins) - nargs :])
            for v, o in zip(eqn.outvars, outs, strict=True):
                env[v] = o
            continue
        if eqn.primitive.multiple_results:
            if p == "split":
                cuts = np.cumsum(prm["sizes"])[:-1]
                for v, o in zip(eqn.outvars, np.split(ins[0], cuts, axis=prm["axis"]), strict=True):
                    env[v] = o
                continue
            if p in _IDENTITY:
                for v, o in zip(eqn.outvars, ins, strict=True):
                    env[v] = o
                continue
            raise Unsupported(p)
        oaval = eqn.outvars[0].aval
        ok = _kind(oaval.dtype)
        k0 = in_kinds[0] if in_kinds else ok
        if p in _IDENTITY:
            out = ins[0]
        elif p in _BIN or p in _BIN_F or p in _BIN_I or p in _BIN_B:
            table = {"f": _BIN_F, "b": _BIN_B}.get(k0, _BIN_I)
            fmt = _BIN.get(p) if p in _BIN and not (k0 == "b" and p in ("add", "mul")) else None
            fmt = fmt or table.get(p)
            if fmt is None:
                raise Unsupported(f"{p} on {k0}")
            fold = _NP_BIN.get(p) if k0 != "f" else None
            if k0 == "f" and p in _NEUTRAL:
                out = _float_arith(em, p, fmt, ins)
            else:
                out = _elementwise(em, fmt, ins, in_kinds, ok, fold)
        elif p in _UN_F or p in _UN_I or p in _UN_B:
            table = {"f": _UN_F, "b": _UN_B}.get(k0, _UN_I)
            if p not in table:
                raise Unsupported(f"{p} on {k0}")
            fmt = em.ops.get(p, table[p]) if k0 == "f" else table[p]
            out = _elementwise(em, fmt, ins, in_kinds, ok)
        elif p == "integer_pow":
            a = ins[0]
            out = np.empty(a.shape, object)
            for idx in np.ndindex(a.shape):
                out[idx] = _integer_pow(em, a[idx], int(prm["y"]), k0)
        elif p == "select_n":
            which, *cases = np.broadcast_arrays(*ins)
            out = np.empty(which.shape, object)
            for idx in np.ndindex(which.shape):
                w = which[idx]
                if not isinstance(w, str):
                    out[idx] = cases[int(w)][idx]
                    continue
                expr = _c(cases[-1][idx], ok)
                for i in range(len(cases) - 2, -1, -1):
                    cond = f"!{w}" if in_kinds[0] == "b" else f"({w} == {i})"
                    expr = f"({cond} ? {_c(cases[i][idx], ok)} : {expr})"
                out[idx] = em.new(expr, ok)
        elif p == "clamp":
            lo, x, hi = np.broadcast_arrays(*ins)
            if ok != "f":
                raise Unsupported("clamp on integers")
            out = np.empty(x.shape, object)
            for idx in np.ndindex(x.shape):
                out[idx] = em.new(
                    f"cj_min(cj_max({_c(x[idx], ok)}, {_c(lo[idx], ok)}), {_c(hi[idx], ok)})", ok
                )
        elif p == "convert_element_type":
            a = ins[0]
            out = np.empty(a.shape, object)
            for idx in np.ndindex(a.shape):
                v = a[idx]
                if k0 == ok:
                    out[idx] = v
                elif not isinstance(v, str):
                    out[idx] = np.asarray(v).astype(oaval.dtype).item()
                elif ok == "b":
                    out[idx] = em.new(f"({v} != 0)", ok)
                elif ok == "f":
                    out[idx] = em.new(f"((double){v})", ok)
                else:
                    raise Unsupported("float -> int conversion")
        elif p == "broadcast_in_dim":
            a = ins[0]
            shape, dims = tuple(prm["shape"]), tuple(prm["broadcast_dimensions"])
            tmp = a.reshape([a.shape[dims.index(d)] if d in dims else 1 for d in range(len(shape))])
            out = np.broadcast_to(tmp, shape)
        elif p in ("reshape", "squeeze", "expand_dims"):
            if p == "reshape" and prm.get("dimensions") not in (None, ()):
                raise Unsupported("reshape with dimensions")
            out = ins[0].reshape(oaval.shape)
        elif p == "slice":
            strides = prm["strides"] or [1] * len(prm["start_indices"])
            out = ins[0][
                tuple(
                    slice(s, e, st)
                    for s, e, st in zip(prm["start_indices"], prm["limit_indices"], strides)
                )
            ]
        elif p == "concatenate":
            out = np.concatenate(ins, axis=prm["dimension"])
        elif p == "stack":
            out = np.stack(ins, axis=prm["axis"])
        elif p == "transpose":
            out = np.transpose(ins[0], prm["permutation"])
        elif p == "rev":
            out = np.flip(ins[0], axis=tuple(prm["dimensions"]))
        elif p == "iota":
            shape, dim = tuple(oaval.shape), prm["dimension"]
            out = np.empty(shape, object)
            for idx in np.ndindex(shape):
                out[idx] = float(idx[dim]) if ok == "f" else idx[dim]
        elif p == "dynamic_slice":
            a, *starts = ins
            sizes = prm["slice_sizes"]
            sl = []
            for d, (s, size) in enumerate(zip(starts, sizes, strict=True)):
                s = min(max(_static_int(s.reshape(-1)[0]), 0), a.shape[d] - size)
                sl.append(slice(s, s + size))
            out = a[tuple(sl)]
        elif p == "dynamic_update_slice":
            a, upd, *starts = ins
            out = a.copy()
            sl = []
            for d, s in enumerate(starts):
                s = min(max(_static_int(s.reshape(-1)[0]), 0), a.shape[d] - upd.shape[d])
                sl.append(slice(s, s + upd.shape[d]))
            out[tuple(sl)] = upd
        elif p == "pad":
            a, pv = ins
            cfg = prm["padding_config"]
            if any(lo < 0 or hi < 0 for lo, hi, _ in cfg):
                raise Unsupported("negative padding")
            shape = [
                lo + hi + n + max(n - 1, 0) * it
                for (lo, hi, it), n in zip(cfg, a.shape, strict=True)
            ]
            out = np.empty(shape, object)
            out[...] = pv.reshape(())[()]
            out[
                tuple(
                    slice(lo, lo + (n - 1) * (it + 1) + 1 if n else lo, it + 1)
                    for (lo, _, it), n in zip(cfg, a.shape, strict=True)
                )
            ] = a
        elif p in ("reduce_sum", "reduce_max", "reduce_min", "reduce_prod"):
            a = ins[0]
            axes = tuple(prm["axes"])
            moved = np.moveaxis(a, axes, tuple(range(len(axes))))
            flat = moved.reshape((-1,) + moved.shape[len(axes) :])
            out = np.empty(oaval.shape, object)
            op = {
                "reduce_sum": "({} + {})",
                "reduce_prod": "({} * {})",
                "reduce_max": "cj_max({}, {})" if ok == "f" else "({0} > {1} ? {0} : {1})",
                "reduce_min": "cj_min({}, {})" if ok == "f" else "({0} < {1} ? {0} : {1})",
            }[p]
            for idx in np.ndindex(oaval.shape):
                acc = flat[(0,) + idx]
                for r in range(1, flat.shape[0]):
                    acc = em.new(op.format(_c(acc, ok), _c(flat[(r,) + idx], ok)), ok)
                out[idx] = acc
            if flat.shape[0] == 0:
                raise Unsupported("empty reduction")
        elif p == "dot_general":
            (lc, rc), (lb, rb) = prm["dimension_numbers"]
            if lb or rb or ok != "f":
                raise Unsupported("batched or integer dot_general")
            a, b = ins
            afree = [d for d in range(a.ndim) if d not in lc]
            bfree = [d for d in range(b.ndim) if d not in rc]
            oshape = [a.shape[d] for d in afree] + [b.shape[d] for d in bfree]
            out = np.empty(oshape, object)
            for oidx in np.ndindex(*oshape):
                acc = None
                for cidx in np.ndindex(*[a.shape[d] for d in lc]):
                    ia, ib = [0] * a.ndim, [0] * b.ndim
                    for d, i in zip(afree, oidx[: len(afree)]):
                        ia[d] = i
                    for d, i in zip(bfree, oidx[len(afree) :]):
                        ib[d] = i
                    for d, e, i in zip(lc, rc, cidx):
                        ia[d], ib[e] = i, i
                    term = em.new(f"({_c(a[tuple(ia)], 'f')} * {_c(b[tuple(ib)], 'f')})", "f")
                    acc = term if acc is None else em.new(f"({acc} + {term})", "f")
                out[oidx] = acc if acc is not None else 0.0
        else:
            raise Unsupported(p)
        out = np.asarray(out, dtype=object)
        if out.shape != tuple(oaval.shape):
            raise Unsupported(f"{p}: shape {out.shape} != {oaval.shape}")
        env[eqn.outvars[0]] = out
    return [read(v) for v in jaxpr.outvars]


# --------------------------------------------------------------------------- kernel source

#: Beyond these sizes (a large network's matrix-vector product, a big state) straight-line
#: code compiles slowly and tiles overflow the cache: XLA's path is the better one.
_MAX_LINES = 20_000
_MAX_TILE_BYTES = 256 * 1024

_HEADER = """\
#include <math.h>
#include <stdint.h>
#include <string.h>
static inline double cj_max(double a, double b) { return (a != a || a > b) ? a : b; }
static inline double cj_min(double a, double b) { return (a != a || a < b) ? a : b; }
static inline double cj_sign(double a) { return a > 0 ? 1.0 : (a < 0 ? -1.0 : a); }
/* 1/sqrt(x) with the square root and the reciprocal computed side by side: one
   division's latency less than 1.0 / sqrt(x), for loops bound by a chain of steps
   (<= 1.5 ulp instead of <= 1); the plain form where 1/x could leave the normal range. */
static inline double cj_rsqrt(double x)
{
    return (x > 0x1p-1000 && x < 0x1p1000) ? sqrt(x) * (1.0 / x) : 1.0 / sqrt(x);
}
"""

#: For one orbit's loop, whose speed is the latency of a step (a Lyapunov spectrum).
LATENCY_OPS = {"rsqrt": "cj_rsqrt({})"}


def _source(step_jaxpr, obs_jaxpr, shapes, dim: int, tile: int) -> tuple[str, int]:
    """C source of the kernel, and the number of observable scalars it accumulates.

    The step's inputs are the parameter leaves (`shapes`, elements named p0, p1, ...
    in order, read from P) and the state (s0, s1, ...)."""
    (state,), params = _names("s", [(dim,)]), _names("p", shapes)
    n_params = sum(a.size for a in params)
    em = _Emitter()
    obs_flat: list = []
    if obs_jaxpr is not None:
        outs = _eval_closed(em, obs_jaxpr, [state])
        for o, v in zip(outs, obs_jaxpr.jaxpr.outvars, strict=True):
            if _kind(v.aval.dtype) != "f":
                raise Unsupported("a non-float observable")
            obs_flat += list(np.ravel(o))
    obs_lines = list(em.lines)
    em.lines = []
    (new,) = _eval_closed(em, step_jaxpr, params + [state])
    new = np.ravel(new)
    k = len(obs_flat)
    if len(obs_lines) + len(em.lines) > _MAX_LINES or (dim + k) * tile * 8 > _MAX_TILE_BYTES:
        raise Unsupported("a step too large for straight-line code")
    ind = " " * 16
    src = [
        _HEADER,
        f"#define T {tile}",
        "",
        "void cj_kernel(const double *restrict P, double *restrict X, "
        "double *restrict A, int64_t npad, int64_t nsteps, int nthreads)",
        "{",
        "    const int64_t ntiles = npad / T;",
        "    #pragma omp parallel for schedule(dynamic, 1) num_threads(nthreads)",
        "    for (int64_t tile = 0; tile < ntiles; ++tile) {",
        "        const int64_t off = tile * T;",
    ]
    src += [f"        const double p{i} = P[{i}];" for i in range(n_params)]
    src += [f"        double x{i}[T] __attribute__((aligned(64)));" for i in range(dim)]
    src += [f"        double a{q}[T] __attribute__((aligned(64)));" for q in range(k)]
    src += [f"        memcpy(x{i}, X + {i} * npad + off, sizeof(x{i}));" for i in range(dim)]
    src += [f"        memcpy(a{q}, A + {q} * npad + off, sizeof(a{q}));" for q in range(k)]
    src += [
        "        for (int64_t s = 0; s < nsteps; ++s) {",
        "            #pragma omp simd",
        "            for (int j = 0; j < T; ++j) {",
    ]
    src += [f"{ind}const double s{i} = x{i}[j];" for i in range(dim)]
    src += [ind + line for line in obs_lines]
    src += [f"{ind}a{q} [j] += {_c(o, 'f')};".replace(" [", "[") for q, o in enumerate(obs_flat)]
    src += [ind + line for line in em.lines]
    src += [f"{ind}x{i}[j] = {_c(e, 'f')};" for i, e in enumerate(new)]
    src += ["            }", "        }"]
    src += [f"        memcpy(X + {i} * npad + off, x{i}, sizeof(x{i}));" for i in range(dim)]
    src += [f"        memcpy(A + {q} * npad + off, a{q}, sizeof(a{q}));" for q in range(k)]
    src += ["    }", "}", ""]
    return "\n".join(src), k


# --------------------------------------------------------------------------- compiler

_lock = threading.Lock()
_no_compiler: set[str] = set()  # compilers found missing
_libs: dict[str, Any] = {}


def _cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "chaosjax")


@functools.cache
def _cpu_fingerprint() -> str:
    """The processor's model and instruction-set flags (what -march=native depends on)."""
    import platform

    parts = [platform.machine()]
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith(("model name", "flags", "Features", "CPU part")):
                    parts.append(line.strip())
                if line.strip() == "":
                    break  # the first processor is enough
    except OSError:
        parts.append(platform.processor())
    return "\n".join(parts)


_KERNEL_ARGS = [
    ctypes.c_void_p,
    ctypes.c_void_p,
    ctypes.c_void_p,
    ctypes.c_int64,
    ctypes.c_int64,
    ctypes.c_int,
]


def _compile(src: str, argtypes=None):
    """The kernel function `cj_kernel` of `src`, compiled (or found in the cache), with
    ctypes `argtypes` (default: the time-average kernel's); None if gcc fails."""
    cc = os.environ.get("CC") or "gcc"
    # -march=native code is only valid on this kind of CPU: a cache shared between
    # machines (an HPC home directory) must not hand an AVX-512 build to another CPU.
    key = hashlib.sha256("\0".join([cc, *CFLAGS, _cpu_fingerprint(), src]).encode())
    key = key.hexdigest()[:32]
    argtypes = _KERNEL_ARGS if argtypes is None else list(argtypes)
    with _lock:
        if key in _libs:
            return _libs[key]
        fn = None
        if cc not in _no_compiler:
            try:
                fn = _load(_build(src, cc, key), argtypes)
            except (OSError, subprocess.SubprocessError, AttributeError):
                fn = None
        _libs[key] = fn
        return fn


def _build(src: str, cc: str, key: str) -> str:
    directory = _cache_dir()
    path = os.path.join(directory, f"cgen-{key}.so")
    if os.path.exists(path):
        return path
    if shutil.which(cc) is None:
        _no_compiler.add(cc)
        raise OSError(f"no C compiler {cc!r}")
    os.makedirs(directory, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=directory) as tmp:
        c_file, so_file = os.path.join(tmp, "k.c"), os.path.join(tmp, "k.so")
        with open(c_file, "w") as fh:
            fh.write(src)
        subprocess.run(
            [cc, *CFLAGS, c_file, "-o", so_file, "-lm"],
            check=True,
            capture_output=True,
            timeout=120,
        )
        os.replace(so_file, path)  # atomic: concurrent builders write the same bytes
    return path


def _load(path: str, argtypes):
    lib = ctypes.CDLL(path)
    fn = lib.cj_kernel
    fn.restype = None
    fn.argtypes = argtypes
    fn._lib = lib  # keep the library alive with the function
    return fn


# --------------------------------------------------------------------------- kernels

_kernels: dict[Any, Any] = {}


def cores() -> int:
    """The cores this process may run on (its affinity where the OS tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def _split(module, *extra):
    """A module's array leaves as a kernel's parameters: (treedef, static, shapes, P, key).

    P holds the leaves' values flattened in order (the p0, p1, ... of `_names`); key is
    the module's structure and static leaves plus `extra`, or None if unhashable. None
    if a leaf is traced or not float64.
    """
    dyn, static = eqx.partition(module, eqx.is_array)
    leaves, treedef = jax.tree.flatten(dyn)
    if any(isinstance(a, jax.core.Tracer) or a.dtype != np.float64 for a in leaves):
        return None
    flat = [np.asarray(a).reshape(-1) for a in leaves]
    params = np.ascontiguousarray(np.concatenate(flat) if flat else np.zeros(1))
    key = (treedef, jax.tree.flatten(static)[1], tuple(jax.tree.leaves(static)), *extra)
    try:
        hash(key)
    except TypeError:
        key = None
    return treedef, static, [np.shape(a) for a in leaves], params, key


def _cached(cache: dict, key, make):
    """make(), kept in `cache` under `key` (None: not kept). Bounded: a new lambda per
    call is a new key."""
    if key is None:
        return make()
    if key not in cache:
        if len(cache) >= 256:
            cache.clear()
        cache[key] = make()
    return cache[key]


def _kernel_for(m, observable, dim: int):
    """(fn, params, k) for this map structure and observable, or None."""
    split = _split(m, observable, dim)
    if split is None:
        return None
    treedef, static, shapes, params, key = split
    entry = _cached(_kernels, key, lambda: _generate(treedef, static, shapes, observable, dim))
    return None if entry is None else (entry[0], params, entry[1])


def _generate(treedef, static, shapes, observable, dim):
    spec = jax.ShapeDtypeStruct((dim,), np.float64)
    param_specs = [jax.ShapeDtypeStruct(s, np.float64) for s in shapes]

    def step(leaves, x):
        return eqx.combine(jax.tree.unflatten(treedef, leaves), static).step(x)

    try:
        step_jaxpr = jax.make_jaxpr(step)(param_specs, spec)
        obs_jaxpr = None
        if observable is not None:
            obs_jaxpr = jax.make_jaxpr(lambda x: jax.tree.leaves(observable(x)))(spec)
        out = step_jaxpr.out_avals
        if len(out) != 1 or tuple(out[0].shape) != (dim,) or out[0].dtype != np.float64:
            return None
        src, k = _source(step_jaxpr, obs_jaxpr, shapes, dim, TILE)
    except Unsupported:
        return None
    except Exception:  # noqa: BLE001 - a trace that fails here fails on the XLA path too
        return None
    fn = _compile(src)
    return None if fn is None else (fn, k)


def sum_chunk(m, x, acc, observable, n: int):
    """(x_end, acc_end) of `n` steps adding observable(x_k) before each step, or None.

    x: a concrete float64 batch (B, dim) on one CPU device; acc: the running sums, a
    pytree of (B, *shape) float64 arrays matching observable's output.
    """
    return _run(m, x, acc, observable, n)


def advance(m, x, n: int):
    """The batch x after `n` steps, or None (see `sum_chunk`)."""
    out = _run(m, x, None, None, n)
    return None if out is None else out[0]


def _run(m, x, acc, observable, n):
    if not enabled() or jax.default_backend() != "cpu" or n <= 0:
        return None
    if any(isinstance(leaf, jax.core.Tracer) for leaf in [x, *jax.tree.leaves(acc)]):
        return None  # (a traced parameter of m: `_split` says None)
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
    fn, params, k = got
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
    fn(params.ctypes.data, X.ctypes.data, A.ctypes.data, npad, int(n), cores())
    x_end = jax.numpy.asarray(np.ascontiguousarray(X[:, :B].T))
    sums, row = [], 0
    for a in acc_leaves:
        size = int(np.prod(a.shape[1:]))
        sums.append(
            jax.numpy.asarray(np.ascontiguousarray(A[row : row + size, :B].T).reshape(a.shape))
        )
        row += size
    return x_end, jax.tree.unflatten(acc_tree, sums)
