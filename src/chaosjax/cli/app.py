"""The typer application: the top-level help, `--version`, and the commands in help order.

A command is a plain function in its own module with an `EPILOG` of examples; it is
registered here, wrapped in `guard` (user errors -> exit status 2, divergence -> 1,
Ctrl-C -> 130).
"""

from __future__ import annotations

from typing import Annotated

import typer

from .._config import enable_x64
from . import bifurcation, evaluate, learn, lyapunov, report, sensitivity, simulate, systems
from ._errors import guard

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
    # The command owns its process: compute in float64, as the library is tested.
    enable_x64()


app.command(epilog=systems.EPILOG)(guard(systems.systems))
app.command(epilog=simulate.EPILOG)(guard(simulate.simulate))
app.command(epilog=lyapunov.EPILOG)(guard(lyapunov.lyapunov))
app.command(epilog=sensitivity.EPILOG)(guard(sensitivity.sensitivity))
app.command(epilog=bifurcation.EPILOG)(guard(bifurcation.bifurcation))
app.command(epilog=report.EPILOG)(guard(report.report))
app.add_typer(learn.app, name="learn")
app.command(epilog=evaluate.EPILOG)(guard(evaluate.evaluate))


def main() -> None:
    """Entry point of the `chaosjax` script and `python -m chaosjax`."""
    app(prog_name="chaosjax")
