"""Figures of simulations: phase portraits, time series, cumulative-average bands."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402


def phase_portrait(xs, *, dims=(0, 1, 2), title: str = "", labels=None) -> Figure:
    """A phase portrait: 3-D for three or more coordinates, else 2-D (a 1-D map's
    states are drawn as x_{n+1} against x_n).

    **Arguments:**

    - `xs`: states, shape (times, dim).
    - `dims`: the coordinates drawn, default (0, 1, 2).
    - `title`: the axes title; `labels`: names of the coordinates (default x0, x1, ...).

    **Returns:**

    A `matplotlib.figure.Figure`.

    Example:

    ```python
    import chaosjax.plot as cjp
    lor = cj.systems.Lorenz63()
    xs = cj.trajectory(lor, lor.default_state(), steps=5_000, dt=0.01)
    cjp.phase_portrait(xs, title="Lorenz63").savefig("lorenz.png")
    ```
    """
    xs = np.asarray(xs)
    labels = labels or [f"x{i}" for i in range(xs.shape[-1])]
    if xs.shape[-1] >= 3 and len(dims) == 3:
        fig = plt.figure(figsize=(6, 5))
        ax = fig.add_subplot(projection="3d")
        ax.plot(*(xs[:, d] for d in dims), lw=0.3)
        ax.set_ylabel(labels[dims[1]])
        ax.set_zlabel(labels[dims[2]])
    else:
        fig, ax = plt.subplots(figsize=(6, 5))
        if xs.shape[-1] == 1:
            ax.plot(xs[:-1, 0], xs[1:, 0], ",", alpha=0.5)
            ax.set_ylabel("x_{n+1}")
        else:
            ax.plot(xs[:, dims[0]], xs[:, dims[1]], ",", alpha=0.5)
            ax.set_ylabel(labels[dims[1]])
    ax.set_xlabel(labels[dims[0]])
    ax.set_title(title)
    fig.tight_layout()
    return fig


def time_series(times, xs, *, title: str = "", labels=None) -> Figure:
    """Each coordinate against time, one panel per coordinate.

    **Arguments:**

    - `times`: shape (times,).
    - `xs`: states, shape (times, dim).
    - `title`: the title of the top panel; `labels`: names of the coordinates.

    **Returns:**

    A `matplotlib.figure.Figure`.

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
    labels = labels or [f"x{i}" for i in range(dim)]
    fig, axes = plt.subplots(dim, 1, figsize=(8, 1.6 * dim + 0.6), sharex=True, squeeze=False)
    for i, ax in enumerate(axes[:, 0]):
        ax.plot(np.asarray(times), xs[:, i], lw=0.6)
        ax.set_ylabel(labels[i])
    axes[-1, 0].set_xlabel("t")
    axes[0, 0].set_title(title)
    fig.tight_layout()
    return fig


def cumulative_average_band(times, averages, *, label: str = "<S>", title: str = "") -> Figure:
    """Cumulative averages of an ensemble: the mean curve, a +-1 std band and up to eight
    members, the picture of how time averages converge across initial conditions.

    **Arguments:**

    - `times`: averaging times, shape (times,).
    - `averages`: cumulative averages, shape (members, times).
    - `label`: the y-axis label, default "`<S>`"; `title`: the axes title.

    **Returns:**

    A `matplotlib.figure.Figure`.

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
    fig, ax = plt.subplots(figsize=(7, 4))
    for member in a[: min(8, a.shape[0])]:
        ax.plot(t, member, lw=0.5, alpha=0.5, color="grey")
    ax.fill_between(t, mean - std, mean + std, alpha=0.3, label="mean +- std")
    ax.plot(t, mean, lw=1.5, label="ensemble mean")
    ax.set_xlabel("averaging time T")
    ax.set_ylabel(label)
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    return fig
