"""Lyapunov benchmarks: chaosjax against numba, lyapynov, lyapax and nolds, in one run.

    python benchmarks/lyapunov.py [--repeats 5] [--quick] [--sweeps] [--markdown FILE]

Tasks:
- Lorenz63 full spectrum, RK4, dt = 0.01, 1e5 steps;
- Henon full spectrum, 1e6 iterations;
- Rosenstein's largest exponent from 10,000 samples of Lorenz63 x;
- batches of Lorenz63 orbits in the call styles of JAX users: `jax.jit(jax.vmap(...))` of
  `cj.lyapunov_spectrum` over initial states and over rho, and of `cj.max_lyapunov` over
  rho, beside the chunked structure-of-arrays numba peers of `_numba_peers.py` and
  numba's `prange` over the same orbits one at a time.

Every variant runs in this process, interleaved, with a warm-up (compilation) first;
the figures are medians of `--repeats` runs. lyapynov (pure NumPy, one Python loop
iteration per step) is timed on 1/10 of the steps and scaled, which is said in the
table. Ratios are "peer time / chaosjax time": above 1, chaosjax is faster. Each timed
call starts after a 50 ms pause: XLA's thread pool spins for a while after a JAX
variant, and on a two-core machine that slowed whichever variant came next by ~35 %.
"""

from __future__ import annotations

import argparse
import importlib.resources
import importlib.util
import math
import os
import pathlib
import platform
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np
from _calls import measure
from _harness import Out

import chaosjax as cj

cj.enable_x64()

#: Every table line, printed and collected for --markdown.
out = Out()

try:
    import numba
except ImportError:  # pragma: no cover
    numba = None


# --------------------------------------------------------------------------- peers


def import_nolds():
    """nolds 0.6.3 fails to import on Python 3.11 (`importlib.resources.files` on the
    module nolds.datasets): resolve that call to the package directory."""
    if importlib.util.find_spec("nolds") is None:
        return None
    original = importlib.resources.files

    def files(package):
        try:
            return original(package)
        except TypeError:
            return pathlib.Path(importlib.util.find_spec("nolds").origin).parent

    importlib.resources.files = files
    try:
        import nolds
    finally:
        importlib.resources.files = original
    return nolds


def _version(dist):
    from importlib.metadata import version

    return version(dist)


def optional(name):
    try:
        return __import__(name)
    except Exception:  # noqa: BLE001 - a peer that fails to import is reported missing
        return None


