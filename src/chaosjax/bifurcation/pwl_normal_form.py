"""Border collisions of the piecewise-linear normal form: what happens as an equilibrium
(flow) or fixed point (map) crosses the switching manifold c.x = 0, decided from the
pieces (A1, A2, b, c) alone.

    x' (or x_{n+1}) = A1 x + mu b   if c.x < 0,      A2 x + mu b   if c.x >= 0,

continuous across c.x = 0 (A2 = A1 + g c^T). The normal form is homogeneous in (x, mu),
so only the sign of mu matters: the scenario is read for mu going from - to +.

- Equilibria (fixed points) x_i = -mu A_i^{-1} b (x_i = mu (I - A_i)^{-1} b) are
  admissible when c.x_i lies on their own side. By continuity and the Sherman-Morrison
  formula c^T A2^{-1} b = c^T A1^{-1} b det A1 / det A2, so the two are admissible for
  opposite signs of mu (persistence) when det A1 det A2 > 0 and for the same sign (a
  non-smooth fold, two equilibria that meet at the border and vanish) when
  det A1 det A2 < 0 (Feigin 1970; di Bernardo, Budd, Champneys & Kowalczyk 2008,
  *Piecewise-smooth Dynamical Systems*, Springer, §5.2 (flows) and §3.3 (maps), where
  for maps the test reads det(I - A1) det(I - A2), i.e. the parity of the numbers of
  real multipliers above 1).
- Planar flows, focus on both sides (Freire, Ponce, Rodrigo & Torres 1998, "Bifurcation
  sets of continuous piecewise linear systems with two zones", Int. J. Bifurcation Chaos
  8, 2073-2097): at mu = 0 the origin is a global focus whose half-turn in zone i scales
  the radius by exp(pi gamma_i), gamma_i = t_i / sqrt(4 d_i - t_i^2) (trace t_i,
  determinant d_i). When the equilibrium turns from a stable focus into an unstable one
  and gamma_1 + gamma_2 < 0, a stable limit cycle is born, of size proportional to |mu|
  ("FP -> limit cycle", the analogue of a supercritical Hopf point).
- Maps: the periodic orbits of the normal form are fixed points of compositions of A1
  and A2 along an itinerary, solved exactly and kept when every point lies on the side
  its symbol says (Nusse & Yorke 1992, Physica D 57, 39-57; Banerjee & Grebogi 1999,
  Phys. Rev. E 59, 4052; Simpson 2016, SIAM Rev. 58, 177-226). When the stable fixed
  point gives way to an unstable one (a flip saddle) and no admissible stable orbit of
  period up to `max_period` exists, the attractor born is chaotic ("FP -> chaos": the
  robust chaos of Banerjee, Yorke & Grebogi 1998, Phys. Rev. Lett. 80, 3049). For flows
  in 3-D the chaotic scenarios (Carmona, Freire, Ponce & Torres 2002, Int. J.
  Bifurcation Chaos 12, 1147) have no comparably simple test and are not classified.
"""

from __future__ import annotations

import itertools

import numpy as np

from .. import _validate as v
from .._results import Result

SCENARIOS = ("persistence", "nonsmooth fold", "limit cycle", "periodic", "chaos", "other")


class BorderCollision(Result):
    """What a border collision of the piecewise-linear normal form does as mu goes from
    negative to positive (what `border_collision` returns).

    **Attributes:**

    - `scenario`: one of "persistence" (a stable equilibrium / fixed point on either
      side: FP -> FP), "nonsmooth fold" (two for mu < 0, none for mu > 0, or the
      reverse: FP + FP -> nothing), "limit cycle" (FP -> limit cycle), "periodic" (maps:
      FP -> a stable period-n orbit), "chaos" (maps: FP -> chaos) or "other".
    - `before`, `after`: the attractors for mu < 0 and mu > 0 in words.
    - `kind`: "flow" or "map".
    - `determinants`: (2,), det A_i (flows) or det(I - A_i) (maps).
    - `traces`: (2,), the traces of A1, A2.
    - `equilibria`: (2, n), the equilibria / fixed points of the two pieces at mu = 1.
    - `admissible`: (2, 2) bool: row i for mu = -1, +1, column j for piece j.
    - `stable`: (2,) bool, whether each piece's equilibrium is stable.
    - `gamma`: (2,), t_i / sqrt(4 d_i - t_i^2) for planar foci (nan otherwise).
    - `orbits`: maps: the admissible stable periodic orbits (itinerary strings of "L"
      for c.x < 0 and "R" for c.x >= 0) at mu = -1 and mu = +1.

    Example:

    ```python
    m = cj.systems.PiecewiseLinearMap.border_collision_2d(0.5, 0.3, -1.5, 0.3)
    bc = cj.bifurcation.border_collision(m.A1, m.A2, m.b, m.c, kind="map")
    bc.scenario, bc.before   # "chaos", "stable fixed point (A1)"
    ```
    """

    scenario: str
    before: str
    after: str
    kind: str
    determinants: np.ndarray
    traces: np.ndarray
    equilibria: np.ndarray
    admissible: np.ndarray
    stable: np.ndarray
    gamma: np.ndarray
    orbits: tuple[tuple[str, ...], tuple[str, ...]]


