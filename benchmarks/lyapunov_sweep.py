"""Lyapunov exponents over a parameter sweep: the batched native kernel against numba and
chaosjax's XLA kernels, in one process.

Lorenz63, `N_RHO` values of rho in [0, 200], RK4 dt = 0.01, 1,000 transient + 10,000
averaged steps (the task of `benchmarks/bifurcation.py`):

- numba: `lorenz_max_lyapunov_numba` of bifurcation.py (`prange` over rho, scalar
  locals, the exact RK4 tangent, a logarithm per step);
- numba, the best peer: `_numba_peers.lorenz_max_lyapunov_soa` (`prange` over chunks of
  64 members, structure-of-arrays, the member loop vectorised by LLVM, FMA contraction,
  logarithms of running products every 32 steps: the construction of chaosjax's kernel),
  and `lorenz_spectrum3_soa`, the same for the three exponents (modified Gram-Schmidt);
- `cj.bifurcation.lyapunov_sweep` (one compiled vmap; its spectrum's batching rule runs
  the batched generated-C kernel as one XLA custom call);
- `jax.jit(jax.vmap(lambda r: cj.max_lyapunov(Lorenz63(rho=r), x0, ...)))`: the same
  kernel reached from the user's own vmap, and that program traced with
  `CHAOSJAX_CGEN=0` (chaosjax's XLA kernel, vmapped);
- the three leading exponents (k = 3, QR every step) over the same sweep: native and
  `CHAOSJAX_CGEN=0`.

Repeats interleaved (A, B, C, ..., then again) after a warm-up that compiles everything,
a 50 ms pause before each call; medians, with the load average printed beside them.
Run: `python benchmarks/lyapunov_sweep.py [--repeats 5] [--n 2500]`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

import chaosjax as cj

cj.enable_x64()
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _harness import tee  # noqa: E402
from _numba_peers import lorenz_max_lyapunov_soa, lorenz_spectrum3_soa, simd_report  # noqa: E402
from bifurcation import lorenz_max_lyapunov_numba  # noqa: E402

TRANSIENT, STEPS, DT = 1_000, 10_000, 0.01


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--n", type=int, default=2_500)
    ap.add_argument("--quick", action="store_true", help="smaller sizes, one repeat (smoke run)")
    ap.add_argument("--markdown", help="also write the report to this Markdown file")
    args = ap.parse_args()
    if args.quick:
        args.n, args.repeats = 250, 1
    with tee(args.markdown, fenced=True):
        run(args)


def run(args) -> None:
    lor = cj.systems.Lorenz63()
    x0 = lor.default_state()
    rhos = jnp.linspace(0.0, 200.0, args.n)
    rhos_np, x0_np = np.asarray(rhos), np.asarray(x0)
    sigmas_np = np.full_like(rhos_np, 10.0)

    def lam(r, k=1):
        m = cj.systems.Lorenz63(rho=r)
        res = cj.lyapunov_spectrum(
            m, x0, steps=STEPS, transient=TRANSIENT, dt=DT, k=k, throw=False, history=1
        )
        return res.exponents

    def traced(k, cgen):  # a jit(vmap(...)) traced now, with or without generated C
        os.environ["CHAOSJAX_CGEN"] = "1" if cgen else "0"
        try:
            fn = jax.jit(jax.vmap(lambda r: lam(r, k)))
            jax.block_until_ready(fn(rhos))  # compile (and warm up) under this setting
        finally:
            os.environ.pop("CHAOSJAX_CGEN")
        return lambda: fn(rhos)

    variants = {
        "numba (prange, scalar locals)": lambda: lorenz_max_lyapunov_numba(
            rhos_np, x0_np, TRANSIENT, STEPS, DT
        ),
        "numba (chunks of 64, SoA, SIMD)": lambda: lorenz_max_lyapunov_soa(
            rhos_np, sigmas_np, x0_np, TRANSIENT, STEPS, DT
        ),
        "numba k=3 (chunks of 64, SoA, SIMD)": lambda: lorenz_spectrum3_soa(
            rhos_np, sigmas_np, x0_np, TRANSIENT, STEPS, DT
        ),
        "cj.lyapunov_sweep (native)": lambda: cj.bifurcation.lyapunov_sweep(
            lor, "rho", rhos, x0, steps=STEPS, transient=TRANSIENT, dt=DT
        ),
        "jit(vmap(max exponent)) native": traced(1, True),
        "jit(vmap(max exponent)) CGEN=0": traced(1, False),
        "jit(vmap(k=3 spectrum)) native": traced(3, True),
        "jit(vmap(k=3 spectrum)) CGEN=0": traced(3, False),
    }
    outs = {name: np.asarray(jax.block_until_ready(fn())) for name, fn in variants.items()}
    times: dict[str, list[float]] = {name: [] for name in variants}
    loads = []
    for _ in range(args.repeats):
        for name, fn in variants.items():
            time.sleep(0.05)
            t0 = time.perf_counter()
            jax.block_until_ready(fn())
            times[name].append(time.perf_counter() - t0)
        loads.append(os.getloadavg()[0])
    med = {name: statistics.median(t) for name, t in times.items()}
    steps = args.n * (TRANSIENT + STEPS)
    print(
        f"Lorenz63 exponents over {args.n} rho in [0, 200], RK4 dt={DT}, {TRANSIENT} + "
        f"{STEPS} steps; medians of {args.repeats} interleaved repeats; load average "
        f"{min(loads):.2f}-{max(loads):.2f} (cores: {os.cpu_count()})"
    )
    base = med["numba (prange, scalar locals)"]
    best = med["numba (chunks of 64, SoA, SIMD)"]
    best3 = med["numba k=3 (chunks of 64, SoA, SIMD)"]
    for name, t in med.items():  # "x best numba": against the best peer for the same k
        print(
            f"  {name:36s} {t * 1e3:9.1f} ms  {steps / t:.2e} steps/s  x numba {t / base:.2f}"
            f"  x best numba {t / (best3 if 'k=3' in name else best):.2f}"
        )
    ratio = med["jit(vmap(max exponent)) CGEN=0"] / med["jit(vmap(max exponent)) native"]
    ratio3 = med["jit(vmap(k=3 spectrum)) CGEN=0"] / med["jit(vmap(k=3 spectrum)) native"]
    print(f"  native speed-up over XLA: largest exponent {ratio:.2f}x, k = 3 {ratio3:.2f}x")
    print(
        f"  chaosjax / best numba: lyapunov_sweep {med['cj.lyapunov_sweep (native)'] / best:.2f}, "
        f"jit(vmap) {med['jit(vmap(max exponent)) native'] / best:.2f}, k = 3 "
        f"{med['jit(vmap(k=3 spectrum)) native'] / best3:.2f}"
    )
    calm = rhos_np < 13.9  # stable equilibria: the two kernels agree to rounding
    a, b = outs["numba (chunks of 64, SoA, SIMD)"], outs["numba (prange, scalar locals)"]
    band = (rhos_np > 30) & (rhos_np < 90)
    print(
        f"  numba SoA vs scalar: max |diff| for rho < 13.9: {np.abs(a - b)[calm].max():.1e}; "
        f"mean exponent for rho in [30, 90]: {a[band].mean():.4f} vs {b[band].mean():.4f}; "
        f"packed-double instructions in the SoA kernel: {simd_report(lorenz_max_lyapunov_soa)}"
    )
    for k in (1, 3):
        a = outs[f"jit(vmap({'max exponent' if k == 1 else 'k=3 spectrum'})) native"]
        b = outs[f"jit(vmap({'max exponent' if k == 1 else 'k=3 spectrum'})) CGEN=0"]
        print(f"  k = {k}: max |native - XLA| for rho < 13.9: {np.abs(a - b)[calm].max():.1e}")
    a, b = outs["numba k=3 (chunks of 64, SoA, SIMD)"], outs["jit(vmap(k=3 spectrum)) native"]
    print(
        f"  k = 3: max |numba SoA - native| for rho < 13.9: {np.abs(a - b)[calm].max():.1e}; "
        f"packed-double instructions: {simd_report(lorenz_spectrum3_soa)}"
    )


if __name__ == "__main__":
    main()