if numba is not None:

    @numba.njit(cache=False)
    def _lorenz_rhs_tangent(x, Q, sigma, rho, beta, fx, FQ):
        u, v, w = x[0], x[1], x[2]
        fx[0] = sigma * (v - u)
        fx[1] = u * (rho - w) - v
        fx[2] = u * v - beta * w
        for j in range(3):
            a, b, c = Q[0, j], Q[1, j], Q[2, j]
            FQ[0, j] = sigma * (b - a)
            FQ[1, j] = (rho - w) * a - b - u * c
            FQ[2, j] = v * a + u * b - beta * c

    @numba.njit(cache=False)
    def numba_lorenz_spectrum(x0, n, dt, sigma, rho, beta):
        """Exact RK4 tangent (RK4 of the variational system) + modified Gram-Schmidt."""
        x = x0.copy()
        Q = np.eye(3)
        s = np.zeros(3)
        k1, k2, k3, k4 = np.zeros(3), np.zeros(3), np.zeros(3), np.zeros(3)
        K1, K2, K3, K4 = (np.zeros((3, 3)), np.zeros((3, 3)), np.zeros((3, 3)), np.zeros((3, 3)))
        xt, Qt = np.zeros(3), np.zeros((3, 3))
        for _ in range(n):
            _lorenz_rhs_tangent(x, Q, sigma, rho, beta, k1, K1)
            xt[:] = x + 0.5 * dt * k1
            Qt[:, :] = Q + 0.5 * dt * K1
            _lorenz_rhs_tangent(xt, Qt, sigma, rho, beta, k2, K2)
            xt[:] = x + 0.5 * dt * k2
            Qt[:, :] = Q + 0.5 * dt * K2
            _lorenz_rhs_tangent(xt, Qt, sigma, rho, beta, k3, K3)
            xt[:] = x + dt * k3
            Qt[:, :] = Q + dt * K3
            _lorenz_rhs_tangent(xt, Qt, sigma, rho, beta, k4, K4)
            x += dt / 6.0 * (k1 + 2.0 * (k2 + k3) + k4)
            Q += dt / 6.0 * (K1 + 2.0 * (K2 + K3) + K4)
            for j in range(3):
                for i in range(j):
                    c = Q[0, i] * Q[0, j] + Q[1, i] * Q[1, j] + Q[2, i] * Q[2, j]
                    for r in range(3):
                        Q[r, j] -= c * Q[r, i]
                nrm = np.sqrt(Q[0, j] ** 2 + Q[1, j] ** 2 + Q[2, j] ** 2)
                s[j] += np.log(nrm)
                for r in range(3):
                    Q[r, j] /= nrm
        return s / (n * dt)

    # The fastest numba loop we could write for the Lorenz63 spectrum: every value a
    # scalar local (the state, the 3 x 3 basis, the RK4 stages: no array, no allocation
    # in the loop), the exact linearisation of the RK4 step (RK4 of the variational
    # system, each stage's Jacobian at that stage's state), modified Gram-Schmidt in
    # place, one log per column per step. Small functions are inlined by numba
    # (inline="always") and return tuples of floats, which stay in registers.

    @numba.njit(inline="always")
    def _f(x, y, z, sigma, rho, beta):
        return sigma * (y - x), x * (rho - z) - y, x * y - beta * z

    @numba.njit(inline="always")
    def _jq(x, y, z, a, b, c, sigma, rho, beta):
        return sigma * (b - a), (rho - z) * a - b - x * c, y * a + x * b - beta * c

    @numba.njit(inline="always")
    def _stage(x, y, z, q, h, k, K, sigma, rho, beta):
        """The next RK4 stage from point (x, y, z) + h k and columns q + h K."""
        xs, ys, zs = x + h * k[0], y + h * k[1], z + h * k[2]
        f = _f(xs, ys, zs, sigma, rho, beta)
        c0 = _jq(xs, ys, zs, q[0] + h * K[0], q[1] + h * K[1], q[2] + h * K[2], sigma, rho, beta)
        c1 = _jq(xs, ys, zs, q[3] + h * K[3], q[4] + h * K[4], q[5] + h * K[5], sigma, rho, beta)
        c2 = _jq(xs, ys, zs, q[6] + h * K[6], q[7] + h * K[7], q[8] + h * K[8], sigma, rho, beta)
        return f, (c0[0], c0[1], c0[2], c1[0], c1[1], c1[2], c2[0], c2[1], c2[2])

    @numba.njit(fastmath={"contract"}, cache=False)
    def numba_lorenz_spectrum_scalar(x0, n, dt, sigma, rho, beta):
        """Scalar locals, exact RK4 linearisation, in-place MGS (see above)."""
        x, y, z = x0[0], x0[1], x0[2]
        # q: the basis by columns (q0 q1 q2 = column 0, ...).
        q = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)
        zero3 = (0.0, 0.0, 0.0)
        zero9 = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
        s0 = s1 = s2 = 0.0
        h2, h6 = 0.5 * dt, dt / 6.0
        for _ in range(n):
            k1, K1 = _stage(x, y, z, q, 0.0, zero3, zero9, sigma, rho, beta)
            k2, K2 = _stage(x, y, z, q, h2, k1, K1, sigma, rho, beta)
            k3, K3 = _stage(x, y, z, q, h2, k2, K2, sigma, rho, beta)
            k4, K4 = _stage(x, y, z, q, dt, k3, K3, sigma, rho, beta)
            x += h6 * (k1[0] + 2.0 * (k2[0] + k3[0]) + k4[0])
            y += h6 * (k1[1] + 2.0 * (k2[1] + k3[1]) + k4[1])
            z += h6 * (k1[2] + 2.0 * (k2[2] + k3[2]) + k4[2])
            a0 = q[0] + h6 * (K1[0] + 2.0 * (K2[0] + K3[0]) + K4[0])
            b0 = q[1] + h6 * (K1[1] + 2.0 * (K2[1] + K3[1]) + K4[1])
            c0 = q[2] + h6 * (K1[2] + 2.0 * (K2[2] + K3[2]) + K4[2])
            a1 = q[3] + h6 * (K1[3] + 2.0 * (K2[3] + K3[3]) + K4[3])
            b1 = q[4] + h6 * (K1[4] + 2.0 * (K2[4] + K3[4]) + K4[4])
            c1 = q[5] + h6 * (K1[5] + 2.0 * (K2[5] + K3[5]) + K4[5])
            a2 = q[6] + h6 * (K1[6] + 2.0 * (K2[6] + K3[6]) + K4[6])
            b2 = q[7] + h6 * (K1[7] + 2.0 * (K2[7] + K3[7]) + K4[7])
            c2 = q[8] + h6 * (K1[8] + 2.0 * (K2[8] + K3[8]) + K4[8])
            # Modified Gram-Schmidt, in place.
            r0 = np.sqrt(a0 * a0 + b0 * b0 + c0 * c0)
            a0, b0, c0 = a0 / r0, b0 / r0, c0 / r0
            d = a0 * a1 + b0 * b1 + c0 * c1
            a1, b1, c1 = a1 - d * a0, b1 - d * b0, c1 - d * c0
            r1 = np.sqrt(a1 * a1 + b1 * b1 + c1 * c1)
            a1, b1, c1 = a1 / r1, b1 / r1, c1 / r1
            d = a0 * a2 + b0 * b2 + c0 * c2
            a2, b2, c2 = a2 - d * a0, b2 - d * b0, c2 - d * c0
            d = a1 * a2 + b1 * b2 + c1 * c2
            a2, b2, c2 = a2 - d * a1, b2 - d * b1, c2 - d * c1
            r2 = np.sqrt(a2 * a2 + b2 * b2 + c2 * c2)
            a2, b2, c2 = a2 / r2, b2 / r2, c2 / r2
            s0 += np.log(r0)
            s1 += np.log(r1)
            s2 += np.log(r2)
            q = (a0, b0, c0, a1, b1, c1, a2, b2, c2)
        return np.array([s0, s1, s2]) / (n * dt)

    @numba.njit(fastmath={"contract"}, cache=False)
    def numba_lorenz_largest_scalar(x0, n, dt, sigma, rho, beta):
        """The largest exponent (one tangent vector) as chaosjax's one-column kernel
        computes it, the best loop we could write: scalar locals, the exact RK4
        linearisation, no square root or logarithm in the loop. |v|^2 is brought back
        by an exact power of two when it leaves [2^-400, 2^400]; one logarithm at the
        end."""
        x, y, z = x0[0], x0[1], x0[2]
        a, b, c = 1.0, 0.0, 0.0
        halvings = 0  # |v| carries a factor 2^halvings taken out of it
        h2, h6 = 0.5 * dt, dt / 6.0
        lo, hi = 2.0**-400, 2.0**400
        for _ in range(n):
            k1 = _f(x, y, z, sigma, rho, beta)
            K1 = _jq(x, y, z, a, b, c, sigma, rho, beta)
            xs, ys, zs = x + h2 * k1[0], y + h2 * k1[1], z + h2 * k1[2]
            k2 = _f(xs, ys, zs, sigma, rho, beta)
            K2 = _jq(xs, ys, zs, a + h2 * K1[0], b + h2 * K1[1], c + h2 * K1[2], sigma, rho, beta)
            xs, ys, zs = x + h2 * k2[0], y + h2 * k2[1], z + h2 * k2[2]
            k3 = _f(xs, ys, zs, sigma, rho, beta)
            K3 = _jq(xs, ys, zs, a + h2 * K2[0], b + h2 * K2[1], c + h2 * K2[2], sigma, rho, beta)
            xs, ys, zs = x + dt * k3[0], y + dt * k3[1], z + dt * k3[2]
            k4 = _f(xs, ys, zs, sigma, rho, beta)
            K4 = _jq(xs, ys, zs, a + dt * K3[0], b + dt * K3[1], c + dt * K3[2], sigma, rho, beta)
            x += h6 * (k1[0] + 2.0 * (k2[0] + k3[0]) + k4[0])
            y += h6 * (k1[1] + 2.0 * (k2[1] + k3[1]) + k4[1])
            z += h6 * (k1[2] + 2.0 * (k2[2] + k3[2]) + k4[2])
            a += h6 * (K1[0] + 2.0 * (K2[0] + K3[0]) + K4[0])
            b += h6 * (K1[1] + 2.0 * (K2[1] + K3[1]) + K4[1])
            c += h6 * (K1[2] + 2.0 * (K2[2] + K3[2]) + K4[2])
            nn = a * a + b * b + c * c
            if nn < lo or nn > hi:
                s = math.frexp(nn)[1] // 2
                f = math.ldexp(1.0, -s)
                a, b, c = a * f, b * f, c * f
                halvings += s
        nn = a * a + b * b + c * c
        return (0.5 * math.log(nn) + halvings * math.log(2.0)) / (n * dt)

    @numba.njit(parallel=True, fastmath={"contract"}, cache=False)
    def numba_lorenz_spectrum_batch(X0, rhos, n, dt, sigma, beta):
        """The scalar-locals loop above, `prange` over orbits: initial state X0[i] and
        rho = rhos[i] for orbit i."""
        out = np.empty((X0.shape[0], 3))
        for i in numba.prange(X0.shape[0]):
            out[i] = numba_lorenz_spectrum_scalar(X0[i], n, dt, sigma, rhos[i], beta)
        return out

    @numba.njit(fastmath={"contract"}, cache=False)
    def numba_henon_spectrum(x0, n, a, b):
        x, y = x0[0], x0[1]
        q11, q21, q12, q22 = 1.0, 0.0, 0.0, 1.0
        s1, s2 = 0.0, 0.0
        for _ in range(n):
            j11 = -2.0 * a * x
            v11, v21 = j11 * q11 + q21, b * q11
            v12, v22 = j11 * q12 + q22, b * q12
            x, y = 1.0 - a * x * x + y, b * x
            r11 = np.sqrt(v11 * v11 + v21 * v21)
            q11, q21 = v11 / r11, v21 / r11
            c = q11 * v12 + q21 * v22
            v12, v22 = v12 - c * q11, v22 - c * q21
            r22 = np.sqrt(v12 * v12 + v22 * v22)
            q12, q22 = v12 / r22, v22 / r22
            s1 += np.log(r11)
            s2 += np.log(r22)
        return np.array([s1 / n, s2 / n])


