"""Stored orbits: `cj.trajectory`, `cj.final_state` and the logistic orbit diagram
against numba and against chaosjax's own XLA path (`CHAOSJAX_CGEN=0`), in one process.

Variants are interleaved (A, B, C, A, B, C, ...), medians reported. Two timings: "hot"
(calls back to back: the fixed per-call cost and the kernel) and "after 50 ms idle"
(as `benchmarks/ensemble.py` times them: on a loaded machine a call after an idle
pause also pays for waking the threads it hands work to). numba: the loops of
`ensemble.py` (single trajectory) and `bifurcation.py` (orbit diagram).

Run: `python benchmarks/native_store.py [--repeats 30]`.
"""

from __future__ import annotations

import argparse
import os
import sys

import jax.numpy as jnp
import numpy as np

sys.path.insert(0, os.path.dirname(__file__))

import chaosjax as cj  # noqa: E402

cj.enable_x64()

from _calls import measure  # noqa: E402
from _harness import tee  # noqa: E402
from _numba_peers import (  # noqa: E402
    logistic_diagram_into,
    logistic_diagram_nrt,
    logistic_diagram_soa,
)
from bifurcation import logistic_diagram_numba  # noqa: E402
from ensemble import BETA, DT, RHO, SIGMA, numba_trajectory, plain_jax_trajectory  # noqa: E402

#: The best numba peer of the orbit diagram (benchmarks/_numba_peers.py).
BEST_DIAGRAM = "numba, chunks of 64 r stored as arrays, SIMD, output from NumPy (the best peer)"


def xla(fn):
    """fn run with CHAOSJAX_CGEN=0 (the XLA kernels)."""

    def run():
        os.environ["CHAOSJAX_CGEN"] = "0"
        try:
            return fn()
        finally:
            del os.environ["CHAOSJAX_CGEN"]

    return run


def table(title: str, t: dict, peer: str, unit: float, unit_name: str) -> None:
    print(f"\n{title}\n| variant | {unit_name} | vs {peer} |\n|---|---:|---:|")
    for k, s in t.items():
        print(f"| {k} | {s / unit:.3g} | {s / t[peer]:.2f} |")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--quick", action="store_true", help="few repeats (smoke run)")
    ap.add_argument("--markdown", help="also write the tables to this Markdown file")
    args = ap.parse_args(argv)
    if args.quick:
        args.repeats = 4
    with tee(args.markdown):
        run(args)


