"""Equilibria of flows, fixed points and periodic orbits of maps, by Newton's method.

Newton's method runs on g(x) = f(x) (flows) or g(x) = F^p(x) - x (maps, period p), with
the Jacobian from forward-mode autodiff, jitted and vmapped over the initial guesses.
Stability comes from the eigenvalues of Df (flows: max Re < 0) or the multipliers, the
eigenvalues of DF^p (maps: max |mu| < 1); Kuznetsov (2004), *Elements of Applied
Bifurcation Theory*, 3rd ed., Springer, ch. 1 and 10,
https://doi.org/10.1007/978-1-4757-3978-7.
"""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Bool, Complex, Float, Int

from .. import _validate as v
from .._results import Dims, Result
from ..systems import Flow, Map
from ._common import check_system, iterate


def _residual(system: Flow | Map, period: int):
    if isinstance(system, Flow):
        return system.vector_field
    return lambda x: iterate(system, x, period) - x


@eqx.filter_jit
def newton(
    system: Flow | Map, guesses: Float[Array, "m dim"], period: int, max_iter: int, tol: float
) -> tuple[Float[Array, "m dim"], Float[Array, " m"]]:
    """(solutions, residuals): `max_iter` Newton iterations on f(x) = 0 (flows) or
    F^period(x) - x = 0 (maps) from every guess; an iterate stops moving once its residual
    is below `tol * (1 + |x|)` or its step is not finite."""
    g = _residual(system, period)

    def g_and_g(x):
        r = g(x)
        return r, r

    def one(x):
        def body(_, x):
            J, r = jax.jacfwd(g_and_g, has_aux=True)(x)  # r from the same pass
            dx = jnp.linalg.solve(J, r)
            done = jnp.max(jnp.abs(r)) <= tol * (1.0 + jnp.max(jnp.abs(x)))
            ok = jnp.all(jnp.isfinite(dx))
            return jnp.where(done | ~ok, x, x - dx)

        x = jax.lax.fori_loop(0, max_iter, body, x)
        return x, jnp.max(jnp.abs(g(x)))

    return jax.vmap(one)(guesses)


@eqx.filter_jit
def jacobians(system: Flow | Map, xs: Float[Array, "m dim"], period: int) -> Array:
    """Df at each row of `xs` (flows; the system's `jacobian`) or DF^period (maps), (m, dim,
    dim)."""
    if isinstance(system, Flow):
        return jax.vmap(system.jacobian)(xs)
    return jax.vmap(jax.jacfwd(lambda x: iterate(system, x, period)))(xs)


@eqx.filter_jit
def _cycles(system: Map, xs: Array, period: int) -> Array:
    """The orbits x, F(x), ..., F^{p-1}(x) of each row of xs: (m, p, dim)."""

    def one(x):
        def body(y, _):
            return system.step(y), y

        return jax.lax.scan(body, x, None, length=period)[1]

    return jax.vmap(one)(xs)


def is_stable(system: Flow | Map, eig: np.ndarray) -> np.ndarray:
    """max Re(lambda) < 0 (flows) or max |mu| < 1 (maps), over the last axis."""
    if isinstance(system, Flow):
        return np.max(np.real(eig), axis=-1) < 0
    return np.max(np.abs(eig), axis=-1) < 1


def _unique_rows(x: np.ndarray, tol: float) -> np.ndarray:
    keep: list[int] = []
    for i, row in enumerate(x):
        if all(np.max(np.abs(row - x[j])) > tol * (1 + np.max(np.abs(row))) for j in keep):
            keep.append(i)
    return np.asarray(keep, dtype=int)


def _solve(system, guesses, period: int, tol, max_iter) -> tuple[np.ndarray, np.ndarray]:
    """The converged Newton solutions from `guesses` and their residuals."""
    check_system(system)
    g = v.state(guesses, system.dim, "guesses")
    g = g[None] if g.ndim == 1 else g
    tol = v.positive_float(tol, "tol")
    max_iter = v.positive_int(max_iter, "max_iter")
    xs, res = newton(system, g, period, max_iter, tol)
    xs, res = np.asarray(xs), np.asarray(res)
    scale = 1.0 + np.max(np.abs(np.where(np.isfinite(xs), xs, 0)), axis=-1)
    ok = np.isfinite(res) & (res <= 1e3 * tol * scale)
    return xs[ok], res[ok]


