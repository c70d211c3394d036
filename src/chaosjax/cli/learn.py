"""`chaosjax learn`: fit a model to data of a system and judge it as a system.

Each subcommand simulates training data from a catalogue system (or reads a NetCDF of
states with `--data`), fits, and writes into `--out DIR` the model (`cj.learn.save`;
`cj.learn.load` gives it back as a system), `metrics.json` and figures, each file
atomically. The learned model's Lyapunov exponents are computed by the same
`cj.lyapunov_spectrum` as the true system's: a fitted model is a `cj.Map` or `cj.Flow`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import jax
import jax.numpy as jnp
import numpy as np
import typer
from rich.table import Table

import chaosjax as cj

from .. import io as cjio
from ..systems import Flow, Map
from ._errors import UserError, guard
from ._options import (
    ParamOpt,
    QuietOpt,
    SeedOpt,
    SystemArg,
    SystemFileOpt,
    dt_for,
    resolve_system,
)
from ._output import interrupt_note, make_console

app = typer.Typer(
    name="learn",
    help="Learn a system from data: a delay-embedding network, SINDy, a neural ODE, an "
    "echo-state network or NG-RC; the fitted model is a chaosjax system, judged by its "
    "Lyapunov exponents beside the true ones.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)

MODEL_FILE = "model.eqx"
METRICS_FILE = "metrics.json"

DELAY_EPILOG = """Examples:

  chaosjax learn delay-mlp delayed_henon --lags 5 --hidden 4 --points 512 --out dh_net

  chaosjax learn delay-mlp henon --lags 2 --restarts 4 --steps 6000 --out henon_net

  chaosjax learn delay-mlp --data run.nc --lags 5 --out net

Writes DIR/model.eqx (read it back with cj.learn.load), DIR/metrics.json, DIR/loss.png
and DIR/exponents.png."""

SINDY_EPILOG = """Examples:

  chaosjax learn sindy lorenz63 --dt 0.002 --points 10000 --out lorenz_sindy

  chaosjax learn sindy lorenz63 --noise 0.01 --derivative savgol --out noisy

  chaosjax learn sindy --data run.nc --threshold 0.05 --out sindy

Writes DIR/model.eqx (read it back with cj.learn.load), DIR/metrics.json and
DIR/exponents.png."""

NODE_EPILOG = """Examples:

  chaosjax learn neural-ode lorenz63 --points 2000 --dt 0.01 --steps 2000 --out lorenz_node

  chaosjax learn neural-ode linear_flow --hidden 32 --depth 2 --segment-steps 10 --out lin

  chaosjax learn neural-ode --data run.nc --adjoint backsolve --out node

