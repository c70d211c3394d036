"""Call styles of the native (generated C) kernels: eager, inside jit, inside jit(vmap).

Ensemble: 4,096 Lorenz63 trajectories x 20,000 classical RK4 steps (dt = 0.005), the
time average of z only. The same computation is called the ways JAX users call it:

- eager and batched, `cj.time_average(lor, x0s, ...)` (the kernel through ctypes);
- `jax.jit(jax.vmap(lambda x: cj.time_average(lor, x, ...)))(x0s)`: the kernel as an
  XLA custom call (`jax.ffi`), the vmap merged into the kernel's batch by its batching
  rule;
- `jax.jit(lambda xs: cj.time_average(lor, xs, ...))(x0s)`: the custom call, batched;
- the same `jit(vmap(...))` traced with `CHAOSJAX_CGEN=0` (chaosjax's XLA kernels);
- the textbook JAX program, `jit(vmap(scan))` of a hand-written RK4 step.

Spectrum: the Lorenz63 Lyapunov spectrum, 100,000 RK4 steps (dt = 0.01), QR every
step: eager, and under `jax.jit`.

All variants run in this one process, their repeats interleaved (A, B, C, ..., then
again) after a warm-up, each call after a 50 ms pause (XLA's thread pool parks); the
figures are medians. Run: `python benchmarks/native_calls.py [--repeats 7] [--quick]
[--markdown FILE]`.
"""

from __future__ import annotations

import argparse
import os
import sys

import jax
import jax.numpy as jnp
from _calls import measure, time_average_over_rho, time_average_over_states, xla_traced

import chaosjax as cj

cj.enable_x64()

# The same Lorenz63 set-up and plain-JAX peer (jit(vmap(scan)) of a hand-written RK4 step)
# as benchmarks/ensemble.py, so the two tables compare against one program.
from ensemble import DT, plain_jax_ensemble  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="fewer steps (smoke run)")
    ap.add_argument("--markdown", help="also write the tables to this Markdown file")
    args = ap.parse_args(argv)
    B, N, NS = 4096, 20_000, 100_000
    if args.quick:
        B, N, NS = 512, 2_000, 10_000
    lor = cj.systems.Lorenz63()
    x0s = lor.sample_state(jax.random.key(0), B)
    x0s = jax.block_until_ready(cj.final_state(lor, x0s, steps=2_000, dt=DT))
    z = lambda x: x[2]  # noqa: E731

    def avg(x):
        return cj.time_average(lor, x, z, steps=N, dt=DT)

    # A new function object per variant: jax.jit caches traces by function.
    jv = time_average_over_states(lor, z, N, DT)
    jb = jax.jit(lambda xs: avg(xs))
    jv_xla = xla_traced(lambda: time_average_over_states(lor, z, N, DT))
    plain = plain_jax_ensemble(N)
    ens = {
        "eager, batched: `cj.time_average(lor, x0s, ...)`": lambda: avg(x0s),
        "`jax.jit(jax.vmap(lambda x: cj.time_average(lor, x, ...)))`": lambda: jv(x0s),
        "`jax.jit(lambda xs: cj.time_average(lor, xs, ...))`": lambda: jb(x0s),
        "`jit(vmap(...))` traced with `CHAOSJAX_CGEN=0` (XLA kernels)": lambda: jv_xla(x0s),
        "plain JAX `jit(vmap(scan))`, hand-written RK4": lambda: plain(x0s),
    }

    # A sweep: one orbit per value of rho, the parameter vmapped.
    rhos = jnp.linspace(20.0, 60.0, B)
    x1 = x0s[0]
    sweep = time_average_over_rho(x1, z, N, DT)
    sweep_xla = xla_traced(lambda: time_average_over_rho(x1, z, N, DT))
    swp = {
        "`jax.jit(jax.vmap(lambda rho: cj.time_average(Lorenz63(rho=rho), x0, ...)))`": (
            lambda: sweep(rhos)
        ),
        "the same traced with `CHAOSJAX_CGEN=0` (XLA kernels)": lambda: sweep_xla(rhos),
    }

    x0 = lor.default_state()

    def spec(x):
        return cj.lyapunov_spectrum(lor, x, NS, dt=0.01).exponents

    js = jax.jit(lambda x: spec(x))
    js_xla = xla_traced(lambda: jax.jit(lambda x: spec(x)))
    lyap = {
        "eager: `cj.lyapunov_spectrum(lor, x0, ...)`": lambda: spec(x0),
        "`jax.jit(lambda x: cj.lyapunov_spectrum(lor, x, ...))`": lambda: js(x0),
        "`jax.jit(...)` traced with `CHAOSJAX_CGEN=0` (XLA kernel)": lambda: js_xla(x0),
    }
    lines = []

    def out(line=""):
        print(line, flush=True)
        lines.append(line)

    t = measure(ens, args.repeats)
    base = t["plain JAX `jit(vmap(scan))`, hand-written RK4"]
    eager = t["eager, batched: `cj.time_average(lor, x0s, ...)`"]
    out(f"### Ensemble: {B} Lorenz63 trajectories x {N} RK4 steps, time average of z")
    out()
    out("| call | time | Mtraj-steps/s | vs plain jit(vmap(scan)) | vs eager batched |")
    out("| --- | --- | --- | --- | --- |")
    for name, s in t.items():
        out(f"| {name} | {s:.3f} s | {B * N / s / 1e6:.0f} | {base / s:.2f}x | {eager / s:.2f}x |")
    out()
    t = measure(swp, args.repeats)
    base = t["the same traced with `CHAOSJAX_CGEN=0` (XLA kernels)"]
    out(f"### Sweep: {B} values of rho, one Lorenz63 orbit each, {N} RK4 steps")
    out()
    out("| call | time | Mtraj-steps/s | vs XLA kernels |")
    out("| --- | --- | --- | --- |")
    for name, s in t.items():
        out(f"| {name} | {s:.3f} s | {B * N / s / 1e6:.0f} | {base / s:.2f}x |")
    out()
    t = measure(lyap, args.repeats)
    base = t["`jax.jit(...)` traced with `CHAOSJAX_CGEN=0` (XLA kernel)"]
    out(f"### Lorenz63 Lyapunov spectrum: {NS} RK4 steps, QR every step")
    out()
    out("| call | time | vs XLA kernel |")
    out("| --- | --- | --- |")
    for name, s in t.items():
        out(f"| {name} | {s * 1e3:.1f} ms | {base / s:.2f}x |")
    out()
    out(
        f"Medians of {args.repeats} interleaved runs after a warm-up, one process, "
        f"{len(os.sched_getaffinity(0))} cores, load average {os.getloadavg()[0]:.1f}."
    )
    if args.markdown:
        with open(args.markdown, "w") as fh:
            fh.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
