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
through 0 (a multiplier through +1) a fold, a transcritical or a pitchfork point, told
apart by the nondegeneracy conditions on the centre-manifold reduction (Kuznetsov 2004,
§3.2-3.3, §8.2; Guckenheimer & Holmes 1983, *Nonlinear Oscillations, Dynamical Systems,
and Bifurcations of Vector Fields*, Springer, §3.4,
https://doi.org/10.1007/978-1-4612-1140-2). A Hopf point is sub- or supercritical by the
sign of its first Lyapunov coefficient l1 (Kuznetsov 2004, §3.5 and §5.4), computed from
the multilinear forms B and C of the vector field, which `jax.jvp` evaluates exactly.

A fold is where a branch of equilibria ends: beyond it Newton's method finds nothing. When
it fails at one end of the bracket, bisection runs on whether it converges, and the end
point is refined by Newton's method on the minimally extended system (f(x, p) = 0,
det D_x f(x, p) = 0) in (x, p).
"""

from __future__ import annotations

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Complex, Float

from .. import _validate as v
from .._results import Result
from ..systems import Flow, Map
from ._common import check_param, check_system, iterate
from .equilibria import jacobians, newton

# Relative size below which a nondegeneracy coefficient counts as zero.
_DEGENERATE = 1e-7


class StabilityChange(Result):
    """A loss of stability of an equilibrium (flow) or a period-p cycle (map) along a
    parameter (what `stability_boundary` returns).

    **Attributes:**

    - `value`: the parameter value where max Re(lambda) (flows) crosses 0, or max |mu|
      (maps) crosses 1; for a fold, where the branch ends.
    - `kind`: the bifurcation: "hopf", "fold", "transcritical", "pitchfork",
      "period_doubling" or "neimark_sacker".
    - `eigenvalues`: (dim,) complex, at the crossing (multipliers of DF^p for maps).
    - `point`: (dim,), the equilibrium, or a point of the cycle, at the crossing.
    - `period`: p (1 for an equilibrium or a fixed point).
    - `first_lyapunov_coefficient`: l1 at a Hopf point (Kuznetsov 2004, §5.4, with the
      eigenvector scaled as in his planar formula (3.20), so that the normal form
      r' = beta r + s r^3, theta' = omega has l1 = s / omega); None otherwise.
    - `criticality`: "subcritical" or "supercritical" for a Hopf point (sign of l1) or a
      pitchfork (sign of the cubic coefficient); None otherwise.
    - `coefficients`: for a real critical eigenvalue, the coefficients of the
      centre-manifold reduction y' = (w.g_p) dp + (w.g_xp v) y dp + a y^2 + b y^3
      (flows; y -> y + ... for maps): "w.g_p", "w.g_xp v", "a" and "b" (b only at a
      pitchfork); empty otherwise.

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
    first_lyapunov_coefficient: float | None = None
    criticality: str | None = None
    coefficients: dict[str, float] = eqx.field(default_factory=dict)


def _residual(system: Flow | Map, param: str, period: int) -> Callable[[Array, Array], Array]:
    """g(x, p) = f(x) (flows) or F^p(x) - x (maps) at parameter value p."""

    def g(x: Array, p: Array) -> Array:
        s = system.replace(**{param: p})
        if isinstance(s, Flow):
            return s.vector_field(x)
        return iterate(s, x, period) - x

    return g


