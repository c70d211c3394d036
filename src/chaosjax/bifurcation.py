"""Orbit diagrams, period detection, fixed points, periodic orbits, stability boundaries
and the classification of omega-limit sets (issue 6; seed 003).

Everything runs on the one-step map of a system (DESIGN.md): a map itself, or a flow
discretised with a fixed-step solver (or the event-located RK4 of `cj.piecewise` for
piecewise-smooth flows). A parameter sweep is one compiled `vmap` over the parameter
values, whose batch axis is sharded over `jax.devices()`.

Methods and sources:

- Orbit diagrams (May 1976; Feigenbaum 1978): for maps the iterates after a transient;
  for flows the points where the orbit crosses a Poincare section, a hyperplane
  n.x = c crossed in a chosen direction, or the local maxima of a coordinate (where
  dx_i/dt changes sign from + to -). A crossing found between two steps is located
  inside the step by the Illinois variant of regula falsi on the solver's own partial
  step x -> Phi_theta*dt(x), so the located point is as accurate as the trajectory.
- Period detection: the smallest p with max_k |x_{k+p} - x_k| below a tolerance
  relative to the size of the attractor (return distances).
- Fixed points and period-p orbits of maps: Newton's method with autodiff Jacobians
  on f(x) = 0 (flows) or F^p(x) - x = 0 (maps); eigenvalues of Df (flows) or
  multipliers, the eigenvalues of DF^p (maps), decide stability.
- Stability boundaries: bisection on the sign of max Re(lambda) (flows) or
  max |mu| - 1 (maps) while the equilibrium / cycle is continued from the nearest
  stable point; the critical eigenvalue names the bifurcation (Kuznetsov 2004,
  *Elements of Applied Bifurcation Theory*, ch. 3-4): Hopf, fold, period doubling,
  Neimark-Sacker.
- Classification: period detection on the omega-limit set together with the sign
  pattern of the leading Lyapunov exponents (Benettin et al. 1980, by
  `cj.lyapunov.spectrum_on_map`). The evidence is returned with the label, and a
  label the evidence does not support is never forced ("unresolved").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Bool, Complex, Float, Int

from . import _validate as v
from . import solvers as _solvers
from ._roots import illinois
from .discretize import discretize
from .lyapunov import spectrum_on_map
from .parallel import shard_batch
from .systems import Flow, Map
from .systems._base import _as_float

__all__ = [
    "Hyperplane", "LocalMaxima", "LocalMinima", "OrbitDiagram", "orbit_diagram",
    "detect_period", "PeriodChange", "locate_period_change", "FixedPoints", "fixed_points",
    "PeriodicOrbits", "periodic_orbits", "StabilityChange", "stability_boundary",
    "Classification", "classify_attractor", "classify_sweep", "LABELS", "lyapunov_sweep",
    "feigenbaum_ratios",
]  # fmt: skip

#: Attractor labels, indexed by `Classification.code`.
LABELS: tuple[str, ...] = (
    "fixed_point", "periodic", "quasi_periodic", "chaotic", "divergent", "unresolved",
)  # fmt: skip
_FP, _PER, _QP, _CH, _DIV, _UNR = range(6)


# =========================================================================== sections


class Hyperplane(eqx.Module):
    """The Poincare section n.x = offset, crossed in `direction` (+1: n.x increasing,
    -1: decreasing, 0: both).

    Example: `cj.Hyperplane(normal=[0, 0, 1], offset=27.0)` for Lorenz63 (z = 27, upwards).
    """

    normal: Float[Array, " dim"] = eqx.field(converter=_as_float)
    offset: Float[Array, ""] = eqx.field(default=0.0, converter=_as_float)
    direction: int = eqx.field(default=1, static=True)

    def __check_init__(self):
        if self.normal.ndim != 1:
            raise ValueError(f"`normal` must be a vector, got shape {self.normal.shape}.")
        if self.direction not in (-1, 0, 1):
            raise ValueError(f"`direction` must be -1, 0 or +1, got {self.direction!r}.")

    def value(self, x: Array, f: Array) -> Array:
        return self.normal @ x - self.offset

    def describe(self) -> str:
        d = {1: "upwards", -1: "downwards", 0: "in either direction"}[self.direction]
        return (
            f"the hyperplane n.x = {float(self.offset):g} with n = {np.asarray(self.normal)} ({d})"
        )


class LocalMaxima(eqx.Module):
    """The local maxima of coordinate `coordinate`: where dx_i/dt changes sign from + to -.

    Example: `cj.LocalMaxima(2)` gives the z-maxima of Lorenz (1963)'s return map.
    """

    coordinate: int = eqx.field(default=0, static=True)
    direction: ClassVar[int] = -1

    def value(self, x: Array, f: Array) -> Array:
        return f[self.coordinate]

    def describe(self) -> str:
        return f"the local maxima of x[{self.coordinate}]"


class LocalMinima(eqx.Module):
    """The local minima of coordinate `coordinate`: where dx_i/dt changes sign from - to +."""

    coordinate: int = eqx.field(default=0, static=True)
    direction: ClassVar[int] = 1

    def value(self, x: Array, f: Array) -> Array:
        return f[self.coordinate]

    def describe(self) -> str:
        return f"the local minima of x[{self.coordinate}]"


Section = Hyperplane | LocalMaxima | LocalMinima


def _crossed(g0: Array, g1: Array, direction: int) -> Array:
    up = (g0 < 0) & (g1 >= 0)
    down = (g0 > 0) & (g1 <= 0)
    return up if direction > 0 else down if direction < 0 else up | down


# =========================================================================== helpers


def _check_system(system: Any) -> None:
    if not isinstance(system, (Flow, Map)):
        raise ValueError(f"`system` must be a cj.Flow or cj.Map, got {type(system).__name__}.")
    v.system_parameters(system)


def _check_param(system: Flow | Map, param: str, values: ArrayLike) -> Array:
    """The parameter must be a traced (array) field; `values` (n, *shape) and finite."""
    if not isinstance(param, str):
        raise ValueError(f"`param` must be a parameter name (str), got {param!r}.")
    params = system.parameters()
    if param not in params:
        if param in system.static_parameters():
            raise ValueError(
                f"Parameter {param!r} of {type(system).__name__} is structural (static, it "
                "fixes the state dimension) and cannot be swept; sweep a numeric parameter "
                f"({', '.join(sorted(params))})."
            )
        raise v.unknown_name(param, params, f"Parameter of {type(system).__name__}:")
    shape = tuple(jnp.shape(params[param]))
    try:
        vals = jnp.asarray(values, dtype=jnp.result_type(float))
    except (TypeError, ValueError):
        raise ValueError(f"`values` must be an array of numbers, got {values!r}.") from None
    if vals.ndim == len(shape):
        vals = vals[None]
    if tuple(vals.shape[1:]) != shape or vals.shape[0] < 1:
        raise ValueError(
            f"`values` must have shape (n,{''.join(f' {s},' for s in shape)}) for parameter "
            f"{param!r} of shape {shape}, got {tuple(vals.shape)}."
        )
    if v.is_concrete(vals) and not bool(jnp.all(jnp.isfinite(vals))):
        raise ValueError(f"`values` must be finite; got {np.asarray(vals)}.")
    return vals


def _one_step_map(system: Flow | Map, dt: float | None, solver: str) -> Map:
    """The one-step map (maps unchanged; flows discretised, "event" via cj.piecewise)."""
    if isinstance(system, Map):
        return system
    if solver == "event":
        from .piecewise import event_map

        return event_map(system, dt)
    return discretize(system, dt, solver)


def _check_dt_solver(system, dt, solver) -> float | None:
    if isinstance(system, Map):
        if dt is not None:
            raise ValueError(
                f"`dt` must be None for a map ({type(system).__name__} steps in iterations), "
                f"got dt={dt!r}."
            )
        return None
    if dt is None:
        raise ValueError(f"`dt` is required for a flow ({type(system).__name__}); got None.")
    v.one_of(solver, "solver", _solvers.all_solvers() + ["event"])
    return v.positive_float(dt, "dt")


def _partial_step(m: Map, x: Array, theta: Array) -> Array:
    """x advanced by the fraction theta in [0, 1] of one step of the discretised flow,
    by the same solver (so theta = 1 reproduces `m.step(x)` exactly)."""
    if hasattr(m, "advance"):  # Discretized and cj.piecewise.EventDiscretized
        return m.advance(x, theta * m.time_per_step)
    raise ValueError(f"cannot take a partial step of {type(m).__name__}.")


def _flow_of(m: Map) -> Flow:
    return m.flow  # Discretized and cj.piecewise.EventDiscretized both carry `flow`


def _section_orbit(m: Map, section, x: Array, keep: int, max_steps: int):
    """Advance from x until `keep` section crossings or `max_steps` steps.

    Returns (points (keep, dim) NaN-padded, times (keep,) since x, count, x_end,
    amplitude min/max over the run (2, dim), steps taken)."""
    flow = _flow_of(m)
    dim = x.shape[-1]
    nan = jnp.full((keep, dim), jnp.nan, x.dtype)

    def g_of(y):
        return section.value(y, flow.vector_field(y))

    def cond(c):
        y, g, k, n, *_ = c
        return (k < max_steps) & (n < keep) & jnp.all(jnp.isfinite(y))

    def body(c):
        y, g, k, n, buf, kbuf, lo, hi = c
        y1 = m.step(y)
        g1 = g_of(y1)
        hit = _crossed(g, g1, section.direction) & jnp.all(jnp.isfinite(y1))
        slot = jnp.minimum(n, keep - 1)
        buf = buf.at[slot].set(jnp.where(hit, y, buf[slot]))
        kbuf = kbuf.at[slot].set(jnp.where(hit, k, kbuf[slot]))
        return (
            y1,
            g1,
            k + 1,
            n + hit.astype(n.dtype),
            buf,
            kbuf,
            jnp.minimum(lo, y1),
            jnp.maximum(hi, y1),
        )

    init = (x, g_of(x), jnp.asarray(0), jnp.asarray(0), nan, jnp.zeros(keep, int), x, x)
    y, _, k, n, buf, kbuf, lo, hi = jax.lax.while_loop(cond, body, init)

    def refine(y0):
        g0 = g_of(y0)
        g1 = g_of(m.step(y0))
        theta = illinois(lambda t: g_of(_partial_step(m, y0, t)), g0, g1)
        return _partial_step(m, y0, theta), theta

    safe = jnp.where(jnp.isfinite(buf), buf, x[None, :])
    pts, theta = jax.vmap(refine)(safe)
    valid = jnp.arange(keep) < n
    pts = jnp.where(valid[:, None], pts, jnp.nan)
    times = jnp.where(valid, (kbuf + theta) * m.time_per_step, jnp.nan)
    return pts, times, n, y, jnp.stack([lo, hi]), k


def _map_orbit(m: Map, x: Array, keep: int):
    def body(y, _):
        y1 = m.step(y)
        return y1, y1

    y, pts = jax.lax.scan(body, x, None, length=keep)
    return pts, y


def _advance(m: Map, x: Array, n: int) -> Array:
    if n == 0:
        return x
    return jax.lax.fori_loop(0, n, lambda i, y: m.step(y), x)


def _shard(values: Array, x0: Array, shard: bool) -> tuple[Array, Array]:
    """Place the parameter axis (and a per-value x0) split over `jax.devices()`."""
    if not shard:
        return values, x0
    return shard_batch(values), (shard_batch(x0) if x0.ndim == 2 else x0)


def _initial_state(system, x0, n_values: int | None = None) -> Array:
    x0 = system.default_state() if x0 is None else x0
    x = v.state(x0, system.dim, "x0", batch=n_values is not None)
    if x.ndim == 2 and x.shape[0] != n_values:
        raise ValueError(
            f"`x0` must have shape ({system.dim},) or ({n_values}, {system.dim}) (one per "
            f"parameter value), got {tuple(x.shape)}."
        )
    return x


def _check_section(section, dim: int):
    if section is None:
        return LocalMaxima(0)
    if not isinstance(section, (Hyperplane, LocalMaxima, LocalMinima)):
        raise ValueError(
            "`section` must be cj.Hyperplane(normal, offset, direction), cj.LocalMaxima(i) "
            f"or cj.LocalMinima(i), got {section!r}."
        )
    if isinstance(section, Hyperplane) and section.normal.shape != (dim,):
        raise ValueError(
            f"`section.normal` must have shape ({dim},), got {tuple(section.normal.shape)}."
        )
    if isinstance(section, (LocalMaxima, LocalMinima)) and not 0 <= section.coordinate < dim:
        raise ValueError(f"`section.coordinate` must be in 0..{dim - 1}, got {section.coordinate}.")
    return section


# =========================================================================== orbit diagram


class OrbitDiagram(eqx.Module):
    """Points of the omega-limit set for each parameter value.

    `points[i, j]` is the j-th kept iterate (maps) or section crossing (flows) at
    `values[i]`; beyond `counts[i]` the entries are NaN (flows) or the non-finite
    iterates of a diverged map (inf or NaN). `times[i, j]` is the iteration index (maps) or
    the time since the end of the transient (flows). `final_states` are the states at
    the end of each run; `diverged` marks runs that became non-finite.
    """

    param: str = eqx.field(static=True)
    values: Float[Array, "n ..."]
    points: Float[Array, "n keep dim"]
    counts: Int[Array, " n"]
    times: Float[Array, "n keep"]
    final_states: Float[Array, "n dim"]
    diverged: Bool[Array, " n"]

    def scatter(self, coordinate: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Flat (parameter, point coordinate) pairs for a scatter plot, NaNs dropped."""
        vals = np.asarray(self.values).reshape(self.values.shape[0], -1)[:, 0]
        pts = np.asarray(self.points[..., coordinate])
        p = np.broadcast_to(vals[:, None], pts.shape)
        ok = np.isfinite(pts)
        return p[ok], pts[ok]


