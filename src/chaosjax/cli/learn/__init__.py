"""`chaosjax learn`: fit a model to data of a system and judge it as a system.

Each subcommand simulates training data from a catalogue system (or reads a NetCDF of
states with `--data`), fits, and writes into `--out DIR` the model (`cj.learn.save`;
`cj.learn.load` gives it back as a system), `metrics.json` and figures, each file
atomically. The learned model's Lyapunov exponents are computed by the same
`cj.lyapunov_spectrum` as the true system's: a fitted model is a `cj.Map` or `cj.Flow`.

One module per subcommand, each a plain function with an `EPILOG` of examples; what
they share (options, data, judging, output files) is in `_common.py`.

The subcommands load lazily, as the top-level commands do (`..app`): `chaosjax learn
--help` lists them from `SUBCOMMANDS` without importing JAX or any subcommand module;
a subcommand's module is imported when it runs or its own `--help` is asked for.
"""

from __future__ import annotations

import importlib
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

# name: (module under chaosjax.cli.learn, the one-line help `chaosjax learn --help`
# lists), in help order. The help is the first paragraph of the function's docstring;
# tests/test_cli_help.py checks that the two agree.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "delay-mlp": (
        "delay_mlp",
        "Fit a delay-embedding network (a delay map) to a scalar series; compare exponents "
        "and lag sensitivities with the true system's.",
    ),
    "sindy": (
        "sindy",
        "Identify a flow's equations with SINDy; compare coefficients and exponents with the "
        "true system's.",
    ),
    "neural-ode": (
        "neural_ode",
        "Fit a neural ODE through the solver (multiple shooting); compare its Lyapunov "
        "exponents and Kaplan-Yorke dimension with the true system's.",
    ),
    "esn": (
        "esn",
        "Fit an echo-state network (sparse random reservoir, ridge readout); judge its "
        "closed-loop forecasts and Lyapunov exponents against the true system's.",
    ),
    "ngrc": (
        "ngrc",
        "Fit a next-generation reservoir computer (polynomial features of delayed "
        "observations, ridge readout of the increment); judge its forecasts and exponents.",
    ),
    "transformer": (
        "transformer",
        "Train a causal transformer on grid tokens of a system's trajectories; judge its "
        "generated trajectories by their cell histograms and largest exponent.",
    ),
}

_loaded: dict[str, Any] = {}


def load_subcommand(name: str) -> Any:
    """The click command `name`, its module imported and wrapped in `guard` on first use."""
    if name not in _loaded:
        from .._errors import guard

        module_name = SUBCOMMANDS[name][0]
        module = importlib.import_module(f".{module_name}", __package__)
        one = typer.Typer(rich_markup_mode="rich", pretty_exceptions_show_locals=False)
        one.command(name, epilog=module.EPILOG)(guard(getattr(module, module_name)))
        _loaded[name] = typer.main.get_command(one)
    return _loaded[name]


class _LazyLearnGroup(TyperGroup):
    """A group whose subcommands are imported when they run: the help lists stand-ins."""

    def list_commands(self, ctx: Any) -> list[str]:
        return list(SUBCOMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in _loaded:
            return _loaded[cmd_name]
        if cmd_name not in SUBCOMMANDS:
            return None
        # A stand-in for the command list of `chaosjax learn --help`.
        return TyperCommand(cmd_name, help=SUBCOMMANDS[cmd_name][1])

    def resolve_command(self, ctx: Any, args: list[str]) -> tuple[str | None, Any, list[str]]:
        if args and args[0] in SUBCOMMANDS:
            return args[0], load_subcommand(args[0]), args[1:]
        return super().resolve_command(ctx, args)


app = typer.Typer(
    name="learn",
    help="Learn a system from data: a delay-embedding network, SINDy, a neural ODE, an "
    "echo-state network, NG-RC or a causal transformer on grid tokens; the fitted model "
    "is a chaosjax system, judged by its Lyapunov exponents beside the true ones.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    cls=_LazyLearnGroup,
)


@app.callback()
def _learn() -> None:
    """The group itself does nothing: each subcommand runs on its own."""
