"""Bifurcation sweeps against numba, in one run:

1. the logistic map's orbit diagram, 10,000 values of r x (1,000 transient + 1,000 kept
   iterates), all kept points returned;
2. Lorenz63's largest Lyapunov exponent over 2,500 values of rho in [0, 200] (RK4,
   dt = 0.01, 1,000 transient + 10,000 averaged steps, tangent renormalised each step).

chaosjax: `cj.orbit_diagram` and `cj.bifurcation.lyapunov_sweep` (one compiled vmap each).
numba (the fastest loop we could write): `prange` over the parameter values, the time
loop inside, every value a scalar local, exact RK4 tangent for Lorenz63, FMA contraction
allowed (as in chaosjax's kernels). Both produce the same numbers (checked below).
Medians of `--repeats` interleaved runs after a warm-up (compilation excluded for both);
ratios > 1 mean chaosjax is slower.

Run: `python benchmarks/bifurcation.py [--repeats 5] [--quick] [--markdown FILE]`.
"""

from __future__ import annotations

import argparse
import math

import jax
import jax.numpy as jnp
import numba
import numpy as np
from _calls import measure
from _harness import Out, fmt
from _numba_peers import logistic_diagram_nrt, logistic_diagram_soa, lorenz_max_lyapunov_soa

import chaosjax as cj

cj.enable_x64()

N_R, TRANSIENT, KEEP = 10_000, 1_000, 1_000
N_RHO, L_TRANSIENT, L_STEPS, DT = 2_500, 1_000, 10_000, 0.01


@numba.njit(parallel=True, fastmath={"contract"}, cache=False)
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


