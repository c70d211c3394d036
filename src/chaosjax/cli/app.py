"""The typer application: the top-level help, `--version`, and the commands in help order.

A command is a plain function in its own module with an `EPILOG` of examples; it is
registered here, wrapped in `guard` (user errors -> exit status 2, divergence -> 1,
Ctrl-C -> 130).

The commands load lazily: `chaosjax --help` lists them from `COMMANDS` (name, module,
one-line help) without importing JAX or any command module; a command's module is
imported when it runs or its own `--help` is asked for.
"""

from __future__ import annotations

import importlib
from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

# name: (module under chaosjax.cli, the one-line help `chaosjax --help` lists), in help
# order. The help is the first paragraph of the command's docstring (the `help=` of
# `learn`'s Typer); tests/test_cli_help.py checks that the two agree.
COMMANDS: dict[str, tuple[str, str]] = {
    "systems": (
        "systems",
        "List the built-in systems: name, kind, variables, parameters, reference exponents.",
    ),
    "simulate": (
        "simulate",
        "Simulate a system and write the trajectory (or ensemble statistics) to NetCDF/Zarr.",
    ),
    "lyapunov": (
        "lyapunov",
        "Lyapunov spectrum (QR method), Kaplan-Yorke dimension and a convergence plot.",
    ),
    "sensitivity": (
        "sensitivity",
        "Sensitivity d<S>/dp of a time average to a parameter: autodiff blow-up and shadowing.",
    ),
    "bifurcation": (
        "bifurcation",
        "Orbit (bifurcation) diagram of a map, of a flow's section maxima, or of a forced "
        "flow's stroboscopic map, over a parameter.",
    ),
    "report": (
        "report",
        "The end-to-end report: index.html with figures, results.json, results.nc.",
    ),
    "learn": (
        "learn",
        "Learn a system from data: a delay-embedding network, SINDy, a neural ODE, an "
        "echo-state network, NG-RC or a causal transformer on grid tokens; the fitted "
        "model is a chaosjax system, judged by its Lyapunov exponents beside the true ones.",
    ),
    "evaluate": (
        "evaluate",
        "Judge a learned model as a dynamical system: valid prediction time, invariant "
        "distribution (Wasserstein, beside true-vs-true) and Lyapunov spectrum.",
    ),
    "doctor": (
        "doctor",
        "Check what this machine supports: C compiler and flags, OpenMP, kernel cache, devices.",
    ),
}

_loaded: dict[str, Any] = {}


def load_command(name: str) -> Any:
    """The click command `name`, its module imported and wrapped in `guard` on first use."""
    if name not in _loaded:
        module = importlib.import_module(f".{COMMANDS[name][0]}", __package__)
        if name == "learn":
            # A group that loads its subcommands lazily (and guards each) itself.
            _loaded[name] = typer.main.get_command(module.app)
        else:
            from ._errors import guard

            one = typer.Typer(rich_markup_mode="rich", pretty_exceptions_show_locals=False)
            one.command(name, epilog=module.EPILOG)(guard(getattr(module, name)))
            _loaded[name] = typer.main.get_command(one)
    return _loaded[name]


class _LazyGroup(TyperGroup):
    """A group whose commands are imported when they run: the help lists stand-ins."""

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in _loaded:
            return _loaded[cmd_name]
        if cmd_name not in COMMANDS:
            return None
        # A stand-in for the command list of `chaosjax --help`.
        return TyperCommand(cmd_name, help=COMMANDS[cmd_name][1])

    def resolve_command(self, ctx: Any, args: list[str]) -> tuple[str | None, Any, list[str]]:
        if args and args[0] in COMMANDS:
            _invoked[:] = args
            return args[0], load_command(args[0]), args[1:]
        return super().resolve_command(ctx, args)


#: The command line of the command being run (its name first), as resolved last.
_invoked: list[str] = []


def _asks_for_help(args: list[str]) -> bool:
    """Whether a command line (the command's name first) only asks for a help text
    (`learn` alone lists its subcommands)."""
    options = args[: args.index("--")] if "--" in args else args
    return args == ["learn"] or "--help" in options or "-h" in options


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
        "  chaosjax learn sindy lorenz63 --out lorenz_sindy\n\n"
        "Every command has --help with examples."
    ),
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode="rich",
    pretty_exceptions_show_locals=False,
    cls=_LazyGroup,
)


def _version_callback(value: bool | None) -> None:
    if value:
        from .. import __version__

        typer.echo(f"chaosjax {__version__}")
        raise typer.Exit()


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
    # The command owns its process: compute in float64, as the library is tested. A help
    # text computes nothing, and stays quick without JAX.
    if _asks_for_help(_invoked):
        return
    from .._config import enable_x64

    enable_x64()


def main() -> None:
    """Entry point of the `chaosjax` script and `python -m chaosjax`."""
    app(prog_name="chaosjax")
