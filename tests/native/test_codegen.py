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


def _run_lines(lines, env):
    """Evaluate `const double tN = (...);` lines as Python on the values in `env`."""
    from chaosjax.native.codegen import LINE

    env = dict(env)
    for line in lines:
        kind, name, expr = LINE.match(line).groups()
        env[name] = eval(expr, {}, env)  # noqa: S307 - our own + - * lines
    return env


def test_products_fused_reorders_sums_of_two_products_and_a_term():
    from chaosjax.native.codegen import products_fused

    lines = [
        "const double t1 = (v0 * s1);",  # p1
        "const double t2 = (s0 * v2);",  # p2
        "const double t3 = (t1 - t2);",  # inner sum, used once
        "const double t4 = (t3 - v1);",  # (p1 - p2) - c  ->  (p1 - c) - p2
        "const double t5 = (v1 * s0);",
        "const double t6 = (v2 * s1);",
        "const double t7 = (t5 - t6);",
        "const double t8 = (v0 - t7);",  # c - (p1 - p2)  ->  (c - p1) + p2
        "const double t9 = (v0 * s0);",
        "const double t10 = (v1 * s1);",
        "const double t11 = (t9 + t10);",
        "const double t12 = (t11 + t9);",  # c is a product: left as it is
        "const double t13 = (s0 * s1);",
        "const double t14 = (s1 * s2);",
        "const double t15 = (t13 - t14);",
        "const double t16 = (t15 - s0);",  # no tangent in it: left (state stays bitwise)
        "const double t17 = (v2 * s2);",
        "const double t18 = (v1 * s2);",
        "const double t19 = (t17 + t18);",
        "const double t20 = (t19 - v0);",  # its inner sum is an output: left
    ]
    out = products_fused(lines, {"v0", "v1", "v2"}, {"t4", "t8", "t12", "t16", "t19", "t20"})
    assert "const double t3 = (t1 - v1);" in out and "const double t4 = (t3 - t2);" in out
    assert "const double t7 = (v0 - t5);" in out and "const double t8 = (t7 + t6);" in out
    for kept in (11, 12, 15, 16, 19, 20):
        assert lines[kept - 1] in out
    assert len(out) == len(lines) and out.index("const double t3 = (t1 - v1);") < out.index(
        "const double t4 = (t3 - t2);"
    )
    rng = np.random.default_rng(0)
    for _ in range(200):
        env = {
            n: float(v) for n, v in zip(("s0", "s1", "s2", "v0", "v1", "v2"), rng.normal(size=6))
        }
        a, b = _run_lines(lines, env), _run_lines(out, env)
        for name in ("t4", "t8", "t12", "t16", "t20"):
            assert b[name] == pytest.approx(a[name], rel=1e-13, abs=1e-13)
    # An inner sum used twice is not moved.
    twice = lines[:4] + ["const double t99 = (t3 * s0);"]
    assert products_fused(twice, {"v0", "v1", "v2"}, {"t4", "t99"}) == twice
