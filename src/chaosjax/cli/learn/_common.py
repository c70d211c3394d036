"""The options and helpers the `chaosjax learn` subcommands share.

Every subcommand gets its training data the same way (simulated from the true system
or read with `--data`), judges the fitted model by the same Lyapunov spectra and writes
the same files, so those steps live here once: a difference between two commands'
metrics is then a difference between the models, never between copies of the code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import jax
import jax.numpy as jnp
import numpy as np
import typer
from rich.table import Table

import chaosjax as cj

from ... import io as cjio
from ...systems import Flow, Map
from .._errors import UserError
from .._options import dt_for, resolve_system
from .._output import check_out_dir

MODEL_FILE = "model.eqx"
METRICS_FILE = "metrics.json"
KEPT = "Files already written are kept whole."

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
ForceOpt = Annotated[
    bool,
    typer.Option("--force", help="Replace read-only files in --out (they stay read-only)."),
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
LyapDtOpt = Annotated[float, typer.Option("--lyap-dt", help="Time step of the Lyapunov spectra.")]
NoPlotsOpt = Annotated[bool, typer.Option("--no-plot", help="Write no figures.")]
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


# --------------------------------------------------------------------------- options


def positive(value: int, option: str) -> int:
    if value < 1:
        raise UserError(f"{option} must be a positive integer, got {value}.")
    return value


def positive_real(value: float, option: str) -> float:
    # `not value > 0` also refuses NaN.
    if not value > 0:
        raise UserError(f"{option} must be positive, got {value}.")
    return value


def nonnegative(value: float, option: str) -> float:
    if not value >= 0:
        raise UserError(f"{option} must be >= 0, got {value}.")
    return value


def ridge_grid(ridge: list[float] | None, default: float) -> list[float]:
    """--ridge: one value, or several for a grid searched on validation data."""
    ridges = ridge or [default]
    if any(not r >= 0 for r in ridges):
        raise UserError(f"--ridge must be >= 0, got {ridges}.")
    return ridges


def out_dir(out: Path, force: bool = False) -> Path:
    """--out: a directory that exists or can be created, is writable, and holds no
    read-only output file unless --force."""
    return check_out_dir(out, force=force)


def true_system(
    system: str | None, param: list[str] | None, system_file: str | None, data: Path | None
) -> Flow | Map | None:
    """The true system: SYSTEM / --system-file, None with --data alone."""
    if system is None and system_file is None:
        if data is None:
            raise UserError("Give a SYSTEM (see `chaosjax systems`) or --data FILE.")
        return None
    sysm, _, _ = resolve_system(system, param, system_file)
    return sysm


def source_name(sysm: Flow | Map | None, data: Path | None) -> str:
    """What the model was learned from, as the console and metrics.json name it."""
    return cjio.system_name(sysm) if sysm is not None else str(data)


# --------------------------------------------------------------------------- data


def read_data(data: Path) -> tuple[np.ndarray, float | None]:
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


def file_states(
    data: Path, points: int | None, dt: float | None, noise: float
) -> tuple[np.ndarray, float | None]:
    """--data's states and time step (--dt over the file's); the file is used as it is."""
    if points is not None or noise:
        raise UserError("--points and --noise apply to simulated data, not --data.")
    states, file_dt = read_data(data)
    return states, (dt if dt is not None else file_dt)


def add_noise(xs: np.ndarray, noise: float, seed: int) -> np.ndarray:
    """Gaussian noise, `noise` times each coordinate's std; its key is apart from the fit's."""
    if not noise > 0:
        return xs
    eps = np.asarray(jax.random.normal(jax.random.key(seed + 1), xs.shape, xs.dtype))
    return xs + noise * xs.std(axis=0) * eps


def simulate(
    sysm: Flow | Map, points: int, dt: float | None, noise: float, seed: int
) -> np.ndarray:
    """`points` states on the attractor (after a transient), with relative noise."""
    transient = 2_000 if isinstance(sysm, Flow) else 1_000
    xs = cj.trajectory(sysm, sysm.default_state(), steps=points - 1, dt=dt, transient=transient)
    xs = np.asarray(xs, dtype=np.float64)
    bad = np.flatnonzero(~np.all(np.isfinite(xs), axis=-1))
    if bad.size:
        raise cj.DivergenceError("the simulated training data are not finite.", int(bad[0]))
    return add_noise(xs, noise, seed)


def sample_size(points: int | None, default: int) -> int:
    return default if points is None else positive(points, "--points")


def training_states(
    sysm: Flow | Map | None,
    data: Path | None,
    points: int | None,
    dt: float | None,
    noise: float,
    seed: int,
    *,
    default_dt: float,
    default_points: int,
) -> tuple[np.ndarray, float | None]:
    """The training states, read from `--data` or simulated from `sysm`, and their dt."""
    if data is not None:
        return file_states(data, points, dt, noise)
    assert sysm is not None
    dt = dt_for(sysm, dt, default_dt)
    return simulate(sysm, sample_size(points, default_points), dt, noise, seed), dt


# --------------------------------------------------------------------------- judging


def spectrum(
    sysm: Flow | Map, x0: Any, steps: int, dt: float | None, k: int | None = None
) -> list[float] | None:
    """The Lyapunov spectrum, None if the orbit diverges (a poor model may)."""
    kw: dict[str, Any] = {"dt": dt} if isinstance(sysm, Flow) else {}
    try:
        res = cj.lyapunov_spectrum(sysm, x0, steps=steps, transient=steps // 10, k=k, **kw)
    except cj.DivergenceError:
        return None
    lam = np.asarray(res.exponents, dtype=float)
    return [float(x) for x in lam] if np.all(np.isfinite(lam)) else None


def exponent_table(console, learned, true, unit: str) -> None:
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


def prediction_check(model: Flow | Map) -> dict[str, np.ndarray]:
    """One state and the model's output there: lets a reader check that `cj.learn.load`
    gives this very model back."""
    probe = np.asarray(model.default_state())
    if isinstance(model, Flow):
        return {"state": probe, "vector_field": np.asarray(model.vector_field(jnp.asarray(probe)))}
    return {"state": probe, "step": np.asarray(model.step(jnp.asarray(probe)))}


def run_record(
    model: str,
    sysm: Flow | Map | None,
    data: Path | None,
    points: int,
    dt: float | None,
    noise: float,
    seed: int,
) -> dict[str, Any]:
    """The head of metrics.json, the same in every subcommand: what was learned from."""
    return {
        "model": model,
        "system": source_name(sysm, data),
        "parameters": cjio.system_parameters(sysm) if sysm is not None else None,
        "data": str(data) if data is not None else None,
        "points": points,
        "dt": dt,
        "noise": noise,
        "seed": seed,
    }


# --------------------------------------------------------------------------- files


def write(console, out: Path, model, metrics: dict[str, Any]) -> None:
    cj.learn.save(model, out / MODEL_FILE)
    cjio.write_json(out / METRICS_FILE, metrics)
    console.print(f"Wrote {out / MODEL_FILE} and {out / METRICS_FILE}.")


def exponent_figure(console, out: Path, learned, true, unit: str, title: str) -> None:
    """DIR/exponents.png, learned bars beside the true exponents; none if the orbit diverged."""
    if learned is None:
        return
    # matplotlib loads only when a figure is asked for.
    from ... import plot as cjp

    cjio.save_figure(
        cjp.lyapunov_spectrum_bars(
            np.asarray(learned), reference=true, unit=unit, title=f"{title} (bars: learned)"
        ),
        out / "exponents.png",
    )
    console.print(f"Wrote {out / 'exponents.png'}.")


def loss_figure(console, out: Path, steps, train, best: int, title: str) -> None:
    """DIR/loss.png: every restart's training loss, the selected one marked."""
    from ... import plot as cjp

    cjio.save_figure(cjp.loss_curves(steps, train, best=best, title=title), out / "loss.png")
    console.print(f"Wrote {out / 'loss.png'}.")


