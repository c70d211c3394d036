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
does; a vector is normalised by one division and three multiplications.

- `lorenz_max_lyapunov_soa`: Lorenz63's largest exponent over per-member (rho, sigma)
  (and initial state: `x0` is one state, (3,), or one per member, (members, 3)),
  RK4 of the state and, stage by stage, its exact linearisation (the arithmetic of
  `bifurcation.lorenz_max_lyapunov_numba` up to FMAs and the normalisation), tangent
  renormalised every step.
- `lorenz_spectrum3_soa`: the three exponents (three tangent columns, modified
  Gram-Schmidt every step).
- `logistic_diagram_soa`: the logistic map's orbit diagram (the task of
  `bifurcation.logistic_diagram_numba`); kept points pass through a chunk buffer of
  `KBLOCK` iterates so that the output, (members, keep), is written `KBLOCK` consecutive
  values of a row at a time (same numbers as the scalar loop, bit for bit). Its output
  is a NumPy array (huge pages; `logistic_diagram_nrt`: allocated inside numba).
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
from numba.extending import overload

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
    inv = 1.0 / norm
    return x, y, z, u * inv, v * inv, w * inv, norm


def _start(x0, i, r):
    """Component r of member i's initial state: x0[r] (one state for all) or x0[i, r]."""
    return x0[r] if x0.ndim == 1 else x0[i, r]


@overload(_start, inline="always")
def _start_impl(x0, i, r):
    if x0.ndim == 1:
        return lambda x0, i, r: x0[r]
    return lambda x0, i, r: x0[i, r]


# Rows of the Lorenz63 work array.
_X, _Y, _Z, _U, _V, _W, _P, _RHO, _SIG, _S = (r * CHUNK for r in range(10))


@numba.njit(fastmath=FM, error_model="numpy")
def _lorenz_chunk(rhos, sigmas, x0, transient, steps, dt, out, lo):
    n = rhos.size
    W = np.empty(10 * CHUNK)
    for j in range(CHUNK):
        i = min(lo + j, n - 1)
        W[_X + j], W[_Y + j], W[_Z + j] = _start(x0, i, 0), _start(x0, i, 1), _start(x0, i, 2)
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
    """Largest exponent of Lorenz63 (beta = 8/3) for each (rhos[i], sigmas[i]), from x0
    (3,) or x0[i] ((members, 3))."""
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


@numba.njit(inline="always", fastmath=FM, error_model="numpy")
def _jq(x, y, z, a, b, c, rho, sig):
    """Lorenz63's Jacobian at (x, y, z) times the column (a, b, c)."""
    return sig * (b - a), (rho - z) * a - b - x * c, y * a + x * b - BETA * c


