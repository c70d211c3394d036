"""Figures of bifurcations: orbit diagrams with the largest Lyapunov exponent underneath
on a shared parameter axis, classification strips, and Poincare sections."""

from __future__ import annotations

import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from . import _axes

# One colour per label of cj.bifurcation.LABELS.
LABEL_COLOURS = {
    "fixed_point": "tab:blue",
    "periodic": "tab:green",
    "quasi_periodic": "tab:purple",
    "chaotic": "tab:red",
    "divergent": "black",
    "unresolved": "tab:gray",
}


def _param_values(values) -> np.ndarray:
    vals = np.asarray(values)
    return vals.reshape(vals.shape[0], -1)[:, 0]


# Above this many points an orbit diagram is drawn as a density image.
DENSITY_ABOVE = 200_000


def _edges(centres: np.ndarray) -> np.ndarray:
    """Bin edges around sorted centres: midpoints, the ends extended by half a gap."""
    c = np.asarray(centres, dtype=float)
    if c.size == 1:
        return np.array([c[0] - 0.5, c[0] + 0.5])
    mid = (c[1:] + c[:-1]) / 2
    return np.concatenate([[c[0] - (mid[0] - c[0])], mid, [c[-1] + (c[-1] - mid[-1])]])


def _density(ax, vals, pts, ok, bins: int):
    """The diagram as an image: counts of points per (parameter, value) cell on a log
    colour scale, so that dense bands and rare excursions both show."""
    order = np.argsort(vals)
    xe = _edges(vals[order])
    lo, hi = float(np.min(pts[ok])), float(np.max(pts[ok]))
    ye = np.linspace(lo, hi if hi > lo else lo + 1.0, bins + 1)
    p = np.broadcast_to(vals[:, None], pts.shape)
    h, _, _ = np.histogram2d(p[ok], pts[ok], bins=(xe, ye))
    h = np.where(h > 0, h, np.nan)
    return ax.pcolormesh(
        xe,
        ye,
        h.T,
        cmap="Greys",
        norm=LogNorm(vmin=1, vmax=max(2.0, float(np.nanmax(h)))),
        shading="flat",
        rasterized=True,
    )


def orbit_diagram(
    diagram,
    exponents=None,
    *,
    coordinate: int = 0,
    labels=None,
    title: str = "",
    param_label: str | None = None,
    point_label: str | None = None,
    exponent_units: str = "",
    ax_points=None,
    ax_exponent=None,
    markersize: float | None = None,
    density: bool | None = None,
    bins: int = 400,
    fig=None,
):
    """An orbit diagram with, underneath on the same parameter axis, the largest
    Lyapunov exponent and its zero line.

    Runs without section crossings (an equilibrium of a flow) are drawn at their final
    state.

    **Arguments:**

    - `diagram`: a `cj.OrbitDiagram` (`coordinate` of each kept point is drawn against
      the parameter).
    - `exponents`: optional largest exponents, shape (n,) or (n, k) (column 0 used),
      e.g. from `cj.lyapunov_sweep`.
    - `coordinate`: the coordinate drawn, default 0.
    - `labels`: optional n names (e.g. `Classification.labels`) that colour a strip
      along the bottom of the diagram by attractor type.
    - `title`, `param_label`, `point_label`, `exponent_units`: texts of the axes.
    - `ax_points`, `ax_exponent`: existing Axes to draw the diagram and the exponent
      into (the exponent is drawn only when `ax_exponent` is given too).
    - `markersize`: the size of the diagram's points; default from 1 down to 0.15 as
      the points grow from 1,000 to 100,000, drawn with alpha 0.3 or more.
    - `density`: draw the points as a density image (counts per cell on a log grey
      scale) instead of dots; default when there are over 200,000 points.
    - `bins`: the cells along the value axis of the density image, default 400.
    - `fig`: a `Figure` or `SubFigure` to draw the panels into (when `ax_points` is not
      given; default: a new figure).

    **Returns:**

    The figure drawn into: the figure of `ax_points`, else `fig`, else a new
    `matplotlib.figure.Figure`.

    Example:

    ```python
    import chaosjax.plot as cjp
    log = cj.systems.Logistic()
    rs = jnp.linspace(2.8, 4.0, 400)
    od = cj.orbit_diagram(log, "r", rs, jnp.array([0.3]), transient=500, keep=100)
    lam = cj.lyapunov_sweep(log, "r", rs, jnp.array([0.3]), steps=2_000, transient=500)
    cjp.orbit_diagram(od, lam, param_label="r")
    ```
    """
    vals = _param_values(diagram.values)
    pts = np.asarray(diagram.points[..., coordinate])
    counts = np.asarray(diagram.counts)
    finals = np.asarray(diagram.final_states[..., coordinate])
    if ax_points is None:
        rows = 2 if exponents is not None else 1
        fig, new = _axes.figure(fig, (8, 6 if rows == 2 else 4))
        axes = fig.subplots(
            rows, 1, sharex=True, squeeze=False, gridspec_kw={"height_ratios": [3, 1.2][:rows]}
        )
        ax_points = axes[0, 0]
        ax_exponent = axes[1, 0] if rows == 2 else None
    else:
        ax_points, new = _axes.axes(ax_points, (8, 4))
        fig = _axes.figure_of(ax_points)
    p = np.broadcast_to(vals[:, None], pts.shape)
    ok = np.isfinite(pts)
    n = int(ok.sum())
    if density is None:
        density = n > DENSITY_ABOVE
    if density and n:
        _density(ax_points, vals, pts, ok, bins)
    else:
        # Small markers, fainter as they crowd: 1 (alpha 1) at 1,000 points down to
        # 0.15 (alpha 0.3) from 100,000 on.
        frac = float(np.clip(np.log10(max(n, 1) / 1e3) / 2, 0.0, 1.0))
        size = markersize if markersize is not None else 1.0 - 0.85 * frac
        ax_points.plot(
            p[ok],
            pts[ok],
            ".",
            color="k",
            alpha=1.0 - 0.7 * frac,
            markersize=size,
            mew=0,
            rasterized=n > 10_000,
        )
    still = (counts == 0) & np.isfinite(finals)
    if still.any():
        ax_points.plot(
            vals[still],
            finals[still],
            ".",
            color="tab:blue",
            markersize=1.5,
            label="equilibrium (no crossing)",
        )
        ax_points.legend(loc="upper left", fontsize=7, markerscale=4)
    if labels is not None:
        labels = list(labels)
        lo, hi = ax_points.get_ylim()
        y = lo - 0.04 * (hi - lo)
        colours = [LABEL_COLOURS.get(lab, "tab:gray") for lab in labels]
        ax_points.scatter(vals, np.full(vals.shape, y), c=colours, marker="s", s=4, linewidths=0)
        ax_points.set_ylim(y - 0.03 * (hi - lo), hi)
        handles = [
            Line2D([], [], color=LABEL_COLOURS[lab], marker="s", ls="")
            for lab in LABEL_COLOURS
            if lab in labels
        ]
        ax_points.legend(
            handles,
            [lab for lab in LABEL_COLOURS if lab in labels],
            loc="upper left",
            fontsize=7,
            ncol=3,
        )
    ax_points.set_ylabel(point_label or f"x[{coordinate}]")
    ax_points.set_title(title)
    if exponents is not None and ax_exponent is not None:
        lam = np.asarray(exponents)
        lam = lam[:, 0] if lam.ndim == 2 else lam
        ax_exponent.plot(vals, lam, lw=0.7, color="tab:red")
        ax_exponent.axhline(0.0, color="k", lw=0.5)
        ax_exponent.set_ylabel(
            f"largest exponent{(' ' + exponent_units) if exponent_units else ''}"
        )
        ax_exponent.set_xlabel(param_label or diagram.param)
    else:
        ax_points.set_xlabel(param_label or diagram.param)
    return _axes.done_figure(fig, new)


