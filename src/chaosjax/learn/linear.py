"""Least squares for a linear flow: the matrix A of dx/dt = A x from sampled trajectories.

With the states x_i as the rows of X and their estimated derivatives as the rows of
X_dot, dx/dt = A x reads X_dot = X A^T, and A^T is the least-squares solution
(`jnp.linalg.lstsq`, an SVD). The derivative estimator sets the accuracy: on smooth data
the error of A follows the estimator's order (see `chaosjax.learn.derivatives`).
"""

from __future__ import annotations

import jax.numpy as jnp
from jaxtyping import ArrayLike, Float

from ..systems import LinearFlow
from .derivatives import AbstractDerivative, state_derivative_pairs


def fit_linear_flow(
    data: Float[ArrayLike, "..."],
    *,
    dt: float,
    derivative: str | AbstractDerivative = "fd4",
    x_dot: Float[ArrayLike, "..."] | None = None,
    smooth_states: bool = True,
) -> LinearFlow:
    """The linear flow dx/dt = A x that fits the data best in least squares.

    dx/dt is estimated along each trajectory by `derivative` (see
    `cj.learn.derivative`: "fd2", "fd4", "spline", "savgol" or an estimator Module), or
    taken from `x_dot`; then A minimises sum_i |dx/dt_i - A x_i|^2 over every sample of
    every trajectory. This is the "assume dz/dt = B z, find B" fit that Budd contrasts
    with a neural ODE on the same linear data (lecture "Neural ODEs for, and as,
    dynamical systems", 2025), and SINDy with a linear library and no threshold
    (Brunton, Proctor & Kutz 2016, PNAS 113, 3932-3937).

    **Arguments:**

    - `data`: states sampled every `dt`, shape (time, dim) or (member, time, dim);
      finite, with enough samples for the derivative estimator.
    - `dt`: the sampling step (time units), a positive float.
    - `derivative`: how dx/dt is estimated (default "fd4").
    - `x_dot`: precomputed dx/dt of the shape of `data`, or None.
    - `smooth_states`: regress on the smoothed states of a smoothing `derivative`
      (Savitzky-Golay, smoothing spline) rather than the raw ones (default True; no
      effect for finite differences and interpolating splines).

    **Returns:**

    A `cj.systems.LinearFlow` whose `A` (dim, dim) is the fit; its exponents are the real
    parts of A's eigenvalues.

    Example:

    ```python
    t = jnp.linspace(0.0, 15.0, 100)
    A = jnp.array([[-0.1, -1.0], [1.0, -0.1]])
    xs = jax.vmap(lambda s: jax.scipy.linalg.expm(A * s) @ jnp.array([2.0, 0.0]))(t)
    flow = cj.learn.fit_linear_flow(xs, dt=float(t[1] - t[0]), derivative="fd4")
    flow.A                                   # A to ~2e-5
    ```
    """
    X, X_dot = state_derivative_pairs(
        data, dt=dt, derivative=derivative, x_dot=x_dot, smooth_states=smooth_states
    )
    if X.shape[0] < X.shape[1]:
        raise ValueError(
            f"`data` has {X.shape[0]} samples of dimension {X.shape[1]}; the least-squares "
            f"fit of A needs at least {X.shape[1]}."
        )
    A_T = jnp.linalg.lstsq(X, X_dot)[0]
    return LinearFlow(A=A_T.T)
