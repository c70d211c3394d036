"""Figures of fitted models: training loss curves."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402


def loss_curves(steps, losses, *, best: int | None = None, title: str = "") -> Figure:
    """Training loss against optimiser step, one line per restart, on a log scale.

    **Arguments:**

    - `steps`: (evals,) optimiser steps of the evaluations (`cj.learn.History.steps`).
    - `losses`: (restarts, evals) losses (`cj.learn.History.train`); NaN entries (a
      restart that stopped early) are left out.
    - `best`: the restart drawn bold (default None).
    - `title`: the axes title.

    **Returns:**

    A `matplotlib.figure.Figure`.

    Example:

    ```python
    import chaosjax.plot as cjp
    cjp.loss_curves(jnp.arange(1, 4), jnp.array([[1.0, 0.1, 0.01]]), best=0)
    ```
    """
    x = np.asarray(steps, dtype=float)
    ys = np.atleast_2d(np.asarray(losses, dtype=float))
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for r, y in enumerate(ys):
        ok = np.isfinite(y) & (y > 0)
        if not ok.any():
            continue
        bold = r == best
        ax.plot(
            x[ok],
            y[ok],
            lw=1.8 if bold else 0.8,
            color="tab:red" if bold else "tab:gray",
            alpha=1.0 if bold else 0.6,
            label=f"restart {r} (selected)" if bold else None,
        )
    ax.set_yscale("log")
    ax.set_xlabel("optimiser step")
    ax.set_ylabel("training loss")
    if best is not None:
        ax.legend(fontsize=8)
    ax.set_title(title or "training loss")
    fig.tight_layout()
    return fig
