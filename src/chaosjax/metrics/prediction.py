"""Forecast errors: the valid prediction time of a forecast and its sMAPE."""

from __future__ import annotations

from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Bool, Float, Int

from .. import _validate as v
from .._results import Dims, Result
from . import _checks as c


class VPT(Result):
    """A valid prediction time (what `valid_prediction_time` returns).

    Leading batch axes of the forecasts are kept in every attribute.

    **Attributes:**

    - `steps`: (...,), the first time index at which the normalised error exceeds the
      threshold; T (the length of the forecast) if it never does.
    - `time`: (...,), `steps * dt`, in the time units of `dt`.
    - `lyapunov_times`: (...,), `time / lyapunov_time`; None when no `lyapunov_time`
      was given.
    - `exceeded`: (...,), whether the error crossed the threshold within the forecast
      (False: the valid time is at least the forecast's length, a lower bound).
    - `error`: (..., T), the normalised RMS error at every time index.

    Example:

    ```python
    vpt = cj.metrics.valid_prediction_time(pred, true, dt=0.01, lyapunov_time=1 / 0.906)
    vpt.lyapunov_times, vpt.exceeded
    ```
    """

    steps: Int[Array, "*batch"]
    time: Float[Array, "*batch"]
    lyapunov_times: Float[Array, "*batch"] | None
    exceeded: Bool[Array, "*batch"]
    error: Float[Array, "*batch T"]

    _xarray_dims: ClassVar[dict[str, Dims]] = {"error": ("time",)}


def valid_prediction_time(
    pred: Float[ArrayLike, "*batch T dim"],
    true: Float[ArrayLike, "*batch_true T_true dim_true"],
    threshold: float | Float[ArrayLike, ""] = 0.4,
    *,
    scale: Float[ArrayLike, "*s"] | None = None,
    dt: float | Float[ArrayLike, ""] = 1.0,
    lyapunov_time: float | Float[ArrayLike, ""] | None = None,
) -> VPT:
    """The valid prediction time: how long a forecast stays within `threshold` of the truth.

    The error at time index t is the normalised RMS error over the coordinates,
    e_t = sqrt(mean_i ((pred_t,i - true_t,i) / scale_i)^2), and the valid prediction
    time is the first t with e_t > threshold, times `dt` (Pathak, Hunt, Girvan, Lu & Ott
    2018, "Model-free prediction of large spatiotemporally chaotic systems from data",
    PRL 120, 024102; Vlachas et al. 2020, "Backpropagation algorithms and reservoir
    computing in recurrent neural networks for the forecasting of complex spatiotemporal
    dynamics", Neural Networks 126, 191-217, who use the threshold 0.4 with the standard
    deviation of the data as the scale, the default here). Dividing by the Lyapunov
    time 1/lambda_max gives the time in Lyapunov times, the unit in which forecasts of
    different systems are compared. A non-finite forecast value (a model that
    diverged) counts as an error above the threshold. Traceable: works under `jit`
    and `vmap` (the checks of values then do not run).

    **Arguments:**

    - `pred`: the forecast, shape (..., T, dim); leading batch axes (e.g. one forecast
      per test start) are kept in the result.
    - `true`: the true series at the same times, the same shape as `pred`; finite.
    - `threshold`: the error at which the forecast stops being valid, > 0 (default
      0.4).
    - `scale`: per-coordinate scale, shape (dim,) or a scalar, > 0. Default: the
      standard deviation of `true` per coordinate over time and every batch axis.
    - `dt`: the time between samples (default 1: time is then counted in samples).
    - `lyapunov_time`: 1 / (largest Lyapunov exponent) of the true system, in the time
      units of `dt`; when given, the result also counts Lyapunov times.

    **Returns:**

    A `VPT` record: `steps`, `time`, `lyapunov_times`, `exceeded`, `error`.

    Example:

    ```python
    lor = cj.systems.Lorenz63()
    x0 = lor.default_state()
    true = cj.trajectory(lor, x0, steps=4_000, dt=0.01)
    pred = cj.trajectory(lor, x0 + 1e-8, steps=4_000, dt=0.01)
    vpt = cj.metrics.valid_prediction_time(pred, true, dt=0.01, lyapunov_time=1 / 0.906)
    vpt.lyapunov_times            # ~17; on average ln(0.4 / e0) = 19.6 for e0 = 1.2e-9
    ```
    """
    p = c.series(pred, "pred")
    t = c.series(true, "true")
    if p.shape != t.shape:
        raise ValueError(
            f"`pred` must have the shape of `true` {tuple(t.shape)} (same batch axes, "
            f"length and coordinates), got {tuple(p.shape)}."
        )
    p, t = c.common_dtype(p, t)
    c.finite(t, "true")
    c.positive(threshold, "threshold")
    c.positive(dt, "dt")
    if lyapunov_time is not None:
        c.positive(lyapunov_time, "lyapunov_time")
    dim = t.shape[-1]
    if scale is None:
        s = jnp.std(t.reshape(-1, dim), axis=0)
        if v.is_concrete(s) and np.any(np.asarray(s) == 0):
            i = int(np.argmax(np.asarray(s) == 0))
            raise ValueError(
                f"`true` is constant in coordinate {i}, so its standard deviation (the "
                "default `scale`) is 0; pass `scale` explicitly."
            )
    else:
        s = c.float_array(scale, "scale").astype(t.dtype)
        if s.shape not in ((), (dim,)):
            raise ValueError(
                f"`scale` must be a scalar or have shape ({dim},), got shape {tuple(s.shape)}."
            )
        c.finite(s, "scale")
        if v.is_concrete(s) and np.any(np.asarray(s) <= 0):
            raise ValueError(f"`scale` must be positive, got {np.asarray(s)!r}.")
        s = jnp.broadcast_to(s, (dim,))
    return _vpt(p, t, s, threshold, dt, lyapunov_time)


