"""Figures of sensitivities: the blow-up of finite-time gradients on a log scale."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from . import _axes


def sensitivity_blowup(
    table,
    *,
    exponent: float | None = None,
    system=None,
    reference=None,
    label: str = "d⟨S⟩_T / dp",
    title: str = "",
    ax=None,
) -> Figure:
    """Finite-time gradients against the horizon T on a log scale.

    Plotted: |gradient| of every initial condition (grey dots), the std and |median|
    over them, the reference std as crosses, and the growth exp(λ₁ T) anchored at the
    std at the first horizon from T = 2 on, with λ₁ the system's own (`exponent`, else
    `system.reference_exponents[0]`; without either the line is left out).

    **Arguments:**

    - `table`: a `cj.BlowupTable` from `cj.sensitivity_blowup_table`.
    - `exponent`: the largest Lyapunov exponent of the system the table was computed
      for, per unit time (per iteration for maps), e.g. from `cj.max_lyapunov`.
    - `system`: the system, whose `reference_exponents[0]` is used when `exponent` is
      not given (a ValueError names the missing exponent when it has none).
    - `label`: the y label, what was differentiated.
    - `reference`: optional T -> (mean, std), e.g.
      `cj.sensitivity.PUBLISHED_BLOWUP_TABLE`.
    - `title`: the axes title.
    - `ax`: an Axes to draw into (default: a new figure).

    **Returns:**

    The `matplotlib.figure.Figure` drawn into (the figure of `ax` when given).

    Example:

    ```python
    import chaosjax.plot as cjp
    tab = cj.sensitivity_blowup_table(cj.systems.Lorenz63(), "rho", lambda x: x[2],
                                      horizons=(0.5, 2.0, 5.0), n_initial=8, dt=0.005)
    cjp.sensitivity_blowup(tab, system=cj.systems.Lorenz63(),
                           reference=cj.sensitivity.PUBLISHED_BLOWUP_TABLE)
    ```
    """
    if exponent is None and system is not None:
        refs = getattr(system, "reference_exponents", None)
        if not refs:
            raise ValueError(
                f"`system` {type(system).__name__} has no reference exponents: pass its "
                "largest Lyapunov exponent as `exponent` (e.g. from `cj.max_lyapunov`)."
            )
        exponent = float(refs[0])
    T = np.asarray(table.horizons)
    g = np.abs(np.asarray(table.gradients))
    ax, new = _axes.axes(ax, (7, 4.5))
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
        ax.plot(ts, [reference[float(t)][1] for t in ts], "x", ms=9, mew=2, label="reference std")
    if exponent is not None:
        later = np.flatnonzero(T >= 2.0)
        i0 = int(later[0]) if later.size else 0
        anchor = float(np.asarray(table.std)[i0])
        ax.plot(
            T,
            anchor * np.exp(exponent * (T - T[i0])),
            "k--",
            lw=1,
            label=f"exp(λ₁ T), λ₁ = {exponent:.4g}",
        )
    ax.axhline(1.0, color="k", lw=0.5, alpha=0.5)
    ax.set_yscale("log")
    ax.set_xlabel("averaging horizon T")
    ax.set_ylabel(label)
    ax.set_title(title or "finite-time gradients through a chaotic simulation")
    ax.legend(fontsize=8)
    return _axes.done(ax, new)
