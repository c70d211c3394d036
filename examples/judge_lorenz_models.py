"""Three models learned from Lorenz63, judged as dynamical systems by one call.

An echo-state network (600 units, spectral radius 0.9, ridge readout on [1, r, r^2];
Pathak et al. 2018, Phys. Rev. Lett. 120, 024102), a next-generation reservoir computer
(Gauthier et al. 2021, Nat. Commun. 12, 5564) and a neural ODE (Chen et al. 2018) are
fitted to trajectories of the Lorenz (1963) system (sigma 10, rho 28, beta 8/3). Their
hyper-parameters are chosen on a validation trajectory; `cj.learn.evaluate` then judges
each against the true system from test starts and long runs it draws itself (never seen
in training or tuning):

- valid prediction time (normalised RMS error above 0.4) from 10 test starts, in
  Lyapunov times (1/0.906);
- the largest exponent and Kaplan-Yorke dimension of the closed-loop model;
- per-coordinate Wasserstein-1 distances between 5 long model runs and 5 long true runs,
  beside the mean over all 10 pairs of true runs (one pair alone varies several-fold).

Writes OUT/<model>.nc (the verdicts), OUT/<model>_*.png (forecast, distributions,
spectra) and OUT/summary.md; prints every table.

Run: `python examples/judge_lorenz_models.py [--out judged] [--quick]`.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import jax
import numpy as np

import chaosjax as cj
import chaosjax.plot as cjp

cj.enable_x64()


def lorenz_data(dt: float, steps: int, n: int, key: int) -> np.ndarray:
    lor = cj.systems.Lorenz63()
    x0 = lor.sample_state(jax.random.key(key), n)
    return np.asarray(cj.trajectory(lor, x0, steps=steps, dt=dt, transient=int(20 / dt)))


def fit_models(quick: bool) -> dict[str, tuple[cj.Map | cj.Flow, float, float]]:
    """name -> (model, dt, fit seconds)."""
    out = {}
    dt = 0.02
    train = lorenz_data(dt, 2_000 if quick else 10_000, 1, key=11)
    valid = lorenz_data(dt, 2_000 if quick else 4_000, 1, key=12)
    t0 = time.perf_counter()
    esn = cj.learn.fit_esn(
        train[0], dt=dt, key=jax.random.key(0), n=300 if quick else 600, spectral_radius=0.9,
        search=None if quick else {"ridge": [1e-8, 1e-6]}, validation=valid[0],
    ).model  # fmt: skip
    out["esn"] = (esn, dt, time.perf_counter() - t0)

    dt_ng = 0.025
    train_ng = lorenz_data(dt_ng, 400, 1, key=13)
    valid_ng = lorenz_data(dt_ng, 2_000, 1, key=14)
    t0 = time.perf_counter()
    ngrc = cj.learn.fit_ngrc(
        train_ng[0], dt=dt_ng, lags=2, skip=1,
        search={"ridge": [1e-7, 2.5e-6, 1e-5, 1e-4]}, validation=valid_ng[0],
    ).model  # fmt: skip
    out["ngrc"] = (ngrc, dt_ng, time.perf_counter() - t0)

    dt_node = 0.01
    train_node = lorenz_data(dt_node, 2_000, 2 if quick else 4, key=15)
    t0 = time.perf_counter()
    node = cj.learn.fit_neural_ode(
        list(train_node), dt=dt_node, key=jax.random.key(1), hidden=64, depth=2,
        segment_steps=10, segment_stride=4, solver="rk4", adjoint="direct", batch_size=256,
        stages=[(cj.learn.Adam(learning_rate=3e-3), 300 if quick else 3_000), ("lbfgs", 100)],
        eval_every=250,
    ).model  # fmt: skip
    out["neural_ode"] = (node, dt_node, time.perf_counter() - t0)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="judged", help="output directory")
    parser.add_argument("--quick", action="store_true", help="small models, short runs")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    lor = cj.systems.Lorenz63()
    judge = dict(starts=10, runs=5, horizon=20.0, spectrum_steps=20_000, transient=1_000)
    if args.quick:
        judge.update(starts=4, runs=2, horizon=10.0, spectrum_steps=2_000, run_steps=4_000)
    rows = []
    for name, (model, dt, fit_s) in fit_models(args.quick).items():
        t0 = time.perf_counter()
        verdict = cj.learn.evaluate(model, lor, dt=dt, key=jax.random.key(7), **judge)
        judge_s = time.perf_counter() - t0
        print(f"\n=== {name} (fitted in {fit_s:.0f} s, judged in {judge_s:.0f} s)\n")
        print(verdict)
        ds = verdict.dataset
        cj.io.save(ds, out / f"{name}.nc")
        for fig_name, fig in cjp.verdict_figures(verdict).items():
            cj.io.save_figure(fig, out / f"{name}_{fig_name}.png")
        vpt = np.asarray(ds["vpt_lyapunov"])
        ratio = np.asarray(ds["wasserstein_ratio"])
        rows.append(
            f"| {name} | {dt:g} | {vpt.mean():.2f} ± {vpt.std():.2f} | "
            f"{float(ds['exponents_model'][0]):.3f} ({float(ds['exponents_truth'][0]):.3f}) | "
            f"{float(ds['ky_model']):.3f} ({float(ds['ky_truth']):.3f}) | "
            + " ".join(f"{r:.2f}" for r in ratio)
            + f" | {fit_s:.0f} s |"
        )
    table = "\n".join(
        [
            "| model | dt | VPT (Lyapunov times) | largest exponent (truth) | "
            "Kaplan-Yorke (truth) | W1 ratio x y z | fit |",
            "|---|---:|---:|---:|---:|---|---:|",
            *rows,
        ]
    )
    print("\n" + table)
    (out / "summary.md").write_text(table + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
