"""`chaosjax learn esn`: an echo-state network, judged by its closed-loop forecasts on
held-out test windows and its Lyapunov exponents beside the true system's."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import jax
import typer

import chaosjax as cj

from .._errors import UserError
from .._options import ParamOpt, QuietOpt, SeedOpt, SystemArg, SystemFileOpt
from .._output import interrupt_note, make_console
from ._common import (
    KEPT,
    DataOpt,
    ForceOpt,
    HorizonOpt,
    LyapStepsOpt,
    NoiseOpt,
    NoPlotsOpt,
    OutDirOpt,
    PointsOpt,
    RidgeOpt,
    TestStartsOpt,
    finish_reservoir,
    out_dir,
    positive,
    reservoir_checks,
    reservoir_data,
    ridge_grid,
    run_record,
    source_name,
    true_system,
    tuning,
)

EPILOG = """Examples:

  chaosjax learn esn lorenz63 --units 600 --points 20000 --dt 0.02 --out lorenz_esn

  chaosjax learn esn lorenz63 --spectral-radius 0.8 --spectral-radius 0.9 --ridge 1e-8
  --ridge 1e-6 --out searched   (two or more values of an option: a grid search on
  validation data)

  chaosjax learn esn --data run.nc --units 300 --washout 50 --out esn

Writes DIR/model.eqx (read it back with cj.learn.load), DIR/metrics.json (valid
prediction times from the test windows, learned and true exponents) and
DIR/exponents.png."""


def esn(
    system: SystemArg = None,
    param: ParamOpt = None,
    system_file: SystemFileOpt = None,
    data: DataOpt = None,
    points: PointsOpt = None,
    dt: Annotated[
        float | None, typer.Option("--dt", help="Sampling step of a flow \\[default: 0.02].")
    ] = None,
    noise: NoiseOpt = 0.0,
    units: Annotated[int, typer.Option("--units", help="Reservoir units n.")] = 600,
    spectral_radius: Annotated[
        list[float] | None,
        typer.Option(
            "--spectral-radius", help="Spectral radius of W \\[default: 0.9]; repeat for a grid."
        ),
    ] = None,
    ridge: RidgeOpt = None,
    leak: Annotated[float, typer.Option("--leak", help="Leak rate in (0, 1].")] = 1.0,
    input_scaling: Annotated[
        float, typer.Option("--input-scaling", help="Scale of W_in (normalised inputs).")
    ] = 0.25,
    bias_scaling: Annotated[float, typer.Option("--bias-scaling", help="Scale of the bias.")] = 0.5,
    density: Annotated[
        float, typer.Option("--density", help="Fraction of nonzero entries of W.")
    ] = 0.01,
    features: Annotated[
        str, typer.Option("--features", help="quadratic ([1, r, r^2]) or linear ([1, r]).")
    ] = "quadratic",
    washout: Annotated[
        int, typer.Option("--washout", help="Observations that synchronise the reservoir.")
    ] = 100,
    horizon: HorizonOpt = 1_000,
    test_starts: TestStartsOpt = 10,
    seed: SeedOpt = 0,
    lyap_steps: LyapStepsOpt = 20_000,
    out: OutDirOpt = Path("esn"),
    force: ForceOpt = False,
    no_plot: NoPlotsOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Fit an echo-state network (sparse random reservoir, ridge readout); judge its
    closed-loop forecasts and Lyapunov exponents against the true system's."""
    units = positive(units, "--units")
    washout = positive(washout, "--washout")
    horizon, test_starts, lyap_steps = reservoir_checks(horizon, test_starts, lyap_steps)
    if features not in ("quadratic", "linear"):
        raise UserError(f"--features must be quadratic or linear, got {features!r}.")
    if not 0 < leak <= 1:
        raise UserError(f"--leak must lie in (0, 1], got {leak}.")
    if not 0 < density <= 1:
        raise UserError(f"--density must lie in (0, 1], got {density}.")
    radii = spectral_radius or [0.9]
    if any(not r > 0 for r in radii):
        raise UserError(f"--spectral-radius must be positive, got {radii}.")
    ridges = ridge_grid(ridge, 1e-8)
    sysm = true_system(system, param, system_file, data)
    window = washout + horizon
    train, val, test, dt = reservoir_data(
        sysm, data, points, dt, noise, seed, default_dt=0.02, default_points=20_000,
        reserve=test_starts * window,
    )  # fmt: skip
    out = out_dir(out, force)
    console = make_console(quiet)
    name = source_name(sysm, data)
    grid = {k: v for k, v in (("spectral_radius", radii), ("ridge", ridges)) if len(v) > 1}
    with interrupt_note(console, KEPT):
        t0 = time.time()
        res = cj.learn.fit_esn(
            train, dt=1.0 if dt is None else dt, key=jax.random.key(seed), n=units,
            spectral_radius=radii[0], ridge=ridges[0], leak=leak, input_scaling=input_scaling,
            bias_scaling=bias_scaling, density=density, features=features, washout=washout,
            **tuning(grid, val, test_starts, horizon),
        )  # fmt: skip
        seconds = time.time() - t0
        chosen = {"spectral_radius": radii[0], "ridge": ridges[0]}
        if res.search is not None:
            chosen.update(res.search.parameters[res.search.best])
        rows = sum(x.shape[0] for x in train)
        console.print(
            f"Echo-state network ({units} units, {features} readout) on "
            f"{rows} samples of {name} ({seconds:.1f} s): "
            f"training NMSE {float(res.nmse):.3e}, spectral radius {chosen['spectral_radius']}, "
            f"ridge {chosen['ridge']:g}."
        )
        record = {
            **run_record("esn", sysm, data, int(rows), dt, noise, seed),
            "units": units,
            "spectral_radius": chosen["spectral_radius"],
            "ridge": chosen["ridge"],
            "leak": leak,
            "input_scaling": input_scaling,
            "bias_scaling": bias_scaling,
            "density": density,
            "features": features,
            "washout": washout,
            "seconds": seconds,
            "nmse": float(res.nmse),
        }
        finish_reservoir(
            console, out, res.model, sysm, test, dt, record, res.search, starts=test_starts,
            horizon=horizon, lyap_steps=lyap_steps, no_plot=no_plot,
            title=f"{name}: echo-state network",
        )  # fmt: skip
