"""`chaosjax learn neural-ode`: a neural vector field fitted through the solver, judged by
its Lyapunov exponents and Kaplan-Yorke dimension beside the true system's."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import jax
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
    loss_figure,
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

  chaosjax learn neural-ode lorenz63 --points 2000 --dt 0.01 --steps 2000 --out lorenz_node

  chaosjax learn neural-ode linear_flow --hidden 32 --depth 2 --segment-steps 10 --out lin

  chaosjax learn neural-ode --data run.nc --adjoint backsolve --out node

Writes DIR/model.eqx (read it back with cj.learn.load), DIR/metrics.json, DIR/loss.png
and DIR/exponents.png."""


def neural_ode(
    system: SystemArg = None,
    param: ParamOpt = None,
    system_file: SystemFileOpt = None,
    data: DataOpt = None,
    points: PointsOpt = None,
    dt: Annotated[
        float | None, typer.Option("--dt", help="Sampling step \\[default: 0.01].")
    ] = None,
    noise: NoiseOpt = 0.0,
    hidden: Annotated[int, typer.Option("--hidden", help="Width of each hidden layer.")] = 64,
    depth: Annotated[int, typer.Option("--depth", help="Hidden layers.")] = 2,
    segment_steps: Annotated[
        int,
        typer.Option("--segment-steps", help="Samples per shooting segment (multiple shooting)."),
    ] = 20,
    steps: Annotated[int, typer.Option("--steps", help="Adam steps.")] = 2_000,
    adjoint: Annotated[
        str,
        typer.Option("--adjoint", help="recursive_checkpoint, backsolve or direct."),
    ] = "recursive_checkpoint",
    solver: Annotated[str, typer.Option("--solver", help="tsit5 or rk4.")] = "tsit5",
    seed: SeedOpt = 0,
    lyap_steps: LyapStepsOpt = 20_000,
    lyap_dt: LyapDtOpt = 0.01,
    out: OutDirOpt = Path("neural_ode"),
    force: ForceOpt = False,
    no_plot: NoPlotsOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Fit a neural ODE through the solver (multiple shooting); compare its Lyapunov
    exponents and Kaplan-Yorke dimension with the true system's."""
    if adjoint not in ("recursive_checkpoint", "backsolve", "direct"):
        raise UserError(
            f"--adjoint must be recursive_checkpoint, backsolve or direct, got {adjoint!r}."
        )
    if solver not in ("tsit5", "rk4"):
        raise UserError(f"--solver must be tsit5 or rk4, got {solver!r}.")
    positive_real(lyap_dt, "--lyap-dt")
    hidden = positive(hidden, "--hidden")
    depth = positive(depth, "--depth")
    segment_steps = positive(segment_steps, "--segment-steps")
    steps = positive(steps, "--steps")
    lyap_steps = positive(lyap_steps, "--lyap-steps")
    sysm = true_system(system, param, system_file, data)
    states, dt = flow_data(
        "A neural ODE", sysm, data, points, dt, noise, seed, default_dt=0.01, default_points=2_000
    )
    if states.shape[-2] <= segment_steps:
        raise UserError(
            f"--segment-steps ({segment_steps}) must be below the number of samples "
            f"({states.shape[-2]})."
        )
    out = out_dir(out, force)
    console = make_console(quiet)
    name = source_name(sysm, data)
    with interrupt_note(console, KEPT):
        t0 = time.time()
        res = cj.learn.fit_neural_ode(
            states,
            dt=dt,
            key=jax.random.key(seed),
            hidden=hidden,
            depth=depth,
            segment_steps=segment_steps,
            solver=solver,
            adjoint=adjoint,
            steps=steps,
            progress=not quiet,
        )
        seconds = time.time() - t0
        model = res.model
        best = res.fit.best_restart
        final_loss = float(np.asarray(res.history.train)[best, -1])
        console.print(
            f"Neural ODE ({depth} x {hidden}, {solver}, {adjoint}) on {states.shape[-2]} "
            f"samples of {name}: shooting loss {final_loss:.3e} ({seconds:.1f} s)."
        )
        judged = judge_flow(console, model, sysm, states, lyap_steps, lyap_dt)
        exps = judged["lyapunov_exponents"]
        metrics = {
            **run_record("neural_ode", sysm, data, int(states.shape[-2]), dt, noise, seed),
            "hidden": hidden,
            "depth": depth,
            "segment_steps": segment_steps,
            "steps": steps,
            "solver": solver,
            "adjoint": adjoint,
            "seconds": seconds,
            "final_shooting_loss": final_loss,
            **judged,
            "kaplan_yorke_dimension": {
                "learned": _kaplan_yorke(exps["learned"]),
                "true": _kaplan_yorke(exps["true"]),
            },
            "prediction_check": prediction_check(model),
        }
        write(console, out, model, metrics)
        if not no_plot:
            loss_figure(
                console, out, res.history.steps, res.history.train, best,
                f"{name}: neural ODE training (shooting loss)",
            )  # fmt: skip
            exponent_figure(
                console, out, exps["learned"], exps["true"], exps["unit"], f"{name}: neural ODE"
            )


def _kaplan_yorke(exponents: list[float] | None) -> float | None:
    return None if exponents is None else float(cj.kaplan_yorke_dimension(np.asarray(exponents)))