Writes DIR/model.eqx (read it back with cj.learn.load), DIR/metrics.json, DIR/loss.png
and DIR/exponents.png."""

DataOpt = Annotated[
    Path | None,
    typer.Option(
        "--data",
        metavar="FILE",
        help="A NetCDF/Zarr of states (e.g. from `chaosjax simulate`) instead of simulating.",
    ),
]
OutDirOpt = Annotated[
    Path, typer.Option("--out", "-o", help="Output directory (created if needed).")
]
PointsOpt = Annotated[int | None, typer.Option("--points", help="Samples simulated for training.")]
NoiseOpt = Annotated[
    float,
    typer.Option(
        "--noise", help="Gaussian noise added, relative to each coordinate's std (0.01 = 1 %)."
    ),
]
LyapStepsOpt = Annotated[
    int,
    typer.Option("--lyap-steps", help="Steps of the learned and true Lyapunov spectra."),
]
NoPlotsOpt = Annotated[bool, typer.Option("--no-plot", help="Write no figures.")]


# --------------------------------------------------------------------------- shared


def _positive(value: int, option: str) -> int:
    if value < 1:
        raise UserError(f"{option} must be a positive integer, got {value}.")
    return value


def _out_dir(out: Path) -> Path:
    """--out: a directory that exists or can be created, and is writable."""
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {str(out)!r} is a file; give a directory.")
    try:
        cjio.ensure_writable_dir(out)
    except OSError as e:
        raise UserError(f"--out {str(out)!r} cannot be written: {e.strerror or e}.") from None
    return out


def _system(
    system: str | None, param: list[str] | None, system_file: str | None, data: Path | None
) -> Flow | Map | None:
    """The true system: SYSTEM / --system-file, None with --data alone."""
    if system is None and system_file is None:
        if data is None:
            raise UserError("Give a SYSTEM (see `chaosjax systems`) or --data FILE.")
        return None
    sysm, _, _ = resolve_system(system, param, system_file)
    return sysm


def _read_data(data: Path) -> tuple[np.ndarray, float | None]:
    """--data: the `state` variable as (time, dim) or (member, time, dim), and its dt."""
    if not data.exists():
        raise UserError(f"--data {str(data)!r}: no such file.")
    try:
        ds = cjio.load(data)
    except (OSError, ValueError) as e:
        raise UserError(f"--data {str(data)!r} cannot be read: {e}.") from None
    if "state" not in ds:
        raise UserError(
            f"--data {str(data)!r} has no `state` variable (write one with `chaosjax simulate`)."
        )
    xs = np.asarray(ds["state"].values, dtype=np.float64)
    if xs.ndim not in (2, 3):
        raise UserError(
            f"--data {str(data)!r}: `state` must be (time, dim) or (member, time, dim), "
            f"got shape {xs.shape}."
        )
    if not np.all(np.isfinite(xs)):
        raise UserError(f"--data {str(data)!r} contains NaN or infinite states.")
    dt = ds.attrs.get("dt")
    return xs, (float(dt) if dt is not None else None)


def _simulate(
    sysm: Flow | Map, points: int, dt: float | None, noise: float, seed: int
) -> np.ndarray:
    """`points` states on the attractor (after a transient), with relative noise."""
    transient = 2_000 if isinstance(sysm, Flow) else 1_000
    xs = cj.trajectory(sysm, sysm.default_state(), steps=points - 1, dt=dt, transient=transient)
    xs = np.asarray(xs, dtype=np.float64)
    bad = np.flatnonzero(~np.all(np.isfinite(xs), axis=-1))
    if bad.size:
        raise cj.DivergenceError("the simulated training data are not finite.", int(bad[0]))
    if noise > 0:
        eps = np.asarray(jax.random.normal(jax.random.key(seed + 1), xs.shape, xs.dtype))
        xs = xs + noise * xs.std(axis=0) * eps
    return xs


def _spectrum(sysm: Flow | Map, x0: Any, steps: int, dt: float | None) -> list[float] | None:
    """The Lyapunov spectrum, None if the orbit diverges (a poor model may)."""
    kw: dict[str, Any] = {"dt": dt} if isinstance(sysm, Flow) else {}
    try:
        res = cj.lyapunov_spectrum(sysm, x0, steps=steps, transient=steps // 10, **kw)
    except cj.DivergenceError:
        return None
    lam = np.asarray(res.exponents, dtype=float)
    return [float(x) for x in lam] if np.all(np.isfinite(lam)) else None


def _exponent_table(console, learned, true, unit: str) -> None:
    table = Table(title=f"Lyapunov exponents ({unit})")
    table.add_column("exponent")
    table.add_column("learned", justify="right")
    table.add_column("true", justify="right")
    n = max(len(learned or []), len(true or []))
    for j in range(n):
        lv = f"{learned[j]:+.5f}" if learned is not None and j < len(learned) else "-"
        tv = f"{true[j]:+.5f}" if true is not None and j < len(true) else "-"
        table.add_row(f"lambda{j + 1}", lv, tv)
    console.print(table)
    if learned is None:
        console.print("[yellow]The learned model's orbit diverged: no exponents.[/yellow]")


def _exponent_figure(path: Path, learned, true, unit: str, title: str) -> None:
    # matplotlib loads only when a figure is asked for.
    from .. import plot as cjp

    cjio.save_figure(
        cjp.lyapunov_spectrum_bars(
            np.asarray(learned), reference=true, unit=unit, title=f"{title} (bars: learned)"
        ),
        path,
    )


def _write(console, out: Path, model, metrics: dict[str, Any]) -> None:
    cj.learn.save(model, out / MODEL_FILE)
    cjio.write_json(out / METRICS_FILE, metrics)
    console.print(f"Wrote {out / MODEL_FILE} and {out / METRICS_FILE}.")


# --------------------------------------------------------------------------- delay-mlp


@app.command("delay-mlp", epilog=DELAY_EPILOG)
@guard
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
    no_plot: NoPlotsOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Fit a delay-embedding network (a delay map) to a scalar series; compare exponents
    and lag sensitivities with the true system's."""
    lags = _positive(lags, "--lags")
    hidden = _positive(hidden, "--hidden")
    restarts = _positive(restarts, "--restarts")
    steps = _positive(steps, "--steps")
    lyap_steps = _positive(lyap_steps, "--lyap-steps")
    if trainer not in ("gradient", "anneal"):
        raise UserError(f"--trainer must be gradient or anneal, got {trainer!r}.")
    if not noise >= 0:
        raise UserError(f"--noise must be >= 0, got {noise}.")
    sysm = _system(system, param, system_file, data)
    if data is not None:
        if points is not None or noise:
            raise UserError("--points and --noise apply to simulated data, not --data.")
        states, file_dt = _read_data(data)
        dt = dt if dt is not None else file_dt
    else:
        assert sysm is not None
        dt = dt_for(sysm, dt, 0.05)
        n = 512 if points is None else _positive(points, "--points")
        states = _simulate(sysm, n, dt, noise, seed)
    if not 0 <= observable < states.shape[-1]:
        raise UserError(
            f"--observable must be an index below {states.shape[-1]}, got {observable}."
        )
    series = states[..., observable]
    if series.shape[-1] <= lags + 1:
        raise UserError(f"--lags {lags} needs more than {lags + 1} points, got {series.shape[-1]}.")
    out = _out_dir(out)
    console = make_console(quiet)
    name = cjio.system_name(sysm) if sysm is not None else str(data)
    key = jax.random.key(seed)
    with interrupt_note(console, "Files already written are kept whole."):
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
            learned = _spectrum(model, model.default_state(), lyap_steps, None)
            if learned is not None and per_step:
                learned = [x / per_step for x in learned]
        true = None
        if sysm is not None:
            true = _spectrum(sysm, sysm.default_state(), lyap_steps, dt)
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
            _exponent_table(console, learned, true, unit)
        probe = np.asarray(model.default_state())
        metrics = {
            "model": "delay_mlp",
            "system": name,
            "parameters": cjio.system_parameters(sysm) if sysm is not None else None,
            "data": str(data) if data is not None else None,
            "points": int(series.shape[-1]),
            "dt": dt,
            "noise": noise,
            "seed": seed,
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
            # Lets a reader check that cj.learn.load gives this very model back.
            "prediction_check": {
                "state": probe,
                "step": np.asarray(model.step(jnp.asarray(probe))),
            },
        }
        _write(console, out, model, metrics)
        if not no_plot:
            from .. import plot as cjp

            training = res.training
            if isinstance(training, cj.learn.FitResult):
                cjio.save_figure(
                    cjp.loss_curves(
                        training.history.steps,
                        training.history.train,
                        best=best,
                        title=f"{name}: delay network training (NMSE)",
                    ),
                    out / "loss.png",
                )
                console.print(f"Wrote {out / 'loss.png'}.")
            if learned is not None:
                _exponent_figure(
                    out / "exponents.png", learned, true, unit, f"{name}: delay network"
                )
                console.print(f"Wrote {out / 'exponents.png'}.")