def orbit_diagram(
    system: Flow | Map,
    param: str,
    values: Float[ArrayLike, "n ..."],
    x0: Float[ArrayLike, "*n dim"] | None = None,
    *,
    transient: int,
    keep: int,
    dt: float | None = None,
    solver: str = "rk4",
    section: Section | None = None,
    steps: int | None = None,
    shard: bool = True,
    allow_empty: bool = True,
) -> OrbitDiagram:
    """The orbit (bifurcation) diagram of `system` as `param` runs over `values`.

    For a map: `transient` iterations are discarded, then `keep` iterates are stored.
    For a flow: `transient` steps of `dt` are discarded, then the orbit is followed for
    at most `steps` steps (default 200 * keep) until `keep` crossings of `section` (a
    `Hyperplane`, or `LocalMaxima(i)` / `LocalMinima(i)` of a coordinate; default
    `LocalMaxima(0)`), each located inside its step by root finding on the solver's
    partial step. `solver="event"` uses the event-located RK4 of `cj.piecewise` for
    piecewise-smooth flows.

    All values run in one compiled `vmap`, its batch axis sharded over `jax.devices()`
    (`shard=True`). Raises `ValueError` for a parameter the system does not have, and
    when no run crosses the section at all (the message names the section); runs that
    end on an equilibrium have `counts == 0` and their `final_states` hold it (set
    `allow_empty=False` to raise for those too).

    **Arguments:** `x0` (dim,) for every value, or (n, dim) one per value (default
    `system.default_state()`); `transient`, `keep`, `steps` in steps/iterations.

    **Returns:** an `OrbitDiagram` (points (n, keep, dim)).

    Example:
    ```python
    d = cj.orbit_diagram(cj.systems.Logistic(), "r", jnp.linspace(2.8, 4, 1000),
                         jnp.array([0.5]), transient=1000, keep=200)
    d = cj.orbit_diagram(cj.systems.Lorenz63(), "rho", jnp.linspace(20, 200, 500),
                         transient=5000, keep=100, dt=0.01, section=cj.LocalMaxima(2))
    ```
    """
    _check_system(system)
    vals = _check_param(system, param, values)
    transient = v.nonnegative_int(transient, "transient")
    keep = v.positive_int(keep, "keep")
    dt = _check_dt_solver(system, dt, solver)
    x = _initial_state(system, x0, vals.shape[0])

    if isinstance(system, Map):
        if section is not None:
            raise ValueError(
                "`section` applies to flows only; a map's orbit diagram keeps "
                f"its iterates (got section={section!r})."
            )
        vals, x = _shard(vals, x, shard)
        pts, counts, times, finals, diverged = _map_diagram(system, param, vals, x, transient, keep)
        return OrbitDiagram(param, vals, pts, counts, times, finals, diverged)

    section = _check_section(section, system.dim)
    steps = 200 * keep if steps is None else v.positive_int(steps, "steps")
    vals, x = _shard(vals, x, shard)
    pts, counts, times, finals, diverged = _flow_diagram(
        system, param, vals, x, dt, solver, section, transient, keep, steps
    )
    out = OrbitDiagram(param, vals, pts, counts, times, finals, diverged)
    _check_crossings(out, section, steps, allow_empty)
    return out