def run(args) -> None:
    n = 20_000
    lor = cj.systems.Lorenz63()
    x0 = lor.default_state()
    x0_np = np.array(x0)
    plain = plain_jax_trajectory(n)
    single = {
        "chaosjax `cj.trajectory`": lambda: cj.trajectory(lor, x0, steps=n, dt=DT),
        "chaosjax `cj.trajectory`, XLA path": xla(lambda: cj.trajectory(lor, x0, steps=n, dt=DT)),
        "chaosjax `cj.trajectory`, 10 steps": lambda: cj.trajectory(lor, x0, steps=10, dt=DT),
        "chaosjax `cj.final_state`": lambda: cj.final_state(lor, x0, steps=n, dt=DT),
        "numba loop": lambda: numba_trajectory(x0_np, n, DT, SIGMA, RHO, BETA),
        "plain JAX `jit(scan)`": lambda: plain(x0),
    }
    for pause, name in ((0.0, "hot"), (0.05, "after 50 ms idle")):
        t = measure(single, args.repeats, pause)
        table(f"Lorenz63, RK4, {n:,} steps, one orbit ({name})", t, "numba loop", 1e-3, "ms")
        print(f"load average {os.getloadavg()}")
    lengths = {}
    for steps in (2_000, 20_000, 200_000):
        lengths[f"chaosjax `cj.trajectory`, {steps:,} steps"] = lambda steps=steps: cj.trajectory(
            lor, x0, steps=steps, dt=DT
        )
        lengths[f"numba loop, {steps:,} steps"] = lambda steps=steps: numba_trajectory(
            x0_np, steps, DT, SIGMA, RHO, BETA
        )
    t = measure(lengths, args.repeats, 0.0)
    print("\nLorenz63, RK4, one orbit by its length (hot): the fixed cost of a call against")
    print("the loop; at 200,000 steps the output (4.8 MB) is a fresh allocation for both")
    print("| steps | chaosjax ms | numba ms | chaosjax / numba |\n|---:|---:|---:|---:|")
    for steps in (2_000, 20_000, 200_000):
        a = t[f"chaosjax `cj.trajectory`, {steps:,} steps"]
        b = t[f"numba loop, {steps:,} steps"]
        print(f"| {steps:,} | {a * 1e3:.3g} | {b * 1e3:.3g} | {a / b:.2f} |")
    print(f"load average {os.getloadavg()}")
    lg = cj.systems.Logistic()
    rs = jnp.linspace(2.5, 4.0, 10_000)
    rs_np = np.asarray(rs)
    x = jnp.array([0.5])
    diagram = {
        "chaosjax `cj.orbit_diagram`": lambda: (
            cj.orbit_diagram(lg, "r", rs, x, transient=1000, keep=1000).points
        ),
        "chaosjax `cj.orbit_diagram`, XLA path": xla(
            lambda: cj.orbit_diagram(lg, "r", rs, x, transient=1000, keep=1000).points
        ),
        "numba, prange over r": lambda: logistic_diagram_numba(rs_np, 0.5, 1000, 1000),
        BEST_DIAGRAM: lambda: logistic_diagram_soa(rs_np, 0.5, 1000, 1000),
        "numba, the same, output allocated inside numba": lambda: logistic_diagram_nrt(
            rs_np, 0.5, 1000, 1000
        ),
    }
    # Each variant 5 times in a row per round: its output then takes the memory its own
    # last output gave back, as in a loop of one kind of call. Interleaved call by call,
    # each would take what the variant before it freed (in 4 KiB pages, for the peers
    # that allocate inside numba), and on this VM the time of a fresh 80 MB output is
    # the time the host takes to hand out its pages (docs/performance.md).
    t = measure(diagram, max(6, args.repeats // 4), 0.05, runs=dict.fromkeys(diagram, 5))
    title = "Logistic orbit diagram, 10,000 r x (1,000 + 1,000), fresh output each call"
    table(title, t, BEST_DIAGRAM, 1e-3, "ms")
    print(f"load average {os.getloadavg()}")
    kernels = written_memory_kernels(lg, rs, rs_np)
    t = measure(kernels, args.repeats, 0.0)
    title = "The same diagram's loops alone, into an output written before (no page faults)"
    table(title, t, "numba SoA loop", 1e-3, "ms")
    print(f"load average {os.getloadavg()}")


def written_memory_kernels(lg, rs, rs_np) -> dict:
    """The orbit diagram's loops without the cost of fresh memory: chaosjax's generated
    member kernel (called through ctypes, as its XLA custom call calls it) and numba's
    SoA loop, each writing into its own (10,000, 1,000) array written before. The first
    touch of a fresh 80 MB output, which both pay in the table above, is the bound
    there; this is what the code itself does."""
    from chaosjax.native import stored

    cj.orbit_diagram(lg, "r", rs[:64], jnp.array([0.5]), transient=1, keep=8)
    fn = next(v for k, v in stored._kernels.items() if k[-1] == "member" and v is not None)
    n = rs_np.size
    npad = -(-n // stored.TILE) * stored.TILE
    P = np.concatenate([rs_np, np.full(npad - n, rs_np[-1])])[None]
    X, C = np.empty((1, npad)), np.empty(npad)
    threads = min(os.cpu_count() or 1, npad // stored.TILE)
    out_c, out_nb = np.zeros((n, 1000)), np.zeros((n, 1000))

    def generated():
        X[:] = 0.5
        fn(P.ctypes.data, X.ctypes.data, out_c.ctypes.data, C.ctypes.data,
           npad, n, 1000, 1000, 1, 1000, 0, threads)  # fmt: skip
        return out_c

    def soa():
        return logistic_diagram_into(rs_np, 0.5, 1000, 1000, out_nb)

    generated(), soa()
    assert np.array_equal(out_c, out_nb), "the generated kernel and numba's loop differ"
    return {"generated C kernel (ctypes)": generated, "numba SoA loop": soa}


if __name__ == "__main__":
    main()
