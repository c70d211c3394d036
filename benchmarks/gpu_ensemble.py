"""Ensembles on a GPU: Lorenz63 time averages of z, RK4 dt = 0.005, float64.

chaosjax `cj.time_average` against plain `jit(vmap(scan))` and diffrax (vmapped) for
4,096 to 1,048,576 trajectories, and a 1,048,576-member `cj.ensemble_time_average`
with its <z>. Skips (exit 0) where JAX has no GPU. Medians of 3 after a warm-up.
"""

from __future__ import annotations

import functools
import os
import statistics
import sys
import time

import jax

import chaosjax as cj

cj.enable_x64()

if jax.default_backend() != "gpu":
    print("benchmarks/gpu_ensemble.py: no GPU visible to JAX; skipped.")
    sys.exit(0)

import diffrax  # noqa: E402

LOR = cj.systems.Lorenz63()
DT, STEPS = 0.005, 20_000
FLOPS_PER_STEP = 72


def timed(fn, repeats=3):
    jax.block_until_ready(fn())  # warm-up (compilation)
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def z(x):
    return x[2]


@functools.cache
def plain(steps):
    """Plain JAX: vmap of a scan carrying the running sum (one compiled function per length)."""

    def one(x):
        def body(carry, _):
            y, s = carry
            return (cj.solvers.rk4_step(LOR.vector_field, y, DT), s + y[2]), None

        (_, s), _ = jax.lax.scan(body, (x, 0.0), None, length=steps)
        return s / steps

    return jax.jit(jax.vmap(one))


@functools.cache
def with_diffrax(steps):
    term = diffrax.ODETerm(lambda t, y, args: LOR.vector_field(y))

    def one(x):
        sol = diffrax.diffeqsolve(
            term,
            diffrax.Tsit5(),
            0.0,
            steps * DT,
            DT,
            x,
            stepsize_controller=diffrax.ConstantStepSize(),
            saveat=diffrax.SaveAt(t1=True),
            max_steps=steps,
        )
        return sol.ys[-1, 2]

    return jax.jit(jax.vmap(one))


def main():
    dev = jax.devices()[0]
    lines = [
        f"device: {dev.device_kind} ({jax.device_count()} device(s)), jax {jax.__version__}",
        "",
        "| variant | trajectories | steps | traj-steps/s | chaosjax is x faster |",
        "|---|---:|---:|---:|---:|",
    ]
    key = jax.random.key(0)
    for n in (4096, 65_536, 1_048_576):
        x0s = cj.final_state(LOR, LOR.sample_state(key, n), steps=2000, dt=DT)
        t_cj = timed(lambda: cj.time_average(LOR, x0s, z, steps=STEPS, dt=DT))
        t_plain = timed(lambda: plain(STEPS)(x0s))
        rate = n * STEPS / t_cj
        lines.append(f"| chaosjax `cj.time_average` | {n:,} | {STEPS:,} | {rate:.2e} | 1.00 |")
        lines.append(
            f"| plain `jit(vmap(scan))` | {n:,} | {STEPS:,} | {n * STEPS / t_plain:.2e} "
            f"| {t_plain / t_cj:.2f} |"
        )
        if n == 65_536:
            few = 1000
            t_dfx = timed(lambda: with_diffrax(few)(x0s), repeats=2)
            r_dfx = n * few / t_dfx
            lines.append(
                f"| diffrax vmapped (Tsit5, constant step) | {n:,} | {few:,} | "
                f"{r_dfx:.2e} | {rate / r_dfx:.1f} |"
            )
        print("\n".join(lines[-3:]), flush=True)
    t0 = time.perf_counter()
    ens = cj.ensemble_time_average(
        LOR, jax.random.key(1), 1_048_576, z, steps=STEPS, dt=DT, transient=STEPS
    )
    jax.block_until_ready(ens.mean)
    t_ens = time.perf_counter() - t0
    lines += [
        "",
        f"ensemble_time_average, 1,048,576 members, T = 100 after a T = 100 transient "
        f"(first call, compilation included): {t_ens:.2f} s; <z> = {float(ens.mean):.4f}, "
        f"member std {float(ens.std):.4f}, sem {float(ens.sem):.1e}",
    ]
    peak = 34e12  # H100/H200 SXM vector fp64 (datasheet); tensor-core fp64 is not used here
    best = max(float(row.split("|")[4]) for row in lines if row.startswith("| chaosjax"))
    share = 100 * best * FLOPS_PER_STEP / peak
    lines.append(
        f"best chaosjax rate {best:.2e} traj-steps/s = {share:.1f} % of the "
        "34 TFLOP/s fp64 vector peak"
    )
    text = "\n".join(lines)
    print(text)
    out = os.environ.get("OUT")
    if out:
        with open(os.path.join(out, "gpu_ensemble.md"), "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
