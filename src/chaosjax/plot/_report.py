"""Figures of the end-to-end report and the command line: Lyapunov convergence, the
gradient blow-up, orbit diagrams. Each returns a `matplotlib.figure.Figure`."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from ._lyapunov import exponent_scale, lam_label


def lyapunov_convergence(
    times, history, *, reference=None, unit: str = "time", title: str = ""
) -> Figure:
    """Running estimates of each exponent (history (chunks, k)) against time, with the
    literature values as dashed lines when `reference` is given; a symmetric-log
    exponent axis where the exponents differ by orders of magnitude."""
    h = np.asarray(history)
    t = np.asarray(times)
    fig, ax = plt.subplots(figsize=(7, 4))
    for i in range(h.shape[1]):
        (line,) = ax.plot(t, h[:, i], lw=1.2, label=lam_label(i + 1))
        if reference is not None and i < len(reference):
            ax.axhline(reference[i], color=line.get_color(), ls="--", lw=0.8, alpha=0.7)
    exponent_scale(ax, h)
    ax.set_xscale("log")
    ax.set_xlabel(f"averaging {unit}")
    ax.set_ylabel(f"λᵢ (per {'unit time' if unit == 'time' else 'iteration'})")
    ax.set_title(title)
    ax.legend(fontsize="small", ncol=min(4, h.shape[1]))
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def gradient_blowup(
    horizons,
    gradients,
    *,
    lam1=None,
    shadowing=None,
    reference=None,
    label: str = "dS/dp",
    unit: str = "time",
    title: str = "",
) -> Figure:
    """Finite-time gradients (horizons h, members n) against the horizon on a symlog
    axis: every member, the mean and std; the growth exp(lam1 T) for scale; the
    shadowing derivative (and a finite-difference reference) as horizontal lines."""
    T = np.asarray(horizons, float)
    g = np.asarray(gradients, float)
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for j in range(g.shape[1]):
        ax.plot(
            T,
            g[:, j],
            "o",
            ms=2,
            color="grey",
            alpha=0.35,
            label="one initial condition" if j == 0 else None,
        )
    ax.plot(T, g.mean(1), "-o", lw=1.5, ms=4, label="mean over initial conditions")
    ax.plot(T, g.std(1, ddof=1), "--s", lw=1.0, ms=3, label="std over initial conditions")
    if lam1 is not None and lam1 > 0:
        tt = np.linspace(T.min(), T.max(), 200)
        ax.plot(
            tt,
            np.exp(lam1 * tt),
            ":",
            color="k",
            lw=1,
            label=f"exp(λ₁ T), λ₁ = {lam1:.3g}",
        )
    if reference is not None:
        ax.axhline(reference, color="tab:green", lw=1.2, label=f"finite difference {reference:.3g}")
    if shadowing is not None:
        ax.axhline(shadowing, color="tab:red", lw=1.2, label=f"shadowing {shadowing:.3g}")
    ax.set_xscale("log")
    ax.set_yscale("symlog", linthresh=1.0)
    ax.set_xlabel(f"horizon T ({unit})")
    ax.set_ylabel(label)
    ax.set_title(title)
    ax.legend(fontsize="x-small", loc="upper left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def orbit_diagram(
    values, points, *, param: str = "p", coordinate: str = "x", title: str = ""
) -> Figure:
    """Scatter of omega-limit points (values n, points n x keep) against the parameter."""
    v = np.asarray(values, float).reshape(-1)
    p = np.asarray(points, float)
    vv = np.broadcast_to(v[:, None], p.shape)
    ok = np.isfinite(p)
    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.plot(vv[ok], p[ok], ",", color="k", alpha=0.35)
    ax.set_xlabel(param)
    ax.set_ylabel(coordinate)
    ax.set_xlim(v.min(), v.max())
    ax.set_title(title)
    fig.tight_layout()
    return fig
