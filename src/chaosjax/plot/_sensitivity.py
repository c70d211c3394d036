"""Figures of sensitivities: the gradient blow-up of seed 000 on a log scale."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402


def sensitivity_blowup(
    table, *, exponent: float | None = 0.9056, reference=None, title: str = ""
) -> Figure:
    """Finite-time gradients against the horizon T on a log scale (seed 000, section 5).

    `table` is a `cj.BlowupTable`. Plotted: |gradient| of every initial condition
    (grey dots), the std and |median| over them, `reference` (T -> (mean, std), e.g.
    `cj.sensitivity.SEED_000_TABLE`) as crosses, and the growth exp(`exponent` T)
    anchored at the median at the first horizon beyond T = 2 (the largest Lyapunov
    exponent, 0.9056 for Lorenz63; None to omit).
    """
    T = np.asarray(table.horizons)
    g = np.abs(np.asarray(table.gradients))
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for i, t in enumerate(T):
        ax.plot(
            np.full(g.shape[1], t),
            g[i],
            ".",
            color="0.6",
            ms=3,
            alpha=0.6,
            label="|gradient| per initial condition" if i == 0 else None,
        )
    ax.plot(T, np.asarray(table.std), "o-", label="std over initial conditions")
    ax.plot(T, np.abs(np.asarray(table.median)), "s-", label="|median|")
    if reference is not None:
        ts = [t for t in T if float(t) in reference]
        ax.plot(ts, [reference[float(t)][1] for t in ts], "x", ms=9, mew=2, label="seed 000 std")
    if exponent is not None:
        later = np.flatnonzero(T >= 2.0)
        i0 = int(later[0]) if later.size else 0
        anchor = float(np.asarray(table.std)[i0])
        ax.plot(
            T, anchor * np.exp(exponent * (T - T[i0])), "k--", lw=1, label=f"exp({exponent:g} T)"
        )
    ax.axhline(1.0, color="k", lw=0.5, alpha=0.5)
    ax.set_yscale("log")
    ax.set_xlabel("averaging horizon T")
    ax.set_ylabel("d<S>_T / dp")
    ax.set_title(title or "finite-time gradients through a chaotic simulation")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
