"""`chaosjax sensitivity`: d<S>/dp by the autodiff blow-up table and by shadowing."""

from __future__ import annotations

from typing import Annotated, Any

import jax
import numpy as np
import typer
from rich.table import Table

import chaosjax as cj

from .. import io as cjio
from .. import report as rep
from .._progress import activity
from ..systems import Flow
from ._errors import UserError
from ._options import (
    DtOpt,
    ForceOpt,
    NoPlotOpt,
    OutOpt,
    ParamOpt,
    PlotOpt,
    QuietOpt,
    SeedOpt,
    SolverOpt,
    SystemArg,
    SystemFileOpt,
    WrtOpt,
    chosen_parameter,
    dt_for,
    positive_floats,
    resolve_steps,
    resolve_system,
)
from ._output import check_out_file, figure_path, interrupt_note, make_console, save_dataset

EPILOG = """Examples:

  chaosjax sensitivity lorenz63 --param rho

  chaosjax sensitivity lorenz63 --param rho --method autodiff --horizons 0.5,1,2,5,10,20,50

  chaosjax sensitivity lorenz63 --param rho --method lss --steps 5000

  chaosjax sensitivity lorenz63 --param rho=25 --wrt rho --method s3

  chaosjax sensitivity henon --param a --observable 0 --out henon_sens.nc

A bare --param NAME (or --wrt NAME) is the parameter to differentiate; --param
NAME=VALUE entries still override parameters."""


