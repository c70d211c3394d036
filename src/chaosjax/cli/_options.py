"""The options several commands share, and how their values become validated arguments.

Each `...Opt` / `...Arg` is a `typing.Annotated` type that typer reads as an option or
argument; the functions below turn the raw values (strings, numbers) into what the
library takes, raising `UserError` with a message that names the option.
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Annotated, Any

import jax.numpy as jnp
import typer

from .. import report as rep
from .. import systems as catalogue
from .._validate import unknown_name
from ..systems import Flow, Map
from ._errors import UserError


def _complete_system(incomplete: str) -> list[str]:
    return [n for n in catalogue.catalog() if n.startswith(incomplete.lower())]


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
    float | None,
    typer.Option(
        "--dt",
        help="Time step of a flow \\[default: the system's own step, its default_dt "
        "(0.01 for lorenz63, 0.02 rossler, 0.05 thomas); 0.005 where it has none].",
    ),
]


def _solver_name(value: str | None) -> str | None:
    """--solver: a known name, also where the system is a map (which ignores it)."""
    if value is None:
        return value
    from ..solvers import all_solvers  # here, not at import: `chaosjax --help` stays fast

    names = all_solvers()
    if value not in names:
        close = difflib.get_close_matches(value, names, n=2)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise typer.BadParameter(f"unknown solver {value!r}; one of {', '.join(names)}.{hint}")
    return value


SolverOpt = Annotated[
    str,
    typer.Option("--solver", help="euler, rk4, tsit5, dopri5 or dopri8.", callback=_solver_name),
]
SeedOpt = Annotated[int, typer.Option("--seed", help="Random seed of the initial states.")]
WrtOpt = Annotated[
    str | None,
    typer.Option("--wrt", metavar="NAME", help="The parameter (same as a bare --param NAME)."),
]
PlotOpt = Annotated[
    Path | None,
    typer.Option(
        "--plot",
        help="Figure file (.png/.pdf/.svg) \\[default: beside --out with .png, else "
        "SYSTEM_<what>.png in the working directory].",
    ),
]
NoPlotOpt = Annotated[bool, typer.Option("--no-plot", help="Write no figure.")]
ForceOpt = Annotated[
    bool,
    typer.Option("--force", help="Replace a read-only --out or --plot file (it stays read-only)."),
]
OutOpt = Annotated[
    Path | None, typer.Option("--out", "-o", help="Also save the numbers to .nc or .zarr.")
]


def parse_params(
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


def resolve_system(
    name: str | None, params: list[str] | None, system_file: str | None, *, allow_bare: bool = False
) -> tuple[Flow | Map, dict[str, Any], list[str]]:
    """SYSTEM, --param and --system-file -> (system, {overrides}, [bare --param names])."""
    overrides, bare = parse_params(params, allow_bare=allow_bare)
    if name and system_file:
        raise UserError("Give either a SYSTEM name or --system-file, not both.")
    system = rep.resolve_system(name, overrides, system_file)
    return system, overrides, bare


def chosen_parameter(system: Flow | Map, bare: list[str], wrt: str | None, what: str) -> str:
    """The one parameter named by --wrt or a bare --param, else the system's main one."""
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
        raise unknown_name(p, names, f"Parameter of {type(system).__name__}:")
    return p


# The step of a flow without a `default_dt` (a user's system) when --dt is not given.
FALLBACK_DT = 0.005


def dt_for(system: Flow | Map, dt: float | None, default: float | None = None) -> float | None:
    """--dt of a flow: when not given `default`, else the system's `default_dt`, else
    FALLBACK_DT; None for a map, where --dt is an error."""
    if isinstance(system, Flow):
        if dt is not None and not dt > 0:
            raise UserError(f"--dt must be positive, got {dt}.")
        if dt is not None:
            return dt
        if default is not None:
            return default
        own = getattr(system, "default_dt", None)
        return float(own) if own is not None else FALLBACK_DT
    if dt is not None:
        raise UserError(
            f"--dt applies to flows only; {system.name or 'this system'} is a map "
            "(one step is one iteration)."
        )
    return None


def resolve_steps(steps: int | None, t_final: float | None, dt: float | None, default: int) -> int:
    """--steps, or --t-final / dt, or `default`."""
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


def initial_state(system: Flow | Map, text: str | None):
    """--x0 as a state vector; the system's default state when not given."""
    if text is None:
        return system.default_state()
    try:
        values = [float(v) for v in text.replace("[", "").replace("]", "").split(",")]
    except ValueError:
        raise UserError(f"--x0 must be comma-separated numbers, got {text!r}.") from None
    if len(values) != system.dim:
        raise UserError(f"--x0 must have {system.dim} numbers for this system, got {len(values)}.")
    return jnp.asarray(values)


def positive_floats(text: str, what: str) -> list[float]:
    """Comma-separated positive numbers, e.g. --horizons 0.5,1,10."""
    try:
        values = [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise UserError(f"{what} must be comma-separated numbers, got {text!r}.") from None
    if not values or any(not v > 0 for v in values):
        raise UserError(f"{what} must be positive numbers, got {text!r}.")
    return values