# --------------------------------------------------------------------------- flows


def flow_data(
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
    nonnegative(noise, "--noise")
    if sysm is not None and not isinstance(sysm, Flow):
        raise UserError(f"{what} learns flows; {cjio.system_name(sysm)} is a map.")
    states, dt = training_states(
        sysm, data, points, dt, noise, seed, default_dt=default_dt, default_points=default_points
    )
    # A flow's dt is never None once simulated, so None means a file that records none.
    if dt is None:
        raise UserError(f"--data {str(data)!r} records no dt; give --dt.")
    return states, positive_real(dt, "--dt")


def judge_flow(
    console,
    model: Flow,
    sysm: Flow | Map | None,
    states: np.ndarray,
    lyap_steps: int,
    lyap_dt: float,
) -> dict[str, Any]:
    """The learned field's relative error on the data and both Lyapunov spectra, as
    metrics.json records them."""
    flat = jnp.asarray(states.reshape(-1, states.shape[-1]))
    vf_error = None
    if isinstance(sysm, Flow):
        f_true = jax.vmap(sysm.vector_field)(flat)
        f_model = jax.vmap(model.vector_field)(flat)
        vf_error = float(jnp.linalg.norm(f_model - f_true) / jnp.linalg.norm(f_true))
        console.print(f"Relative vector-field error on the data: {vf_error:.3e}")
    learned = spectrum(model, flat[-1], lyap_steps, lyap_dt)
    true = spectrum(sysm, flat[-1], lyap_steps, lyap_dt) if sysm is not None else None
    exponent_table(console, learned, true, "per unit time")
    return {
        "vector_field_relative_error": vf_error,
        "lyapunov_exponents": {"learned": learned, "true": true, "unit": "per unit time"},
    }


# --------------------------------------------------------------------------- reservoirs


def reservoir_checks(horizon: int, test_starts: int, lyap_steps: int) -> tuple[int, int, int]:
    return (
        positive(horizon, "--horizon"),
        positive(test_starts, "--test-starts"),
        positive(lyap_steps, "--lyap-steps"),
    )


def split_file(states: np.ndarray, reserve: int) -> tuple[list, list, list]:
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


def reservoir_data(
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
    `reserve` rows of validation, then `reserve` of test; --noise only on the first two,
    so that the test judges forecasts of the clean system.
    """
    nonnegative(noise, "--noise")
    if data is not None:
        states, dt = file_states(data, points, dt, noise)
        if dt is not None:
            positive_real(dt, "--dt")
        train, val, test = split_file(states, reserve)
        return train, val, test, dt
    assert sysm is not None
    dt = dt_for(sysm, dt, default_dt)
    n = sample_size(points, default_points)
    xs = simulate(sysm, n + 2 * reserve, dt, 0.0, seed)
    fitted = add_noise(xs[: n + reserve], noise, seed)
    return [fitted[:n]], [fitted[n:]], [xs[n + reserve :]], dt


def tuning(grid: dict[str, list[float]] | None, val: list, test_starts: int, horizon: int):
    """The grid-search arguments of `fit_esn` / `fit_ngrc`: validation data only with a grid."""
    return {
        "search": grid or None,
        "validation": val if grid else None,
        "validation_starts": min(test_starts, 5),
        "validation_steps": horizon,
    }


def judge_reservoir(
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
    from ...learn import _reservoir as rc

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
    learned = spectrum(model, x0, lyap_steps, None, k=k)
    true_exp = None
    if sysm is not None:
        true_exp = spectrum(sysm, sysm.default_state(), lyap_steps, dt)
    exponent_table(console, learned, true_exp, unit)
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


def search_record(search) -> dict[str, Any] | None:
    if search is None:
        return None
    return {
        "parameters": list(search.parameters),
        "mean_vpt_time": np.asarray(search.mean_vpt),
        "best": search.best,
    }


def finish_reservoir(
    console,
    out: Path,
    model: Map,
    sysm: Flow | Map | None,
    test: list,
    dt: float | None,
    record: dict[str, Any],
    search,
    *,
    starts: int,
    horizon: int,
    lyap_steps: int,
    no_plot: bool,
    title: str,
) -> None:
    """Judge a fitted reservoir on the test windows, then write its model, metrics
    (`record`, the search, the judgement) and exponent figure."""
    judged = judge_reservoir(
        console, model, sysm, test, dt, starts=starts, horizon=horizon, lyap_steps=lyap_steps
    )
    metrics = {
        **record,
        "search": search_record(search),
        **judged,
        "prediction_check": prediction_check(model),
    }
    write(console, out, model, metrics)
    if not no_plot:
        exps = judged["lyapunov_exponents"]
        exponent_figure(console, out, exps["learned"], exps["true"], exps["unit"], title)