def _delay_rows(series: np.ndarray, lags: int) -> np.ndarray:
    """Delay vectors (x_{t-1}, ..., x_{t-lags}) of one series (the first member)."""
    s = np.asarray(series).reshape(-1, np.shape(series)[-1])[0]
    return np.stack([s[lags - 1 - j : len(s) - 1 - j] for j in range(lags)], axis=1)


# --------------------------------------------------------------------------- sindy


def _flow_data(
    what: str,
    sysm: Flow | Map | None,
    data: Path | None,
    points: int | None,
    dt: float | None,
    noise: float,
    seed: int,
    *,
    default_dt: float,
    default_points: int,
) -> tuple[np.ndarray, float]:
    """Training states of a flow, simulated or read from `--data`, and their time step."""
    if not noise >= 0:
        raise UserError(f"--noise must be >= 0, got {noise}.")
    if sysm is not None and not isinstance(sysm, Flow):
        raise UserError(f"{what} learns flows; {cjio.system_name(sysm)} is a map.")
    if data is not None:
        if points is not None or noise:
            raise UserError("--points and --noise apply to simulated data, not --data.")
        states, file_dt = _read_data(data)
        dt = dt if dt is not None else file_dt
        if dt is None:
            raise UserError(f"--data {str(data)!r} records no dt; give --dt.")
    else:
        assert sysm is not None
        dt = dt_for(sysm, dt, default_dt)
        n = default_points if points is None else _positive(points, "--points")
        states = _simulate(sysm, n, dt, noise, seed)
    if dt is None or not dt > 0:
        raise UserError(f"--dt must be positive, got {dt}.")
    return states, dt


def _judge_flow(
    console,
    model: Flow,
    sysm: Flow | Map | None,
    states: np.ndarray,
    lyap_steps: int,
    lyap_dt: float,
) -> tuple[float | None, list[float] | None, list[float] | None]:
    """The learned field's relative error on the data and both Lyapunov spectra."""
    flat = jnp.asarray(states.reshape(-1, states.shape[-1]))
    vf_error = None
    if isinstance(sysm, Flow):
        f_true = jax.vmap(sysm.vector_field)(flat)
        f_model = jax.vmap(model.vector_field)(flat)
        vf_error = float(jnp.linalg.norm(f_model - f_true) / jnp.linalg.norm(f_true))
        console.print(f"Relative vector-field error on the data: {vf_error:.3e}")
    learned = _spectrum(model, flat[-1], lyap_steps, lyap_dt)
    true = _spectrum(sysm, flat[-1], lyap_steps, lyap_dt) if sysm is not None else None
    _exponent_table(console, learned, true, "per unit time")
    return vf_error, learned, true


