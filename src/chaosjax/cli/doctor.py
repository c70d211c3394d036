"""`chaosjax doctor`: what this machine supports (compiler, OpenMP, kernel cache, devices)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from ._output import make_console

EPILOG = "Examples:\n\n  chaosjax doctor\n\n  chaosjax doctor --json --no-run"


def doctor(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    run: Annotated[
        bool,
        typer.Option(
            "--run/--no-run", help="Also compile and run a small native kernel (a few seconds)."
        ),
    ] = True,
) -> None:
    """Check what this machine supports: C compiler and flags, OpenMP, kernel cache, devices.

    Reports whether chaosjax's native backend (generated C kernels, eagerly and as XLA
    custom calls inside `jax.jit`) can run here, and why not where it cannot.
    """
    from ..native.diagnose import diagnose

    report = diagnose()
    if run:
        report["native, eager"], report["native, inside jit"] = _try_kernels()
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    table = Table(title="chaosjax doctor", show_header=False)
    table.add_column("item", style="bold")
    table.add_column("finding", overflow="fold")
    for key, value in report.items():
        table.add_row(key, value)
    make_console().print(table)


def _try_kernels() -> tuple[str, str]:
    import warnings

    import jax
    import numpy as np

    from .. import systems
    from ..lyapunov import lyapunov_spectrum
    from ..native import compile as cc
    from ..simulate import ensemble_time_average

    if not cc.enabled():
        return "off (CHAOSJAX_CGEN=0)", "off (CHAOSJAX_CGEN=0)"
    if jax.default_backend() != "cpu":
        msg = f"not used: the default backend is {jax.default_backend()} (XLA runs)"
        return msg, msg
    lor = systems.Lorenz63()
    x0s = np.tile(np.asarray(lor.default_state(), np.float64), (64, 1))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            ens = ensemble_time_average(lor, None, 64, steps=100, dt=0.01, x0=x0s, shard=False)
            eager = ens.backend
            res = jax.jit(lambda x: lyapunov_spectrum(lor, x, 100, dt=0.01))(x0s[0])
            traced = res.backend
        except Exception as e:  # noqa: BLE001 - a report, not a computation
            return f"failed: {e}", "failed"
    why = "; ".join(str(w.message).splitlines()[0] for w in caught)
    word = lambda b: "usable" if b == "native" else f"not usable ({why or 'XLA ran'})"  # noqa: E731
    return word(eager), word(traced)
