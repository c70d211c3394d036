"""Judging a learned model as a dynamical system: one call, the whole verdict.

A model that forecasts well for a few steps may still have the wrong attractor, and a
model with the right attractor may forecast badly; papers report one figure or the
other. `evaluate` reports three kinds of figures on the same model, measured on the
same true runs:

- **short term**: the valid prediction time from many test starts (Pathak, Hunt,
  Girvan, Lu & Ott 2018, Phys. Rev. Lett. 120, 024102; Vlachas et al. 2020, Neural
  Networks 126, 191);
- **long term, statistics**: the per-coordinate Wasserstein distance between the
  invariant distributions of long model runs and long true runs, beside the distances
  between the true runs themselves (the reference without which a distance means
  nothing; M. Shalova & I. Oseledets 2020, "Tensorized transformers for learning
  dynamical systems", arXiv:2002.05111, report both);
- **long term, dynamics**: the Lyapunov spectrum and Kaplan-Yorke dimension of the
  closed-loop model against those of the truth, and for delay models their lag
  sensitivities (A. Maus 2011, https://adammaus.com/wp/2011/04/modeling-sensitivity-using-neural-networks/).

Everything is computed through the generic interfaces of `cj.Map` / `cj.Flow`: the model
is stepped by its one-step map, its observations are `model.observe(state)`, and its
state at a test start is `model.synchronise(history)` from the true observations before
it. So a delay MLP, a neural ODE, SINDy, a reservoir computer and any user's system are
judged by the same code.
"""

from __future__ import annotations

import math
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr
from jaxtyping import Array, PRNGKeyArray

from .. import _validate as v
from .._results import Result
from ..discretize import as_map
from ..lyapunov import kaplan_yorke_dimension, lyapunov_spectrum
from ..metrics import spectrum_distance, valid_prediction_time, wasserstein_comparison
from ..sensitivity import lag_sensitivities
from ..systems import Flow, Map

__all__ = ["Verdict", "evaluate", "verdict_table"]


class Verdict(Result):
    """The result of `cj.learn.evaluate`: an xarray Dataset and its summary table.

    `print(verdict)` prints the table; `verdict.dataset` holds every figure with its
    coordinates (see `evaluate` for the variables); `chaosjax.plot.verdict_figures`
    draws it.

    **Attributes:**

    - `dataset`: the `xarray.Dataset`.
    """

    dataset: xr.Dataset

    def table(self) -> str:
        """The verdict as a plain-text table."""
        return verdict_table(self.dataset)

    def __str__(self) -> str:
        return self.table()

    def to_xarray(self) -> xr.Dataset:
        """The verdict's Dataset itself (`dataset`)."""
        return self.dataset

    @property
    def vpt(self) -> float:
        """Mean valid prediction time in Lyapunov times (in time units when the truth
        has no positive exponent)."""
        ds = self.dataset
        name = "vpt_lyapunov" if "vpt_lyapunov" in ds else "vpt_time"
        return float(ds[name].mean())

    @property
    def wasserstein_ratio(self) -> np.ndarray:
        """Per coordinate: mean model-vs-truth distance over mean truth-vs-truth."""
        return np.asarray(self.dataset["wasserstein_ratio"])


def _name(system: object) -> str:
    return getattr(system, "name", "") or type(system).__name__


def _observations(system: Flow | Map, states: Array) -> Array:
    """observe(x) over any leading axes of `states`."""
    fn = system.observe
    for _ in range(states.ndim - 1):
        fn = jax.vmap(fn)
    return fn(states)


@eqx.filter_jit
def _observed_runs(m: Map, system: Any, x0: Array, steps: int, transient: int):
    """From each row of `x0`: `transient` steps dropped, then the observations of
    `steps + 1` states (the first is the state after the transient) and the final state.
    Non-finite states are carried on (the caller reads them as divergence)."""

    def one(x):
        x = jax.lax.fori_loop(0, transient, lambda _, x: m.step(x), x)

        def body(x, _):
            return m.step(x), system.observe(x)

        x_end, obs = jax.lax.scan(body, x, None, length=steps)
        return jnp.concatenate([obs, system.observe(x_end)[None]]), x_end

    return jax.vmap(one)(x0)


