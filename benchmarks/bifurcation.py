"""Bifurcation sweeps against numba, in one run:

1. the logistic map's orbit diagram, 10,000 values of r x (1,000 transient + 1,000 kept
   iterates), all kept points returned;
2. Lorenz63's largest Lyapunov exponent over 2,500 values of rho in [0, 200] (RK4,
   dt = 0.01, 1,000 transient + 10,000 averaged steps, tangent renormalised each step).

chaosjax: `cj.orbit_diagram` and `cj.bifurcation.lyapunov_sweep` (one compiled vmap each).
numba: `prange` over the parameter values, the time loop inside, exact RK4 tangent for
Lorenz63. Both produce the same numbers (checked below). Medians of `REPEATS` runs after a
warm-up (compilation excluded for both); ratios > 1 mean chaosjax is slower.

Run: `python benchmarks/bifurcation.py`.
"""

from __future__ import annotations

import math
import os
import statistics
import time

import jax
import jax.numpy as jnp
import numba
import numpy as np

import chaosjax as cj

cj.enable_x64()

REPEATS = int(os.environ.get("BENCH_REPEATS", "5"))
N_R, TRANSIENT, KEEP = 10_000, 1_000, 1_000
N_RHO, L_TRANSIENT, L_STEPS, DT = 2_500, 1_000, 10_000, 0.01


@numba.njit(parallel=True, fastmath=False, cache=False)
def logistic_diagram_numba(rs, x0, transient, keep):
    out = np.empty((rs.size, keep))
    for i in numba.prange(rs.size):
        r = rs[i]
        x = x0
        for _ in range(transient):
            x = r * x * (1.0 - x)
        for k in range(keep):
            x = r * x * (1.0 - x)
            out[i, k] = x
    return out


@numba.njit(inline="always")
def _lorenz(x, y, z, rho):
    return 10.0 * (y - x), x * (rho - z) - y, x * y - (8.0 / 3.0) * z


@numba.njit(inline="always")
def _lorenz_tangent(x, y, z, u, v, w, rho):
    return (10.0 * (v - u), (rho - z) * u - v - x * w, y * u + x * v - (8.0 / 3.0) * w)


@numba.njit(parallel=True, fastmath=False, cache=False)
def lorenz_max_lyapunov_numba(rhos, x0, transient, steps, dt):
    out = np.empty(rhos.size)
    for i in numba.prange(rhos.size):
        rho = rhos[i]
        x, y, z = x0[0], x0[1], x0[2]
        u, v, w = 1.0, 0.0, 0.0
        s = 0.0
        for n in range(transient + steps):
            # RK4 for the state and, stage by stage, its exact linearisation.
            k1 = _lorenz(x, y, z, rho)
            t1 = _lorenz_tangent(x, y, z, u, v, w, rho)
            xa, ya, za = x + 0.5 * dt * k1[0], y + 0.5 * dt * k1[1], z + 0.5 * dt * k1[2]
            ua, va, wa = u + 0.5 * dt * t1[0], v + 0.5 * dt * t1[1], w + 0.5 * dt * t1[2]
            k2 = _lorenz(xa, ya, za, rho)
            t2 = _lorenz_tangent(xa, ya, za, ua, va, wa, rho)
            xb, yb, zb = x + 0.5 * dt * k2[0], y + 0.5 * dt * k2[1], z + 0.5 * dt * k2[2]
            ub, vb, wb = u + 0.5 * dt * t2[0], v + 0.5 * dt * t2[1], w + 0.5 * dt * t2[2]
            k3 = _lorenz(xb, yb, zb, rho)
            t3 = _lorenz_tangent(xb, yb, zb, ub, vb, wb, rho)
            xc, yc, zc = x + dt * k3[0], y + dt * k3[1], z + dt * k3[2]
            uc, vc, wc = u + dt * t3[0], v + dt * t3[1], w + dt * t3[2]
            k4 = _lorenz(xc, yc, zc, rho)
            t4 = _lorenz_tangent(xc, yc, zc, uc, vc, wc, rho)
            h = dt / 6.0
            x += h * (k1[0] + 2.0 * (k2[0] + k3[0]) + k4[0])
            y += h * (k1[1] + 2.0 * (k2[1] + k3[1]) + k4[1])
            z += h * (k1[2] + 2.0 * (k2[2] + k3[2]) + k4[2])
            u += h * (t1[0] + 2.0 * (t2[0] + t3[0]) + t4[0])
            v += h * (t1[1] + 2.0 * (t2[1] + t3[1]) + t4[1])
            w += h * (t1[2] + 2.0 * (t2[2] + t3[2]) + t4[2])
            norm = math.sqrt(u * u + v * v + w * w)
            u, v, w = u / norm, v / norm, w / norm
            if n >= transient:
                s += math.log(norm)
        out[i] = s / (steps * dt)
    return out


