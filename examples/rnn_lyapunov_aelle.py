"""Recurrent networks read through their Lyapunov spectra, and AeLLE.

E. Shlizerman, "Artificial Neural Networks are a New Kind of Dynamical Systems" (UW
Applied Mathematics, 2023): a trained RNN is an input-driven map, and its Lyapunov
spectrum describes it (Engelken, Wolf & Abbott 2020, arXiv:2006.02427; Vogt, Puelma
Touzel, Shlizerman & Lajoie 2022, Front. Appl. Math. Stat. 8). AeLLE (Vogt, Zheng &
Shlizerman, arXiv:2204.04876) encodes the spectra with an autoencoder and reads the
accuracy of a network from the latent coordinates.

1. Random tanh RNNs: the largest exponent against the gain g, autonomous (it crosses
   zero near g = 1) and driven by the task's inputs.
2. A grid of tanh RNNs, GRUs and LSTMs (widths 8, 16, 32; initial gains 0.5..2.5;
   learning rates 3e-3 and 1e-2; two seeds: 144 networks) trained on the delayed XOR of
   a stream of noisy bits (`cj.learn.DelayedParity`: the parity of the bits shown 3 and
   8 steps before the end of 20, noise 0.5; best possible accuracy 0.956), each with
   the full spectrum of the trained network driven by the task's input stream.
3. Cross-validated (5 folds x 3 repeats, autoencoder refitted in each fold): how well
   the AeLLE latent coordinates, the AeLLE head, and the plain features (largest
   exponent, mean exponent, Kaplan-Yorke dimension) predict which networks are in the
   top quartile of accuracy (AUC) and the accuracy itself (Spearman); beside them, two
   controls on the same first 16 exponents without an autoencoder (2 principal
   components; all 16 exponents).

Writes out/rnn_lyapunov_aelle/: rnn_lyapunov_aelle.nc (one row per network), two
figures and summary.json. `--quick` runs a few small networks for a few steps (the
test suite runs it).

Run: `python examples/rnn_lyapunov_aelle.py [--quick]`.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import chaosjax as cj

cj.enable_x64()

#: The autoencoder's input: the first K exponents of each spectrum (padded if fewer).
K = 16
FULL = dict(
    grid=dict(),  # the defaults of cj.learn.rnn_lyapunov_grid: 144 networks
    cv=dict(folds=5, repeats=3, steps=2_000),
    sweep=dict(n=100, gains=np.linspace(0.25, 3.0, 23), steps=2_000),
)
QUICK = dict(
    grid=dict(
        widths=(8,),
        gains=(0.5, 1.5),
        learning_rates=(1e-2,),
        seeds=(0, 1),
        steps=150,
        test_size=500,
        spectrum_steps=200,
        transient=50,
    ),
    cv=dict(folds=3, repeats=1, steps=300),
    sweep=dict(n=30, gains=np.linspace(0.5, 2.5, 5), steps=300),
)
ARCH_STYLE = {"rnn": ("tab:blue", "o"), "gru": ("tab:orange", "s"), "lstm": ("tab:green", "^")}


def gain_sweep(task: cj.learn.DelayedParity, n: int, gains: np.ndarray, steps: int):
    """Largest exponent of random tanh RNNs against the gain: autonomous, and driven by
    the task's input stream (one network direction, scaled by g)."""
    us = task.stream(jax.random.key(7), steps + 500)

    @jax.jit
    def sweep(gains):
        def one(g):
            auto = cj.systems.RNN.random(jax.random.key(3), n, g=g)
            driven = cj.systems.RNN.random(jax.random.key(3), n, n_inputs=1, g=g)
            kw = dict(steps=steps, transient=500, k=1, throw=False)
            a = cj.lyapunov_spectrum(auto, auto.default_state(), **kw).exponents[0]
            d = cj.lyapunov_spectrum(driven, driven.default_state(), inputs=us, **kw)
            return a, d.exponents[0]

        return jax.vmap(one)(gains)

    auto, driven = sweep(jnp.asarray(gains))
    return np.asarray(auto), np.asarray(driven)


def crossing(gains: np.ndarray, lam: np.ndarray) -> float:
    """The gain where lam first changes sign (linear interpolation), or NaN."""
    idx = np.flatnonzero((lam[:-1] < 0) & (lam[1:] >= 0))
    if idx.size == 0:
        return float("nan")
    i = idx[0]
    return float(gains[i] - lam[i] * (gains[i + 1] - gains[i]) / (lam[i + 1] - lam[i]))


