"""Omega-limit sets of the smoothed sigmoid map, the one-neuron case study of C. Budd,
"Neural ODEs for, and as, dynamical systems" (Lecture 7, Seattle, June 2025):

    x_{n+1} = a x_n - (1 + tanh(c x_n)) / 2 + b,   a = 0.8,

over b for c in {1, 5, 10, 50, 1000}: orbit diagrams with the largest Lyapunov exponent
underneath and a strip coloured by the classification of each run; the counts of each
attractor type are printed per c. As c grows the map tends to the piecewise-linear map
with a jump at x = 0 (a border-collision / gap map), and the period-adding structure
appears between the two fixed-point ranges.

Run: `python examples/smoothed_sigmoid.py` (writes out/smoothed_sigmoid/*.png).
"""

from __future__ import annotations

import pathlib
import time

import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

import chaosjax as cj
import chaosjax.plot as cjp

cj.enable_x64()

OUT = pathlib.Path("out/smoothed_sigmoid")
CS = (1.0, 5.0, 10.0, 50.0, 1000.0)
BS = jnp.linspace(-0.2, 1.2, 1401)
X0 = jnp.array([0.1])


def windows(labels, periods, min_width=2):
    """Consecutive runs of the same (label, period) along b at least `min_width` wide."""
    out, start = [], 0
    keys = list(zip(labels, periods))
    for i in range(1, len(keys) + 1):
        if i == len(keys) or keys[i] != keys[start]:
            if i - start >= min_width:
                out.append((keys[start], start, i - 1))
            start = i
    return out


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(
        2, len(CS), figsize=(4 * len(CS), 6), sharex=True, gridspec_kw={"height_ratios": [3, 1.2]}
    )
    print(
        f"Smoothed sigmoid map, a = 0.8, {BS.size} values of b in [{float(BS[0])}, "
        f"{float(BS[-1])}], x0 = 0.1, transient 5000, 256 points kept.\n"
    )
    for j, c in enumerate(CS):
        t0 = time.perf_counter()
        system = cj.systems.SmoothedSigmoidMap(a=0.8, c=c)
        d = cj.orbit_diagram(system, "b", BS, X0, transient=5_000, keep=256)
        cl = cj.classify_sweep(
            system, "b", BS, X0, transient=5_000, keep=256, max_period=64, lyap_steps=5_000
        )
        took = time.perf_counter() - t0
        labels = cl.labels
        periods = np.asarray(cl.period)
        counts = cl.counts()
        print(f"c = {c:g}: {counts}  ({took:.1f} s)")
        found = sorted(set(periods[periods > 1].tolist()))
        print(f"    periods of periodic orbits: {found if found else 'none'}")
        # Period adding: the windows between the two fixed-point ranges, left to right.
        seq = [(lab, int(p)) for (lab, p), s, e in windows(labels, periods)]
        left = [f"{lab[:3]}{p if lab == 'periodic' else ''}" for lab, p in seq]
        print(f"    windows (>= 2 values wide) along b: {' '.join(left)}")
        lam = np.asarray(cl.exponents[:, 0])
        print(
            f"    largest exponent: min {np.nanmin(lam):+.3f}, max {np.nanmax(lam):+.3f} "
            "per iteration"
        )
        cjp.orbit_diagram(
            d,
            lam,
            labels=labels,
            title=f"c = {c:g}",
            ax_points=axes[0, j],
            ax_exponent=axes[1, j],
            point_label="x",
            param_label="b",
        )
        single = cjp.orbit_diagram(
            d,
            lam,
            labels=labels,
            param_label="b",
            point_label="x",
            title=f"smoothed sigmoid map, a = 0.8, c = {c:g}",
            exponent_units="(per iteration)",
        )
        single.savefig(OUT / f"orbit_diagram_c{c:g}.png", dpi=130)
        plt.close(single)
    fig.suptitle("x -> 0.8 x - (1 + tanh(c x))/2 + b: omega-limit sets over b")
    fig.tight_layout()
    fig.savefig(OUT / "orbit_diagrams.png", dpi=110)
    print(f"\nFigures in {OUT}/")


if __name__ == "__main__":
    main()
