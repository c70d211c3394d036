"""Orbit (bifurcation) diagrams: points of the omega-limit set at every value of a
parameter (May 1976, Nature 261, 459-467, https://doi.org/10.1038/261459a0; Feigenbaum
1978, J. Stat. Phys. 19, 25-52, https://doi.org/10.1007/BF01020332).

For a map, the iterates after a transient; for a flow, the crossings of a Poincare
section (`sections.py`), each located inside its step. All parameter values run in one
compiled `vmap` (`_common.over_values`), its batch axis sharded over `jax.devices()`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Bool, Float, Int

from .. import _validate as v
from .. import native
from .._results import Dims, Result
from ..simulate._kernels import store_reference
from ..systems import Flow, Map
from ._common import (
    check_param,
    checked_dt,
    initial_states,
    iterate,
    over_values,
    shard_sweep,
)
from .sections import AbstractSection, check_section, section_crossings

if TYPE_CHECKING:
    import xarray as xr


class OrbitDiagram(Result):
    """Points of the omega-limit set for each parameter value (what `orbit_diagram`
    returns).

    **Attributes:**

    - `param`: the name of the parameter swept.
    - `values`: (n,), or (n, *shape) for a vector parameter, its values.
    - `points`: (n, keep, dim); `points[i, j]` is the j-th kept iterate (maps) or section
      crossing (flows) at `values[i]`. Beyond `counts[i]` the entries are NaN (flows) or
      the non-finite iterates of a diverged map (inf or NaN).
    - `counts`: (n,), the number of finite points stored per value.
    - `times`: (n, keep), the iteration index (maps) or the time since the end of the
      transient (flows, time units) of each point. A map's (every row 1, ..., keep) is
      made when read, not stored: `OrbitDiagram(..., times=None, ...)`.
    - `final_states`: (n, dim), the state at the end of each run.
    - `diverged`: (n,), runs that became non-finite.

    Example:

    ```python
    d = cj.orbit_diagram(cj.systems.Logistic(), "r", jnp.linspace(2.8, 4, 200),
                         jnp.array([0.5]), transient=500, keep=50)
    r, x = d.scatter()       # flat pairs for plt.scatter(r, x, s=0.1)
    ```
    """

    param: str = eqx.field(static=True)
    values: Float[Array, "n ..."]
    points: Float[Array, "n keep dim"]
    counts: Int[Array, " n"]
    # None for a map: its iteration numbers, made on access (`times`).
    _times: Float[Array, "n keep"] | None
    final_states: Float[Array, "n dim"]
    diverged: Bool[Array, " n"]

    def __init__(
        self,
        param: str,
        values: Float[Array, "n ..."],
        points: Float[Array, "n keep dim"],
        counts: Int[Array, " n"],
        times: Float[Array, "n keep"] | None,
        final_states: Float[Array, "n dim"],
        diverged: Bool[Array, " n"],
    ):
        self.param = param
        self.values = values
        self.points = points
        self.counts = counts
        self._times = times
        self.final_states = final_states
        self.diverged = diverged

    @property
    def times(self) -> Float[Array, "n keep"]:
        """(n, keep): the iteration index (maps) or the time since the end of the
        transient (flows) of each point."""
        if self._times is not None:
            return self._times
        return jnp.broadcast_to(_iota(self.points.shape[-2]), self.points.shape[:-1])

    def _items(self) -> list[tuple[str, Any]]:
        # (printed and exported with concrete values only) A map's iteration numbers as a
        # NumPy broadcast view: nothing of size (n, keep) is written.
        shape = self.points.shape[:-1]
        return [
            ("times", np.broadcast_to(np.asarray(_iota(shape[-1])), shape))
            if name == "_times" and value is None
            else ("times" if name == "_times" else name, value)
            for name, value in super()._items()
        ]

    def _sweep_dim(self) -> str:
        """The Dataset's name for the swept axis: the parameter's own name."""
        fields = {"values", "points", "counts", "times", "final_states", "diverged", "param"}
        return "value" if self.param in fields else self.param

    def _xarray_dims_of(self) -> dict[str, Dims]:
        p = self._sweep_dim()
        return {
            "values": (p, ...),
            "points": (p, "kept", "variable"),
            "counts": (p,),
            "times": (p, "kept"),
            "final_states": (p, "variable"),
            "diverged": (p,),
        }

    def _xarray_finish(self, ds: xr.Dataset) -> xr.Dataset:
        if self.values.ndim == 1:
            ds = ds.assign_coords({self._sweep_dim(): np.asarray(self.values)})
        return ds

    def scatter(self, coordinate: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Flat (parameter value, point coordinate) pairs for a scatter plot, NaNs dropped.

        **Arguments:**

        - `coordinate`: which coordinate of the points to return (default 0).

        **Returns:**

        Two NumPy arrays of the same length: the parameter value (its first entry, for a
        vector parameter) and the coordinate of each finite point.
        """
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
    section: AbstractSection | None = None,
    steps: int | None = None,
    shard: bool = True,
    allow_empty: bool = True,
) -> OrbitDiagram:
    """The orbit (bifurcation) diagram of `system` as `param` runs over `values`.

    For a map, `transient` iterations are discarded and the next `keep` iterates stored
    (May 1976). For a flow, `transient` steps of `dt` are discarded, then the orbit is
    followed for at most `steps` steps until `keep` crossings of `section`, each located
    inside its step by the Illinois method on the solver's partial step (see
    `cj.bifurcation.sections`). All values run in one compiled `vmap`, its batch axis
    sharded over `jax.devices()`.

    Raises `ValueError` for a parameter the system does not have, and when no run crosses
    the section at all (the message names the section). Runs that end on an equilibrium
    have `counts == 0` and their `final_states` hold it.

    **Arguments:**

    - `system`: a `cj.Map`, or a `cj.Flow` (then `dt` is required).
    - `param`: the name of a numeric parameter of `system`.
    - `values`: (n,) values of `param` (or (n, *shape) for a vector parameter).
    - `x0`: (dim,) initial state for every value, or (n, dim) one per value; default
      `system.default_state()`.
    - `transient`: steps (iterations for a map) discarded first.
    - `keep`: the number of points stored per value.
    - `dt`: the time per step of a flow (time units); None for a map.
    - `solver`: the solver of a flow, as in `cj.as_map` (default "rk4"); "event" for a
      `cj.systems.PiecewiseSmoothFlow`.
    - `section`: flows only: a `cj.Hyperplane`, `cj.LocalMaxima(i)` or
      `cj.LocalMinima(i)`; default `cj.LocalMaxima(0)`.
    - `steps`: flows only: the most steps taken after the transient; default 200 * keep.
    - `shard`: split the parameter axis over `jax.devices()` (default True).
    - `allow_empty`: when False, a run without crossings raises even when others have
      some (default True).

    **Returns:**

    An `OrbitDiagram` with `points` of shape (n, keep, dim).

    Example:

    ```python
    d = cj.orbit_diagram(cj.systems.Logistic(), "r", jnp.linspace(2.8, 4, 1000),
                         jnp.array([0.5]), transient=1000, keep=200)
    d = cj.orbit_diagram(cj.systems.Lorenz63(), "rho", jnp.linspace(20, 200, 500),
                         transient=5000, keep=100, dt=0.01, section=cj.LocalMaxima(2))
    ```
    """
    dt = checked_dt(system, dt, solver)
    vals = check_param(system, param, values)
    transient = v.step_count(transient, "transient", positive=False)
    keep = v.step_count(keep, "keep", total=transient)
    v.output_fits(
        vals.shape[0] * keep * (system.dim + 1) * 8,
        "keep",
        f"{vals.shape[0]} values x {keep} points of dimension {system.dim}",
        "keep fewer points per value, or sweep fewer values at a time",
    )
    x = initial_states(system, x0, vals.shape[0])

    if isinstance(system, Map):
        if section is not None:
            raise ValueError(
                "`section` applies to flows only; a map's orbit diagram keeps "
                f"its iterates (got section={section!r})."
            )
        vals, x = shard_sweep(vals, x, shard)
        pts, counts, _, finals, diverged = _map_diagram(
            system, param, vals, x, dt, solver, transient, keep, native.enabled()
        )
        return OrbitDiagram(param, vals, pts, counts, None, finals, diverged)

    section = check_section(section, system.dim)
    steps = 200 * keep if steps is None else v.step_count(steps, "steps", total=transient)
    vals, x = shard_sweep(vals, x, shard)
    pts, counts, times, finals, diverged = _flow_diagram(
        system, param, vals, x, dt, solver, section, transient, keep, steps
    )
    out = OrbitDiagram(param, vals, pts, counts, times, finals, diverged)
    _check_crossings(out, section, steps, allow_empty)
    return out