def _check_time(model: object, truth: object, dt: object) -> float | None:
    """The common time per step, and the `dt` the flows among the two need."""
    flows = isinstance(model, Flow) or isinstance(truth, Flow)
    steps = {
        float(s.time_per_step)
        for s in (model, truth)
        if isinstance(s, Map) and s.time_per_step != 1.0
    }
    if dt is None and steps:
        dt = steps.pop() if len(steps) == 1 else None
    if dt is not None:
        dt = v.positive_float(dt, "dt")
    if flows and dt is None:
        raise ValueError("`dt` is required when the model or the truth is a flow, got None.")
    for name, s in (("model", model), ("truth", truth)):
        if isinstance(s, Map) and s.time_per_step != 1.0 and dt is not None:
            if not math.isclose(float(s.time_per_step), dt, rel_tol=1e-12):
                raise ValueError(
                    f"`{name}` steps {float(s.time_per_step)} time units per step, but the "
                    f"comparison runs at dt = {dt}: they must agree."
                )
    return dt


def _as_map(system: Flow | Map, dt: float | None, solver: str) -> Map:
    if isinstance(system, Flow):
        return as_map(system, dt, solver)
    return as_map(system)


def evaluate(
    model: object,
    truth: object,
    *,
    dt: float | None = None,
    solver: str = "rk4",
    starts: int = 10,
    runs: int = 5,
    run_steps: int | None = None,
    transient: int = 2_000,
    horizon: float = 20.0,
    horizon_steps: int | None = None,
    threshold: float = 0.4,
    spectrum_steps: int = 20_000,
    k: int | None = None,
    keep: int = 4_000,
    key: PRNGKeyArray | None = None,
) -> Verdict:
    """Judge `model` as a copy of `truth`: forecasts, invariant distribution, dynamics.

    The truth is run `runs` times for `run_steps` steps after `transient` from
    `truth.sample_state(key, runs)`. Test starts are taken at evenly spaced points of
    these runs; from each, the model is synchronised on the `model.history_length` true
    observations up to the start (`model.synchronise`), run closed-loop for the horizon,
    and compared with the true continuation: the valid prediction time is the first time
    the RMS error, in units of each observed coordinate's standard deviation on the true
    runs, exceeds `threshold` (`cj.metrics.valid_prediction_time`). Then the model is run
    `transient + run_steps` steps from the start of every true run and the first
    `transient` are dropped; per observed coordinate, the exact 1-D Wasserstein distance
    between each model run and each true run is set beside the distances between all
    pairs of true runs (`cj.metrics.wasserstein_comparison`). Finally the Lyapunov
    spectra of model and truth (the first `k` exponents, by `cj.lyapunov_spectrum`, from
    the end of the first run of each), their Kaplan-Yorke dimensions
    (`cj.metrics.spectrum_distance`) and, for maps on delay vectors
    (`delay_coordinates`), the lag sensitivities of both (`cj.lag_sensitivities`).

    A model whose runs leave every bound is reported, not raised: its forecasts count as
    failed from the first non-finite state, its distances are infinite and its exponents
    NaN, with `diverged` set.

    **Arguments:**

    - `model`: the `cj.Map` or `cj.Flow` to judge (a fitted model or any system). It
      must observe as many quantities as the truth. (Typed `object`: anything else is
      caught here and named.)
    - `truth`: the true `cj.Map` or `cj.Flow`.
    - `dt`: time per step for flows (the neural ODE and the truth are stepped with
      `solver` over `dt`); by default the `time_per_step` of a model map of a flow (an
      echo-state network fitted at dt = 0.02 steps 0.02).
    - `solver`: the flows' solver (default "rk4").
    - `starts`: test starts (default 10), spread over the true runs.
    - `runs`: long true runs, and as many model runs (default 5, at least 2).
    - `run_steps`: steps of each long run (default: 20,000, or more when the test
      starts need more; an explicit value that is too short for them is an error).
    - `transient`: steps dropped before each run (default 2,000).
    - `horizon`: the forecast length in Lyapunov times of the truth (default 20).
    - `horizon_steps`: the forecast length in steps instead (required when the truth
      has no positive exponent).
    - `threshold`: the normalised RMS error that ends a valid prediction (default 0.4).
    - `spectrum_steps`: steps of each Lyapunov spectrum (default 20,000).
    - `k`: exponents to compute (default: the truth's dimension).
    - `keep`: samples of the first model and true runs kept in the dataset for
      figures (default 4,000).
    - `key`: a JAX PRNG key for the truth's initial states (default key 0).

    **Returns:**

    A `Verdict`: `print(verdict)` gives the table; `verdict.dataset` has, over the
    dimensions `start`, `step` (forecast steps), `coordinate`, `exponent`, `model_run`,
    `true_run`, `pair`, `sample` and `lag`: `vpt_steps`, `vpt_time`, `vpt_lyapunov`
    (per start), `forecast_error` (start, step), `forecast` and `truth_forecast`
    (start, step, coordinate), `exponents_model`, `exponents_truth`, `ky_model`,
    `ky_truth`, `largest_relative_error`, `wasserstein_model` (model_run, true_run,
    coordinate), `wasserstein_reference` (pair, coordinate), `wasserstein_ratio`
    (coordinate), `long_model` and `long_truth` (sample, coordinate),
    `lag_sensitivities_model` / `_truth` (lag) for delay maps; attributes name the
    model, truth, `dt`, `threshold`, `lyapunov_time` and `diverged`.

    Example:

    ```python
    cj.enable_x64()
    hen = cj.systems.Henon()
    verdict = cj.learn.evaluate(hen.replace(a=1.39), hen, starts=10, run_steps=5_000)
    print(verdict)                 # VPT, exponents, KY dimension, Wasserstein ratios
    ```
    """
    if not isinstance(model, (Flow, Map)):
        raise ValueError(f"`model` must be a cj.Map or cj.Flow, got {type(model).__name__}.")
    if not isinstance(truth, (Flow, Map)):
        raise ValueError(f"`truth` must be a cj.Map or cj.Flow, got {type(truth).__name__}.")
    v.system_parameters(model, "model")
    v.system_parameters(truth, "truth")
    starts = v.positive_int(starts, "starts")
    runs = v.positive_int(runs, "runs")
    if runs < 2:
        raise ValueError(
            f"`runs` must be at least 2 (the true-vs-true reference needs a pair), got {runs}."
        )
    if run_steps is not None:
        run_steps = v.positive_int(run_steps, "run_steps")
    transient = v.nonnegative_int(transient, "transient")
    spectrum_steps = v.positive_int(spectrum_steps, "spectrum_steps")
    keep = v.positive_int(keep, "keep")
    threshold = v.positive_float(threshold, "threshold")
    horizon = v.positive_float(horizon, "horizon")
    if horizon_steps is not None:
        horizon_steps = v.positive_int(horizon_steps, "horizon_steps")
    truth_obs = jax.eval_shape(truth.observe, truth.default_state())
    model_obs = jax.eval_shape(model.observe, model.default_state())
    if truth_obs.shape != model_obs.shape:
        raise ValueError(
            f"`model` observes shape {model_obs.shape} per state, but `truth` observes "
            f"{truth_obs.shape}: they must describe the same quantities."
        )
    dt = _check_time(model, truth, dt)
    k_truth = truth.dim if k is None else v.positive_int(k, "k")
    if k_truth > truth.dim:
        raise ValueError(f"`k` must be at most the truth's dimension {truth.dim}, got {k_truth}.")
    k_model = min(k_truth, model.dim)
    checked_key = jax.random.key(0) if key is None else v.prng_key(key)
    mt, mm = _as_map(truth, dt, solver), _as_map(model, dt, solver)
    tps = float(mt.time_per_step)
    history = int(model.history_length)

    # The truth's spectrum (from its own start) fixes the Lyapunov time and the horizon.
    key_runs, key_spectrum = jax.random.split(checked_key)
    truth_spec = lyapunov_spectrum(
        truth,
        truth.sample_state(key_spectrum, 1)[0],
        spectrum_steps,
        dt=dt if isinstance(truth, Flow) else None,
        solver=solver,
        transient=transient,
        k=k_truth,
    )
    lam1 = float(truth_spec.exponents[0])
    lyapunov_time = 1.0 / lam1 if lam1 > 0 else None
    if horizon_steps is None:
        if lyapunov_time is None:
            raise ValueError(
                f"the truth's largest exponent is {lam1:.3g} <= 0, so `horizon` in "
                "Lyapunov times is undefined: give `horizon_steps`."
            )
        horizon_steps = max(1, math.ceil(horizon * lyapunov_time / tps))

    # Test starts: `per_run` disjoint windows of history + horizon in each true run.
    per_run = -(-starts // runs)
    window = history + horizon_steps
    if run_steps is None:
        run_steps = max(20_000, per_run * window - 1)
    elif per_run * window > run_steps + 1:
        raise ValueError(
            f"`run_steps` ({run_steps}) is too short: {starts} starts over {runs} runs need "
            f"{per_run} windows of {window} steps each (a history of {history} and a "
            f"horizon of {horizon_steps} steps = {horizon:g} Lyapunov times) in every run; "
            f"raise `run_steps` or `runs`, or lower `starts` or `horizon`."
        )

    # The long true runs: the pool of test starts and the reference distributions.
    x0 = truth.sample_state(key_runs, runs)
    true_obs, true_end = _observed_runs(mt, truth, x0, run_steps, transient)
    true_obs_np = np.asarray(true_obs)
    if not np.all(np.isfinite(true_obs_np)):
        raise ValueError(
            "`truth` left every bound from its sampled initial states; check its "
            "parameters, `dt` and `solver`."
        )
    scale = true_obs_np.reshape(-1, true_obs_np.shape[-1]).std(axis=0)
    offsets = np.linspace(0, run_steps + 1 - window, per_run).astype(int)
    run_of = np.arange(starts) % runs
    first = offsets[np.arange(starts) // runs]
    idx = first[:, None] + np.arange(window)[None, :]
    windows = true_obs_np[run_of[:, None], idx]  # (starts, window, obs)
    histories = jnp.asarray(windows[:, :history])
    truth_forecast = windows[:, history - 1 :]  # (starts, horizon_steps + 1, obs)

    s0 = jax.vmap(model.synchronise)(histories)
    forecast, _ = _observed_runs(mm, model, s0, horizon_steps, 0)
    forecast = np.asarray(forecast)
    vpt = valid_prediction_time(
        jnp.asarray(forecast),
        jnp.asarray(truth_forecast),
        threshold,
        scale=jnp.asarray(scale),
        dt=tps,
        lyapunov_time=lyapunov_time,
    )

    # Long model runs from the start of every true run.
    s_runs = jax.vmap(model.synchronise)(jnp.asarray(true_obs_np[:, :history]))
    model_obs, model_end = _observed_runs(mm, model, s_runs, run_steps, transient)
    model_obs_np = np.asarray(model_obs)
    run_ok = np.all(np.isfinite(model_obs_np), axis=(1, 2))
    diverged = not bool(run_ok.all())
    # With no finite model run, the true runs stand in so the reference is still computed;
    # every model distance stays infinite.
    finite_runs = model_obs_np[run_ok] if run_ok.any() else true_obs_np[:1]
    comparison = wasserstein_comparison(list(true_obs_np), list(finite_runs))
    n_obs = true_obs_np.shape[-1]
    w_model = np.full((runs, runs, n_obs), np.inf)
    if run_ok.any():
        w_model[run_ok] = np.asarray(comparison.model)
    w_ref = np.asarray(comparison.reference)
    ratio = w_model.mean(axis=(0, 1)) / w_ref.mean(axis=0)

    # The model's spectrum from the end of its first finite run.
    if run_ok.any():
        start = model_end[int(np.argmax(run_ok))]
        model_spec = lyapunov_spectrum(
            model,
            start,
            spectrum_steps,
            dt=dt if isinstance(model, Flow) else None,
            solver=solver,
            k=k_model,
            throw=False,
        )
        model_exps = np.asarray(model_spec.exponents, dtype=float)
        # Non-finite exponents alone are not a divergence: a map on discrete states
        # (a token history) has a degenerate Jacobian and exponents -inf.
    else:
        model_exps = np.full(k_model, np.nan)
    largest_error = (
        float(
            spectrum_distance(jnp.asarray(model_exps), truth_spec.exponents).largest_relative_error
        )
        if np.all(np.isfinite(model_exps))
        else np.nan
    )

    ds = _dataset(
        model=model,
        truth=truth,
        vpt=vpt,
        forecast=forecast,
        truth_forecast=truth_forecast,
        model_exps=model_exps,
        truth_exps=np.asarray(truth_spec.exponents, dtype=float),
        largest_error=largest_error,
        w_model=w_model,
        w_ref=w_ref,
        ratio=ratio,
        long_model=model_obs_np[0],
        long_truth=true_obs_np[0],
        keep=keep,
        tps=tps,
        lyapunov_time=lyapunov_time,
    )
    ds = ds.assign_attrs(
        model=_name(model),
        truth=_name(truth),
        dt=tps,
        threshold=threshold,
        lyapunov_time=np.nan if lyapunov_time is None else lyapunov_time,
        horizon_steps=horizon_steps,
        runs=runs,
        run_steps=run_steps,
        transient=transient,
        diverged=int(diverged),
    )
    ds = _add_lag_sensitivities(ds, model, truth, model_end, true_end, run_ok, spectrum_steps)
    return Verdict(dataset=ds)


def _add_lag_sensitivities(ds, model, truth, model_end, true_end, run_ok, steps) -> xr.Dataset:
    """S(j) of model and truth along their own orbits, for maps on delay vectors."""
    found: dict[str, np.ndarray] = {}
    if isinstance(model, Map) and model.delay_coordinates and run_ok.any():
        start = model_end[int(np.argmax(run_ok))]
        found["model"] = np.asarray(lag_sensitivities(model, start, steps).sensitivities)
    if isinstance(truth, Map) and truth.delay_coordinates:
        found["truth"] = np.asarray(lag_sensitivities(truth, true_end[0], steps).sensitivities)
    if not found:
        return ds
    lags = max(len(s) for s in found.values())
    for who, s in found.items():
        padded = np.full(lags, np.nan)
        padded[: len(s)] = s
        ds[f"lag_sensitivities_{who}"] = ("lag", padded)
    return ds.assign_coords(lag=np.arange(1, lags + 1))


def _dataset(
    *,
    model,
    truth,
    vpt,
    forecast,
    truth_forecast,
    model_exps,
    truth_exps,
    largest_error,
    w_model,
    w_ref,
    ratio,
    long_model,
    long_truth,
    keep,
    tps,
    lyapunov_time,
) -> xr.Dataset:
    n_obs = truth_forecast.shape[-1]
    # Row 0 of a forecast is the start itself: index s is s steps ahead, and a forecast
    # that never fails is valid for the whole horizon (not one step more).
    steps = np.minimum(np.asarray(vpt.steps), truth_forecast.shape[1] - 1)
    names = truth.variable_names() if n_obs == truth.dim else tuple(f"y{i}" for i in range(n_obs))
    every = max(1, long_truth.shape[0] // keep)
    n_pairs = w_ref.shape[0]
    k_truth, k_model = truth_exps.shape[0], model_exps.shape[0]
    model_padded = np.full(k_truth, np.nan)
    model_padded[:k_model] = model_exps
    data: dict[str, Any] = {
        "vpt_steps": ("start", steps),
        "vpt_time": ("start", steps * tps),
        "exceeded": ("start", np.asarray(vpt.exceeded).astype(np.int8)),
        "forecast_error": (("start", "step"), np.asarray(vpt.error)),
        "forecast": (("start", "step", "coordinate"), forecast),
        "truth_forecast": (("start", "step", "coordinate"), truth_forecast),
        "exponents_model": ("exponent", model_padded),
        "exponents_truth": ("exponent", truth_exps),
        "ky_model": (
            (),
            float(kaplan_yorke_dimension(model_exps)) if np.isfinite(model_exps).all() else np.nan,
        ),
        "ky_truth": ((), float(kaplan_yorke_dimension(jnp.asarray(truth_exps)))),
        "largest_relative_error": ((), largest_error),
        "wasserstein_model": (("model_run", "true_run", "coordinate"), w_model),
        "wasserstein_reference": (("pair", "coordinate"), w_ref),
        "wasserstein_ratio": ("coordinate", ratio),
        "long_model": (("sample", "coordinate"), long_model[::every]),
        "long_truth": (("sample", "coordinate"), long_truth[::every]),
    }
    if lyapunov_time is not None:
        data["vpt_lyapunov"] = ("start", steps * tps / lyapunov_time)
    ds = xr.Dataset(
        data,
        coords={
            "coordinate": list(names),
            "step": np.arange(truth_forecast.shape[1]),
            "time": ("step", np.arange(truth_forecast.shape[1]) * tps),
            "exponent": np.arange(1, k_truth + 1),
            "pair": np.arange(n_pairs),
        },
    )
    return ds


def _fmt(x: float, digits: int = 4) -> str:
    return "nan" if not np.isfinite(x) else f"{x:.{digits}g}"


def verdict_table(ds: xr.Dataset) -> str:
    """The verdict dataset of `evaluate` as a plain-text table."""
    lt = float(ds.attrs.get("lyapunov_time", np.nan))
    if "vpt_lyapunov" in ds:
        vals, unit = np.asarray(ds["vpt_lyapunov"]), "Lyapunov times"
    else:
        vals, unit = np.asarray(ds["vpt_time"]), "time units"
    never = int((~np.asarray(ds["exceeded"]).astype(bool)).sum())
    rows = [
        f"{ds.attrs['model']} judged against {ds.attrs['truth']} "
        f"(dt {_fmt(float(ds.attrs['dt']))}, {ds.sizes['start']} test starts, "
        f"{ds.attrs['runs']} runs of {ds.attrs['run_steps']} steps)",
        "",
        f"{'valid prediction time':<26}{_fmt(vals.mean())} ± {_fmt(vals.std())} {unit} "
        f"(min {_fmt(vals.min())}, max {_fmt(vals.max())}; error > {ds.attrs['threshold']:g}"
        + (f"; {never} never exceeded it" if never else "")
        + ")",
    ]
    if np.isfinite(lt):
        rows.append(f"{'Lyapunov time':<26}{_fmt(lt)} time units")
    rows += [
        "",
        f"{'':<26}{'model':>12}{'truth':>12}",
    ]
    em, et = np.asarray(ds["exponents_model"]), np.asarray(ds["exponents_truth"])
    for i, (a, b) in enumerate(zip(em, et, strict=True)):
        rows.append(f"{f'exponent {i + 1}':<26}{_fmt(a):>12}{_fmt(b):>12}")
    rows.append(
        f"{'Kaplan-Yorke dimension':<26}{_fmt(float(ds['ky_model'])):>12}"
        f"{_fmt(float(ds['ky_truth'])):>12}"
    )
    rows.append(
        f"{'largest exponent error':<26}{_fmt(100 * float(ds['largest_relative_error']), 3):>11}%"
    )
    rows += ["", f"{'Wasserstein-1':<26}{'model':>12}{'true-true':>12}{'ratio':>8}"]
    wm = np.asarray(ds["wasserstein_model"]).mean(axis=(0, 1))
    wr = np.asarray(ds["wasserstein_reference"])
    for c, name in enumerate(np.asarray(ds["coordinate"])):
        rows.append(
            f"{str(name):<26}{_fmt(wm[c]):>12}{_fmt(wr[:, c].mean()):>12}"
            f"{_fmt(float(ds['wasserstein_ratio'][c]), 3):>8}"
        )
    rows.append(
        f"{'':<26}(true-true: mean of {ds.sizes['pair']} pairs, "
        f"range {_fmt(wr.min(), 3)}..{_fmt(wr.max(), 3)})"
    )
    if "lag" in ds.coords:
        rows += ["", f"{'lag sensitivity':<26}{'model':>12}{'truth':>12}"]
        for j in np.asarray(ds["lag"]):
            m = ds.get("lag_sensitivities_model")
            t = ds.get("lag_sensitivities_truth")
            mv = float(m.sel(lag=j)) if m is not None else np.nan
            tv = float(t.sel(lag=j)) if t is not None else np.nan
            rows.append(f"{f'S({j})':<26}{_fmt(mv):>12}{_fmt(tv):>12}")
    if not np.all(np.isfinite(em)) and not ds.attrs.get("diverged"):
        rows += [
            "",
            "the model's exponents are not finite (a degenerate Jacobian, e.g. a map "
            "on discrete states): judge its dynamics by another estimator",
        ]
    if ds.attrs.get("diverged"):
        rows += ["", "the model DIVERGED in at least one run (infinite distances, NaN exponents)"]
    return "\n".join(rows)
