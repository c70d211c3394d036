"""The fastest numba peers we could write for the parameter sweeps: chunked
structure-of-arrays loops that LLVM vectorises across members.

`prange` runs over chunks of `CHUNK` members. Inside a chunk every quantity lives in one
flat work array, one row of `CHUNK` values per quantity (state, tangent, parameters,
running products), at offsets that are compile-time constants, so LLVM can prove that the
rows do not overlap; the time loop is outside and the member loop inside, a straight-line
body with no call and no allocation, which LLVM turns into packed SIMD arithmetic (ymm /
zmm registers, `vfmadd...pd`). `fastmath={"contract"}` allows fused multiply-adds and
nothing else (no reassociation); `error_model="numpy"` lets a division by zero give inf
or NaN as in IEEE arithmetic instead of raising, a branch that keeps LLVM from
vectorising. A last partial chunk is padded with copies of its last member. The
logarithm, which LLVM cannot vectorise without Intel's SVML, is taken of running products
of the per-step factors every `FLUSH` steps (the log of a product instead of a sum of
logs: the same numbers up to rounding), as the batched generated-C kernel of chaosjax
does.

- `lorenz_max_lyapunov_soa`: Lorenz63's largest exponent over per-member (rho, sigma),
  RK4 of the state and, stage by stage, its exact linearisation (the arithmetic of
  `bifurcation.lorenz_max_lyapunov_numba`), tangent renormalised every step.
- `logistic_diagram_soa`: the logistic map's orbit diagram (the task of
  `bifurcation.logistic_diagram_numba`); kept points pass through a chunk buffer of
  `KBLOCK` iterates so that the output, (members, keep), is written a cache line at a time.
- `logistic_max_lyapunov_soa`: the logistic map's exponent, mean of log |r (1 - 2 x)|.
- `lorenz_max_lyapunov_scalar`: the same per-member arithmetic as the first, one member per
  `prange` iteration with scalar locals (the latency-bound construction; for the
  vectorisation check).

`simd_report(fn)` counts the packed-double instructions in a compiled peer's assembly.
"""

from __future__ import annotations

import math
import re

import numba
import numpy as np

#: Members per chunk (a multiple of the widest vector, 8 doubles).
CHUNK = 64
#: Steps between logarithms of the running products of norms (a Lorenz63 step changes a
#: tangent's norm by at most a factor e^5 for rho <= 200, so 32 steps stay far from
#: overflow and underflow).
FLUSH = 32
#: The logistic map's factor |r (1 - 2 x)| is at most 4 but may be tiny: fewer steps.
FLUSH_LOGISTIC = 8
#: Kept iterates buffered per chunk before they are written out.
KBLOCK = 32

FM = {"contract"}
BETA = 8.0 / 3.0


@numba.njit(inline="always", fastmath=FM, error_model="numpy")
def _lorenz_step(x, y, z, u, v, w, rho, sig, dt):
    """One RK4 step of Lorenz63 and of its exact linearisation; the tangent's new norm."""
    h2 = 0.5 * dt
    k1x, k1y, k1z = sig * (y - x), x * (rho - z) - y, x * y - BETA * z
    t1u, t1v, t1w = sig * (v - u), (rho - z) * u - v - x * w, y * u + x * v - BETA * w
    xa, ya, za = x + h2 * k1x, y + h2 * k1y, z + h2 * k1z
    ua, va, wa = u + h2 * t1u, v + h2 * t1v, w + h2 * t1w
    k2x, k2y, k2z = sig * (ya - xa), xa * (rho - za) - ya, xa * ya - BETA * za
    t2u, t2v, t2w = sig * (va - ua), (rho - za) * ua - va - xa * wa, ya * ua + xa * va - BETA * wa
    xb, yb, zb = x + h2 * k2x, y + h2 * k2y, z + h2 * k2z
    ub, vb, wb = u + h2 * t2u, v + h2 * t2v, w + h2 * t2w
    k3x, k3y, k3z = sig * (yb - xb), xb * (rho - zb) - yb, xb * yb - BETA * zb
    t3u, t3v, t3w = sig * (vb - ub), (rho - zb) * ub - vb - xb * wb, yb * ub + xb * vb - BETA * wb
    xc, yc, zc = x + dt * k3x, y + dt * k3y, z + dt * k3z
    uc, vc, wc = u + dt * t3u, v + dt * t3v, w + dt * t3w
    k4x, k4y, k4z = sig * (yc - xc), xc * (rho - zc) - yc, xc * yc - BETA * zc
    t4u, t4v, t4w = sig * (vc - uc), (rho - zc) * uc - vc - xc * wc, yc * uc + xc * vc - BETA * wc
    h = dt / 6.0
    x = x + h * (k1x + 2.0 * (k2x + k3x) + k4x)
    y = y + h * (k1y + 2.0 * (k2y + k3y) + k4y)
    z = z + h * (k1z + 2.0 * (k2z + k3z) + k4z)
    u = u + h * (t1u + 2.0 * (t2u + t3u) + t4u)
    v = v + h * (t1v + 2.0 * (t2v + t3v) + t4v)
    w = w + h * (t1w + 2.0 * (t2w + t3w) + t4w)
    norm = math.sqrt(u * u + v * v + w * w)
    return x, y, z, u / norm, v / norm, w / norm, norm


