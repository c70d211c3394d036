"""`chaosjax lyapunov`: the Lyapunov spectrum, its Kaplan-Yorke dimension and convergence."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.table import Table

import chaosjax as cj

from .. import io as cjio
from ..systems import Flow
from ._errors import UserError
from ._options import (
    DtOpt,
    ForceOpt,
    NoPlotOpt,
    ParamOpt,
    PlotOpt,
    QuietOpt,
    SolverOpt,
    SystemArg,
    SystemFileOpt,
    dt_for,
    resolve_steps,
    resolve_system,
)
from ._output import check_out_file, figure_path, interrupt_note, make_console, save_dataset

EPILOG = """Examples:

  chaosjax lyapunov lorenz63 --steps 100000 --dt 0.01

  chaosjax lyapunov henon --steps 200000 --out henon_lyap.nc --plot henon_lyap.png"""


def lyapunov(
    system: SystemArg = None,
    param: ParamOpt = None,
    system_file: SystemFileOpt = None,
    steps: Annotated[
        int | None, typer.Option("--steps", "-n", help="Steps \\[default: 100000].")
    ] = None,
    t_final: Annotated[
        float | None, typer.Option("--t-final", help="Length in time units.")
    ] = None,
    dt: DtOpt = None,
    solver: SolverOpt = "rk4",
    transient: Annotated[int, typer.Option("--transient", help="Steps discarded first.")] = 1000,
    k: Annotated[
        int | None, typer.Option("--k", help="Number of exponents \\[default: all].")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Save spectrum and history to .nc/.zarr.")
    ] = None,
    plot: PlotOpt = None,
    no_plot: NoPlotOpt = False,
    quiet: QuietOpt = False,
    force: ForceOpt = False,
) -> None:
    """Lyapunov spectrum (QR method), Kaplan-Yorke dimension and a convergence plot."""
    sysm, _, _ = resolve_system(system, param, system_file)
    flow = isinstance(sysm, Flow)
    dt = dt_for(sysm, dt)
    n_steps = resolve_steps(steps, t_final, dt, 100_000)
    if transient < 0:
        raise UserError(f"--transient must be >= 0, got {transient}.")
    if k is not None and not 1 <= k <= sysm.dim:
        raise UserError(f"--k must be between 1 and {sysm.dim}, got {k}.")
    out = check_out_file(out, force=force) if out is not None else None
    name = cjio.system_name(sysm)
    plot_path = figure_path(plot, no_plot, f"{name}_lyapunov.png", force=force, beside=out)
    console = make_console(quiet)
    kw: dict[str, Any] = {"dt": dt, "solver": solver} if flow else {}
    t0 = time.time()
    with interrupt_note(console, "Nothing was written."):
        what = f"Lyapunov spectrum of {name}: {n_steps} steps ..."
        if not console.is_terminal:
            console.print(what)  # logs get the line the spinner shows on a terminal
        with console.status(what):
            res = cj.lyapunov_spectrum(
                sysm, sysm.default_state(), steps=n_steps, transient=transient, k=k, **kw
            )
        lam = np.asarray(res.exponents)
        ky = float(np.asarray(cj.kaplan_yorke_dimension(lam)))
        ref = sysm.reference_exponents
        if ref is not None and (len(ref) != len(lam) or not sysm.at_defaults()):
            ref = None
        unit = "per unit time" if flow else "per iteration"
        table = Table(title=f"Lyapunov exponents of {name} ({unit}), {time.time() - t0:.1f} s")
        table.add_column("exponent")
        table.add_column("computed", justify="right")
        if ref is not None:
            table.add_column("literature", justify="right")
        for j, x in enumerate(lam):
            row = [f"lambda{j + 1}", f"{x:+.5f}"] + ([f"{ref[j]:+.4f}"] if ref is not None else [])
            table.add_row(*row)
        console.print(table)
        console.print(f"sum = {lam.sum():+.5f}   Kaplan-Yorke dimension = {ky:.4f}")
        if out is not None:
            ds = cjio.lyapunov_dataset(
                sysm, res, dt=dt, solver=solver, steps=n_steps, transient=transient
            )
            save_dataset(console, ds, out)
        if plot_path is not None:
            # matplotlib loads only when a figure is asked for.
            from ..plot import _report as figs

            cjio.save_figure(
                figs.lyapunov_convergence(
                    np.asarray(res.history_steps) * (dt or 1.0),
                    res.history,
                    reference=ref,
                    unit="time" if flow else "iterations",
                    title=f"{name}: Lyapunov spectrum",
                ),
                plot_path,
            )
            console.print(f"Wrote {plot_path}.")
