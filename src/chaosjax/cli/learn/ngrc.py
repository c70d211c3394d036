"""`chaosjax learn ngrc`: a next-generation reservoir computer, judged by its closed-loop
forecasts on held-out test windows and its Lyapunov exponents beside the true system's."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

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

  chaosjax learn ngrc lorenz63 --points 400 --dt 0.025 --lags 2 --skip 1 --out lorenz_ngrc

  chaosjax learn ngrc henon --lags 1 --ridge 0 --out henon_ngrc

  chaosjax learn ngrc --data run.nc --lags 3 --ridge 1e-7 --ridge 1e-5 --out ngrc

Writes DIR/model.eqx (read it back with cj.learn.load), DIR/metrics.json and
DIR/exponents.png."""


def ngrc(
    system: SystemArg = None,
    param: ParamOpt = None,
    system_file: SystemFileOpt = None,
    data: DataOpt = None,
    points: PointsOpt = None,
    dt: Annotated[
        float | None, typer.Option("--dt", help="Sampling step of a flow \\[default: 0.025].")
    ] = None,
    noise: NoiseOpt = 0.0,
    lags: Annotated[int, typer.Option("--lags", help="Delayed observations k.")] = 2,
    skip: Annotated[int, typer.Option("--skip", help="Spacing s of the delays, in steps.")] = 1,
    degree: Annotated[int, typer.Option("--degree", help="Largest monomial degree.")] = 2,
    ridge: RidgeOpt = None,
    horizon: HorizonOpt = 1_000,
    test_starts: TestStartsOpt = 10,
    seed: SeedOpt = 0,
    lyap_steps: LyapStepsOpt = 20_000,
    out: OutDirOpt = Path("ngrc"),
    force: ForceOpt = False,
    no_plot: NoPlotsOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Fit a next-generation reservoir computer (polynomial features of delayed
    observations, ridge readout of the increment); judge its forecasts and exponents."""
    lags = positive(lags, "--lags")
    skip = positive(skip, "--skip")
    degree = positive(degree, "--degree")
    horizon, test_starts, lyap_steps = reservoir_checks(horizon, test_starts, lyap_steps)
    ridges = ridge_grid(ridge, 2.5e-6)
    sysm = true_system(system, param, system_file, data)
    history = (lags - 1) * skip + 1
    train, val, test, dt = reservoir_data(
        sysm, data, points, dt, noise, seed, default_dt=0.025, default_points=400,
        reserve=test_starts * (history + horizon),
    )  # fmt: skip
    if any(x.shape[0] <= history for x in train):
        raise UserError(f"--lags {lags} and --skip {skip} need more than {history} training rows.")
    out = out_dir(out, force)
    console = make_console(quiet)
    name = source_name(sysm, data)
    grid = {"ridge": ridges} if len(ridges) > 1 else None
    with interrupt_note(console, KEPT):
        t0 = time.time()
        res = cj.learn.fit_ngrc(
            train, dt=1.0 if dt is None else dt, lags=lags, skip=skip, degree=degree,
            ridge=ridges[0], **tuning(grid, val, test_starts, horizon),
        )  # fmt: skip
        seconds = time.time() - t0
        model = res.model
        chosen = res.search.parameters[res.search.best]["ridge"] if res.search else ridges[0]
        rows = sum(x.shape[0] for x in train)
        console.print(
            f"NG-RC ({lags} lags, skip {skip}, degree {degree}, {model.W_out.shape[1]} "
            f"features) on {rows} samples of {name} "
            f"({seconds:.2f} s): increment NMSE {float(res.nmse):.3e}, ridge {chosen:g}."
        )
        names = list(sysm.variable_names()) if sysm is not None else None
        record = {
            **run_record("ngrc", sysm, data, int(rows), dt, noise, seed),
            "lags": lags,
            "skip": skip,
            "degree": degree,
            "ridge": chosen,
            "seconds": seconds,
            "nmse": float(res.nmse),
            "features": model.feature_names(names),
        }
        finish_reservoir(
            console, out, model, sysm, test, dt, record, res.search, starts=test_starts,
            horizon=horizon, lyap_steps=lyap_steps, no_plot=no_plot, title=f"{name}: NG-RC",
        )  # fmt: skip
