"""Figures of Lyapunov analyses: convergence histories, spectra, divergence curves, CLV
angles."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from ..lyapunov.dimension import kaplan_yorke_dimension
from . import _axes


def _unit(result) -> str:
    return "per iteration" if float(result.time_per_step) == 1.0 else "per unit time"


def lyapunov_convergence(result, *, reference=None, title: str = "", ax=None) -> Figure:
    """Running estimates of the exponents against time (or iterations), one line per
    exponent; a log time axis shows the 1/T settling.

    **Arguments:**

    - `result`: a `cj.LyapunovResult` of one run (index a batched result first).
    - `reference`: optional values drawn dashed, e.g. `system.reference_exponents`.
    - `title`: the axes title.
    - `ax`: an Axes to draw into (default: a new figure).

    **Returns:**

    The `matplotlib.figure.Figure` drawn into (the figure of `ax` when given).

    Example:

    ```python
    import chaosjax.plot as cjp
    hen = cj.systems.Henon()
    res = cj.lyapunov_spectrum(hen, hen.default_state(), 20_000)
    cjp.lyapunov_convergence(res, reference=hen.reference_exponents)
    ```
    """
    hist = np.asarray(result.history)
    steps = np.asarray(result.history_steps)
    if hist.ndim != 2:
        raise ValueError(
            "`result` must be one run (history of shape (rows, k)); index a batched result first."
        )
    t = steps * float(result.time_per_step)
    ax, new = _axes.axes(ax, (7, 4))
    for j in range(hist.shape[1]):
        (line,) = ax.plot(t, hist[:, j], lw=1.0, label=f"lambda_{j + 1}")
        if reference is not None and j < len(reference):
            ax.axhline(reference[j], color=line.get_color(), ls="--", lw=0.7)
    ax.set_xscale("log")
    ax.set_xlabel("time" if float(result.time_per_step) != 1.0 else "iterations")
    ax.set_ylabel(f"running estimate ({_unit(result)})")
    ax.set_title(title or "Convergence of the Lyapunov exponents")
    if hist.shape[1] <= 10:
        ax.legend(fontsize=8)
    return _axes.done(ax, new)


def lyapunov_spectrum_bars(
    exponents, *, reference=None, unit: str = "", title: str = "", ax=None
) -> Figure:
    """The spectrum as bars (positive red, negative blue), with the Kaplan-Yorke
    dimension in the title.

    **Arguments:**

    - `exponents`: shape (k,), in any order (sorted descending for the plot).
    - `reference`: optional values drawn as markers.
    - `unit`: appended to the y label, e.g. "per unit time"; `title`: the axes title.
    - `ax`: an Axes to draw into (default: a new figure).

    **Returns:**

    The `matplotlib.figure.Figure` drawn into (the figure of `ax` when given).

    Example:

    ```python
    import chaosjax.plot as cjp
    cjp.lyapunov_spectrum_bars(jnp.array([0.906, 0.0, -14.57]), unit="per unit time")
    ```
    """
    lam = np.sort(np.asarray(exponents, dtype=float))[::-1]
    dky = float(kaplan_yorke_dimension(lam))
    ax, new = _axes.axes(ax, (max(4.0, 0.25 * lam.size + 2.0), 3.6))
    idx = np.arange(1, lam.size + 1)
    ax.bar(idx, lam, color=np.where(lam > 0, "tab:red", "tab:blue"))
    if reference is not None:
        ref = np.asarray(reference, dtype=float)
        ax.plot(np.arange(1, ref.size + 1), ref, "k_", ms=14, mew=2, label="reference")
        ax.legend(fontsize=8)
    ax.axhline(0.0, color="k", lw=0.6)
    ax.set_xlabel("i")
    ax.set_ylabel(f"lambda_i {unit}".strip())
    ax.set_title(title or f"Lyapunov spectrum (D_KY = {dky:.3f})")
    return _axes.done(ax, new)


def divergence_curve(estimate, *, title: str = "", ax=None) -> Figure:
    """Rosenstein's mean log divergence against time, with the line fitted over the fit
    range (Rosenstein, Collins & De Luca 1993).

    **Arguments:**

    - `estimate`: a `cj.TimeSeriesLyapunov` from `method="rosenstein"`.
    - `title`: the axes title.
    - `ax`: an Axes to draw into (default: a new figure).

    **Returns:**

    The `matplotlib.figure.Figure` drawn into (the figure of `ax` when given).

    Example:

    ```python
    import chaosjax.plot as cjp
    lor = cj.systems.Lorenz63()
    xs = cj.trajectory(lor, lor.default_state(), steps=10_000, dt=0.02)
    est = cj.lyapunov_from_timeseries(xs[:, 0], dt=0.02, dim=5, lag=5, theiler=50,
                                      horizon=125, fit_range=(50, 125))
    cjp.divergence_curve(est)
    ```
    """
    t = np.asarray(estimate.times)
    d = np.asarray(estimate.divergence)
    if d.size == 0:
        raise ValueError("`estimate` has no divergence curve (method='jacobian').")
    slope, intercept = (float(v) for v in np.asarray(estimate.fit))
    k = np.arange(d.size)
    ax, new = _axes.axes(ax, (6, 4))
    ax.plot(t, d, ".", ms=3, label=r"$\langle \ln d(t) \rangle$")
    ax.plot(
        t,
        intercept + slope * k,
        "r-",
        lw=1.0,
        label=f"fit: lambda = {float(estimate.exponents[0]):.3f}",
    )
    ax.set_xlabel("t")
    ax.set_ylabel("mean log divergence")
    ax.set_title(title or "Rosenstein divergence curve")
    ax.legend(fontsize=8)
    return _axes.done(ax, new)


def clv_angles(clv, *, bins: int = 60, title: str = "", ax=None) -> Figure:
    """Histograms of the angles between pairs of covariant Lyapunov vectors, on a log
    density scale that shows near-tangencies.

    **Arguments:**

    - `clv`: a `cj.CovariantVectors` (its `angles`, one column per pair of vectors).
    - `bins`: the number of bins over [0, pi/2], default 60; `title`: the axes title.
    - `ax`: an Axes to draw into (default: a new figure).

    **Returns:**

    The `matplotlib.figure.Figure` drawn into (the figure of `ax` when given).

    Example:

    ```python
    import chaosjax.plot as cjp
    hen = cj.systems.Henon()
    cjp.clv_angles(cj.covariant_lyapunov_vectors(hen, hen.default_state(), 5_000))
    ```
    """
    ang = np.asarray(clv.angles)
    ax, new = _axes.axes(ax, (6, 4))
    k = int(round((1 + np.sqrt(1 + 8 * ang.shape[1])) / 2))
    pairs = [(i, j) for i in range(k) for j in range(i + 1, k)]
    for p, (i, j) in enumerate(pairs):
        ax.hist(
            ang[:, p],
            bins=bins,
            range=(0, np.pi / 2),
            density=True,
            histtype="step",
            label=f"angle(v{i + 1}, v{j + 1})",
        )
    ax.set_yscale("log")
    ax.set_xlabel("angle (rad)")
    ax.set_ylabel("density")
    ax.set_title(title or "Angles between covariant Lyapunov vectors")
    ax.legend(fontsize=8)
    return _axes.done(ax, new)