def _batched_x0(x: Array) -> int | None:
    return 0 if x.ndim == 2 else None


@eqx.filter_jit
def _map_diagram(system, param, vals, x, transient, keep):
    def one(val, x0_):
        m = system.replace(**{param: val})
        y = _advance(m, x0_, transient)

        # Count the finite iterates inside the scan (no second pass over the points,
        # which would double the cost of a 10,000 x 1,000 diagram); iterates after a
        # divergence stay non-finite (inf or NaN).
        def body(carry, _):
            z, count, alive = carry
            z1 = m.step(z)
            alive = alive & jnp.all(jnp.isfinite(z1))
            return (z1, count + alive.astype(count.dtype), alive), z1

        init = (y, jnp.asarray(0), jnp.all(jnp.isfinite(y)))
        (y_end, count, _), pts = jax.lax.scan(body, init, None, length=keep)
        return pts, count, jnp.arange(1, keep + 1) * 1.0, y_end, count < keep

    return jax.vmap(one, in_axes=(0, _batched_x0(x)))(vals, x)


@eqx.filter_jit
def _flow_diagram(system, param, vals, x, dt, solver, section, transient, keep, steps):
    def one(val, x0_):
        m = _one_step_map(system.replace(**{param: val}), dt, solver)
        y = _advance(m, x0_, transient)
        pts, times, n, y_end, _, _ = _section_orbit(m, section, y, keep, steps)
        return pts, n, times, y_end, ~jnp.all(jnp.isfinite(y_end))

    return jax.vmap(one, in_axes=(0, _batched_x0(x)))(vals, x)


