"""Training and validation pairs of a delay model from a scalar series (shared by the
delay-embedding network and support-vector regression)."""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .. import _validate as v
from .data import Normalizer, delay_embed, delay_pairs


class DelayData(eqx.Module):
    # Rows (x_t, ..., x_{t-lags+1}) and targets x_{t+1}, every member's rows together.
    inputs: Float[Array, "rows lags"]
    targets: Float[Array, " rows"]
    validation_inputs: Float[Array, "vrows lags"] | None
    validation_targets: Float[Array, " vrows"] | None
    normalizer: Normalizer
    initial_state: Float[Array, " lags"]


def _fraction(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)):
        raise ValueError(f"`validation_fraction` must be a float in [0, 1), got {value!r}.")
    f = float(value)
    if not (math.isfinite(f) and 0.0 <= f < 1.0):
        raise ValueError(f"`validation_fraction` must be a float in [0, 1), got {value!r}.")
    return f


def delay_data(
    series: Float[ArrayLike, "*batch n"],
    *,
    lags: int,
    validation_fraction: float,
    reverse: bool,
    min_rows: int = 2,
) -> DelayData:
    """Checked delay pairs: the last `validation_fraction` of each member's rows (in
    time order) are held out; `reverse` reverses time first (a model of the inverted
    map). The normaliser is one mean and scale over the training values (all lags are
    one variable), and the initial state the last delay vector of the first member."""
    lags = v.positive_int(lags, "lags")
    fraction = _fraction(validation_fraction)
    if not isinstance(reverse, bool):
        raise ValueError(f"`reverse` must be a bool, got {reverse!r}.")
    try:
        x = np.asarray(series, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"`series` must be a numeric array (n,) or (members, n), got {series!r}.")
    if x.ndim not in (1, 2):
        raise ValueError(f"`series` must have shape (n,) or (members, n), got {x.shape}.")
    if reverse:
        x = x[..., ::-1]
    pairs = delay_pairs(jnp.asarray(x), lags)  # checks finiteness and length, naming them
    rows = pairs.inputs.shape[-2]
    n_val = int(math.floor(fraction * rows))
    if fraction > 0 and n_val < 1:
        raise ValueError(
            f"`validation_fraction` {fraction} of {rows} rows holds out nothing; use a larger "
            "fraction or a longer `series`."
        )
    n_train = rows - n_val
    if n_train < min_rows:
        raise ValueError(
            f"`series` gives {n_train} training rows for `lags` = {lags}; at least "
            f"{min_rows} are needed (n >= lags + {min_rows + n_val})."
        )
    inputs = pairs.inputs.reshape(-1, rows, lags)
    targets = pairs.targets.reshape(-1, rows)
    train_x, train_y = inputs[:, :n_train].reshape(-1, lags), targets[:, :n_train].reshape(-1)
    val_x = val_y = None
    if n_val:
        val_x = inputs[:, n_train:].reshape(-1, lags)
        val_y = targets[:, n_train:].reshape(-1)
    # The training values: every input row and target.
    values = jnp.concatenate([train_x.reshape(-1), train_y])
    normalizer = Normalizer.fit(values)
    first = x.reshape(-1, x.shape[-1])[0, : n_train + lags]
    initial_state = delay_embed(jnp.asarray(first), lags)[-1]
    return DelayData(
        inputs=train_x,
        targets=train_y,
        validation_inputs=val_x,
        validation_targets=val_y,
        normalizer=normalizer,
        initial_state=initial_state,
    )


def nmse(
    predict: object, inputs: Float[Array, "rows lags"], targets: Float[Array, " rows"]
) -> Float[Array, ""]:
    """One-step normalised mean-square error: mean (prediction - target)^2 / var(target)."""
    pred = jax.vmap(predict)(inputs)  # type: ignore[arg-type]
    return jnp.mean((pred - targets) ** 2) / jnp.var(targets)
