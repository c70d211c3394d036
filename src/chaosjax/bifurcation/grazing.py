"""Discontinuity-induced bifurcations along a parameter sweep: grazing of a periodic
orbit with a switching manifold, and non-smooth folds of equilibria.

- Grazing (di Bernardo, Budd, Champneys & Kowalczyk 2008, *Piecewise-smooth Dynamical
  Systems*, Springer, ch. 7; Nordmark 1991, J. Sound Vib. 145, 279-297): a periodic
  orbit touches the switching manifold h(x) = 0 tangentially. Along one period of the
  orbit the minimum of h is positive before the grazing and negative after it, so
  bisection on its sign locates the grazing parameter. The minimum is taken over the
  sampled orbit and refined by the parabola through the three samples around it (error
  O(dt^3) in time, O(dt^4)-ish in h at a quadratic minimum).
- Non-smooth fold (di Bernardo et al. 2008, §5.2): two admissible equilibria, one of
  each smooth field, meet on the switching manifold and vanish together. Along the
  sweep the equilibria of each mode's field are found by Newton's method and kept when
  they lie in their own region; a drop of the count by two is a non-smooth fold, its
  parameter refined by bisection on the count.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .. import _validate as v
from .._results import Result
from ..discretize import as_map
from ..systems import PiecewiseSmoothFlow
from ._common import check_param, checked_dt


class Grazing(Result):
    """A grazing of a periodic orbit with a switching manifold (what `locate_grazing`
    returns).

    **Attributes:**

    - `value`: the parameter value where the minimum of h along the orbit is 0.
    - `point`: (dim,), the orbit's point closest to the manifold at `value`.
    - `minimum_lo`, `minimum_hi`: min h along the orbit at the ends of the bracket.
    - `evaluations`: how many orbits were integrated.

    Example:

    ```python
    g = cj.bifurcation.locate_grazing(osc, "d", 1.0, 2.0, x0, dt=0.02, period_steps=300,
                                      transient=10_000)
    ```
    """

    value: float
    point: Float[Array, " dim"]
    minimum_lo: float
    minimum_hi: float
    evaluations: int


def _check_piecewise(system: object) -> PiecewiseSmoothFlow:
    if not isinstance(system, PiecewiseSmoothFlow):
        raise ValueError(
            f"`system` must be a cj.PiecewiseSmoothFlow (it has a switching function), got "
            f"{type(system).__name__}."
        )
    return system


def switching_minimum(
    system: object,
    param: str,
    values: Float[ArrayLike, " n"],
    x0: Float[ArrayLike, " dim"],
    *,
    dt: float,
    period_steps: int,
    transient: int,
    solver: str = "event",
) -> tuple[Float[Array, " n"], Float[Array, "n dim"]]:
    """The minimum of the (first) switching function along one period of the orbit from
    `x0`, after `transient` steps, at each parameter value (one compiled `vmap`).

    The minimum over the `period_steps` samples is refined by the parabola through the
    sample and its two neighbours (di Bernardo et al. 2008, ch. 7: grazing is where this
    minimum crosses 0).

    **Arguments:**

    - `system`: a `cj.PiecewiseSmoothFlow`.
    - `param`: the name of a scalar numeric parameter.
    - `values`: (n,) the parameter values.
    - `x0`: (dim,) the initial state.
    - `dt`: the step; `period_steps * dt` should be the orbit's period (a forcing period).
    - `period_steps`: the steps over which the minimum is taken.
    - `transient`: the steps discarded first.
    - `solver`: "event" (default; crossings located inside a step) or another solver.

    **Returns:**

    (minimum (n,), point (n, dim)): the refined minimum of h and the sample at it.

    Example:

    ```python
    h_min, _ = cj.bifurcation.switching_minimum(osc, "d", jnp.linspace(1, 2, 11), x0,
                                                dt=0.02, period_steps=300, transient=10_000)
    ```
    """
    sys_ = _check_piecewise(system)
    vals = check_param(sys_, param, values)
    x = v.state(x0, sys_.dim, "x0", batch=False)
    n_period = v.positive_int(period_steps, "period_steps")
    n_transient = v.nonnegative_int(transient, "transient")
    dt_ = checked_dt(sys_, dt, solver)
    if n_period < 3:
        raise ValueError(f"`period_steps` must be at least 3, got {n_period}.")
    return _minimum(sys_, param, vals, x, dt_, solver, n_period, n_transient)


@eqx.filter_jit
def _minimum(system, param, vals, x, dt, solver, n_period, n_transient):
    def one(value):
        s = system.replace(**{param: value})
        m = as_map(s, dt, solver)

        def body(y, _):
            return m.step(y), None

        y, _ = jax.lax.scan(body, x, None, length=n_transient)

        def keep(y, _):
            return m.step(y), y

        _, ys = jax.lax.scan(keep, y, None, length=n_period)
        h = jax.vmap(lambda z: s.switching(z)[0])(ys)
        k = jnp.argmin(h)
        h0, h1, h2 = h[(k - 1) % n_period], h[k], h[(k + 1) % n_period]
        curv = h0 - 2.0 * h1 + h2
        refined = jnp.where(curv > 0, h1 - (h2 - h0) ** 2 / (8.0 * curv), h1)
        return refined, ys[k]

    return jax.vmap(one)(vals)


def locate_grazing(
    system: object,
    param: str,
    lo: float,
    hi: float,
    x0: Float[ArrayLike, " dim"],
    *,
    dt: float,
    period_steps: int,
    transient: int,
    solver: str = "event",
    xtol: float = 1e-10,
) -> Grazing:
    """The parameter value between `lo` and `hi` where a periodic orbit grazes the
    switching manifold: bisection on the sign of `switching_minimum` (di Bernardo et al.
    2008, ch. 7).

    **Arguments:**

    - `system`: a `cj.PiecewiseSmoothFlow`.
    - `param`: the name of a scalar numeric parameter.
    - `lo`, `hi`: the bracket; the minimum of h must change sign between them.
    - `x0`: (dim,) the initial state of every run.
    - `dt`, `period_steps`, `transient`, `solver`: as in `switching_minimum`.
    - `xtol`: the bracket width at which bisection stops, relative to max(1, |value|).

    **Returns:**

    A `Grazing`.

    Example:

    ```python
    g = cj.bifurcation.locate_grazing(osc, "d", 1.0, 2.0, x0, dt=0.02, period_steps=300,
                                      transient=10_000)
    g.value
    ```
    """
    tol = v.positive_float(xtol, "xtol")
    a, b = float(lo), float(hi)

    def f(val: float):
        h, pt = switching_minimum(
            system,
            param,
            jnp.asarray([val]),
            x0,
            dt=dt,
            period_steps=period_steps,
            transient=transient,
            solver=solver,
        )
        return float(np.asarray(h)[0]), np.asarray(pt)[0]

    fa, _ = f(a)
    fb, _ = f(b)
    n = 2
    if np.sign(fa) == np.sign(fb):
        raise ValueError(
            f"The minimum of the switching function along the orbit has the same sign at "
            f"{param} = {a:g} ({fa:+.3g}) and {b:g} ({fb:+.3g}): no grazing bracketed."
        )
    lo_min, hi_min = fa, fb
    while abs(b - a) > tol * max(1.0, abs(a)):
        m = 0.5 * (a + b)
        fm, _ = f(m)
        n += 1
        if np.sign(fm) == np.sign(fa):
            a, fa = m, fm
        else:
            b, fb = m, fm
    val = 0.5 * (a + b)
    _, pt = f(val)
    return Grazing(val, jnp.asarray(pt), lo_min, hi_min, n + 1)


class NonsmoothFolds(Result):
    """Admissible equilibria along a sweep and the non-smooth folds among them (what
    `nonsmooth_folds` returns).

    **Attributes:**

    - `values`: (n,) the parameter values.
    - `counts`: (n,) the number of admissible equilibria at each value.
    - `folds`: the parameter values where two admissible equilibria meet on the
      switching manifold and vanish (refined by bisection on the count).

    Example:

    ```python
    nf = cj.bifurcation.nonsmooth_folds(pwl, "mu", jnp.linspace(-1, 1, 21), guesses)
    nf.folds
    ```
    """

    values: np.ndarray
    counts: np.ndarray
    folds: tuple[float, ...]


def nonsmooth_folds(
    system: object,
    param: str,
    values: Float[ArrayLike, " n"],
    guesses: Float[ArrayLike, "m dim"],
    *,
    xtol: float = 1e-12,
) -> NonsmoothFolds:
    """Non-smooth folds along a sweep of a piecewise-smooth flow with one switching
    function: where two admissible equilibria (one per smooth field) collide on the
    switching manifold and disappear (di Bernardo et al. 2008, §5.2).

    At each value the equilibria of both modes' fields are found by Newton's method from
    every guess and counted when they lie in their own region (s(x) < 0 for mode 0,
    s(x) >= 0 for mode 1); where the count falls by two between neighbouring values the
    fold is located by bisection on the count.

    **Arguments:**

    - `system`: a `cj.PiecewiseSmoothFlow` with a scalar switching function.
    - `param`: the name of a scalar numeric parameter.
    - `values`: (n,) the parameter values, in sweep order.
    - `guesses`: (m, dim) starting points for Newton's method.
    - `xtol`: the bracket width at which bisection stops (default 1e-12).

    **Returns:**

    A `NonsmoothFolds`.

    Example:

    ```python
    nf = cj.bifurcation.nonsmooth_folds(pwl, "mu", jnp.linspace(-1, 1, 21), guesses)
    nf.counts, nf.folds
    ```
    """
    sys_ = _check_piecewise(system)
    vals = np.asarray(check_param(sys_, param, values))
    g = v.state(guesses, sys_.dim, "guesses", batch=True)
    g = g[None] if g.ndim == 1 else g
    tol = v.positive_float(xtol, "xtol")

    def count(val: float) -> int:
        c = np.asarray(_admissible(sys_, param, jnp.asarray(val), g))  # (2 modes, m, dim)
        return sum(len(_unique(per_mode)) for per_mode in c)

    counts = np.array([count(float(x)) for x in vals])
    folds = []
    for i in range(len(vals) - 1):
        if abs(int(counts[i]) - int(counts[i + 1])) != 2:
            continue
        a, b, ca = float(vals[i]), float(vals[i + 1]), int(counts[i])
        while abs(b - a) > tol * max(1.0, abs(a)):
            m = 0.5 * (a + b)
            if count(m) == ca:
                a = m
            else:
                b = m
        folds.append(0.5 * (a + b))
    return NonsmoothFolds(vals, counts, tuple(folds))


@eqx.filter_jit
def _admissible(system, param, value, guesses):
    s = system.replace(**{param: value})

    def solve(x, mode):
        def body(_, y):
            J = jax.jacfwd(lambda z: s.mode_vector_field(z, mode))(y)
            dy = jnp.linalg.solve(J, s.mode_vector_field(y, mode))
            return jnp.where(jnp.all(jnp.isfinite(dy)), y - dy, y)

        y = jax.lax.fori_loop(0, 30, body, x)
        res = jnp.max(jnp.abs(s.mode_vector_field(y, mode)))
        ok = (res < 1e-9 * (1.0 + jnp.max(jnp.abs(y)))) & jnp.all(s.mode(y) == mode)
        return jnp.where(ok, y, jnp.nan)

    modes = (jnp.array([False]), jnp.array([True]))
    return jnp.stack([jax.vmap(lambda x: solve(x, md))(guesses) for md in modes])


def _unique(xs: np.ndarray) -> np.ndarray:
    rows = [x for x in xs if np.all(np.isfinite(x))]
    out: list[np.ndarray] = []
    for x in rows:
        if not any(np.max(np.abs(x - y)) < 1e-8 * (1 + np.max(np.abs(y))) for y in out):
            out.append(x)
    return np.array(out)