def lyapynov_lorenz(lyapynov, x0, n, dt):
    def f(x, t):
        return np.array(
            [10.0 * (x[1] - x[0]), x[0] * (28.0 - x[2]) - x[1], x[0] * x[1] - 8.0 / 3.0 * x[2]]
        )

    def jac(x, t):
        return np.array([[-10.0, 10.0, 0.0], [28.0 - x[2], -1.0, -x[0]], [x[1], x[0], -8.0 / 3.0]])

    ds = lyapynov.ContinuousDS(np.asarray(x0, float), 0.0, f, jac, dt)
    return lyapynov.LCE(ds, 3, 0, n, False)


def lyapynov_henon(lyapynov, x0, n):
    def f(x, t):
        return np.array([1.0 - 1.4 * x[0] ** 2 + x[1], 0.3 * x[0]])

    def jac(x, t):
        return np.array([[-2.8 * x[0], 1.0], [0.3, 0.0]])

    ds = lyapynov.DiscreteDS(np.asarray(x0, float), 0.0, f, jac)
    return lyapynov.LCE(ds, 2, 0, n, False)


def lyapax_runner(lyapax, step, x0, n, dt):
    fn = jax.jit(lambda s: lyapax.lyapunov_spectrum(step, s, dt=dt, n_steps=n).exponents)
    return lambda: np.asarray(fn(x0))


