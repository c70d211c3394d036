"""The largest Lyapunov exponent of Lorenz63 on a 1,000 x 1,000 (rho, sigma) grid, on a GPU.

    python benchmarks/gpu_lyapunov_grid.py [--n 1000] [--steps 10000] [--transient 1000]
                                           [--batch-size 250000] [--float32] [--cpu-smoke]

`cj.sweep` of `cj.max_lyapunov` (Benettin et al. 1980: one tangent vector, renormalised
every step) over rho in [0.5, 200] and sigma in [0.5, 30] (beta = 8/3), RK4 with
dt = 0.01 from (1, 1, 1), `--transient` steps dropped and `--steps` averaged, in
batches of `--batch-size` points streamed to a Zarr store. Timed: the sweep into a
fresh store after a first, compiling one (so the figure includes the batches' transfers
and the Zarr writes), the same grid as one `jit(vmap(...))` call, and a resumed call
on the finished store (which computes nothing). Reported: trajectory-steps per second
(grid points x (transient + steps) / seconds) and the fraction of the GPU's peak at
about 170 flops per step (RK4 of the state, 72; RK4 of the tangent, about 84 with the
Jacobian-vector products; renormalisation and logarithm, about 15), of the device's
dense vector peak from its datasheet (H200/H100 SXM: 34 TFLOP/s float64, 67 float32;
A100: 9.7 and 19.5) or `--peak`.

For scale, the published DiffEqGPU.jl figures (Utkarsh et al. 2024, "Automated
translation and accelerated solving of differential equations on multiple GPU
platforms", CMAME 419, 116591, arXiv:2304.06835; raw data in
github.com/utkarsh530/GPUODEBenchmarks): 5.8e10 Lorenz63 trajectory-steps/s for
8,388,608 float32 trajectories of 1,000 GPUTsit5 steps without a tangent (V100); MPGOS
(CUDA C++, RK4) 8.9e10; diffrax (vmap) 8.4e8. A step here carries the tangent too, so
it costs about 2.4 of those.

Without a GPU visible to JAX it stops with exit status 77 ("skipped" for
`benchmarks/run_all.py`) unless `--cpu-smoke`: a 16 x 16 grid of 250 steps on the CPU.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import warnings

import jax
import jax.numpy as jnp
import numpy as np
from _harness import tee

import chaosjax as cj

DT = 0.01
FLOPS_PER_STEP = 170
PEAKS = {"H200": (34e12, 67e12), "H100": (34e12, 67e12), "A100": (9.7e12, 19.5e12)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000, help="grid points per axis")
    ap.add_argument("--steps", type=int, default=10_000)
    ap.add_argument("--transient", type=int, default=1_000)
    ap.add_argument("--batch-size", type=int, default=250_000)
    ap.add_argument("--float32", action="store_true", help="64-bit JAX switched off")
    ap.add_argument("--peak", type=float, default=None, help="peak FLOP/s of the dtype")
    ap.add_argument("--cpu-smoke", action="store_true", help="a tiny run on any machine")
    ap.add_argument(
        "--quick", action="store_true", help="a 200 x 200 grid, fewer steps (smoke run)"
    )
    ap.add_argument("--markdown", help="also write the report to this Markdown file")
    args = ap.parse_args()
    if args.quick:
        args.n, args.steps = min(args.n, 200), min(args.steps, 1_000)
    with tee(args.markdown):
        return run(args)


def run(args):

    backend = jax.default_backend()
    if backend != "gpu" and not args.cpu_smoke:
        print(
            f"benchmarks/gpu_lyapunov_grid.py: no GPU visible to JAX (backend {backend!r}). "
            "Run with --cpu-smoke to check the script on a CPU.",
            file=sys.stderr,
        )
        return 77
    n, steps, transient, batch = args.n, args.steps, args.transient, args.batch_size
    if args.cpu_smoke:
        n, steps, transient, batch = 16, 200, 50, 64
    if not args.float32:
        cj.enable_x64()
    else:
        warnings.simplefilter("ignore", cj.PrecisionWarning)
    dtype = "float32" if args.float32 else "float64"
    dev = jax.devices()[0]
    peak = args.peak
    for name, pair in PEAKS.items():
        if peak is None and name in dev.device_kind:
            peak = pair[1] if args.float32 else pair[0]

    x0 = jnp.ones(3)

    def largest(rho, sigma):
        lor = cj.systems.Lorenz63(rho=rho, sigma=sigma)
        res = cj.max_lyapunov(lor, x0, steps=steps, dt=DT, transient=transient, throw=False)
        return res.largest

    grid = {"rho": np.linspace(0.5, 200.0, n), "sigma": np.linspace(0.5, 30.0, n)}
    work = n * n * (steps + transient)
    lines = [
        f"device: {dev.device_kind} ({jax.device_count()} device(s), {backend}), "
        f"jax {jax.__version__}, chaosjax {cj.__version__}",
        f"Lorenz63 largest exponent, {n} x {n} (rho, sigma) grid, RK4 dt = {DT}, "
        f"{transient:,} + {steps:,} steps per point, {dtype}, batches of {batch:,}",
        "",
        "| call | time | traj-steps/s | % of peak |",
        "|---|---:|---:|---:|",
    ]
    print("\n".join(lines), flush=True)

    def row(name, seconds):
        rate = work / seconds
        share = f"{100 * rate * FLOPS_PER_STEP / peak:.1f}" if peak else "n/a"
        lines.append(f"| {name} | {seconds:.3g} s | {rate:.3g} | {share} |")
        print(lines[-1], flush=True)

    tmp = tempfile.mkdtemp(prefix="chaosjax-grid-")
    try:
        t0 = time.perf_counter()
        cj.sweep(largest, grid, batch_size=batch, out=os.path.join(tmp, "first.zarr"))
        row("`cj.sweep`, first call (compiles)", time.perf_counter() - t0)
        t0 = time.perf_counter()
        ds = cj.sweep(largest, grid, batch_size=batch, out=os.path.join(tmp, "grid.zarr"))
        row("`cj.sweep` into a fresh Zarr store", time.perf_counter() - t0)
        t0 = time.perf_counter()
        cj.sweep(largest, grid, batch_size=batch, out=os.path.join(tmp, "grid.zarr"))
        resumed = time.perf_counter() - t0
        lam = ds["value"].load()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    r, s = jnp.meshgrid(jnp.asarray(grid["rho"]), jnp.asarray(grid["sigma"]), indexing="ij")
    direct = jax.jit(jax.vmap(largest))
    jax.block_until_ready(direct(r.ravel(), s.ravel()))
    t0 = time.perf_counter()
    ref = jax.block_until_ready(direct(r.ravel(), s.ravel()))
    row("one `jit(vmap(...))` call, no store", time.perf_counter() - t0)
    values = lam.values
    finite = np.isfinite(values)
    near = lam.sel(rho=28.0, sigma=10.0, method="nearest")
    lines += [
        "",
        f"resumed call on the finished store: {resumed:.3g} s (nothing computed)",
        f"largest |sweep - jit(vmap)|: "
        f"{float(np.nanmax(np.abs(values - np.asarray(ref).reshape(n, n)))):.2e}; "
        f"{int(finite.sum()):,} of {n * n:,} finite, {int((values[finite] > 0.01).sum()):,} "
        f"chaotic (> 0.01); at rho = {float(near.rho):.3g}, sigma = {float(near.sigma):.3g}: "
        f"{float(near):.4f} (0.906 at rho = 28, sigma = 10 in the limit)",
    ]
    print("\n".join(lines[-3:]))
    out = os.environ.get("OUT")
    if out:
        with open(os.path.join(out, f"gpu_lyapunov_grid_{dtype}.md"), "w") as f:
            f.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
