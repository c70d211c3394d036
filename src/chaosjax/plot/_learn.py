"""Figures of fitted models: training loss curves and the verdict of `cj.learn.evaluate`
(forecast against truth, invariant distributions, spectra)."""

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


def forecast_vs_truth(verdict, *, start: int = 0) -> Figure:
    """A model's closed-loop forecast against the true continuation from one test start,
    one panel per observed coordinate, with the valid prediction time marked.

    **Arguments:**

    - `verdict`: a `cj.learn.Verdict` or its `dataset`.
    - `start`: which test start (default 0).

    **Returns:**

    A `matplotlib.figure.Figure`.

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
    fig, axes = plt.subplots(n + 1, 1, figsize=(7, 1.6 * (n + 1)), sharex=True, squeeze=False)
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
    fig.tight_layout()
    return fig


def invariant_distributions(verdict, *, bins: int = 60) -> Figure:
    """The model's and the truth's long-run distributions of each observed coordinate,
    overlaid, with the Wasserstein ratio in each title.

    **Arguments:**

    - `verdict`: a `cj.learn.Verdict` or its `dataset`.
    - `bins`: histogram bins (default 60).

    **Returns:**

    A `matplotlib.figure.Figure`.

    Example:

    ```python
    cjp.invariant_distributions(verdict).savefig("distributions.png")
    ```
    """
    ds = getattr(verdict, "dataset", verdict)
    names = [str(c) for c in np.asarray(ds["coordinate"])]
    fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 3.0), squeeze=False)
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
    fig.tight_layout()
    return fig


def spectra_side_by_side(verdict) -> Figure:
    """The Lyapunov exponents of model and truth as paired bars, with the Kaplan-Yorke
    dimensions in the title.

    **Arguments:**

    - `verdict`: a `cj.learn.Verdict` or its `dataset`.

    **Returns:**

    A `matplotlib.figure.Figure`.

    Example:

    ```python
    cjp.spectra_side_by_side(verdict).savefig("spectra.png")
    ```
    """
    ds = getattr(verdict, "dataset", verdict)
    em = np.asarray(ds["exponents_model"], dtype=float)
    et = np.asarray(ds["exponents_truth"], dtype=float)
    i = np.arange(1, et.size + 1)
    fig, ax = plt.subplots(figsize=(1.2 * et.size + 3, 3.2))
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
    fig.tight_layout()
    return fig


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
