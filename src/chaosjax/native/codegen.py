"""Translation of a jaxpr into straight-line scalar C.

A value of the jaxpr is a NumPy object array of its shape; each element is a C
expression (a `str` naming a scalar computed earlier) or a Python number known when
the code is generated (constants, indices). `eval_closed` walks the equations of a
jaxpr and, through an `Emitter`, appends one `const double tN = ...;` line per scalar
operation; what it returns are the elements of the outputs. Nothing here knows about
loops or kernels: `simulate.py` and `spectrum.py` wrap these lines in their loops.

Supported: elementwise arithmetic and comparisons on float64, integers and booleans,
the transcendental functions of `<math.h>`, `select_n`, `clamp`, conversions,
broadcasting, reshapes, slices with indices known at generation time, concatenation,
padding, reductions, `dot_general` without batch dimensions, and calls (`pjit`,
`custom_jvp_call`, ...), which are inlined. Anything else raises `Unsupported`, and
the caller runs XLA instead.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

import equinox as eqx
import jax
import numpy as np
from jax.core import Tracer

try:
    from jax.extend.core import ClosedJaxpr, Literal
except ImportError:  # pragma: no cover - JAX before jax.extend.core had them
    from jax.core import ClosedJaxpr, Literal  # pyright: ignore[reportAttributeAccessIssue]


class Unsupported(Exception):
    """The jaxpr uses something the generator cannot translate."""


# --------------------------------------------------------------------------- C values
# A value of the jaxpr is a NumPy object array of its shape; each element is a C
# expression (str) or a Python number known at generation time (constants, indices).

_CTYPE = {"f": "double", "i": "long long", "u": "long long", "b": "int"}


def c_kind(dtype) -> str:
    """The C kind of a dtype: "f" (double), "i"/"u" (long long), "b" (int)."""
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


def c_expr(e, kind: str) -> str:
    """The C text of an element: a scalar's name as it is, a number as a literal."""
    return e if isinstance(e, str) else _lit(e, kind)


def _const_array(value) -> np.ndarray:
    a = np.asarray(value)
    c_kind(a.dtype)
    out = np.empty(a.shape, object)
    for idx in np.ndindex(a.shape):
        out[idx] = a[idx].item()
    return out


class Emitter:
    """Collects the C lines; `ops` overrides the C form of unary float primitives."""

    def __init__(self, ops: dict[str, str] | None = None):
        self.lines: list[str] = []
        self.names = itertools.count()
        self.ops = ops or {}
        #: name -> the name it is the negation of (`_float_arith` folds the sign).
        self.negated: dict[str, str] = {}

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
            out[idx] = r.item() if isinstance(r, np.generic) else r
        else:
            out[idx] = em.new(fmt.format(*[c_expr(v, k) for v, k in zip(vals, kinds)]), out_kind)
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
            out[idx] = _signed(em, p, x, y) or em.new(
                fmt.format(c_expr(x, "f"), c_expr(y, "f")), "f"
            )
    return out


def _signed(em, p: str, x, y) -> str | None:
    """x op y with a negated operand's sign folded, exactly (IEEE negation is exact and
    x + (-z) is x - z): x * (-z) -> -(x * z), x + (-z) -> x - z, x - (-z) -> x + z;
    so that the compiler contracts x - a * b into one fused negated multiply-add
    instead of flipping a sign bit first (the tangent equations of Lorenz63 have
    -x w). None when neither operand is a negation."""
    nx = em.negated.get(x) if isinstance(x, str) else None
    ny = em.negated.get(y) if isinstance(y, str) else None
    if p == "mul" and (nx is None) != (ny is None):
        prod = em.new(f"({c_expr(nx or x, 'f')} * {c_expr(ny or y, 'f')})", "f")
        out = em.new(f"(-{prod})", "f")
        em.negated[out] = prod
        return out
    if p in ("add", "add_any") and ny is not None:
        return em.new(f"({c_expr(x, 'f')} - {ny})", "f")
    if p in ("add", "add_any") and nx is not None:
        return em.new(f"({c_expr(y, 'f')} - {nx})", "f")
    if p == "sub" and ny is not None:
        return em.new(f"({c_expr(x, 'f')} + {ny})", "f")
    return None


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
            acc = x if acc is None else em.new(f"({c_expr(acc, kind)} * {c_expr(x, kind)})", kind)
        y >>= 1
        if y > 0:
            x = em.new(f"({c_expr(x, kind)} * {c_expr(x, kind)})", kind)
    if recip:
        if kind != "f":
            raise Unsupported("negative integer_pow of an integer")
        acc = em.new(f"(1.0 / {c_expr(acc, kind)})", kind)
    return acc