@jax.jit
def _vpt(p, t, s, threshold, dt, lyapunov_time) -> VPT:
    z = (p - t) / s.reshape((1,) * (p.ndim - 1) + (-1,))
    error = jnp.sqrt(jnp.mean(z * z, axis=-1))
    # `not <=` rather than `>`: a NaN error (a diverged forecast) ends the valid time.
    bad = ~(error <= threshold)
    exceeded = jnp.any(bad, axis=-1)
    steps = jnp.where(exceeded, jnp.argmax(bad, axis=-1), error.shape[-1])
    time = steps.astype(error.dtype) * dt
    lyap = None if lyapunov_time is None else time / lyapunov_time
    return VPT(steps=steps, time=time, lyapunov_times=lyap, exceeded=exceeded, error=error)


def smape(
    pred: Float[ArrayLike, "*batch T dim"], true: Float[ArrayLike, "*batch_true T_true dim_true"]
) -> Float[Array, "*batch"]:
    """The symmetric mean absolute percentage error of a forecast, in percent.

    sMAPE = 200 / (T dim) sum_t,i |pred - true| / (|pred| + |true|), between 0 (perfect)
    and 200: the score of the dysts forecasting benchmark (Gilpin 2021, "Chaos as an
    interpretable benchmark for forecasting and data-driven modelling", NeurIPS
    Datasets and Benchmarks) and of the pretrained forecasters compared on it (Ansari
    et al. 2024, "Chronos: learning the language of time series", TMLR; Lai, Bao &
    Gilpin 2025, "Panda: a pretrained forecast model for universal representation of
    chaotic dynamics"). A term with pred = true = 0 counts as 0, and a non-finite
    forecast value (a model that diverged) as 200, the worst. sMAPE is not invariant
    under a shift of the coordinates: a coordinate that crosses zero weighs more than
    one that stays far from it. Traceable.

    **Arguments:**

    - `pred`: the forecast, shape (..., T, dim).
    - `true`: the truth, the same shape; finite.

    **Returns:**

    The sMAPE over time and coordinates, shape (...) (one per leading batch index).

    Example:

    ```python
    cj.metrics.smape(jnp.array([[1.0], [2.0]]), jnp.array([[1.0], [4.0]]))   # 33.33
    ```
    """
    p = c.series(pred, "pred")
    t = c.series(true, "true")
    if p.shape != t.shape:
        raise ValueError(
            f"`pred` must have the shape of `true` {tuple(t.shape)}, got {tuple(p.shape)}."
        )
    p, t = c.common_dtype(p, t)
    c.finite(t, "true")
    return _smape(p, t)


@jax.jit
def _smape(p, t):
    num = jnp.abs(p - t)
    den = jnp.abs(p) + jnp.abs(t)
    ratio = jnp.where(den == 0, 0.0, num / jnp.where(den == 0, 1.0, den))
    # A diverged forecast (inf or NaN) scores the worst, 200 %, not NaN.
    ratio = jnp.where(jnp.isfinite(p), ratio, 1.0)
    return 200.0 * jnp.mean(ratio, axis=(-2, -1))