def _matrices(A1: object, A2: object, b: object, c: object):
    mats = []
    for name, val in (("A1", A1), ("A2", A2)):
        try:
            m = np.asarray(val, dtype=float)
        except (TypeError, ValueError):
            raise ValueError(f"`{name}` must be a square matrix of numbers, got {val!r}.") from None
        if m.ndim != 2 or m.shape[0] != m.shape[1] or not np.all(np.isfinite(m)):
            raise ValueError(f"`{name}` must be a finite square matrix, got shape {m.shape}.")
        mats.append(m)
    if mats[0].shape != mats[1].shape:
        raise ValueError(
            f"`A1` and `A2` must have one shape, got {mats[0].shape}, {mats[1].shape}."
        )
    n = mats[0].shape[0]
    vecs = []
    for name, val in (("b", b), ("c", c)):
        try:
            x = np.asarray(val, dtype=float)
        except (TypeError, ValueError):
            raise ValueError(f"`{name}` must be a vector of numbers, got {val!r}.") from None
        if x.shape != (n,) or not np.all(np.isfinite(x)):
            raise ValueError(f"`{name}` must be a finite vector of shape ({n},), got {x.shape}.")
        vecs.append(x)
    a1, a2 = mats
    bb, cc = vecs
    if not np.any(cc):
        raise ValueError("`c` must be non-zero (the normal of the switching manifold).")
    # Continuity: A1 x = A2 x on c.x = 0, i.e. (A2 - A1) is zero on the orthogonal
    # complement of c.
    d = a2 - a1
    proj = np.eye(n) - np.outer(cc, cc) / (cc @ cc)
    if np.max(np.abs(d @ proj)) > 1e-10 * (1 + np.max(np.abs(a1)) + np.max(np.abs(a2))):
        raise ValueError(
            "`A1` and `A2` must agree on the switching manifold c.x = 0 (A2 - A1 = g c^T) "
            "for a continuous normal form."
        )
    return a1, a2, bb, cc


