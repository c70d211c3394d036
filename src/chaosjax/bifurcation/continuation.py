"""Stability boundaries: where an equilibrium or a cycle, continued along a parameter,
loses stability, and which bifurcation that is.

The equilibrium (flow) or period-p cycle (map) is solved by Newton's method
(`equilibria.newton`) at each trial parameter value, starting from the nearest value
already solved (natural-parameter continuation), and bisection runs on the sign of the
stability indicator max Re(lambda) (flows) or max |mu| - 1 (maps). The critical
eigenvalue names the bifurcation (Kuznetsov 2004, *Elements of Applied Bifurcation
Theory*, 3rd ed., Springer, ch. 3-4, https://doi.org/10.1007/978-1-4757-3978-7): a
complex pair on the imaginary axis is a Hopf point; a multiplier -1 a period doubling; a
complex pair of multipliers on the unit circle a Neimark-Sacker point; a real eigenvalue
through 0 (a multiplier through +1) a fold.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Complex, Float

from .. import _validate as v
from ..systems import Flow, Map
from ._common import check_param, check_system
from .equilibria import jacobians, newton


class StabilityChange(eqx.Module):
    """A loss of stability of an equilibrium (flow) or a period-p cycle (map) along a
    parameter (what `stability_boundary` returns).

    **Attributes:**

    - `value`: the parameter value where max Re(lambda) (flows) crosses 0, or max |mu|
      (maps) crosses 1.
    - `kind`: the bifurcation named by the critical eigenvalue: "hopf", "fold",
      "period_doubling" or "neimark_sacker".
    - `eigenvalues`: (dim,) complex, at the crossing (multipliers of DF^p for maps).
    - `point`: (dim,), the equilibrium, or a point of the cycle, at the crossing.
    - `period`: p (1 for an equilibrium or a fixed point).

    Example:

    ```python
    pd = cj.stability_boundary(cj.systems.Logistic(), "r", 2.5, 3.2, jnp.array([0.6]))
    pd.value, pd.kind                  # 3.0, 'period_doubling'
    ```
    """

    value: float
    kind: str
    eigenvalues: Complex[Array, " dim"]
    point: Float[Array, " dim"]
    period: int


def stability_boundary(
    system: Flow | Map,
    param: str,
    lo: float,
    hi: float,
    guess: Float[ArrayLike, " dim"],
    *,
    period: int = 1,
    xtol: float = 1e-12,
    tol: float = 1e-12,
) -> StabilityChange:
    """Where the equilibrium (flow) or period-`period` cycle (map) through `guess` changes
    stability as `param` goes from `lo` to `hi`, and which bifurcation it is.

    The equilibrium / cycle is found by Newton's method at each trial value, continued
    from the nearest value already solved, and bisection runs on the sign of max
    Re(lambda) (flows) or max |mu| - 1 (maps) until the bracket is below `xtol`
    (relative). The critical eigenvalue names the bifurcation (Kuznetsov 2004, ch. 3-4):
    a complex pair on the imaginary axis is "hopf"; mu = -1 "period_doubling"; a complex
    pair of multipliers on the unit circle "neimark_sacker"; a real eigenvalue through 0
    or mu = +1 "fold" (a saddle-node, or a transcritical or pitchfork point when the
    family has that structure, e.g. Lorenz63's origin at rho = 1).

    **Arguments:**

    - `system`: a `cj.Flow` or `cj.Map`.
    - `param`: the name of a scalar numeric parameter.
    - `lo`, `hi`: the bracket; the indicator must have opposite signs at its ends.
    - `guess`: (dim,), a point near the equilibrium / a point of the cycle at `lo`.
    - `period`: maps only: the period p of the cycle (default 1).
    - `xtol`: the bracket width at which bisection stops, relative to max(1, |value|)
      (default 1e-12).
    - `tol`: Newton's residual tolerance, relative to 1 + |x| (default 1e-12).

    **Returns:**

    A `StabilityChange`.

    Example:

    ```python
    lor = cj.systems.Lorenz63()
    h = cj.stability_boundary(lor, "rho", 20.0, 30.0, jnp.array([8.0, 8.0, 24.0]))
    h.value, h.kind   # 24.7368..., "hopf" (Lorenz 1963: sigma (sigma + beta + 3) / ...)
    ```
    """
    check_system(system)
    check_param(system, param, lo)
    p = v.positive_int(period, "period")
    if isinstance(system, Flow) and p != 1:
        raise ValueError(f"`period` applies to maps; got period={p} for a flow.")
    x = np.asarray(v.state(guess, system.dim, "guess", batch=False))
    solved: dict[float, np.ndarray] = {}

    def evaluate(val: float):
        near = min(solved, key=lambda s: abs(s - val)) if solved else None
        g = solved[near] if near is not None else x
        s = system.replace(**{param: val})
        xs, res = newton(s, jnp.asarray(g)[None], p, 60, tol)
        xs, res = np.asarray(xs)[0], float(np.asarray(res)[0])
        if not np.isfinite(res) or res > 1e3 * tol * (1 + np.max(np.abs(xs))):
            raise ValueError(
                f"Newton did not converge to the {'equilibrium' if p == 1 else f'period-{p} cycle'}"
                f" at {param} = {val:g} (residual {res:.2e}); give a closer `guess` or "
                "a narrower bracket."
            )
        solved[val] = xs
        eig = np.linalg.eigvals(np.asarray(jacobians(s, jnp.asarray(xs)[None], p))[0])
        eig = eig.astype(complex)
        crit = np.max(eig.real) if isinstance(system, Flow) else np.max(np.abs(eig)) - 1.0
        return crit, eig, xs

    a, b = float(lo), float(hi)
    fa, _, _ = evaluate(a)
    fb, _, _ = evaluate(b)
    if np.sign(fa) == np.sign(fb):
        raise ValueError(
            f"The stability indicator has the same sign at {param} = {a:g} ({fa:+.3g}) and "
            f"{b:g} ({fb:+.3g}): no stability change bracketed."
        )
    while abs(b - a) > xtol * max(1.0, abs(a)):
        m = 0.5 * (a + b)
        fm, _, _ = evaluate(m)
        if np.sign(fm) == np.sign(fa):
            a, fa = m, fm
        else:
            b, fb = m, fm
    val = 0.5 * (a + b)
    _, eig, xs = evaluate(val)
    if isinstance(system, Flow):
        k = int(np.argmax(eig.real))
        kind = "hopf" if abs(eig[k].imag) > 1e-6 * (1 + abs(eig[k])) else "fold"
    else:
        k = int(np.argmax(np.abs(eig)))
        mu = eig[k]
        if abs(mu.imag) > 1e-6:
            kind = "neimark_sacker"
        else:
            kind = "period_doubling" if mu.real < 0 else "fold"
    return StabilityChange(val, kind, jnp.asarray(eig), jnp.asarray(xs), p)