def _forms(g: Callable[[Array, Array], Array], x: Array, p: Array):
    """The multilinear forms of x -> g(x, p) at x: B(u, w) and C(u, w, z), exact by
    nested `jax.jvp`, extended to complex arguments by multilinearity."""

    def d1(y, u):
        return jax.jvp(lambda z: g(z, p), (y,), (u,))[1]

    def d2(y, u, w):
        return jax.jvp(lambda z: d1(z, u), (y,), (w,))[1]

    def d3(y, u, w, z):
        return jax.jvp(lambda t: d2(t, u, w), (y,), (z,))[1]

    b_real = jax.jit(lambda u, w: d2(x, u, w))
    c_real = jax.jit(lambda u, w, z: d3(x, u, w, z))

    def split(a):
        a = np.asarray(a, dtype=complex)
        return ((np.real(a), 1.0), (np.imag(a), 1j))

    def B(u, w):
        return sum(
            su * sw * np.asarray(b_real(jnp.asarray(ur), jnp.asarray(wr)))
            for ur, su in split(u)
            for wr, sw in split(w)
        )

    def C(u, w, z):
        return sum(
            su * sw * sz * np.asarray(c_real(jnp.asarray(ur), jnp.asarray(wr), jnp.asarray(zr)))
            for ur, su in split(u)
            for wr, sw in split(w)
            for zr, sz in split(z)
        )

    return B, C


def _real_kind(g, x: Array, p: Array) -> tuple[str, str | None, dict[str, float]]:
    """Fold, transcritical or pitchfork from the centre-manifold reduction at a simple zero
    eigenvalue of J = D_x g (Kuznetsov 2004, §3.2-3.3 and the cusp coefficient of §8.2;
    Guckenheimer & Holmes 1983, §3.4): with J v = 0, w.J = 0, w.v = 1, a fold has
    w.g_p != 0 (and a = w.B(v, v)/2 != 0); with w.g_p = 0 (an equilibrium branch through
    the point) it is transcritical when a != 0 and a pitchfork when a = 0, sub- or
    supercritical by the sign of b = w.[C(v, v, v) + 3 B(v, h)]/6, J h = -B(v, v)."""
    J = np.asarray(jax.jacfwd(g)(x, p))
    U, _, Vt = np.linalg.svd(J)
    vr, wl = Vt[-1], U[:, -1]
    wl = wl / (wl @ vr)
    gp = np.asarray(jax.jacfwd(g, argnums=1)(x, p))
    vj = jnp.asarray(vr)
    gxp_v = np.asarray(jax.jacfwd(lambda q: jax.jvp(lambda z: g(z, q), (x,), (vj,))[1])(p))
    B, C = _forms(g, x, p)
    bvv = np.real(B(vr, vr))
    coef = {"w.g_p": float(wl @ gp), "w.g_xp v": float(wl @ gxp_v), "a": 0.5 * float(wl @ bvv)}
    scale = np.linalg.norm(wl) * np.linalg.norm(vr)
    if abs(coef["w.g_p"]) > _DEGENERATE * scale * (1.0 + np.linalg.norm(gp)):
        return "fold", None, coef
    if abs(coef["a"]) > _DEGENERATE * scale * (1.0 + np.linalg.norm(bvv)):
        return "transcritical", None, coef
    n = J.shape[0]
    bordered = np.block([[J, vr[:, None]], [wl[None, :], np.zeros((1, 1))]])
    h = np.linalg.solve(bordered, np.concatenate([-bvv, [0.0]]))[:n]
    cubic = float(wl @ np.real(C(vr, vr, vr) + 3.0 * B(vr, h))) / 6.0
    coef["b"] = cubic
    return "pitchfork", ("supercritical" if cubic < 0 else "subcritical"), coef


