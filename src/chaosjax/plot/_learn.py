"""Figures of fitted models: training loss curves, the verdict of `cj.learn.evaluate`
(forecast against truth, invariant distributions, spectra), and generated against true
trajectories with the distances between paired trajectories against time."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

from . import _axes


def loss_curves(steps, losses, *, best: int | None = None, title: str = "", ax=None) -> Figure:
    """Training loss against optimiser step, one line per restart, on a log scale.

    **Arguments:**

    - `steps`: (evals,) optimiser steps of the evaluations (`cj.learn.History.steps`).
    - `losses`: (restarts, evals) losses (`cj.learn.History.train`); NaN entries (a
      restart that stopped early) are left out.
    - `best`: the restart drawn bold (default None).
    - `title`: the axes title.
    - `ax`: an Axes to draw into (default: a new figure).

    **Returns:**

    The `matplotlib.figure.Figure` drawn into (the figure of `ax` when given).

    Example:

    ```python
    import chaosjax.plot as cjp
    cjp.loss_curves(jnp.arange(1, 4), jnp.array([[1.0, 0.1, 0.01]]), best=0)
    ```
    """
    x = np.asarray(steps, dtype=float)
    ys = np.atleast_2d(np.asarray(losses, dtype=float))
    ax, new = _axes.axes(ax, (5.5, 3.6))
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
    return _axes.done(ax, new)


def forecast_vs_truth(verdict, *, start: int = 0, fig=None):
    """A model's closed-loop forecast against the true continuation from one test start,
    one panel per observed coordinate, with the valid prediction time marked.

    **Arguments:**

    - `verdict`: a `cj.learn.Verdict` or its `dataset`.
    - `start`: which test start (default 0).
    - `fig`: a `Figure` or `SubFigure` to draw the panels into (default: a new figure).

    **Returns:**

    The figure drawn into: `fig` when given, else a new `matplotlib.figure.Figure`.

    Example:

    ```python
    verdict = cj.learn.evaluate(model, cj.systems.Lorenz63(), dt=0.02)
    cjp.forecast_vs_truth(verdict).savefig("forecast.png")
    ```
    """
    ds = getattr(verdict, "dataset", verdict)
    lt = float(ds.attrs.get("lyapunov_time", np.nan))
    t = np.asarray(ds["time"], dtype=float)
    xlabel = "time"
    if np.isfinite(lt) and lt > 0:
        t, xlabel = t / lt, "Lyapunov times"
    vpt_steps = int(ds["vpt_steps"][start])
    names = [str(c) for c in np.asarray(ds["coordinate"])]
    n = len(names)
    fig, new = _axes.figure(fig, (7, 1.6 * (n + 1)))
    axes = fig.subplots(n + 1, 1, sharex=True, squeeze=False)
    for c, name in enumerate(names):
        ax = axes[c, 0]
        ax.plot(t, np.asarray(ds["truth_forecast"][start, :, c]), color="k", lw=1.0, label="truth")
        ax.plot(
            t,
            np.asarray(ds["forecast"][start, :, c]),
            color="tab:red",
            lw=1.0,
            ls="--",
            label="model",
        )
        ax.set_ylabel(name)
    err = axes[n, 0]
    err.plot(t, np.asarray(ds["forecast_error"][start]), color="tab:blue", lw=1.0)
    err.axhline(float(ds.attrs["threshold"]), color="gray", lw=0.8, ls=":")
    err.set_ylabel("normalised error")
    err.set_ylim(0, max(1.0, 2 * float(ds.attrs["threshold"])))
    err.set_xlabel(xlabel)
    if vpt_steps < t.size:
        for ax in axes[:, 0]:
            ax.axvline(t[vpt_steps], color="tab:green", lw=1.0)
    axes[0, 0].legend(fontsize=8, loc="upper right")
    axes[0, 0].set_title(
        f"{ds.attrs['model']} vs {ds.attrs['truth']}: valid for "
        f"{t[min(vpt_steps, t.size - 1)]:.3g} {xlabel} (green line)"
    )
    return _axes.done_figure(fig, new)


def invariant_distributions(verdict, *, bins: int = 60, fig=None):
    """The model's and the truth's long-run distributions of each observed coordinate,
    overlaid, with the Wasserstein ratio in each title.

    **Arguments:**

    - `verdict`: a `cj.learn.Verdict` or its `dataset`.
    - `bins`: histogram bins (default 60).
    - `fig`: a `Figure` or `SubFigure` to draw the panels into (default: a new figure).

    **Returns:**

    The figure drawn into: `fig` when given, else a new `matplotlib.figure.Figure`.

    Example:

    ```python
    cjp.invariant_distributions(verdict).savefig("distributions.png")
    ```
    """
    ds = getattr(verdict, "dataset", verdict)
    names = [str(c) for c in np.asarray(ds["coordinate"])]
    fig, new = _axes.figure(fig, (3.2 * len(names), 3.0))
    axes = fig.subplots(1, len(names), squeeze=False)
    for c, name in enumerate(names):
        ax = axes[0, c]
        truth = np.asarray(ds["long_truth"][:, c], dtype=float)
        model = np.asarray(ds["long_model"][:, c], dtype=float)
        model = model[np.isfinite(model)]
        edges = np.histogram_bin_edges(truth, bins=bins)
        ax.hist(truth, bins=edges, density=True, color="k", alpha=0.35, label="truth")
        if model.size:
            ax.hist(
                model,
                bins=edges,
                density=True,
                histtype="step",
                color="tab:red",
                lw=1.4,
                label="model",
            )
        ratio = float(ds["wasserstein_ratio"][c])
        ax.set_title(f"{name}: W1 ratio {ratio:.3g}", fontsize=9)
        ax.set_xlabel(name)
    axes[0, 0].set_ylabel("density")
    axes[0, 0].legend(fontsize=8)
    return _axes.done_figure(fig, new)


def spectra_side_by_side(verdict, *, ax=None) -> Figure:
    """The Lyapunov exponents of model and truth as paired bars, with the Kaplan-Yorke
    dimensions in the title.

    **Arguments:**

    - `verdict`: a `cj.learn.Verdict` or its `dataset`.
    - `ax`: an Axes to draw into (default: a new figure).

    **Returns:**

    The `matplotlib.figure.Figure` drawn into (the figure of `ax` when given).

    Example:

    ```python
    cjp.spectra_side_by_side(verdict).savefig("spectra.png")
    ```
    """
    ds = getattr(verdict, "dataset", verdict)
    em = np.asarray(ds["exponents_model"], dtype=float)
    et = np.asarray(ds["exponents_truth"], dtype=float)
    i = np.arange(1, et.size + 1)
    ax, new = _axes.axes(ax, (1.2 * et.size + 3, 3.2))
    ax.bar(i - 0.18, et, width=0.36, color="k", alpha=0.6, label="truth")
    ax.bar(i + 0.18, np.nan_to_num(em), width=0.36, color="tab:red", alpha=0.8, label="model")
    ax.axhline(0.0, color="gray", lw=0.6)
    ax.set_xticks(i)
    ax.set_xlabel("exponent")
    unit = "per time unit" if float(ds.attrs.get("dt", 1.0)) != 1.0 else "per iteration"
    ax.set_ylabel(f"Lyapunov exponent ({unit})")
    ax.set_title(
        f"Kaplan-Yorke dimension: model {float(ds['ky_model']):.3f}, "
        f"truth {float(ds['ky_truth']):.3f}",
        fontsize=9,
    )
    ax.legend(fontsize=8)
    return _axes.done(ax, new)


def verdict_figures(verdict) -> dict[str, Figure]:
    """The three figures of a verdict by name: "forecast" (`forecast_vs_truth`),
    "distributions" (`invariant_distributions`), "spectra" (`spectra_side_by_side`).

    **Arguments:**

    - `verdict`: a `cj.learn.Verdict` or its `dataset`.

    **Returns:**

    A dict name -> `matplotlib.figure.Figure`.

    Example:

    ```python
    for name, fig in cjp.verdict_figures(verdict).items():
        fig.savefig(f"{name}.png")
    ```
    """
    return {
        "forecast": forecast_vs_truth(verdict),
        "distributions": invariant_distributions(verdict),
        "spectra": spectra_side_by_side(verdict),
    }


def generated_vs_true(
    true,
    generated,
    *,
    dt: float = 1.0,
    condition: int | None = None,
    labels=None,
    phase: tuple[int, int] = (0, 1),
    points: bool = False,
    title: str = "",
    fig=None,
):
    """Trajectories generated by a model beside true ones: each coordinate against time,
    and a phase portrait of both (Shalova & Oseledets 2020, arXiv:2002.05111, Fig. 2).

    **Arguments:**

    - `true`: true states, shape (T, dim), or (runs, T, dim) drawn one above another
      (at most four runs).
    - `generated`: the model's states, the shape of `true` (e.g. decoded cube centres
      of generated tokens, conditioned on the true run's first `condition` states).
    - `dt`: the time between states (default 1: steps).
    - `condition`: the number of conditioning states; a dotted line marks where the
      model's own continuation begins (default None: no line).
    - `labels`: names of the coordinates, or the system (its
      `variable_names()`); default u1, ..., un.
    - `phase`: the two coordinates of the phase portrait (default (0, 1)).
    - `points`: draw states as dots instead of lines (for maps; default False).
    - `title`: the figure's title.
    - `fig`: a `Figure` or `SubFigure` to draw the panels into (default: a new figure).

    **Returns:**

    The figure drawn into (`fig` when given, else a new `matplotlib.figure.Figure`): per
    run, one time-series panel per coordinate (true black, generated red) and a phase
    portrait on the right.

    Example:

    ```python
    import chaosjax.plot as cjp
    lor = cj.systems.Lorenz63()
    true = cj.trajectory(lor, lor.default_state(), steps=600, dt=0.03)
    other = cj.trajectory(lor, lor.default_state() + 1e-3, steps=600, dt=0.03)
    cjp.generated_vs_true(true, other, dt=0.03, condition=100, phase=(0, 2))
    ```
    """
    a = np.asarray(true, dtype=float)
    b = np.asarray(generated, dtype=float)
    if a.ndim == 2:
        a, b = a[None], b[None]
    if a.ndim != 3 or b.shape != a.shape:
        raise ValueError(
            f"`generated` must have the shape of `true` ((T, dim) or (runs, T, dim)), got "
            f"{b.shape} and {a.shape}."
        )
    runs, T, dim = min(a.shape[0], 4), a.shape[1], a.shape[2]
    labels = _axes.variable_labels(labels, dim)
    t = np.arange(T) * dt
    style: dict[str, Any] = dict(ls="none", marker=".", ms=2) if points else dict(lw=0.9)
    fig, new = _axes.figure(fig, (11, 1.5 * dim * runs + 0.8))
    grid = fig.add_gridspec(dim * runs, 2, width_ratios=(2.2, 1))
    first = None
    for r in range(runs):
        for c in range(dim):
            ax = fig.add_subplot(grid[r * dim + c, 0], sharex=first)
            first = first or ax
            ax.plot(t, a[r, :, c], color="k", label="true", **style)
            ax.plot(t, b[r, :, c], color="tab:red", alpha=0.8, label="generated", **style)
            if condition is not None:
                ax.axvline(condition * dt, color="gray", ls=":", lw=1.0)
            ax.set_ylabel(labels[c])
            if r == runs - 1 and c == dim - 1:
                ax.set_xlabel("time" if dt != 1.0 else "step")
            else:
                ax.tick_params(labelbottom=False)
        ax = fig.add_subplot(grid[r * dim : (r + 1) * dim, 1])
        i, j = phase if dim > 1 else (0, 0)
        if dim == 1:
            # A 1-D series: the return map x_{n+1} against x_n.
            pa, pb = (a[r, :-1, 0], a[r, 1:, 0]), (b[r, :-1, 0], b[r, 1:, 0])
        else:
            pa, pb = (a[r, :, i], a[r, :, j]), (b[r, :, i], b[r, :, j])
        pstyle: dict[str, Any] = dict(ls="none", marker=".", ms=1.5) if points else dict(lw=0.5)
        ax.plot(*pa, color="k", alpha=0.7, **pstyle)
        ax.plot(*pb, color="tab:red", alpha=0.6, **pstyle)
        ax.set_xlabel(labels[i])
        ax.set_ylabel(labels[j] if dim > 1 else f"next {labels[0]}")
    fig.axes[0].legend(fontsize=8, loc="upper right")
    fig.suptitle(title or "generated (red) and true (black) trajectories", fontsize=10)
    return _axes.done_figure(fig, new)


def distance_vs_time(
    times,
    model,
    reference,
    *,
    condition_time: float | None = None,
    exponent: float | None = None,
    log: bool = True,
    labels: tuple[str, str] = ("generated vs true", "true vs true"),
    title: str = "",
    ax=None,
) -> Figure:
    """The mean distance between paired trajectories against time: a model's
    continuations against the truth beside two true trajectories that share the same
    condition (Shalova & Oseledets 2020, arXiv:2002.05111, Fig. 3).

    Curves that follow each other, including the slope of the growth (the largest
    Lyapunov exponent on a log scale), say that the model's continuations depart from
    the truth as fast as true trajectories depart from each other.

    **Arguments:**

    - `times`: shape (T,).
    - `model`: distances |generated - true| per pair, shape (T,) or (pairs, T); the
      mean over pairs is drawn (NaN entries left out).
    - `reference`: distances between paired true trajectories (e.g. a reference and
      the `paired_states` of `cj.metrics.sampled_divergence_time`), shape (T,) or
      (pairs', T).
    - `condition_time`: where the conditioning ends: a dotted line (default None).
    - `exponent`: if given, a line of slope `exponent` (growth e^{lambda t}) through the
      reference curve at `condition_time` (or its start), for comparison.
    - `log`: a logarithmic distance axis (default True).
    - `labels`: the two curves' names; `title`: the axes title.
    - `ax`: an Axes to draw into (default: a new figure).

    **Returns:**

    The `matplotlib.figure.Figure` drawn into (the figure of `ax` when given).

    Example:

    ```python
    import chaosjax.plot as cjp
    t = 0.1 * jnp.arange(300)
    d_model = jnp.linalg.norm(generated - true, axis=-1)      # (pairs, T)
    d_true = jnp.linalg.norm(paired - true, axis=-1)
    cjp.distance_vs_time(t, d_model, d_true, condition_time=10.0, exponent=0.09)
    ```
    """
    t = np.asarray(times, dtype=float)
    curves = []
    for name, d in (("model", model), ("reference", reference)):
        arr = np.asarray(d, dtype=float)
        arr = arr[None] if arr.ndim == 1 else arr
        if arr.ndim != 2 or arr.shape[1] != t.size:
            raise ValueError(
                f"`{name}` must have shape ({t.size},) or (pairs, {t.size}) (one distance "
                f"per time), got {np.shape(d)}."
            )
        ok = np.isfinite(arr)
        counts = ok.sum(0)
        total = np.where(ok, arr, 0.0).sum(0)
        curves.append(np.where(counts > 0, total / np.maximum(counts, 1), np.nan))
    ax, new = _axes.axes(ax, (6.5, 4))
    ax.plot(t, curves[0], color="tab:red", lw=1.4, label=labels[0])
    ax.plot(t, curves[1], color="k", lw=1.4, label=labels[1])
    if condition_time is not None:
        ax.axvline(condition_time, color="gray", ls=":", lw=1.0, label="end of condition")
    if exponent is not None:
        t0 = t[0] if condition_time is None else float(condition_time)
        i0 = int(np.clip(np.searchsorted(t, t0), 0, t.size - 1))
        y0 = curves[1][i0]
        if np.isfinite(y0) and y0 > 0:
            ax.plot(
                t[i0:],
                y0 * np.exp(exponent * (t[i0:] - t[i0])),
                color="tab:blue",
                ls="--",
                lw=1.0,
                label=f"exp(λ₁ t), λ₁ = {exponent:.3g}",
            )
    if log:
        ax.set_yscale("log")
        top = np.nanmax(np.concatenate(curves))
        if np.isfinite(top) and top > 0:
            ax.set_ylim(top=2 * top)
    ax.set_xlabel("time")
    ax.set_ylabel("mean distance")
    ax.set_title(title or "distance between paired trajectories")
    ax.legend(fontsize=8)
    return _axes.done(ax, new)
