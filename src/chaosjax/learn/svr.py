"""Support-vector regression on delay vectors, as a delay map.

A. Maus ("Modelling Sensitivity using Neural Networks", 2011,
https://adammaus.com/wp/2011/04/modeling-sensitivity-using-neural-networks/) suggests
trading the slowly trained network for support-vector regression and taking the lag
sensitivities from numerical partial derivatives of the fitted function. `fit_svr` fits
scikit-learn's epsilon-SVR with a radial-basis kernel (Drucker et al. 1997, "Support
vector regression machines", NIPS 9; Smola & Schölkopf 2004, Stat. Comput. 14, 199-222)
to (delay vector, next value) pairs, and `SVRMap` wraps the fitted estimator as a
`cj.Map` on delay vectors.

Autodiff does not reach into scikit-learn. `SVRMap.step` calls the estimator through
`jax.pure_callback` (so `jit`, `vmap`, `cj.trajectory` work), and its derivative is a
central difference of step `h` (in normalised units) in each lag, attached to the
callback as a `jax.custom_jvp`: `jax.jvp`, `jax.grad`, `jax.linearize` (hence
`cj.lag_sensitivities` and `cj.lyapunov_spectrum`) see the finite-difference Jacobian,
which `jacobian` returns too. The derivative of the derivative is zero, not a second
difference: second-order autodiff through an `SVRMap` is not meaningful.
"""

from __future__ import annotations

import functools
from typing import Any, ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .. import _validate as v
from .._results import Result
from ..systems import Map
from ._delay_split import delay_data
from .data import Normalizer

__all__ = ["RBFExpansion", "SVRFit", "SVRMap", "fit_svr"]


class RBFExpansion:
    """A fitted radial-basis-function SVR as plain arrays: the prediction
    f(z) = sum_i a_i exp(-gamma |z - s_i|^2) + b of scikit-learn's `SVR(kernel="rbf")`
    (libsvm's decision function; Smola & Schölkopf 2004, Stat. Comput. 14, 199-222).

    It predicts as the estimator it was taken from, without scikit-learn, and is what
    `cj.learn.save` stores of an `SVRMap` (as JSON; no pickle) and `cj.learn.load`
    rebuilds it with.

    **Arguments:**

    - `support_vectors`: (n_support, lags), the s_i.
    - `dual_coef`: (n_support,), the a_i.
    - `intercept`: b.
    - `gamma`: the kernel width, > 0.

    Example:

    ```python
    res = cj.learn.fit_svr(series, lags=5)
    rbf = cj.learn.RBFExpansion.from_estimator(res.model.estimator)
    rbf.predict(np.zeros((1, 5)))
    ```
    """

    def __init__(self, support_vectors: Any, dual_coef: Any, intercept: float, gamma: float):
        self.support_vectors = np.asarray(support_vectors, dtype=np.float64)
        self.dual_coef = np.asarray(dual_coef, dtype=np.float64).reshape(-1)
        self.intercept = float(intercept)
        self.gamma = v.positive_float(gamma, "gamma")
        if self.support_vectors.ndim != 2 or self.support_vectors.shape[0] != len(self.dual_coef):
            raise ValueError(
                f"`support_vectors` must be (n_support, lags) with one `dual_coef` each, got "
                f"{self.support_vectors.shape} and {self.dual_coef.shape}."
            )

    @classmethod
    def from_estimator(cls, estimator: Any) -> RBFExpansion:
        """The expansion of a fitted `sklearn.svm.SVR(kernel="rbf")` (or a copy of one)."""
        if isinstance(estimator, RBFExpansion):
            return estimator
        if getattr(estimator, "kernel", None) != "rbf" or not hasattr(estimator, "dual_coef_"):
            raise ValueError(
                f"`estimator` must be a fitted sklearn.svm.SVR with kernel='rbf', got "
                f"{type(estimator).__name__}."
            )
        return cls(
            estimator.support_vectors_,
            estimator.dual_coef_[0],
            estimator.intercept_[0],
            estimator._gamma,  # the fitted width ("scale" and "auto" resolved)
        )

    def predict(self, X: Any) -> np.ndarray:
        """f at the rows of `X`, shape (n, lags) -> (n,)."""
        X = np.asarray(X, dtype=np.float64)
        d2 = (
            (X**2).sum(-1)[:, None]
            - 2.0 * X @ self.support_vectors.T
            + (self.support_vectors**2).sum(-1)[None, :]
        )
        return np.exp(-self.gamma * np.maximum(d2, 0.0)) @ self.dual_coef + self.intercept

    def to_json(self) -> dict[str, Any]:
        """The fields as JSON-ready lists and numbers."""
        return {
            "support_vectors": self.support_vectors.tolist(),
            "dual_coef": self.dual_coef.tolist(),
            "intercept": self.intercept,
            "gamma": self.gamma,
        }

    def __repr__(self) -> str:
        n, lags = self.support_vectors.shape
        return f"RBFExpansion(n_support={n}, lags={lags}, gamma={self.gamma:.4g})"


