"""SINDy: sparse identification of nonlinear dynamics by sequentially thresholded least squares.

Brunton, Proctor & Kutz (2016), "Discovering governing equations from data by sparse
identification of nonlinear dynamical systems", PNAS 113, 3932-3937. With a library of
candidate functions Theta(x) = [theta_1(x), ..., theta_p(x)] evaluated on every sample
(rows of Theta) and the estimated derivatives X_dot, SINDy seeks a sparse Xi with

    X_dot ~= Theta(X) Xi,        dx/dt = Theta(x) Xi,

by sequentially thresholded least squares (STLSQ): solve the least-squares (optionally
ridge) problem on the active terms, drop every coefficient with |xi| < threshold, and
repeat on the remaining terms until the active set stops changing; the coefficients
returned are the final least-squares (ridge) fit on the final active set.

Written in JAX, not as a wrapper over pysindy, for three reasons:

- The fitted model must be a `cj.Flow` whose vector field JAX can trace (for
  `cj.lyapunov_spectrum`, `cj.trajectory`, `jax.grad`), so the libraries have to be
  JAX functions anyway; pysindy's are NumPy/scikit-learn transformers. With the
  libraries in JAX, a wrapper would save only the regression, a few dozen lines.
- The regression after the library evaluation is one compiled call: one QR
  factorisation Theta = Q R of the (samples, p) matrix reduces every later least-squares
  problem to a (p, p) one (|Theta xi - y|^2 = |R xi - Q^T y|^2 + const), and the
  thresholding loop is a `lax.while_loop` over all equations at once (`vmap`), with no
  Python or scikit-learn call per equation and iteration. Factoring Theta, not forming
  Theta^T Theta, keeps the conditioning of Theta rather than its square, so the result
  agrees with pysindy's STLSQ (which refits with `numpy.linalg.lstsq`) to rounding.
- It adds no run-time dependency: pysindy is used only to test and benchmark this
  module.

The derivative estimate (finite differences, splines, Savitzky-Golay) runs before, in
NumPy/SciPy (`chaosjax.learn.derivatives`).
"""

from __future__ import annotations

import abc
import functools
import itertools
import warnings
from collections.abc import Callable, Sequence
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Bool, Float, Int

from .. import _validate as v
from .._results import Result
from ..systems import Flow
from .derivatives import AbstractDerivative, state_derivative_pairs

# ----------------------------------------------------------------------------- libraries


class AbstractLibrary(eqx.Module):
    """A library of candidate functions Theta(x) for SINDy (Brunton, Proctor & Kutz
    2016, PNAS 113, 3932-3937).

    A library maps one state (dim,) to its features (n_features(dim),) and names them:
    subclasses implement `n_features`, `__call__` (a JAX function, traced inside the
    fitted `SINDyFlow`) and `feature_names`. Libraries concatenate with `+`
    (`PolynomialLibrary(2) + FourierLibrary(1)`), and any subclass is accepted as
    `fit_sindy`'s `library`.

    Example:

    ```python
    class Exponentials(cj.learn.AbstractLibrary):
        def n_features(self, dim):
            return dim

        def __call__(self, x):
            return jnp.exp(x)

        def feature_names(self, var_names):
            return [f"exp({v})" for v in var_names]

    lib = cj.learn.PolynomialLibrary(1) + Exponentials()
    lib.feature_names(["x"])               # ['1', 'x', 'exp(x)']
    ```
    """

    @abc.abstractmethod
    def n_features(self, dim: int) -> int:
        """How many features a state of dimension `dim` gives.

        **Arguments:**

        - `dim`: the state dimension.

        **Returns:**

        The number of features, an int.
        """

    @abc.abstractmethod
    def __call__(self, x: Float[Array, " dim"]) -> Float[Array, " features"]:
        """The features theta_k(x) of one state.

        **Arguments:**

        - `x`: one state, shape (dim,).

        **Returns:**

        The features, shape (n_features(dim),); a JAX function, traced inside the model.
        """

    @abc.abstractmethod
    def feature_names(self, var_names: Sequence[str]) -> list[str]:
        """The features' names, written with `var_names`.

        **Arguments:**

        - `var_names`: one name per state coordinate.

        **Returns:**

        A list of n_features(len(var_names)) strings, in the order of the features.
        """

    def __add__(self, other: AbstractLibrary) -> ConcatLibrary:
        if not isinstance(other, AbstractLibrary):
            return NotImplemented
        return ConcatLibrary((self, other))