def with_xla_path(name: str, fn, note: str) -> list:
    """The run_group rows of a chaosjax call: as a user makes it (generated C on a CPU),
    and the same with `CHAOSJAX_CGEN=0` (the XLA kernel)."""
    return [(name, fn, 1.0, note), (f"{name}, XLA path", xla_path(fn), 1.0, "CHAOSJAX_CGEN=0")]


def best_numba(fn, note: str) -> tuple:
    """The run_group row of the scalar-locals numba loop (the best peer) `fn`."""
    return ("numba, scalar locals (the best peer)", fn, 1.0, note)


def xla_path(fn):
    """fn run with CHAOSJAX_CGEN=0: chaosjax's XLA kernel instead of the generated C."""

    def run():
        old = os.environ.get("CHAOSJAX_CGEN")
        os.environ["CHAOSJAX_CGEN"] = "0"
        try:
            return jax.block_until_ready(fn())
        finally:
            if old is None:
                del os.environ["CHAOSJAX_CGEN"]
            else:
                os.environ["CHAOSJAX_CGEN"] = old

    return run


# --------------------------------------------------------------------------- timing


def timed(fn):
    # Let thread pools a previous variant left spinning (XLA's) park first: on two
    # cores they would otherwise share the CPU with whatever is timed next.
    time.sleep(0.05)
    t0 = time.perf_counter()
    out = fn()
    jax.block_until_ready(out)
    return time.perf_counter() - t0, out


def back_to_back(fn):
    """The time of a call made right after another call of `fn` (no pause: warm
    caches, XLA's threads awake), as in a loop of calls."""
    jax.block_until_ready(fn())
    t0 = time.perf_counter()
    jax.block_until_ready(fn())
    return time.perf_counter() - t0


def run_group(title, variants, repeats, hot=False):
    """variants: list of (name, fn, scale, note); fn() returns exponents. `hot`: also a
    column of back-to-back times (`back_to_back`), interleaved the same way."""
    out(f"\n### {title}\n")
    warm = {}
    for name, fn, scale, note in variants:
        t, res = timed(fn)
        warm[name] = (t, np.atleast_1d(np.asarray(res, float)))
    times = {name: [] for name, *_ in variants}
    hots = {name: [] for name, *_ in variants}
    for _ in range(repeats):
        for name, fn, scale, note in variants:
            times[name].append(timed(fn)[0] * scale)
            if hot and scale == 1.0:
                hots[name].append(back_to_back(fn))
    base = statistics.median(times[variants[0][0]])
    hot_base = statistics.median(hots[variants[0][0]]) if hot else 1.0
    head = "| variant | median time | first call (compile) | result | peer / chaosjax |"
    rule = "|---|---:|---:|---|---:|"
    if hot:
        head += " back to back | peer / chaosjax, back to back |"
        rule += "---:|---:|"
    out(head)
    out(rule)
    for name, fn, scale, note in variants:
        med = statistics.median(times[name])
        res = np.array2string(warm[name][1], precision=4, separator=", ")
        label = f"{name} ({note})" if note else name
        row = f"| {label} | {fmt(med)} | {fmt(warm[name][0] * scale)} | {res} | {med / base:.2f} |"
        if hot:
            h = statistics.median(hots[name]) if hots[name] else float("nan")
            row += f" {fmt(h)} | {h / hot_base:.2f} |" if hots[name] else " | |"
        out(row)
    if hot:
        out(
            '\n"median time": each call after a 50 ms pause (cold caches, XLA\'s threads '
            'asleep; see the top of the file); "back to back": a call right after another '
            "of the same variant, as in a loop (scaled variants not timed so)."
        )
    return {name: statistics.median(t) for name, t in times.items()}


