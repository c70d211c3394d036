"""`chaosjax simulate`: a trajectory, or ensemble statistics of time averages, to NetCDF/Zarr."""

from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.table import Table

import chaosjax as cj

from .. import io as cjio
from .. import report as rep
from ._errors import UserError
from ._options import (
    DtOpt,
    ForceOpt,
    ParamOpt,
    QuietOpt,
    SeedOpt,
    SolverOpt,
    SystemArg,
    SystemFileOpt,
    dt_for,
    initial_state,
    resolve_steps,
    resolve_system,
)
from ._output import check_out_file, interrupt_note, make_console

EPILOG = """Examples:

  chaosjax simulate lorenz63 --param rho=30 --steps 20000 --dt 0.005 --out run.nc

  chaosjax simulate henon --steps 10000 --transient 1000 --out henon.nc

  chaosjax simulate lorenz63 --ensemble 256 --t-final 100 --transient 20000 --out ens.nc

  chaosjax simulate --system-file my_system.py:MyFlow --t-final 50 --out mine.nc

Read the file back with chaosjax.io.load("run.nc") (an xarray Dataset)."""


def simulate(
    system: SystemArg = None,
    param: ParamOpt = None,
    system_file: SystemFileOpt = None,
    steps: Annotated[
        int | None,
        typer.Option("--steps", "-n", help="Steps after the transient \\[default: 10000]."),
    ] = None,
    t_final: Annotated[
        float | None,
        typer.Option(
            "--t-final", help="Length in time units instead of --steps (steps = t-final / dt)."
        ),
    ] = None,
    dt: DtOpt = None,
    solver: SolverOpt = "rk4",
    transient: Annotated[
        int, typer.Option("--transient", help="Steps run and discarded first.")
    ] = 0,
    save_every: Annotated[int, typer.Option("--save-every", help="Store every k-th state.")] = 1,
    ensemble: Annotated[
        int | None,
        typer.Option(
            "--ensemble",
            "-e",
            metavar="N",
            help="Run N initial states near the attractor (points of one orbit, slightly "
            "perturbed) and store ensemble statistics of the time averages (mean, std, "
            "running averages).",
        ),
    ] = None,
    trajectories: Annotated[
        bool,
        typer.Option("--trajectories", help="With --ensemble, also store every member's states."),
    ] = False,
    x0: Annotated[
        str | None,
        typer.Option("--x0", help="Initial state, e.g. 1,1,1 \\[default: on the attractor]."),
    ] = None,
    seed: SeedOpt = 0,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output .nc (NetCDF) or .zarr.")] = Path(
        "run.nc"
    ),
    quiet: QuietOpt = False,
    force: ForceOpt = False,
) -> None:
    """Simulate a system and write the trajectory (or ensemble statistics) to NetCDF/Zarr.

    The file is written atomically: an interrupted run leaves the previous file (or
    none), never a partial one.
    """
    sysm, _, _ = resolve_system(system, param, system_file)
    dt = dt_for(sysm, dt)
    n_steps = resolve_steps(steps, t_final, dt, 10_000)
    if transient < 0:
        raise UserError(f"--transient must be >= 0, got {transient}.")
    if save_every < 1 or n_steps % save_every:
        raise UserError(
            f"--save-every must be a positive divisor of the steps ({n_steps}), got {save_every}."
        )
    if ensemble is not None and ensemble < 1:
        raise UserError(f"--ensemble must be a positive integer, got {ensemble}.")
    if trajectories and ensemble is None:
        raise UserError("--trajectories only applies with --ensemble N.")
    out = check_out_file(out, force=force)
    console = make_console(quiet)
    progress = not quiet
    name = cjio.system_name(sysm)
    t0 = time.time()
    run = functools.partial(
        cj.trajectory,
        sysm,
        steps=n_steps,
        dt=dt,
        solver=solver,
        transient=transient,
        save_every=save_every,
        progress=progress,
        chunk_size=max(1, n_steps // save_every // 100),
    )
    with interrupt_note(console, f"Nothing was written to {out} (any previous file is unchanged)."):
        if ensemble is None:
            xs = run(initial_state(sysm, x0))
            ds = cjio.trajectory_dataset(
                sysm,
                xs,
                dt=dt,
                solver=solver,
                seed=None,
                transient=transient,
                save_every=save_every,
            )
            what = f"trajectory {tuple(np.shape(xs))}"
        else:
            if x0 is not None:
                raise UserError("--x0 cannot be combined with --ensemble (states are sampled).")
            x0s = rep.ensemble_states(sysm, ensemble, seed, dt=dt, solver=solver)
            every = save_every if save_every > 1 else rep.divisor_near(n_steps, 500)
            if not quiet:
                console.print(
                    f"Simulating {ensemble} members of {name} for {n_steps} steps "
                    f"after {transient} steps of transient ..."
                )
            ca = cj.cumulative_average(
                sysm,
                x0s,
                None,
                steps=n_steps,
                dt=dt,
                solver=solver,
                transient=transient,
                save_every=every,
                progress=progress,
                chunk_size=max(1, n_steps // every // 100),
            )
            avgs = np.asarray(ca.averages)
            ds = cjio.ensemble_dataset(
                sysm,
                initial_states=x0s,
                time_averages=avgs[:, -1, :],
                cumulative_times=ca.times,
                cumulative_averages=avgs,
                states=np.asarray(run(x0s)) if trajectories else None,
                save_every=save_every,
                dt=dt,
                solver=solver,
                seed=seed,
                transient=transient,
                steps=n_steps,
            )
            what = f"ensemble of {ensemble} members"
        cjio.save(ds, out)
    if not quiet:
        console.print(f"Wrote {what} of {name} to [bold]{out}[/bold] in {time.time() - t0:.1f} s.")
        if ensemble is not None:
            table = Table(title=f"time averages over {n_steps} steps, {ensemble} members")
            for col in ("variable", "mean", "std", "sem"):
                table.add_column(col, justify="right")
            names = [str(v) for v in ds["variable"].values]
            for i in range(min(sysm.dim, 10)):
                table.add_row(
                    names[i],
                    f"{float(ds['mean'][i]):.6g}",
                    f"{float(ds['std'][i]):.4g}",
                    f"{float(ds['sem'][i]):.4g}",
                )
            console.print(table)