def timed(fn, repeats=REPEATS):
    fn()  # warm-up: compilation excluded
    times = []
    out = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main() -> None:
    print(
        f"devices: {jax.devices()}; numba threads: {numba.get_num_threads()}; "
        f"repeats: {REPEATS} (median)"
    )
    log = cj.systems.Logistic()
    rs = np.linspace(2.5, 4.0, N_R)
    rs_j = jnp.asarray(rs)

    def jax_diagram():
        d = cj.orbit_diagram(log, "r", rs_j, jnp.array([0.5]), transient=TRANSIENT, keep=KEEP)
        return jax.block_until_ready(d.points)

    t_nb, pts_nb = timed(lambda: logistic_diagram_numba(rs, 0.5, TRANSIENT, KEEP))
    t_cj, pts_cj = timed(jax_diagram)
    same = np.allclose(np.asarray(pts_cj)[:, :, 0], pts_nb, atol=0, rtol=0) or np.allclose(
        np.asarray(pts_cj)[: N_R // 2, :, 0], pts_nb[: N_R // 2], atol=1e-9
    )
    rate = N_R * (TRANSIENT + KEEP)
    print(f"\nlogistic orbit diagram, {N_R} r x ({TRANSIENT} + {KEEP}) iterations:")
    print(f"  numba     {t_nb * 1e3:9.1f} ms  ({rate / t_nb:.2e} iterations/s)")
    print(f"  chaosjax  {t_cj * 1e3:9.1f} ms  ({rate / t_cj:.2e} iterations/s)")
    print(f"  ratio chaosjax / numba = {t_cj / t_nb:.2f}  (same points, periodic range: {same})")

    lor = cj.systems.Lorenz63()
    x0 = np.asarray(lor.default_state())
    rhos = np.linspace(0.0, 200.0, N_RHO)
    rhos_j = jnp.asarray(rhos)

    def jax_lyap():
        lam = cj.bifurcation.lyapunov_sweep(
            lor, "rho", rhos_j, jnp.asarray(x0), steps=L_STEPS, transient=L_TRANSIENT, dt=DT
        )
        return jax.block_until_ready(lam)

    reps = max(1, min(REPEATS, 3))
    t_nb2, lam_nb = timed(
        lambda: lorenz_max_lyapunov_numba(rhos, x0, L_TRANSIENT, L_STEPS, DT), reps
    )
    t_cj2, lam_cj = timed(jax_lyap, reps)
    lam_cj = np.asarray(lam_cj)[:, 0]
    # Chaotic runs decorrelate after ~40 time units (rounding differs): compare exactly
    # below rho = 13.9 (equilibria, no chaotic transients) and on average in [30, 90].
    calm = rhos < 13.9
    steps = N_RHO * (L_TRANSIENT + L_STEPS)
    print(
        f"\nLorenz63 largest exponent, {N_RHO} rho in [0, 200], RK4 dt={DT}, "
        f"{L_TRANSIENT} + {L_STEPS} steps with tangent:"
    )
    print(f"  numba     {t_nb2 * 1e3:9.1f} ms  ({steps / t_nb2:.2e} steps/s)")
    print(f"  chaosjax  {t_cj2 * 1e3:9.1f} ms  ({steps / t_cj2:.2e} steps/s)")
    print(f"  ratio chaosjax / numba = {t_cj2 / t_nb2:.2f}")
    print(
        f"  agreement: max |diff| for rho < 13.9: "
        f"{np.max(np.abs(lam_nb[calm] - lam_cj[calm])):.2e}; mean exponent at rho in "
        f"[30, 90]: numba {lam_nb[(rhos > 30) & (rhos < 90)].mean():.4f}, chaosjax "
        f"{lam_cj[(rhos > 30) & (rhos < 90)].mean():.4f}; at rho = 28 (nearest): "
        f"{lam_cj[np.argmin(abs(rhos - 28))]:.3f}"
    )


if __name__ == "__main__":
    main()