def fmt(seconds):
    return f"{seconds * 1e3:.3g} ms" if seconds < 10 else f"{seconds:.1f} s"


def map_sweeps():
    """The two exponent sweeps of `sweeps` (also timed by sweep_peers.py): 10,000 values of
    the logistic map's r (500 + 2,000 steps) and a 100 x 100 Lorenz63 (rho, sigma) grid
    (500 + 2,000 RK4 steps, dt = 0.01), each a `jit(vmap(max_lyapunov))`: (rs, logistic,
    lor0, R, S, lorenz), the grids flat and unsharded."""
    x1 = jnp.array([0.3])
    rs = jnp.linspace(2.9, 4.0, 10_000)
    logistic = jax.jit(
        jax.vmap(
            lambda r: (
                cj.max_lyapunov(
                    cj.systems.Logistic(r=r), x1, 2_000, transient=500, throw=False
                ).largest
            )
        )
    )
    lor0 = cj.systems.Lorenz63().default_state()
    R, S = jnp.meshgrid(jnp.linspace(10.0, 60.0, 100), jnp.linspace(5.0, 15.0, 100), indexing="ij")
    lorenz = jax.jit(
        jax.vmap(
            lambda r, s: (
                cj.max_lyapunov(
                    cj.systems.Lorenz63(rho=r, sigma=s),
                    lor0,
                    2_000,
                    dt=0.01,
                    transient=500,
                    throw=False,
                ).largest
            )
        )
    )
    return rs, logistic, lor0, R.ravel(), S.ravel(), lorenz


def sweeps(repeats):
    """Parameter sweeps in one compiled call each (any backend: CPU cores or a GPU)."""
    out(
        f"\n### Sweeps on {jax.devices()[0].platform} ({len(jax.devices())} device(s): "
        f"{jax.devices()[0].device_kind}), batch axis sharded over them\n"
    )
    out("| sweep | time (median) | first call | orbit-steps/s | check |")
    out("|---|---:|---:|---:|---|")
    rs, logistic, lor0, R, S, lorenz = map_sweeps()
    rs = cj.parallel.shard_batch(rs)
    R, S = cj.parallel.shard_batch(R), cj.parallel.shard_batch(S)
    gains = cj.parallel.shard_batch(jnp.linspace(0.5, 3.0, 64))

    def rnn_one(g):
        net = cj.systems.RNN.random(jax.random.key(0), 200, g=g)
        return cj.lyapunov_spectrum(
            net, net.default_state(), 2_000, transient=500, k=8, throw=False
        ).exponents

    rnn = jax.jit(jax.vmap(rnn_one))
    l96 = cj.systems.Lorenz96(n=40)
    l96_x0 = cj.final_state(l96, l96.default_state(), steps=5_000, dt=0.01)
    cases = [
        (
            "logistic, 10,000 r, 2,500 steps",
            lambda: logistic(rs),
            10_000 * 2_500,
            lambda o: f"lam(r=4) = {float(o[-1]):.4f}",
        ),
        (
            "Lorenz63 100 x 100 (rho, sigma), 2,500 RK4 steps",
            lambda: lorenz(R, S),
            10_000 * 2_500,
            lambda o: f"lam(28, 10) ~ {float(o.reshape(100, 100)[36, 50]):.3f}",
        ),
        (
            "tanh RNN n = 200, 64 gains, 8 exponents, 2,500 steps",
            lambda: rnn(gains),
            64 * 2_500,
            lambda o: (
                f"lam_1 crosses 0 at g ~ "
                f"{float(jnp.linspace(0.5, 3.0, 64)[int(jnp.argmax(o[:, 0] > 0))]):.2f}"
            ),
        ),
        (
            "(no sweep) Lorenz96 N = 40, all 40 exponents, 11,000 RK4 steps, QR every 5",
            lambda: (
                cj.lyapunov_spectrum(
                    l96, l96_x0, steps=10_000, dt=0.01, transient=1_000, qr_every=5
                ).exponents
            ),
            11_000,
            lambda o: f"sum = {float(o.sum()):.5f} (exactly -40 up to RK4)",
        ),
    ]
    for name, fn, work, check in cases:
        t_first, res = timed(fn)
        ts = [timed(fn)[0] for _ in range(repeats)]
        med = statistics.median(ts)
        out(f"| {name} | {fmt(med)} | {fmt(t_first)} | {work / med:.3g} | {check(res)} |")


