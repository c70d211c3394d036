"""Covariant Lyapunov vectors by Ginelli's method.

Ginelli, Poggi, Turchi, Chaté, Livi & Politi (2007), "Characterizing dynamics with
covariant Lyapunov vectors", Phys. Rev. Lett. 99, 130601. The forward pass is the QR
(Benettin) iteration, storing the Gram-Schmidt bases Q_n and the R factors; the
backward pass iterates upper-triangular coefficients C_n = R_{n+1}^-1 C_{n+1} with
columns renormalised. The covariant vectors are v_n = Q_n C_n; unlike the
Gram-Schmidt vectors they are covariant with the dynamics (DF v_n is parallel to
v_{n+1}) and not orthogonal, and their local growth rates average to the exponents.
"""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from .. import _validate as v
from .._results import Dims, Result
from ..discretize import as_map
from ..systems import Flow, Map
from ._qr import householder_full
from ._tangent import forward_push
from .spectrum import (
    _check_k,
    _initial_basis,
    _raise_if_diverged,
)


class CovariantVectors(Result):
    """Covariant Lyapunov vectors along an orbit (what `covariant_lyapunov_vectors`
    returns).

    **Attributes:**

    - `states` (steps, dim): the orbit x_n.
    - `vectors` (steps, dim, k): unit CLVs v_n^j as columns, ordered like the
      exponents (j = 0 the most unstable).
    - `angles` (steps, k(k-1)/2): the angle in [0, pi/2] between each pair (i < j) of
      CLVs at each point, in the order of `jnp.triu_indices(k, 1)`; near-zero angles
      signal near-tangencies (non-hyperbolicity).
    - `growth` (steps, k): local growth rates, log |DF v_n^j| per unit time (per
      iteration for maps); their means `exponents` reproduce the Lyapunov exponents.
    - `exponents` (k,): the time averages of `growth`.
    - `diverged_at`: the first non-finite step of the QR passes, or -1.
    - `time_per_step`: `dt` for a flow, 1 for a map.
    """

    states: Float[Array, "steps dim"]
    vectors: Float[Array, "steps dim k"]
    angles: Float[Array, "steps pairs"]
    growth: Float[Array, "steps k"]
    exponents: Float[Array, " k"]
    diverged_at: Array
    time_per_step: float = eqx.field(static=True)

    _xarray_dims: ClassVar[dict[str, Dims]] = {
        "states": ("step", "variable"),
        "vectors": ("step", "variable", "exponent"),
        "angles": ("step", "pair"),
        "growth": ("step", "exponent"),
        "exponents": ("exponent",),
        "diverged_at": (),
    }


@eqx.filter_jit
def _ginelli(push, x, Q, transient, steps, future):
    def qr_step(carry, _):
        x, Q = carry
        x_next, V = push(x, Q)
        Q_next, R = householder_full(V)
        return (x_next, Q_next), (x, Q, R)

    def r_only(carry, _):
        carry, (_, _, R) = qr_step(carry, None)
        return carry, R

    # Forward transient: the Gram-Schmidt basis converges.
    (x, Q), _ = jax.lax.scan(
        lambda c, _: (qr_step(c, None)[0], None), (x, Q), None, length=transient
    )
    # Forward pass: keep x_n, Q_n and R_{n+1} (maps Q_n C to Q_{n+1} R_{n+1} C) on the
    # window, and only R beyond it (the backward transient needs nothing else).
    c, (xs, Qs, Rs) = jax.lax.scan(qr_step, (x, Q), None, length=steps)
    _, R_future = jax.lax.scan(r_only, c, None, length=future)
    k = Q.shape[1]

    def back(C, R):
        # C_n = R_{n+1}^-1 C_{n+1}: the unstable directions contract backwards onto the
        # covariant ones; the column norms are the inverse one-step growth factors.
        C = jax.scipy.linalg.solve_triangular(R, C, lower=False)
        norms = jnp.sqrt(jnp.sum(C * C, axis=0))
        return C / norms[None, :], (C / norms[None, :], -jnp.log(norms))

    C0 = jnp.eye(k, dtype=Q.dtype)
    # Backward transient over the `future` steps beyond the stored window.
    C, _ = jax.lax.scan(back, C0, R_future, reverse=True)
    _, (Cs, growth) = jax.lax.scan(back, C, Rs, reverse=True)
    vectors = jnp.einsum("ndk,nkj->ndj", Qs, Cs)
    bad = ~jnp.all(jnp.isfinite(jnp.concatenate([Rs, R_future])), axis=(1, 2))
    div = jnp.where(jnp.any(bad), jnp.argmax(bad), -1)
    return xs, vectors, growth, div