class PolynomialLibrary(AbstractLibrary):
    """All monomials of the state coordinates up to total degree `degree`.

    Ordered by degree, then lexicographically by coordinate (the order of pysindy's
    `PolynomialLibrary`): for (x, y) and degree 2, [1, x, y, x^2, x y, y^2].

    **Arguments:**

    - `degree`: the largest total degree, >= 1 (default 2).
    - `include_bias`: whether the constant 1 is a feature (default True).

    Example:

    ```python
    lib = cj.learn.PolynomialLibrary(2)
    lib.feature_names(["x", "y"])      # ['1', 'x', 'y', 'x^2', 'x y', 'y^2']
    ```
    """

    degree: int = eqx.field(default=2, static=True)
    include_bias: bool = eqx.field(default=True, static=True)

    def __check_init__(self):
        v.positive_int(self.degree, "degree")
        if not isinstance(self.include_bias, bool):
            raise ValueError(f"`include_bias` must be a bool, got {self.include_bias!r}.")

    def terms(self, dim: int) -> list[tuple[int, ...]]:
        """The monomials as tuples of coordinate indices (x y^2 -> (0, 1, 1)).

        **Arguments:**

        - `dim`: the state dimension.

        **Returns:**

        A list of tuples, in the order of the features; () is the constant.
        """
        first = 0 if self.include_bias else 1
        return [
            t
            for d in range(first, self.degree + 1)
            for t in itertools.combinations_with_replacement(range(dim), d)
        ]

    def n_features(self, dim: int) -> int:
        return len(self.terms(dim))

    def __call__(self, x: Float[Array, " dim"]) -> Float[Array, " features"]:
        features, previous = [], {(): jnp.ones((), x.dtype)}
        if self.include_bias:
            features.append(previous[()])
        for _ in range(self.degree):
            # Degree-d monomials from degree d-1 ones times a coordinate at or after the
            # last index, so each monomial is built once and in the order of `terms`.
            current = {}
            for t, value in previous.items():
                for j in range(t[-1] if t else 0, x.shape[0]):
                    current[t + (j,)] = value * x[j]
            features.extend(current.values())
            previous = current
        return jnp.stack(features)

    def feature_names(self, var_names: Sequence[str]) -> list[str]:
        names = []
        for t in self.terms(len(var_names)):
            if not t:
                names.append("1")
                continue
            powers = [(j, t.count(j)) for j in sorted(set(t))]
            names.append(
                " ".join(var_names[j] if k == 1 else f"{var_names[j]}^{k}" for j, k in powers)
            )
        return names


class FourierLibrary(AbstractLibrary):
    """sin(k x_j) and cos(k x_j) for k = 1 .. `n_frequencies` and every coordinate x_j.

    Ordered by frequency, then coordinate, sine before cosine (the order of pysindy's
    `FourierLibrary`): for (x, y) and one frequency, [sin(x), cos(x), sin(y), cos(y)].

    **Arguments:**

    - `n_frequencies`: the highest integer frequency, >= 1 (default 1).

    Example:

    ```python
    lib = cj.learn.PolynomialLibrary(1) + cj.learn.FourierLibrary(2)
    ```
    """

    n_frequencies: int = eqx.field(default=1, static=True)

    def __check_init__(self):
        v.positive_int(self.n_frequencies, "n_frequencies")

    def n_features(self, dim: int) -> int:
        return 2 * self.n_frequencies * dim

    def __call__(self, x: Float[Array, " dim"]) -> Float[Array, " features"]:
        k = jnp.arange(1, self.n_frequencies + 1, dtype=x.dtype)[:, None]
        kx = k * x[None, :]
        # (frequency, coordinate, sin/cos), flattened in that order.
        return jnp.stack([jnp.sin(kx), jnp.cos(kx)], axis=-1).reshape(-1)

    def feature_names(self, var_names: Sequence[str]) -> list[str]:
        names = []
        for k in range(1, self.n_frequencies + 1):
            arg = "{}" if k == 1 else f"{k} {{}}"
            for name in var_names:
                names += [f"sin({arg.format(name)})", f"cos({arg.format(name)})"]
        return names