def _predict_np(estimator: Any, z: Any) -> np.ndarray:
    z = np.asarray(z)
    flat = z.reshape(-1, z.shape[-1])
    return np.asarray(estimator.predict(flat), dtype=z.dtype).reshape(z.shape[:-1])


def _gradient_np(estimator: Any, h: float, z: Any) -> np.ndarray:
    # Central differences in every lag, all 2 * lags shifted points in one predict call.
    z = np.asarray(z)
    lags = z.shape[-1]
    flat = z.reshape(-1, lags)
    shift = h * np.eye(lags, dtype=z.dtype)
    points = np.concatenate(
        [flat[:, None, :] + shift[None], flat[:, None, :] - shift[None]], axis=1
    ).reshape(-1, lags)
    values = np.asarray(estimator.predict(points), dtype=z.dtype).reshape(-1, 2, lags)
    return ((values[:, 0] - values[:, 1]) / (2.0 * h)).reshape(z.shape)


def _callback(fn: Any, shape: tuple[int, ...], z: Array) -> Array:
    out = jax.ShapeDtypeStruct(shape, z.dtype)
    return jax.pure_callback(fn, out, z, vmap_method="broadcast_all")


@functools.partial(jax.custom_jvp, nondiff_argnums=(0, 1))
def _svr_value(estimator: Any, h: float, z: Array) -> Array:
    return _callback(functools.partial(_predict_np, estimator), z.shape[:-1], z)


def _svr_gradient(estimator: Any, h: float, z: Array) -> Array:
    return _callback(functools.partial(_gradient_np, estimator, h), z.shape, z)


@_svr_value.defjvp
def _svr_value_jvp(estimator, h, primals, tangents):
    (z,), (dz,) = primals, tangents
    grad = jax.lax.stop_gradient(_svr_gradient(estimator, h, z))
    return _svr_value(estimator, h, z), jnp.sum(grad * dz, axis=-1)


class SVRMap(Map):
    """A fitted support-vector regression on delay vectors, as a delay map (a `cj.Map`).

    The state is the delay vector (x_{t-1}, ..., x_{t-lags}), most recent first; `step`
    normalises it, asks the scikit-learn estimator for the new value (through
    `jax.pure_callback`), and shifts it in. Derivatives are central differences of step
    `h` (normalised units) in each lag, attached by `jax.custom_jvp`, so
    `cj.lag_sensitivities` and `cj.lyapunov_spectrum` apply unchanged; `jacobian` is
    that finite-difference Jacobian (see the module docstring).

    `cj.learn.save` stores the estimator as its RBF expansion (support vectors, dual
    coefficients, intercept, width: JSON, no pickle), and `cj.learn.load` rebuilds the
    model with an `RBFExpansion` in its place, which predicts as the estimator did.

    **Arguments:**

    - `estimator`: a fitted `sklearn.svm.SVR` on normalised delay vectors, or its
      `RBFExpansion` (static).
    - `normalizer`: a `cj.learn.Normalizer` with scalar statistics.
    - `initial_state`: the state `default_state()` returns, (lags,).
    - `h`: the finite-difference step in normalised units, > 0 (default 1e-4).

    Example:

    ```python
    res = cj.learn.fit_svr(series, lags=5)
    cj.lag_sensitivities(res.model, orbit=cj.learn.delay_embed(series, 5)).sensitivities
    ```
    """

    estimator: Any = eqx.field(static=True)
    normalizer: Normalizer
    initial_state: Float[Array, " lags"] = eqx.field(converter=jnp.asarray)
    h: float = eqx.field(default=1e-4, static=True)

    name: ClassVar[str] = "svr_delay"

    def __check_init__(self):
        if self.initial_state.ndim != 1 or self.initial_state.shape[0] < 1:
            raise ValueError(
                f"`initial_state` must have shape (lags,), got {self.initial_state.shape}."
            )
        v.positive_float(self.h, "h")
        if self.normalizer.mean.shape != ():
            raise ValueError("`normalizer` must hold scalar statistics.")

    @property
    def dim(self) -> int:
        return int(self.initial_state.shape[0])

    def predict(self, x: Float[Array, " dim"]) -> Float[Array, ""]:
        """The new value x_t from the raw delay vector (x_{t-1}, ..., x_{t-lags}).

        **Arguments:**

        - `x`: (lags,).

        **Returns:**

        The predicted value, a scalar in the series' units.
        """
        z = self.normalizer.normalize(x)
        return self.normalizer.denormalize(_svr_value(self.estimator, self.h, z))

    def step(self, x: Float[Array, " dim"]) -> Float[Array, " dim"]:
        return jnp.concatenate([self.predict(x)[None], x[:-1]])

    def jacobian(self, x: Float[Array, " dim"]) -> Float[Array, "dim dim"]:
        """The finite-difference Jacobian: the first row by central differences of the
        estimator (the normalisation's scale cancels), then the shift.

        **Arguments:**

        - `x`: (lags,).

        **Returns:**

        (lags, lags).
        """
        z = self.normalizer.normalize(x)
        row = _svr_gradient(self.estimator, self.h, z)
        return jnp.concatenate([row[None], jnp.eye(self.dim - 1, self.dim, dtype=row.dtype)])

    def default_state(self) -> Float[Array, " dim"]:
        return self.initial_state