@numba.njit(inline="always", fastmath=FM, error_model="numpy")
def _lorenz3_step(x, y, z, q, rho, sig, dt):
    """One RK4 step of Lorenz63 and of its exact linearisation applied to the three
    columns of q = (a0, b0, c0, a1, b1, c1, a2, b2, c2); modified Gram-Schmidt of the
    result. Returns the new state, the new columns and the three norms (diag R)."""
    h2 = 0.5 * dt
    k1 = (sig * (y - x), x * (rho - z) - y, x * y - BETA * z)
    K1 = (
        _jq(x, y, z, q[0], q[1], q[2], rho, sig)
        + _jq(x, y, z, q[3], q[4], q[5], rho, sig)
        + _jq(x, y, z, q[6], q[7], q[8], rho, sig)
    )
    xa, ya, za = x + h2 * k1[0], y + h2 * k1[1], z + h2 * k1[2]
    k2 = (sig * (ya - xa), xa * (rho - za) - ya, xa * ya - BETA * za)
    K2 = (
        _jq(xa, ya, za, q[0] + h2 * K1[0], q[1] + h2 * K1[1], q[2] + h2 * K1[2], rho, sig)
        + _jq(xa, ya, za, q[3] + h2 * K1[3], q[4] + h2 * K1[4], q[5] + h2 * K1[5], rho, sig)
        + _jq(xa, ya, za, q[6] + h2 * K1[6], q[7] + h2 * K1[7], q[8] + h2 * K1[8], rho, sig)
    )
    xb, yb, zb = x + h2 * k2[0], y + h2 * k2[1], z + h2 * k2[2]
    k3 = (sig * (yb - xb), xb * (rho - zb) - yb, xb * yb - BETA * zb)
    K3 = (
        _jq(xb, yb, zb, q[0] + h2 * K2[0], q[1] + h2 * K2[1], q[2] + h2 * K2[2], rho, sig)
        + _jq(xb, yb, zb, q[3] + h2 * K2[3], q[4] + h2 * K2[4], q[5] + h2 * K2[5], rho, sig)
        + _jq(xb, yb, zb, q[6] + h2 * K2[6], q[7] + h2 * K2[7], q[8] + h2 * K2[8], rho, sig)
    )
    xc, yc, zc = x + dt * k3[0], y + dt * k3[1], z + dt * k3[2]
    k4 = (sig * (yc - xc), xc * (rho - zc) - yc, xc * yc - BETA * zc)
    K4 = (
        _jq(xc, yc, zc, q[0] + dt * K3[0], q[1] + dt * K3[1], q[2] + dt * K3[2], rho, sig)
        + _jq(xc, yc, zc, q[3] + dt * K3[3], q[4] + dt * K3[4], q[5] + dt * K3[5], rho, sig)
        + _jq(xc, yc, zc, q[6] + dt * K3[6], q[7] + dt * K3[7], q[8] + dt * K3[8], rho, sig)
    )
    h = dt / 6.0
    x = x + h * (k1[0] + 2.0 * (k2[0] + k3[0]) + k4[0])
    y = y + h * (k1[1] + 2.0 * (k2[1] + k3[1]) + k4[1])
    z = z + h * (k1[2] + 2.0 * (k2[2] + k3[2]) + k4[2])
    a0 = q[0] + h * (K1[0] + 2.0 * (K2[0] + K3[0]) + K4[0])
    b0 = q[1] + h * (K1[1] + 2.0 * (K2[1] + K3[1]) + K4[1])
    c0 = q[2] + h * (K1[2] + 2.0 * (K2[2] + K3[2]) + K4[2])
    a1 = q[3] + h * (K1[3] + 2.0 * (K2[3] + K3[3]) + K4[3])
    b1 = q[4] + h * (K1[4] + 2.0 * (K2[4] + K3[4]) + K4[4])
    c1 = q[5] + h * (K1[5] + 2.0 * (K2[5] + K3[5]) + K4[5])
    a2 = q[6] + h * (K1[6] + 2.0 * (K2[6] + K3[6]) + K4[6])
    b2 = q[7] + h * (K1[7] + 2.0 * (K2[7] + K3[7]) + K4[7])
    c2 = q[8] + h * (K1[8] + 2.0 * (K2[8] + K3[8]) + K4[8])
    r0 = math.sqrt(a0 * a0 + b0 * b0 + c0 * c0)
    i0 = 1.0 / r0
    a0, b0, c0 = a0 * i0, b0 * i0, c0 * i0
    d = a0 * a1 + b0 * b1 + c0 * c1
    a1, b1, c1 = a1 - d * a0, b1 - d * b0, c1 - d * c0
    r1 = math.sqrt(a1 * a1 + b1 * b1 + c1 * c1)
    i1 = 1.0 / r1
    a1, b1, c1 = a1 * i1, b1 * i1, c1 * i1
    d = a0 * a2 + b0 * b2 + c0 * c2
    a2, b2, c2 = a2 - d * a0, b2 - d * b0, c2 - d * c0
    d = a1 * a2 + b1 * b2 + c1 * c2
    a2, b2, c2 = a2 - d * a1, b2 - d * b1, c2 - d * c1
    r2 = math.sqrt(a2 * a2 + b2 * b2 + c2 * c2)
    i2 = 1.0 / r2
    a2, b2, c2 = a2 * i2, b2 * i2, c2 * i2
    return (x, y, z), (a0, b0, c0, a1, b1, c1, a2, b2, c2), (r0, r1, r2)