class ConcatLibrary(AbstractLibrary):
    """The features of several libraries side by side, in order (also `lib_a + lib_b`).

    **Arguments:**

    - `libraries`: a non-empty tuple of libraries.

    Example:

    ```python
    lib = cj.learn.ConcatLibrary((cj.learn.PolynomialLibrary(3), cj.learn.FourierLibrary(1)))
    ```
    """

    libraries: tuple[AbstractLibrary, ...]

    def __check_init__(self):
        if (
            not isinstance(self.libraries, tuple)
            or not self.libraries
            or not all(isinstance(lib, AbstractLibrary) for lib in self.libraries)
        ):
            raise ValueError(
                f"`libraries` must be a non-empty tuple of libraries, got {self.libraries!r}."
            )

    def __add__(self, other: AbstractLibrary) -> ConcatLibrary:
        if not isinstance(other, AbstractLibrary):
            return NotImplemented
        return ConcatLibrary(self.libraries + (other,))

    def n_features(self, dim: int) -> int:
        return sum(lib.n_features(dim) for lib in self.libraries)

    def __call__(self, x: Float[Array, " dim"]) -> Float[Array, " features"]:
        return jnp.concatenate([lib(x) for lib in self.libraries])

    def feature_names(self, var_names: Sequence[str]) -> list[str]:
        return [name for lib in self.libraries for name in lib.feature_names(var_names)]


#: The string shorthands of `fit_sindy`'s `library`.
LIBRARIES: dict[str, Callable[[], AbstractLibrary]] = {
    "linear": lambda: PolynomialLibrary(1),
    "polynomial": lambda: PolynomialLibrary(2),
    "cubic": lambda: PolynomialLibrary(3),
    "fourier": lambda: FourierLibrary(1),
}


def _as_library(library: object) -> AbstractLibrary:
    if isinstance(library, AbstractLibrary):
        return library
    if not isinstance(library, str):
        raise ValueError(
            f"`library` must be one of {list(LIBRARIES)} or a library Module "
            f"(cj.learn.PolynomialLibrary, FourierLibrary, ConcatLibrary), got {library!r}."
        )
    return LIBRARIES[v.one_of(library, "library", LIBRARIES)]()


# ------------------------------------------------------------------------------ the model


def _float_array(x: ArrayLike) -> Array:
    return jnp.asarray(x, dtype=jnp.result_type(float))


class SINDyFlow(Flow):
    """A flow identified by SINDy: dx/dt = Theta(x) Xi (see `fit_sindy`).

    A `cj.Flow` like any other: `cj.trajectory`, `cj.lyapunov_spectrum` and `jax.grad`
    with respect to the coefficients apply unchanged. `print(model)` shows the equations.

    **Arguments:**

    - `library`: the candidate functions Theta (an `AbstractLibrary`).
    - `coefficients`: Xi, shape (n_features, dim); column j gives dx_j/dt.
    - `var_names`: the coordinates' names, one per state coordinate.
    - `initial_state`: a state the model is started from by default (`default_state()`),
      shape (dim,); `fit_sindy` stores the first sample of the data.

    Example:

    ```python
    lor = cj.systems.Lorenz63()
    xs = cj.trajectory(lor, lor.default_state(), steps=5_000, dt=0.002)
    model = cj.learn.fit_sindy(xs, dt=0.002)
    print(model)                        # x' = -10.000 x + 10.000 y ...
    model.vector_field(xs[0])
    ```
    """

    library: AbstractLibrary
    coefficients: Float[Array, "features dim"] = eqx.field(converter=_float_array)
    var_names: tuple[str, ...] = eqx.field(static=True)
    initial_state: Float[Array, " dim"] = eqx.field(converter=_float_array)

    name: ClassVar[str] = "sindy"

    def __check_init__(self):
        if self.coefficients.ndim != 2:
            raise ValueError(
                f"`coefficients` must have shape (n_features, dim), got {self.coefficients.shape}."
            )
        features, dim = self.coefficients.shape
        if self.library.n_features(dim) != features:
            raise ValueError(
                f"`coefficients` has {features} rows but the library gives "
                f"{self.library.n_features(dim)} features in dimension {dim}."
            )
        if len(self.var_names) != dim:
            raise ValueError(f"`var_names` must have {dim} names, got {self.var_names!r}.")
        if self.initial_state.shape != (dim,):
            raise ValueError(
                f"`initial_state` must have shape ({dim},), got {self.initial_state.shape}."
            )

    @property
    def dim(self) -> int:
        return int(self.coefficients.shape[1])

    def variable_names(self) -> tuple[str, ...]:
        """`var_names`: the names the equations are written with."""
        return tuple(self.var_names)

    def vector_field(self, x: Float[Array, " dim"]) -> Float[Array, " dim"]:
        return self.library(x) @ self.coefficients

    def default_state(self) -> Float[Array, " dim"]:
        return self.initial_state

    def equations(self, precision: int = 3) -> list[str]:
        """The identified equations, one string per coordinate, nonzero terms only.

        **Arguments:**

        - `precision`: digits after the decimal point (default 3).

        **Returns:**

        A list like `["x' = -10.000 x + 10.000 y", ...]`; an equation without terms
        reads `"x' = 0"`.
        """
        v.nonnegative_int(precision, "precision")
        names = self.library.feature_names(self.var_names)
        xi = np.asarray(self.coefficients)
        lines = []
        for j, var in enumerate(self.var_names):
            rhs = ""
            for i, feature in enumerate(names):
                c = float(xi[i, j])
                if c == 0.0:
                    continue
                size = f"{abs(c):.{precision}f}"
                term = size if feature == "1" else f"{size} {feature}"
                if rhs:
                    rhs += (" - " if c < 0 else " + ") + term
                else:
                    rhs = ("-" if c < 0 else "") + term
            lines.append(f"{var}' = {rhs or '0'}")
        return lines

    def __str__(self) -> str:
        return "\n".join(self.equations())


