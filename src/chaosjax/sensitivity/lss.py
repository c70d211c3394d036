"""Least-squares shadowing (LSS): the bounded tangent solution by one KKT solve per window.

LSS (Wang 2014, SIAM J. Numer. Anal. 52, 156-170; Wang, Hu & Blonigan 2014,
J. Comput. Phys. 267, 210-224) minimises

    (1/2) sum_i |v_i|^2 + (alpha^2/2) sum_i eta_i^2
    subject to  v_{i+1} = Dphi(x_i) v_i + dphi/dp(x_i) + eta_i dt f(x_{i+1}),

where eta_i is the relative *time dilation* of step i (flows only; it absorbs the
neutral direction f). With multipliers w_i the KKT conditions give v_i = Phi_i^T
w_{i+1} - w_i and eta_i = dt f_{i+1}.w_{i+1} / alpha^2, and w solves the symmetric
positive-definite block-tridiagonal Schur complement

    -Phi_{k-1} w_{k-1} + (I + Phi_{k-1} Phi_{k-1}^T + f~_k f~_k^T / alpha^2) w_k
        - Phi_k^T w_{k+1} = -b_{k-1},

solved by block elimination in O(N d^3) time and O(N d^2) memory. Then

    d<S>/dp = (1/N) sum_i [ grad S(x_i) . v_i + eta_i (S(x_i) - <S>) ].
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array

from .. import _validate as v
from ..systems import Map
from ._common import block_tridiagonal_solve, vector_field_step, with_parameter
from .method import AbstractSensitivityMethod, WindowEstimates, Windows

#: Fewest steps per LSS window.
MIN_LSS_STEPS = 10


class LSS(AbstractSensitivityMethod):
    """Least-squares shadowing (Wang 2014), with the time dilation of Wang, Hu &
    Blonigan (2014) on flows.

    Each window's KKT system is solved by block-tridiagonal elimination in JAX; see
    `chaosjax.sensitivity.lss` for the equations. Windows need at least 10 steps.

    **Arguments:**

    - `alpha`: the weight of the time dilation (flows; unused for maps), a positive
      float per unit time. Default None: the RMS of |f| over the orbit, which weighs a
      time shift like the displacement it causes in one time unit.

    Example:

    ```python
    lor = cj.systems.Lorenz63()
    x0 = cj.final_state(lor, lor.default_state(), steps=10_000, dt=0.005)
    cj.shadowing_sensitivity(lor, "rho", lambda x: x[2], x0, steps=80_000, dt=0.005,
                             method=cj.LSS(alpha=100.0))
    ```
    """

    alpha: float | None = eqx.field(default=None, static=True)
    name: ClassVar[str] = "lss"

    def __check_init__(self):
        if self.alpha is not None:
            v.positive_float(self.alpha, "alpha")

    def check_steps(self, steps: int, segments: int) -> None:
        if steps // segments < MIN_LSS_STEPS:
            raise ValueError(
                f"`steps` ({steps}) is too short for `segments`={segments}: each window needs "
                f"at least {MIN_LSS_STEPS} steps; give steps >= {MIN_LSS_STEPS * segments}."
            )

    def estimate(self, windows: Windows) -> WindowEstimates:
        w = windows
        alpha = None if self.alpha is None else jnp.asarray(float(self.alpha), w.starts.dtype)
        est, avg, alpha_used = _lss_all(w.m, w.get, w.obs, w.starts, w.steps_per_window, alpha)
        return WindowEstimates(
            estimates=est,
            averages=avg,
            steps_per_window=w.steps_per_window,
            alpha=None if alpha_used is None else float(alpha_used),
        )


@eqx.filter_jit
def tangent_data(m: Map, get: Callable, obs: Callable, x: Array, n: int):
    """Along n steps from x: Phi_i, b_i = dphi/dp, S_i, grad S_i (i < n), and the end."""
    p = get(m)

    def stepf(x, p):
        return with_parameter(m, get, p).step(x)

    def body(x, _):
        phi, b = jax.jacfwd(stepf, argnums=(0, 1))(x, p)
        s, ds = jax.value_and_grad(obs)(x)
        return stepf(x, p), (x, phi, b, s, ds)

    x_end, data = jax.lax.scan(body, x, None, length=n)
    return x_end, data


def _lss_window(phi, b, ft, s, ds, alpha2):
    """One LSS estimate from a window's tangent data (ft: (n, d) or None for maps)."""
    n, d = b.shape
    eye = jnp.eye(d, dtype=b.dtype)
    diag = eye[None] + jnp.einsum("nij,nkj->nik", phi, phi)
    if ft is not None:
        diag = diag + jnp.einsum("ni,nj->nij", ft, ft) / alpha2
    lower = -phi[1:]  # A[k+1, k] = -Phi_k, k = 1 .. n-1
    w = block_tridiagonal_solve(diag, lower, -b)  # w_1 .. w_n
    w_next = w  # w_{i+1} for i = 0 .. n-1
    w_here = jnp.concatenate([jnp.zeros((1, d), b.dtype), w[:-1]])  # w_i, w_0 = 0
    vs = jnp.einsum("nji,nj->ni", phi, w_next) - w_here
    mean_s = jnp.mean(s)
    grad = jnp.mean(jnp.einsum("ni,ni->n", ds, vs))
    if ft is not None:
        eta = jnp.einsum("ni,ni->n", ft, w_next) / alpha2
        grad = grad + jnp.mean(eta * (s - mean_s))
    return grad, mean_s


