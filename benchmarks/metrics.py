"""Wasserstein benchmarks: cj.metrics.wasserstein against scipy and POT.

    python benchmarks/metrics.py [--repeats 5] [--sizes 10000,100000,1000000]
                                 [--sliced-sizes 10000,100000] [--markdown FILE]

Data: two runs of Lorenz63 (dt = 0.01, after a transient of 1,000 steps, from starts
1 apart), n samples each, 3-D, float64.

Tasks (every answer is checked against the peer's, then timed):
- Marginal W1, one distance per coordinate. chaosjax is `cj.metrics.wasserstein(a, b)`
  (the public call: argument checks, conversion of the NumPy inputs, two compiled sorts
  and the sum); the peers are `scipy.stats.wasserstein_distance` called on each of the
  3 coordinates and POT's `ot.wasserstein_1d(a, b, p=1)`, which takes all the columns
  at once. Equal sizes n = m, and unequal ones (m = 3n/4).
- Binned W1 in 3-D (24 grid points per coordinate, the default). chaosjax is
  `cj.metrics.wasserstein(a, b, method="binned")`, the whole call: the grid, both
  histograms, and the exact transport of their difference by `ot.emd2`. The peer is
  POT on the same histograms, given ready-made (not timed): the Euclidean cost
  between the occupied cells (`scipy.spatial.distance.cdist`; `ot.dist`'s expansion
  |x|^2 + |y|^2 - 2 x.y leaves ~1e-8 on the diagonal, which moved the answer by 1e-7)
  and `ot.emd2` on the full histograms.
- Sliced W2 with 100 directions. chaosjax is `cj.metrics.wasserstein(a, b,
  method="sliced", p=2, key=...)`; the peer is `ot.sliced_wasserstein_distance(a, b,
  projections=theta, p=2)` with the same unit directions theta.

Every variant runs in this process, interleaved, after a warm-up (compilation) call;
figures are medians of `--repeats` runs, each after a 250 ms pause (thread pools left
spinning by the previous variant slow the next on a small machine). Ratios are "peer
time / chaosjax time": above 1, chaosjax is faster.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
from importlib.metadata import version

import jax
import jax.numpy as jnp
import numpy as np
import ot
import scipy.stats
from _harness import Out, fmt, timed
from scipy.spatial.distance import cdist

import chaosjax as cj

cj.enable_x64()

BINS = 24
PROJECTIONS = 100


def lorenz_pair(n, m):
    lor = cj.systems.Lorenz63()
    x0 = lor.default_state()
    a = cj.trajectory(lor, x0, steps=n - 1, dt=0.01, transient=1_000)
    b = cj.trajectory(lor, x0 + 1.0, steps=m - 1, dt=0.01, transient=1_000)
    return np.asarray(a), np.asarray(b)


def compare(out, label, ours, peers, repeats, check):
    """Warm up, check the answers, time `ours` and every peer interleaved; one table row."""
    t_first, mine = timed(ours)
    answers = [timed(fn)[1] for _, fn in peers]
    diffs = ", ".join(f"{check(mine, theirs):.1e}" for theirs in answers)
    times = [[] for _ in range(1 + len(peers))]
    for _ in range(repeats):
        for k, fn in enumerate([ours] + [fn for _, fn in peers]):
            times[k].append(timed(fn)[0])
    med = [statistics.median(t) for t in times]
    cells = " | ".join(f"{fmt(m)} | {m / med[0]:.1f}" for m in med[1:])
    out(f"| {label} | {fmt(med[0])} | {cells} | {fmt(t_first)} | {diffs} |")


def max_abs(x, y):
    return float(np.max(np.abs(np.asarray(x, dtype=float) - np.asarray(y, dtype=float))))


def marginal_benchmark(out, sizes, repeats):
    out("\n### Marginal W1 per coordinate, 3-D Lorenz63 samples\n")
    out(
        "| n, m | chaosjax | scipy `wasserstein_distance` x 3 | scipy / chaosjax | "
        "POT `wasserstein_1d` | POT / chaosjax | chaosjax first call | "
        "max abs difference from scipy, POT |"
    )
    out("|---|---:|---:|---:|---:|---:|---:|---:|")
    for n in sizes:
        for m in (n, 3 * n // 4):
            a, b = lorenz_pair(n, m)
            compare(
                out,
                f"{n:,}, {m:,}",
                lambda a=a, b=b: cj.metrics.wasserstein(a, b),
                [
                    (
                        "scipy",
                        lambda a=a, b=b: np.array(
                            [scipy.stats.wasserstein_distance(a[:, i], b[:, i]) for i in range(3)]
                        ),
                    ),  # fmt: skip
                    ("POT", lambda a=a, b=b: ot.wasserstein_1d(a, b, p=1)),
                ],
                repeats,
                max_abs,
            )


def binned_benchmark(out, sizes, repeats):
    out(f"\n### Binned W1, 3-D Lorenz63 samples, {BINS} grid points per coordinate\n")
    out(
        "| n = m | occupied cells (a, b) | chaosjax (whole call) | POT `emd2` on the same "
        "histograms | POT / chaosjax | chaosjax first call | abs difference |"
    )
    out("|---|---:|---:|---:|---:|---:|---:|")
    for n in sizes:
        a, b = lorenz_pair(n, n)
        # The histograms, as `method="binned"` builds them: nearest of BINS points per
        # coordinate spanning both sets.
        lo = np.minimum(a.min(0), b.min(0))
        h = (np.maximum(a.max(0), b.max(0)) - lo) / (BINS - 1)

        def hist(x, lo=lo, h=h):
            cells = np.rint((x - lo) / h).astype(int)
            flat = np.ravel_multi_index(tuple(cells.T), (BINS,) * 3)
            return np.bincount(flat, minlength=BINS**3) / len(x)

        ha, hb = hist(a), hist(b)
        sa, sb = np.flatnonzero(ha), np.flatnonzero(hb)
        points = lo + np.stack(np.unravel_index(np.arange(BINS**3), (BINS,) * 3), 1) * h

        def pot(ha=ha, hb=hb, sa=sa, sb=sb, points=points):
            cost = cdist(points[sa], points[sb])
            return ot.emd2(ha[sa], hb[sb], cost, numItermax=10**8)

        t_first, mine = timed(lambda a=a, b=b: cj.metrics.wasserstein(a, b, method="binned"))
        theirs = timed(pot)[1]
        t_ours, t_pot = [], []
        for _ in range(repeats):
            t_ours.append(timed(lambda a=a, b=b: cj.metrics.wasserstein(a, b, method="binned"))[0])
            t_pot.append(timed(pot)[0])
        mo, mp = statistics.median(t_ours), statistics.median(t_pot)
        out(
            f"| {n:,} | {sa.size}, {sb.size} | {fmt(mo)} | {fmt(mp)} | {mp / mo:.1f} | "
            f"{fmt(t_first)} | {abs(float(mine) - float(theirs)):.1e} |"
        )


def sliced_benchmark(out, sizes, repeats):
    out(f"\n### Sliced W2, 3-D Lorenz63 samples, {PROJECTIONS} directions\n")
    out(
        "| n = m | chaosjax | POT `sliced_wasserstein_distance` | POT / chaosjax | "
        "chaosjax first call | abs difference |"
    )
    out("|---|---:|---:|---:|---:|---:|")
    key = jax.random.key(0)
    # The directions `method="sliced"` draws from `key`: normal, normalised columns.
    theta = jax.random.normal(key, (3, PROJECTIONS), dtype=jnp.float64)
    theta = np.asarray(theta / jnp.linalg.norm(theta, axis=0, keepdims=True))
    for n in sizes:
        a, b = lorenz_pair(n, n)
        compare(
            out,
            f"{n:,}",
            lambda a=a, b=b: cj.metrics.wasserstein(
                a, b, method="sliced", p=2, key=key, projections=PROJECTIONS
            ),
            [
                (
                    "POT",
                    lambda a=a, b=b: ot.sliced_wasserstein_distance(a, b, p=2, projections=theta),
                )
            ],
            repeats,
            max_abs,
        )


def _sizes(text):
    return [int(float(s)) for s in text.split(",") if s]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--sizes", type=_sizes, default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--sliced-sizes", type=_sizes, default=[10_000, 100_000])
    ap.add_argument("--only", choices=("marginal", "binned", "sliced"), help="run one task")
    ap.add_argument("--quick", action="store_true", help="the smallest size only (smoke run)")
    ap.add_argument("--markdown", help="also write the tables to this file")
    args = ap.parse_args()
    if args.quick:
        args.sizes, args.sliced_sizes = args.sizes[:1], args.sliced_sizes[:1]
    out = Out()
    versions = ", ".join(f"{name} {version(name)}" for name in ("jax", "numpy", "scipy", "pot"))
    out(
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
        f"Python {platform.python_version()}; {versions}. "
        f"Date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC. Medians of "
        f"{args.repeats} interleaved runs after a warm-up."
    )
    if args.only in (None, "marginal"):
        marginal_benchmark(out, args.sizes, args.repeats)
    if args.only in (None, "binned"):
        binned_benchmark(out, args.sizes, args.repeats)
    if args.only in (None, "sliced"):
        sliced_benchmark(out, args.sliced_sizes, args.repeats)
    out(
        "\nHow each peer is written: scipy `stats.wasserstein_distance` called on each "
        "coordinate; POT `wasserstein_1d` on all columns at once; POT `emd2` on the two "
        "histograms and their Euclidean cost matrix, given ready-made (not timed); POT "
        "`sliced_wasserstein_distance` with the same unit directions. Each peer's public "
        "call as its documentation shows it, on the same NumPy arrays."
    )
    out.finish(args.markdown)


if __name__ == "__main__":
    sys.exit(main())