# -------------------------------------------------------------------------------- STLSQ


class STLSQResult(Result):
    """Sparse coefficients from sequentially thresholded least squares (what `stlsq`
    returns).

    **Attributes:**

    - `coefficients`: Xi, shape (n_features, dim), zero outside the active set.
    - `active`: the active set, bool (n_features, dim).
    - `iterations`: the thresholding rounds run (each one least-squares fit per equation).
    - `converged`: whether the active set stopped changing within `max_iter` rounds.

    Example:

    ```python
    theta = jnp.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    res = cj.learn.stlsq(theta, theta @ jnp.array([[2.0], [0.01]]), threshold=0.1)
    res.coefficients, res.active             # [[2.005], [0.0]], [[True], [False]]
    ```
    """

    coefficients: Float[Array, "features dim"]
    active: Bool[Array, "features dim"]
    iterations: Int[Array, ""]
    converged: Bool[Array, ""]


@functools.partial(jax.jit, static_argnames=("max_iter", "normalize_columns"))
def _stlsq(theta, y, threshold, alpha, max_iter, normalize_columns):
    p = theta.shape[1]
    norms = jnp.ones(p, theta.dtype)
    if normalize_columns:
        norms = jnp.linalg.norm(theta, axis=0)
        norms = jnp.where(norms > 0, norms, 1.0)
        theta = theta / norms[None, :]
    Q, R = jnp.linalg.qr(theta)  # reduced: R is (min(samples, p), p)
    rhs = Q.T @ y
    # An inactive term's coefficient is pinned to 0 by an extra row (scale) e_k; an active
    # one gets the ridge row sqrt(alpha) e_k. Every subproblem keeps the shape (., p).
    scale = jnp.max(jnp.abs(R))
    zeros = jnp.zeros(p, theta.dtype)

    def solve(mask, b):
        rows = jnp.where(mask, jnp.sqrt(alpha), scale)
        A = jnp.concatenate([R * mask[None, :].astype(R.dtype), jnp.diag(rows)])
        xi = jnp.linalg.lstsq(A, jnp.concatenate([b, zeros]))[0]
        return jnp.where(mask, xi, 0.0)

    solve_all = jax.vmap(solve, in_axes=(1, 1), out_axes=1)

    def cond(state):
        k, _, changed = state
        return (k < max_iter) & changed

    def body(state):
        k, mask, _ = state
        xi = solve_all(mask, rhs)
        new = mask & (jnp.abs(xi) >= threshold)
        return k + 1, new, jnp.any(new != mask)

    start = (jnp.asarray(0), jnp.ones((p, y.shape[1]), bool), jnp.asarray(True))
    k, mask, changed = jax.lax.while_loop(cond, body, start)
    xi = solve_all(mask, rhs) / norms[:, None]
    return xi, mask, k, ~changed