class FixedPoints(Result):
    """Distinct equilibria (flows: f(x) = 0) or fixed points (maps: F(x) = x), sorted
    lexicographically (what `fixed_points` returns).

    **Attributes:**

    - `points`: (m, dim).
    - `eigenvalues`: (m, dim) complex, those of Df(x) (flows, per unit time) or the
      multipliers, the eigenvalues of DF(x) (maps, per iteration).
    - `stable`: (m,), max Re < 0 (flows) or max |mu| < 1 (maps).
    - `residuals`: (m,), |f(x)|_inf or |F(x) - x|_inf at each point.

    Example:

    ```python
    fp = cj.fixed_points(cj.systems.Henon(), jnp.array([[0.6, 0.2], [-1.1, -0.3]]))
    fp.points, fp.stable       # the two fixed points of the Henon map, both unstable
    ```
    """

    points: Float[Array, "m dim"]
    eigenvalues: Complex[Array, "m dim"]
    stable: Bool[Array, " m"]
    residuals: Float[Array, " m"]

    _xarray_dims: ClassVar[dict[str, Dims]] = {
        "points": ("point", "variable"),
        "eigenvalues": ("point", "eigenvalue"),
        "stable": ("point",),
        "residuals": ("point",),
    }


def fixed_points(
    system: Flow | Map,
    guesses: Float[ArrayLike, "*m dim"],
    *,
    tol: float = 1e-11,
    max_iter: int = 60,
) -> FixedPoints:
    """Equilibria of a flow (f(x) = 0) or fixed points of a map (F(x) = x), with their
    eigenvalues or multipliers.

    Newton's method from each guess (vmapped and jitted; Jacobians by forward-mode
    autodiff); guesses that do not converge are dropped and duplicates merged. Stability
    from the eigenvalues of Df or DF (Kuznetsov 2004, ch. 1).

    **Arguments:**

    - `system`: a `cj.Flow` or `cj.Map`.
    - `guesses`: (dim,) or (m, dim) starting points.
    - `tol`: the residual tolerance, relative to 1 + |x| (default 1e-11).
    - `max_iter`: Newton iterations per guess (default 60).

    **Returns:**

    A `FixedPoints` (points (k, dim), eigenvalues (k, dim) complex, stable (k,)) for the
    k distinct points found.

    Example:

    ```python
    fp = cj.fixed_points(cj.systems.Lorenz63(rho=28.0), [[8, 8, 27], [-8, -8, 27], [0, 0, 0]])
    fp.eigenvalues   # C+, C- have a complex pair with positive real part at rho = 28
    ```
    """
    xs, res = _solve(system, guesses, 1, tol, max_iter)
    idx = _unique_rows(xs, 1e4 * tol) if len(xs) else np.zeros(0, int)
    xs, res = xs[idx].reshape(-1, system.dim), res[idx]
    if len(xs):
        eig = np.linalg.eigvals(np.asarray(jacobians(system, jnp.asarray(xs), 1)))
        eig = eig.astype(complex)
    else:
        eig = np.zeros((0, system.dim), complex)
    order = np.lexsort(xs.T[::-1]) if len(xs) else idx
    return FixedPoints(
        jnp.asarray(xs[order]),
        jnp.asarray(eig[order]),
        jnp.asarray(is_stable(system, eig[order])),
        jnp.asarray(res[order]),
    )


