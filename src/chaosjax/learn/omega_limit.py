"""Training across a bifurcation: fitting a map's parameters to observed omega-limit data.

C. Budd, "Neural ODEs for, and as, dynamical systems", Lecture 7, Seattle, June 2025:
a feed-forward network iterated as a map is trained by matching its omega-limit set to
data, and near a bifurcation point b* the loss changes like sqrt(b - b*) (its gradient
like 1/sqrt(b - b*)) for a smooth map, and jumps at a border collision of the
discontinuous limit. Here the loss is the squared 2-Wasserstein distance between the
empirical measures of `keep` iterates after a transient (the mean squared difference of
the sorted samples, exact in one dimension: Villani 2003, "Topics in Optimal
Transportation", AMS, Remark 2.19), and its derivative in a parameter is the forward-mode
derivative through the same iterations, which is what back-propagation through the map
computes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from .. import _validate as v
from .._results import Result
from ..systems import Map
from .train import FitResult, fit

__all__ = [
    "LossLandscape",
    "OmegaLimitFit",
    "PowerLawFit",
    "fit_omega_limit",
    "loss_landscape",
    "omega_limit",
    "omega_limit_loss",
    "power_law_fit",
]


def _check_map(system: object) -> Map:
    if not isinstance(system, Map):
        raise ValueError(f"`system` must be a cj.Map, got {type(system).__name__}.")
    return system


def omega_limit(
    system: object, x0: Float[ArrayLike, " dim"], *, transient: int, keep: int
) -> Float[Array, "keep dim"]:
    """`keep` iterates of `system` after `transient` steps from `x0`: samples of the
    omega-limit set (a `lax.scan`, differentiable in the system's parameters).

    **Arguments:**

    - `system`: a `cj.Map`; `x0`: (dim,) initial state.
    - `transient`: steps discarded (>= 0); `keep`: steps kept (>= 1).

    **Returns:**

    (keep, dim) states x_{transient + 1}, ..., x_{transient + keep}.

    Example:

    ```python
    cj.learn.omega_limit(cj.systems.SmoothedSigmoidMap(c=5.0, b=0.3), jnp.array([0.1]),
                         transient=2_000, keep=4)           # a period-2 orbit
    ```
    """
    system = _check_map(system)
    transient = v.nonnegative_int(transient, "transient")
    keep = v.positive_int(keep, "keep")
    x = jnp.asarray(x0, dtype=jnp.result_type(float))
    x = jax.lax.fori_loop(0, transient, lambda _, s: system.step(s), x)

    def body(s, _):
        s = system.step(s)
        return s, s

    _, xs = jax.lax.scan(body, x, None, length=keep)
    return xs


def omega_limit_loss(
    system: object,
    observed: Float[ArrayLike, " keep"],
    *,
    x0: Float[ArrayLike, " dim"],
    transient: int,
    keep: int | None = None,
) -> Float[Array, ""]:
    """The squared 2-Wasserstein distance between the model's omega-limit samples and
    `observed` (first coordinate): mean((sort(model) - sort(observed))^2).

    In one dimension the optimal transport between two empirical measures of equal size
    pairs the sorted samples (Villani 2003, "Topics in Optimal Transportation", Remark
    2.19); the loss is differentiable wherever the samples are distinct. C. Budd,
    "Neural ODEs for, and as, dynamical systems", Lecture 7, Seattle, June 2025.

    **Arguments:**

    - `system`: a `cj.Map`; `observed`: (keep,) observed omega-limit samples.
    - `x0`: the model's initial state; `transient`: steps discarded.
    - `keep`: model samples (default: as many as `observed`).

    **Returns:**

    The loss, a scalar.

    Example:

    ```python
    sig = cj.systems.SmoothedSigmoidMap(c=5.0, b=0.3)
    obs = cj.learn.omega_limit(sig, jnp.array([0.1]), transient=2_000, keep=64)[:, 0]
    cj.learn.omega_limit_loss(sig.replace(b=0.35), obs, x0=jnp.array([0.1]), transient=2_000)
    ```
    """
    obs = jnp.sort(jnp.asarray(observed).reshape(-1))
    keep = obs.shape[0] if keep is None else keep
    xs = omega_limit(system, x0, transient=transient, keep=keep)[:, 0]
    return jnp.mean((jnp.sort(xs) - obs) ** 2)


class LossLandscape(Result):
    """The loss and its derivative over one parameter (what `loss_landscape` returns).

    **Attributes:**

    - `values`: (m,) the parameter values.
    - `loss`: (m,) the loss at each.
    - `gradient`: (m,) dloss/dparameter by forward-mode autodiff through the iterations
      (non-finite where the iterations' derivative overflows: chaos).
    """

    values: Float[Array, " m"]
    loss: Float[Array, " m"]
    gradient: Float[Array, " m"]


def loss_landscape(
    system: object,
    parameter: str,
    values: Float[ArrayLike, " m"],
    observed: Float[ArrayLike, " keep"],
    *,
    x0: Float[ArrayLike, " dim"],
    transient: int,
    keep: int | None = None,
) -> LossLandscape:
    """`omega_limit_loss` and its derivative over a sweep of one parameter.

    One `vmap` over the values; the derivative is `jax.jvp` along the parameter through
    the transient and the kept iterations, the gradient training would see. Near a
    bifurcation the transient must exceed the time the orbit takes to settle (it grows
    like 1 / |b - b*|).

    **Arguments:**

    - `system`: a `cj.Map`; `parameter`: the name of one of its scalar parameters.
    - `values`: (m,) parameter values; `observed`: (keep,) observed samples.
    - `x0`, `transient`, `keep`: as in `omega_limit_loss`.

    **Returns:**

    A `LossLandscape`.

    Example:

    ```python
    sig = cj.systems.SmoothedSigmoidMap(c=1.0)
    obs = cj.learn.omega_limit(sig, jnp.array([0.1]), transient=500, keep=16)[:, 0]
    land = cj.learn.loss_landscape(sig, "b", jnp.linspace(0.0, 1.0, 11), obs,
                                   x0=jnp.array([0.1]), transient=500)
    ```
    """
    system = _check_map(system)
    params = system.parameters()
    if parameter not in params:
        raise v.unknown_name(parameter, params, f"`parameter` of {type(system).__name__}:")
    vals = jnp.asarray(values, dtype=jnp.result_type(float))
    if vals.ndim != 1:
        raise ValueError(f"`values` must be one-dimensional, got shape {vals.shape}.")
    obs = jnp.asarray(observed, dtype=vals.dtype)
    transient = v.nonnegative_int(transient, "transient")

    def loss_at(p):
        s = eqx.tree_at(lambda m: getattr(m, parameter), system, p)
        return omega_limit_loss(s, obs, x0=x0, transient=transient, keep=keep)

    def both(p):
        return jax.jvp(loss_at, (p,), (jnp.ones_like(p),))

    loss, grad = jax.jit(jax.vmap(both))(vals)
    return LossLandscape(values=vals, loss=loss, gradient=grad)


class PowerLawFit(Result):
    """A least-squares fit log|y| = log(prefactor) + exponent log(distance).

    **Attributes:**

    - `exponent`, `stderr`: the fitted exponent and its standard error.
    - `prefactor`: exp(intercept).
    - `lo`, `hi`: the range of distances fitted; `n`: the number of points.
    """

    exponent: float
    stderr: float
    prefactor: float
    lo: float
    hi: float
    n: int


def power_law_fit(distance: Float[ArrayLike, " m"], y: Float[ArrayLike, " m"]) -> PowerLawFit:
    """Fit |y| ~ prefactor * distance^exponent by least squares in log-log coordinates.

    The standard error is the usual one of the slope of a straight-line fit,
    sqrt(residual variance / sum (log d - mean)^2) with m - 2 degrees of freedom.

    **Arguments:**

    - `distance`: (m,) positive distances to the bifurcation point, e.g. b - b*.
    - `y`: (m,) finite, non-zero values (a gradient, a loss increment).

    **Returns:**

    A `PowerLawFit`.

    Example:

    ```python
    d = jnp.logspace(-5, -2, 10)
    cj.learn.power_law_fit(d, 3.0 / jnp.sqrt(d)).exponent        # -0.5
    ```
    """
    d = np.asarray(distance, dtype=float)
    yy = np.abs(np.asarray(y, dtype=float))
    if d.ndim != 1 or d.shape != yy.shape or d.size < 3:
        raise ValueError(f"`distance` and `y` must be (m,) with m >= 3, got {d.shape}, {yy.shape}.")
    if not (np.all(d > 0) and np.all(np.isfinite(d))):
        raise ValueError("`distance` must be positive and finite.")
    if not (np.all(yy > 0) and np.all(np.isfinite(yy))):
        raise ValueError("`y` must be finite and non-zero.")
    lx, ly = np.log(d), np.log(yy)
    (slope, icpt), res, *_ = np.polyfit(lx, ly, 1, full=True)
    resid = ly - (slope * lx + icpt)
    s2 = float(resid @ resid) / (d.size - 2)
    se = float(np.sqrt(s2 / np.sum((lx - lx.mean()) ** 2)))
    del res
    return PowerLawFit(
        exponent=float(slope),
        stderr=se,
        prefactor=float(np.exp(icpt)),
        lo=float(d.min()),
        hi=float(d.max()),
        n=int(d.size),
    )


class OmegaLimitFit(Result):
    """What `fit_omega_limit` returns: `model` (the fitted map), `loss` (its final
    omega-limit loss) and `fit` (the `cj.learn.FitResult`)."""

    model: Map
    loss: float
    fit: FitResult


class _OmegaLoss(eqx.Module):
    x0: Array
    transient: int = eqx.field(static=True)

    def __call__(self, model: Any, observed: Array) -> Array:
        return omega_limit_loss(model, observed, x0=self.x0, transient=self.transient)


def fit_omega_limit(
    system: object,
    observed: Float[ArrayLike, " keep"],
    *,
    key: PRNGKeyArray,
    x0: Float[ArrayLike, " dim"],
    transient: int,
    steps: int = 500,
    learning_rate: float = 1e-2,
    trainable: Callable[[Any], Any] | None = None,
) -> OmegaLimitFit:
    """Fit a map's parameters to observed omega-limit samples by gradient descent.

    Adam through `cj.learn.fit` on `omega_limit_loss`, full batch, gradients by
    back-propagation through the transient and the kept iterations; C. Budd, "Neural
    ODEs for, and as, dynamical systems", Lecture 7, Seattle, June 2025 (training the
    smoothed sigmoid map's (a, b, c)). Across a bifurcation the gradient is unbounded
    (smooth map) or blind to a jump (border collision), see `loss_landscape`.

    **Arguments:**

    - `system`: the starting `cj.Map`; `observed`: (keep,) samples of the target.
    - `key`: PRNG key; `x0`: the initial state of the iterations; `transient`: steps
      discarded before the samples.
    - `steps`: Adam steps (default 500); `learning_rate` (default 1e-2).
    - `trainable`: a `cj.learn.fit` filter (default: every parameter).

    **Returns:**

    An `OmegaLimitFit`.

    Example:

    ```python
    true = cj.systems.SmoothedSigmoidMap(c=1.0, b=0.5)
    obs = cj.learn.omega_limit(true, jnp.array([0.1]), transient=500, keep=16)[:, 0]
    res = cj.learn.fit_omega_limit(true.replace(b=0.2), obs, key=jax.random.key(0),
                                   x0=jnp.array([0.1]), transient=500)
    ```
    """
    system = _check_map(system)
    obs = jnp.asarray(observed, dtype=jnp.result_type(float)).reshape(-1)
    loss = _OmegaLoss(
        x0=jnp.asarray(x0, dtype=obs.dtype), transient=v.nonnegative_int(transient, "transient")
    )
    result = fit(
        system,
        loss,
        obs,
        key=key,
        steps=v.positive_int(steps, "steps"),
        learning_rate=v.positive_float(learning_rate, "learning_rate"),
        trainable=trainable,
        eval_every=min(50, steps),
    )
    model = result.model
    assert isinstance(model, Map)
    return OmegaLimitFit(model=model, loss=float(loss(model, obs)), fit=result)