def stlsq(
    theta: Float[ArrayLike, "..."],
    x_dot: Float[ArrayLike, "..."],
    *,
    threshold: float = 0.1,
    alpha: float = 0.0,
    max_iter: int = 20,
    normalize_columns: bool = False,
) -> STLSQResult:
    """Sequentially thresholded least squares (Brunton, Proctor & Kutz 2016, PNAS 113, 3932).

    For every column y of `x_dot`, starting from all features active: fit
    min |Theta_a xi - y|^2 + alpha |xi|^2 on the active features a, deactivate those with
    |xi_k| < `threshold`, and repeat until no feature is dropped or `max_iter` rounds
    have run; then refit on the final active set. With `normalize_columns` the columns
    of Theta are divided by their 2-norms first (the threshold then applies to the
    scaled coefficients) and the result is scaled back. The same algorithm as pysindy's
    `STLSQ(threshold, alpha, max_iter, normalize_columns)`, whose final unregularised
    refit (`unbias=True`) equals this refit when `alpha = 0`.

    One QR factorisation of Theta turns every fit into a (p, p) least-squares problem;
    the loop runs compiled, over all equations at once. Works under `jit` and `vmap`.

    **Arguments:**

    - `theta`: the library evaluated on the samples, shape (samples, n_features).
    - `x_dot`: the derivatives, shape (samples, dim).
    - `threshold`: the smallest kept coefficient magnitude, >= 0 (default 0.1).
    - `alpha`: ridge weight, >= 0 (default 0: plain least squares).
    - `max_iter`: the most thresholding rounds (default 20).
    - `normalize_columns`: scale the columns of Theta to unit norm first (default False).

    **Returns:**

    An `STLSQResult` (coefficients (n_features, dim), active set, iterations, converged).

    Example:

    ```python
    lor = cj.systems.Lorenz63()
    X = cj.trajectory(lor, lor.default_state(), steps=2_000, dt=0.002)
    X_dot = jax.vmap(lor.vector_field)(X)
    theta = jax.vmap(cj.learn.PolynomialLibrary(2))(X)
    res = cj.learn.stlsq(theta, X_dot, threshold=0.1)
    res.coefficients[1:4, 0]                 # dx/dt = -10 x + 10 y: [-10, 10, 0]
    ```
    """
    for name, value in (("threshold", threshold), ("alpha", alpha)):
        if v.is_concrete(value) and (not np.isfinite(float(value)) or float(value) < 0):
            raise ValueError(f"`{name}` must be a finite float >= 0, got {value!r}.")
    max_iter = v.positive_int(max_iter, "max_iter")
    if not isinstance(normalize_columns, bool):
        raise ValueError(f"`normalize_columns` must be a bool, got {normalize_columns!r}.")
    theta, x_dot = jnp.asarray(theta), jnp.asarray(x_dot)
    if theta.ndim != 2 or x_dot.ndim != 2 or theta.shape[0] != x_dot.shape[0]:
        raise ValueError(
            "`theta` (samples, n_features) and `x_dot` (samples, dim) must share their "
            f"first axis, got shapes {theta.shape} and {x_dot.shape}."
        )
    dtype = jnp.result_type(theta, x_dot, float)
    xi, mask, k, converged = _stlsq(
        theta.astype(dtype),
        x_dot.astype(dtype),
        jnp.asarray(threshold, dtype),
        jnp.asarray(alpha, dtype),
        max_iter,
        normalize_columns,
    )
    return STLSQResult(coefficients=xi, active=mask, iterations=k, converged=converged)


# ----------------------------------------------------------------------------------- fit


def _default_names(dim: int) -> tuple[str, ...]:
    return ("x", "y", "z")[:dim] if dim <= 3 else tuple(f"u{i + 1}" for i in range(dim))


def _check_names(var_names: object, dim: int) -> tuple[str, ...]:
    if var_names is None:
        return _default_names(dim)
    if isinstance(var_names, str) or not isinstance(var_names, Sequence):
        raise ValueError(f"`var_names` must be a sequence of {dim} strings, got {var_names!r}.")
    names = tuple(var_names)
    if (
        len(names) != dim
        or not all(isinstance(n, str) and n for n in names)
        or len(set(names)) != dim
    ):
        raise ValueError(
            f"`var_names` must be {dim} distinct non-empty strings (one per state "
            f"coordinate), got {var_names!r}."
        )
    return names


@eqx.filter_jit
def _evaluate(library: AbstractLibrary, X: Array) -> Array:
    return jax.vmap(library)(X)