class SVRFit(Result):
    """What `fit_svr` returns.

    **Attributes:**

    - `model`: the `SVRMap`.
    - `nmse`: one-step normalised MSE on the training rows.
    - `validation_nmse`: the same on held-out rows, or None.
    - `n_support`: the number of support vectors.

    Example:

    ```python
    res = cj.learn.fit_svr(series)
    res.nmse, res.n_support
    ```
    """

    model: SVRMap
    nmse: Float[Array, ""]
    validation_nmse: Float[Array, ""] | None
    n_support: int = eqx.field(static=True)


def fit_svr(
    series: Float[ArrayLike, "*members n"],
    *,
    lags: int = 5,
    C: float = 1_000.0,
    epsilon: float = 1e-3,
    gamma: str | float = "scale",
    validation_fraction: float = 0.0,
    reverse: bool = False,
    h: float = 1e-4,
) -> SVRFit:
    """Fit epsilon-support-vector regression (RBF kernel, scikit-learn) to a delay map.

    The series is cut into delay vectors and next values as for `fit_delay_mlp`,
    normalised by one mean and scale, and `sklearn.svm.SVR(kernel="rbf", C, epsilon,
    gamma)` is fitted to them; the result is wrapped as an `SVRMap` whose derivatives are
    finite differences. The faster alternative to a trained network suggested by A. Maus,
    "Modelling Sensitivity using Neural Networks" (2011),
    https://adammaus.com/wp/2011/04/modeling-sensitivity-using-neural-networks/; Smola &
    Schölkopf (2004), "A tutorial on support vector regression", Stat. Comput. 14,
    199-222. The kernel is symmetric in the lags, so the fit need not choose the simplest
    form of the map: its lag sensitivities can spread over lags that a network with the
    true form leaves at zero.

    **Arguments:**

    - `series`: a finite scalar series (n,), or several (members, n).
    - `lags`: the delay-vector length, a positive int (default 5).
    - `C`: the regularisation constant, > 0 (default 1,000).
    - `epsilon`: the half-width of the insensitive tube in normalised units, > 0
      (default 1e-3).
    - `gamma`: the RBF width, "scale", "auto" or a positive float (default "scale").
    - `validation_fraction`: the last fraction of rows held out, in [0, 1) (default 0).
    - `reverse`: reverse the series first, for a model of the inverted map (default
      False).
    - `h`: the finite-difference step in normalised units (default 1e-4).

    **Returns:**

    An `SVRFit` (`model`, `nmse`, `validation_nmse`, `n_support`).

    Example:

    ```python
    dh = cj.systems.DelayedHenon(d=4)
    series = cj.trajectory(dh, dh.default_state(), steps=511, transient=1_000)[:, 0]
    res = cj.learn.fit_svr(series, lags=5)
    res.nmse                                           # ~ 1e-6
    ```
    """
    from sklearn.svm import SVR

    C = v.positive_float(C, "C")
    epsilon = v.positive_float(epsilon, "epsilon")
    h = v.positive_float(h, "h")
    if isinstance(gamma, str):
        v.one_of(gamma, "gamma", ("scale", "auto"))
    else:
        gamma = v.positive_float(gamma, "gamma")
    data = delay_data(series, lags=lags, validation_fraction=validation_fraction, reverse=reverse)
    norm = data.normalizer
    X = np.asarray(norm.normalize(data.inputs))
    y = np.asarray(norm.normalize(data.targets))
    estimator = SVR(kernel="rbf", C=C, epsilon=epsilon, gamma=gamma).fit(X, y)  # pyright: ignore[reportArgumentType] (sklearn's stub types gamma as str only; it takes a float)
    model = SVRMap(estimator=estimator, normalizer=norm, initial_state=data.initial_state, h=h)

    def err(x: Array, target: Array) -> Array:
        pred = norm.denormalize(jnp.asarray(estimator.predict(np.asarray(norm.normalize(x)))))
        return jnp.mean((pred - target) ** 2) / jnp.var(target)

    val = None
    if data.validation_inputs is not None and data.validation_targets is not None:
        val = err(data.validation_inputs, data.validation_targets)
    return SVRFit(
        model=model,
        nmse=err(data.inputs, data.targets),
        validation_nmse=val,
        n_support=int(len(estimator.support_)),
    )
