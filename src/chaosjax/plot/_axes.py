"""Where a helper draws: into the caller's Axes (or Figure) when given, else into a new
pyplot figure, so that figures show in Jupyter and with `plt.show()` under whatever
backend the user has chosen."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure, SubFigure


def figure_of(ax: Axes) -> Figure:
    """The top-level figure an Axes draws in (a subfigure's parent figure)."""
    fig: Any = ax.figure
    while not isinstance(fig, Figure):
        fig = fig.figure
    return fig


def variable_labels(labels: Any, dim: int) -> list[str]:
    """Axis labels of `dim` state variables: `labels` (a sequence of names, or a system,
    whose `variable_names()` are used), else the generic u1, ..., un."""
    if labels is None:
        return [f"u{i + 1}" for i in range(dim)]
    names = labels.variable_names() if hasattr(labels, "variable_names") else labels
    names = [str(n) for n in names]
    if len(names) < dim:
        raise ValueError(f"`labels` must name {dim} variables, got {len(names)}: {names!r}.")
    return names


def axes(ax: Any, figsize: tuple, **kw: Any) -> tuple[Axes, bool]:
    """`ax`, or the Axes of a new pyplot figure of `figsize`; and whether it is new."""
    if ax is None:
        return plt.figure(figsize=figsize).add_subplot(**kw), True
    if not isinstance(ax, Axes):
        raise ValueError(f"`ax` must be a matplotlib Axes, got {type(ax).__name__}.")
    return ax, False


def figure(fig: Any, figsize: tuple):
    """`fig` (a Figure or SubFigure to draw the panels into), or a new pyplot figure of
    `figsize`; and whether it is new."""
    if fig is None:
        return plt.figure(figsize=figsize), True
    if not isinstance(fig, (Figure, SubFigure)):
        raise ValueError(
            f"`fig` must be a matplotlib Figure or SubFigure, got {type(fig).__name__}."
        )
    return fig, False


def done(ax: Axes, new: bool) -> Figure:
    """The figure of `ax`, laid out if the helper made it (never the caller's)."""
    fig = figure_of(ax)
    if new:
        fig.tight_layout()
    return fig


def done_figure(fig: Figure | SubFigure, new: bool) -> Any:
    """`fig`, laid out if the helper made it."""
    if new and isinstance(fig, Figure):
        fig.tight_layout()
    return fig