def fit_sindy(
    data: Float[ArrayLike, "..."],
    *,
    dt: float,
    library: str | AbstractLibrary = PolynomialLibrary(2),
    threshold: float = 0.1,
    derivative: str | AbstractDerivative = "fd4",
    alpha: float = 0.0,
    max_iter: int = 20,
    normalize_columns: bool = False,
    var_names: Sequence[str] | None = None,
    x_dot: Float[ArrayLike, "..."] | None = None,
    smooth_states: bool = True,
) -> SINDyFlow:
    """Identify dx/dt = Theta(x) Xi from sampled trajectories with SINDy.

    Sparse identification of nonlinear dynamics (Brunton, Proctor & Kutz 2016, PNAS
    113, 3932-3937): dx/dt is estimated along each trajectory (`derivative`), the library
    Theta is evaluated on every sample, and the sparse coefficients Xi come from
    sequentially thresholded least squares (`stlsq`). For noisy data use a smoothing
    derivative (`cj.learn.SavitzkyGolay(window=...)` or `cj.learn.Spline(smoothing=...)`);
    Theta is then evaluated on the smoothed states (`smooth_states`).

    **Arguments:**

    - `data`: states sampled every `dt`, shape (time, dim) or (member, time, dim);
      finite. Members are differentiated separately and fitted together.
    - `dt`: the sampling step (time units), a positive float.
    - `library`: the candidate functions, an `AbstractLibrary` or one of "linear",
      "polynomial" (degree 2), "cubic", "fourier" (default `PolynomialLibrary(2)`).
    - `threshold`: the smallest kept coefficient magnitude, >= 0 (default 0.1).
    - `derivative`: the derivative estimator, a string of
      `cj.learn.derivatives.METHODS` or an `AbstractDerivative` (default "fd4").
    - `alpha`: ridge weight of every fit, >= 0 (default 0).
    - `max_iter`: the most thresholding rounds (default 20).
    - `normalize_columns`: threshold the coefficients of unit-norm library columns
      (default False).
    - `var_names`: the coordinates' names for `equations()`; default x, y, z (dim <= 3)
      or u1, u2, ...
    - `x_dot`: precomputed dx/dt of the shape of `data`, in state units per time unit;
      then `derivative` is not used (default None).
    - `smooth_states`: evaluate the library on the smoothed states of a smoothing
      `derivative` rather than the raw ones (default True), which keeps the noise out
      of Theta as well as out of dx/dt (pysindy's `SmoothedFiniteDifference` with
      `save_smooth=True` does the same). No effect for finite differences, interpolating
      splines or a given `x_dot`.

    **Returns:**

    A `SINDyFlow` (a `cj.Flow`): its `coefficients` (n_features, dim), `library`,
    `var_names`, `equations()`; `default_state()` is the first sample of `data`.

    Example:

    ```python
    lor = cj.systems.Lorenz63()
    xs = cj.trajectory(lor, lor.default_state(), steps=10_000, dt=0.002)
    model = cj.learn.fit_sindy(xs, dt=0.002, threshold=0.1)
    print(model)            # x' = -10.000 x + 10.000 y, y' = 28.000 x - 1.000 y - ...
    cj.lyapunov_spectrum(model, model.default_state(), steps=20_000, dt=0.01).exponents
    ```
    """
    library = _as_library(library)
    X, X_dot = state_derivative_pairs(
        data, dt=dt, derivative=derivative, x_dot=x_dot, smooth_states=smooth_states
    )
    dim = X.shape[1]
    names = _check_names(var_names, dim)
    n_features = library.n_features(dim)
    if X.shape[0] < n_features:
        raise ValueError(
            f"`data` has {X.shape[0]} samples, fewer than the {n_features} library features; "
            "SINDy needs at least as many samples as features."
        )
    theta = _evaluate(library, X)
    if not bool(jnp.all(jnp.isfinite(theta))):
        raise ValueError("`library` gives non-finite features on `data`.")
    res = stlsq(
        theta,
        X_dot,
        threshold=threshold,
        alpha=alpha,
        max_iter=max_iter,
        normalize_columns=normalize_columns,
    )
    if not bool(res.converged):
        warnings.warn(
            f"STLSQ's active set still changed after `max_iter`={max_iter} rounds.",
            RuntimeWarning,
            stacklevel=2,
        )
    first = np.asarray(data, dtype=np.float64).reshape(-1, dim)[0]
    return SINDyFlow(
        library=library,
        coefficients=res.coefficients,
        var_names=names,
        initial_state=first,
    )
