"""Figures of simulations: phase portraits, time series, cumulative-average bands."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from . import _axes


def phase_portrait(xs, *, dims=(0, 1, 2), title: str = "", labels=None, ax=None) -> Figure:
    """A phase portrait: 3-D for three or more coordinates, else 2-D (a 1-D map's
    states are drawn as x_{n+1} against x_n).

    **Arguments:**

    - `xs`: states, shape (times, dim).
    - `dims`: the coordinates drawn, default (0, 1, 2).
    - `title`: the axes title; `labels`: names of the coordinates, or the system
      (its `variable_names()`, e.g. x, y, z); default u1, ..., un.
    - `ax`: an Axes to draw into (default: a new figure). A 3-D Axes
      (`projection="3d"`) gets the 3-D portrait, any other the first two of `dims`.

    **Returns:**

    The `matplotlib.figure.Figure` drawn into (the figure of `ax` when given).

    Example:

    ```python
    import chaosjax.plot as cjp
    lor = cj.systems.Lorenz63()
    xs = cj.trajectory(lor, lor.default_state(), steps=5_000, dt=0.01)
    cjp.phase_portrait(xs, labels=lor, title="Lorenz63").savefig("lorenz.png")
    ```
    """
    xs = np.asarray(xs)
    labels = _axes.variable_labels(labels, xs.shape[-1])
    three = xs.shape[-1] >= 3 and len(dims) == 3
    if ax is None:
        ax, new = _axes.axes(None, (6, 5), **({"projection": "3d"} if three else {}))
    else:
        ax, new = _axes.axes(ax, (6, 5))
        three = three and ax.name == "3d"
    if three:
        ax.plot(*(xs[:, d] for d in dims), lw=0.3)
        ax.set_ylabel(labels[dims[1]])
        ax.set_zlabel(labels[dims[2]])  # pyright: ignore  (an Axes3D here)
    elif xs.shape[-1] == 1:
        ax.plot(xs[:-1, 0], xs[1:, 0], ",", alpha=0.5)
        ax.set_ylabel("$x_{n+1}$")
    else:
        ax.plot(xs[:, dims[0]], xs[:, dims[1]], ",", alpha=0.5)
        ax.set_ylabel(labels[dims[1]])
    ax.set_xlabel(labels[dims[0]])
    ax.set_title(title)
    return _axes.done(ax, new)


def time_series(times, xs, *, title: str = "", labels=None, fig=None):
    """Each coordinate against time, one panel per coordinate.

    **Arguments:**

    - `times`: shape (times,).
    - `xs`: states, shape (times, dim).
    - `title`: the title of the top panel; `labels`: names of the coordinates, or
      the system (its `variable_names()`); default u1, ..., un.
    - `fig`: a `Figure` or `SubFigure` to draw the panels into (default: a new figure).

    **Returns:**

    The figure drawn into: `fig` when given, else a new `matplotlib.figure.Figure`.

    Example:

    ```python
    import chaosjax.plot as cjp
    lor = cj.systems.Lorenz63()
    xs = cj.trajectory(lor, lor.default_state(), steps=2_000, dt=0.01)
    cjp.time_series(0.01 * jnp.arange(xs.shape[0]), xs)
    ```
    """
    xs = np.asarray(xs)
    dim = xs.shape[-1]
    labels = _axes.variable_labels(labels, dim)
    fig, new = _axes.figure(fig, (8, 1.6 * dim + 0.6))
    axes = fig.subplots(dim, 1, sharex=True, squeeze=False)
    for i, ax in enumerate(axes[:, 0]):
        ax.plot(np.asarray(times), xs[:, i], lw=0.6)
        ax.set_ylabel(labels[i])
    axes[-1, 0].set_xlabel("t")
    axes[0, 0].set_title(title)
    return _axes.done_figure(fig, new)


def cumulative_average_band(
    times, averages, *, label: str = r"$\langle S \rangle$", title: str = "", ax=None
) -> Figure:
    """Cumulative averages of an ensemble: the mean curve, a +-1 std band and up to eight
    members, the picture of how time averages converge across initial conditions.

    **Arguments:**

    - `times`: averaging times, shape (times,).
    - `averages`: cumulative averages, shape (members, times).
    - `label`: the y-axis label, default ⟨S⟩ (mathtext); `title`: the axes title.
    - `ax`: an Axes to draw into (default: a new figure).

    **Returns:**

    The `matplotlib.figure.Figure` drawn into (the figure of `ax` when given).

    Example:

    ```python
    import chaosjax.plot as cjp
    lor = cj.systems.Lorenz63()
    x0s = lor.sample_state(jax.random.key(0), 16)
    ca = cj.cumulative_average(lor, x0s, lambda x: x[2], steps=4_000, dt=0.01,
                               transient=2_000, save_every=10)
    cjp.cumulative_average_band(ca.times, ca.averages)
    ```
    """
    a = np.asarray(averages)
    t = np.asarray(times)
    mean, std = a.mean(0), a.std(0)
    ax, new = _axes.axes(ax, (7, 4))
    for member in a[: min(8, a.shape[0])]:
        ax.plot(t, member, lw=0.5, alpha=0.5, color="grey")
    ax.fill_between(t, mean - std, mean + std, alpha=0.3, label="mean ± std")
    ax.plot(t, mean, lw=1.5, label="ensemble mean")
    ax.set_xlabel("averaging time T")
    ax.set_ylabel(label)
    ax.set_title(title)
    ax.legend()
    return _axes.done(ax, new)
