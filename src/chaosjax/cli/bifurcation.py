"""`chaosjax bifurcation`: the orbit diagram of a map, or of a flow's section maxima."""

from __future__ import annotations

import time
from typing import Annotated, Any

import numpy as np
import typer

import chaosjax as cj

from .. import _validate as v
from .. import io as cjio
from .. import report as rep
from ..report.bifurcation import orbit_diagram_in_chunks
from ..systems import Flow, is_time_dependent
from ._errors import UserError
from ._options import (
    DtOpt,
    ForceOpt,
    NoPlotOpt,
    OutOpt,
    ParamOpt,
    PlotOpt,
    QuietOpt,
    SolverOpt,
    SystemArg,
    SystemFileOpt,
    WrtOpt,
    chosen_parameter,
    dt_for,
    resolve_system,
)
from ._output import check_out_file, figure_path, interrupt_note, make_console, save_dataset

EPILOG = """Examples:

  chaosjax bifurcation logistic --param r --range 2.5:4:2000

  chaosjax bifurcation henon --param a --range 1:1.4:800 --keep 300

  chaosjax bifurcation lorenz63 --param rho --range 25:250:400 --dt 0.005

For flows the points are the local maxima of one coordinate (--coordinate,
default the last) along the orbit."""


def bifurcation(
    system: SystemArg = None,
    param: ParamOpt = None,
    system_file: SystemFileOpt = None,
    wrt: WrtOpt = None,
    range_: Annotated[
        str | None,
        typer.Option(
            "--range", metavar="START:STOP:NUM", help="Parameter values, e.g. 2.5:4:2000."
        ),
    ] = None,
    transient: Annotated[
        int | None, typer.Option("--transient", help="Steps discarded at each value.")
    ] = None,
    keep: Annotated[int | None, typer.Option("--keep", help="Points kept at each value.")] = None,
    coordinate: Annotated[
        int | None, typer.Option("--coordinate", help="Coordinate plotted (maxima for flows).")
    ] = None,
    dt: DtOpt = None,
    solver: SolverOpt = "rk4",
    out: OutOpt = None,
    plot: PlotOpt = None,
    no_plot: NoPlotOpt = False,
    quiet: QuietOpt = False,
    force: ForceOpt = False,
) -> None:
    """Orbit (bifurcation) diagram of a map, of a flow's section maxima, or of a forced
    flow's stroboscopic map, over a parameter."""
    sysm, _, bare = resolve_system(system, param, system_file, allow_bare=True)
    p = chosen_parameter(sysm, bare, wrt, "bifurcation")
    # A time-dependent flow with a forcing period: its stroboscopic map, one point a period.
    strobe = is_time_dependent(sysm)
    if strobe and not hasattr(sysm, "forcing_period"):
        raise UserError(
            f"{type(sysm).__name__} depends on time but has no `forcing_period`: give its "
            "orbit diagram in Python with cj.orbit_diagram(cj.StroboscopicMap(flow, period), ...)."
        )
    flow = isinstance(sysm, Flow) and not strobe
    dt = dt_for(sysm, dt)
    name = cjio.system_name(sysm)
    if range_ is None:
        lo, hi = rep.MAIN_RANGE.get(name, (None, None))
        if lo is None or p != rep.main_parameter(sysm):
            raise UserError(f"--range START:STOP:NUM is required for {p} of {name}.")
        range_ = f"{lo}:{hi}:{400 if flow else 1000}"
    lo, hi, num = rep.parse_range(range_)
    c = rep.observed_coordinate(sysm) if coordinate is None else coordinate
    if not 0 <= c < sysm.dim:
        raise UserError(f"--coordinate must be an index below {sysm.dim}, got {c}.")
    transient = (20_000 if flow else 1_000) if transient is None else transient
    keep = (100 if flow else 200) if keep is None else keep
    if transient < 0 or keep < 1:
        raise UserError("--transient must be >= 0 and --keep >= 1.")
    v.output_fits(
        num * (keep + sysm.dim + 2) * 8,
        "--range",
        f"an orbit diagram of {num} values x {keep} points",
        "give fewer values (NUM) or a smaller --keep",
    )
    out = check_out_file(out, force=force) if out is not None else None
    plot_path = figure_path(plot, no_plot, f"{name}_orbit_diagram.png", force=force, beside=out)
    console = make_console(quiet)
    values = np.linspace(lo, hi, num)
    kw: dict[str, Any] = dict(transient=transient, keep=keep)
    if flow:
        kw.update(dt=dt, solver=solver, section=cj.LocalMaxima(c))
    target = cj.StroboscopicMap(sysm) if strobe else sysm
    t0 = time.time()
    with interrupt_note(console, "Nothing was written."):
        d = orbit_diagram_in_chunks(target, p, values, progress=not quiet, **kw)
        diverged = int(np.asarray(d.diverged).sum())
        console.print(
            f"Orbit diagram of {name} over {p} in [{lo:g}, {hi:g}] ({num} values) in "
            f"{time.time() - t0:.1f} s; {diverged} run(s) diverged."
        )
        if out is not None:
            ds = cjio.orbit_diagram_dataset(
                sysm, d, dt=None if strobe else dt, solver=solver, transient=transient, keep=keep
            )
            save_dataset(console, ds, out)
        if plot_path is not None:
            # matplotlib loads only when a figure is asked for.
            from ..plot import _report as figs

            cjio.save_figure(
                figs.orbit_diagram(
                    values,
                    np.asarray(d.points)[..., c],
                    param=p,
                    coordinate=sysm.variable_names()[c],
                    title=f"{name}: orbit diagram",
                ),
                plot_path,
            )
            console.print(f"Wrote {plot_path}.")