def _check_crossings(d: OrbitDiagram, section, steps: int, allow_empty: bool) -> None:
    counts = np.asarray(d.counts)
    empty = np.flatnonzero(counts == 0)
    if empty.size == 0 or (allow_empty and empty.size < counts.size):
        return
    vals = np.asarray(d.values).reshape(counts.size, -1)[:, 0]
    shown = ", ".join(f"{x:g}" for x in vals[empty[:5]]) + (" ..." if empty.size > 5 else "")
    fin = np.asarray(d.final_states)[empty[0]]
    raise ValueError(
        f"The orbit never crosses the section ({section.describe()}) within `steps` = "
        f"{steps} steps after the transient, at {d.param} = {shown} ({empty.size} of "
        f"{counts.size} values). The run ended at x = {np.array2string(fin, precision=4)}"
        f"{' (diverged)' if bool(np.asarray(d.diverged)[empty[0]]) else ''}: choose a section "
        "the attractor crosses (e.g. cj.LocalMaxima(i), or a hyperplane through the "
        "attractor), raise `steps`, or classify the run (an equilibrium has no crossings)."
    )


# =========================================================================== periods


def _return_distances(points: Array, count: Array, max_period: int) -> Array:
    """d_p = max_k |x_{k+p} - x_k|_inf over the stored points, p = 1..max_period;
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


def _period_from(points, count, max_period, tol):
    d = _return_distances(points, count, max_period)
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

    p is accepted when every return distance |x_{k+p} - x_k|_inf over the sequence is
    at most `tol * max(1, max|x|)` and the sequence holds at least two repetitions of p.
    For a map's iterates p is the period in iterations; for section points of a flow,
    the number of section crossings per period (1 for a simple limit cycle).

    **Arguments:** `points` (keep, dim) or batched (n, keep, dim), e.g.
    `OrbitDiagram.points`; NaN rows (padding) are ignored when `count` (number of valid
    leading rows) is given.

    **Returns:** `(period, return_distances)`, shapes (*batch,) and (*batch, max_period).

    Example: `p, d = cj.detect_period(cj.orbit_diagram(...).points)`.
    """
    max_period = v.positive_int(max_period, "max_period")
    tol = v.positive_float(tol, "tol")
    pts = jnp.asarray(points, dtype=jnp.result_type(float))
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
    per, d, _ = jax.jit(jax.vmap(lambda p, c: _period_from(p, c, max_period, tol)))(flat, cnt)
    return per.reshape(batch), d.reshape(batch + (max_period,))


class PeriodChange(eqx.Module):
    """Where the detected period changes: `value` (midpoint of the final bracket
    `lo`..`hi`), with `period_before` at lo and `period_after` at hi."""

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
    section: Section | None = None,
    max_period: int = 64,
    tol: float = 1e-6,
    points: int = 64,
    rounds: int = 3,
) -> PeriodChange:
    """The parameter value in [lo, hi] where the period detected on the orbit diagram
    first changes from its value at `lo`: multisection, `points` values per round (one
    `orbit_diagram` call each), `rounds` rounds, so the bracket shrinks by (points-1)^rounds.

    Near a period-doubling the approach to the attractor slows down (the multiplier
    tends to -1), so `transient` bounds the accuracy: the boundary is found early by
    about ln(1/tol)/(kappa * transient), kappa = d|multiplier|/d(param) per iteration.
    Use `stability_boundary` for the exact point once it is bracketed.

    Example: `locate_period_change(Logistic(), "r", 2.9, 3.1, [0.5], transient=10**6)`.
    """
    lo, hi = float(lo), float(hi)
    if not lo < hi:
        raise ValueError(f"`lo` must be below `hi`, got lo={lo}, hi={hi}.")
    points = v.positive_int(points, "points")
    if points < 3:
        raise ValueError(f"`points` must be at least 3, got {points}.")
    p_lo = p_hi = None
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
        if p_lo is None:
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


# =========================================================================== Newton


def _residual_fn(system: Flow | Map, period: int):
    if isinstance(system, Flow):
        return system.vector_field
    return lambda x: _advance(system, x, period) - x


@eqx.filter_jit
def _newton(system, guesses, period: int, max_iter: int, tol: float):
    g = _residual_fn(system, period)

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
def _jacobians(system, xs, period: int):
    if isinstance(system, Flow):
        return jax.vmap(system.jacobian)(xs)
    return jax.vmap(jax.jacfwd(lambda x: _advance(system, x, period)))(xs)