def _first_lyapunov(g, x: Array, p: Array) -> tuple[float, float]:
    """(l1, omega) at a Hopf point of x' = g(x, p): Kuznetsov's (2004, §5.4) invariant
    formula l1 = Re[<p, C(q, q, qbar)> - 2 <p, B(q, A^-1 B(q, qbar))>
    + <p, B(qbar, (2 i omega - A)^-1 B(q, q))>] / (2 omega), with A q = i omega q,
    A^T p = -i omega p, <p, q> = pbar.q = 1 and <q, q> = 1/2: the normalisation of his
    planar formula (3.20) in the coordinates x1 + i x2 of the canonical form, in which
    x' = beta x - omega y + s x (x^2 + y^2), y' = omega x + beta y + s y (x^2 + y^2) has
    l1 = s / omega and Guckenheimer & Holmes' (1983, (3.4.11)) radial coefficient is
    a = omega l1. (<q, q> = 1 doubles l1; its sign does not depend on the scaling.)"""
    A = np.asarray(jax.jacfwd(g)(x, p))
    lam, vecs = np.linalg.eig(A)
    k = int(np.argmin(np.abs(np.real(lam)) + np.where(np.imag(lam) > 0, 0.0, np.inf)))
    omega, q = float(lam[k].imag), vecs[:, k] / np.sqrt(2.0)  # <q, q> = 1/2
    lam_t, vecs_t = np.linalg.eig(A.T)
    pv = vecs_t[:, int(np.argmin(np.abs(lam_t - (-1j * omega))))]
    pv = pv / np.conj(np.conj(pv) @ q)  # <p, q> = pbar . q = 1
    B, C = _forms(g, x, p)
    n = A.shape[0]
    b20 = B(q, q)
    b11 = B(q, np.conj(q))
    r11 = np.linalg.solve(A, b11)
    r20 = np.linalg.solve(2j * omega * np.eye(n) - A, b20)
    val = np.conj(pv) @ (C(q, q, np.conj(q)) - 2.0 * B(q, r11) + B(np.conj(q), r20))
    return float(val.real) / (2.0 * omega), omega


def _fold_point(g, x: np.ndarray, p: float, tol: float) -> tuple[np.ndarray, float]:
    """Newton's method on (g(x, p), det D_x g(x, p)) = 0 in (x, p): the minimally
    extended system of a fold (Kuznetsov 2004, §10.2)."""
    n = x.shape[0]

    @jax.jit
    def big(z):
        xx, pp = z[:n], z[n]
        return jnp.concatenate([g(xx, pp), jnp.linalg.det(jax.jacfwd(g)(xx, pp))[None]])

    z = jnp.concatenate([jnp.asarray(x), jnp.asarray([p])])
    for _ in range(50):
        r = big(z)
        dz = jnp.linalg.solve(jax.jacfwd(big)(z), r)
        if not bool(jnp.all(jnp.isfinite(dz))):
            break
        z = z - dz
        if float(jnp.max(jnp.abs(dz))) <= tol * (1.0 + float(jnp.max(jnp.abs(z)))):
            break
    z = np.asarray(z)
    return z[:n], float(z[n])


