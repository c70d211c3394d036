"""Ensemble and single-trajectory speed of chaosjax against its peers, in one process.

Ensemble: 4,096 Lorenz63 trajectories x 20,000 classical RK4 steps (dt = 0.005), the
time average of z only (no trajectory stored). Single: one trajectory, 20,000 steps,
every state stored. Every variant is timed in this one process, and the repeats are
interleaved (variant A, B, C, ..., then again) so that all of them share the noise of
a shared machine; the figures are medians of `--repeats` runs after a warm-up. Each
timed call starts after a 50 ms pause, so that XLA's thread pool, which spins for a
while after a JAX variant, does not share the cores with the next one.

The slow peers run fewer steps (printed in the "steps" column) and are scaled per
step: their cost is linear in the number of steps.

Flop count: one RK4 step of Lorenz63 is 71 flops (8 per right-hand side x 4, 18 for the
stage inputs, 21 for the combination); 72 with the running time average. The float64
peak is cores x clock x flops/cycle (32 with two AVX-512 FMA units, 16 with AVX2 + FMA),
read from this machine.

Run: `python benchmarks/ensemble.py [--repeats 7] [--quick] [--markdown FILE]`.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
import time

import diffrax
import jax
import jax.numpy as jnp
import numba
import numpy as np
import scipy
from _calls import time_average_over_rho, time_average_over_states
from numba.extending import overload
from scipy.integrate import solve_ivp

import chaosjax as cj

cj.enable_x64()

SIGMA, RHO, BETA = 10.0, 28.0, 8.0 / 3.0
DT = 0.005
FLOPS_PER_STEP = 72


# --------------------------------------------------------------------------- machine


def machine() -> dict:
    """Cores, clock, vector flops per cycle and the float64 ceiling of this machine."""
    cores = len(os.sched_getaffinity(0))
    flags, model, mhz = set(), platform.processor(), None
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                key, _, val = line.partition(":")
                key = key.strip()
                if key == "flags" and not flags:
                    flags = set(val.split())
                elif key == "model name" and model == platform.processor():
                    model = val.strip()
                elif key == "cpu MHz" and mhz is None:
                    mhz = float(val)
    except OSError:
        pass
    try:  # a nominal maximum clock, where lscpu knows one, beats the current one
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith("CPU max MHz:"):
                mhz = float(line.split(":")[1])
    except OSError:
        pass
    if "avx512f" in flags:
        per_cycle, isa = 32, "AVX-512 (2 FMA units assumed: 2 x 8 doubles x 2 flops)"
    elif "avx2" in flags and "fma" in flags:
        per_cycle, isa = 16, "AVX2 + FMA (2 x 4 doubles x 2 flops)"
    else:
        per_cycle, isa = 4, "SSE2"
    ghz = (mhz or 2000.0) / 1000.0
    peak = cores * ghz * 1e9 * per_cycle
    return dict(
        cores=cores,
        model=model,
        ghz=ghz,
        isa=isa,
        per_cycle=per_cycle,
        peak_gflops=peak / 1e9,
        ceiling=peak / FLOPS_PER_STEP,
    )


# --------------------------------------------------------------------------- numba


def _param(p, i):
    """p[i] for an array of per-trajectory values, p itself for a scalar (numba below)."""
    return p[i] if isinstance(p, np.ndarray) else p


@overload(_param, inline="always")
def _param_numba(p, i):
    if isinstance(p, numba.types.Array):
        return lambda p, i: p[i]
    return lambda p, i: p


def _numba_ensemble(X0, n, dt, sigma, rho, beta, chunk):
    """The fastest numba variant tried: chunks of `chunk` contiguous trajectories in `prange`;
    per chunk, the time loop runs outside the loop over the chunk's trajectories, so the
    chunk stays in cache and LLVM vectorises across trajectories. Every value of the step
    is a scalar local; nothing is allocated in the time loop. `rho` is a number, or one
    value per trajectory (a parameter sweep: the same kernel, read per trajectory)."""
    B = X0.shape[0]
    out = np.empty(B)
    for c in numba.prange((B + chunk - 1) // chunk):
        lo = c * chunk
        w = min(B, lo + chunk) - lo
        x = np.empty(chunk)
        y = np.empty(chunk)
        z = np.empty(chunk)
        s = np.zeros(chunk)
        for j in range(w):
            x[j] = X0[lo + j, 0]
            y[j] = X0[lo + j, 1]
            z[j] = X0[lo + j, 2]
        h = 0.5 * dt
        d6 = dt / 6.0
        for _ in range(n):
            for j in range(w):
                u, v, q = x[j], y[j], z[j]
                rho_j = _param(rho, lo + j)
                s[j] += q
                a1 = sigma * (v - u)
                b1 = u * (rho_j - q) - v
                c1 = u * v - beta * q
                u2, v2, q2 = u + h * a1, v + h * b1, q + h * c1
                a2 = sigma * (v2 - u2)
                b2 = u2 * (rho_j - q2) - v2
                c2 = u2 * v2 - beta * q2
                u3, v3, q3 = u + h * a2, v + h * b2, q + h * c2
                a3 = sigma * (v3 - u3)
                b3 = u3 * (rho_j - q3) - v3
                c3 = u3 * v3 - beta * q3
                u4, v4, q4 = u + dt * a3, v + dt * b3, q + dt * c3
                a4 = sigma * (v4 - u4)
                b4 = u4 * (rho_j - q4) - v4
                c4 = u4 * v4 - beta * q4
                x[j] = u + d6 * (a1 + 2.0 * (a2 + a3) + a4)
                y[j] = v + d6 * (b1 + 2.0 * (b2 + b3) + b4)
                z[j] = q + d6 * (c1 + 2.0 * (c2 + c3) + c4)
        for j in range(w):
            out[lo + j] = s[j] / n
    return out


# The best variant lets LLVM contract a*b+c into FMAs (as XLA does): 1.5-1.7x faster
# here than strict IEEE order, which is shown too.
numba_ensemble = numba.njit(parallel=True, fastmath={"contract"}, cache=True)(_numba_ensemble)
numba_ensemble_strict = numba.njit(parallel=True, cache=True)(_numba_ensemble)


@numba.njit(fastmath={"contract"}, cache=True)
def numba_trajectory(x0, n, dt, sigma, rho, beta):
    out = np.empty((n + 1, 3))
    u, v, q = x0[0], x0[1], x0[2]
    out[0, 0], out[0, 1], out[0, 2] = u, v, q
    h = 0.5 * dt
    d6 = dt / 6.0
    for k in range(1, n + 1):
        a1 = sigma * (v - u)
        b1 = u * (rho - q) - v
        c1 = u * v - beta * q
        u2, v2, q2 = u + h * a1, v + h * b1, q + h * c1
        a2 = sigma * (v2 - u2)
        b2 = u2 * (rho - q2) - v2
        c2 = u2 * v2 - beta * q2
        u3, v3, q3 = u + h * a2, v + h * b2, q + h * c2
        a3 = sigma * (v3 - u3)
        b3 = u3 * (rho - q3) - v3
        c3 = u3 * v3 - beta * q3
        u4, v4, q4 = u + dt * a3, v + dt * b3, q + dt * c3
        a4 = sigma * (v4 - u4)
        b4 = u4 * (rho - q4) - v4
        c4 = u4 * v4 - beta * q4
        u = u + d6 * (a1 + 2.0 * (a2 + a3) + a4)
        v = v + d6 * (b1 + 2.0 * (b2 + b3) + b4)
        q = q + d6 * (c1 + 2.0 * (c2 + c3) + c4)
        out[k, 0], out[k, 1], out[k, 2] = u, v, q
    return out


# --------------------------------------------------------------------------- NumPy


def numpy_ensemble(X0, n, dt):
    """Vectorised over trajectories (structure of arrays), a Python loop over steps."""
    x, y, z = (np.ascontiguousarray(X0[:, i]) for i in range(3))
    s = np.zeros_like(x)

    def f(x, y, z):
        return SIGMA * (y - x), x * (RHO - z) - y, x * y - BETA * z

    for _ in range(n):
        s += z
        a1, b1, c1 = f(x, y, z)
        a2, b2, c2 = f(x + 0.5 * dt * a1, y + 0.5 * dt * b1, z + 0.5 * dt * c1)
        a3, b3, c3 = f(x + 0.5 * dt * a2, y + 0.5 * dt * b2, z + 0.5 * dt * c2)
        a4, b4, c4 = f(x + dt * a3, y + dt * b3, z + dt * c3)
        x = x + dt / 6.0 * (a1 + 2.0 * (a2 + a3) + a4)
        y = y + dt / 6.0 * (b1 + 2.0 * (b2 + b3) + b4)
        z = z + dt / 6.0 * (c1 + 2.0 * (c2 + c3) + c4)
    return s / n


# --------------------------------------------------------------------------- JAX peers


def lorenz_rhs(x):
    return jnp.stack([SIGMA * (x[1] - x[0]), x[0] * (RHO - x[2]) - x[1], x[0] * x[1] - BETA * x[2]])


def rk4(x):
    k1 = lorenz_rhs(x)
    k2 = lorenz_rhs(x + 0.5 * DT * k1)
    k3 = lorenz_rhs(x + 0.5 * DT * k2)
    k4 = lorenz_rhs(x + DT * k3)
    return x + DT / 6.0 * (k1 + 2.0 * (k2 + k3) + k4)


def plain_jax_ensemble(n):
    """The textbook JAX program: jit(vmap(scan)) of a hand-written RK4 step."""

    def one(x):
        def body(carry, _):
            x, s = carry
            return (rk4(x), s + x[2]), None

        (_, s), _ = jax.lax.scan(body, (x, jnp.zeros(())), None, length=n)
        return s / n

    return jax.jit(jax.vmap(one))


def plain_jax_trajectory(n):
    def run(x):
        def body(x, _):
            y = rk4(x)
            return y, y

        _, xs = jax.lax.scan(body, x, None, length=n)
        return jnp.concatenate([x[None], xs])

    return jax.jit(run)


class RK4(diffrax.AbstractERK):
    """Classical RK4 as a diffrax explicit Runge-Kutta method (Butcher tableau)."""

    tableau = diffrax.ButcherTableau(
        c=np.array([0.5, 0.5, 1.0]),
        b_sol=np.array([1 / 6, 1 / 3, 1 / 3, 1 / 6]),
        b_error=np.zeros(4),
        a_lower=(np.array([0.5]), np.array([0.0, 0.5]), np.array([0.0, 0.0, 1.0])),
    )
    interpolation_cls = diffrax.ThirdOrderHermitePolynomialInterpolation.from_k

    def order(self, terms):
        return 4


def diffrax_ensemble(n):
    """vmap of diffeqsolve, fixed step; the time average rides along as a 4th state
    component (the integral of z), since diffrax has no carried reduction."""
    term = diffrax.ODETerm(lambda t, y, args: jnp.concatenate([lorenz_rhs(y[:3]), y[2:3]]))

    def one(x):
        sol = diffrax.diffeqsolve(
            term,
            RK4(),
            t0=0.0,
            t1=n * DT,
            dt0=DT,
            y0=jnp.concatenate([x, jnp.zeros(1)]),
            stepsize_controller=diffrax.ConstantStepSize(),
            saveat=diffrax.SaveAt(t1=True),
            max_steps=n + 1,
        )
        return sol.ys[-1, 3] / (n * DT)

    return jax.jit(jax.vmap(one))


def diffrax_trajectory(n):
    term = diffrax.ODETerm(lambda t, y, args: lorenz_rhs(y))

    def run(x):
        sol = diffrax.diffeqsolve(
            term,
            RK4(),
            t0=0.0,
            t1=n * DT,
            dt0=DT,
            y0=x,
            stepsize_controller=diffrax.ConstantStepSize(),
            saveat=diffrax.SaveAt(t0=True, steps=True),
            max_steps=n + 1,
        )
        return sol.ys

    return jax.jit(run)


def scipy_trajectory(x0, n):
    """RK45 (adaptive Dormand-Prince) held to steps of at most dt, output on the grid."""

    def f(t, x):
        return [SIGMA * (x[1] - x[0]), x[0] * (RHO - x[2]) - x[1], x[0] * x[1] - BETA * x[2]]

    ts = DT * np.arange(n + 1)
    sol = solve_ivp(
        f,
        (0.0, ts[-1]),
        x0,
        method="RK45",
        t_eval=ts,
        max_step=DT,
        first_step=DT,
        rtol=1e-9,
        atol=1e-9,
    )
    return sol.y.T


# --------------------------------------------------------------------------- timing


def block(x):
    return jax.block_until_ready(x)


def xla_only(fn):
    """fn with chaosjax's generated-C kernels off (`CHAOSJAX_CGEN=0`): its XLA path."""

    def run():
        os.environ["CHAOSJAX_CGEN"] = "0"
        try:
            return block(fn())
        finally:
            del os.environ["CHAOSJAX_CGEN"]

    return run