class PeriodicOrbits(Result):
    """Distinct periodic orbits of a map (what `periodic_orbits` returns).

    **Attributes:**

    - `points`: (m, p, dim); `points[i]` is a cycle, starting at its lexicographically
      smallest point.
    - `period`: (m,), the minimal period of each cycle (a divisor of the requested p).
    - `multipliers`: (m, dim) complex, the eigenvalues of DF^p on the cycle.
    - `stable`: (m,), max |mu| < 1.

    Example:

    ```python
    po = cj.periodic_orbits(cj.systems.Logistic(r=3.2), jnp.array([[0.5], [0.8]]), 2)
    po.points[0, :, 0], po.stable            # ~[0.513, 0.799], [True]
    ```
    """

    points: Float[Array, "m p dim"]
    period: Int[Array, " m"]
    multipliers: Complex[Array, "m dim"]
    stable: Bool[Array, " m"]

    _xarray_dims: ClassVar[dict[str, Dims]] = {
        "points": ("orbit", "step", "variable"),
        "period": ("orbit",),
        "multipliers": ("orbit", "multiplier"),
        "stable": ("orbit",),
    }


def periodic_orbits(
    system: Map,
    guesses: Float[ArrayLike, "*m dim"],
    period: int,
    *,
    tol: float = 1e-11,
    max_iter: int = 60,
    minimal: bool = True,
) -> PeriodicOrbits:
    """Periodic orbits of a map of period `period`, with their multipliers and stability.

    Newton's method on F^p(x) - x = 0 from each guess; points converging to the same
    cycle are merged, and the multipliers are the eigenvalues of DF^p (Kuznetsov 2004,
    ch. 1).

    **Arguments:**

    - `system`: a `cj.Map` (for a flow, use an orbit diagram on a section).
    - `guesses`: (dim,) or (m, dim) starting points.
    - `period`: p, a positive int.
    - `tol`: the residual tolerance, relative to 1 + |x| (default 1e-11).
    - `max_iter`: Newton iterations per guess (default 60).
    - `minimal`: drop cycles whose minimal period is a proper divisor of p (e.g. the
      fixed points when p = 2); default True.

    **Returns:**

    A `PeriodicOrbits` (points (m, p, dim), multipliers (m, dim) complex) for the m
    distinct cycles found.

    Example:

    ```python
    po = cj.periodic_orbits(cj.systems.Logistic(r=3.2), jnp.linspace(0.1, 0.9, 9)[:, None], 2)
    po.multipliers   # 4 + 2r - r^2 = 0.16 at r = 3.2
    ```
    """
    if not isinstance(system, Map):
        raise ValueError(
            f"`system` must be a cj.Map (periodic orbits of flows: use an "
            f"orbit diagram on a section), got {type(system).__name__}."
        )
    p = v.positive_int(period, "period")
    minimal = v.boolean(minimal, "minimal")
    tol = v.positive_float(tol, "tol")
    max_iter = v.positive_int(max_iter, "max_iter")
    xs, res = _solve(system, guesses, p, tol, max_iter)
    cycles, periods = [], []
    orbits = np.asarray(_cycles(system, jnp.asarray(xs).reshape(-1, system.dim), p))
    for orbit in orbits:
        scale = 1e4 * tol * (1 + np.max(np.abs(orbit)))
        d = next(
            (
                d
                for d in range(1, p + 1)
                if p % d == 0 and np.max(np.abs(orbit[d % p] - orbit[0])) <= scale or d == p
            ),
            p,
        )
        if minimal and d < p:
            continue
        start = np.lexsort(orbit.T[::-1])[0]
        cyc = np.roll(orbit, -start, axis=0)
        if any(c.shape == cyc.shape and np.max(np.abs(c - cyc)) <= scale for c in cycles):
            continue
        cycles.append(cyc)
        periods.append(d)
    if cycles:
        starts = jnp.asarray(np.stack([c[0] for c in cycles]))
        mult = np.linalg.eigvals(np.asarray(jacobians(system, starts, p))).astype(complex)
    else:
        mult = np.zeros((0, system.dim), complex)
    pts = np.stack(cycles) if cycles else np.zeros((0, p, system.dim))
    return PeriodicOrbits(
        jnp.asarray(pts),
        jnp.asarray(np.asarray(periods, int)),
        jnp.asarray(mult),
        jnp.asarray(is_stable(system, mult)),
    )
