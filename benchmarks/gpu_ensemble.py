"""Ensembles on a GPU: 1e5 to 1e7 Lorenz63 time averages, RK4, float64 and float32.

    python benchmarks/gpu_ensemble.py [--sizes 100000 1000000 10000000] [--steps 10000]
                                      [--repeats 3] [--cpu-smoke]

Each member runs `--steps` RK4 steps of dt = 0.005 of Lorenz63 (sigma = 10, rho = 28,
beta = 8/3) from a state sampled on the attractor and returns its time average of z,
no trajectory stored: `cj.time_average(lor, x0s, ...)` on the whole batch, against
plain JAX written as a JAX user would (`jit(vmap(scan))` of the same RK4 step carrying
the running sum), both in float64 and in float32 (64-bit JAX switched off). Reported:
the median of `--repeats` timed calls after a warm-up (which compiles), as
trajectory-steps per second, and the fraction of the GPU's peak arithmetic rate at 72
flops per step (RK4 on Lorenz63: 4 evaluations of 8 flops, 40 for the stage updates; the
running sum is not counted). Peaks: the device's dense vector rate from its datasheet
(H200/H100 SXM: 34 TFLOP/s float64, 67 TFLOP/s float32; A100: 9.7 and 19.5), or
`--peak64`/`--peak32`.

Beside them, the published DiffEqGPU.jl figures for the same model (Utkarsh, Churavy, Ma,
Besard, Srisuma, Gymnich, Gerlach, Edelman, Barbastathis, Braatz, Rackauckas 2024,
"Automated translation and accelerated solving of differential equations on multiple GPU
platforms", Computer Methods in Applied Mechanics and Engineering 419, 116591,
arXiv:2304.06835; raw data in github.com/utkarsh530/GPUODEBenchmarks, data/*_unadaptive.txt):
Lorenz63 with rho as the ensemble parameter, 1,000 fixed steps (dt = 0.001 on [0, 1]),
float32, end state only, on the NVIDIA V100 ("volta") GPUs of the artifact's scripts.

Without a GPU visible to JAX it stops with exit status 77 ("skipped" for
`benchmarks/run_all.py`) unless `--cpu-smoke`: two small ensembles and 200 steps on the
CPU, to check that the script runs.
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import sys
import time
import warnings

import jax
import jax.numpy as jnp
from _harness import tee

import chaosjax as cj

DT = 0.005
FLOPS_PER_STEP = 72

# (trajectories, milliseconds) from github.com/utkarsh530/GPUODEBenchmarks, data/:
# Julia_times_unadaptive.txt (DiffEqGPU EnsembleGPUKernel, GPUTsit5), MPGOS_times_unadaptive
# .txt (MPGOS, hand-written CUDA C++, RK4) and Jax_times_unadaptive.txt (diffrax, vmap, Tsit5).
PUBLISHED = [
    ("DiffEqGPU.jl EnsembleGPUKernel, GPUTsit5", 6, [(2_097_152, 36.688), (8_388_608, 145.317)]),
    ("MPGOS (CUDA C++), RK4", 4, [(2_097_152, 23.62), (8_388_608, 94.157)]),
    ("diffrax vmap (JAX), Tsit5", 6, [(2_097_152, 2684.088), (8_388_608, 10038.143)]),
]  # fmt: skip
PUBLISHED_STEPS = 1_000

PEAKS = {  # dense vector FLOP/s (float64, float32), from the vendors' datasheets
    "H200": (34e12, 67e12),
    "H100": (34e12, 67e12),
    "A100": (9.7e12, 19.5e12),
    "V100": (7.8e12, 15.7e12),
}


def timed(fn, repeats):
    jax.block_until_ready(fn())  # warm-up: compilation
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


@functools.cache
def plain(steps):
    """Plain JAX: vmap of a scan carrying the state and the running sum of z."""
    lor = cj.systems.Lorenz63()

    def one(x):
        def body(carry, _):
            y, s = carry
            return (cj.solvers.rk4_step(lor.vector_field, y, DT), s + y[2]), None

        (_, s), _ = jax.lax.scan(body, (x, jnp.zeros((), x.dtype)), None, length=steps)
        return s / steps

    return jax.jit(jax.vmap(one))


def z(x):
    return x[2]


def peaks(args, kind):
    for name, pair in PEAKS.items():
        if name in kind:
            return (args.peak64 or pair[0], args.peak32 or pair[1]), name
    return (args.peak64, args.peak32), None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000, 10_000_000])
    ap.add_argument("--steps", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--peak64", type=float, default=None, help="float64 peak FLOP/s")
    ap.add_argument("--peak32", type=float, default=None, help="float32 peak FLOP/s")
    ap.add_argument("--cpu-smoke", action="store_true", help="a tiny run on any machine")
    ap.add_argument("--quick", action="store_true", help="fewer sizes and steps (smoke run)")
    ap.add_argument("--markdown", help="also write the report to this Markdown file")
    args = ap.parse_args()
    if args.quick:
        args.sizes, args.steps = args.sizes[:1], min(args.steps, 1_000)
    with tee(args.markdown):
        return run(args)


def run(args):

    backend = jax.default_backend()
    if backend != "gpu" and not args.cpu_smoke:
        print(
            f"benchmarks/gpu_ensemble.py: no GPU visible to JAX (backend {backend!r}). "
            "Run with --cpu-smoke to check the script on a CPU.",
            file=sys.stderr,
        )
        return 77
    cj.enable_x64()
    sizes, steps, repeats = args.sizes, args.steps, args.repeats
    if args.cpu_smoke:
        sizes, steps, repeats = [256, 1024], 200, 1
    dev = jax.devices()[0]
    (peak64, peak32), peak_name = peaks(args, dev.device_kind)
    lines = [
        f"device: {dev.device_kind} ({jax.device_count()} device(s), {backend}), "
        f"jax {jax.__version__}, chaosjax {cj.__version__}",
        f"Lorenz63, RK4, dt = {DT}, {steps:,} steps per member, time average of z; medians "
        f"of {repeats} after a warm-up. Peak: "
        + (f"{peak_name} datasheet" if peak_name else "given" if peak64 else "unknown"),
        "",
        "| variant | dtype | trajectories | time | traj-steps/s | % of peak |",
        "|---|---|---:|---:|---:|---:|",
    ]
    print("\n".join(lines), flush=True)
    lor = cj.systems.Lorenz63()
    key = jax.random.key(0)
    best = {}
    for dtype, peak in (("float64", peak64), ("float32", peak32)):
        with warnings.catch_warnings(), jax.enable_x64(dtype == "float64"):
            warnings.simplefilter("ignore", cj.PrecisionWarning)
            warnings.filterwarnings("ignore", "Explicitly requested dtype float64")
            for n in sizes:
                x0s = lor.sample_state(key, n).astype(dtype)
                variants = [
                    (
                        "chaosjax `cj.time_average`",
                        lambda: cj.time_average(lor, x0s, z, steps=steps, dt=DT),
                    ),
                    ("plain `jit(vmap(scan))`", lambda: plain(steps)(x0s)),
                ]
                for name, fn in variants:
                    out = fn()
                    assert out.dtype == jnp.dtype(dtype), (name, out.dtype)
                    t = timed(fn, repeats)
                    rate = n * steps / t
                    share = f"{100 * rate * FLOPS_PER_STEP / peak:.1f}" if peak else "n/a"
                    best[(name, dtype)] = max(best.get((name, dtype), 0.0), rate)
                    row = f"| {name} | {dtype} | {n:,} | {t:.3g} s | {rate:.3g} | {share} |"
                    lines.append(row)
                    print(row, flush=True)

    start = len(lines)
    lines += [
        "",
        f"Published (Utkarsh et al. 2024, arXiv:2304.06835; Lorenz63, float32, "
        f"{PUBLISHED_STEPS:,} fixed steps, V100):",
        "",
        "| implementation | trajectories | time | traj-steps/s | evaluations/s |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, stages, points in PUBLISHED:
        for n, ms in points:
            rate = n * PUBLISHED_STEPS / (ms / 1e3)
            lines.append(f"| {name} | {n:,} | {ms:.4g} ms | {rate:.3g} | {rate * stages:.3g} |")
    ours = best.get(("chaosjax `cj.time_average`", "float32"))
    if ours:
        top = max(n * PUBLISHED_STEPS / (ms / 1e3) for _, _, pts in PUBLISHED[:1] for n, ms in pts)
        lines += [
            "",
            f"chaosjax float32, best: {ours:.3g} traj-steps/s ({4 * ours:.3g} evaluations/s), "
            f"{ours / top:.2f}x DiffEqGPU's best traj-steps/s and {4 * ours / (6 * top):.2f}x "
            "its evaluations/s (different GPUs: compare the fractions of peak).",
        ]
    text = "\n".join(lines)
    print("\n".join(lines[start:]))
    out = os.environ.get("OUT")
    if out:
        with open(os.path.join(out, "gpu_ensemble.md"), "w") as f:
            f.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
