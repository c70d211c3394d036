"""Time derivatives of sampled trajectories: finite differences, splines, Savitzky-Golay.

Regression methods for dynamics (least squares for dx/dt = A x, SINDy) need dx/dt at
the sample times. `derivative` estimates it along the first (time) axis of an array
sampled at a uniform step `dt`, by one of four estimators, each an equinox Module whose
options are fields checked in `__check_init__`:

- `FiniteDifference(order=2)` ("fd2") and `FiniteDifference(order=4)` ("fd4"): central
  differences in the interior and one-sided differences of the same order at the two
  ends (Fornberg 1988, Math. Comp. 51, 699-706), so the order holds at every sample.
- `Spline(smoothing=0.0, degree=5)` ("spline"): the derivative of an interpolating
  spline, or of a cubic smoothing spline for noisy data (scipy.interpolate).
- `SavitzkyGolay(window=11, polyorder=3)` ("savgol"): the derivative of local
  least-squares polynomials (Savitzky & Golay 1964, Anal. Chem. 36, 1627-1639), through
  `scipy.signal.savgol_filter(..., deriv=1)`.

The strings are shorthands for these Modules, mapped in `METHODS`.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import Any, ClassVar, cast

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .. import _validate as v


class AbstractDerivative(eqx.Module):
    """A derivative estimator for `derivative`: `FiniteDifference`, `Spline`, `SavitzkyGolay`.

    Subclasses hold their options as fields, check them in `__check_init__`, give the
    fewest samples they need (`min_points`) and implement `estimate` on a checked float
    array (time, ...) sampled every `dt`; estimators that smooth also override
    `smooth_and_estimate`. Any subclass is accepted wherever a `derivative` or `method`
    argument takes an estimator.

    Example:

    ```python
    import numpy as np

    class NumpyGradient(cj.learn.AbstractDerivative):
        @property
        def min_points(self):
            return 3

        def estimate(self, x, dt):
            return np.gradient(x, dt, axis=0, edge_order=2)

    t = jnp.linspace(0.0, 1.0, 101)
    cj.learn.derivative(jnp.sin(t), dt=0.01, method=NumpyGradient())   # ~cos(t)
    ```
    """

    name: ClassVar[str] = ""

    @property
    @abc.abstractmethod
    def min_points(self) -> int:
        """The fewest samples along time this estimator works with (an int)."""

    @abc.abstractmethod
    def estimate(self, x: np.ndarray, dt: float) -> np.ndarray:
        """dx/dt along axis 0 of `x`.

        **Arguments:**

        - `x`: a finite float64 NumPy array (time, ...) of at least `min_points` rows.
        - `dt`: the sampling step (time units).

        **Returns:**

        dx/dt, a NumPy array of the shape of `x`, in units of x per time unit.
        """

    def smooth_and_estimate(self, x: np.ndarray, dt: float) -> tuple[np.ndarray, np.ndarray]:
        """The states as this estimator's smoother sees them, and dx/dt.

        Estimators that smooth (Savitzky-Golay, smoothing splines) return the smoothed
        states, whose derivative `estimate` is; the others return `x` unchanged.

        **Arguments:**

        - `x`: a finite float64 NumPy array (time, ...) of at least `min_points` rows.
        - `dt`: the sampling step (time units).

        **Returns:**

        `(states, dx/dt)`, two NumPy arrays of the shape of `x`.
        """
        return x, self.estimate(x, dt)


#: One-sided and central stencils (coefficients times dt) by order: the rows of the first
#: `order // 2` samples, then the central stencil. The last samples use the first rows
#: mirrored with the opposite sign. Fornberg (1988), Table 1, and its one-sided columns.
_FIRST_ROWS: dict[int, tuple[tuple[float, ...], ...]] = {
    2: ((-3 / 2, 2.0, -1 / 2),),
    4: (
        (-25 / 12, 4.0, -3.0, 4 / 3, -1 / 4),
        (-1 / 4, -5 / 6, 3 / 2, -1 / 2, 1 / 12),
    ),
}
_CENTRAL: dict[int, tuple[float, ...]] = {
    2: (-1 / 2, 0.0, 1 / 2),
    4: (1 / 12, -2 / 3, 0.0, 2 / 3, -1 / 12),
}


class FiniteDifference(AbstractDerivative):
    """Central finite differences of order 2 or 4, one-sided of the same order at the ends.

    Order 2: (x_{i+1} - x_{i-1}) / (2 dt) inside and (-3 x_0 + 4 x_1 - x_2) / (2 dt) at
    the start (mirrored at the end); exact for polynomials of degree 2. Order 4:
    (x_{i-2} - 8 x_{i-1} + 8 x_{i+1} - x_{i+2}) / (12 dt) inside and five-point one-sided
    stencils for the first and last two samples; exact for degree 4. Weights from
    Fornberg (1988), "Generation of finite difference formulas on arbitrarily spaced
    grids", Math. Comp. 51, 699-706.

    **Arguments:**

    - `order`: 2 or 4 (default 4). Needs order + 1 samples.

    Example:

    ```python
    xs = cj.trajectory(cj.systems.Lorenz63(), jnp.ones(3), steps=1_000, dt=0.01)
    dxdt = cj.learn.derivative(xs, dt=0.01, method=cj.learn.FiniteDifference(order=2))
    ```
    """

    order: int = eqx.field(default=4, static=True)
    name: ClassVar[str] = "finite_difference"

    def __check_init__(self):
        if isinstance(self.order, bool) or self.order not in _CENTRAL:
            raise ValueError(f"`order` must be 2 or 4, got {self.order!r}.")

    @property
    def min_points(self) -> int:
        return self.order + 1

    def estimate(self, x: np.ndarray, dt: float) -> np.ndarray:
        n, half = x.shape[0], self.order // 2
        out = np.empty_like(x)
        central = _CENTRAL[self.order]
        # Interior: sum_k c_k x_{i+k-half}, as shifted slices (one pass per weight).
        inner = np.zeros_like(x[half : n - half])
        for k, c in enumerate(central):
            if c != 0.0:
                inner += c * x[k : n - 2 * half + k]
        out[half : n - half] = inner
        for i, row in enumerate(_FIRST_ROWS[self.order]):
            w = np.asarray(row)[:, None] if x.ndim > 1 else np.asarray(row)
            out[i] = np.sum(w * x[: len(row)], axis=0)
            # Mirror: the last samples read backwards, with the opposite sign.
            out[n - 1 - i] = -np.sum(w * x[::-1][: len(row)], axis=0)
        return out / dt


class Spline(AbstractDerivative):
    """The derivative of a spline through (or near) the samples (scipy.interpolate).

    - `smoothing=0.0` (default): the interpolating spline of `degree` with not-a-knot end
      conditions (`scipy.interpolate.make_interp_spline`); exact for polynomials of
      degree `degree`, its derivative converges like dt^degree. For clean data.
    - `smoothing=lam > 0`: the cubic smoothing spline minimising
      sum_i (x_i - f(t_i))^2 + lam * integral f''(t)^2 dt, per coordinate
      (`scipy.interpolate.make_smoothing_spline`; Wahba 1990, *Spline Models for
      Observational Data*, SIAM). `lam` has units of time^3 per sample: larger is
      smoother; lam -> 0 interpolates, lam -> inf fits a straight line.
    - `smoothing=None`: the same cubic smoothing spline with lam chosen per coordinate by
      generalised cross-validation (Craven & Wahba 1979, Numer. Math. 31, 377-403). For
      noisy data when the noise level is unknown.

    **Arguments:**

    - `smoothing`: 0.0 (default), a positive lam, or None (see above).
    - `degree`: the interpolating spline's degree, 1 to 5 (default 5); used only when
      `smoothing=0`. The smoothing spline is cubic.

    Example:

    ```python
    t = jnp.linspace(0.0, 2.0, 1_001)
    noisy = jnp.sin(t) + 1e-3 * jax.random.normal(jax.random.key(0), t.shape)
    dxdt = cj.learn.derivative(noisy, dt=0.002, method="spline", smoothing=None)
    dxdt = cj.learn.derivative(noisy, dt=0.002, method=cj.learn.Spline(smoothing=None))
    ```
    """

    smoothing: float | None = eqx.field(default=0.0, static=True)
    degree: int = eqx.field(default=5, static=True)
    name: ClassVar[str] = "spline"

    def __check_init__(self):
        if self.smoothing is not None:
            if isinstance(self.smoothing, bool) or not isinstance(self.smoothing, (int, float)):
                raise ValueError(
                    f"`smoothing` must be a float >= 0 or None, got {self.smoothing!r}."
                )
            if not np.isfinite(self.smoothing) or self.smoothing < 0:
                raise ValueError(
                    f"`smoothing` must be a finite float >= 0 or None, got {self.smoothing!r}."
                )
        if isinstance(self.degree, bool) or self.degree not in (1, 2, 3, 4, 5):
            raise ValueError(f"`degree` must be an int from 1 to 5, got {self.degree!r}.")

    @property
    def min_points(self) -> int:
        # The cubic smoothing spline needs 5 samples (scipy's minimum).
        return self.degree + 1 if self.smoothing == 0 else 5

    def estimate(self, x: np.ndarray, dt: float) -> np.ndarray:
        return self.smooth_and_estimate(x, dt)[1]

    def smooth_and_estimate(self, x: np.ndarray, dt: float) -> tuple[np.ndarray, np.ndarray]:
        import scipy.interpolate  # slow to import; only this estimator needs it

        t = dt * np.arange(x.shape[0])
        if self.smoothing == 0:
            spline = scipy.interpolate.make_interp_spline(t, x, k=self.degree, axis=0)
            return x, spline.derivative()(t)
        cols = x.reshape(x.shape[0], -1)
        splines = [
            scipy.interpolate.make_smoothing_spline(t, cols[:, j], lam=self.smoothing)
            for j in range(cols.shape[1])
        ]
        values = np.stack([s(t) for s in splines], axis=1).reshape(x.shape)
        rates = np.stack([s.derivative()(t) for s in splines], axis=1).reshape(x.shape)
        return values, rates


class SavitzkyGolay(AbstractDerivative):
    """The Savitzky-Golay smoothing derivative (`scipy.signal.savgol_filter`, `deriv=1`).

    Around every sample a polynomial of degree `polyorder` is fitted by least squares to
    `window` samples, and its derivative at the sample is returned; near the ends the
    polynomial fitted to the first (last) `window` samples is used (`mode="interp"`).
    Exact for polynomials of degree `polyorder`; noise is averaged over the window, and
    the bias grows with the window's duration `window * dt`. Savitzky & Golay (1964),
    "Smoothing and differentiation of data by simplified least squares procedures",
    Anal. Chem. 36, 1627-1639.

    **Arguments:**

    - `window`: odd number of samples per fit, > `polyorder` (default 11).
    - `polyorder`: degree of the local polynomials, >= 1 (default 3).

    Example:

    ```python
    t = jnp.linspace(0.0, 2.0, 1_001)
    noisy = jnp.sin(t) + 1e-3 * jax.random.normal(jax.random.key(0), t.shape)
    dxdt = cj.learn.derivative(noisy, dt=0.002, method="savgol", window=41, polyorder=3)
    ```
    """

    window: int = eqx.field(default=11, static=True)
    polyorder: int = eqx.field(default=3, static=True)
    name: ClassVar[str] = "savgol"

    def __check_init__(self):
        v.positive_int(self.polyorder, "polyorder")
        v.positive_int(self.window, "window")
        if self.window % 2 == 0 or self.window <= self.polyorder:
            raise ValueError(
                f"`window` must be odd and larger than `polyorder`={self.polyorder}, "
                f"got {self.window!r}."
            )

    @property
    def min_points(self) -> int:
        return self.window

    def estimate(self, x: np.ndarray, dt: float) -> np.ndarray:
        import scipy.signal  # slow to import; only this estimator needs it

        return np.asarray(
            scipy.signal.savgol_filter(
                x, self.window, self.polyorder, deriv=1, delta=dt, axis=0, mode="interp"
            )
        )

    def smooth_and_estimate(self, x: np.ndarray, dt: float) -> tuple[np.ndarray, np.ndarray]:
        import scipy.signal

        values = scipy.signal.savgol_filter(x, self.window, self.polyorder, axis=0, mode="interp")
        return np.asarray(values), self.estimate(x, dt)


#: The string shorthands of `derivative`'s `method`; options go to the Module.
METHODS: dict[str, Callable[..., AbstractDerivative]] = {
    "fd2": lambda **options: FiniteDifference(order=2, **options),
    "fd4": lambda **options: FiniteDifference(order=4, **options),
    "spline": Spline,
    "savgol": SavitzkyGolay,
}


def as_derivative(method: object, options: dict | None = None, name: str = "method"):
    """The estimator `method` names (a string of `METHODS` with `options`, or a Module)."""
    options = options or {}
    if isinstance(method, AbstractDerivative):
        if options:
            raise ValueError(
                f"options {sorted(options)} are only accepted with a string `{name}`; "
                f"set them on {type(method).__name__} instead."
            )
        return method
    if not isinstance(method, str):
        raise ValueError(
            f"`{name}` must be one of {list(METHODS)} or a derivative Module "
            f"(cj.learn.FiniteDifference, Spline, SavitzkyGolay), got {method!r}."
        )
    v.one_of(method, name, METHODS)
    try:
        return METHODS[method](**options)
    except TypeError as err:
        raise ValueError(f"bad option for `{name}`={method!r}: {err}") from None


def check_samples(x: object, dt: object, method: AbstractDerivative, name: str = "x"):
    """`x` as float64 NumPy (time,) or (time, dim), finite and long enough; `dt` as float."""
    dt = v.positive_float(dt, "dt")
    arr = _finite_float(x, name)
    if arr.ndim not in (1, 2):
        raise ValueError(f"`{name}` must have shape (time,) or (time, dim), got shape {arr.shape}.")
    if arr.shape[0] < method.min_points:
        raise ValueError(
            f"`{name}` has {arr.shape[0]} samples along time (axis 0); "
            f"{type(method).__name__} needs at least {method.min_points}."
        )
    return arr, dt


def derivative(
    x: Float[ArrayLike, " time *dim"],
    dt: float,
    method: str | AbstractDerivative = "fd4",
    **options,
) -> Float[Array, " time *dim"]:
    """dx/dt of samples taken every `dt`, along axis 0 (time).

    The estimator is `method`: "fd2" or "fd4" (finite differences of order 2 or 4,
    `FiniteDifference`), "spline" (`Spline`: interpolating or smoothing spline) or
    "savgol" (`SavitzkyGolay`), or one of those Modules itself. Keyword `options` go to
    the Module named by a string (e.g. `window=`, `polyorder=` for "savgol",
    `smoothing=`, `degree=` for "spline"). The arithmetic runs in float64 NumPy/SciPy
    outside JAX; the result is a JAX array.

    **Arguments:**

    - `x`: samples, shape (time,) or (time, dim); finite.
    - `dt`: the sampling step, a positive float (time units).
    - `method`: a string of `METHODS` or an `AbstractDerivative` (default "fd4").
    - `**options`: the options of a string `method` (e.g. `window=` for "savgol").

    **Returns:**

    dx/dt, the shape of `x`, in state units per time unit.

    Example:

    ```python
    t = jnp.linspace(0.0, 1.0, 101)
    cj.learn.derivative(jnp.sin(t), dt=0.01)                    # ~cos(t), error ~1e-9
    noisy = jnp.sin(t) + 1e-4 * jax.random.normal(jax.random.key(0), t.shape)
    cj.learn.derivative(noisy, dt=0.01, method="savgol", window=21)
    ```
    """
    estimator = as_derivative(method, options)
    arr, dt = check_samples(x, dt, estimator)
    return jnp.asarray(estimator.estimate(arr, dt))


# The data's shape is checked in the body, not by its annotation, so that a wrong shape is
# a ValueError naming the argument under any type checker.
def state_derivative_pairs(
    data: Float[ArrayLike, "..."],
    *,
    dt: float,
    derivative: str | AbstractDerivative = "fd4",
    x_dot: Float[ArrayLike, "..."] | None = None,
    smooth_states: bool = True,
) -> tuple[Float[Array, "samples dim"], Float[Array, "samples dim"]]:
    """The regression pairs (x_i, dx/dt_i) of one or several trajectories, rows stacked.

    Each trajectory (member) is differentiated on its own along time with `derivative`
    (see `derivative`), or the given `x_dot` is used; the members' rows are then stacked
    in order. Used by `fit_linear_flow` and `fit_sindy`.

    With `smooth_states` and a smoothing estimator (Savitzky-Golay, a smoothing spline)
    the states returned are the smoothed ones the derivative belongs to, so that noise
    in the regressors does not add to the fit's error (as pysindy's
    `SmoothedFiniteDifference(save_smooth=True)` does); finite differences and
    interpolating splines leave the states unchanged.

    **Arguments:**

    - `data`: states sampled every `dt`, shape (time, dim) or (member, time, dim); finite.
    - `dt`: the sampling step (time units), a positive float.
    - `derivative`: a string of `METHODS` or an `AbstractDerivative` (default "fd4").
    - `x_dot`: precomputed dx/dt of the shape of `data`, or None (estimate it); the
      states are then returned as given.
    - `smooth_states`: return the estimator's smoothed states (default True).

    **Returns:**

    `(X, X_dot)`, each of shape (member * time, dim).

    Example:

    ```python
    lor = cj.systems.Lorenz63()
    xs = cj.trajectory(lor, lor.sample_state(jax.random.key(0), 3), steps=500, dt=0.01)
    X, X_dot = cj.learn.state_derivative_pairs(xs, dt=0.01, derivative="fd4")  # (1503, 3)
    ```
    """
    estimator = as_derivative(derivative, name="derivative")
    dt = v.positive_float(dt, "dt")
    if not isinstance(smooth_states, bool):
        raise ValueError(f"`smooth_states` must be a bool, got {smooth_states!r}.")
    arr = _finite_float(data, "data")
    if arr.ndim not in (2, 3):
        raise ValueError(
            f"`data` must have shape (time, dim) or (member, time, dim), got shape {arr.shape}."
        )
    n_time, dim = arr.shape[-2:]
    members = arr.reshape(-1, n_time, dim)
    if x_dot is None:
        if n_time < estimator.min_points:
            raise ValueError(
                f"`data` has {n_time} samples along time; the derivative "
                f"{type(estimator).__name__} needs at least {estimator.min_points}."
            )
        if smooth_states:
            pairs = [estimator.smooth_and_estimate(m, dt) for m in members]
            members = np.stack([p[0] for p in pairs])
            rates = np.stack([p[1] for p in pairs])
        else:
            rates = np.stack([estimator.estimate(m, dt) for m in members])
    else:
        rates = _finite_float(x_dot, "x_dot")
        if rates.shape != arr.shape:
            raise ValueError(
                f"`x_dot` must have the shape of `data` {arr.shape}, got shape {rates.shape}."
            )
        rates = rates.reshape(members.shape)
    return jnp.asarray(members.reshape(-1, dim)), jnp.asarray(rates.reshape(-1, dim))


def _finite_float(x: object, name: str) -> np.ndarray:
    if np.iscomplexobj(cast(Any, x)):  # a cast would drop the imaginary part
        raise ValueError(f"`{name}` must be real, got complex dtype {np.asarray(x).dtype}.")
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"`{name}` must be a float array, got {x!r}.") from None
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0].tolist()
        raise ValueError(f"`{name}` must be finite; entry {bad} is {arr[tuple(bad)]}.")
    return arr