@numba.njit(parallel=True, fastmath={"contract"}, cache=False)
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


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="smaller sweeps (smoke run)")
    ap.add_argument("--markdown", help="also write the tables to this Markdown file")
    args = ap.parse_args(argv)
    out = Out()
    n_r, n_rho, l_steps = (
        (N_R // 10, N_RHO // 10, L_STEPS // 5)
        if args.quick
        else (
            N_R,
            N_RHO,
            L_STEPS,
        )
    )
    out(
        f"Devices: {jax.devices()}; numba threads: {numba.get_num_threads()}; medians of "
        f"{args.repeats} interleaved runs after a warm-up (compilation excluded for both)."
    )
    log = cj.systems.Logistic()
    rs = np.linspace(2.5, 4.0, n_r)
    rs_j = jnp.asarray(rs)

    def jax_diagram():
        d = cj.orbit_diagram(log, "r", rs_j, jnp.array([0.5]), transient=TRANSIENT, keep=KEEP)
        return d.points

    lor = cj.systems.Lorenz63()
    x0 = np.asarray(lor.default_state())
    rhos = np.linspace(0.0, 200.0, n_rho)
    rhos_j = jnp.asarray(rhos)

    def jax_lyap():
        return cj.bifurcation.lyapunov_sweep(
            lor, "rho", rhos_j, jnp.asarray(x0), steps=l_steps, transient=L_TRANSIENT, dt=DT
        )

    variants = {
        "diagram numba": lambda: logistic_diagram_numba(rs, 0.5, TRANSIENT, KEEP),
        "diagram chaosjax": jax_diagram,
        "diagram numba SoA": lambda: logistic_diagram_soa(rs, 0.5, TRANSIENT, KEEP),
        "diagram numba SoA NRT": lambda: logistic_diagram_nrt(rs, 0.5, TRANSIENT, KEEP),
        "lyapunov numba": lambda: lorenz_max_lyapunov_numba(rhos, x0, L_TRANSIENT, l_steps, DT),
        "lyapunov numba SoA": lambda: lorenz_max_lyapunov_soa(
            rhos, np.full_like(rhos, 10.0), x0, L_TRANSIENT, l_steps, DT
        ),
        "lyapunov chaosjax": jax_lyap,
    }
    # The diagrams 5 times in a row per round (their 80 MB outputs: native_store.py).
    t = measure(variants, args.repeats, runs={k: 5 for k in variants if k.startswith("diagram")})
    pts_nb = variants["diagram numba"]()
    pts_cj = np.asarray(jax_diagram())[:, :, 0]
    # Chaotic orbits decorrelate (rounding differs): compare the periodic half exactly.
    half = n_r // 2
    diff = float(np.max(np.abs(pts_cj[:half] - pts_nb[:half])))
    work = n_r * (TRANSIENT + KEEP)
    out(
        f"\n### Logistic map orbit diagram: {n_r:,} values of r in [2.5, 4] x "
        f"({TRANSIENT:,} transient + {KEEP:,} kept iterates), all kept points returned\n"
    )
    same = np.array_equal(variants["diagram numba SoA"](), pts_nb)
    out("| variant | median time | iterations/s | time / best numba |")
    out("|---|---:|---:|---:|")
    base = t["diagram numba SoA"]
    for name, label in (
        ("diagram chaosjax", "chaosjax `cj.orbit_diagram`"),
        (
            "diagram numba SoA",
            "numba, chunks of 64 r stored as arrays, SIMD, output from NumPy (the best peer)",
        ),
        ("diagram numba SoA NRT", "numba, the same, output allocated inside numba"),
        ("diagram numba", "numba, `prange` over r, one orbit per iteration"),
    ):
        out(f"| {label} | {fmt(t[name])} | {work / t[name]:.3g} | {t[name] / base:.2f} |")
    out(
        f"\nmax |difference| of the points for r < 3.25 (periodic orbits): {diff:.1e}; the "
        f"two numba peers' points equal: {same}. The best peer (benchmarks/_numba_peers.py): "
        "`prange` over chunks of 64 values, the time loop outside a loop over the chunk "
        "that LLVM vectorises, writing into an output allocated by NumPy (which asks Linux "
        "for transparent huge pages over arrays of 4 MiB or more, as chaosjax does over its "
        "output; numba's own allocator does not, and the first touch of 80 MB through 4 KiB "
        "pages costs more than the iterations). "
        "numba: `@njit(parallel=True, fastmath={'contract'})`, `prange` over r, the "
        "iterate a scalar local, the kept points written into a preallocated array."
    )

    lam_nb = variants["lyapunov numba"]()
    lam_cj = np.asarray(jax_lyap())[:, 0]
    calm = rhos < 13.9
    chaotic = (rhos > 30) & (rhos < 90)
    work = n_rho * (L_TRANSIENT + l_steps)
    out(
        f"\n### Lorenz63 largest Lyapunov exponent: {n_rho:,} values of rho in [0, 200], "
        f"RK4 dt = {DT}, {L_TRANSIENT:,} transient + {l_steps:,} averaged steps, tangent "
        "renormalised every step\n"
    )
    out("| variant | median time | orbit-steps/s | time / best numba |")
    out("|---|---:|---:|---:|")
    base = t["lyapunov numba SoA"]
    for name, label in (
        ("lyapunov chaosjax", "chaosjax `cj.bifurcation.lyapunov_sweep`"),
        ("lyapunov numba SoA", "numba, chunks of 64 rho stored as arrays, SIMD (the best peer)"),
        ("lyapunov numba", "numba, `prange` over rho, one orbit per iteration, scalar locals"),
    ):
        out(f"| {label} | {fmt(t[name])} | {work / t[name]:.3g} | {t[name] / base:.2f} |")
    out(
        f"\nAgreement: max |difference| for rho < 13.9 (equilibria) "
        f"{np.max(np.abs(lam_nb[calm] - lam_cj[calm])):.1e}; mean exponent for rho in "
        f"[30, 90]: numba {lam_nb[chaotic].mean():.4f}, chaosjax {lam_cj[chaotic].mean():.4f} "
        "(chaotic orbits decorrelate). numba: `@njit(parallel=True, fastmath={'contract'})`, "
        "`prange` over rho, state and tangent vector as scalar locals, the exact "
        "linearisation of each RK4 stage, nothing allocated in the time loop."
        " The best peer runs chunks of 64 orbits stored as arrays, the time loop outside "
        "the loop over the chunk, which LLVM vectorises across orbits (as chaosjax's "
        "generated C does); its logarithms are taken every 32 steps of running products."
    )
    out.finish(args.markdown)


if __name__ == "__main__":
    main()