# Rows of the Lorenz63 work array.
_X, _Y, _Z, _U, _V, _W, _P, _RHO, _SIG, _S = (r * CHUNK for r in range(10))


@numba.njit(fastmath=FM, error_model="numpy")
def _lorenz_chunk(rhos, sigmas, x0, transient, steps, dt, out, lo):
    n = rhos.size
    W = np.empty(10 * CHUNK)
    for j in range(CHUNK):
        i = min(lo + j, n - 1)
        W[_X + j], W[_Y + j], W[_Z + j] = x0[0], x0[1], x0[2]
        W[_U + j], W[_V + j], W[_W + j] = 1.0, 0.0, 0.0
        W[_P + j], W[_S + j] = 1.0, 0.0
        W[_RHO + j], W[_SIG + j] = rhos[i], sigmas[i]
    for _ in range(transient):
        for j in range(CHUNK):
            x, y, z, u, v, w, _nrm = _lorenz_step(
                W[_X + j], W[_Y + j], W[_Z + j], W[_U + j], W[_V + j], W[_W + j],
                W[_RHO + j], W[_SIG + j], dt,
            )  # fmt: skip
            W[_X + j], W[_Y + j], W[_Z + j] = x, y, z
            W[_U + j], W[_V + j], W[_W + j] = u, v, w
    for b in range(0, steps, FLUSH):
        for _ in range(min(FLUSH, steps - b)):
            for j in range(CHUNK):
                x, y, z, u, v, w, nrm = _lorenz_step(
                    W[_X + j], W[_Y + j], W[_Z + j], W[_U + j], W[_V + j], W[_W + j],
                    W[_RHO + j], W[_SIG + j], dt,
                )  # fmt: skip
                W[_X + j], W[_Y + j], W[_Z + j] = x, y, z
                W[_U + j], W[_V + j], W[_W + j] = u, v, w
                W[_P + j] *= nrm
        for j in range(CHUNK):
            W[_S + j] += math.log(W[_P + j])
            W[_P + j] = 1.0
    for j in range(min(CHUNK, n - lo)):
        out[lo + j] = W[_S + j] / (steps * dt)


