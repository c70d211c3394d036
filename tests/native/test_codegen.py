"""The jaxpr -> C translation (native/codegen.py): a negated operand's sign folded into
the operation that uses it, exactly."""

import ctypes
import itertools
import shutil

import jax
import numpy as np
import pytest

from chaosjax.native import compile as cc
from chaosjax.native.codegen import HEADER, Emitter, c_expr, eval_closed, scalar_names

needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None, reason="no gcc")


def f(a, b, c):
    n = -c
    return a + b * n, a - n, n + a, b * n, n * n


@needs_gcc
def test_negations_folded_exactly():
    closed = jax.make_jaxpr(f)(1.0, 2.0, 3.0)
    em = Emitter()
    s = scalar_names("s", [(3,)])[0]
    outs = eval_closed(em, closed, [s[i : i + 1].reshape(()) for i in range(3)])
    names = [c_expr(np.asarray(o).item(), "f") for o in outs]
    expr = {line.split()[2]: line.split(" = ")[1].rstrip(";") for line in em.lines}
    # a + b (-c) -> a - b c (one fused negated multiply-add, no sign flip first);
    # a - (-c) -> a + c; (-c) + a -> a - c; b (-c) -> -(b c); (-c) (-c) as it is.
    prod = expr[names[0]].split(" - ")[1].rstrip(")")
    assert expr[names[0]] == f"(s0 - {prod})" and expr[prod] == "(s1 * s2)"
    assert (expr[names[1]], expr[names[2]]) == ("(s0 + s2)", "(s0 - s2)")
    assert expr[names[3]].startswith("(-t") and expr[expr[names[3]][2:-1]] == "(s1 * s2)"
    neg = expr[names[4]].split(" * ")[0].lstrip("(")
    assert expr[neg] == "(-s2)"
    body = "\n".join(f"    {line}" for line in em.lines)
    stores = "\n".join(f"    y[{i}] = {n};" for i, n in enumerate(names))
    src = (
        f"{HEADER}\nvoid cj_kernel(const double *x, double *y, long n)\n{{\n"
        "  for (long i = 0; i < n; ++i, x += 3, y += 5) {\n"
        "    const double s0 = x[0], s1 = x[1], s2 = x[2];\n"
        f"{body}\n{stores}\n  }}\n}}\n"
    )
    fn = cc.compile_kernel(src, [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_long])
    assert fn is not None
    # Small integers and signed zeros (every product exact, fused or not), inf and NaN.
    vals = [0.0, -0.0, 1.0, -2.0, 3.0, np.inf, -np.inf]
    x = np.array(list(itertools.product(vals, repeat=3)))
    y = np.empty((len(x), 5))
    fn(x.ctypes.data, y.ctypes.data, len(x))
    with np.errstate(invalid="ignore"):
        want = np.stack(f(x[:, 0], x[:, 1], x[:, 2]), axis=1)
    # Bit for bit, NaN's sign aside.
    same = (y.view(np.int64) == want.view(np.int64)) | (np.isnan(y) & np.isnan(want))
    assert same.all()
