"""The map sweeps of `bifurcation.py` and `lyapunov.py` against the chunked
structure-of-arrays numba peers of `_numba_peers.py`, in one process (the Lorenz63
exponent sweep of `bifurcation.py` is in `lyapunov_sweep.py`):

1. the logistic map's orbit diagram, 10,000 r in [2.5, 4] x (1,000 transient + 1,000
   kept), all kept points returned: `cj.orbit_diagram`, the numba `prange`-over-r loop of
   `bifurcation.py`, the chunked SoA peer writing into an output from NumPy (which,
   like chaosjax's kernel, advises transparent huge pages over it), the same with its
   output made inside numba (4 KiB pages), and a numba loop that only writes a NumPy
   (10,000, 1,000) output (the floor of writing a fresh 80 MB array);
2. the logistic map's exponent over 10,000 r in [2.9, 4] (500 transient + 2,000 steps),
   `jit(vmap(max_lyapunov))` as in `lyapunov.py`'s sweep table, against the SoA peer;
3. Lorenz63's largest exponent over a 100 x 100 (rho, sigma) grid (500 + 2,000 RK4 steps,
   dt = 0.01), likewise, against the SoA peer and the same arithmetic one member per
   `prange` iteration.

Repeats interleaved after a warm-up, a 50 ms pause before each call; medians, with the
load average. Run: `python benchmarks/sweep_peers.py [--repeats 7]`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import jax
import jax.numpy as jnp
import numba
import numpy as np

import chaosjax as cj

cj.enable_x64()
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _numba_peers as peers  # noqa: E402
from _harness import tee  # noqa: E402
from bifurcation import logistic_diagram_numba  # noqa: E402
from lyapunov import map_sweeps  # noqa: E402


def write_only(rs, keep):
    """Only the writes of the diagram, into an output from NumPy (as the SoA peer's)."""
    return _write_only(rs, keep, np.empty((rs.size, keep)))


@numba.njit(parallel=True)
def _write_only(rs, keep, out):
    for i in numba.prange(rs.size):
        for k in range(keep):
            out[i, k] = 0.5
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="smaller sizes, one repeat (smoke run)")
    ap.add_argument("--markdown", help="also write the report to this Markdown file")
    args = ap.parse_args()
    if args.quick:
        args.repeats = 1
    with tee(args.markdown, fenced=True):
        run(args)