def sensitivity(
    system: SystemArg = None,
    param: ParamOpt = None,
    system_file: SystemFileOpt = None,
    wrt: WrtOpt = None,
    method: Annotated[
        str,
        typer.Option(
            "--method",
            help="autodiff: the gradient blow-up table over horizons; lss: least-squares "
            "shadowing; nilss: non-intrusive LSS; s3: the whole linear response (space-split "
            "sensitivity, one unstable direction); both: autodiff and lss.",
        ),
    ] = "both",
    observable: Annotated[
        int | None,
        typer.Option(
            "--observable",
            help="Index i of the observable x\\[i] \\[default: last for flows, 0 for maps].",
        ),
    ] = None,
    horizons: Annotated[
        str | None,
        typer.Option(
            "--horizons", help="Comma-separated horizons T (time units, iterations for maps)."
        ),
    ] = None,
    members: Annotated[
        int, typer.Option("--members", help="Initial conditions of the blow-up table.")
    ] = 32,
    steps: Annotated[
        int | None,
        typer.Option(
            "--steps",
            "-n",
            help="Steps of the shadowing run \\[default: 80000 for flows, 16000 for maps; "
            "s3: 1000000 for flows, 160000 for maps].",
        ),
    ] = None,
    t_final: Annotated[
        float | None,
        typer.Option(
            "--t-final", help="Length of the shadowing run in time units instead of --steps."
        ),
    ] = None,
    segments: Annotated[
        int, typer.Option("--segments", help="Shadowing windows (for the standard error).")
    ] = 8,
    dt: DtOpt = None,
    solver: SolverOpt = "rk4",
    transient: Annotated[
        int | None, typer.Option("--transient", help="Steps discarded before shadowing.")
    ] = None,
    seed: SeedOpt = 0,
    out: OutOpt = None,
    plot: PlotOpt = None,
    no_plot: NoPlotOpt = False,
    quiet: QuietOpt = False,
    force: ForceOpt = False,
) -> None:
    """Sensitivity d<S>/dp of a time average to a parameter: autodiff blow-up and shadowing."""
    sysm, _, bare = resolve_system(system, param, system_file, allow_bare=True)
    p = chosen_parameter(sysm, bare, wrt, "sensitivity")
    if method not in ("autodiff", "lss", "nilss", "s3", "both"):
        raise UserError(f"--method must be autodiff, lss, nilss, s3 or both, got {method!r}.")
    flow = isinstance(sysm, Flow)
    dt = dt_for(sysm, dt)
    i = rep.observed_coordinate(sysm) if observable is None else observable
    if not 0 <= i < sysm.dim:
        raise UserError(f"--observable must be an index below {sysm.dim}, got {i}.")
    var = sysm.variable_names()[i]
    hs = (
        positive_floats(horizons, "--horizons")
        if horizons
        else ([0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0] if flow else [5.0, 10.0, 20.0, 50.0, 100.0])
    )
    if members < 2:
        raise UserError(f"--members must be at least 2, got {members}.")
    shadow_method = "lss" if method == "both" else method
    out = check_out_file(out, force=force) if out is not None else None
    name = cjio.system_name(sysm)
    plot_path = figure_path(plot, no_plot, f"{name}_sensitivity.png", force=force, beside=out)
    console = make_console(quiet)
    unit = "time units" if flow else "iterations"
    res = None
    shadow = None
    tab = None
    kw: dict[str, Any] = {"dt": dt, "solver": solver} if flow else {}
    with interrupt_note(console, "Nothing was written."):
        if method in ("lss", "nilss", "s3", "both"):
            label = {
                "lss": "Least-squares shadowing",
                "nilss": "Non-intrusive least-squares shadowing",
                "s3": "Linear response (S3)",
            }[shadow_method]
            default_steps = (80_000 if flow else 16_000) * (
                12.5 if shadow_method == "s3" and flow else 10 if shadow_method == "s3" else 1
            )
            with activity(not quiet, f"{label.lower()} of {name} (one compiled run)"):
                res = cj.shadowing_sensitivity(
                    sysm,
                    p,
                    lambda x: x[i],
                    sysm.default_state(),
                    steps=resolve_steps(steps, t_final, dt, int(default_steps)),
                    transient=transient if transient is not None else (2000 if flow else 1000),
                    segments=segments,
                    method=shadow_method,
                    **kw,
                )
            shadow = float(np.asarray(res.derivative))
            err = float(np.asarray(res.standard_error))
            console.print(
                f"{label}: d<{var}>/d{p} = [bold]{shadow:.6g}[/bold] "
                f"+- {err:.2g} (standard error over {len(res.estimates)} windows of "
                f"{res.time_per_window:g} {unit})"
            )
        if method in ("autodiff", "both"):
            with activity(not quiet, f"finite-time gradients of {name} (one compiled run)"):
                tab = cj.sensitivity_blowup_table(
                    sysm,
                    p,
                    lambda x: x[i],
                    horizons=hs,
                    n_initial=members,
                    key=jax.random.key(seed),
                    **kw,
                )
            table = Table(
                title=f"finite-time gradients d<{var}>_T/d{p} ({members} initial conditions)"
            )
            for col in (f"T ({unit})", "mean", "std", "median"):
                table.add_column(col, justify="right")
            for h in range(len(hs)):
                table.add_row(
                    f"{float(tab.horizons[h]):g}",
                    f"{float(tab.mean[h]):+.4e}",
                    f"{float(tab.std[h]):.4e}",
                    f"{float(tab.median[h]):+.4e}",
                )
            console.print(table)
        if out is not None:
            ds = cjio.sensitivity_dataset(
                sysm,
                parameter=p,
                observable=var,
                shadowing=res,
                blowup=tab,
                dt=dt,
                solver=solver,
                seed=seed,
                method=method,
            )
            save_dataset(console, ds, out)
        if plot_path is not None and tab is not None:
            # matplotlib loads only when a figure is asked for.
            from ..plot import _report as figs

            cjio.save_figure(
                figs.gradient_blowup(
                    tab.horizons,
                    tab.gradients,
                    shadowing=shadow,
                    label=f"d<{var}>_T / d{p}",
                    unit=unit,
                    title=f"{name}: finite-time gradients",
                ),
                plot_path,
            )
            console.print(f"Wrote {plot_path}.")