def covariant_lyapunov_vectors(
    system: Flow | Map,
    x0: Float[ArrayLike, " dim"],
    steps: int,
    *,
    dt: float | None = None,
    solver: str = "rk4",
    transient: int = 1_000,
    future: int = 1_000,
    k: int | None = None,
    throw: bool = True,
    key: PRNGKeyArray | None = None,
) -> CovariantVectors:
    """Covariant Lyapunov vectors along an orbit, by Ginelli et al. (2007).

    Forward: `transient` QR steps (the Gram-Schmidt basis converges), then `steps`
    steps storing Q_n and R_{n+1}, and `future` more storing R only. Backward: from
    the end, `future` steps of C_n = R_{n+1}^-1 C_{n+1} (columns renormalised) let the
    coefficients converge, then `steps` more give the CLVs v_n = Q_n C_n on the first
    `steps` points. Memory is O(steps k dim + (steps + future) k^2).

    **Arguments:**

    - `system`: a `cj.Flow` or `cj.Map`.
    - `x0`: the initial state, shape (dim,).
    - `steps`: the number of orbit points returned.
    - `dt`, `solver`: the discretisation of a flow (None for a map), as in
      `lyapunov_spectrum`.
    - `transient`, `future`: the forward and backward convergence lengths in steps,
      default 1,000 each.
    - `k`: the number of leading CLVs, default all.
    - `throw`: raise `cj.DivergenceError` on a non-finite state (outside `jit`),
      default True.
    - `key`: a PRNG key for the initial tangent basis (default a fixed one).

    **Returns:**

    A `CovariantVectors` (vectors, angles between pairs, local growth rates per unit
    time for flows or per iteration for maps, and their means, the exponents).

    Example:

    ```python
    clv = cj.covariant_lyapunov_vectors(cj.systems.Henon(), jnp.zeros(2), steps=10_000)
    clv.angles.min() > 0, clv.exponents     # ~ [0.419, -1.623]
    ```
    """
    m = as_map(system, dt, solver)
    throw = v.boolean(throw, "throw")
    transient = v.step_count(transient, "transient", positive=False)
    future = v.step_count(future, "future", positive=False, total=transient)
    steps = v.step_count(steps, "steps", total=transient + future)
    key = v.optional_prng_key(key)
    k = _check_k(k, system.dim)
    x = v.state(x0, system.dim, "x0", batch=False)
    # Stored for every step of the run and its future: the state, the basis Q and R.
    itemsize = jnp.dtype(x.dtype).itemsize
    per_step = (system.dim + system.dim * k + k * k) * itemsize
    v.output_fits(
        (steps + future) * per_step * 2,
        "steps",
        f"covariant vectors over {steps} + {future} steps (states, bases and R factors)",
        "run fewer `steps` (the vectors converge within a few hundred steps; split a long "
        "orbit into pieces from `cj.final_state`) or use `cj.lyapunov_spectrum` for the "
        "exponents alone",
    )
    push = forward_push(m, use_jacobian=m.has_analytic_jacobian)
    Q0 = _initial_basis(system.dim, k, key, x.dtype)
    xs, vectors, growth, div = _ginelli(push, x, Q0, transient, steps, future)
    tau = float(m.time_per_step)
    growth = growth / tau
    iu, ju = jnp.triu_indices(k, 1)
    cos = jnp.abs(jnp.sum(vectors[:, :, iu] * vectors[:, :, ju], axis=1))
    angles = jnp.arccos(jnp.clip(cos, 0.0, 1.0))
    _raise_if_diverged(div, throw, "covariant_lyapunov_vectors")
    return CovariantVectors(
        states=xs,
        vectors=vectors,
        angles=angles,
        growth=growth,
        exponents=jnp.mean(growth, axis=0),
        diverged_at=div,
        time_per_step=tau,
    )
