"""Data for learning: simulated data sets with splits, delay embeddings, normalisation.

`dataset` simulates a system from random initial states and returns an xarray Dataset
with one variable `states` (member, time, state) and a coordinate `split` that labels
each trajectory (or, for a single trajectory, each time) "train", "validation" or
"test"; `subset` selects one split. `delay_embed` and `delay_pairs` turn a scalar
series into the delay vectors of a delay map (most recent value first, the state order
of `cj.systems.DelayedHenon`), and `Normalizer` stores the statistics a fitted model
applies inside itself, so that the model maps raw states to raw states.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from .. import _validate as v
from .._provenance import attributes
from ..simulate import trajectory
from ..systems import Flow, Map

__all__ = ["DelayPairs", "Normalizer", "dataset", "delay_embed", "delay_pairs", "subset"]

SPLITS = ("train", "validation", "test")


# --------------------------------------------------------------------------- data sets


def _split_fractions(split: object) -> tuple[float, float, float]:
    try:
        fractions = tuple(float(f) for f in split)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise ValueError(
            f"`split` must be three fractions (train, validation, test), got {split!r}."
        ) from None
    if len(fractions) != 3 or any(not math.isfinite(f) or f < 0 for f in fractions):
        raise ValueError(
            f"`split` must be three non-negative fractions (train, validation, test), "
            f"got {split!r}."
        )
    if abs(sum(fractions) - 1.0) > 1e-9 or fractions[0] == 0:
        raise ValueError(f"`split` must sum to 1 with a positive train fraction, got {split!r}.")
    return fractions  # type: ignore[return-value]


def _split_counts(n: int, fractions: tuple[float, float, float], along: str) -> list[int]:
    # Largest remainders, then one item for every split with a positive fraction taken
    # from the largest split: (0.7, 0.15, 0.15) of 5 trajectories gives 3, 1, 1.
    exact = [f * n for f in fractions]
    counts = [math.floor(e) for e in exact]
    order = sorted(range(3), key=lambda i: counts[i] - exact[i])
    for i in order[: n - sum(counts)]:
        counts[i] += 1
    for i in range(3):
        if fractions[i] > 0 and counts[i] == 0:
            donor = max(range(3), key=lambda j: counts[j])
            if counts[donor] < 2:
                raise ValueError(
                    f"`split` {fractions} leaves the {SPLITS[i]} split empty with {n} "
                    f"{along}; use more, or a zero fraction for that split."
                )
            counts[donor] -= 1
            counts[i] += 1
    return counts


def _state_names(system: Flow | Map, dim: int, observed: bool) -> list[str]:
    # States carry the system's variable names; observations are y0, y1, ...
    if observed:
        return [f"y{i}" for i in range(dim)]
    return list(system.variable_names())


def dataset(
    system: Flow | Map,
    n_trajectories: int,
    steps: int,
    *,
    key: PRNGKeyArray,
    dt: float | None = None,
    solver: str = "rk4",
    transient: int = 0,
    noise: float = 0.0,
    observe: Callable[[Float[Array, " dim"]], Float[ArrayLike, "*obs"]] | None = None,
    split: Sequence[float] = (0.7, 0.15, 0.15),
    save_every: int = 1,
) -> xr.Dataset:
    """Trajectories of a system from random initial states, split for training.

    `n_trajectories` initial states are drawn with `system.sample_state`, advanced
    `transient` steps (discarded), then `steps` steps with every `save_every`-th state
    kept (`cj.trajectory`). An optional `observe` maps each state to an observation,
    and `noise` adds independent Gaussian measurement noise whose standard deviation is
    `noise` times each coordinate's standard deviation over the whole data set.

    Layout: one variable `states` with dims (member, time, state) and a string
    coordinate `split` with values "train", "validation", "test". With several
    trajectories `split` lies on `member` (whole trajectories are assigned, the first
    ones to train, so no trajectory leaks into two splits); with one trajectory it lies
    on `time` (contiguous segments in order: train, then validation, then test).
    `cj.learn.subset(ds, "train")` selects a split whichever the case. When `noise` > 0
    the noiseless values are kept in `clean`.

    Coordinates: `time` in the system's time units (iterations for a map), counted
    from the sampled initial state with the transient included, as in
    `cj.io.trajectory_dataset`; `step`; `member`; `state` named by the system's
    `variable_names()` (y0, y1, ... for observations). Attributes: the provenance of
    `cj.io.attributes` plus `n_trajectories`, `steps`, `transient`, `save_every`,
    `noise`, `observed`, `split_fractions`, `split_dim` and the key's data.

    **Arguments:**

    - `system`: a `cj.Flow` or `cj.Map`.
    - `n_trajectories`: number of trajectories (members), >= 1.
    - `steps`: steps per trajectory after the transient; a multiple of `save_every`.
    - `key`: PRNG key; split into one key for the initial states and one for the noise.
    - `dt`: the time per step of a flow (time units); None for a map.
    - `solver`: the flow's solver, as in `cj.trajectory` (default "rk4").
    - `transient`: steps run and discarded first (default 0).
    - `noise`: relative noise level (0.01 is 1 % of each coordinate's standard
      deviation), >= 0 (default 0).
    - `observe`: optional function state (dim,) -> observation (scalar or vector);
      default None (the states themselves).
    - `split`: fractions (train, validation, test), summing to 1 (default (0.7, 0.15,
      0.15)).
    - `save_every`: keep every `save_every`-th state (default 1).

    **Returns:**

    An `xarray.Dataset` as described above, `states` of shape
    (n_trajectories, steps // save_every + 1, dim or observation size).

    Example:

    ```python
    lor = cj.systems.Lorenz63()
    ds = cj.learn.dataset(lor, 20, 2_000, dt=0.01, key=jax.random.key(0),
                          transient=500, noise=0.01)
    train = jnp.asarray(cj.learn.subset(ds, "train").states)   # (14, 2001, 3)
    ```
    """
    n_trajectories = v.positive_int(n_trajectories, "n_trajectories")
    steps = v.positive_int(steps, "steps")
    transient = v.nonnegative_int(transient, "transient")
    save_every = v.positive_int(save_every, "save_every")
    if isinstance(noise, bool):
        raise ValueError(f"`noise` must be a non-negative float, got {noise!r}.")
    try:
        noise = float(noise)
    except (TypeError, ValueError):
        raise ValueError(f"`noise` must be a non-negative float, got {noise!r}.") from None
    if not math.isfinite(noise) or noise < 0:
        raise ValueError(f"`noise` must be a non-negative finite float, got {noise!r}.")
    if observe is not None and not callable(observe):
        raise ValueError(f"`observe` must be a function state -> observation, got {observe!r}.")
    fractions = _split_fractions(split)
    n_saves = steps // save_every + 1
    if n_trajectories > 1:
        split_dim, counts = "member", _split_counts(n_trajectories, fractions, "trajectories")
    else:
        split_dim, counts = "time", _split_counts(n_saves, fractions, "saved times")
    key_init, key_noise = jax.random.split(key)

    x0 = system.sample_state(key_init, n_trajectories)
    xs = trajectory(
        system,
        x0,
        steps=steps,
        dt=dt,
        solver=solver,
        transient=transient,
        save_every=save_every,
    )
    if observe is not None:
        obs = jax.vmap(jax.vmap(lambda x: jnp.ravel(jnp.asarray(observe(x)))))(xs)
        xs = obs.astype(xs.dtype)
    clean = np.asarray(xs)
    dim = clean.shape[-1]
    values = clean
    if noise > 0:
        std = clean.reshape(-1, dim).std(axis=0)
        eps = np.asarray(jax.random.normal(key_noise, clean.shape, dtype=xs.dtype))
        values = clean + noise * std * eps

    time_per_step = None
    if isinstance(system, Flow):
        time_per_step = dt
    elif system.time_per_step != 1.0:
        time_per_step = system.time_per_step
    step_index = transient + save_every * np.arange(n_saves)
    time = step_index.astype(float) * (1.0 if time_per_step is None else float(time_per_step))
    labels = np.repeat(np.array(SPLITS), counts)
    coords: dict[str, Any] = {
        "member": ("member", np.arange(n_trajectories), {"long_name": "trajectory"}),
        "time": (
            "time",
            time,
            {
                "units": "iterations" if time_per_step is None else "time units of the system",
                "long_name": "time since the initial state",
            },
        ),
        "step": ("time", step_index, {"units": "steps", "long_name": "steps since x0"}),
        "state": ("state", _state_names(system, dim, observe is not None)),
        "split": (split_dim, labels, {"long_name": "train / validation / test"}),
    }
    unit = "observation units" if observe is not None else "state units"
    data: dict[str, Any] = {
        "states": (
            ("member", "time", "state"),
            values,
            {"units": unit, "long_name": "observed state" if observe else "system state"},
        )
    }
    if noise > 0:
        data["clean"] = (
            ("member", "time", "state"),
            clean,
            {"units": unit, "long_name": "states before measurement noise"},
        )
    attrs = attributes(
        system,
        dt=time_per_step,
        solver=solver if isinstance(system, Flow) else None,
        n_trajectories=n_trajectories,
        steps=steps,
        transient=transient,
        save_every=save_every,
        noise=noise,
        observed=int(observe is not None),
        split_fractions=list(fractions),
        split_dim=split_dim,
        key=json.dumps(np.asarray(_key_data(key)).tolist()),
        content="learning dataset",
    )
    return xr.Dataset(data, coords=coords, attrs=attrs)


def _key_data(key: Any) -> Array:
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        return jax.random.key_data(key)
    return key


def subset(ds: xr.Dataset, which: str) -> xr.Dataset:
    """The members (or times) of `ds` labelled `which` in its `split` coordinate.

    Whichever dimension `split` lies on (`member` for several trajectories, `time` for
    one), the entries labelled `which` are selected with `Dataset.isel`.

    **Arguments:**

    - `ds`: a Dataset from `cj.learn.dataset`.
    - `which`: "train", "validation" or "test".

    **Returns:**

    The selected `xarray.Dataset` (its `split` dimension shortened).

    Example:

    ```python
    ds = cj.learn.dataset(cj.systems.Henon(), 10, 100, key=jax.random.key(0))
    val = cj.learn.subset(ds, "validation").states.values   # (2, 101, 2)
    ```
    """
    if not isinstance(ds, xr.Dataset) or "split" not in ds.coords:
        raise ValueError("`ds` must be a Dataset from `cj.learn.dataset` (with a `split`).")
    v.one_of(which, "which", SPLITS)
    dim = ds["split"].dims[0]
    return ds.isel({dim: np.flatnonzero(ds["split"].values == which)})


# --------------------------------------------------------------------------- delays


def _series(series: Any, lags: int, extra: int) -> Array:
    try:
        x = jnp.asarray(series)
    except (TypeError, ValueError):
        raise ValueError(
            f"`series` must be an array of shape (*batch, n), got {series!r}."
        ) from None
    if x.ndim < 1:
        raise ValueError(f"`series` must have shape (*batch, n), got a scalar {series!r}.")
    if not jnp.issubdtype(x.dtype, jnp.floating):
        x = x.astype(jnp.result_type(float))
    if v.is_concrete(x) and not np.all(np.isfinite(np.asarray(x))):
        bad = np.argwhere(~np.isfinite(np.asarray(x)))[0].tolist()
        raise ValueError(f"`series` must be finite; entry {bad} is not.")
    n = x.shape[-1]
    if n < lags + extra:
        raise ValueError(f"`series` has {n} points; `lags` = {lags} needs at least {lags + extra}.")
    return x


def delay_embed(
    series: Float[ArrayLike, "*batch n"], lags: int
) -> Float[Array, "*batch rows lags"]:
    """Delay vectors of a scalar series, the most recent value first.

    Row i is (x_t, x_{t-1}, ..., x_{t-lags+1}) with t = i + lags - 1, so there are
    n - lags + 1 rows. This is the state order of `cj.systems.DelayedHenon` (and of the
    lag-space analysis, Maus & Sprott 2011, Chaos 21, 033104): a delay map's next
    state is (x_{t+1}, x_t, ..., x_{t-lags+2}), and its lag j is column j - 1.

    **Arguments:**

    - `series`: shape (n,), or (*batch, n) for several series (time last).
    - `lags`: the embedding dimension, a positive int <= n.

    **Returns:**

    An array (*batch, n - lags + 1, lags).

    Example:

    ```python
    cj.learn.delay_embed(jnp.arange(5.0), 3)
    # [[2, 1, 0], [3, 2, 1], [4, 3, 2]]
    ```
    """
    lags = v.positive_int(lags, "lags")
    x = _series(series, lags, 0)
    rows = x.shape[-1] - lags + 1
    # Column j holds x_{t-j}: the series shifted back by j.
    return jnp.stack([x[..., lags - 1 - j : lags - 1 - j + rows] for j in range(lags)], axis=-1)


class DelayPairs(eqx.Module):
    """Inputs and targets for prediction on delay vectors (what `delay_pairs` returns).

    **Attributes:**

    - `inputs`: (*batch, rows, lags), rows (x_t, ..., x_{t-lags+1}).
    - `targets`: (*batch, rows), x_{t+horizon}.

    Example:

    ```python
    pairs = cj.learn.delay_pairs(jnp.arange(6.0), lags=2)
    pairs.inputs, pairs.targets      # [[1, 0], [2, 1], [3, 2], [4, 3]], [2, 3, 4, 5]
    ```
    """

    inputs: Float[Array, "*batch rows lags"]
    targets: Float[Array, "*batch rows"]


def delay_pairs(series: Float[ArrayLike, "*batch n"], lags: int, *, horizon: int = 1) -> DelayPairs:
    """Delay vectors and the value `horizon` steps after each: the data of a delay map.

    Row i of `inputs` is (x_t, x_{t-1}, ..., x_{t-lags+1}) (see `delay_embed`) with
    t = i + lags - 1, and `targets[i]` is x_{t+horizon}; there are
    n - lags - horizon + 1 rows.

    **Arguments:**

    - `series`: shape (n,), or (*batch, n).
    - `lags`: the embedding dimension, a positive int.
    - `horizon`: how far ahead the target lies, in samples, >= 1 (default 1).

    **Returns:**

    A `DelayPairs` record (`inputs`, `targets`).

    Example:

    ```python
    xs = cj.trajectory(cj.systems.DelayedHenon(d=4), jnp.full(4, 0.1), steps=512)
    pairs = cj.learn.delay_pairs(xs[:, 0], lags=5)   # 508 rows of 5 lags
    ```
    """
    lags = v.positive_int(lags, "lags")
    horizon = v.positive_int(horizon, "horizon")
    x = _series(series, lags, horizon)
    inputs = delay_embed(x[..., :-horizon], lags)
    return DelayPairs(inputs=inputs, targets=x[..., lags - 1 + horizon :])


# --------------------------------------------------------------------------- normalisation


class Normalizer(eqx.Module):
    """An affine normalisation z = (x - mean) / scale, stored inside a fitted model.

    Its statistics are array leaves, so a model that holds one is still a pytree that
    `jit`, `vmap` and serialisation see whole; `cj.learn.fit` leaves them untrained,
    and `normalize`/`denormalize` stop gradients through them. The statistics apply to
    the trailing axes of what is normalised.

    **Arguments:**

    - `mean`: an array broadcastable against the data's trailing axes.
    - `scale`: an array of the same shape; positive.

    Example:

    ```python
    xs = cj.trajectory(cj.systems.Henon(), jnp.zeros(2), steps=1_000)
    norm = cj.learn.Normalizer.fit(xs)      # xs (n, dim): per-coordinate statistics
    z = norm.normalize(xs)                  # mean 0, standard deviation 1 per coordinate
    xs_again = norm.denormalize(z)
    ```
    """

    mean: Float[Array, "*shape"] = eqx.field(converter=jnp.asarray)
    scale: Float[Array, "*shape"] = eqx.field(converter=jnp.asarray)

    def __check_init__(self):
        if self.mean.shape != self.scale.shape:
            raise ValueError(
                f"`mean` and `scale` must have one shape, got {self.mean.shape} and "
                f"{self.scale.shape}."
            )

    @classmethod
    def fit(
        cls, x: Float[ArrayLike, "..."], *, axis: int | tuple[int, ...] | None = None
    ) -> Normalizer:
        """Mean and standard deviation of `x` over `axis`.

        `axis` defaults to every axis but the last (one statistic per coordinate), or
        the only axis of a 1-D series; it must be leading axes, since the statistics
        apply to the trailing axes of what is normalised. A coordinate with zero spread
        gets scale 1.

        **Arguments:**

        - `x`: data, e.g. (n, dim) or (member, time, dim); finite.
        - `axis`: the leading axes reduced over (an int or a tuple of ints); default
          None: every axis but the last.

        **Returns:**

        A `Normalizer` whose `mean` and `scale` have the shape of `x` without `axis`.
        """
        try:
            arr = np.asarray(x, dtype=float)
        except (TypeError, ValueError):
            raise ValueError(f"`x` must be a numeric array, got {x!r}.") from None
        if arr.size == 0:
            raise ValueError(f"`x` must not be empty, got shape {arr.shape}.")
        if not np.all(np.isfinite(arr)):
            raise ValueError("`x` must be finite; it contains NaN or inf.")
        if axis is None:
            axis = tuple(range(arr.ndim - 1)) if arr.ndim > 1 else (0,)
        axes = sorted(a % arr.ndim for a in ((axis,) if isinstance(axis, int) else axis))
        if axes != list(range(len(axes))):
            raise ValueError(f"`axis` must be leading axes of `x`, got {axis!r}.")
        try:
            mean = arr.mean(axis=axis)
            std = arr.std(axis=axis)
        except (ValueError, TypeError, np.exceptions.AxisError):
            raise ValueError(f"`axis` {axis!r} is not valid for shape {arr.shape}.") from None
        scale = np.where(std > 0, std, 1.0)
        return cls(mean=jnp.asarray(mean), scale=jnp.asarray(scale))

    def _stats(self, x: Array) -> tuple[Array, Array]:
        # The statistics describe the trailing axes; leading (batch, time) axes are
        # broadcast explicitly (chaosjax's tests forbid implicit rank promotion).
        if x.ndim < self.mean.ndim:
            raise ValueError(
                f"`x` of shape {x.shape} has fewer axes than the statistics {self.mean.shape}."
            )
        lead = (1,) * (x.ndim - self.mean.ndim)
        mean, scale = jax.lax.stop_gradient((self.mean, self.scale))
        return mean.reshape(lead + mean.shape), scale.reshape(lead + scale.shape)

    def normalize(self, x: Float[ArrayLike, "..."]) -> Float[Array, "..."]:
        """(x - mean) / scale, over the trailing axes of `x`.

        **Arguments:**

        - `x`: data whose trailing axes have the statistics' shape.

        **Returns:**

        The normalised data, the shape of `x`.
        """
        x = jnp.asarray(x)
        mean, scale = self._stats(x)
        return (x - mean) / scale

    def denormalize(self, z: Float[ArrayLike, "..."]) -> Float[Array, "..."]:
        """z * scale + mean, over the trailing axes of `z`: the inverse of `normalize`.

        **Arguments:**

        - `z`: normalised data whose trailing axes have the statistics' shape.

        **Returns:**

        The data in the original units, the shape of `z`.
        """
        z = jnp.asarray(z)
        mean, scale = self._stats(z)
        return z * scale + mean
