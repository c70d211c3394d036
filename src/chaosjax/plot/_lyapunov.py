"""Figures of Lyapunov analyses: convergence histories, spectra, divergence curves, CLV
angles."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, MaxNLocator, NullLocator

from . import _axes

_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def lam_label(i: int) -> str:
    """The label λ with subscript i, in Unicode (λ₁, λ₁₂)."""
    return "λ" + str(i).translate(_SUBSCRIPTS)


def _kaplan_yorke(lam: np.ndarray) -> float:
    """`cj.kaplan_yorke_dimension` of descending exponents, in numpy (a figure
    compiles nothing)."""
    csum = np.cumsum(lam)
    j = int(np.sum(csum >= 0))
    if j == 0:
        return 0.0
    if j >= lam.size:
        return float(lam.size)
    return j + float(csum[j - 1]) / abs(float(lam[j]))


def _unit(result) -> str:
    return "per iteration" if float(result.time_per_step) == 1.0 else "per unit time"


def exponent_scale(ax, history, yscale: str = "auto") -> str:
    """Set the exponent axis of a convergence plot: "symlog" ("auto" picks it when the
    largest final |exponent| is over 10 times the smallest nonzero one), linear within
    the smallest, with ticks at 0 and at the decades outside that band only
    (matplotlib's also mark decades inside it, where they crowd onto 0); or "linear".
    Returns the scale set."""
    hist = np.asarray(history, dtype=float)
    final = np.abs(hist[-1][np.isfinite(hist[-1])])
    small = final[final > 1e-3 * final.max()] if final.size and final.max() > 0 else final
    if yscale == "auto":
        yscale = "symlog" if small.size and final.max() > 10 * small.min() else "linear"
    if yscale == "symlog":
        linthresh = float(small.min()) if small.size else 1.0
        ax.set_yscale("symlog", linthresh=linthresh)
        top = float(np.nanmax(np.abs(hist))) if np.isfinite(hist).any() else 1.0
        decades = 10.0 ** np.arange(
            np.ceil(np.log10(linthresh)), np.ceil(np.log10(max(top, linthresh))) + 1
        )
        locs = np.concatenate([-decades[::-1], [0.0], decades])
        ax.yaxis.set_major_locator(FixedLocator([float(v) for v in locs]))
        ax.yaxis.set_minor_locator(NullLocator())
    return yscale


def lyapunov_convergence(
    result, *, reference=None, yscale: str = "auto", title: str = "", ax=None
) -> Figure:
    """Running estimates of the exponents against time (or iterations), one line per
    exponent; a log time axis shows the 1/T settling. Where the exponents differ by
    orders of magnitude (Lorenz's 0.9 beside -14.6) the exponent axis is symmetric-log,
    linear within the smallest nonzero |exponent|, so that each line stays readable.

    **Arguments:**

    - `result`: a `cj.LyapunovResult` of one run (index a batched result first).
    - `reference`: optional values drawn dashed, e.g. `system.reference_exponents`.
    - `yscale`: "auto" (default; "symlog" when the largest |exponent| is over 10 times
      the smallest nonzero one), "linear" or "symlog".
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
    if yscale not in ("auto", "linear", "symlog"):
        raise ValueError(f"`yscale` must be 'auto', 'linear' or 'symlog', got {yscale!r}.")
    t = steps * float(result.time_per_step)
    ax, new = _axes.axes(ax, (7, 4))
    for j in range(hist.shape[1]):
        (line,) = ax.plot(t, hist[:, j], lw=1.0, label=lam_label(j + 1))
        if reference is not None and j < len(reference):
            ax.axhline(reference[j], color=line.get_color(), ls="--", lw=0.7)
    exponent_scale(ax, hist, yscale)
    ax.set_xscale("log")
    ax.set_xlabel("time t" if float(result.time_per_step) != 1.0 else "iteration n")
    ax.set_ylabel(f"running estimate of λᵢ ({_unit(result)})")
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
    dky = _kaplan_yorke(lam)
    ax, new = _axes.axes(ax, (max(4.0, 0.25 * lam.size + 2.0), 3.6))
    idx = np.arange(1, lam.size + 1)
    ax.bar(idx, lam, color=np.where(lam > 0, "tab:red", "tab:blue"))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins="auto"))
    if reference is not None:
        ref = np.asarray(reference, dtype=float)
        ax.plot(np.arange(1, ref.size + 1), ref, "k_", ms=14, mew=2, label="reference")
        ax.legend(fontsize=8)
    ax.axhline(0.0, color="k", lw=0.6)
    ax.set_xlabel("i")
    ax.set_ylabel(f"λᵢ ({unit})" if unit else "λᵢ")
    ax.set_title(title or f"Lyapunov spectrum ($D_{{KY}}$ = {dky:.3f})")
    return _axes.done(ax, new)


def divergence_curve(estimate, *, title: str = "", ax=None) -> Figure:
    """Rosenstein's mean log divergence against time, with the line fitted over the fit
    range (Rosenstein, Collins & De Luca 1993) and that range shaded.

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
    cjp.divergence_curve(cj.lyapunov_from_timeseries(xs[:, 0], dt=0.02))
    ```
    """
    t = np.asarray(estimate.times)
    d = np.asarray(estimate.divergence)
    if d.size == 0:
        raise ValueError("`estimate` has no divergence curve (method='jacobian').")
    slope, intercept = (float(v) for v in np.asarray(estimate.fit))
    k = np.arange(d.size)
    ax, new = _axes.axes(ax, (6, 4))
    ax.plot(t, d, ".", ms=3, label="⟨ln d(t)⟩")
    ax.plot(
        t,
        intercept + slope * k,
        "r-",
        lw=1.0,
        label=f"fit: {lam_label(1)} = {float(estimate.exponents[0]):.4g}",
    )
    lo, hi = getattr(estimate, "fit_range", (0, d.size))
    if hi > lo:
        ax.axvspan(t[lo], t[min(hi, d.size) - 1], color="0.9", zorder=0, label="fit range")
    ax.set_xlabel("time t")
    ax.set_ylabel("⟨ln d(t)⟩, mean log divergence")
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
            label=f"∠(v{str(i + 1).translate(_SUBSCRIPTS)}, v{str(j + 1).translate(_SUBSCRIPTS)})",
        )
    ax.set_yscale("log")
    ax.set_xlabel("angle (rad)")
    ax.set_ylabel("density")
    ax.set_title(title or "Angles between covariant Lyapunov vectors")
    ax.legend(fontsize=8)
    return _axes.done(ax, new)