def scalar_names(prefix: str, shapes) -> list[np.ndarray]:
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


def eval_closed(em: Emitter, closed, args) -> list[np.ndarray]:
    """`_eval` of a ClosedJaxpr, its constants known at generation time."""
    return _eval(em, closed.jaxpr, [_const_array(c) for c in closed.consts], args)


def _eval(em: Emitter, jaxpr, consts, args) -> list[np.ndarray]:
    """The outputs of `jaxpr` on `consts` and `args` (arrays of C elements), its
    operations appended to `em` as C lines; `Unsupported` where it has no translation."""
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
        in_kinds = [c_kind(a.aval.dtype) for a in eqn.invars]
        if p in _CALLS:
            sub = prm.get("jaxpr") or prm.get("call_jaxpr") or prm.get("fun_jaxpr")
            if sub is None:
                raise Unsupported(p)
            if isinstance(sub, ClosedJaxpr):
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
        ok = c_kind(oaval.dtype)
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
            if p == "neg" and k0 == "f" and fmt == _UN_F["neg"]:
                for idx in np.ndindex(out.shape):
                    a, r = ins[0][idx], out[idx]
                    if isinstance(a, str) and isinstance(r, str):
                        em.negated[r] = a
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
                expr = c_expr(cases[-1][idx], ok)
                for i in range(len(cases) - 2, -1, -1):
                    cond = f"!{w}" if in_kinds[0] == "b" else f"({w} == {i})"
                    expr = f"({cond} ? {c_expr(cases[i][idx], ok)} : {expr})"
                out[idx] = em.new(expr, ok)
        elif p == "clamp":
            lo, x, hi = np.broadcast_arrays(*ins)
            if ok != "f":
                raise Unsupported("clamp on integers")
            out = np.empty(x.shape, object)
            for idx in np.ndindex(x.shape):
                xi, li, hi_ = (c_expr(a[idx], ok) for a in (x, lo, hi))
                out[idx] = em.new(f"cj_min(cj_max({xi}, {li}), {hi_})", ok)
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
                    acc = em.new(op.format(c_expr(acc, ok), c_expr(flat[(r,) + idx], ok)), ok)
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
                    term = em.new(
                        f"({c_expr(a[tuple(ia)], 'f')} * {c_expr(b[tuple(ib)], 'f')})", "f"
                    )
                    acc = term if acc is None else em.new(f"({acc} + {term})", "f")
                out[oidx] = acc if acc is not None else 0.0
        else:
            raise Unsupported(p)
        out = np.asarray(out, dtype=object)
        if out.shape != tuple(oaval.shape):
            raise Unsupported(f"{p}: shape {out.shape} != {oaval.shape}")
        env[eqn.outvars[0]] = out
    return [read(v) for v in jaxpr.outvars]


# --------------------------------------------------------------------------- common C

#: Beyond this many lines (a large network's matrix-vector product, a big state)
#: straight-line code compiles slowly: XLA's path is the better one.
MAX_LINES = 20_000

