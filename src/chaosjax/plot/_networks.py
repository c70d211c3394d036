"""Figures of networks as dynamical systems: decision boundaries of flow classifiers side
by side, and loss landscapes over a parameter."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax.numpy as jnp
import numpy as np

from . import _axes


def decision_boundaries(
    models: Sequence[Any],
    x,
    y,
    *,
    titles: Sequence[str] | None = None,
    accuracies: Sequence[float] | None = None,
    extent: float = 2.0,
    resolution: int = 200,
    boundaries: Sequence[Any] | None = None,
    fig: Any = None,
) -> Any:
    """Decision regions of classifiers on the plane, side by side, with the data.

    Each panel shades where `model.predict(points)` is True (class 1) on a
    `resolution`^2 grid over [-extent, extent]^2, draws the 0.5 contour and the points
    coloured by label; the title carries the accuracy (e.g. of `cj.learn.RingClassifier`
    models from `cj.learn.fit_ring_classifier`; Dupont, Doucet & Teh 2019, "Augmented
    neural ODEs", arXiv:1904.01681, Fig. 1 and 5).

    **Arguments:**

    - `models`: objects with `predict((n, 2)) -> (n,) bool`.
    - `x`: (n, 2) points; `y`: (n,) labels 0/1.
    - `fig`: a `Figure` or `SubFigure` to draw the panels into (default: a new figure).
    - `titles`: a title per model (default "model i").
    - `accuracies`: an accuracy per model, appended to its title as a percentage.
    - `extent`, `resolution`: the grid (default 2.0, 200).
    - `boundaries`: optional (m, 2) curves drawn over each panel (None to skip one),
      such as a decision boundary traced exactly by the inverse flow.

    **Returns:**

    A `matplotlib.figure.Figure` with one panel per model.

    Example:

    ```python
    import chaosjax.plot as cjp
    x, y = cj.learn.nested_rings(400, key=jax.random.key(0))
    res = cj.learn.fit_ring_classifier(x, y, kind="nonsmooth", key=jax.random.key(1))
    cjp.decision_boundaries([res.model], x, y, titles=["non-smooth"],
                            accuracies=[res.accuracy])
    ```
    """
    models = list(models)
    xs = np.asarray(x, dtype=float)
    ys = np.asarray(y) > 0.5
    g = np.linspace(-extent, extent, resolution)
    X, Y = np.meshgrid(g, g)
    pts = np.stack([X.ravel(), Y.ravel()], axis=-1)
    fig, new = _axes.figure(fig, (4.2 * len(models), 4.2))
    axes = fig.subplots(1, len(models), squeeze=False)
    for i, (model, ax) in enumerate(zip(models, axes[0], strict=True)):
        z = np.asarray(model.predict(jnp.asarray(pts))).reshape(X.shape).astype(float)
        ax.contourf(X, Y, z, levels=[-0.5, 0.5, 1.5], colors=["#cfe0f3", "#f6d5c8"])
        ax.contour(X, Y, z, levels=[0.5], colors="k", linewidths=0.8)
        ax.scatter(*xs[~ys].T, s=4, c="#1f5fa8", label="inner")
        ax.scatter(*xs[ys].T, s=4, c="#c2410c", label="outer")
        if boundaries is not None and boundaries[i] is not None:
            b = np.asarray(boundaries[i])
            ax.plot(b[:, 0], b[:, 1], "-", c="#15803d", lw=1.0, label="boundary (inverse flow)")
            ax.legend(loc="lower left", fontsize=7)
        title = titles[i] if titles is not None else f"model {i}"
        if accuracies is not None:
            title += f"\naccuracy {100 * float(accuracies[i]):.1f} %"
        ax.set_title(title, fontsize=10)
        ax.set_xlim(-extent, extent)
        ax.set_ylim(-extent, extent)
        ax.set_aspect("equal")
    if new:
        fig.tight_layout()
    return fig


def loss_landscapes(
    values,
    losses: dict[str, Any],
    *,
    gradients: dict[str, Any] | None = None,
    parameter: str = "b",
    marks: Sequence[float] = (),
    title: str = "",
    fig: Any = None,
) -> Any:
    """Loss (and optionally its gradient) against a parameter, one curve per setting.

    **Arguments:**

    - `values`: (m,) parameter values.
    - `losses`: label -> (m,) losses (e.g. one per steepness c of the smoothed sigmoid
      map, from `cj.learn.loss_landscape`).
    - `gradients`: label -> (m,) derivatives of the loss, drawn in a second panel on a
      symmetric log scale (default None).
    - `parameter`: the parameter's name for the axis (default "b").
    - `marks`: parameter values marked by vertical lines (bifurcation points).
    - `title`: the figure title.
    - `fig`: a `Figure` or `SubFigure` to draw the panels into (default: a new figure).

    **Returns:**

    A `matplotlib.figure.Figure`.

    Example:

    ```python
    import chaosjax.plot as cjp
    b = jnp.linspace(0.0, 1.0, 50)
    cjp.loss_landscapes(b, {"c = 1": b**2}, marks=[0.5])
    ```
    """
    vals = np.asarray(values, dtype=float)
    rows = 2 if gradients else 1
    fig, new = _axes.figure(fig, (7.5, 3.2 * rows))
    axes = fig.subplots(rows, 1, sharex=True, squeeze=False)
    for label, loss in losses.items():
        axes[0, 0].plot(vals, np.asarray(loss, dtype=float), lw=1.0, label=label)
    axes[0, 0].set_ylabel("loss")
    axes[0, 0].set_yscale("log")
    axes[0, 0].legend(fontsize=8)
    if gradients:
        for label, grad in gradients.items():
            axes[1, 0].plot(vals, np.asarray(grad, dtype=float), lw=0.8, label=label)
        axes[1, 0].set_yscale("symlog", linthresh=1.0)
        axes[1, 0].set_ylabel(f"dL/d{parameter}")
    for ax in axes[:, 0]:
        for m in marks:
            ax.axvline(m, c="0.5", ls=":", lw=0.8)
    axes[-1, 0].set_xlabel(parameter)
    if title:
        axes[0, 0].set_title(title, fontsize=10)
    if new:
        fig.tight_layout()
    return fig
