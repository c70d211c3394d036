"""Next-generation reservoir computing: a ridge regression on polynomial features of
delayed observations.

Gauthier, Bollt, Griffith & Barbosa (2021), "Next generation reservoir computing", Nat.
Commun. 12, 5564 (a nonlinear vector autoregression, NVAR): from the observations at
times t, t - s, ..., t - (k-1) s (k `lags` spaced by `skip` s) form the linear feature
vector O_lin (k obs values, newest first), and the total feature vector

    O_total = [1, O_lin, unique monomials of O_lin of degree 2 .. `degree`];

the increment is read out linearly, x_{t+1} = x_t + W_out O_total, with W_out from
ridge regression. Here the observations are normalised first (mean 0, standard
deviation 1 per coordinate; the statistics are stored in the model): the paper's
Lorenz63 data came from `solve_ivp(method="RK23")` at its default tolerances, whose
integration error regularises the fit; on accurate data, unnormalised features (z^2 up
to ~2,500 beside the constant 1) with the paper's ridge 2.5e-6 give a closed loop with a
spurious unstable mode (a one-step Jacobian eigenvalue of ~38), while normalised
features give the paper's ~5 Lyapunov times of valid prediction.

The model runs closed-loop as a `cj.Map` on the delay buffer (x_t, x_{t-1}, ...,
x_{t-(k-1)s}) of (k-1)s + 1 observations, newest first: `step` predicts x_{t+1} and
shifts it in, so `cj.trajectory` and `cj.lyapunov_spectrum` apply to it unchanged.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .. import _validate as v
from .._results import Result
from ..systems import Map
from . import _reservoir as rc
from .data import Normalizer
from .neural_ode import _trajectories

__all__ = ["NGRC", "NGRCFit", "fit_ngrc"]


def _float_array(x: ArrayLike) -> Array:
    return jnp.asarray(x, dtype=jnp.result_type(float))


def monomials(size: int, degree: int) -> list[tuple[int, ...]]:
    """The feature terms as index tuples: () the constant, (i,) the linear part, then
    the unique monomials of degree 2 .. `degree` (combinations with replacement, in
    lexicographic order: for (a, b) and degree 2, a^2, a b, b^2)."""
    pick = itertools.combinations_with_replacement
    return [t for d in range(degree + 1) for t in pick(range(size), d)]


def _features(lin: Array, degree: int) -> Array:
    # Every degree d >= 2 as one gather and product over a static index table.
    parts = [jnp.ones(lin.shape[:-1] + (1,), lin.dtype), lin]
    for d in range(2, degree + 1):
        idx = np.array(list(itertools.combinations_with_replacement(range(lin.shape[-1]), d)))
        parts.append(jnp.prod(lin[..., idx], axis=-1))
    return jnp.concatenate(parts, axis=-1)


class NGRC(Map):
    """A next-generation reservoir computer run closed-loop: a `cj.Map` on delay buffers.

    The state is the buffer (x_t, x_{t-1}, ..., x_{t-(k-1)s}) of (k-1)s + 1 observations,
    newest first, flattened to ((k-1)s + 1) obs values, in raw units. `step` forms the
    features [1, O_lin, monomials of O_lin of degree 2 .. `degree`] of the normalised
    O_lin = N(x_t, x_{t-s}, ..., x_{t-(k-1)s}) (N the `normalizer`, per coordinate),
    predicts x_{t+1} = x_t + scale * (W_out O_total) and shifts it in. Gauthier,
    Bollt, Griffith & Barbosa (2021), Nat. Commun. 12, 5564.

    Observation contract: `observe(state)` is x_t (the first obs values),
    `synchronise(history)` builds the buffer from the last (k-1)s + 1 rows, and
    `history_length` is (k-1)s + 1. `time_per_step` is `dt`.

    **Arguments:**

    - `W_out`: the readout (obs, n_features), n_features = the number of terms of
      `monomials(k obs, degree)`.
    - `normalizer`: the observations' `cj.learn.Normalizer` (statistics of shape
      (obs,)); mean 0 and scale 1 for raw features.
    - `initial_state`: the buffer `default_state()` returns, ((k-1)s + 1) obs values.
    - `lags`: k, the delayed observations in the features, >= 1 (default 2).
    - `skip`: s, the spacing of the delays in steps, >= 1 (default 1).
    - `degree`: the largest monomial degree, >= 1 (default 2).
    - `dt`: the time per step (time units; 1 for a map) (default 1).

    Example:

    ```python
    res = cj.learn.fit_ngrc(xs, dt=0.025, lags=2, skip=1)
    model = res.model                                 # a cj.Map
    x = model.synchronise(xs[-model.history_length:])
    forecast = jax.vmap(model.observe)(cj.trajectory(model, x, steps=400))
    ```
    """

    W_out: Float[Array, "obs features"] = eqx.field(converter=_float_array)
    normalizer: Normalizer
    initial_state: Float[Array, " dim"] = eqx.field(converter=_float_array)
    lags: int = eqx.field(default=2, static=True)
    skip: int = eqx.field(default=1, static=True)
    degree: int = eqx.field(default=2, static=True)
    dt: float = eqx.field(default=1.0, static=True)

    name: ClassVar[str] = "ngrc"

    def __check_init__(self):
        v.positive_int(self.lags, "lags")
        v.positive_int(self.skip, "skip")
        v.positive_int(self.degree, "degree")
        v.positive_float(self.dt, "dt")
        if self.W_out.ndim != 2:
            raise ValueError(f"`W_out` must have shape (obs, n_features), got {self.W_out.shape}.")
        obs = self.W_out.shape[0]
        p = len(monomials(self.lags * obs, self.degree))
        if self.W_out.shape[1] != p:
            raise ValueError(
                f"`W_out` must have {p} columns ({self.lags} lags of {obs} observations, "
                f"degree {self.degree}), got {self.W_out.shape[1]}."
            )
        if self.normalizer.mean.shape != (obs,):
            raise ValueError(
                f"`normalizer` must hold statistics of shape ({obs},), got "
                f"{self.normalizer.mean.shape}."
            )
        if self.initial_state.shape != (self.history_length * obs,):
            raise ValueError(
                f"`initial_state` must have shape ({self.history_length * obs},), got "
                f"{self.initial_state.shape}."
            )

    @property
    def n_observed(self) -> int:
        """The number of observed quantities (obs)."""
        return int(self.W_out.shape[0])

    @property
    def dim(self) -> int:
        return self.history_length * self.n_observed

    @property
    def time_per_step(self) -> float:
        return float(self.dt)

    @property
    def history_length(self) -> int:
        return (self.lags - 1) * self.skip + 1

    def linear_features(self, x: Float[Array, " dim"]) -> Float[Array, " lin"]:
        """O_lin = N(x_t, x_{t-s}, ..., x_{t-(k-1)s}) of a buffer, normalised.

        **Arguments:**

        - `x`: a state (buffer), (dim,).

        **Returns:**

        (lags obs,).
        """
        buffer = x.reshape(self.history_length, self.n_observed)
        return self.normalizer.normalize(buffer[:: self.skip]).reshape(-1)

    def feature_vector(self, x: Float[Array, " dim"]) -> Float[Array, " features"]:
        """O_total = [1, O_lin, monomials of degree 2 .. `degree`] of a buffer.

        **Arguments:**

        - `x`: a state (buffer), (dim,).

        **Returns:**

        (n_features,), in the order of `monomials`.
        """
        return _features(self.linear_features(x), self.degree)

    def step(self, x: Float[Array, " dim"]) -> Float[Array, " dim"]:
        increment = self.W_out @ self.feature_vector(x)
        new = x[: self.n_observed] + increment * jax.lax.stop_gradient(self.normalizer.scale)
        return jnp.concatenate([new, x[: -self.n_observed]])

    def observe(self, x: Float[Array, " dim"]) -> Float[Array, " obs"]:
        return x[: self.n_observed]

    def synchronise(self, history: Float[Array, "history obs"]) -> Float[Array, " dim"]:
        history = jnp.asarray(history)
        m = self.history_length
        if history.ndim != 2 or history.shape[1] != self.n_observed or history.shape[0] < m:
            raise ValueError(
                f"`history` must have shape (rows >= {m}, {self.n_observed}), got {history.shape}."
            )
        return history[-m:][::-1].reshape(-1)

    def default_state(self) -> Float[Array, " dim"]:
        return self.initial_state

    def feature_names(self, var_names: Sequence[str] | None = None) -> list[str]:
        """The features' names, e.g. ["1", "x(t)", "y(t)", "x(t-1)", ..., "x(t)^2", ...].

        **Arguments:**

        - `var_names`: one name per observation (default u1, u2, ...).

        **Returns:**

        A list of n_features strings, in the order of the columns of `W_out`.
        """
        obs = self.n_observed
        names = list(var_names) if var_names is not None else [f"u{i + 1}" for i in range(obs)]
        if len(names) != obs:
            raise ValueError(f"`var_names` must have {obs} names, got {var_names!r}.")
        lin = [
            f"{name}(t)" if j == 0 else f"{name}(t-{j * self.skip})"
            for j in range(self.lags)
            for name in names
        ]
        out = []
        for term in monomials(len(lin), self.degree):
            if not term:
                out.append("1")
                continue
            powers = [(i, term.count(i)) for i in sorted(set(term))]
            out.append(" ".join(lin[i] if k == 1 else f"{lin[i]}^{k}" for i, k in powers))
        return out


# ----------------------------------------------------------------------------- fit


def _rows(x: np.ndarray, lags: int, skip: int) -> tuple[np.ndarray, np.ndarray]:
    """O_lin at every time t with a full buffer and t + 1 in the data, and the
    increments x_{t+1} - x_t."""
    m = (lags - 1) * skip + 1
    T = x.shape[0]
    lin = np.concatenate([x[m - 1 - j * skip : T - 1 - j * skip] for j in range(lags)], axis=1)
    return lin, x[m:] - x[m - 1 : -1]


@jax.jit
def _least_squares(F: Array, Y: Array, ridge: Array) -> Array:
    # min |F W^T - Y|^2 + ridge |W[:, 1:]|^2 as one least-squares problem: the ridge
    # enters as extra rows sqrt(ridge) e_j (not the constant's), so the conditioning is
    # that of F, not of F^T F.
    p = F.shape[1]
    penalty = jnp.sqrt(ridge) * jnp.eye(p, dtype=F.dtype)[1:]
    A = jnp.concatenate([F, penalty])
    b = jnp.concatenate([Y, jnp.zeros((p - 1, Y.shape[1]), Y.dtype)])
    return jnp.linalg.lstsq(A, b)[0].T


class NGRCFit(Result):
    """A fitted next-generation reservoir computer (what `fit_ngrc` returns).

    **Attributes:**

    - `model`: the `NGRC` (a `cj.Map`).
    - `nmse`: the one-step training error of the increments x_{t+1} - x_t (what the
      ridge regression fits): squared error over each coordinate's variance, averaged
      over the coordinates.
    - `validation_vpt`: (windows,) the valid prediction time (time units) from each
      validation window, or None without `validation`.
    - `search`: the grid and its validation scores (`SearchResult`), or None.

    Example:

    ```python
    res = cj.learn.fit_ngrc(xs, dt=0.025)
    res.model.feature_names(["x", "y", "z"]), res.nmse
    ```
    """

    model: NGRC
    nmse: Float[Array, ""]
    validation_vpt: Float[Array, " windows"] | None
    search: rc.SearchResult | None


def _checks() -> dict[str, Any]:
    return {
        "lags": lambda x, name: v.positive_int(x, name),
        "skip": lambda x, name: v.positive_int(x, name),
        "degree": lambda x, name: v.positive_int(x, name),
        "ridge": rc.ridge_value,
    }


def _fit_one(
    trajectories: list[np.ndarray], lags: int, skip: int, degree: int, ridge: float
) -> tuple[Array, Array]:
    lin, inc = zip(*(_rows(x, lags, skip) for x in trajectories), strict=True)
    F = _features(jnp.asarray(np.concatenate(lin)), degree)
    Y = jnp.asarray(np.concatenate(inc))
    W_out = _least_squares(F, Y, jnp.asarray(ridge, F.dtype))
    err = F @ W_out.T - Y
    var = jnp.var(Y, axis=0)
    nmse = jnp.mean(jnp.mean(err * err, axis=0) / jnp.where(var > 0, var, 1.0))
    return W_out, nmse


def fit_ngrc(
    data: Float[ArrayLike, "..."] | Sequence[Float[ArrayLike, "_time _obs"]],
    *,
    dt: float,
    lags: int = 2,
    skip: int = 1,
    degree: int = 2,
    ridge: float = 2.5e-6,
    normalize: bool = True,
    search: Mapping[str, Sequence[Any]] | None = None,
    validation: Float[ArrayLike, "..."] | Sequence[Float[ArrayLike, "_time _obs"]] | None = None,
    validation_starts: int = 10,
    validation_steps: int | None = None,
    threshold: float = 0.4,
) -> NGRCFit:
    """Fit a next-generation reservoir computer (a nonlinear vector autoregression).

    Gauthier, Bollt, Griffith & Barbosa (2021), "Next generation reservoir computing",
    Nat. Commun. 12, 5564: at every time t of every trajectory with a full delay buffer,
    the features O_total = [1, O_lin, monomials of O_lin of degree 2 .. `degree`] of
    O_lin = (x_t, x_{t-s}, ..., x_{t-(k-1)s}) are paired with the increment
    x_{t+1} - x_t, and W_out minimises |O_total W_out^T - increments|^2 +
    ridge |W_out without the constant's column|^2, solved as one augmented least-squares
    problem in float64 (SVD; the constant is not penalised). With `normalize` (the
    default) the observations are normalised first (mean 0, standard deviation 1 per
    coordinate), which the fit needs on accurate data (see the module docstring); the
    model applies the same statistics inside, so it maps raw buffers to raw buffers.
    With the paper's Lorenz63 setting (dt = 0.025, k = 2, s = 1, 400 training points,
    ridge 2.5e-6) the valid prediction time is about 5 Lyapunov times, as there.

    With `search` (a dict over "lags", "skip", "degree", "ridge") every grid point is
    fitted and judged by the valid prediction time of closed-loop forecasts from
    `validation_starts` windows of `validation` (as in `fit_esn`); the best is returned.

    **Arguments:**

    - `data`: observations sampled every `dt`: (time, obs), (member, time, obs) or a
      list of (time, obs) arrays; finite; each longer than (k-1)s + 1 rows.
    - `dt`: the sampling step (time units; 1 for a map), > 0.
    - `lags`: k, >= 1 (default 2).
    - `skip`: s, >= 1 (default 1).
    - `degree`: the largest monomial degree, >= 1 (default 2).
    - `ridge`: the ridge weight, >= 0 (default 2.5e-6, the paper's for Lorenz63).
    - `normalize`: normalise the observations (default True); False uses raw features
      as the paper does.
    - `search`, `validation`, `validation_starts`, `validation_steps`, `threshold`: the
      grid search, as in `fit_esn`.

    **Returns:**

    An `NGRCFit` (`model`, `nmse`, `validation_vpt`, `search`); the model's
    `default_state()` is the buffer at the last row of the last trajectory.

    Example:

    ```python
    lor = cj.systems.Lorenz63()
    xs = cj.trajectory(lor, lor.default_state(), steps=1_000, dt=0.025, transient=1_000)
    model = cj.learn.fit_ngrc(xs[:400], dt=0.025, lags=2, skip=1).model
    x = model.synchronise(xs[398:400])
    forecast = jax.vmap(model.observe)(cj.trajectory(model, x, steps=200))
    ```
    """
    trajectories = _trajectories(data, "data")
    obs = trajectories[0].shape[1]
    dt = v.positive_float(dt, "dt")
    checks = _checks()
    base = {
        "lags": v.positive_int(lags, "lags"),
        "skip": v.positive_int(skip, "skip"),
        "degree": v.positive_int(degree, "degree"),
        "ridge": rc.ridge_value(ridge),
    }
    if not isinstance(normalize, bool):
        raise ValueError(f"`normalize` must be a bool, got {normalize!r}.")
    threshold = rc.finite_float(threshold, "threshold", low=0.0, low_open=True)
    points = rc.grid(search, checks)
    if search is not None and validation is None:
        raise ValueError("`search` needs `validation` data to score the grid on.")
    candidates = [{**base, **point} for point in points]
    longest = max((c["lags"] - 1) * c["skip"] + 1 for c in candidates)
    for i, x in enumerate(trajectories):
        if x.shape[0] <= longest:
            raise ValueError(
                f"`data` trajectory {i} has {x.shape[0]} rows; `lags` and `skip` need more "
                f"than {longest} (a full delay buffer and the next observation)."
            )
    val = None if validation is None else _trajectories(validation, "validation", obs)
    judged = rc.validation_windows(
        val, history=longest, starts=validation_starts, steps=validation_steps
    )

    if normalize:
        normalizer = Normalizer.fit(np.concatenate(trajectories))
    else:
        normalizer = Normalizer(mean=jnp.zeros(obs), scale=jnp.ones(obs))
    normalised = [np.asarray(normalizer.normalize(x)) for x in trajectories]
    fits, scores = [], []
    for params in candidates:
        W_out, nmse = _fit_one(
            normalised, params["lags"], params["skip"], params["degree"], params["ridge"]
        )
        if not bool(jnp.all(jnp.isfinite(W_out))):
            raise ValueError(f"the readout is not finite at {params}; use `ridge` > 0.")
        m = (params["lags"] - 1) * params["skip"] + 1
        model = NGRC(
            W_out=W_out,
            normalizer=normalizer,
            initial_state=trajectories[-1][-m:][::-1].reshape(-1),
            lags=params["lags"],
            skip=params["skip"],
            degree=params["degree"],
            dt=dt,
        )
        fits.append((model, nmse))
        if judged is not None:
            scores.append(rc.score(model, judged, threshold))
    best = 0
    search_result = None
    if search is not None:
        vpt = jnp.stack(scores)
        mean = jnp.mean(vpt, axis=1)
        best = int(jnp.argmax(mean))
        search_result = rc.SearchResult(parameters=tuple(points), vpt=vpt, mean_vpt=mean, best=best)
    model, nmse = fits[best]
    return NGRCFit(
        model=model,
        nmse=nmse,
        validation_vpt=scores[best] if scores else None,
        search=search_result,
    )