#: What every kernel starts with: the headers and the helpers the translation calls.
HEADER = """\
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

#: Two doubles in one vector register, the same value in both lanes: the type of the
#: scalars of a one-orbit loop (`in_lanes`).
LANES_TYPEDEF = "typedef double cj_f2 __attribute__((vector_size(16)));"

#: A line of `Emitter`: (C type, name, expression).
LINE = re.compile(r"^const (double|long long|int) (t\d+) = (.*);$")
_ARITH = re.compile(r"(?:\s+|[()+\-*/]|[a-z]\d+\b|\(?-?0x[0-9a-f]+(?:\.[0-9a-f]*)?p[+-]?\d+\)?)*")
_NAME = re.compile(r"\b[a-z]\d+\b")


def plain_arithmetic(expr: str) -> bool:
    """Whether the C expression `expr` is only + - * / and parentheses on names and float
    literals (no call, comparison or select)."""
    return _ARITH.fullmatch(expr) is not None


def names_in(text: str) -> list[str]:
    """The C names of scalars (t3, s0, p1, ...) that `text` uses."""
    return _NAME.findall(text)


def names_of(*arrays) -> set[str]:
    """The C names among the elements of `arrays` (what `eval_closed` returned: names,
    or literals that are not strings)."""
    return {e for a in arrays for e in np.ravel(a) if isinstance(e, str)}


def in_lanes(lines: list[str], lanes: set[str]) -> list[str]:
    """`lines` with their float arithmetic on `cj_f2` vectors, the value in both lanes.

    A one-orbit loop is bound by the latency of its chain of operations, and GCC copies
    a scalar double from register to register with `vmovsd x, x, y`, a blend with a
    cycle of latency (a fused multiply-add overwrites an operand, so a value used twice
    is copied first, on the chain). A copy of a vector is `vmovapd`, which the register
    renamer does without latency. Lane 0 computes exactly what the scalar code did (the
    same IEEE operations, the same contractions into fused multiply-adds); lane 1 the
    same again, so it never holds anything slower to compute.

    `lanes`: the names already of type `cj_f2` (the state, the parameters); the lines
    of only + - * / on names and float literals, at least one of them a vector, are
    added to it. Every other line (a call, a comparison, a select, an integer) stays
    scalar and reads lane 0 of the vectors it uses; a vector line that uses such a
    scalar splats it.
    """
    out = []
    for line in lines:
        m = LINE.match(line)
        kind, name, expr = m.groups() if m is not None else (None, "", "")
        if kind == "double" and plain_arithmetic(expr) and any(n in lanes for n in names_in(expr)):
            lanes.add(name)
            out.append(f"const cj_f2 {name} = {expr};")
        else:
            out.append(
                _NAME.sub(lambda t: t.group() + "[0]" if t.group() in lanes else t.group(), line)
            )
    return out


_BINARY = re.compile(r"^\(([a-z]\d+) ([-+*]) ([a-z]\d+)\)$")


def binary(expr: str) -> tuple[str, str, str] | None:
    """(a, op, b) of an `Emitter` expression `(a op b)` on two names, op + - or *; else
    None (literals, calls, longer expressions)."""
    b = _BINARY.match(expr)
    return None if b is None else (b.group(1), b.group(2), b.group(3))


def products_fused(lines: list[str], linear: set[str], keep: set[str]) -> list[str]:
    """`lines` with each sum of two products and one other term, `(p1 +- p2) +- c`, that
    depends on a name in `linear` (the tangent) reordered as `(p1 +- c) +- p2`.

    A derivative written by the product rule often has that form (Lorenz63's tangent y
    row, `(rho - z) dx - x dz - dy`): as written the compiler fuses one product into a
    multiply-add and the other term waits for it, three operations on the chain (a
    multiplication, a fused multiply-add, a subtraction); reordered, both products fuse
    and the chain is two fused multiply-adds. The same terms with the same signs,
    summed in another order: the values change in the last bits, so it is done only
    where nothing must be bitwise the XLA path's (the tangent; the state lines never
    depend on it). `keep`: names read after `lines` (they keep their values). A sum is
    reordered only where its inner sum is used nowhere else."""
    parsed: dict[str, tuple] = {}
    uses: dict[str, int] = {}
    linear = set(linear)
    for line in lines:
        m = LINE.match(line)
        for n in names_in(m.group(3) if m is not None else line):
            uses[n] = uses.get(n, 0) + 1
        if m is None:
            continue
        kind, defined, expr = m.groups()
        parsed[defined] = (kind, binary(expr))
        if any(n in linear for n in names_in(expr)):
            linear.add(defined)

    def product(n):
        got = parsed.get(n)
        return got is not None and got[1] is not None and got[1][1] == "*"

    def inner_sum(n):  # (p1 +- p2) of two products, used once: (p1, op, p2)
        got = parsed.get(n)
        if got is None or got[0] != "double" or got[1] is None or got[1][1] == "*":
            return None
        p1, op, p2 = got[1]
        if uses.get(n) != 1 or n in keep or not (product(p1) and product(p2)):
            return None
        return p1, op, p2

    flip = {"+": "-", "-": "+"}
    rewritten: dict[str, list[str]] = {}  # an outer sum's name: its two new lines
    moved: set[str] = set()  # the inner sums, written again just before their use
    for name, (kind, b) in parsed.items():
        if kind != "double" or b is None or b[1] == "*" or name not in linear:
            continue
        x, op, y = b
        if (got := inner_sum(x)) is not None and not product(y):
            p1, op1, p2 = got  # (p1 op1 p2) op y = (p1 op y) op1 p2
            inner, first, second = x, f"({p1} {op} {y})", f"({x} {op1} {p2})"
        elif (got := inner_sum(y)) is not None and not product(x):
            p1, op1, p2 = got  # x op (p1 op1 p2) = (x op p1) op1' p2
            second = f"({y} {op1 if op == '+' else flip[op1]} {p2})"
            inner, first = y, f"({x} {op} {p1})"
        else:
            continue
        moved.add(inner)
        rewritten[name] = [f"const double {inner} = {first};", f"const double {name} = {second};"]
    if not rewritten:
        return lines
    out = []
    for line in lines:
        m = LINE.match(line)
        if m is not None and m.group(2) in moved:
            continue
        out += rewritten.get(m.group(2), [line]) if m is not None else [line]
    return out


def tree_sum(terms: list[str]) -> str:
    """C expression: the sum of `terms` as a balanced tree (a shorter dependency chain)."""
    if len(terms) == 1:
        return terms[0]
    h = len(terms) // 2
    return f"({tree_sum(terms[:h])} + {tree_sum(terms[h:])})"


def lane_value(e, lanes: set[str]) -> str:
    """The C `cj_f2` of an element: a vector name as it is, a scalar or number splat."""
    if isinstance(e, str) and e in lanes:
        return e
    v = c_expr(e, "f")
    return f"((cj_f2){{{v}, {v}}})"


def kernel_parameters(module, *extra, traced: bool = False):
    """A module's array leaves as a kernel's parameters: (treedef, static, shapes, P, key).

    P holds the leaves' values flattened in order (the p0, p1, ... of `scalar_names`);
    key is the module's structure and static leaves plus `extra`, or None if
    unhashable. None if a leaf is not float64, or is traced and `traced` is False;
    with `traced`, P is a JAX array when a leaf is traced.
    """
    dyn, static = eqx.partition(module, eqx.is_array)
    leaves, treedef = jax.tree.flatten(dyn)
    if any(a.dtype != np.float64 for a in leaves):
        return None
    if any(isinstance(a, Tracer) for a in leaves):
        if not traced:
            return None
        params = jax.numpy.concatenate([jax.numpy.ravel(a) for a in leaves])
    else:
        flat = [np.asarray(a).reshape(-1) for a in leaves]
        params = np.ascontiguousarray(np.concatenate(flat) if flat else np.zeros(1))
    key = (treedef, jax.tree.flatten(static)[1], tuple(jax.tree.leaves(static)), *extra)
    try:
        hash(key)
    except TypeError:
        key = None
    return treedef, static, [np.shape(a) for a in leaves], params, key