def run(args) -> None:

    rs_d = np.linspace(2.5, 4.0, 10_000)
    rs_dj = jnp.asarray(rs_d)
    log = cj.systems.Logistic()
    rs_l, logistic, lor0, R, S, lorenz = map_sweeps()
    rs_ln, R_n, S_n, l0 = np.asarray(rs_l), np.asarray(R), np.asarray(S), np.asarray(lor0)
    groups = {
        "logistic orbit diagram, 10,000 r x (1,000 + 1,000)": {
            "cj.orbit_diagram": lambda: (
                (
                    cj.orbit_diagram(log, "r", rs_dj, jnp.array([0.5]), transient=1_000, keep=1_000)
                ).points
            ),
            "numba (prange over r, scalar)": lambda: logistic_diagram_numba(
                rs_d, 0.5, 1_000, 1_000
            ),
            "numba (chunks of 64, SoA, SIMD)": lambda: peers.logistic_diagram_soa(
                rs_d, 0.5, 1_000, 1_000
            ),
            "numba SoA, output made in numba": lambda: peers.logistic_diagram_nrt(
                rs_d, 0.5, 1_000, 1_000
            ),
            "numba, only writes the output": lambda: write_only(rs_d, 1_000),
        },
        "logistic exponent, 10,000 r, 500 + 2,000 steps": {
            "jit(vmap(max_lyapunov))": lambda: logistic(rs_l),
            "numba (chunks of 64, SoA, SIMD)": lambda: peers.logistic_max_lyapunov_soa(
                rs_ln, 0.3, 500, 2_000
            ),
        },
        "Lorenz63 exponent, 100 x 100 (rho, sigma), 500 + 2,000 RK4 steps": {
            "jit(vmap(max_lyapunov))": lambda: lorenz(R, S),
            "numba (chunks of 64, SoA, SIMD)": lambda: peers.lorenz_max_lyapunov_soa(
                R_n, S_n, l0, 500, 2_000, 0.01
            ),
            "numba (prange per member, scalar)": lambda: peers.lorenz_max_lyapunov_scalar(
                R_n, S_n, l0, 500, 2_000, 0.01
            ),
        },
    }
    flat = {(g, name): fn for g, v in groups.items() for name, fn in v.items()}
    outs = {key: np.asarray(jax.block_until_ready(fn())) for key, fn in flat.items()}
    times: dict[tuple[str, str], list[float]] = {key: [] for key in flat}
    loads = []
    # The diagram's variants 3 times in a row per round: each output then takes the
    # memory its own last output gave back (`native_store.py` says why).
    diagram = next(iter(groups))
    for _ in range(args.repeats):
        for key, fn in flat.items():
            for _ in range(3 if key[0] == diagram else 1):
                time.sleep(0.05)
                t0 = time.perf_counter()
                jax.block_until_ready(fn())
                times[key].append(time.perf_counter() - t0)
        loads.append(os.getloadavg()[0])
    med = {key: statistics.median(t) for key, t in times.items()}
    print(
        f"medians of {args.repeats} interleaved repeats; load average "
        f"{min(loads):.2f}-{max(loads):.2f} (cores: {os.cpu_count()}); numba threads "
        f"{numba.get_num_threads()}"
    )
    for g, v in groups.items():
        best = med[(g, "numba (chunks of 64, SoA, SIMD)")]
        print(f"{g}:")
        for name in v:
            t = med[(g, name)]
            print(f"  {name:36s} {t * 1e3:9.1f} ms  x best numba {t / best:.2f}")

    g = next(iter(groups))
    d_cj, d_old, d_soa = (outs[(g, k)] for k in list(groups[g])[:3])
    print(
        f"orbit diagram: SoA == scalar numba bit for bit: {np.array_equal(d_soa, d_old)}; "
        f"== chaosjax: {np.array_equal(d_soa, d_cj[:, :, 0])} (max |diff| for r < 3.5: "
        f"{np.abs(d_soa - d_cj[:, :, 0])[rs_d < 3.5].max():.1e})"
    )
    a, b = (
        outs[("logistic exponent, 10,000 r, 500 + 2,000 steps", "jit(vmap(max_lyapunov))")],
        (
            outs[
                (
                    "logistic exponent, 10,000 r, 500 + 2,000 steps",
                    "numba (chunks of 64, SoA, SIMD)",
                )
            ]
        ),
    )
    print(
        f"logistic exponent: max |chaosjax - SoA| for r < 3.56: "
        f"{np.abs(a - b)[rs_ln < 3.56].max():.1e}; at r = 4: {a[-1]:.6f} vs {b[-1]:.6f}"
    )
    g = list(groups)[2]
    a, b, c = (outs[(g, k)] for k in groups[g])
    print(
        f"Lorenz63 grid: max |SoA - scalar| for rho < 13.9: {np.abs(b - c)[R_n < 13.9].max():.1e}; "
        f"mean exponent chaosjax {a.mean():.4f}, SoA {b.mean():.4f} (chaosjax starts the "
        f"tangent at a random unit vector, the peers at e_1: after 500 steps they differ "
        f"where the two leading exponents are close); at (28, 10): {a[3650]:.3f} vs {b[3650]:.3f}"
    )
    for fn in (peers._logistic_chunk, peers._logistic_lyap_chunk, peers._lorenz_chunk):
        print(f"packed-double instructions in {fn.py_func.__name__}: {peers.simd_report(fn)}")


if __name__ == "__main__":
    main()
