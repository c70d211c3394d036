"""What the echo-state network and next-generation reservoir computing share: the ridge
readout, hyper-parameter grids, and judging a model by closed-loop forecasts from
validation windows (valid prediction time, `cj.metrics.valid_prediction_time`)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .. import _validate as v
from .._results import Result
from ..metrics import valid_prediction_time
from ..systems import Map

# ----------------------------------------------------------------------------- checks


def finite_float(value: object, name: str, *, low: float, low_open: bool, high=math.inf) -> float:
    """`value` as a finite float in (low, high] or [low, high]; else a `ValueError`."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"`{name}` must be a float, got {value!r}.")
    f = float(value)
    bad_low = f <= low if low_open else f < low
    if not math.isfinite(f) or bad_low or f > high:
        left = "(" if low_open else "["
        right = "]" if math.isfinite(high) else ")"
        raise ValueError(f"`{name}` must lie in {left}{low:g}, {high:g}{right}, got {value!r}.")
    return f


def ridge_value(value: object, name: str = "ridge") -> float:
    """A ridge weight: a finite float >= 0."""
    return finite_float(value, name, low=0.0, low_open=False)


def grid(
    search: object, checks: Mapping[str, Callable[[object, str], Any]]
) -> list[dict[str, Any]]:
    """Every combination of the values of `search` (name -> sequence of values), each
    value checked by `checks[name]`; [{}] for no search."""
    if search is None:
        return [{}]
    if not isinstance(search, Mapping) or not search:
        raise ValueError(
            f"`search` must be a non-empty dict of parameter name -> list of values, one "
            f"of {sorted(checks)}, got {search!r}."
        )
    names, values = [], []
    for name, options in search.items():
        if name not in checks:
            raise v.unknown_name(str(name), checks, "`search` parameter")
        if isinstance(options, (str, bytes)) or not isinstance(options, Sequence) or not options:
            raise ValueError(
                f"`search[{name!r}]` must be a non-empty list of values, got {options!r}."
            )
        names.append(name)
        values.append([checks[name](o, f"search[{name!r}]") for o in options])
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*values)]


# ----------------------------------------------------------------------------- ridge


@jax.jit
def ridge_solve(
    gram: Float[Array, "p p"], cross: Float[Array, "p obs"], ridge: Float[Array, ""]
) -> Float[Array, "obs p"]:
    """W minimising sum_t |y_t - W f_t|^2 + ridge |W[:, 1:]|^2, given the normal
    equations' gram = F^T F and cross = F^T Y (the first feature is the constant 1).

    The constant's weight (the intercept) is not penalised, so the readout does not
    depend on where the data's origin lies; this is the ridge regression with a fitted
    bias of scikit-learn and reservoirpy's `Ridge` (Hoerl & Kennard 1970,
    Technometrics 12, 55-67). The matrix is symmetric positive definite (|F w|^2 +
    ridge |w[1:]|^2 > 0 for w != 0 when the constant column is nonzero): solved by
    Cholesky in the dtype of `gram` (float64); a singular one (ridge 0, collinear
    features) gives non-finite weights, which the callers report.
    """
    p = gram.shape[0]
    penalty = ridge * jnp.ones(p, gram.dtype).at[0].set(0.0)
    return jax.scipy.linalg.solve(gram + jnp.diag(penalty), cross, assume_a="pos").T


# ----------------------------------------------------------------------------- judging


def windows(
    trajectories: Sequence[np.ndarray], history: int, horizon: int, count: int
) -> tuple[np.ndarray, np.ndarray]:
    """`count` forecast windows spread evenly over the trajectories: histories (count,
    history, obs) and the true continuations (count, horizon, obs).

    Window j of a trajectory x uses rows [s - history + 1, s] as history and rows
    [s + 1, s + horizon] as truth, the ends s spaced evenly over what each trajectory
    allows; the windows go round the trajectories in turn.
    """
    n = len(trajectories)
    per = [count // n + (i < count % n) for i in range(n)]
    hist, true = [], []
    for x, k in zip(trajectories, per, strict=True):
        if k == 0:
            continue
        last = x.shape[0] - 1 - horizon
        ends = np.linspace(history - 1, last, k).round().astype(int) if k > 1 else [history - 1]
        for s in ends:
            hist.append(x[s - history + 1 : s + 1])
            true.append(x[s + 1 : s + 1 + horizon])
    return np.stack(hist), np.stack(true)


@eqx.filter_jit
def closed_loop(
    model: Map, histories: Float[Array, "starts history obs"], horizon: int
) -> Float[Array, "starts horizon obs"]:
    """Forecasts of `horizon` steps from each history: `model.synchronise(history)`,
    then `model.observe` of `horizon` successive `model.step`s."""

    def one(history):
        def body(x, _):
            x = model.step(x)
            return x, model.observe(x)

        _, ys = jax.lax.scan(body, model.synchronise(history), None, length=horizon)
        return ys

    return jax.vmap(one)(histories)


class SearchResult(Result):
    """The hyper-parameter grid of a reservoir fit and each point's validation score.

    Every point of the grid is fitted on the training data alone and judged by the valid
    prediction time (VPT) of closed-loop forecasts from the validation windows; the
    point with the largest mean VPT is chosen (the first on ties). The test data are
    never seen.

    **Attributes:**

    - `parameters`: one dict per grid point (name -> value), in grid order.
    - `vpt`: (points, windows), each window's VPT in time units (steps x dt).
    - `mean_vpt`: (points,), the mean over the windows.
    - `best`: the chosen point's index.

    Example:

    ```python
    res = cj.learn.fit_esn(train, dt=0.02, key=jax.random.key(0), validation=val,
                           search={"ridge": [1e-8, 1e-6]})
    res.search.parameters[res.search.best], res.search.mean_vpt
    ```
    """

    parameters: tuple[dict[str, Any], ...] = eqx.field(static=True)
    vpt: Float[Array, "points windows"]
    mean_vpt: Float[Array, " points"]
    best: int = eqx.field(static=True)


def validation_windows(
    validation: list[np.ndarray] | None,
    *,
    history: int,
    starts: int,
    steps: int | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Checked validation windows (histories, truths) and the per-coordinate scale."""
    if validation is None:
        return None
    starts = v.positive_int(starts, "validation_starts")
    shortest = min(x.shape[0] for x in validation)
    if steps is None:
        # Half of what the shortest trajectory leaves after a history: the windows' ends
        # then spread over the other half (the whole length would stack every window at
        # one start).
        steps = max(1, (shortest - history) // 2)
    steps = v.positive_int(steps, "validation_steps")
    if shortest < history + steps:
        raise ValueError(
            f"`validation` trajectories need at least {history + steps} rows (a history "
            f"of {history} and `validation_steps` = {steps}); the shortest has {shortest}."
        )
    hist, true = windows(validation, history, steps, starts)
    scale = np.concatenate(validation).std(axis=0)
    return hist, true, np.where(scale > 0, scale, 1.0)


def score(
    model: Map,
    judged: tuple[np.ndarray, np.ndarray, np.ndarray],
    threshold: float,
) -> Float[Array, " windows"]:
    """VPT (time units) of `model` from each validation window."""
    hist, true, scale = judged
    pred = closed_loop(model, jnp.asarray(hist), true.shape[1])
    vpt = valid_prediction_time(pred, true, threshold, scale=scale, dt=float(model.time_per_step))
    return vpt.time