@app.command("sindy", epilog=SINDY_EPILOG)
@guard
def sindy(
    system: SystemArg = None,
    param: ParamOpt = None,
    system_file: SystemFileOpt = None,
    data: DataOpt = None,
    points: PointsOpt = None,
    dt: Annotated[
        float | None, typer.Option("--dt", help="Sampling step \\[default: 0.002].")
    ] = None,
    noise: NoiseOpt = 0.0,
    threshold: Annotated[
        float, typer.Option("--threshold", help="Smallest kept coefficient magnitude.")
    ] = 0.1,
    derivative: Annotated[
        str, typer.Option("--derivative", help="fd2, fd4, spline or savgol.")
    ] = "fd4",
    library: Annotated[
        str, typer.Option("--library", help="linear, polynomial, cubic or fourier.")
    ] = "polynomial",
    seed: SeedOpt = 0,
    lyap_steps: LyapStepsOpt = 20_000,
    lyap_dt: Annotated[
        float, typer.Option("--lyap-dt", help="Time step of the Lyapunov spectra.")
    ] = 0.01,
    out: OutDirOpt = Path("sindy"),
    no_plot: NoPlotsOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Identify a flow's equations with SINDy; compare coefficients and exponents with the
    true system's."""
    if derivative not in ("fd2", "fd4", "spline", "savgol"):
        raise UserError(f"--derivative must be fd2, fd4, spline or savgol, got {derivative!r}.")
    if library not in ("linear", "polynomial", "cubic", "fourier"):
        raise UserError(f"--library must be linear, polynomial, cubic or fourier, got {library!r}.")
    if not threshold >= 0:
        raise UserError(f"--threshold must be >= 0, got {threshold}.")
    if not lyap_dt > 0:
        raise UserError(f"--lyap-dt must be positive, got {lyap_dt}.")
    lyap_steps = _positive(lyap_steps, "--lyap-steps")
    sysm = _system(system, param, system_file, data)
    states, dt = _flow_data(
        "SINDy", sysm, data, points, dt, noise, seed, default_dt=0.002, default_points=10_000
    )
    out = _out_dir(out)
    console = make_console(quiet)
    name = cjio.system_name(sysm) if sysm is not None else str(data)
    names = sysm.variable_names() if sysm is not None else None
    with interrupt_note(console, "Files already written are kept whole."):
        t0 = time.time()
        model = cj.learn.fit_sindy(
            states,
            dt=dt,
            library=library,
            threshold=threshold,
            derivative=derivative,
            var_names=names,
        )
        seconds = time.time() - t0
        console.print(f"SINDy on {states.shape[-2]} samples of {name} ({seconds:.2f} s):")
        for line in model.equations():
            console.print(f"  {line}")
        vf_error, learned, true = _judge_flow(console, model, sysm, states, lyap_steps, lyap_dt)
        features = model.library.feature_names(model.var_names)
        coefficients = np.asarray(model.coefficients, dtype=float)
        probe = np.asarray(model.default_state())
        metrics = {
            "model": "sindy",
            "system": name,
            "parameters": cjio.system_parameters(sysm) if sysm is not None else None,
            "data": str(data) if data is not None else None,
            "points": int(states.shape[-2]),
            "dt": dt,
            "noise": noise,
            "seed": seed,
            "threshold": threshold,
            "derivative": derivative,
            "library": library,
            "seconds": seconds,
            "equations": model.equations(precision=6),
            "terms": int(np.count_nonzero(coefficients)),
            "coefficients": {
                var: {f: coefficients[i, j] for i, f in enumerate(features) if coefficients[i, j]}
                for j, var in enumerate(model.var_names)
            },
            "vector_field_relative_error": vf_error,
            "lyapunov_exponents": {"learned": learned, "true": true, "unit": "per unit time"},
            "prediction_check": {
                "state": probe,
                "vector_field": np.asarray(model.vector_field(jnp.asarray(probe))),
            },
        }
        _write(console, out, model, metrics)
        if not no_plot and learned is not None:
            _exponent_figure(
                out / "exponents.png", learned, true, "per unit time", f"{name}: SINDy"
            )
            console.print(f"Wrote {out / 'exponents.png'}.")


@app.command("neural-ode", epilog=NODE_EPILOG)
@guard
def neural_ode(
    system: SystemArg = None,
    param: ParamOpt = None,
    system_file: SystemFileOpt = None,
    data: DataOpt = None,
    points: PointsOpt = None,
    dt: Annotated[
        float | None, typer.Option("--dt", help="Sampling step \\[default: 0.01].")
    ] = None,
    noise: NoiseOpt = 0.0,
    hidden: Annotated[int, typer.Option("--hidden", help="Width of each hidden layer.")] = 64,
    depth: Annotated[int, typer.Option("--depth", help="Hidden layers.")] = 2,
    segment_steps: Annotated[
        int,
        typer.Option("--segment-steps", help="Samples per shooting segment (multiple shooting)."),
    ] = 20,
    steps: Annotated[int, typer.Option("--steps", help="Adam steps.")] = 2_000,
    adjoint: Annotated[
        str,
        typer.Option("--adjoint", help="recursive_checkpoint, backsolve or direct."),
    ] = "recursive_checkpoint",
    solver: Annotated[str, typer.Option("--solver", help="tsit5 or rk4.")] = "tsit5",
    seed: SeedOpt = 0,
    lyap_steps: LyapStepsOpt = 20_000,
    lyap_dt: Annotated[
        float, typer.Option("--lyap-dt", help="Time step of the Lyapunov spectra.")
    ] = 0.01,
    out: OutDirOpt = Path("neural_ode"),
    no_plot: NoPlotsOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Fit a neural ODE through the solver (multiple shooting); compare its Lyapunov
    exponents and Kaplan-Yorke dimension with the true system's."""
    if adjoint not in ("recursive_checkpoint", "backsolve", "direct"):
        raise UserError(
            f"--adjoint must be recursive_checkpoint, backsolve or direct, got {adjoint!r}."
        )
    if solver not in ("tsit5", "rk4"):
        raise UserError(f"--solver must be tsit5 or rk4, got {solver!r}.")
    if not lyap_dt > 0:
        raise UserError(f"--lyap-dt must be positive, got {lyap_dt}.")
    hidden = _positive(hidden, "--hidden")
    depth = _positive(depth, "--depth")
    segment_steps = _positive(segment_steps, "--segment-steps")
    steps = _positive(steps, "--steps")
    lyap_steps = _positive(lyap_steps, "--lyap-steps")
    sysm = _system(system, param, system_file, data)
    states, dt = _flow_data(
        "A neural ODE", sysm, data, points, dt, noise, seed, default_dt=0.01, default_points=2_000
    )
    if states.shape[-2] <= segment_steps:
        raise UserError(
            f"--segment-steps ({segment_steps}) must be below the number of samples "
            f"({states.shape[-2]})."
        )
    out = _out_dir(out)
    console = make_console(quiet)
    name = cjio.system_name(sysm) if sysm is not None else str(data)
    with interrupt_note(console, "Files already written are kept whole."):
        t0 = time.time()
        res = cj.learn.fit_neural_ode(
            states,
            dt=dt,
            key=jax.random.key(seed),
            hidden=hidden,
            depth=depth,
            segment_steps=segment_steps,
            solver=solver,
            adjoint=adjoint,
            steps=steps,
            progress=not quiet,
        )
        seconds = time.time() - t0
        model = res.model
        best = res.fit.best_restart
        final_loss = float(np.asarray(res.history.train)[best, -1])
        console.print(
            f"Neural ODE ({depth} x {hidden}, {solver}, {adjoint}) on {states.shape[-2]} "
            f"samples of {name}: shooting loss {final_loss:.3e} ({seconds:.1f} s)."
        )
        vf_error, learned, true = _judge_flow(console, model, sysm, states, lyap_steps, lyap_dt)
        ky = {
            "learned": None
            if learned is None
            else float(cj.kaplan_yorke_dimension(np.asarray(learned))),
            "true": None if true is None else float(cj.kaplan_yorke_dimension(np.asarray(true))),
        }
        probe = np.asarray(model.default_state())
        metrics = {
            "model": "neural_ode",
            "system": name,
            "parameters": cjio.system_parameters(sysm) if sysm is not None else None,
            "data": str(data) if data is not None else None,
            "points": int(states.shape[-2]),
            "dt": dt,
            "noise": noise,
            "seed": seed,
            "hidden": hidden,
            "depth": depth,
            "segment_steps": segment_steps,
            "steps": steps,
            "solver": solver,
            "adjoint": adjoint,
            "seconds": seconds,
            "final_shooting_loss": final_loss,
            "vector_field_relative_error": vf_error,
            "lyapunov_exponents": {"learned": learned, "true": true, "unit": "per unit time"},
            "kaplan_yorke_dimension": ky,
            "prediction_check": {
                "state": probe,
                "vector_field": np.asarray(model.vector_field(jnp.asarray(probe))),
            },
        }
        _write(console, out, model, metrics)
        if not no_plot:
            from .. import plot as cjp

            cjio.save_figure(
                cjp.loss_curves(
                    res.history.steps,
                    res.history.train,
                    best=best,
                    title=f"{name}: neural ODE training (shooting loss)",
                ),
                out / "loss.png",
            )
            console.print(f"Wrote {out / 'loss.png'}.")
            if learned is not None:
                _exponent_figure(
                    out / "exponents.png", learned, true, "per unit time", f"{name}: neural ODE"
                )
                console.print(f"Wrote {out / 'exponents.png'}.")


# --------------------------------------------------------------------------- reservoirs

ESN_EPILOG = """Examples:

  chaosjax learn esn lorenz63 --units 600 --points 20000 --dt 0.02 --out lorenz_esn

  chaosjax learn esn lorenz63 --spectral-radius 0.8 --spectral-radius 0.9 --ridge 1e-8
  --ridge 1e-6 --out searched   (two or more values of an option: a grid search on
  validation data)

  chaosjax learn esn --data run.nc --units 300 --washout 50 --out esn

Writes DIR/model.eqx (read it back with cj.learn.load), DIR/metrics.json (valid
prediction times from the test windows, learned and true exponents) and
DIR/exponents.png."""

NGRC_EPILOG = """Examples:

  chaosjax learn ngrc lorenz63 --points 400 --dt 0.025 --lags 2 --skip 1 --out lorenz_ngrc

  chaosjax learn ngrc henon --lags 1 --ridge 0 --out henon_ngrc

  chaosjax learn ngrc --data run.nc --lags 3 --ridge 1e-7 --ridge 1e-5 --out ngrc

Writes DIR/model.eqx (read it back with cj.learn.load), DIR/metrics.json and
DIR/exponents.png."""

RidgeOpt = Annotated[
    list[float] | None,
    typer.Option(
        "--ridge",
        help="Ridge weight \\[default: esn 1e-8, ngrc 2.5e-6]; repeat for a grid searched on "
        "validation data.",
    ),
]
HorizonOpt = Annotated[
    int, typer.Option("--horizon", help="Steps of each closed-loop test forecast.")
]
TestStartsOpt = Annotated[
    int, typer.Option("--test-starts", help="Test windows (never used to fit or tune).")
]


def _split_file(states: np.ndarray, reserve: int) -> tuple[list, list, list]:
    """--data: the last members (or, for one trajectory, the last `reserve` rows each)
    as test and validation data, the rest for training."""
    if states.ndim == 3 and states.shape[0] >= 3:
        return list(states[:-2]), [states[-2]], [states[-1]]
    x = states.reshape(-1, states.shape[-2], states.shape[-1])[0]
    if x.shape[0] <= 3 * reserve:
        raise UserError(
            f"--data holds {x.shape[0]} rows; the validation and test windows need "
            f"{reserve} each beside the training rows (lower --horizon or --test-starts)."
        )
    return [x[: -2 * reserve]], [x[-2 * reserve : -reserve]], [x[-reserve:]]


def _reservoir_data(
    sysm: Flow | Map | None,
    data: Path | None,
    points: int | None,
    dt: float | None,
    noise: float,
    seed: int,
    *,
    default_dt: float,
    default_points: int,
    reserve: int,
) -> tuple[list, list, list, float | None]:
    """Training, validation and test trajectories (a map's or a flow's) and the flow's dt.

    Simulated: one run from the attractor, its first `points` rows for training, then
    `reserve` rows of validation, then `reserve` of test; --noise only on the first two.
    """
    if not noise >= 0:
        raise UserError(f"--noise must be >= 0, got {noise}.")
    if data is not None:
        if points is not None or noise:
            raise UserError("--points and --noise apply to simulated data, not --data.")
        states, file_dt = _read_data(data)
        dt = dt if dt is not None else file_dt
        if dt is not None and not dt > 0:
            raise UserError(f"--dt must be positive, got {dt}.")
        train, val, test = _split_file(states, reserve)
        return train, val, test, dt
    assert sysm is not None
    dt = dt_for(sysm, dt, default_dt)
    n = default_points if points is None else _positive(points, "--points")
    xs = _simulate(sysm, n + 2 * reserve, dt, 0.0, seed)
    fitted = xs[: n + reserve]
    if noise > 0:
        eps = np.asarray(jax.random.normal(jax.random.key(seed + 1), fitted.shape, xs.dtype))
        fitted = fitted + noise * fitted.std(axis=0) * eps
    return [fitted[:n]], [fitted[n:]], [xs[n + reserve :]], dt


def _judge_reservoir(
    console,
    model: Map,
    sysm: Flow | Map | None,
    test: list,
    dt: float | None,
    *,
    starts: int,
    horizon: int,
    lyap_steps: int,
) -> dict[str, Any]:
    """Valid prediction times from the test windows and both Lyapunov spectra."""
    from ..learn import _reservoir as rc

    history = model.history_length
    hist, true = rc.windows(test, history, horizon, starts)
    scale = np.concatenate(test).std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    pred = rc.closed_loop(model, jnp.asarray(hist), horizon)
    tau = float(model.time_per_step)
    steps = np.asarray(cj.metrics.valid_prediction_time(pred, true, 0.4, scale=scale).steps)
    x0 = model.synchronise(jnp.asarray(hist[0]))
    k = min(model.dim, sysm.dim if sysm is not None else hist.shape[-1])
    unit = "per unit time" if dt is not None else "per iteration"
    learned = None
    try:
        res = cj.lyapunov_spectrum(model, x0, steps=lyap_steps, transient=lyap_steps // 10, k=k)
        lam = np.asarray(res.exponents, dtype=float)
        learned = [float(x) for x in lam] if np.all(np.isfinite(lam)) else None
    except cj.DivergenceError:
        learned = None
    true_exp = None
    if sysm is not None:
        true_exp = _spectrum(sysm, sysm.default_state(), lyap_steps, dt)
    _exponent_table(console, learned, true_exp, unit)
    lyap_time = 1.0 / true_exp[0] if true_exp and true_exp[0] > 0 else None
    vpt = steps * tau
    table = Table(title=f"valid prediction time ({starts} test windows, threshold 0.4)")
    table.add_column("")
    table.add_column("time", justify="right")
    if lyap_time is not None:
        table.add_column("Lyapunov times", justify="right")
    for label, value in (("mean", vpt.mean()), ("min", vpt.min()), ("max", vpt.max())):
        row = [label, f"{value:.3f}"]
        if lyap_time is not None:
            row.append(f"{value / lyap_time:.2f}")
        table.add_row(*row)
    console.print(table)
    return {
        "test": {
            "windows": int(len(steps)),
            "horizon_steps": horizon,
            "threshold": 0.4,
            "vpt_steps": steps,
            "vpt_time": vpt,
            "vpt_mean_time": float(vpt.mean()),
            "lyapunov_time": lyap_time,
            "vpt_lyapunov_times": None if lyap_time is None else vpt / lyap_time,
            "vpt_mean_lyapunov_times": None if lyap_time is None else float(vpt.mean() / lyap_time),
        },
        "lyapunov_exponents": {"learned": learned, "true": true_exp, "unit": unit},
    }


def _search_record(search) -> dict[str, Any] | None:
    if search is None:
        return None
    return {
        "parameters": list(search.parameters),
        "mean_vpt_time": np.asarray(search.mean_vpt),
        "best": search.best,
    }


@app.command("esn", epilog=ESN_EPILOG)
@guard
def esn(
    system: SystemArg = None,
    param: ParamOpt = None,
    system_file: SystemFileOpt = None,
    data: DataOpt = None,
    points: PointsOpt = None,
    dt: Annotated[
        float | None, typer.Option("--dt", help="Sampling step of a flow \\[default: 0.02].")
    ] = None,
    noise: NoiseOpt = 0.0,
    units: Annotated[int, typer.Option("--units", help="Reservoir units n.")] = 600,
    spectral_radius: Annotated[
        list[float] | None,
        typer.Option(
            "--spectral-radius", help="Spectral radius of W \\[default: 0.9]; repeat for a grid."
        ),
    ] = None,
    ridge: RidgeOpt = None,
    leak: Annotated[float, typer.Option("--leak", help="Leak rate in (0, 1].")] = 1.0,
    input_scaling: Annotated[
        float, typer.Option("--input-scaling", help="Scale of W_in (normalised inputs).")
    ] = 0.25,
    bias_scaling: Annotated[float, typer.Option("--bias-scaling", help="Scale of the bias.")] = 0.5,
    density: Annotated[
        float, typer.Option("--density", help="Fraction of nonzero entries of W.")
    ] = 0.01,
    features: Annotated[
        str, typer.Option("--features", help="quadratic ([1, r, r^2]) or linear ([1, r]).")
    ] = "quadratic",
    washout: Annotated[
        int, typer.Option("--washout", help="Observations that synchronise the reservoir.")
    ] = 100,
    horizon: HorizonOpt = 1_000,
    test_starts: TestStartsOpt = 10,
    seed: SeedOpt = 0,
    lyap_steps: LyapStepsOpt = 20_000,
    out: OutDirOpt = Path("esn"),
    no_plot: NoPlotsOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Fit an echo-state network (sparse random reservoir, ridge readout); judge its
    closed-loop forecasts and Lyapunov exponents against the true system's."""
    units = _positive(units, "--units")
    washout = _positive(washout, "--washout")
    horizon = _positive(horizon, "--horizon")
    test_starts = _positive(test_starts, "--test-starts")
    lyap_steps = _positive(lyap_steps, "--lyap-steps")
    if features not in ("quadratic", "linear"):
        raise UserError(f"--features must be quadratic or linear, got {features!r}.")
    if not 0 < leak <= 1:
        raise UserError(f"--leak must lie in (0, 1], got {leak}.")
    if not 0 < density <= 1:
        raise UserError(f"--density must lie in (0, 1], got {density}.")
    radii = spectral_radius or [0.9]
    ridges = ridge or [1e-8]
    if any(not r > 0 for r in radii):
        raise UserError(f"--spectral-radius must be positive, got {radii}.")
    if any(not r >= 0 for r in ridges):
        raise UserError(f"--ridge must be >= 0, got {ridges}.")
    sysm = _system(system, param, system_file, data)
    window = washout + horizon
    train, val, test, dt = _reservoir_data(
        sysm, data, points, dt, noise, seed, default_dt=0.02, default_points=20_000,
        reserve=test_starts * window,
    )  # fmt: skip
    out = _out_dir(out)
    console = make_console(quiet)
    name = cjio.system_name(sysm) if sysm is not None else str(data)
    grid = {k: v for k, v in (("spectral_radius", radii), ("ridge", ridges)) if len(v) > 1}
    with interrupt_note(console, "Files already written are kept whole."):
        t0 = time.time()
        res = cj.learn.fit_esn(
            train, dt=1.0 if dt is None else dt, key=jax.random.key(seed), n=units,
            spectral_radius=radii[0], ridge=ridges[0], leak=leak, input_scaling=input_scaling,
            bias_scaling=bias_scaling, density=density, features=features, washout=washout,
            search=grid or None, validation=val if grid else None,
            validation_starts=min(test_starts, 5), validation_steps=horizon,
        )  # fmt: skip
        seconds = time.time() - t0
        model = res.model
        chosen = {"spectral_radius": radii[0], "ridge": ridges[0]}
        if res.search is not None:
            chosen.update(res.search.parameters[res.search.best])
        console.print(
            f"Echo-state network ({units} units, {features} readout) on "
            f"{sum(x.shape[0] for x in train)} samples of {name} ({seconds:.1f} s): "
            f"training NMSE {float(res.nmse):.3e}, spectral radius {chosen['spectral_radius']}, "
            f"ridge {chosen['ridge']:g}."
        )
        judged = _judge_reservoir(
            console, model, sysm, test, dt, starts=test_starts, horizon=horizon,
            lyap_steps=lyap_steps,
        )  # fmt: skip
        probe = np.asarray(model.default_state())
        metrics = {
            "model": "esn",
            "system": name,
            "parameters": cjio.system_parameters(sysm) if sysm is not None else None,
            "data": str(data) if data is not None else None,
            "points": int(sum(x.shape[0] for x in train)),
            "dt": dt,
            "noise": noise,
            "seed": seed,
            "units": units,
            "spectral_radius": chosen["spectral_radius"],
            "ridge": chosen["ridge"],
            "leak": leak,
            "input_scaling": input_scaling,
            "bias_scaling": bias_scaling,
            "density": density,
            "features": features,
            "washout": washout,
            "seconds": seconds,
            "nmse": float(res.nmse),
            "search": _search_record(res.search),
            **judged,
            "prediction_check": {
                "state": probe,
                "step": np.asarray(model.step(jnp.asarray(probe))),
            },
        }
        _write(console, out, model, metrics)
        learned = judged["lyapunov_exponents"]["learned"]
        if not no_plot and learned is not None:
            _exponent_figure(
                out / "exponents.png", learned, judged["lyapunov_exponents"]["true"],
                judged["lyapunov_exponents"]["unit"], f"{name}: echo-state network",
            )  # fmt: skip
            console.print(f"Wrote {out / 'exponents.png'}.")


@app.command("ngrc", epilog=NGRC_EPILOG)
@guard
def ngrc(
    system: SystemArg = None,
    param: ParamOpt = None,
    system_file: SystemFileOpt = None,
    data: DataOpt = None,
    points: PointsOpt = None,
    dt: Annotated[
        float | None, typer.Option("--dt", help="Sampling step of a flow \\[default: 0.025].")
    ] = None,
    noise: NoiseOpt = 0.0,
    lags: Annotated[int, typer.Option("--lags", help="Delayed observations k.")] = 2,
    skip: Annotated[int, typer.Option("--skip", help="Spacing s of the delays, in steps.")] = 1,
    degree: Annotated[int, typer.Option("--degree", help="Largest monomial degree.")] = 2,
    ridge: RidgeOpt = None,
    horizon: HorizonOpt = 1_000,
    test_starts: TestStartsOpt = 10,
    seed: SeedOpt = 0,
    lyap_steps: LyapStepsOpt = 20_000,
    out: OutDirOpt = Path("ngrc"),
    no_plot: NoPlotsOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Fit a next-generation reservoir computer (polynomial features of delayed
    observations, ridge readout of the increment); judge its forecasts and exponents."""
    lags = _positive(lags, "--lags")
    skip = _positive(skip, "--skip")
    degree = _positive(degree, "--degree")
    horizon = _positive(horizon, "--horizon")
    test_starts = _positive(test_starts, "--test-starts")
    lyap_steps = _positive(lyap_steps, "--lyap-steps")
    ridges = ridge or [2.5e-6]
    if any(not r >= 0 for r in ridges):
        raise UserError(f"--ridge must be >= 0, got {ridges}.")
    sysm = _system(system, param, system_file, data)
    history = (lags - 1) * skip + 1
    train, val, test, dt = _reservoir_data(
        sysm, data, points, dt, noise, seed, default_dt=0.025, default_points=400,
        reserve=test_starts * (history + horizon),
    )  # fmt: skip
    if any(x.shape[0] <= history for x in train):
        raise UserError(f"--lags {lags} and --skip {skip} need more than {history} training rows.")
    out = _out_dir(out)
    console = make_console(quiet)
    name = cjio.system_name(sysm) if sysm is not None else str(data)
    grid = {"ridge": ridges} if len(ridges) > 1 else None
    with interrupt_note(console, "Files already written are kept whole."):
        t0 = time.time()
        res = cj.learn.fit_ngrc(
            train, dt=1.0 if dt is None else dt, lags=lags, skip=skip, degree=degree,
            ridge=ridges[0], search=grid, validation=val if grid else None,
            validation_starts=min(test_starts, 5), validation_steps=horizon,
        )  # fmt: skip
        seconds = time.time() - t0
        model = res.model
        chosen = res.search.parameters[res.search.best]["ridge"] if res.search else ridges[0]
        console.print(
            f"NG-RC ({lags} lags, skip {skip}, degree {degree}, {model.W_out.shape[1]} "
            f"features) on {sum(x.shape[0] for x in train)} samples of {name} "
            f"({seconds:.2f} s): increment NMSE {float(res.nmse):.3e}, ridge {chosen:g}."
        )
        judged = _judge_reservoir(
            console, model, sysm, test, dt, starts=test_starts, horizon=horizon,
            lyap_steps=lyap_steps,
        )  # fmt: skip
        names = list(sysm.variable_names()) if sysm is not None else None
        features = model.feature_names(names)
        probe = np.asarray(model.default_state())
        metrics = {
            "model": "ngrc",
            "system": name,
            "parameters": cjio.system_parameters(sysm) if sysm is not None else None,
            "data": str(data) if data is not None else None,
            "points": int(sum(x.shape[0] for x in train)),
            "dt": dt,
            "noise": noise,
            "seed": seed,
            "lags": lags,
            "skip": skip,
            "degree": degree,
            "ridge": chosen,
            "seconds": seconds,
            "nmse": float(res.nmse),
            "features": features,
            "search": _search_record(res.search),
            **judged,
            "prediction_check": {
                "state": probe,
                "step": np.asarray(model.step(jnp.asarray(probe))),
            },
        }
        _write(console, out, model, metrics)
        learned = judged["lyapunov_exponents"]["learned"]
        if not no_plot and learned is not None:
            _exponent_figure(
                out / "exponents.png", learned, judged["lyapunov_exponents"]["true"],
                judged["lyapunov_exponents"]["unit"], f"{name}: NG-RC",
            )  # fmt: skip
            console.print(f"Wrote {out / 'exponents.png'}.")