def figure_exponents(ds, gains, auto, driven, n_sweep, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 4.2))
    ax0.plot(gains, auto, "k-", lw=1.5, label=f"random tanh RNN, n = {n_sweep}, no input")
    ax0.plot(gains, driven, "k--", lw=1.2, label="same, driven by the task's inputs")
    ax0.axhline(0.0, color="0.6", lw=0.8)
    ax0.axvline(1.0, color="0.6", lw=0.8, ls=":")
    for arch, (color, marker) in ARCH_STYLE.items():
        sel = ds.architecture.values == arch
        if not sel.any():
            continue
        jitter = 0.03 * (list(ARCH_STYLE).index(arch) - 1)
        ax0.scatter(
            ds.gain.values[sel] + jitter,
            ds.lambda_max.values[sel],
            s=14,
            c=color,
            marker=marker,
            alpha=0.7,
            label=f"{arch}, trained (driven)",
        )
    ax0.set_xlabel("initial gain g")
    ax0.set_ylabel("largest Lyapunov exponent (per step)")
    ax0.set_title("largest exponent against the gain")
    ax0.legend(fontsize=7)
    for arch, (color, marker) in ARCH_STYLE.items():
        sel = ds.architecture.values == arch
        if sel.any():
            ax1.scatter(
                ds.lambda_max.values[sel],
                ds.accuracy.values[sel],
                s=16,
                c=color,
                marker=marker,
                alpha=0.75,
                label=arch,
            )
    ax1.axhline(0.5, color="0.6", lw=0.8, ls=":")
    ax1.axhline(ds.attrs["bayes_accuracy"], color="0.3", lw=0.8, ls="--", label="best possible")
    ax1.set_xlabel("largest Lyapunov exponent of the trained network (per step)")
    ax1.set_ylabel("test accuracy")
    ax1.set_title("accuracy against the largest exponent")
    ax1.legend(fontsize=7)
    fig.tight_layout()
    cj.io.save_figure(fig, path)