def measure(variants, repeats):
    """variants: name -> (fn, steps run, traj-steps per call). Interleaved repeats.
    Also the backend of each variant's first call (`cj.simulate.last_backend()` after it:
    meaningful for the chaosjax time averages; the first call traces the jitted ones)."""
    backends = {}
    for name, (fn, _, _) in variants.items():  # warm-up: compile, and fill caches
        block(fn())
        backends[name] = cj.simulate.last_backend()
    times = {name: [] for name in variants}
    cpu = {name: [] for name in variants}
    for _ in range(repeats):
        for name, (fn, _, _) in variants.items():
            # Let thread pools a previous variant left spinning (XLA's) park first: on
            # two cores they share the CPU with whatever is timed next.
            time.sleep(0.05)
            t0, c0 = time.perf_counter(), time.process_time()
            block(fn())
            times[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)
    return (
        {name: statistics.median(ts) for name, ts in times.items()},
        {name: statistics.median(ts) for name, ts in cpu.items()},
        backends,
    )


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="fewer steps (smoke run)")
    ap.add_argument("--markdown", help="also write the tables to this Markdown file")
    args = ap.parse_args(argv)

    B, N = 4096, 20_000
    if args.quick:
        N = 2_000
    n_slow_ens = max(N // 20, 100)  # diffrax, NumPy on the ensemble
    n_slow_single = max(N // 10, 100)  # scipy on the single trajectory
    mach = machine()
    lor = cj.systems.Lorenz63()
    x0s = lor.sample_state(jax.random.key(0), B)
    # Start on the attractor, so all peers integrate the same bounded orbits.
    x0s = block(cj.final_state(lor, x0s, steps=2_000, dt=DT))
    X0 = np.array(x0s)
    x0 = lor.default_state()
    x0_np = np.array(x0)
    z = lambda x: x[2]  # noqa: E731

    plain_e = plain_jax_ensemble(N)
    diffrax_e = diffrax_ensemble(n_slow_ens)
    numba_chunk = 64
    # The call styles of JAX users (benchmarks/_calls.py): vmap over the states, and a
    # sweep, vmap over rho (B values in [20, 60], one orbit each from the first state).
    over_states = time_average_over_states(lor, z, N, DT)
    rhos = jnp.linspace(20.0, 60.0, B)
    rhos_np, X1 = np.asarray(rhos), np.tile(X0[:1], (B, 1))
    over_rho = time_average_over_rho(x0s[0], z, N, DT)
    ens = {
        "chaosjax `cj.time_average`": (
            lambda: cj.time_average(lor, x0s, z, steps=N, dt=DT),
            N,
            B * N,
        ),
        "chaosjax `cj.ensemble_time_average`": (
            lambda: cj.ensemble_time_average(lor, None, B, z, steps=N, dt=DT, x0=x0s).values,
            N,
            B * N,
        ),
        "chaosjax `cj.time_average`, 10 chunks (progress-bar syncs)": (
            lambda: cj.time_average(lor, x0s, z, steps=N, dt=DT, chunk_size=N // 10),
            N,
            B * N,
        ),
        "chaosjax `jax.jit(jax.vmap(lambda x: cj.time_average(lor, x, ...)))`": (
            lambda: over_states(x0s),
            N,
            B * N,
        ),
        "chaosjax `cj.time_average`, XLA path (`CHAOSJAX_CGEN=0`)": (
            xla_only(lambda: cj.time_average(lor, x0s, z, steps=N, dt=DT)),
            N,
            B * N,
        ),
        "numba, prange over chunks of 64, time loop inside": (
            lambda: numba_ensemble(X0, N, DT, SIGMA, RHO, BETA, numba_chunk),
            N,
            B * N,
        ),
        "numba, same, strict IEEE order (no FMA contraction)": (
            lambda: numba_ensemble_strict(X0, N, DT, SIGMA, RHO, BETA, numba_chunk),
            N,
            B * N,
        ),
        "plain JAX `jit(vmap(scan))`": (lambda: plain_e(x0s), N, B * N),
        f"sweep: chaosjax `jax.jit(jax.vmap(lambda rho: cj.time_average(Lorenz63(rho=rho), "
        f"x0, ...)))`, {B} rho": (lambda: over_rho(rhos), N, B * N),
        f"sweep: numba, the kernel above with one rho per trajectory, {B} rho": (
            lambda: numba_ensemble(X1, N, DT, SIGMA, rhos_np, BETA, numba_chunk),
            N,
            B * N,
        ),
        "NumPy vectorised over trajectories": (
            lambda: numpy_ensemble(X0, n_slow_ens, DT),
            n_slow_ens,
            B * n_slow_ens,
        ),
        "diffrax, vmapped `diffeqsolve` (RK4 tableau, constant step)": (
            lambda: diffrax_e(x0s),
            n_slow_ens,
            B * n_slow_ens,
        ),
    }

    # Agreement: every ensemble peer averages the same z over the same orbits (the
    # orbits decorrelate in time, so compare over a short horizon).
    n_chk = 200
    ref = np.asarray(cj.time_average(lor, x0s, z, steps=n_chk, dt=DT))
    checks = {
        "numba": numba_ensemble(X0, n_chk, DT, SIGMA, RHO, BETA, numba_chunk),
        "plain JAX": np.asarray(plain_jax_ensemble(n_chk)(x0s)),
        "NumPy": numpy_ensemble(X0, n_chk, DT),
        "`jit(vmap(...))`": np.asarray(time_average_over_states(lor, z, n_chk, DT)(x0s)),
    }
    agree = {k: float(np.max(np.abs(v - ref))) for k, v in checks.items()}
    sweep_nb = numba_ensemble(X1, n_chk, DT, SIGMA, rhos_np, BETA, numba_chunk)
    sweep_cj = np.asarray(time_average_over_rho(x0s[0], z, n_chk, DT)(rhos))
    agree["sweep, numba against `jit(vmap(...))` over rho"] = float(
        np.max(np.abs(sweep_nb - sweep_cj))
    )

    ens_t, ens_cpu, ens_backend = measure(ens, args.repeats)

    plain_t = plain_jax_trajectory(N)
    diffrax_t = diffrax_trajectory(N)
    single = {
        "chaosjax `cj.trajectory`": (lambda: cj.trajectory(lor, x0, steps=N, dt=DT), N, N),
        "numba loop": (lambda: numba_trajectory(x0_np, N, DT, SIGMA, RHO, BETA), N, N),
        "plain JAX `jit(scan)`": (lambda: plain_t(x0), N, N),
        "diffrax `diffeqsolve` (RK4 tableau, constant step, SaveAt(steps=True))": (
            lambda: diffrax_t(x0),
            N,
            N,
        ),
        "scipy `solve_ivp` RK45, max_step = dt": (
            lambda: scipy_trajectory(x0_np, n_slow_single),
            n_slow_single,
            n_slow_single,
        ),
    }
    xs_cj = np.asarray(cj.trajectory(lor, x0, steps=200, dt=DT))
    xs_nb = numba_trajectory(x0_np, 200, DT, SIGMA, RHO, BETA)
    single_t, _, _ = measure(single, args.repeats)

    # ------------------------------------------------------------------ report
    lines = []
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    load = os.getloadavg()
    lines += [
        f"Machine: {mach['model']}, {mach['cores']} cores at {mach['ghz']:.2f} GHz, "
        f"{mach['isa']}: float64 peak {mach['peak_gflops']:.1f} GFLOP/s = "
        f"{mach['ceiling']:.3g} traj-steps/s at {FLOPS_PER_STEP} flops per step.",
        f"Date: {now}. Load average at the end: {load[0]:.1f}, {load[1]:.1f}, "
        f"{load[2]:.1f} (shared machine; the ratios come from one run, interleaved).",
        f"Versions: Python {platform.python_version()}, jax {jax.__version__}, "
        f"numba {numba.__version__}, diffrax {diffrax.__version__}, numpy "
        f"{np.__version__}, scipy {scipy.__version__}. Medians of {args.repeats} "
        "interleaved runs after a warm-up.",
        "",
        f"### Ensemble: {B} Lorenz63 trajectories, RK4, dt = {DT}, time average of z",
        "",
        "| variant | steps timed | traj-steps/s | chaosjax is x faster | % of fp64 peak "
        "| traj-steps per CPU-second | CPU/wall |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    cj_rate = B * N / ens_t["chaosjax `cj.time_average`"]
    for name, (_, n, work) in ens.items():
        rate = work / ens_t[name]
        lines.append(
            f"| {name} | {n:,} | {rate:.3g} | {cj_rate / rate:.2f} | "
            f"{100 * rate / mach['ceiling']:.1f} | {work / ens_cpu[name]:.3g} | "
            f"{ens_cpu[name] / ens_t[name]:.2f} |"
        )
    lines += [
        "",
        "Backend of each chaosjax time average (`cj.simulate.last_backend()` after its "
        "first call): "
        + "; ".join(
            f"{name.removeprefix('chaosjax ')}: {ens_backend[name]}"
            for name in ens
            if "chaosjax" in name and "time_average" in name
        )
        + ".",
        "",
        "CPU/wall is the process's CPU time over wall time (at most the core count): "
        "below the core count, other processes held cores during the run. The sweep rows "
        f"run {B} values of rho in [20, 60], one orbit each from the same state: the same "
        "work per row as the ensemble, so their rates compare with the rows above.",
        "",
        "How each peer is written: numba, `@njit(parallel=True, fastmath={'contract'})` "
        "(FMA contraction, as gcc and XLA do), `prange` over chunks of 64 trajectories, the "
        "time loop inside each chunk, every value of the RK4 step a scalar local, nothing "
        "allocated in the time loop (the fastest of the numba variants tried; the same "
        "kernel reads one rho per trajectory in the sweep row); plain JAX, `jit(vmap(scan))` "
        "of a hand-written RK4 step carrying the running sum; NumPy, vectorised over the "
        "trajectories (structure of arrays), a Python loop over the steps; diffrax, "
        "`jit(vmap(diffeqsolve))` with the classical RK4 tableau (diffrax has no RK4 of its "
        "own), `ConstantStepSize`, `SaveAt(t1=True)` and the integral of z as a fourth "
        "state component (diffrax carries no reduction), its fastest fixed-step set-up.",
        "",
        "Agreement with `cj.time_average` over 200 steps (max |difference| of <z>): "
        + ", ".join(f"{k} {v:.1e}" for k, v in agree.items())
        + ".",
        "",
        f"### Single trajectory: Lorenz63, RK4, dt = {DT}, {N:,} steps, every state stored",
        "",
        "| variant | steps timed | time for the full run | steps/s | chaosjax is x faster |",
        "|---|---:|---:|---:|---:|",
    ]
    cj_single = single_t["chaosjax `cj.trajectory`"]
    for name, (_, n, work) in single.items():
        full = single_t[name] * N / work
        lines.append(
            f"| {name} | {n:,} | {1e3 * full:.3g} ms | {N / full:.3g} | {full / cj_single:.2f} |"
        )
    lines += [
        "",
        "Agreement with numba over 200 steps (max |difference| of the states): "
        f"{float(np.max(np.abs(xs_cj - xs_nb))):.1e}.",
        "",
        "How each peer is written: numba, one `@njit(fastmath={'contract'})` loop with "
        "scalar locals writing each state into a preallocated (steps + 1, 3) array; plain "
        "JAX, `jit(scan)` of the hand-written RK4 step; diffrax, `jit(diffeqsolve)` with the "
        "RK4 tableau, `ConstantStepSize` and `SaveAt(t0=True, steps=True)`; scipy, "
        "`solve_ivp` RK45 with `max_step = dt` and output on the grid (scipy has no "
        "fixed-step RK4; a Python call of the right-hand side per stage).",
    ]
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as fh:
            fh.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
