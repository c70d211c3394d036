"""`chaosjax learn sindy`: a flow's equations identified by SINDy, judged by their
coefficients and Lyapunov exponents beside the true system's."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

import chaosjax as cj

from .._errors import UserError
from .._options import ParamOpt, QuietOpt, SeedOpt, SystemArg, SystemFileOpt
from .._output import interrupt_note, make_console
from ._common import (
    KEPT,
    DataOpt,
    ForceOpt,
    LyapDtOpt,
    LyapStepsOpt,
    NoiseOpt,
    NoPlotsOpt,
    OutDirOpt,
    PointsOpt,
    exponent_figure,
    flow_data,
    judge_flow,
    nonnegative,
    out_dir,
    positive,
    positive_real,
    prediction_check,
    run_record,
    source_name,
    true_system,
    write,
)

EPILOG = """Examples:

  chaosjax learn sindy lorenz63 --dt 0.002 --points 10000 --out lorenz_sindy

  chaosjax learn sindy lorenz63 --noise 0.01 --derivative savgol --out noisy

  chaosjax learn sindy --data run.nc --threshold 0.05 --out sindy

Writes DIR/model.eqx (read it back with cj.learn.load), DIR/metrics.json and
DIR/exponents.png."""


def sindy(
    system: SystemArg = None,
    param: ParamOpt = None,
    system_file: SystemFileOpt = None,
    data: DataOpt = None,
    points: PointsOpt = None,
    dt: Annotated[
        float | None, typer.Option("--dt", help="Sampling step \\[default: 0.002].")
    ] = None,
    noise: NoiseOpt = 0.0,
    threshold: Annotated[
        float, typer.Option("--threshold", help="Smallest kept coefficient magnitude.")
    ] = 0.1,
    derivative: Annotated[
        str, typer.Option("--derivative", help="fd2, fd4, spline or savgol.")
    ] = "fd4",
    library: Annotated[
        str, typer.Option("--library", help="linear, polynomial, cubic or fourier.")
    ] = "polynomial",
    seed: SeedOpt = 0,
    lyap_steps: LyapStepsOpt = 20_000,
    lyap_dt: LyapDtOpt = 0.01,
    out: OutDirOpt = Path("sindy"),
    force: ForceOpt = False,
    no_plot: NoPlotsOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Identify a flow's equations with SINDy; compare coefficients and exponents with the
    true system's."""
    if derivative not in ("fd2", "fd4", "spline", "savgol"):
        raise UserError(f"--derivative must be fd2, fd4, spline or savgol, got {derivative!r}.")
    if library not in ("linear", "polynomial", "cubic", "fourier"):
        raise UserError(f"--library must be linear, polynomial, cubic or fourier, got {library!r}.")
    nonnegative(threshold, "--threshold")
    positive_real(lyap_dt, "--lyap-dt")
    lyap_steps = positive(lyap_steps, "--lyap-steps")
    sysm = true_system(system, param, system_file, data)
    states, dt = flow_data(
        "SINDy", sysm, data, points, dt, noise, seed, default_dt=0.002, default_points=10_000
    )
    out = out_dir(out, force)
    console = make_console(quiet)
    name = source_name(sysm, data)
    names = sysm.variable_names() if sysm is not None else None
    with interrupt_note(console, KEPT):
        t0 = time.time()
        model = cj.learn.fit_sindy(
            states,
            dt=dt,
            library=library,
            threshold=threshold,
            derivative=derivative,
            var_names=names,
        )
        seconds = time.time() - t0
        console.print(f"SINDy on {states.shape[-2]} samples of {name} ({seconds:.2f} s):")
        for line in model.equations():
            console.print(f"  {line}")
        judged = judge_flow(console, model, sysm, states, lyap_steps, lyap_dt)
        features = model.library.feature_names(model.var_names)
        coefficients = np.asarray(model.coefficients, dtype=float)
        metrics = {
            **run_record("sindy", sysm, data, int(states.shape[-2]), dt, noise, seed),
            "threshold": threshold,
            "derivative": derivative,
            "library": library,
            "seconds": seconds,
            "equations": model.equations(precision=6),
            "terms": int(np.count_nonzero(coefficients)),
            "coefficients": {
                var: {f: coefficients[i, j] for i, f in enumerate(features) if coefficients[i, j]}
                for j, var in enumerate(model.var_names)
            },
            **judged,
            "prediction_check": prediction_check(model),
        }
        write(console, out, model, metrics)
        if not no_plot:
            exps = judged["lyapunov_exponents"]
            exponent_figure(
                console, out, exps["learned"], exps["true"], exps["unit"], f"{name}: SINDy"
            )