def _iota(keep: int) -> Array:
    """The iteration numbers 1, ..., keep of a map's kept points."""
    return jnp.arange(1, keep + 1, dtype=jnp.result_type(float))


@eqx.filter_jit
def _map_diagram(system, param, vals, x, dt, solver, transient, keep, cgen=True):
    def one(m, x0):
        # Generated C (a custom call; a vmapped parameter runs one kernel reading one
        # parameter vector per member), or XLA below. `cgen` (static) keys the compiled
        # sweep by `CHAOSJAX_CGEN`, so that turning generated C off is never overruled
        # by a sweep compiled before.
        got = None
        if cgen:
            got = native.store(m, x0, transient, keep, 1, with_start=False, xla=store_reference)
        if got is not None:
            y_end, pts, count = got
            assert count is not None  # (an unchecked run returns all three)
            count = count.astype(jnp.asarray(0).dtype)
            return pts, count, None, y_end, count < keep
        y = iterate(m, x0, transient)

        # The finite iterates are counted inside the scan: a second pass would read every
        # stored point again. Iterates after a divergence stay non-finite (inf or NaN).
        def body(carry, _):
            z, count, alive = carry
            z1 = m.step(z)
            alive = alive & jnp.all(jnp.isfinite(z1))
            return (z1, count + alive.astype(count.dtype), alive), z1

        init = (y, jnp.asarray(0), jnp.all(jnp.isfinite(y)))
        (y_end, count, _), pts = jax.lax.scan(body, init, None, length=keep)
        return pts, count, None, y_end, count < keep

    return over_values(one, system, param, vals, x, dt, solver)


@eqx.filter_jit
def _flow_diagram(system, param, vals, x, dt, solver, section, transient, keep, steps):
    def one(m, x0):
        y = iterate(m, x0, transient)
        c = section_crossings(m, section, y, keep, steps)
        return c.points, c.count, c.times, c.final_state, ~jnp.all(jnp.isfinite(c.final_state))

    return over_values(one, system, param, vals, x, dt, solver)


def _check_crossings(d: OrbitDiagram, section: AbstractSection, steps: int, allow_empty: bool):
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