def batches(repeats, quick):
    """The call styles of JAX users over a batch: jit(vmap(...)) over initial states and
    over rho, beside the chunked structure-of-arrays numba peers (the fastest we could
    write) and numba's `prange` over the same orbits one at a time."""
    from _numba_peers import CHUNK, lorenz_max_lyapunov_soa, lorenz_spectrum3_soa
    from bifurcation import lorenz_max_lyapunov_numba

    B, n = (32, 1_000) if quick else (256, 10_000)
    dt, sigma, beta = 0.01, 10.0, 8.0 / 3.0
    lor = cj.systems.Lorenz63()
    x0s = lor.sample_state(jax.random.key(1), B)
    x0s = cj.final_state(lor, x0s, steps=1_000, dt=dt)
    x1 = x0s[0]
    rhos = jnp.linspace(30.0, 60.0, B)
    X0, X1, R = np.asarray(x0s), np.tile(np.asarray(x1), (B, 1)), np.asarray(rhos)
    R28, S10 = np.full(B, 28.0), np.full(B, sigma)

    def spectrum(m, x):
        return cj.lyapunov_spectrum(m, x, n, dt=dt, throw=False).exponents

    def largest(rho):
        m = cj.systems.Lorenz63(rho=rho)
        return cj.max_lyapunov(m, x1, n, dt=dt, throw=False).largest

    over_x0 = jax.jit(jax.vmap(lambda x: spectrum(lor, x)))
    over_rho = jax.jit(jax.vmap(lambda r: spectrum(cj.systems.Lorenz63(rho=r), x1)))
    largest_rho = jax.jit(jax.vmap(largest))
    soa, one = "numba, chunks of orbits as arrays (SIMD)", "numba `prange`, one orbit at a time"
    # (chaosjax call, its peers): the first peer is the fastest numba loop we could write.
    groups = {
        "`jax.jit(jax.vmap(lambda x0: cj.lyapunov_spectrum(lor, x0, ...)))`, over x0": {
            "cj": lambda: over_x0(x0s),
            soa: lambda: lorenz_spectrum3_soa(R28, S10, X0, 0, n, dt),
            one: lambda: numba_lorenz_spectrum_batch(X0, R28, n, dt, sigma, beta),
        },
        "`jax.jit(jax.vmap(lambda rho: cj.lyapunov_spectrum(Lorenz63(rho=rho), x0, ...)))`": {
            "cj": lambda: over_rho(rhos),
            soa: lambda: lorenz_spectrum3_soa(R, S10, X1, 0, n, dt),
            one: lambda: numba_lorenz_spectrum_batch(X1, R, n, dt, sigma, beta),
        },
        "`jax.jit(jax.vmap(lambda rho: cj.max_lyapunov(Lorenz63(rho=rho), x0, ...)))`": {
            "cj": lambda: largest_rho(rhos),
            soa: lambda: lorenz_max_lyapunov_soa(R, S10, X1, 0, n, dt),
            one: lambda: lorenz_max_lyapunov_numba(R, X1[0], 0, n, dt),
        },
    }
    variants = {(g, name): fn for g, peers in groups.items() for name, fn in peers.items()}
    t = measure(variants, repeats)
    res = {key: np.asarray(fn()).reshape(B, -1) for key, fn in variants.items()}
    out(f"\n### Batches: {B} Lorenz63 orbits, RK4 dt = {dt}, {n:,} steps each, QR every step\n")
    out("| call | median time | orbit-steps/s | numba / chaosjax | max abs difference |")
    out("|---|---:|---:|---:|---:|")
    for g, peers in groups.items():
        tc, rc = t[(g, "cj")], res[(g, "cj")]
        out(f"| {g} | {fmt(tc)} | {B * n / tc:.3g} | | |")
        for name in list(peers)[1:]:
            tp, rp = t[(g, name)], res[(g, name)]
            diff = float(np.max(np.abs(rc - rp)))
            out(f"| {name} | {fmt(tp)} | {B * n / tp:.3g} | {tp / tc:.2f} | {diff:.1e} |")
    out(
        f"\nnumba, chunks of orbits as arrays (benchmarks/_numba_peers.py, the fastest "
        f"peer we could write): `@njit(parallel=True, fastmath={{'contract'}}, "
        f"error_model='numpy')`, `prange` over chunks of {CHUNK} orbits; inside a chunk "
        "every quantity (state, tangent vectors, parameters, running products) is a row "
        "of one work array, the time loop outside the loop over the chunk, so LLVM "
        "vectorises the RK4 step of the state and of its exact linearisation across "
        "orbits (packed 512-bit FMAs); modified Gram-Schmidt (or one normalisation) every "
        "step, the logarithms of running products of the norms every 32 steps; a last "
        "partial chunk padded with copies of its last orbit. numba `prange`, one orbit at "
        "a time: `@njit(parallel=True, fastmath={'contract'})`, each orbit the "
        "scalar-locals loop of the spectrum table (state, basis and RK4 stages as scalar "
        "locals, exact RK4 linearisation, in-place modified Gram-Schmidt, nothing "
        "allocated in the time loop); the largest exponent, benchmarks/bifurcation.py's "
        "loop (one tangent vector, renormalised every step), latency-bound. The three "
        "tangent vectors start at the identity in every call; `max_lyapunov`'s one vector "
        "at a random unit vector (a fixed key), the peers' at e_1. The differences are of "
        "exponents over finite chaotic orbits that decorrelate (rounding differs), so "
        "they measure statistical agreement; the fixed-rho rows are the same orbits' "
        "spectra."
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument(
        "--quick", action="store_true", help="fewer steps, no slow pure-Python peers (smoke run)"
    )
    ap.add_argument("--sweeps", action="store_true", help="only the parameter sweeps")
    ap.add_argument("--markdown", help="also write the tables to this Markdown file")
    args = ap.parse_args()
    try:
        run(args)
    finally:
        if args.markdown:
            with open(args.markdown, "w") as fh:
                fh.write("\n".join(out.lines) + "\n")


def run(args):
    if args.sweeps:
        sweeps(args.repeats)
        return
    lyapynov = None if args.quick else optional("lyapynov")
    lyapax = optional("lyapax")
    nolds = None if args.quick else import_nolds()
    out(
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
        f"Python {platform.python_version()}, jax {jax.__version__}, "
        f"numba {getattr(numba, '__version__', 'missing')}, "
        f"lyapynov {getattr(lyapynov, '__version__', 'missing')}, "
        f"lyapax {getattr(lyapax, '__version__', 'missing')}, "
        f"nolds {_version('nolds') if nolds else 'missing'}; "
        f"load average {os.getloadavg()[0]:.1f}. Medians of {args.repeats} runs."
    )

    # Lorenz63 spectrum ------------------------------------------------------------
    lor = cj.systems.Lorenz63()
    x0 = cj.final_state(lor, lor.default_state(), steps=1_000, dt=0.01)
    x0n = np.asarray(x0)
    n = 10_000 if args.quick else 100_000
    v = with_xla_path(
        "chaosjax `lyapunov_spectrum`",
        lambda: cj.lyapunov_spectrum(lor, x0, steps=n, dt=0.01).exponents,
        "QR every step",
    )
    v += [
        (
            "chaosjax `lyapunov_spectrum`, qr_every=10",
            lambda: cj.lyapunov_spectrum(lor, x0, steps=n, dt=0.01, qr_every=10).exponents,
            1.0,
            "",
        ),
    ]
    spectrum_jit = jax.jit(lambda x: cj.lyapunov_spectrum(lor, x, steps=n, dt=0.01).exponents)
    v.insert(
        1,
        (
            "chaosjax `jax.jit(lambda x: lyapunov_spectrum(...))`",
            lambda: spectrum_jit(x0),
            1.0,
            "the kernel as an XLA custom call",
        ),
    )
    if numba is not None:
        v.append(
            best_numba(
                lambda: numba_lorenz_spectrum_scalar(x0n, n, 0.01, 10.0, 28.0, 8 / 3),
                "exact RK4 linearisation, in-place MGS, no allocation",
            )
        )
        v.append(
            (
                "numba, arrays",
                lambda: numba_lorenz_spectrum(x0n, n, 0.01, 10.0, 28.0, 8 / 3),
                1.0,
                "RK4 tangent + MGS every step, temporaries per step",
            )
        )
    if lyapax is not None:
        step = lyapax.ode_step(lambda s: lor.vector_field(s), 0.01, integrator="rk4")
        v.append(("lyapax", lyapax_runner(lyapax, step, x0, n, 0.01), 1.0, "renorm_every=1"))
    if lyapynov is not None:
        v.append(
            (
                "lyapynov",
                lambda: lyapynov_lorenz(lyapynov, x0n, n // 10, 0.01),
                10.0,
                "1e4 steps timed, x10",
            )
        )
    run_group(f"Lorenz63 spectrum, RK4 dt = 0.01, {n:,} steps", v, args.repeats, hot=True)
    out(
        "\nHow each peer is written: numba, scalar locals (the best loop we could write: "
        "`@njit(fastmath={'contract'})`, the state, the 3 x 3 basis and the RK4 stages as "
        "scalar locals, the exact linearisation of the RK4 step, in-place modified "
        "Gram-Schmidt, one log per column per step, nothing allocated in the loop); numba, "
        "arrays (the same algorithm on small NumPy arrays, temporaries every step: a "
        "weaker loop, kept to show what the scalar form gains); lyapax, its "
        "`lyapunov_spectrum` under `jax.jit` with its RK4 step, renormalised every step; "
        "lyapynov, its `LCE` on NumPy right-hand side and Jacobian functions (one Python "
        "iteration per step)."
    )
    largest = with_xla_path(
        "chaosjax `max_lyapunov`",
        lambda: cj.max_lyapunov(lor, x0, steps=n, dt=0.01).exponents,
        "one tangent vector",
    )
    if numba is not None:
        largest.append(
            best_numba(
                lambda: numba_lorenz_largest_scalar(x0n, n, 0.01, 10.0, 28.0, 8 / 3),
                "exact RK4 linearisation, power-of-two rescaling, one log at the end",
            )
        )
    run_group(
        f"Lorenz63 largest exponent (k = 1), RK4 dt = 0.01, {n:,} steps",
        largest,
        args.repeats,
        hot=True,
    )
    out(
        "\nThe largest exponent alone: chaosjax's one-column kernel keeps |v|^2 near 1 by "
        "exact powers of two and takes one logarithm at the end; the numba peer is written "
        "the same way (scalar locals, `fastmath={'contract'}`). chaosjax starts the tangent "
        "at a random unit vector, the peer at e_1: the exponents agree to the run's "
        "convergence, not to rounding."
    )
    if numba is not None:
        batches(args.repeats, args.quick)

    # Henon spectrum ---------------------------------------------------------------
    hen = cj.systems.Henon()
    h0 = hen.default_state()
    h0n = np.asarray(h0)
    n = 100_000 if args.quick else 1_000_000
    v = with_xla_path(
        "chaosjax `lyapunov_spectrum`",
        lambda: cj.lyapunov_spectrum(hen, h0, steps=n).exponents,
        "QR every step",
    )
    v += [
        (
            "chaosjax `lyapunov_spectrum`, qr_every=5",
            lambda: cj.lyapunov_spectrum(hen, h0, steps=n, qr_every=5).exponents,
            1.0,
            "",
        ),
    ]
    if numba is not None:
        v.append(
            (
                "numba",
                lambda: numba_henon_spectrum(h0n, n, 1.4, 0.3),
                1.0,
                "scalar 2x2 Gram-Schmidt",
            )
        )
    if lyapax is not None:
        v.append(("lyapax", lyapax_runner(lyapax, hen.step, h0, n, 1.0), 1.0, "renorm_every=1"))
    if lyapynov is not None:
        v.append(
            (
                "lyapynov",
                lambda: lyapynov_henon(lyapynov, h0n, n // 10),
                10.0,
                "1e5 steps timed, x10",
            )
        )
    run_group(f"Henon spectrum, {n:,} iterations", v, args.repeats)
    out(
        "\nHow each peer is written: numba, one `@njit(fastmath={'contract'})` loop with "
        "every value a scalar local (the map, its Jacobian and the 2 x 2 Gram-Schmidt "
        "written out, nothing allocated); lyapax and lyapynov as above."
    )

    # Rosenstein -------------------------------------------------------------------
    xs = np.asarray(
        cj.trajectory(
            lor, lor.default_state(), steps=19_998, dt=0.01, transient=2_000, save_every=2
        )[:, 0]
    )
    kw = dict(dt=0.02, dim=5, lag=5, theiler=50, horizon=125, fit_range=(50, 125))
    v = [
        (
            "chaosjax `lyapunov_from_timeseries`",
            lambda: cj.lyapunov_from_timeseries(xs, **kw).exponents,
            1.0,
            "Rosenstein",
        )
    ]
    if nolds is not None:
        v.append(
            (
                "nolds `lyap_r`",
                lambda: nolds.lyap_r(
                    xs,
                    emb_dim=5,
                    lag=5,
                    min_tsep=50,
                    trajectory_len=125,
                    fit="poly",
                    fit_offset=50,
                    tau=0.02,
                ),
                1.0,
                "same settings, poly fit",
            )
        )
    run_group(
        "Rosenstein, 10,000 samples of Lorenz63 x (dt = 0.02; truth 0.9056)",
        v,
        max(3, args.repeats),
    )
    out(
        "\nHow the peer is written: nolds `lyap_r` (NumPy, its own all-pairs neighbour "
        "search) with the same embedding, lag, Theiler window, horizon and fit range."
    )
    out(f"\nLoad average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}.")


if __name__ == "__main__":
    main()
