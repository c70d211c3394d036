"""The `chaosjax` command line.

```
chaosjax systems                                  # the catalogue
chaosjax simulate lorenz63 -p rho=30 --steps 20000 --dt 0.005 --out run.nc
chaosjax simulate lorenz63 --ensemble 256 --t-final 100 --out ens.nc
chaosjax lyapunov henon --steps 100000
chaosjax sensitivity lorenz63 --param rho --method lss
chaosjax bifurcation logistic --param r --range 2.5:4:2000
chaosjax report lorenz63 --out out          # the end-to-end report
```

User errors (an unknown system, a malformed option, an unwritable output) print a
one-line message and exit with status 2; a run that fails (a diverging orbit) exits
with 1; Ctrl-C exits with 130 and keeps what was already written. Set
`CHAOSJAX_DEBUG=1` to get tracebacks instead.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from . import io as cjio
from . import report as rep

# typer's rich help text: examples are kept verbatim with [b]...[/b]-free blocks.
app = typer.Typer(
    name="chaosjax",
    help=(
        "Chaotic dynamical systems in JAX: simulate, Lyapunov spectra, sensitivities, "
        "orbit diagrams and an end-to-end report.\n\n"
        "Examples:\n\n"
        "  chaosjax systems\n\n"
        "  chaosjax simulate lorenz63 --param rho=30 --steps 20000 --out run.nc\n\n"
        "  chaosjax report lorenz63 --out out\n\n"
        "Every command has --help with examples."
    ),
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode="rich",
    pretty_exceptions_show_locals=False,
)

EXIT_USER = 2
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130


class UserError(Exception):
    """A mistake in what the user asked for: shown as one line, no traceback."""


# --------------------------------------------------------------------------- output


def _console(quiet: bool = False, stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, quiet=quiet, highlight=False, soft_wrap=True)


def _error(message: str) -> None:
    # Plain text on stderr, never wrapped: scripts and tests match on it.
    typer.echo(f"Error: {message}", err=True)


def _guard(fn):
    """Turn user errors, divergences and Ctrl-C into messages and exit codes."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from .simulate import DivergenceError

        if os.environ.get("CHAOSJAX_DEBUG"):
            return fn(*args, **kwargs)
        try:
            return fn(*args, **kwargs)
        except (UserError, rep.ReportError) as e:
            _error(str(e))
            raise typer.Exit(EXIT_USER) from None
        except DivergenceError as e:
            _error(f"{e} Try a smaller --dt or other parameters.")
            raise typer.Exit(EXIT_FAILED) from None
        except ValueError as e:
            # chaosjax validates every argument before compiling: these are user errors.
            _error(f"{e}")
            raise typer.Exit(EXIT_USER) from None
        except KeyboardInterrupt:
            typer.echo("Interrupted.", err=True)
            raise typer.Exit(EXIT_INTERRUPTED) from None

    return wrapper


# --------------------------------------------------------------------------- common options


def _complete_system(incomplete: str) -> list[str]:
    from . import systems

    return [n for n in systems.catalog() if n.startswith(incomplete.lower())]


def _version_callback(value: bool | None) -> None:
    if value:
        from . import __version__

        typer.echo(f"chaosjax {__version__}")
        raise typer.Exit()