def poincare_section(points, *, dims=(0, 1), title: str = "", labels=None, ax=None) -> Figure:
    """Points on a Poincare section, two coordinates against each other; NaN padding is
    skipped.

    **Arguments:**

    - `points`: shape (k, dim), or (n, k, dim) for n runs drawn in n colours (e.g.
      `OrbitDiagram.points`).
    - `dims`: the two coordinates drawn, default (0, 1).
    - `title`, `labels`: the axes title and the names of the coordinates (or the
      system, whose `variable_names()` are used; default u1, ..., un).
    - `ax`: an Axes to draw into (default: a new figure).

    **Returns:**

    The `matplotlib.figure.Figure` drawn into (the figure of `ax` when given).

    Example:

    ```python
    import chaosjax.plot as cjp
    lor = cj.systems.Lorenz63()
    od = cj.orbit_diagram(lor, "rho", jnp.array([28.0]), transient=2_000, keep=500,
                          dt=0.01, section=cj.Hyperplane(normal=(0.0, 0.0, 1.0), offset=27.0))
    cjp.poincare_section(od.points, dims=(0, 1))
    ```
    """
    pts = np.asarray(points)
    if pts.ndim == 2:
        pts = pts[None]
    ax, new = _axes.axes(ax, (5.5, 5))
    for run in pts:
        ok = np.all(np.isfinite(run), axis=-1)
        ax.plot(run[ok, dims[0]], run[ok, dims[1]], ".", markersize=1.5)
    names = _axes.variable_labels(labels, pts.shape[-1])
    ax.set_xlabel(names[dims[0]])
    ax.set_ylabel(names[dims[1]])
    ax.set_title(title)
    return _axes.done(ax, new)


def return_map(points, *, coordinate: int = 0, title: str = "", ax=None) -> Figure:
    """The next-point map s_{k+1} against s_k of one coordinate of section points or map
    iterates, e.g. Lorenz's (1963) map of successive z-maxima.

    **Arguments:**

    - `points`: shape (k, dim), or (n, k, dim) for n runs.
    - `coordinate`: the coordinate s, default 0.
    - `title`: the axes title; `ax`: an Axes to draw into (default: a new figure).

    **Returns:**

    The `matplotlib.figure.Figure` drawn into (the figure of `ax` when given).

    Example:

    ```python
    import chaosjax.plot as cjp
    lor = cj.systems.Lorenz63()
    od = cj.orbit_diagram(lor, "rho", jnp.array([28.0]), transient=2_000, keep=500,
                          dt=0.01, section=cj.LocalMaxima(2))
    cjp.return_map(od.points, coordinate=2)
    ```
    """
    s = np.asarray(points)[..., coordinate]
    s = s[np.isfinite(s)] if s.ndim == 1 else s
    ax, new = _axes.axes(ax, (5, 5))
    rows = s if s.ndim == 2 else s[None]
    for row in rows:
        row = row[np.isfinite(row)]
        ax.plot(row[:-1], row[1:], ".", markersize=1.5)
    ax.set_xlabel(f"$s_k$ = x[{coordinate}]")
    ax.set_ylabel("$s_{k+1}$")
    ax.set_title(title)
    return _axes.done(ax, new)
