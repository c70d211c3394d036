"""Periods of sampled orbits: return distances, the smallest period below a tolerance,
and the parameter value where the period changes.

The period of a sequence x_0, ..., x_{keep-1} (map iterates, or the section points of a
flow) is the smallest p with max_k |x_{k+p} - x_k|_inf <= tol * max(1, max|x|): the
return-distance test of the steady-state analysis in Parker & Chua (1989), *Practical
Numerical Algorithms for Chaotic Systems*, Springer, ch. 2,
https://doi.org/10.1007/978-1-4612-3486-9.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, Int

from .. import _validate as v
from .._results import Result
from ..systems import Flow, Map
from .orbit_diagrams import orbit_diagram
from .sections import AbstractSection


def return_distances(
    points: Float[Array, "keep dim"], count: Int[Array, ""], max_period: int
) -> Float[Array, " max_period"]:
    """d_p = max_k |x_{k+p} - x_k|_inf over the first `count` points, p = 1..max_period;
    inf where fewer than two full repetitions of p are stored."""
    keep = points.shape[0]
    idx = jnp.arange(keep)

    def one(p):
        j = jnp.minimum(idx + p, keep - 1)
        diff = jnp.max(jnp.abs(points[j] - points), axis=-1)
        valid = idx + p < count
        d = jnp.max(jnp.where(valid, diff, 0.0))
        return jnp.where(count >= 2 * p, d, jnp.inf)

    return jax.vmap(one)(jnp.arange(1, max_period + 1))


def smallest_period(
    points: Float[Array, "keep dim"], count: Int[Array, ""], max_period: int, tol: float
) -> tuple[Int[Array, ""], Float[Array, " max_period"], Float[Array, ""]]:
    """(period, return distances, threshold): the smallest p whose return distance is at
    most threshold = tol * max(1, max|x|), or 0 when none is."""
    d = return_distances(points, count, max_period)
    finite = jnp.where(jnp.isfinite(points), jnp.abs(points), 0.0)
    scale = jnp.maximum(1.0, jnp.max(finite))
    thr = tol * scale
    ok = d <= thr
    period = jnp.where(jnp.any(ok), jnp.argmax(ok) + 1, 0)
    return period, d, thr


def detect_period(
    points: Float[ArrayLike, "*batch keep dim"],
    *,
    max_period: int = 64,
    tol: float = 1e-6,
    count: Int[ArrayLike, "*batch"] | None = None,
) -> tuple[Int[Array, "*batch"], Float[Array, "*batch max_period"]]:
    """The smallest period p <= `max_period` of a sequence of points, 0 if none.

    p is accepted when every return distance |x_{k+p} - x_k|_inf over the sequence is at
    most `tol * max(1, max|x|)` and the sequence holds at least two repetitions of p
    (Parker & Chua 1989, ch. 2). For a map's iterates p is the period in iterations; for
    the section points of a flow, the number of section crossings per period (1 for a
    simple limit cycle).

    **Arguments:**

    - `points`: (keep, dim), or batched (*batch, keep, dim), e.g. `OrbitDiagram.points`.
    - `max_period`: the largest period tested (default 64).
    - `tol`: the tolerance, relative to max(1, max|x|) (default 1e-6).
    - `count`: (*batch,), the number of valid leading rows (the rest, NaN padding, is
      ignored); default: the rows with every entry finite.

    **Returns:**

    `(period, return_distances)` of shapes (*batch,) and (*batch, max_period).

    Example:

    ```python
    d = cj.orbit_diagram(cj.systems.Logistic(), "r", jnp.array([3.2, 3.5]),
                         jnp.array([0.5]), transient=10_000, keep=64)
    period, dist = cj.detect_period(d.points, count=d.counts)   # [2, 4]
    ```
    """
    max_period = v.positive_int(max_period, "max_period")
    tol = v.positive_float(tol, "tol")
    pts = v.real_array(points, "points").astype(jnp.result_type(float))
    if pts.ndim < 2:
        raise ValueError(
            f"`points` must have shape (keep, dim) or (n, keep, dim), got {pts.shape}."
        )
    batch = pts.shape[:-2]
    flat = pts.reshape((-1,) + pts.shape[-2:])
    if count is None:
        cnt = jnp.sum(jnp.all(jnp.isfinite(flat), axis=-1), axis=-1)
    else:
        cnt = jnp.broadcast_to(jnp.asarray(count), batch).reshape(-1)
    per, d, _ = jax.jit(jax.vmap(lambda p, c: smallest_period(p, c, max_period, tol)))(flat, cnt)
    return per.reshape(batch), d.reshape(batch + (max_period,))


class PeriodChange(Result):
    """Where the detected period changes (what `locate_period_change` returns).

    **Attributes:**

    - `value`: the midpoint of the final bracket.
    - `lo`, `hi`: the final bracket.
    - `period_before`: the period at `lo`.
    - `period_after`: the period at `hi`.

    Example:

    ```python
    pc = cj.locate_period_change(cj.systems.Logistic(), "r", 3.2, 3.5, jnp.array([0.5]),
                                 transient=20_000, rounds=2)
    pc.lo, pc.hi, pc.period_before, pc.period_after   # around 3.449, 2, 4
    ```
    """

    value: float
    lo: float
    hi: float
    period_before: int
    period_after: int


def locate_period_change(
    system: Flow | Map,
    param: str,
    lo: float,
    hi: float,
    x0: Float[ArrayLike, " dim"] | None = None,
    *,
    transient: int,
    keep: int = 256,
    dt: float | None = None,
    solver: str = "rk4",
    section: AbstractSection | None = None,
    max_period: int = 64,
    tol: float = 1e-6,
    points: int = 64,
    rounds: int = 3,
) -> PeriodChange:
    """The value of `param` in [lo, hi] where the period detected on the orbit diagram
    first changes from its value at `lo`.

    Multisection: each round computes one `orbit_diagram` at `points` values across the
    bracket, runs `detect_period` on it and keeps the two neighbouring values between
    which the period first changes, so `rounds` rounds shrink the bracket by
    (points - 1)^rounds. Near a period doubling the approach to the attractor slows down
    (the multiplier tends to -1), so `transient` bounds the accuracy: the boundary is
    found early by about ln(1/tol) / (kappa * transient), kappa = d|multiplier|/d(param)
    per iteration. `stability_boundary` gives the exact point once it is bracketed.

    **Arguments:**

    - `system`: a `cj.Map`, or a `cj.Flow` (then `dt` is required).
    - `param`: the name of a scalar numeric parameter of `system`.
    - `lo`, `hi`: the bracket, lo < hi.
    - `x0`: (dim,) initial state at every value; default `system.default_state()`.
    - `transient`: steps (iterations for a map) discarded first at every value.
    - `keep`: the number of points per value given to `detect_period` (default 256).
    - `dt`: the time per step of a flow (time units); None for a map.
    - `solver`: the solver of a flow, as in `cj.as_map` (default "rk4").
    - `section`: flows only: the Poincare section, as in `orbit_diagram` (default
      `cj.LocalMaxima(0)`).
    - `max_period`: the largest period tested (default 64).
    - `tol`: the period tolerance, relative to max(1, max|x|) (default 1e-6).
    - `points`: parameter values per round, at least 3 (default 64).
    - `rounds`: the number of rounds (default 3).

    **Returns:**

    A `PeriodChange`.

    Example:

    ```python
    pc = cj.locate_period_change(cj.systems.Logistic(), "r", 2.9, 3.1, jnp.array([0.5]),
                                 transient=300_000)
    pc.value, pc.period_before, pc.period_after   # ~3.0, 1, 2
    ```
    """
    lo, hi = float(lo), float(hi)
    if not lo < hi:
        raise ValueError(f"`lo` must be below `hi`, got lo={lo}, hi={hi}.")
    points = v.positive_int(points, "points")
    if points < 3:
        raise ValueError(f"`points` must be at least 3, got {points}.")
    p_lo = p_hi = -1  # periods are >= 0; p_lo is the period at `lo`, set in round one
    a, b = lo, hi
    for _ in range(v.positive_int(rounds, "rounds")):
        vals = jnp.linspace(a, b, points)
        d = orbit_diagram(
            system,
            param,
            vals,
            x0,
            transient=transient,
            keep=keep,
            dt=dt,
            solver=solver,
            section=section,
        )
        per = np.asarray(detect_period(d.points, max_period=max_period, tol=tol, count=d.counts)[0])
        if p_lo < 0:
            p_lo = int(per[0])
        change = np.flatnonzero(per != p_lo)
        if change.size == 0:
            raise ValueError(
                f"The detected period stays {p_lo} over {param} in [{a:g}, {b:g}]; no "
                "change to locate (widen the bracket, or lower `tol`)."
            )
        i = int(change[0])
        if i == 0:
            raise ValueError(f"The period at {param} = {a:g} is not stable under refinement.")
        p_hi = int(per[i])
        vv = np.asarray(vals)
        a, b = float(vv[i - 1]), float(vv[i])
    return PeriodChange(0.5 * (a + b), a, b, p_lo, p_hi)


def feigenbaum_ratios(points: Sequence[float]) -> np.ndarray:
    """Feigenbaum's ratios of successive period-doubling points.

    delta_n = (r_n - r_{n-1}) / (r_{n+1} - r_n), which tends to 4.669201... for every
    unimodal map with a quadratic maximum (Feigenbaum 1978, J. Stat. Phys. 19, 25-52,
    https://doi.org/10.1007/BF01020332).

    **Arguments:**

    - `points`: at least 3 period-doubling points r_1 < r_2 < ..., in order.

    **Returns:**

    The len(points) - 2 ratios, as a NumPy array.

    Example:

    ```python
    cj.bifurcation.feigenbaum_ratios([3.0, 3.449490, 3.544090, 3.564407])  # [4.75, 4.66]
    ```
    """
    r = np.asarray(points, float)
    if r.ndim != 1 or r.size < 3:
        raise ValueError(f"`points` must hold at least 3 values, got {points!r}.")
    return (r[1:-1] - r[:-2]) / (r[2:] - r[1:-1])