@eqx.filter_jit
def _lss_windows(phi, b, ft, s, ds, alpha2):
    in_axes = (0, 0, None if ft is None else 0, 0, 0, None)
    return jax.vmap(_lss_window, in_axes=in_axes)(phi, b, ft, s, ds, alpha2)


@eqx.filter_jit
def _lss_all(m: Map, get: Callable, obs: Callable, starts: Array, n: int, alpha: Array | None):
    """LSS on every window: (estimates, averages, alpha used or None)."""
    fstep = vector_field_step(m)
    x_end, (xs, phi, b, s, ds) = jax.vmap(lambda y: tangent_data(m, get, obs, y, n))(starts)
    if fstep is None:
        est, avg = _lss_windows(phi, b, None, s, ds, jnp.asarray(1.0, b.dtype))
        return est, avg, None
    # dt f(x_{i+1}), i = 0 .. n-1: the states after each step.
    ft = jax.vmap(jax.vmap(fstep))(jnp.concatenate([xs[:, 1:], x_end[:, None]], axis=1))
    tps = m.time_per_step
    if alpha is None:
        alpha = jnp.sqrt(jnp.mean(jnp.sum(ft**2, -1))) / tps
    est, avg = _lss_windows(phi, b, ft, s, ds, (alpha * tps) ** 2)  # eta f~ = eta dt f
    return est, avg, alpha


def lss_single_window(
    m: Map, get: Callable, obs: Callable, x: Array, n: int, alpha: float | None = None
) -> tuple[Array, Array]:
    """(`d<S>/dp`, `<S>`) of one LSS window of n steps from x, as one traceable program.

    The whole computation (tangent data, Schur complement, block elimination) as one
    function, so that it can be compiled as one program and its cost and memory
    analysed by XLA (benchmarks/sensitivity.py does).
    """
    x_end, (xs, phi, b, s, ds) = tangent_data(m, get, obs, x, n)
    fstep = vector_field_step(m)
    if fstep is None:
        return _lss_window(phi, b, None, s, ds, jnp.asarray(1.0, x.dtype))
    ft = jax.vmap(fstep)(jnp.concatenate([xs[1:], x_end[None]]))
    if alpha is None:
        alpha2 = jnp.mean(jnp.sum(ft**2, -1))
    else:
        alpha2 = jnp.asarray((alpha * m.time_per_step) ** 2, x.dtype)
    return _lss_window(phi, b, ft, s, ds, alpha2)
