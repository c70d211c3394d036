"""`chaosjax learn delay-mlp`: a delay-embedding network fitted to one coordinate's series,
judged by its Lyapunov exponents and lag sensitivities beside the true system's."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import jax
import numpy as np
import typer
from rich.table import Table

import chaosjax as cj

from ...systems import Flow, Map
from .._errors import UserError
from .._options import ParamOpt, QuietOpt, SeedOpt, SystemArg, SystemFileOpt
from .._output import interrupt_note, make_console
from ._common import (
    KEPT,
    DataOpt,
    ForceOpt,
    LyapStepsOpt,
    NoiseOpt,
    NoPlotsOpt,
    OutDirOpt,
    PointsOpt,
    exponent_figure,
    exponent_table,
    loss_figure,
    nonnegative,
    out_dir,
    positive,
    prediction_check,
    run_record,
    source_name,
    spectrum,
    training_states,
    true_system,
    write,
)

EPILOG = """Examples:

  chaosjax learn delay-mlp delayed_henon --lags 5 --hidden 4 --points 512 --out dh_net

  chaosjax learn delay-mlp henon --lags 2 --restarts 4 --steps 6000 --out henon_net

  chaosjax learn delay-mlp --data run.nc --lags 5 --out net

Writes DIR/model.eqx (read it back with cj.learn.load), DIR/metrics.json, DIR/loss.png
and DIR/exponents.png."""


def delay_mlp(
    system: SystemArg = None,
    param: ParamOpt = None,
    system_file: SystemFileOpt = None,
    data: DataOpt = None,
    observable: Annotated[
        int, typer.Option("--observable", help="The coordinate x\\[i] used as the series.")
    ] = 0,
    lags: Annotated[int, typer.Option("--lags", help="Inputs of the network.")] = 5,
    hidden: Annotated[int, typer.Option("--hidden", help="Neurons of the hidden layer.")] = 4,
    restarts: Annotated[int, typer.Option("--restarts", help="Networks trained.")] = 10,
    steps: Annotated[
        int,
        typer.Option(
            "--steps", help="Gradient steps: one third Adam, then L-BFGS (anneal: its steps)."
        ),
    ] = 30_000,
    trainer: Annotated[str, typer.Option("--trainer", help="gradient or anneal.")] = "gradient",
    reverse: Annotated[
        bool, typer.Option("--reverse", help="Fit the reversed series (the inverted map).")
    ] = False,
    points: PointsOpt = None,
    dt: Annotated[
        float | None, typer.Option("--dt", help="Sampling step of a flow \\[default: 0.05].")
    ] = None,
    noise: NoiseOpt = 0.0,
    seed: SeedOpt = 0,
    lyap_steps: LyapStepsOpt = 20_000,
    out: OutDirOpt = Path("delay_mlp"),
    force: ForceOpt = False,
    no_plot: NoPlotsOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Fit a delay-embedding network (a delay map) to a scalar series; compare exponents
    and lag sensitivities with the true system's."""
    lags = positive(lags, "--lags")
    hidden = positive(hidden, "--hidden")
    restarts = positive(restarts, "--restarts")
    steps = positive(steps, "--steps")
    lyap_steps = positive(lyap_steps, "--lyap-steps")
    if trainer not in ("gradient", "anneal"):
        raise UserError(f"--trainer must be gradient or anneal, got {trainer!r}.")
    nonnegative(noise, "--noise")
    sysm = true_system(system, param, system_file, data)
    states, dt = training_states(
        sysm, data, points, dt, noise, seed, default_dt=0.05, default_points=512
    )
    if not 0 <= observable < states.shape[-1]:
        raise UserError(
            f"--observable must be an index below {states.shape[-1]}, got {observable}."
        )
    series = states[..., observable]
    if series.shape[-1] <= lags + 1:
        raise UserError(f"--lags {lags} needs more than {lags + 1} points, got {series.shape[-1]}.")
    out = out_dir(out, force)
    console = make_console(quiet)
    name = source_name(sysm, data)
    key = jax.random.key(seed)
    with interrupt_note(console, KEPT):
        t0 = time.time()
        kw: dict[str, Any] = {}
        if trainer == "gradient":
            adam = max(1, steps // 3)
            kw["stages"] = [
                cj.learn.Stage(cj.learn.Adam(learning_rate=1e-2), adam),
                cj.learn.Stage(cj.learn.LBFGS(), max(1, steps - adam)),
            ]
            kw["eval_every"] = max(1, min(1_000, steps // 30))
            kw["progress"] = not quiet
        else:
            kw["trainer"] = cj.learn.Annealing(
                steps=steps, eval_every=max(1, min(1_000, steps // 10))
            )
        res = cj.learn.fit_delay_mlp(
            series,
            key=key,
            lags=lags,
            hidden=hidden,
            restarts=restarts,
            reverse=reverse,
            **kw,
        )
        seconds = time.time() - t0
        model = res.model
        nmse = np.asarray(res.nmse, dtype=float)
        sens = np.asarray(res.sensitivities, dtype=float)
        best = res.selected
        console.print(
            f"Fitted {restarts} networks ({lags} lags, {hidden} neurons) to {name} in "
            f"{seconds:.1f} s; restart {best} selected, one-step NMSE {nmse[best]:.3e}."
        )
        flow = sysm is not None and isinstance(sysm, Flow)
        per_step = dt if (flow or (sysm is None and dt is not None)) else None
        unit = "per unit time" if per_step else "per iteration"
        learned = None
        true_lag = None
        if not reverse:
            learned = spectrum(model, model.default_state(), lyap_steps, None)
            if learned is not None and per_step:
                learned = [x / per_step for x in learned]
        true = None
        if sysm is not None:
            true = spectrum(sysm, sysm.default_state(), lyap_steps, dt)
            if isinstance(sysm, Map) and sysm.dim <= lags:
                # The state of a delay map (e.g. the delayed Henon map) is its delay vector;
                # lags beyond its dimension have sensitivity zero.
                true_lag = cj.lag_sensitivities(
                    sysm,
                    sysm.default_state(),
                    lyap_steps,
                    transient=1_000,
                    inverse="auto" if reverse else False,
                )
        if reverse:
            learned_lag = cj.lag_sensitivities(model, orbit=_delay_rows(series[..., ::-1], lags))
        else:
            learned_lag = cj.lag_sensitivities(model, model.default_state(), lyap_steps)
        s_learned = [float(x) for x in np.asarray(learned_lag.sensitivities)]
        s_true = None
        if true_lag is not None:
            src = true_lag.inverse if reverse else true_lag
            if src is not None:
                s_true = [float(x) for x in np.asarray(src.sensitivities)]
                s_true += [0.0] * (lags - len(s_true))
        table = Table(title=f"lag sensitivities S(j) of the {'reversed ' if reverse else ''}fit")
        table.add_column("lag j")
        table.add_column("learned", justify="right")
        if s_true is not None:
            table.add_column("true", justify="right")
        for j, s in enumerate(s_learned):
            table.add_row(str(j + 1), f"{s:.4f}", *([f"{s_true[j]:.4f}"] if s_true else []))
        console.print(table)
        if not reverse:
            exponent_table(console, learned, true, unit)
        metrics = {
            **run_record("delay_mlp", sysm, data, int(series.shape[-1]), dt, noise, seed),
            "lags": lags,
            "hidden": hidden,
            "restarts": restarts,
            "trainer": trainer,
            "steps": steps,
            "reverse": reverse,
            "seconds": seconds,
            "selected": best,
            "nmse": nmse[best],
            "restart_nmse": nmse,
            "restart_sensitivities": sens,
            "lag_sensitivities": {"learned": s_learned, "true": s_true},
            "lyapunov_exponents": {"learned": learned, "true": true, "unit": unit},
            "prediction_check": prediction_check(model),
        }
        write(console, out, model, metrics)
        if not no_plot:
            training = res.training
            if isinstance(training, cj.learn.FitResult):
                loss_figure(
                    console, out, training.history.steps, training.history.train, best,
                    f"{name}: delay network training (NMSE)",
                )  # fmt: skip
            exponent_figure(console, out, learned, true, unit, f"{name}: delay network")


def _delay_rows(series: np.ndarray, lags: int) -> np.ndarray:
    """Delay vectors (x_{t-1}, ..., x_{t-lags}) of one series (the first member)."""
    s = np.asarray(series).reshape(-1, np.shape(series)[-1])[0]
    return np.stack([s[lags - 1 - j : len(s) - 1 - j] for j in range(lags)], axis=1)
