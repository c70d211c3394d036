"""`chaosjax learn`: fit a model to data of a system and judge it as a system.

Each subcommand simulates training data from a catalogue system (or reads a NetCDF of
states with `--data`), fits, and writes into `--out DIR` the model (`cj.learn.save`;
`cj.learn.load` gives it back as a system), `metrics.json` and figures, each file
atomically. The learned model's Lyapunov exponents are computed by the same
`cj.lyapunov_spectrum` as the true system's: a fitted model is a `cj.Map` or `cj.Flow`.

One module per subcommand, each a plain function with an `EPILOG` of examples; what
they share (options, data, judging, output files) is in `_common.py`.
"""

from __future__ import annotations

import typer

from .._errors import guard
from . import delay_mlp, esn, neural_ode, ngrc, sindy, transformer

app = typer.Typer(
    name="learn",
    help="Learn a system from data: a delay-embedding network, SINDy, a neural ODE, an "
    "echo-state network, NG-RC or a causal transformer on grid tokens; the fitted model "
    "is a chaosjax system, judged by its Lyapunov exponents beside the true ones.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)

# Registered in the order `chaosjax learn --help` lists them.
app.command("delay-mlp", epilog=delay_mlp.EPILOG)(guard(delay_mlp.delay_mlp))
app.command("sindy", epilog=sindy.EPILOG)(guard(sindy.sindy))
app.command("neural-ode", epilog=neural_ode.EPILOG)(guard(neural_ode.neural_ode))
app.command("esn", epilog=esn.EPILOG)(guard(esn.esn))
app.command("ngrc", epilog=ngrc.EPILOG)(guard(ngrc.ngrc))
app.command("transformer", epilog=transformer.EPILOG)(guard(transformer.transformer))
