"""`chaosjax evaluate`: judge a saved model (or any system) against a true system."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import jax
import typer

import chaosjax as cj

from .. import io as cjio
from ..systems import Flow, Map
from ._errors import UserError
from ._options import ParamOpt, QuietOpt, SeedOpt, SystemFileOpt, resolve_system
from ._output import check_out_dir, make_console

EPILOG = """Examples:

  chaosjax learn esn lorenz63 --dt 0.02 --out esn && chaosjax evaluate esn --truth lorenz63

  chaosjax evaluate lorenz_node/model.eqx --truth lorenz63 --dt 0.01 --starts 20 --out verdict

  chaosjax evaluate dh_net --truth delayed_henon --param d=5 --run-steps 50000

MODEL is a file written by `chaosjax learn ... --out DIR` (or by cj.learn.save), or that
DIR. Prints the verdict table; with --out writes DIR/verdict.nc (every figure of the
verdict, see cj.learn.evaluate) and DIR/forecast.png, DIR/distributions.png,
DIR/spectra.png."""

MODEL_FILE = "model.eqx"


def _load_model(path: Path) -> Flow | Map:
    if path.is_dir():
        path = path / MODEL_FILE
    if not path.exists():
        raise UserError(f"MODEL {str(path)!r}: no such file (write one with `chaosjax learn`).")
    try:
        model = cj.learn.load(path)
    except (OSError, ValueError) as e:
        raise UserError(f"MODEL {str(path)!r} cannot be read: {e}") from None
    if not isinstance(model, (Flow, Map)):
        raise UserError(f"MODEL {str(path)!r} holds a {type(model).__name__}, not a system.")
    return model


def evaluate(
    model: Annotated[
        Path, typer.Argument(help="A saved model file, or the --out DIR of `chaosjax learn`.")
    ],
    truth: Annotated[
        str | None,
        typer.Option("--truth", "-t", help="The true system's catalogue name, e.g. lorenz63."),
    ] = None,
    param: ParamOpt = None,
    system_file: SystemFileOpt = None,
    dt: Annotated[
        float | None,
        typer.Option("--dt", help="Time step of flows (default: the model's own time step)."),
    ] = None,
    starts: Annotated[int, typer.Option("--starts", help="Test starts.")] = 10,
    runs: Annotated[int, typer.Option("--runs", help="Long true runs (and model runs).")] = 5,
    run_steps: Annotated[int, typer.Option("--run-steps", help="Steps of each long run.")] = 20_000,
    horizon: Annotated[
        float, typer.Option("--horizon", help="Forecast length in Lyapunov times.")
    ] = 20.0,
    threshold: Annotated[
        float, typer.Option("--threshold", help="Normalised RMS error ending a valid forecast.")
    ] = 0.4,
    spectrum_steps: Annotated[
        int, typer.Option("--spectrum-steps", help="Steps of each Lyapunov spectrum.")
    ] = 20_000,
    seed: SeedOpt = 0,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Directory for verdict.nc and figures.")
    ] = None,
    quiet: QuietOpt = False,
    force: Annotated[
        bool,
        typer.Option("--force", help="Replace read-only files in --out (they stay read-only)."),
    ] = False,
) -> None:
    """Judge a learned model as a dynamical system: valid prediction time, invariant
    distribution (Wasserstein, beside true-vs-true) and Lyapunov spectrum."""
    console = make_console(quiet)
    if truth is None and system_file is None:
        raise UserError("Give the true system with --truth NAME (or --system-file).")
    true_system, _, _ = resolve_system(truth, param, system_file)
    learned = _load_model(model)
    if out is not None:
        check_out_dir(out, force=force)
    try:
        verdict = cj.learn.evaluate(
            learned,
            true_system,
            dt=dt,
            starts=starts,
            runs=runs,
            run_steps=run_steps,
            horizon=horizon,
            threshold=threshold,
            spectrum_steps=spectrum_steps,
            key=jax.random.key(seed),
        )
    except ValueError as e:
        raise UserError(str(e)) from None
    console.print(verdict.table(), highlight=False, markup=False)
    if out is None:
        return
    cjio.save(verdict.dataset, out / "verdict.nc")
    from .. import plot as cjp

    for name, fig in cjp.verdict_figures(verdict).items():
        cjio.save_figure(fig, out / f"{name}.png")
    console.print(f"Wrote {out / 'verdict.nc'} and the figures in {out}.")