def _periodic_orbits(a1, a2, bb, cc, mu: float, max_period: int) -> tuple[str, ...]:
    """The admissible stable periodic orbits of the map, by itinerary (minimal periods,
    one rotation each)."""
    n = a1.shape[0]
    found: list[str] = []
    for p in range(1, max_period + 1):
        for word in itertools.product("LR", repeat=p):
            w = "".join(word)
            if w != min(w[k:] + w[:k] for k in range(p)):
                continue  # one rotation per orbit
            if any(p % q == 0 and w == w[:q] * (p // q) for q in range(1, p)):
                continue  # not of minimal period
            m, off = np.eye(n), np.zeros(n)
            for s in w:
                a = a1 if s == "L" else a2
                m, off = a @ m, a @ off + mu * bb
            try:
                x = np.linalg.solve(np.eye(n) - m, off)
            except np.linalg.LinAlgError:
                continue
            ok = True
            for s in w:
                side = cc @ x
                if (s == "L") != (side < 0):
                    ok = False
                    break
                x = (a1 if s == "L" else a2) @ x + mu * bb
            if ok and np.max(np.abs(np.linalg.eigvals(m))) < 1:
                found.append(w)
    return tuple(found)


def border_collision(
    A1: object,
    A2: object,
    b: object,
    c: object,
    *,
    kind: str = "flow",
    max_period: int = 10,
) -> BorderCollision:
    """Classify the border collision of the continuous piecewise-linear normal form
    x' = A_i x + mu b (flows) or x -> A_i x + mu b (maps), i = 1 where c.x < 0 and 2
    where c.x >= 0, as mu goes from negative to positive.

    Equilibria (fixed points) and their admissibility come from the signs of
    c^T A_i^{-1} b, equivalently of det A1 det A2 (flows) or det(I - A1) det(I - A2)
    (maps): the same sign is persistence, opposite signs a non-smooth fold (Feigin 1970;
    di Bernardo et al. 2008, §3.3, §5.2). A planar flow with a focus on both sides
    whose stability changes gives a limit cycle when gamma_1 + gamma_2 < 0,
    gamma_i = t_i / sqrt(4 d_i - t_i^2) (Freire, Ponce, Rodrigo & Torres 1998). A map
    whose stable fixed point gives way to an unstable one is followed by its admissible
    stable periodic orbits, found exactly by itinerary up to `max_period`; with none,
    the scenario is "chaos" (Banerjee & Grebogi 1999; Banerjee, Yorke & Grebogi 1998).

    **Arguments:**

    - `A1`, `A2`: (n, n) matrices for c.x < 0 and c.x >= 0, equal on c.x = 0.
    - `b`: (n,) the direction of the offset mu b; `c`: (n,) the normal of the border.
    - `kind`: "flow" or "map" (default "flow").
    - `max_period`: maps: the longest period searched for stable orbits (default 10).

    **Returns:**

    A `BorderCollision`.

    Example:

    ```python
    pwl = cj.systems.PiecewiseLinearFlow.fp_to_limit_cycle()
    bc = cj.bifurcation.border_collision(pwl.A1, pwl.A2, pwl.b, pwl.c)
    bc.scenario   # "limit cycle"
    ```
    """
    k = v.one_of(kind, "kind", ("flow", "map"))
    maxp = v.positive_int(max_period, "max_period")
    a1, a2, bb, cc = _matrices(A1, A2, b, c)
    n = a1.shape[0]
    flow = k == "flow"
    lin = [a if flow else np.eye(n) - a for a in (a1, a2)]
    dets = np.array([np.linalg.det(m) for m in lin])
    traces = np.array([np.trace(a1), np.trace(a2)])
    if np.any(np.abs(dets) < 1e-12):
        raise ValueError(
            f"A piece has no isolated equilibrium (determinant {dets}): `A1`, `A2` must make "
            "det A_i (flows) or det(I - A_i) (maps) non-zero."
        )
    # Equilibria at mu = 1: A x + b = 0 (flows), x = A x + b (maps).
    eq = np.stack([np.linalg.solve(m, -bb if flow else bb) for m in lin])
    side = eq @ cc  # c.x_i at mu = 1; at mu = -1 the sign flips
    admissible = np.array([[-side[0] < 0, -side[1] >= 0], [side[0] < 0, side[1] >= 0]])
    if flow:
        stable = np.array([np.max(np.linalg.eigvals(a).real) < 0 for a in (a1, a2)])
    else:
        stable = np.array([np.max(np.abs(np.linalg.eigvals(a))) < 1 for a in (a1, a2)])
    gamma = np.full(2, np.nan)
    if n == 2:
        for i, a in enumerate((a1, a2)):
            t, d = np.trace(a), np.linalg.det(a)
            if 4 * d - t * t > 0:
                gamma[i] = t / np.sqrt(4 * d - t * t)

    def words(row: int) -> str:
        pieces = [j for j in range(2) if admissible[row, j]]
        if not pieces:
            return "no equilibrium" if flow else "no fixed point"
        return " + ".join(
            f"{'stable' if stable[j] else 'unstable'} {'equilibrium' if flow else 'fixed point'}"
            f" (A{j + 1})"
            for j in pieces
        )

    before, after = words(0), words(1)
    orbits: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())
    if dets[0] * dets[1] < 0:
        scenario = "nonsmooth fold"
    else:
        j_before = 0 if admissible[0, 0] else 1
        j_after = 1 - j_before
        if stable[j_before] and stable[j_after]:
            scenario = "persistence"
        elif flow and n == 2 and not np.any(np.isnan(gamma)) and stable[j_before]:
            if gamma[0] + gamma[1] < 0:
                scenario, after = "limit cycle", after + ", inside a stable limit cycle"
            else:
                scenario = "other"
        elif not flow and stable[j_before]:
            orbits = (
                _periodic_orbits(a1, a2, bb, cc, -1.0, maxp),
                _periodic_orbits(a1, a2, bb, cc, 1.0, maxp),
            )
            if orbits[1]:
                scenario = "periodic"
                after += ", stable period-" + ", ".join(str(len(w)) for w in orbits[1])
                after += " orbit(s) " + ", ".join(orbits[1])
            else:
                scenario = "chaos"
                after += f"; no stable orbit of period <= {maxp}: a chaotic attractor"
        else:
            scenario = "other"
    return BorderCollision(
        scenario,
        before,
        after,
        k,
        dets,
        traces,
        eq,
        admissible,
        stable,
        gamma,
        orbits,
    )