def figure_latent(ds, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lat = ds.latent.values
    fig, ax = plt.subplots(figsize=(5.6, 4.6))
    sc = None
    for arch, (_, marker) in ARCH_STYLE.items():
        sel = ds.architecture.values == arch
        if sel.any():
            sc = ax.scatter(
                lat[sel, 0],
                lat[sel, 1],
                c=ds.accuracy.values[sel],
                cmap="viridis",
                vmin=0.5,
                vmax=float(ds.attrs["bayes_accuracy"]),
                marker=marker,
                s=22,
                label=arch,
                edgecolors="k",
                linewidths=0.3,
            )
    if sc is not None:
        fig.colorbar(sc, ax=ax, label="test accuracy")
    handles = [
        plt.Line2D([], [], ls="", marker=marker, color="0.5", label=arch)
        for arch, (_, marker) in ARCH_STYLE.items()
    ]
    ax.set_xlabel("latent 1")
    ax.set_ylabel("latent 2")
    ax.set_title("AeLLE latent space (fitted on all networks)")
    ax.legend(handles=handles, fontsize=7)
    fig.tight_layout()
    cj.io.save_figure(fig, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few small networks, few steps")
    parser.add_argument("--out", default="out/rnn_lyapunov_aelle", help="output folder")
    args = parser.parse_args()
    cfg = QUICK if args.quick else FULL
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{os.cpu_count()} CPU cores, load average {load:.2f} at the start")
    task = cj.learn.DelayedParity()
    print(
        f"task: delayed parity of bits {task.delays} steps before the end of {task.length}, "
        f"noise {task.noise}; best possible accuracy {task.bayes_accuracy:.3f}, chance 0.5"
    )
    t_start = time.perf_counter()

    # 1. Random tanh RNNs against the gain.
    sw = cfg["sweep"]
    t0 = time.perf_counter()
    auto, driven = gain_sweep(task, sw["n"], sw["gains"], sw["steps"])
    t_sweep = time.perf_counter() - t0
    g_auto, g_driven = crossing(sw["gains"], auto), crossing(sw["gains"], driven)
    print(
        f"\n1. random tanh RNN, n = {sw['n']}: lam_1 crosses 0 at g = {g_auto:.2f} without "
        f"input, at g = {g_driven:.2f} driven by the task's inputs ({t_sweep:.1f} s)"
    )

    # 2. The grid of trained networks and their spectra.
    t0 = time.perf_counter()
    ds = cj.learn.rnn_lyapunov_grid(task, key=jax.random.key(0), **cfg["grid"])
    t_grid = time.perf_counter() - t0
    acc = ds.accuracy.values
    print(
        f"\n2. {ds.sizes['network']} networks trained ({ds.attrs['train_seconds']:.0f} s) and "
        f"their spectra ({ds.attrs['spectrum_seconds']:.0f} s); accuracy min "
        f"{acc.min():.3f}, quartiles {np.quantile(acc, 0.25):.3f} / {np.median(acc):.3f} / "
        f"{np.quantile(acc, 0.75):.3f}, max {acc.max():.3f}; {int(ds.diverged.sum())} diverged"
    )
    print(f"   {'':<22}{'networks':>9}{'acc mean':>10}{'acc max':>9}{'lam_1 mean':>12}")
    for name in ("architecture", "width", "gain", "learning_rate"):
        for value in np.unique(ds[name].values):
            sel = ds[name].values == value
            print(
                f"   {name + ' = ' + str(value):<22}{int(sel.sum()):>9}{acc[sel].mean():>10.3f}"
                f"{acc[sel].max():>9.3f}{ds.lambda_max.values[sel].mean():>12.3f}"
            )

    # 3. AeLLE, cross-validated against the plain features.
    spectra = cj.learn.fixed_length(ds.spectrum.values, K)
    feats = {k: ds[k].values for k in ("lambda_max", "lambda_mean", "ky_dimension")}
    t0 = time.perf_counter()
    cmp = cj.learn.cross_validate_aelle(spectra, acc, feats, key=jax.random.key(1), **cfg["cv"])
    t_cv = time.perf_counter() - t0
    summary = cmp.summary()
    cv = cfg["cv"]
    print(
        f"\n3. cross-validated ({cv['folds']} folds x {cv['repeats']} repeats; autoencoder "
        f"refitted in each fold; {t_cv:.0f} s): top quartile = accuracy >= "
        f"{float(cmp.threshold):.3f} ({int(cmp.top.sum())} networks)"
    )
    print(f"   {'method':<16}{'AUC':>8}{'+-':>7}{'Spearman':>10}{'+-':>7}")
    for m, r in summary.items():
        print(
            f"   {m:<16}{r['auc']:>8.3f}{r['auc_std']:>7.3f}{r['spearman']:>10.3f}"
            f"{r['spearman_std']:>7.3f}"
        )
    rho_each = dict(zip(feats, np.asarray(cmp.feature_spearman).tolist(), strict=True))
    print(
        "   Spearman of each plain feature with accuracy (no fit): "
        + ", ".join(f"{k} {v:+.3f}" for k, v in rho_each.items())
    )
    best_plain = max(("features", *feats), key=lambda m: summary[m]["auc"])
    lat, plain = summary["latent"], summary[best_plain]
    verdict = (
        "beats"
        if lat["auc"] - plain["auc"] > lat["auc_std"] + plain["auc_std"]
        else ("does not beat")
    )
    print(
        f"   AeLLE latent AUC {lat['auc']:.3f} {verdict} the best plain features ({best_plain}, "
        f"AUC {plain['auc']:.3f}); controls on the same spectra without an autoencoder: "
        f"PCA {summary['pca']['auc']:.3f}, all {K} exponents {summary['spectrum']['auc']:.3f}"
    )

    # The latent space of an autoencoder fitted on every network (for the figure only).
    fitted = cj.learn.fit_aelle(spectra, acc, key=jax.random.key(2), steps=cv["steps"])
    ds["latent"] = (
        ("network", "latent"),
        np.asarray(fitted.latent),
        {"long_name": "AeLLE latent coordinates (autoencoder fitted on all networks)"},
    )
    ds["aelle_prediction"] = (
        "network",
        np.asarray(fitted.model.predict(spectra)),
        {"long_name": "AeLLE head's accuracy (in-sample)"},
    )
    ds["top_quartile"] = ("network", np.asarray(cmp.top).astype(int))
    for i, m in enumerate(cmp.methods):
        ds[f"cv_score_{m}"] = (
            "network",
            np.asarray(cmp.scores[i]).mean(axis=0),
            {"long_name": f"out-of-fold score for the top quartile ({m}), mean over repeats"},
        )
    t_total = time.perf_counter() - t_start
    ds.attrs.update(
        aelle_exponents=K,
        cv_summary=json.dumps(summary),
        gain_sweep_crossing_autonomous=g_auto,
        gain_sweep_crossing_driven=g_driven,
        seconds_total=round(t_total, 1),
        load_average_start=round(load, 2),
    )
    cj.io.save(ds, out / "rnn_lyapunov_aelle.nc")
    figure_exponents(ds, sw["gains"], auto, driven, sw["n"], out / "exponents_accuracy.png")
    figure_latent(ds, out / "aelle_latent.png")
    cj.io.write_json(
        out / "summary.json",
        dict(
            networks=int(ds.sizes["network"]),
            accuracy=dict(
                min=float(acc.min()),
                max=float(acc.max()),
                quartiles=np.quantile(acc, [0.25, 0.5, 0.75]).tolist(),
            ),
            cv=summary,
            feature_spearman=rho_each,
            crossing=dict(autonomous=g_auto, driven=g_driven),
            seconds=dict(
                sweep=t_sweep,
                grid=t_grid,
                train=ds.attrs["train_seconds"],
                spectra=ds.attrs["spectrum_seconds"],
                cv=t_cv,
                total=t_total,
            ),
            load_average=dict(start=load, end=os.getloadavg()[0]),
        ),
    )
    end_load = os.getloadavg()[0]
    print(f"\ntotal {t_total:.0f} s (load average {load:.2f} at the start, {end_load:.2f} at end)")
    print(f"wrote {out}/: rnn_lyapunov_aelle.nc, exponents_accuracy.png, aelle_latent.png, ...")


if __name__ == "__main__":
    main()