class _NoSolution(ValueError):
    pass


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
    (relative). If Newton's method finds no equilibrium / cycle at one end of the
    bracket, the branch ends in between: bisection runs on whether it converges, and the
    end is refined by Newton's method on (g = 0, det D_x g = 0) in (x, param), a fold.

    The critical eigenvalue names the bifurcation (Kuznetsov 2004, ch. 3-4): a complex
    pair on the imaginary axis is "hopf", with its first Lyapunov coefficient l1
    (Kuznetsov 2004, §5.4, from the multilinear forms B, C by `jax.jvp`; l1 < 0
    "supercritical", l1 > 0 "subcritical"); mu = -1 "period_doubling"; a complex pair of
    multipliers on the unit circle "neimark_sacker". A real eigenvalue through 0 or
    mu = +1 (g = f or F^p - id) is told apart on the centre-manifold reduction, with
    J v = 0, w.J = 0, w.v = 1 (Kuznetsov 2004, §3.2-3.3; Guckenheimer & Holmes 1983,
    §3.4): "fold" when w.g_param != 0, "transcritical" when w.g_param = 0 and
    a = w.B(v, v)/2 != 0, "pitchfork" when both vanish (a symmetric family), sub- or
    supercritical by the sign of its cubic coefficient.

    **Arguments:**

    - `system`: a `cj.Flow` or `cj.Map`.
    - `param`: the name of a scalar numeric parameter.
    - `lo`, `hi`: the bracket; the indicator must have opposite signs at its ends, or
      the branch must end (a fold) between them.
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
    h.criticality     # "subcritical" (l1 > 0)
    ```
    """
    check_system(system)
    check_param(system, param, lo)
    p = v.positive_int(period, "period")
    if isinstance(system, Flow) and p != 1:
        raise ValueError(f"`period` applies to maps; got period={p} for a flow.")
    x = np.asarray(v.state(guess, system.dim, "guess", batch=False))
    solved: dict[float, np.ndarray] = {}
    what = "equilibrium" if p == 1 else f"period-{p} cycle"
    flow = isinstance(system, Flow)

    def evaluate(val: float):
        near = min(solved, key=lambda s: abs(s - val)) if solved else None
        g = solved[near] if near is not None else x
        s = system.replace(**{param: val})
        xs, res = newton(s, jnp.asarray(g)[None], p, 60, tol)
        xs, res = np.asarray(xs)[0], float(np.asarray(res)[0])
        if not np.isfinite(res) or res > 1e3 * tol * (1 + np.max(np.abs(xs))):
            raise _NoSolution(
                f"Newton did not converge to the {what} at {param} = {val:g} (residual "
                f"{res:.2e}); give a closer `guess` or a narrower bracket."
            )
        solved[val] = xs
        return indicator(s, xs)

    def indicator(s, xs):
        eig = np.linalg.eigvals(np.asarray(jacobians(s, jnp.asarray(xs)[None], p))[0])
        eig = eig.astype(complex)
        crit = np.max(eig.real) if flow else np.max(np.abs(eig)) - 1.0
        return crit, eig, xs

    a, b = float(lo), float(hi)
    g = _residual(system, param, p)
    fa, _, _ = evaluate(a)
    try:
        fb, _, _ = evaluate(b)
    except _NoSolution as err:
        # The branch ends between lo and hi: bisect on existence, then refine the fold.
        while abs(b - a) > xtol * max(1.0, abs(a)):
            m = 0.5 * (a + b)
            try:
                evaluate(m)
                a = m
            except _NoSolution:
                b = m
        xf, pf = _fold_point(g, solved[a], a, tol)
        _, eig, xf = indicator(system.replace(**{param: pf}), xf)
        crit = np.min(np.abs(eig)) if flow else np.min(np.abs(eig - 1.0))
        singular = crit < 1e-6 * (1 + np.max(np.abs(eig)))
        if not (np.all(np.isfinite(xf)) and np.isfinite(pf) and singular):
            raise ValueError(
                f"{err} (The {what} continued from {param} = {lo:g} ends near {a:g}, "
                "but not at a fold.)"
            ) from None
        kind, cr, coef = _real_kind(g, jnp.asarray(xf), jnp.asarray(pf))
        return StabilityChange(pf, kind, jnp.asarray(eig), jnp.asarray(xf), p, None, cr, coef)
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
    xj, pj = jnp.asarray(xs), jnp.asarray(val)
    if flow:
        k = int(np.argmax(eig.real))
        if abs(eig[k].imag) > 1e-6 * (1 + abs(eig[k])):
            l1, _ = _first_lyapunov(g, xj, pj)
            cr = "supercritical" if l1 < 0 else "subcritical"
            return StabilityChange(val, "hopf", jnp.asarray(eig), xj, p, l1, cr)
        kind, cr, coef = _real_kind(g, xj, pj)
        return StabilityChange(val, kind, jnp.asarray(eig), xj, p, None, cr, coef)
    k = int(np.argmax(np.abs(eig)))
    mu = eig[k]
    if abs(mu.imag) > 1e-6:
        return StabilityChange(val, "neimark_sacker", jnp.asarray(eig), xj, p)
    if mu.real < 0:
        return StabilityChange(val, "period_doubling", jnp.asarray(eig), xj, p)
    kind, cr, coef = _real_kind(g, xj, pj)
    return StabilityChange(val, kind, jnp.asarray(eig), xj, p, None, cr, coef)