SystemArg = Annotated[
    str | None,
    typer.Argument(
        help="Catalogue name (see `chaosjax systems`), e.g. lorenz63, henon.",
        autocompletion=_complete_system,
        show_default=False,
    ),
]
ParamOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--param",
        "-p",
        metavar="NAME=VALUE",
        help="Override a parameter, e.g. --param rho=30 (repeat for more). "
        "Array parameters take JSON: --param A='[[0,1],[-1,0]]'.",
    ),
]
SystemFileOpt = Annotated[
    str | None,
    typer.Option(
        "--system-file",
        metavar="PATH.py:CLASS",
        help="Your own system: a cj.Flow or cj.Map subclass in a Python file.",
    ),
]
ReportSystemArg = Annotated[
    str | None,
    typer.Argument(
        help="Catalogue name (see `chaosjax systems`) \\[default: lorenz63].",
        autocompletion=_complete_system,
        show_default=False,
    ),
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or summaries.")]
DtOpt = Annotated[
    float | None, typer.Option("--dt", help="Time step of a flow \\[default: 0.005].")
]
SolverOpt = Annotated[str, typer.Option("--solver", help="euler, rk4, tsit5, dopri5 or dopri8.")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Random seed of the initial states.")]
WrtOpt = Annotated[
    str | None,
    typer.Option("--wrt", metavar="NAME", help="The parameter (same as a bare --param NAME)."),
]


def _parse_params(
    entries: list[str] | None, *, allow_bare: bool = False
) -> tuple[dict[str, Any], list[str]]:
    """--param entries -> ({name: value}, [bare names])."""
    overrides: dict[str, Any] = {}
    bare: list[str] = []
    for entry in entries or []:
        name, eq, text = entry.partition("=")
        name = name.strip()
        if not eq:
            if allow_bare and name.isidentifier():
                bare.append(name)
                continue
            raise UserError(
                f"--param must have the form name=value (e.g. --param rho=30), got {entry!r}."
            )
        if not name.isidentifier():
            raise UserError(
                f"--param must have the form name=value with a parameter name before '=', "
                f"got {entry!r}."
            )
        try:
            overrides[name] = rep.parse_number(text)
        except (ValueError, json.JSONDecodeError):
            raise UserError(
                f"--param must have the form name=value with a number (or a JSON list) as "
                f"value, e.g. --param rho=30; got {entry!r}."
            ) from None
    return overrides, bare


def _system(
    name: str | None, params: list[str] | None, system_file: str | None, *, allow_bare: bool = False
):
    overrides, bare = _parse_params(params, allow_bare=allow_bare)
    if name and system_file:
        raise UserError("Give either a SYSTEM name or --system-file, not both.")
    system = rep.resolve_system(name, overrides, system_file)
    return system, overrides, bare


def _chosen_parameter(system, bare: list[str], wrt: str | None, what: str) -> str:
    names = list(system.parameters())
    chosen = ([wrt] if wrt else []) + bare
    if len(set(chosen)) > 1:
        raise UserError(f"{what}: name one parameter, got {', '.join(chosen)}.")
    p = chosen[0] if chosen else rep.main_parameter(system)
    if p is None:
        raise UserError(
            f"{what}: {type(system).__name__} has no scalar parameter; name one with --param NAME."
        )
    if p not in names:
        from ._validate import unknown_name

        raise unknown_name(p, names, f"Parameter of {type(system).__name__}:")
    return p


def _dt_for(system, dt: float | None, default: float = 0.005) -> float | None:
    from .systems import Flow

    if isinstance(system, Flow):
        if dt is not None and not dt > 0:
            raise UserError(f"--dt must be positive, got {dt}.")
        return default if dt is None else dt
    if dt is not None:
        raise UserError(
            f"--dt applies to flows only; {system.name or 'this system'} is a map "
            "(one step is one iteration)."
        )
    return None


def _steps(steps: int | None, t_final: float | None, dt: float | None, default: int) -> int:
    if steps is not None and t_final is not None:
        raise UserError("Give --steps or --t-final, not both.")
    if t_final is not None:
        if not t_final > 0:
            raise UserError(f"--t-final must be positive, got {t_final}.")
        n = round(t_final / (dt or 1.0))
        if n < 1:
            raise UserError(f"--t-final {t_final} is shorter than one step (dt = {dt}).")
        return n
    if steps is None:
        return default
    if steps < 1:
        raise UserError(f"--steps must be a positive integer, got {steps}.")
    return steps


def _check_out_file(out: Path, suffixes=(".nc", ".zarr")) -> Path:
    if out.suffix.lower() not in suffixes:
        raise UserError(f"--out must end in {' or '.join(suffixes)}, got {str(out)!r}.")
    if out.suffix.lower() == ".zarr" and not cjio.zarr_available():
        raise UserError(
            f"--out {str(out)!r}: Zarr output needs the optional zarr package "
            "(pip install 'chaosjax[zarr]'); use a .nc file instead."
        )
    parent = out.parent if str(out.parent) else Path(".")
    try:
        cjio.ensure_writable_dir(parent)
    except OSError as e:
        raise UserError(
            f"--out {str(out)!r} cannot be written: {e.strerror or e} ({str(parent)!r})."
        ) from None
    if out.is_dir() and out.suffix.lower() != ".zarr":
        raise UserError(f"--out {str(out)!r} is a directory; give a file name.")
    return out


def _check_out_png(path: Path | None) -> Path | None:
    if path is None:
        return None
    if path.suffix.lower() not in (".png", ".pdf", ".svg"):
        raise UserError(f"--plot must end in .png, .pdf or .svg, got {str(path)!r}.")
    _check_out_file(path, suffixes=(path.suffix.lower(),))
    return path


@contextlib.contextmanager
def _interrupt_note(console, kept: str):
    try:
        yield
    except KeyboardInterrupt:
        console.print(f"[yellow]Interrupted.[/yellow] {kept}")
        raise


def _x0_option(system, text: str | None):
    import jax.numpy as jnp

    if text is None:
        return system.default_state()
    try:
        values = [float(v) for v in text.replace("[", "").replace("]", "").split(",")]
    except ValueError:
        raise UserError(f"--x0 must be comma-separated numbers, got {text!r}.") from None
    if len(values) != system.dim:
        raise UserError(f"--x0 must have {system.dim} numbers for this system, got {len(values)}.")
    return jnp.asarray(values)


# --------------------------------------------------------------------------- commands


@app.callback()
def _main(
    version: Annotated[
        bool | None,
        typer.Option(
            "--version",
            "-V",
            callback=_version_callback,
            is_eager=True,
            help="Show the version and exit.",
        ),
    ] = None,
) -> None:
    """Chaotic dynamical systems in JAX."""


@app.command(epilog="Examples:\n\n  chaosjax systems\n\n  chaosjax systems --json > catalogue.json")
@_guard
def systems(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List the built-in systems: name, kind, dimension, parameters, reference exponents."""
    from rich.table import Table

    from . import systems as cat

    rows = []
    for name in cat.catalog():
        s = cat.get(name)
        ref = getattr(s, "reference_exponents", None)
        rows.append(
            {
                "name": name,
                "kind": s.kind,
                "dim": s.dim,
                "parameters": cjio.system_parameters(s),
                "reference_exponents": list(ref) if ref is not None else None,
                "reference_source": getattr(s, "reference_source", "") or None,
                "description": rep._first_paragraph(type(s).__doc__).split(". ")[0],
            }
        )
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title="chaosjax systems", show_lines=False)
    for col in ("name", "kind", "dim", "parameters", "reference exponents"):
        table.add_column(col, overflow="fold")

    def short(v):
        return f"{v:g}" if isinstance(v, float) else json.dumps(v)

    for r in rows:
        params = ", ".join(f"{k}={short(v)}" for k, v in r["parameters"].items())
        ref = (
            ", ".join(f"{x:g}" for x in r["reference_exponents"])
            if r["reference_exponents"]
            else "-"
        )
        table.add_row(r["name"], r["kind"], str(r["dim"]), params, ref)
    _console().print(table)


_SIM_EPILOG = """Examples:

  chaosjax simulate lorenz63 --param rho=30 --steps 20000 --dt 0.005 --out run.nc

  chaosjax simulate henon --steps 10000 --transient 1000 --out henon.nc

  chaosjax simulate lorenz63 --ensemble 256 --t-final 100 --transient 20000 --out ens.nc

  chaosjax simulate --system-file my_system.py:MyFlow --t-final 50 --out mine.nc

Read the file back with chaosjax.io.load("run.nc") (an xarray Dataset)."""


@app.command(epilog=_SIM_EPILOG)
@_guard
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
) -> None:
    """Simulate a system and write the trajectory (or ensemble statistics) to NetCDF/Zarr.

    The file is written atomically: an interrupted run leaves the previous file (or
    none), never a partial one.
    """
    import numpy as np

    import chaosjax as cj

    sysm, _, _ = _system(system, param, system_file)
    dt = _dt_for(sysm, dt)
    n_steps = _steps(steps, t_final, dt, 10_000)
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
    out = _check_out_file(out)
    console = _console(quiet)
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
    with _interrupt_note(
        console, f"Nothing was written to {out} (any previous file is unchanged)."
    ):
        if ensemble is None:
            xs = run(_x0_option(sysm, x0))
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
            every = save_every if save_every > 1 else rep._divisor_near(n_steps, 500)
            if not quiet:
                console.print(
                    f"Simulating {ensemble} members of {name} for {n_steps} steps "
                    f"after {transient} steps of transient ..."
                )
            ca = cj.observables.cumulative_average(
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
            extra = {}
            if trajectories:
                xs = np.asarray(run(x0s))
                extra["state"] = (
                    ("member", "time", "component"),
                    xs,
                    {"units": "state units", "long_name": "member states"},
                )
            ds = cjio.ensemble_dataset(
                sysm,
                initial_states=x0s,
                time_averages=avgs[:, -1, :],
                cumulative_times=ca.times,
                cumulative_averages=avgs,
                dt=dt,
                solver=solver,
                seed=seed,
                transient=transient,
                steps=n_steps,
                extra_vars=extra,
            )
            if trajectories:
                ds = ds.assign_coords(cjio._time_coord(xs.shape[1], transient, save_every, dt))
            what = f"ensemble of {ensemble} members"
        cjio.save(ds, out)
    if not quiet:
        console.print(f"Wrote {what} of {name} to [bold]{out}[/bold] in {time.time() - t0:.1f} s.")
        if ensemble is not None:
            from rich.table import Table

            table = Table(title=f"time averages over {n_steps} steps, {ensemble} members")
            for col in ("component", "mean", "std", "sem"):
                table.add_column(col, justify="right")
            for i in range(min(sysm.dim, 10)):
                table.add_row(
                    f"x{i}",
                    f"{float(ds['mean'][i]):.6g}",
                    f"{float(ds['std'][i]):.4g}",
                    f"{float(ds['sem'][i]):.4g}",
                )
            console.print(table)


def _need(name: str, what: str):
    import chaosjax as cj

    fn = getattr(cj, name, None)
    if fn is None:
        _error(f"{what} is not available in this build of chaosjax (cj.{name} is missing).")
        raise typer.Exit(EXIT_FAILED)
    return fn


def _save_dataset(console, out: Path, system, data, coords, **attrs: Any) -> None:
    """Write `data` with the provenance attributes (`cjio.attributes`) to `out`; say so."""
    import xarray as xr

    cjio.save(xr.Dataset(data, coords=coords, attrs=cjio.attributes(system, **attrs)), out)
    console.print(f"Wrote {out}.")


def _plot_path(plot: Path | None, no_plot: bool, default: str) -> Path | None:
    if no_plot:
        return None
    return _check_out_png(plot if plot is not None else Path(default))


PlotOpt = Annotated[
    Path | None,
    typer.Option("--plot", help="Figure file (.png/.pdf/.svg) \\[default: SYSTEM_<what>.png]."),
]
NoPlotOpt = Annotated[bool, typer.Option("--no-plot", help="Write no figure.")]
OutOpt = Annotated[
    Path | None, typer.Option("--out", "-o", help="Also save the numbers to .nc or .zarr.")
]


_LYAP_EPILOG = """Examples:

  chaosjax lyapunov lorenz63 --steps 100000 --dt 0.01

  chaosjax lyapunov henon --steps 200000 --out henon_lyap.nc --plot henon_lyap.png"""


@app.command(epilog=_LYAP_EPILOG)
@_guard
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
) -> None:
    """Lyapunov spectrum (QR method), Kaplan-Yorke dimension and a convergence plot."""
    import numpy as np

    import chaosjax as cj

    from .systems import Flow

    fn = _need("lyapunov_spectrum", "The Lyapunov spectrum")
    sysm, _, _ = _system(system, param, system_file)
    flow = isinstance(sysm, Flow)
    dt = _dt_for(sysm, dt)
    n_steps = _steps(steps, t_final, dt, 100_000)
    if transient < 0:
        raise UserError(f"--transient must be >= 0, got {transient}.")
    if k is not None and not 1 <= k <= sysm.dim:
        raise UserError(f"--k must be between 1 and {sysm.dim}, got {k}.")
    out = _check_out_file(out) if out is not None else None
    name = cjio.system_name(sysm)
    plot_path = _plot_path(plot, no_plot, f"{name}_lyapunov.png")
    console = _console(quiet)
    kw: dict[str, Any] = {"dt": dt, "solver": solver} if flow else {}
    t0 = time.time()
    with _interrupt_note(console, "Nothing was written."):
        with console.status(f"Lyapunov spectrum of {name}: {n_steps} steps ..."):
            res = fn(sysm, sysm.default_state(), steps=n_steps, transient=transient, k=k, **kw)
        lam = np.asarray(res.exponents)
        ky = (
            float(np.asarray(cj.kaplan_yorke_dimension(lam)))
            if hasattr(cj, "kaplan_yorke_dimension")
            else None
        )
        ref = getattr(sysm, "reference_exponents", None)
        if ref is not None and (len(ref) != len(lam) or not rep._at_defaults(sysm)):
            ref = None
        from rich.table import Table

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
        console.print(
            f"sum = {lam.sum():+.5f}"
            + (f"   Kaplan-Yorke dimension = {ky:.4f}" if ky is not None else "")
        )
        hist_t = np.asarray(res.history_steps) * (dt or 1.0)
        if out is not None:
            t_unit = "time units of the system" if flow else "iterations"
            l_unit = "1/time" if flow else "1/iteration"
            data = {
                "exponents": (("exponent",), lam, {"units": l_unit}),
                "history": (
                    ("history_time", "exponent"),
                    np.asarray(res.history),
                    {"units": l_unit, "long_name": "running estimates"},
                ),
            }
            if ky is not None:
                data["kaplan_yorke_dimension"] = ((), ky, {})
            _save_dataset(
                console,
                out,
                sysm,
                data,
                {"history_time": ("history_time", hist_t, {"units": t_unit})},
                dt=dt,
                solver=solver,
                steps=n_steps,
                transient=transient,
                content="lyapunov spectrum",
            )
        if plot_path is not None:
            from .plot import _report as figs

            cjio.save_figure(
                figs.lyapunov_convergence(
                    hist_t,
                    res.history,
                    reference=ref,
                    unit="time" if flow else "iterations",
                    title=f"{name}: Lyapunov spectrum",
                ),
                plot_path,
            )
            console.print(f"Wrote {plot_path}.")


def _floats(text: str, what: str) -> list[float]:
    try:
        values = [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise UserError(f"{what} must be comma-separated numbers, got {text!r}.") from None
    if not values or any(not v > 0 for v in values):
        raise UserError(f"{what} must be positive numbers, got {text!r}.")
    return values


_SENS_EPILOG = """Examples:

  chaosjax sensitivity lorenz63 --param rho

  chaosjax sensitivity lorenz63 --param rho --method autodiff --horizons 0.5,1,2,5,10,20,50

  chaosjax sensitivity lorenz63 --param rho --method lss --steps 5000

  chaosjax sensitivity lorenz63 --param rho=25 --wrt rho --method s3

  chaosjax sensitivity henon --param a --observable 0 --out henon_sens.nc

A bare --param NAME (or --wrt NAME) is the parameter to differentiate; --param
NAME=VALUE entries still override parameters."""


@app.command(epilog=_SENS_EPILOG)
@_guard
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
) -> None:
    """Sensitivity d<S>/dp of a time average to a parameter: autodiff blow-up and shadowing."""
    import numpy as np

    import chaosjax as cj

    from .systems import Flow

    sysm, _, bare = _system(system, param, system_file, allow_bare=True)
    p = _chosen_parameter(sysm, bare, wrt, "sensitivity")
    if method not in ("autodiff", "lss", "nilss", "s3", "both"):
        raise UserError(f"--method must be autodiff, lss, nilss, s3 or both, got {method!r}.")
    flow = isinstance(sysm, Flow)
    dt = _dt_for(sysm, dt, 0.005)
    i = rep.observed_coordinate(sysm) if observable is None else observable
    if not 0 <= i < sysm.dim:
        raise UserError(f"--observable must be an index below {sysm.dim}, got {i}.")
    hs = (
        _floats(horizons, "--horizons")
        if horizons
        else ([0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0] if flow else [5.0, 10.0, 20.0, 50.0, 100.0])
    )
    if members < 2:
        raise UserError(f"--members must be at least 2, got {members}.")
    has_lss = hasattr(cj, "shadowing_sensitivity")
    shadow_method = "lss" if method == "both" else method
    if method in ("lss", "nilss", "s3") and not has_lss:
        _error(
            "least-squares shadowing is not available in this build of chaosjax "
            "(cj.shadowing_sensitivity is missing); use --method autodiff."
        )
        raise typer.Exit(EXIT_FAILED)
    out = _check_out_file(out) if out is not None else None
    name = cjio.system_name(sysm)
    plot_path = _plot_path(plot, no_plot, f"{name}_sensitivity.png")
    console = _console(quiet)
    unit = "time units" if flow else "iterations"
    data: dict[str, Any] = {}
    coords: dict[str, Any] = {}
    shadow = None
    tab = None
    kw: dict[str, Any] = {"dt": dt, "solver": solver} if flow else {}
    with _interrupt_note(console, "Nothing was written."):
        if method in ("lss", "nilss", "s3", "both") and has_lss:
            label = {
                "lss": "Least-squares shadowing",
                "nilss": "Non-intrusive least-squares shadowing",
                "s3": "Linear response (S3)",
            }[shadow_method]
            default_steps = (80_000 if flow else 16_000) * (
                12.5 if shadow_method == "s3" and flow else 10 if shadow_method == "s3" else 1
            )
            with console.status(f"{label.lower()} of {name} ..."):
                res = cj.shadowing_sensitivity(
                    sysm,
                    p,
                    lambda x: x[i],
                    sysm.default_state(),
                    steps=steps or int(default_steps),
                    transient=transient if transient is not None else (2000 if flow else 1000),
                    segments=segments,
                    method=shadow_method,
                    **kw,
                )
            shadow = float(np.asarray(res.derivative))
            err = float(np.asarray(res.standard_error))
            data["shadowing_derivative"] = ((), shadow, {"long_name": "d<S>/dp by shadowing"})
            data["shadowing_error"] = ((), err, {"long_name": "standard error over windows"})
            data["shadowing_estimates"] = (
                ("window",),
                np.asarray(res.estimates),
                {"long_name": "one estimate per window"},
            )
            if res.parts is not None:
                data["s3_parts"] = (
                    ("part",),
                    np.asarray(res.parts),
                    {"long_name": "shadowing-like, flow-direction and unstable contributions"},
                )
            console.print(
                f"{label}: d<x{i}>/d{p} = [bold]{shadow:.6g}[/bold] "
                f"+- {err:.2g} (standard error over {len(res.estimates)} windows of "
                f"{res.time_per_window:g} {unit})"
            )
        elif method == "both" and not quiet:
            console.print(
                "[yellow]Least-squares shadowing is not in this build; showing the "
                "autodiff table only.[/yellow]"
            )
        if method in ("autodiff", "both"):
            if not hasattr(cj, "sensitivity_blowup_table"):
                _error("the blow-up table is not available in this build of chaosjax.")
                raise typer.Exit(EXIT_FAILED)
            import jax

            tab = cj.sensitivity_blowup_table(
                sysm,
                p,
                lambda x: x[i],
                horizons=hs,
                n_initial=members,
                key=jax.random.key(seed),
                **kw,
            )
            from rich.table import Table

            table = Table(
                title=f"finite-time gradients d<x{i}>_T/d{p} ({members} initial conditions)"
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
            coords["horizon"] = ("horizon", np.asarray(tab.horizons), {"units": unit})
            data["gradient"] = (
                ("horizon", "member"),
                np.asarray(tab.gradients),
                {"long_name": "finite-time gradient per initial condition"},
            )
            data["average"] = (
                ("horizon", "member"),
                np.asarray(tab.averages),
                {"units": "state units", "long_name": "finite-time average"},
            )
            for stat in ("mean", "std", "median"):
                data[stat] = (
                    ("horizon",),
                    np.asarray(getattr(tab, stat)),
                    {"long_name": f"{stat} of the gradients over initial conditions"},
                )
        if out is not None:
            _save_dataset(
                console,
                out,
                sysm,
                data,
                coords,
                dt=dt,
                solver=solver,
                seed=seed,
                parameter=p,
                observable=f"x[{i}]",
                method=method,
                content="sensitivity",
            )
        if plot_path is not None and tab is not None:
            from .plot import _report as figs

            cjio.save_figure(
                figs.gradient_blowup(
                    tab.horizons,
                    tab.gradients,
                    shadowing=shadow,
                    label=f"d<x{i}>_T / d{p}",
                    unit=unit,
                    title=f"{name}: finite-time gradients",
                ),
                plot_path,
            )
            console.print(f"Wrote {plot_path}.")


_BIF_EPILOG = """Examples:

  chaosjax bifurcation logistic --param r --range 2.5:4:2000

  chaosjax bifurcation henon --param a --range 1:1.4:800 --keep 300

  chaosjax bifurcation lorenz63 --param rho --range 25:250:400 --dt 0.005

For flows the points are the local maxima of one coordinate (--coordinate,
default the last) along the orbit."""


@app.command(epilog=_BIF_EPILOG)
@_guard
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
) -> None:
    """Orbit (bifurcation) diagram of a map, or of a flow's section maxima, over a parameter."""
    import jax.numpy as jnp
    import numpy as np

    import chaosjax as cj

    from .systems import Flow

    fn = _need("orbit_diagram", "The orbit diagram")
    sysm, _, bare = _system(system, param, system_file, allow_bare=True)
    p = _chosen_parameter(sysm, bare, wrt, "bifurcation")
    flow = isinstance(sysm, Flow)
    dt = _dt_for(sysm, dt, 0.005)
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
    out = _check_out_file(out) if out is not None else None
    plot_path = _plot_path(plot, no_plot, f"{name}_orbit_diagram.png")
    console = _console(quiet)
    values = np.linspace(lo, hi, num)
    kw: dict[str, Any] = dict(transient=transient, keep=keep)
    if flow:
        kw.update(dt=dt, solver=solver, section=cj.LocalMaxima(c))
    t0 = time.time()
    with _interrupt_note(console, "Nothing was written."):
        with console.status(f"orbit diagram of {name}: {num} values of {p} ..."):
            d = fn(sysm, p, jnp.asarray(values), **kw)
        pts = np.asarray(d.points)
        diverged = int(np.asarray(d.diverged).sum())
        console.print(
            f"Orbit diagram of {name} over {p} in [{lo:g}, {hi:g}] ({num} values) in "
            f"{time.time() - t0:.1f} s; {diverged} run(s) diverged."
        )
        if out is not None:
            _save_dataset(
                console,
                out,
                sysm,
                {
                    "points": (
                        ("value", "point", "component"),
                        pts,
                        {
                            "units": "state units",
                            "long_name": "section maxima" if flow else "iterates",
                        },
                    ),
                    "counts": (("value",), np.asarray(d.counts), {"long_name": "points found"}),
                    "diverged": (("value",), np.asarray(d.diverged).astype("int8"), {}),
                },
                {"value": ("value", values, {"long_name": f"parameter {p}"})},
                dt=dt,
                solver=solver,
                parameter=p,
                transient=transient,
                keep=keep,
                content="orbit diagram",
            )
        if plot_path is not None:
            from .plot import _report as figs

            cjio.save_figure(
                figs.orbit_diagram(
                    values, pts[..., c], param=p, coordinate=f"x{c}", title=f"{name}: orbit diagram"
                ),
                plot_path,
            )
            console.print(f"Wrote {plot_path}.")


_REPORT_EPILOG = """Examples:

  chaosjax report                         # lorenz63 into ./out

  chaosjax report henon --out henon_report

  chaosjax report lorenz63 --param rho=30 --members 128 --out rho30

  chaosjax report --config run.toml       # every option from a TOML file

  chaosjax report lorenz63 --quick        # ten times shorter runs

The directory gets index.html, PNG figures, results.json, results.nc and
config.toml (the resolved configuration: rerun with --config out/config.toml)."""


@app.command(epilog=_REPORT_EPILOG)
@_guard
def report(
    system: ReportSystemArg = None,
    param: ParamOpt = None,
    system_file: SystemFileOpt = None,
    out: Annotated[
        str | None, typer.Option("--out", "-o", help="Output directory \\[default: out].")
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", "-c", help="TOML file with any of these options (command-line wins)."
        ),
    ] = None,
    dt: Annotated[
        float | None, typer.Option("--dt", help="Time step of a flow \\[default: 0.005].")
    ] = None,
    solver: Annotated[
        str | None, typer.Option("--solver", help="Solver of a flow \\[default: rk4].")
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Random seed \\[default: 0].")] = None,
    transient: Annotated[int | None, typer.Option("--transient", help="Transient steps.")] = None,
    trajectory_steps: Annotated[
        int | None, typer.Option("--trajectory-steps", help="Steps of the attractor orbit.")
    ] = None,
    members: Annotated[
        int | None, typer.Option("--members", help="Ensemble size of the averages.")
    ] = None,
    average_steps: Annotated[
        int | None, typer.Option("--average-steps", help="Steps of each member's time average.")
    ] = None,
    lyapunov_steps: Annotated[
        int | None, typer.Option("--lyapunov-steps", help="Steps of the Lyapunov spectrum.")
    ] = None,
    sensitivity_parameter: Annotated[
        str | None,
        typer.Option(
            "--sensitivity-parameter",
            help="Parameter to differentiate by \\[default: the main one, e.g. rho].",
        ),
    ] = None,
    bifurcation_parameter: Annotated[
        str | None,
        typer.Option(
            "--bifurcation-parameter",
            help="Parameter of the orbit diagram \\[default: the main one].",
        ),
    ] = None,
    bifurcation_range: Annotated[
        str | None,
        typer.Option(
            "--bifurcation-range",
            help="Values of the orbit diagram, e.g. 25:250:400.",
            metavar="START:STOP:NUM",
        ),
    ] = None,
    sections: Annotated[
        str | None,
        typer.Option("--sections", help=f"Comma-separated subset of: {', '.join(rep.SECTIONS)}."),
    ] = None,
    quick: Annotated[
        bool | None,
        typer.Option("--quick/--full", help="Ten times shorter runs.", show_default=False),
    ] = None,
    quiet: QuietOpt = False,
) -> None:
    """The end-to-end report: index.html with figures, results.json, results.nc."""
    overrides, _ = _parse_params(param)
    file_values = rep.read_config(config) if config is not None else {}
    cli_values = {
        "system": system,
        "system_file": system_file,
        "out": out,
        "dt": dt,
        "solver": solver,
        "seed": seed,
        "transient": transient,
        "trajectory_steps": trajectory_steps,
        "members": members,
        "average_steps": average_steps,
        "lyapunov_steps": lyapunov_steps,
        "sensitivity_parameter": sensitivity_parameter,
        "bifurcation_parameter": bifurcation_parameter,
        "bifurcation_range": bifurcation_range,
        "sections": sections,
        "quick": quick,
        "parameters": overrides or None,
    }
    if system and file_values.get("system_file") and not system_file:
        file_values.pop("system_file")
    if system_file and file_values.get("system") and not system:
        file_values.pop("system")
    if system and system_file:
        raise UserError("Give either a SYSTEM name or --system-file, not both.")
    cfg = rep.merge_config(file_values, cli_values)
    console = _console(quiet)
    say = (lambda msg: console.print(msg)) if not quiet else (lambda msg: None)
    try:
        summary = rep.run_report(cfg, progress=not quiet, say=say)
    except KeyboardInterrupt:
        console.print(
            f"[yellow]Interrupted.[/yellow] The sections that finished are in "
            f"{Path(cfg.out) / 'index.html'} (marked partial)."
        )
        raise
    if not quiet:
        console.print(f"Report written to [bold]{summary.index}[/bold] in {summary.seconds:.1f} s.")
    if summary.failed:
        _error(f"section(s) failed: {', '.join(summary.failed)} (see {summary.index}).")
        raise typer.Exit(EXIT_FAILED)


def main() -> None:
    """Entry point of the `chaosjax` script and `python -m chaosjax`."""
    app(prog_name="chaosjax")


if __name__ == "__main__":  # pragma: no cover
    main()