@numba.njit(parallel=True, fastmath=FM, error_model="numpy")
def lorenz_max_lyapunov_soa(rhos, sigmas, x0, transient, steps, dt):
    """Largest exponent of Lorenz63 (beta = 8/3) for each (rhos[i], sigmas[i])."""
    out = np.empty(rhos.size)
    for c in numba.prange((rhos.size + CHUNK - 1) // CHUNK):
        _lorenz_chunk(rhos, sigmas, x0, transient, steps, dt, out, c * CHUNK)
    return out


@numba.njit(parallel=True, fastmath=FM, error_model="numpy")
def lorenz_max_lyapunov_scalar(rhos, sigmas, x0, transient, steps, dt):
    """The same arithmetic, one member per `prange` iteration, scalar locals."""
    out = np.empty(rhos.size)
    for i in numba.prange(rhos.size):
        rho, sig = rhos[i], sigmas[i]
        x, y, z = x0[0], x0[1], x0[2]
        u, v, w = 1.0, 0.0, 0.0
        s = 0.0
        for n in range(transient + steps):
            x, y, z, u, v, w, nrm = _lorenz_step(x, y, z, u, v, w, rho, sig, dt)
            if n >= transient:
                s += math.log(nrm)
        out[i] = s / (steps * dt)
    return out


@numba.njit(fastmath=FM, error_model="numpy")
def _logistic_chunk(rs, x0, transient, keep, out, lo):
    n = rs.size
    W = np.empty((2 + KBLOCK) * CHUNK)  # x, r, then KBLOCK rows of kept iterates
    for j in range(CHUNK):
        W[j] = x0
        W[CHUNK + j] = rs[min(lo + j, n - 1)]
    for _ in range(transient):
        for j in range(CHUNK):
            x = W[j]
            W[j] = W[CHUNK + j] * x * (1.0 - x)
    m = min(CHUNK, n - lo)
    full = keep - keep % KBLOCK
    for k0 in range(0, full, KBLOCK):
        for b in range(KBLOCK):
            for j in range(CHUNK):
                x = W[j]
                x = W[CHUNK + j] * x * (1.0 - x)
                W[j] = x
                W[(2 + b) * CHUNK + j] = x
        for j in range(m):
            row = out[lo + j]
            for b in range(KBLOCK):
                row[k0 + b] = W[(2 + b) * CHUNK + j]
    for k in range(full, keep):  # the last keep % KBLOCK iterates
        for j in range(CHUNK):
            x = W[j]
            W[j] = W[CHUNK + j] * x * (1.0 - x)
        for j in range(m):
            out[lo + j, k] = W[j]


@numba.njit(parallel=True, fastmath=FM, error_model="numpy")
def logistic_diagram_soa(rs, x0, transient, keep):
    """Kept iterates (rs.size, keep) of x -> r x (1 - x) after `transient` iterations."""
    out = np.empty((rs.size, keep))
    for c in numba.prange((rs.size + CHUNK - 1) // CHUNK):
        _logistic_chunk(rs, x0, transient, keep, out, c * CHUNK)
    return out


@numba.njit(fastmath=FM, error_model="numpy")
def _logistic_lyap_chunk(rs, x0, transient, steps, out, lo):
    n = rs.size
    W = np.empty(4 * CHUNK)  # x, r, running product, log-sum
    for j in range(CHUNK):
        W[j] = x0
        W[CHUNK + j] = rs[min(lo + j, n - 1)]
        W[2 * CHUNK + j] = 1.0
        W[3 * CHUNK + j] = 0.0
    for _ in range(transient):
        for j in range(CHUNK):
            x = W[j]
            W[j] = W[CHUNK + j] * x * (1.0 - x)
    for b in range(0, steps, FLUSH_LOGISTIC):
        for _ in range(min(FLUSH_LOGISTIC, steps - b)):
            for j in range(CHUNK):
                x, r = W[j], W[CHUNK + j]
                W[2 * CHUNK + j] *= abs(r * (1.0 - 2.0 * x))
                W[j] = r * x * (1.0 - x)
        for j in range(CHUNK):
            W[3 * CHUNK + j] += math.log(W[2 * CHUNK + j])
            W[2 * CHUNK + j] = 1.0
    for j in range(min(CHUNK, n - lo)):
        out[lo + j] = W[3 * CHUNK + j] / steps


@numba.njit(parallel=True, fastmath=FM, error_model="numpy")
def logistic_max_lyapunov_soa(rs, x0, transient, steps):
    """Mean of log |r (1 - 2 x_n)| over `steps` iterates after `transient`, per r."""
    out = np.empty(rs.size)
    for c in numba.prange((rs.size + CHUNK - 1) // CHUNK):
        _logistic_lyap_chunk(rs, x0, transient, steps, out, c * CHUNK)
    return out


def simd_report(fn) -> dict[str, int]:
    """Packed-double instruction counts in the assembly of a compiled numba function:
    FMAs (`vfmadd...pd` and kin) and multiplies on ymm and on zmm registers."""
    asm = "\n".join(fn.inspect_asm().values())
    counts = {"ymm fma": 0, "zmm fma": 0, "ymm mul": 0, "zmm mul": 0}
    for op, reg in re.findall(r"\b(vfn?m(?:add|sub)\w*pd|vmulpd)\s[^\n]*%(ymm|zmm)", asm):
        counts[f"{reg} {'mul' if op == 'vmulpd' else 'fma'}"] += 1
    return counts