@eqx.filter_jit
def _cycles(system: Map, xs: Array, period: int) -> Array:
    """The orbits x, F(x), ..., F^{p-1}(x) of each row of xs: (m, p, dim)."""

    def one(x):
        def body(y, _):
            return system.step(y), y

        return jax.lax.scan(body, x, None, length=period)[1]

    return jax.vmap(one)(xs)


def _is_stable(system, eig: np.ndarray) -> np.ndarray:
    if isinstance(system, Flow):
        return np.max(eig.real, axis=-1) < 0
    return np.max(np.abs(eig), axis=-1) < 1


def _unique_rows(x: np.ndarray, tol: float) -> np.ndarray:
    keep: list[int] = []
    for i, row in enumerate(x):
        if all(np.max(np.abs(row - x[j])) > tol * (1 + np.max(np.abs(row))) for j in keep):
            keep.append(i)
    return np.asarray(keep, dtype=int)


class FixedPoints(eqx.Module):
    """Distinct equilibria (flows: f(x) = 0) or fixed points (maps: F(x) = x).

    `eigenvalues` are those of Df(x) (flows, per unit time) or the multipliers, the
    eigenvalues of DF(x) (maps); `stable` is max Re < 0 (flows) or max |mu| < 1 (maps).
    """

    points: Float[Array, "m dim"]
    eigenvalues: Complex[Array, "m dim"]
    stable: Bool[Array, " m"]
    residuals: Float[Array, " m"]


def _solve_points(system, guesses, period, tol, max_iter):
    _check_system(system)
    g = v.state(guesses, system.dim, "guesses")
    g = g[None] if g.ndim == 1 else g
    tol = v.positive_float(tol, "tol")
    max_iter = v.positive_int(max_iter, "max_iter")
    xs, res = _newton(system, g, period, max_iter, tol)
    xs, res = np.asarray(xs), np.asarray(res)
    scale = 1.0 + np.max(np.abs(np.where(np.isfinite(xs), xs, 0)), axis=-1)
    ok = np.isfinite(res) & (res <= 1e3 * tol * scale)
    return xs[ok], res[ok]


def fixed_points(
    system: Flow | Map,
    guesses: Float[ArrayLike, "*m dim"],
    *,
    tol: float = 1e-11,
    max_iter: int = 60,
) -> FixedPoints:
    """Equilibria of a flow (f(x) = 0) or fixed points of a map (F(x) = x) by Newton's
    method from each guess (vmapped, jitted, Jacobians by forward-mode autodiff), with
    duplicates and non-converged guesses removed, and their eigenvalues / multipliers.

    **Arguments:** `guesses` (dim,) or (m, dim); `tol` the residual tolerance relative to
    1 + |x|; `max_iter` Newton iterations.

    **Returns:** `FixedPoints` (points (k, dim), eigenvalues (k, dim) complex, stable).

    Example:
    ```python
    fp = cj.fixed_points(cj.systems.Lorenz63(rho=28.0), [[8, 8, 27], [-8, -8, 27], [0, 0, 0]])
    fp.eigenvalues   # C+, C- have a complex pair with positive real part at rho = 28
    ```
    """
    xs, res = _solve_points(system, guesses, 1, tol, max_iter)
    return _fixed_points_record(system, xs, res, tol)


def _fixed_points_record(system, xs, res, tol):
    idx = _unique_rows(xs, 1e4 * tol) if len(xs) else np.zeros(0, int)
    xs, res = xs[idx].reshape(-1, system.dim), res[idx]
    if len(xs):
        eig = np.linalg.eigvals(np.asarray(_jacobians(system, jnp.asarray(xs), 1)))
        eig = eig.astype(complex)
    else:
        eig = np.zeros((0, system.dim), complex)
    order = np.lexsort(xs.T[::-1]) if len(xs) else idx
    return FixedPoints(
        jnp.asarray(xs[order]),
        jnp.asarray(eig[order]),
        jnp.asarray(_is_stable(system, eig[order])),
        jnp.asarray(res[order]),
    )


class PeriodicOrbits(eqx.Module):
    """Distinct periodic orbits of a map: `points[i]` is the cycle (p, dim) starting at
    its lexicographically smallest point; `period[i]` the minimal period (a divisor of
    the requested p); `multipliers` the eigenvalues of DF^p; `stable` max |mu| < 1."""

    points: Float[Array, "m p dim"]
    period: Int[Array, " m"]
    multipliers: Complex[Array, "m dim"]
    stable: Bool[Array, " m"]