@numba.njit(fastmath=FM, error_model="numpy")
def _lorenz3_chunk(rhos, sigmas, x0, transient, steps, dt, out, lo):
    # Rows: state 0-2, basis 3-11 (by columns), running products 12-14, log-sums 15-17,
    # rho 18, sigma 19.
    n = rhos.size
    W = np.empty(20 * CHUNK)
    for j in range(CHUNK):
        i = min(lo + j, n - 1)
        for r in range(3):
            W[r * CHUNK + j] = _start(x0, i, r)
            W[(12 + r) * CHUNK + j] = 1.0
            W[(15 + r) * CHUNK + j] = 0.0
        for r in range(9):
            W[(3 + r) * CHUNK + j] = 1.0 if r in (0, 4, 8) else 0.0
        W[18 * CHUNK + j], W[19 * CHUNK + j] = rhos[i], sigmas[i]
    for t in range(transient + steps):
        for j in range(CHUNK):
            q = (
                W[3 * CHUNK + j], W[4 * CHUNK + j], W[5 * CHUNK + j],
                W[6 * CHUNK + j], W[7 * CHUNK + j], W[8 * CHUNK + j],
                W[9 * CHUNK + j], W[10 * CHUNK + j], W[11 * CHUNK + j],
            )  # fmt: skip
            s, q, r = _lorenz3_step(
                W[j], W[CHUNK + j], W[2 * CHUNK + j], q, W[18 * CHUNK + j], W[19 * CHUNK + j], dt
            )
            W[j], W[CHUNK + j], W[2 * CHUNK + j] = s[0], s[1], s[2]
            W[3 * CHUNK + j], W[4 * CHUNK + j], W[5 * CHUNK + j] = q[0], q[1], q[2]
            W[6 * CHUNK + j], W[7 * CHUNK + j], W[8 * CHUNK + j] = q[3], q[4], q[5]
            W[9 * CHUNK + j], W[10 * CHUNK + j], W[11 * CHUNK + j] = q[6], q[7], q[8]
            W[12 * CHUNK + j] *= r[0]
            W[13 * CHUNK + j] *= r[1]
            W[14 * CHUNK + j] *= r[2]
        if t + 1 == transient or (t >= transient and (t - transient + 1) % FLUSH == 0):
            # The transient's products are dropped, later ones logged every FLUSH steps.
            for j in range(CHUNK):
                for r in range(3):
                    if t >= transient:
                        W[(15 + r) * CHUNK + j] += math.log(W[(12 + r) * CHUNK + j])
                    W[(12 + r) * CHUNK + j] = 1.0
    for j in range(CHUNK):
        for r in range(3):
            W[(15 + r) * CHUNK + j] += math.log(W[(12 + r) * CHUNK + j])
    for j in range(min(CHUNK, n - lo)):  # in decreasing order, as chaosjax reports them
        e = sorted([W[(15 + r) * CHUNK + j] / (steps * dt) for r in range(3)])
        for r in range(3):
            out[lo + j, r] = e[2 - r]


@numba.njit(parallel=True, fastmath=FM, error_model="numpy")
def lorenz_spectrum3_soa(rhos, sigmas, x0, transient, steps, dt):
    """The three exponents of Lorenz63 (beta = 8/3) for each (rhos[i], sigmas[i]), from
    x0 (3,) or x0[i] ((members, 3)): RK4 of the state and of three tangent columns
    (identity at the start), modified Gram-Schmidt every step; exponents in decreasing
    order."""
    out = np.empty((rhos.size, 3))
    for c in numba.prange((rhos.size + CHUNK - 1) // CHUNK):
        _lorenz3_chunk(rhos, sigmas, x0, transient, steps, dt, out, c * CHUNK)
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
def logistic_diagram_into(rs, x0, transient, keep, out):
    """`logistic_diagram_soa` writing into `out` (rs.size, keep)."""
    for c in numba.prange((rs.size + CHUNK - 1) // CHUNK):
        _logistic_chunk(rs, x0, transient, keep, out, c * CHUNK)
    return out


def logistic_diagram_soa(rs, x0, transient, keep):
    """Kept iterates (rs.size, keep) of x -> r x (1 - x) after `transient` iterations.

    The output is allocated by NumPy, outside numba: NumPy asks Linux for transparent
    huge pages over an array of 4 MiB or more (as chaosjax's kernel does over its
    output), numba's own allocator does not, and the first touch of 80 MB through 4 KiB
    pages costs several times the iterations (`logistic_diagram_nrt`: the same loop
    with its output made inside numba)."""
    return logistic_diagram_into(rs, x0, transient, keep, np.empty((rs.size, keep)))


@numba.njit(fastmath=FM, error_model="numpy")
def logistic_diagram_nrt(rs, x0, transient, keep):
    """`logistic_diagram_soa` with its output allocated inside numba (`np.empty` in
    `njit`: numba's runtime allocator, no huge-page advice)."""
    return logistic_diagram_into(rs, x0, transient, keep, np.empty((rs.size, keep)))


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