def periodic_orbits(
    system: Map,
    guesses: Float[ArrayLike, "*m dim"],
    period: int,
    *,
    tol: float = 1e-11,
    max_iter: int = 60,
    minimal: bool = True,
) -> PeriodicOrbits:
    """Periodic orbits of a map of period `period` by Newton's method on F^p(x) - x = 0
    from each guess, with multipliers (eigenvalues of DF^p) and stability.

    Points converging to the same cycle are merged; with `minimal=True` cycles whose
    minimal period is a proper divisor of `period` (e.g. fixed points) are dropped.

    **Returns:** `PeriodicOrbits` (points (m, p, dim)).

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
    xs, res = _solve_points(system, guesses, p, tol, max_iter)
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
        mult = np.linalg.eigvals(np.asarray(_jacobians(system, starts, p))).astype(complex)
    else:
        mult = np.zeros((0, system.dim), complex)
    pts = np.stack(cycles) if cycles else np.zeros((0, p, system.dim))
    return PeriodicOrbits(
        jnp.asarray(pts),
        jnp.asarray(np.asarray(periods, int)),
        jnp.asarray(mult),
        jnp.asarray(_is_stable(system, mult)),
    )


# =========================================================================== stability


class StabilityChange(eqx.Module):
    """A loss of stability of an equilibrium (flow) or period-p cycle (map) along a
    parameter: `value` where max Re(lambda) (flows) or max |mu| (maps) crosses 0 / 1,
    `kind` from the critical eigenvalue ("hopf", "fold", "period_doubling",
    "neimark_sacker"), `eigenvalues` and `point` at the crossing."""

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
    """Where the equilibrium (flow) or period-`period` cycle (map) through `guess`
    changes stability as `param` goes from `lo` to `hi`.

    The equilibrium/cycle is found by Newton at each trial value, continued from the
    nearest value already solved, and bisection runs on the sign of max Re(lambda)
    (flows) or max|mu| - 1 (maps) until the bracket is below `xtol` (relative). The
    critical eigenvalue names the bifurcation: a complex pair on the imaginary axis is a
    Hopf point; mu = -1 a period doubling; a real eigenvalue through 0 / mu = +1 is
    reported as "fold" (a saddle-node, or a transcritical / pitchfork point when the
    family has that structure, e.g. Lorenz63's origin at rho = 1); a complex pair of
    multipliers on the unit circle a Neimark-Sacker point.

    Example (Lorenz63's C+ loses stability at the Hopf point rho_H = 24.7368):
    ```python
    lor = cj.systems.Lorenz63()
    h = cj.stability_boundary(lor, "rho", 20.0, 30.0, jnp.array([8.0, 8.0, 24.0]))
    ```
    """
    _check_system(system)
    _check_param(system, param, lo)
    p = v.positive_int(period, "period")
    if isinstance(system, Flow) and p != 1:
        raise ValueError(f"`period` applies to maps; got period={p} for a flow.")
    x = np.asarray(v.state(guess, system.dim, "guess", batch=False))
    solved: dict[float, np.ndarray] = {}

    def evaluate(val: float):
        near = min(solved, key=lambda s: abs(s - val)) if solved else None
        g = solved[near] if near is not None else x
        s = system.replace(**{param: val})
        xs, res = _newton(s, jnp.asarray(g)[None], p, 60, tol)
        xs, res = np.asarray(xs)[0], float(np.asarray(res)[0])
        if not np.isfinite(res) or res > 1e3 * tol * (1 + np.max(np.abs(xs))):
            raise ValueError(
                f"Newton did not converge to the {'equilibrium' if p == 1 else f'period-{p} cycle'}"
                f" at {param} = {val:g} (residual {res:.2e}); give a closer `guess` or "
                "a narrower bracket."
            )
        solved[val] = xs
        eig = np.linalg.eigvals(np.asarray(_jacobians(s, jnp.asarray(xs)[None], p))[0])
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


# =========================================================================== exponents


def lyapunov_sweep(
    system: Flow | Map,
    param: str,
    values: Float[ArrayLike, "n ..."],
    x0: Float[ArrayLike, "*n dim"] | None = None,
    *,
    steps: int,
    transient: int = 0,
    dt: float | None = None,
    solver: str = "rk4",
    k: int = 1,
    shard: bool = True,
) -> Float[Array, "n k"]:
    """The `k` leading Lyapunov exponents for every value of `param` (the panel under an
    orbit diagram), in one compiled `vmap` sharded over the devices.

    Each run discards `transient` steps, then averages the tangent growth over `steps`
    steps (`cj.lyapunov.spectrum_on_map`: Benettin et al. 1980). Per unit time for
    flows, per iteration for maps. Non-finite rows mark runs that diverged.

    Example:
    ```python
    lam = cj.bifurcation.lyapunov_sweep(cj.systems.Logistic(), "r",
                                        jnp.linspace(2.8, 4, 500), [0.5], steps=2000)
    ```
    """
    _check_system(system)
    vals = _check_param(system, param, values)
    steps = v.positive_int(steps, "steps")
    transient = v.nonnegative_int(transient, "transient")
    dt = _check_dt_solver(system, dt, solver)
    k = v.positive_int(k, "k")
    if k > system.dim:
        raise ValueError(f"`k` must be at most dim = {system.dim}, got {k}.")
    x = _initial_state(system, x0, vals.shape[0])
    vals, x = _shard(vals, x, shard)
    return _lyapunov_batch(system, param, vals, x, dt, solver, steps, transient, k)


@eqx.filter_jit
def _lyapunov_batch(system, param, vals, x, dt, solver, steps, transient, k):
    def one(val, x0_):
        m = _one_step_map(system.replace(**{param: val}), dt, solver)
        res = spectrum_on_map(m, x0_, steps=steps, transient=transient, k=k)
        ok = (res.diverged_at < 0) & jnp.all(jnp.isfinite(res.final_state))
        return jnp.where(ok, res.exponents, jnp.nan)

    return jax.vmap(one, in_axes=(0, _batched_x0(x)))(vals, x)


# =========================================================================== classification


class Classification(eqx.Module):
    """The omega-limit set of one orbit (or a batch, over a parameter sweep), with the
    evidence behind its label.

    - `code`: index into `cj.bifurcation.LABELS` (`label` / `labels` give the names):
      fixed_point, periodic, quasi_periodic, chaotic, divergent, unresolved.
    - `period`: detected period (iterations for maps, section crossings per period for
      flows); 0 when none up to `max_period`.
    - `period_time`: for flows, the time of one period (mean over the stored crossings);
      for maps, `period` iterations. NaN when not periodic.
    - `return_distances` (max_period,): max_k |x_{k+p} - x_k| for each p, and
      `threshold`, the tolerance they were compared with.
    - `exponents` (k,): leading Lyapunov exponents (per unit time / per iteration).
    - `amplitude` (dim,): max - min of each coordinate over the sampled orbit.
    - `crossings`: number of section points stored (flows), `final_state`.
    """

    code: Int[Array, "*n"]
    period: Int[Array, "*n"]
    period_time: Float[Array, "*n"]
    return_distances: Float[Array, "*n max_period"]
    threshold: Float[Array, "*n"]
    exponents: Float[Array, "*n k"]
    amplitude: Float[Array, "*n dim"]
    crossings: Int[Array, "*n"]
    final_state: Float[Array, "*n dim"]

    @property
    def label(self) -> str:
        """The label of a single classification."""
        if jnp.ndim(self.code) != 0:
            raise ValueError("a batched Classification has `labels`, not one `label`.")
        return LABELS[int(self.code)]

    @property
    def labels(self) -> list[str]:
        return [LABELS[int(c)] for c in np.asarray(self.code).reshape(-1)]

    def counts(self) -> dict[str, int]:
        """How many runs carry each label."""
        out = {name: 0 for name in LABELS}
        for name in self.labels:
            out[name] += 1
        return {k: n for k, n in out.items() if n}


def _classify_core(
    m: Map,
    x: Array,
    *,
    is_flow: bool,
    section,
    transient: int,
    keep: int,
    steps: int,
    lyap_steps: int,
    k: int,
    max_period: int,
    tol: float,
    lyap_tol: float,
    bound: float,
):
    dim = x.shape[-1]
    y = _advance(m, x, transient)
    if is_flow:
        pts, times, n, y_end, lohi, _ = _section_orbit(m, section, y, keep, steps)
        amplitude = lohi[1] - lohi[0]
    else:
        pts, y_end = _map_orbit(m, y, keep)
        n = jnp.asarray(keep)
        times = jnp.arange(1.0, keep + 1.0)
        ok = jnp.isfinite(pts)
        amplitude = jnp.max(jnp.where(ok, pts, -jnp.inf), 0) - jnp.min(
            jnp.where(ok, pts, jnp.inf), 0
        )
    period, d, thr = _period_from(pts, n, max_period, tol)
    lyap = spectrum_on_map(m, y_end, steps=lyap_steps, k=k)
    exps, y_lyap = lyap.exponents, lyap.final_state
    finite = (
        jnp.all(jnp.isfinite(y_end)) & jnp.all(jnp.isfinite(y_lyap)) & jnp.all(jnp.isfinite(exps))
    )
    big = (jnp.max(jnp.abs(y_end)) > bound) | (jnp.max(jnp.abs(y_lyap)) > bound)
    divergent = ~finite | big
    scale = jnp.maximum(1.0, jnp.max(jnp.abs(y_end)))
    lam1 = exps[0]
    lam2 = exps[1] if k > 1 else jnp.asarray(-jnp.inf)
    if is_flow:
        still = jnp.max(amplitude) <= tol * scale
        # Every attractor of a flow but an equilibrium has a zero exponent (the flow
        # direction): a clearly negative lambda_1 means an equilibrium, even while a
        # damped spiral still crosses the section; a cycle needs lambda_1 ~ 0.
        fixed = still | (lam1 < -lyap_tol)
        periodic = (period >= 1) & ~still & (jnp.abs(lam1) <= lyap_tol)
        t_per = jnp.where(
            period >= 1,
            (jnp.take(times, jnp.minimum(n - 1, keep - 1)) - times[0])
            / jnp.maximum(n - 1, 1)
            * period,
            jnp.nan,
        )
        quasi = (jnp.abs(lam1) <= lyap_tol) & (jnp.abs(lam2) <= lyap_tol) & (dim >= 3)
    else:
        fixed = period == 1
        periodic = period >= 2
        t_per = jnp.where(period >= 1, period * 1.0, jnp.nan)
        quasi = jnp.abs(lam1) <= lyap_tol
    chaotic = lam1 > lyap_tol
    code = jnp.where(
        divergent, _DIV,
        jnp.where(fixed & (lam1 <= lyap_tol), _FP,
                  jnp.where(periodic & (lam1 <= lyap_tol), _PER,
                            jnp.where(fixed | (period >= 1), _UNR,
                                      jnp.where(chaotic, _CH, jnp.where(quasi, _QP, _UNR))))),
    )  # fmt: skip
    return Classification(
        code=code,
        period=jnp.where(code == _PER, period, jnp.where(code == _FP, 1, 0)),
        period_time=jnp.where(code == _PER, t_per, jnp.nan),
        return_distances=d,
        threshold=thr,
        exponents=exps,
        amplitude=amplitude,
        crossings=n,
        final_state=y_end,
    )


def _default_tolerances(system, tol, lyap_tol):
    """Maps: cycles repeat to rounding, so 1e-6; flows: section points of a limit cycle of
    the discretised flow scatter by the solver's error (~1e-5..1e-3 relative for RK4 at
    dt = 0.01 on Lorenz63), so 1e-4. Exponents: a finite-time estimate of a zero
    exponent over 1e4 steps is within ~1e-2 (flows) / ~1e-3 (maps)."""
    is_flow = isinstance(system, Flow)
    tol = (1e-4 if is_flow else 1e-6) if tol is None else tol
    lyap_tol = (2e-2 if is_flow else 5e-3) if lyap_tol is None else lyap_tol
    return tol, lyap_tol


def _classify_options(
    system,
    dt,
    solver,
    section,
    transient,
    keep,
    steps,
    lyap_steps,
    exponents,
    max_period,
    tol,
    lyap_tol,
    bound,
):
    _check_system(system)
    dt = _check_dt_solver(system, dt, solver)
    tol, lyap_tol = _default_tolerances(system, tol, lyap_tol)
    is_flow = isinstance(system, Flow)
    keep = v.positive_int(keep, "keep")
    max_period = v.positive_int(max_period, "max_period")
    if 2 * max_period > keep:
        raise ValueError(f"`keep` ({keep}) must be at least 2 * max_period ({2 * max_period}).")
    k = (
        min(system.dim, 2 if is_flow else 1)
        if exponents is None
        else v.positive_int(exponents, "exponents")
    )
    if k > system.dim:
        raise ValueError(f"`exponents` must be at most dim = {system.dim}, got {k}.")
    opts = dict(
        is_flow=is_flow,
        section=_check_section(section, system.dim) if is_flow else None,
        transient=v.nonnegative_int(transient, "transient"),
        keep=keep,
        steps=(200 * keep if steps is None else v.positive_int(steps, "steps")),
        lyap_steps=v.positive_int(lyap_steps, "lyap_steps"),
        k=k,
        max_period=max_period,
        tol=v.positive_float(tol, "tol"),
        lyap_tol=v.positive_float(lyap_tol, "lyap_tol"),
        bound=v.positive_float(bound, "bound"),
    )
    return dt, opts


def classify_attractor(
    system: Flow | Map,
    x0: Float[ArrayLike, " dim"] | None = None,
    *,
    dt: float | None = None,
    solver: str = "rk4",
    section: Section | None = None,
    transient: int = 10_000,
    keep: int = 256,
    steps: int | None = None,
    lyap_steps: int = 10_000,
    exponents: int | None = None,
    max_period: int = 64,
    tol: float | None = None,
    lyap_tol: float | None = None,
    bound: float = 1e8,
) -> Classification:
    """Classify the omega-limit set reached from `x0`: fixed point, periodic orbit (with
    its period), quasi-periodic, chaotic, divergent, or unresolved, with the evidence.

    After `transient` steps, `keep` points of the omega-limit set are sampled (map
    iterates, or for flows the crossings of `section`, default `LocalMaxima(0)`, within
    `steps` steps), their return distances give the period (tolerance `tol` relative to
    max(1, |x|); default 1e-6 for maps, 1e-4 for flows), and the leading `exponents`
    Lyapunov exponents (default 1 for maps, 2 for flows) are computed over `lyap_steps`
    further steps. Decision:

    - divergent: the state became non-finite or left |x| <= `bound`;
    - fixed point: period 1 (maps) or no motion (flows) and lambda_1 <= lyap_tol;
    - periodic: a period p (>= 2 for maps, >= 1 section crossings for flows) and
      lambda_1 <= lyap_tol (zero for a flow's limit cycle, negative for a map's cycle);
    - chaotic: no period and lambda_1 > lyap_tol;
    - quasi-periodic: no period and |lambda_1| <= lyap_tol (flows: lambda_2 too);
    - unresolved otherwise (e.g. a period longer than `max_period`, a transient that
      has not decayed, or a period with a positive exponent): read the evidence.

    `lyap_tol` defaults to 5e-3 per iteration (maps) or 2e-2 per unit time (flows).

    Example:
    ```python
    c = cj.classify_attractor(cj.systems.Logistic(r=3.5), jnp.array([0.5]))
    c.label, int(c.period)   # ('periodic', 4)
    ```
    """
    dt, opts = _classify_options(
        system,
        dt,
        solver,
        section,
        transient,
        keep,
        steps,
        lyap_steps,
        exponents,
        max_period,
        tol,
        lyap_tol,
        bound,
    )
    x = _initial_state(system, x0)
    return _classify_one(system, x, dt, solver, opts)


@eqx.filter_jit
def _classify_one(system, x, dt, solver, opts):
    return _classify_core(_one_step_map(system, dt, solver), x, **opts)


@eqx.filter_jit
def _classify_batch(system, param, vals, x, dt, solver, opts):
    def one(val, x0_):
        m = _one_step_map(system.replace(**{param: val}), dt, solver)
        return _classify_core(m, x0_, **opts)

    return jax.vmap(one, in_axes=(0, _batched_x0(x)))(vals, x)


def classify_sweep(
    system: Flow | Map,
    param: str,
    values: Float[ArrayLike, "n ..."],
    x0: Float[ArrayLike, "*n dim"] | None = None,
    *,
    dt: float | None = None,
    solver: str = "rk4",
    section: Section | None = None,
    transient: int = 10_000,
    keep: int = 256,
    steps: int | None = None,
    lyap_steps: int = 10_000,
    exponents: int | None = None,
    max_period: int = 64,
    tol: float | None = None,
    lyap_tol: float | None = None,
    bound: float = 1e8,
    shard: bool = True,
) -> Classification:
    """`classify_attractor` for every value of `param` in one compiled, sharded `vmap`.

    **Returns:** a batched `Classification` (leading axis n); `.labels`, `.counts()`.

    Example:
    ```python
    c = cj.classify_sweep(cj.systems.Logistic(), "r", jnp.linspace(2.5, 4, 301), [0.5])
    c.counts()
    ```
    """
    dt, opts = _classify_options(
        system,
        dt,
        solver,
        section,
        transient,
        keep,
        steps,
        lyap_steps,
        exponents,
        max_period,
        tol,
        lyap_tol,
        bound,
    )
    vals = _check_param(system, param, values)
    x = _initial_state(system, x0, vals.shape[0])
    vals, x = _shard(vals, x, shard)
    return _classify_batch(system, param, vals, x, dt, solver, opts)


def feigenbaum_ratios(points: Sequence[float]) -> np.ndarray:
    """delta_n = (r_n - r_{n-1}) / (r_{n+1} - r_n) from successive period-doubling points;
    tends to Feigenbaum's 4.669201... (Feigenbaum 1978, J. Stat. Phys. 19, 25)."""
    r = np.asarray(points, float)
    if r.ndim != 1 or r.size < 3:
        raise ValueError(f"`points` must hold at least 3 values, got {points!r}.")
    return (r[1:-1] - r[:-2]) / (r[2:] - r[1:-1])
