"""Flow + solver + dt -> Map: the hinge of the design (DESIGN.md).

Every algorithm in chaosjax runs on a one-step map x_{k+1} = step(x_k) with a known
time per step. `discretize` turns a flow into such a map, so Lyapunov spectra,
sensitivities and orbit diagrams are written once, against maps.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float

from . import solvers
from ._validate import one_of, positive_float
from .systems import Flow, Map


class Discretized(Map):
    """The time-`dt` map of a flow under a solver: `step(x)` advances `x` by `dt`.

    `time_per_step == dt`, so exponents computed on it are per unit time.
    """

    flow: Flow
    dt: float = eqx.field(static=True)
    solver: str = eqx.field(default="rk4", static=True)
    rtol: float = eqx.field(default=1e-9, static=True)
    atol: float = eqx.field(default=1e-9, static=True)

    @property
    def time_per_step(self) -> float:  # type: ignore[override]
        return self.dt

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"{self.flow.name}[{self.solver}, dt={self.dt:g}]"

    @property
    def dim(self) -> int:  # type: ignore[override]
        return self.flow.dim

    def step(self, x: Float[Array, " dim"]) -> Float[Array, " dim"]:
        return self.advance(x, self.dt)

    def advance(self, x: Float[Array, " dim"], tau) -> Float[Array, " dim"]:
        """x advanced by time tau (0 <= tau <= dt, may be traced) with this map's solver,
        so advance(x, dt) is step(x); for adaptive solvers tau = 0 is taken as 1e-300
        (their interval must not be empty)."""
        if self.solver in solvers.FIXED_STEP:
            return solvers.FIXED_STEP[self.solver](self.flow.vector_field, x, tau)
        return solvers.adaptive_step(
            self.flow,
            x,
            jnp.maximum(tau, 1e-300),
            solver=self.solver,
            rtol=self.rtol,
            atol=self.atol,
        )

    def default_state(self) -> Float[Array, " dim"]:
        return self.flow.default_state()

    def sample_state(self, key, n):
        return self.flow.sample_state(key, n)


def discretize(
    flow: Flow, dt: float, solver: str = "rk4", *, rtol: float = 1e-9, atol: float = 1e-9
) -> Discretized:
    """The one-step map of `flow` over a time `dt` with `solver`.

    **Arguments:** `flow` a `cj.Flow`; `dt` > 0 the time per step; `solver` one of
    "euler", "rk4" (fixed step) or "tsit5", "dopri5", "dopri8" (adaptive within each
    step, with `rtol`/`atol`).

    **Returns:** a `Map` with `time_per_step == dt`.

    Example: `m = cj.discretize(cj.systems.Lorenz63(), dt=0.01); m.step(x)`.
    """
    if not isinstance(flow, Flow):
        raise ValueError(f"`flow` must be a cj.Flow, got {type(flow).__name__}.")
    dt = positive_float(dt, "dt")
    one_of(solver, "solver", solvers.all_solvers())
    return Discretized(flow=flow, dt=dt, solver=solver, rtol=rtol, atol=atol)


def as_map(system: Flow | Map, dt: float | None = None, solver: str = "rk4") -> Map:
    """`system` itself if it is a Map (then `dt` must be None), else `discretize(system, dt)`.

    The entry point of every algorithm written against the one-step map.

    Example: `cj.as_map(cj.systems.Henon())` is the Henon map itself;
    `cj.as_map(cj.systems.Lorenz63(), dt=0.01).time_per_step == 0.01`.
    """
    if isinstance(system, Map):
        if dt is not None:
            raise ValueError(
                f"`dt` must be None for a map ({type(system).__name__} steps in iterations), "
                f"got dt={dt!r}."
            )
        return system
    if isinstance(system, Flow):
        if dt is None:
            raise ValueError(f"`dt` is required for a flow ({type(system).__name__}); got None.")
        return discretize(system, dt, solver)
    raise ValueError(f"`system` must be a cj.Flow or cj.Map, got {type(system).__name__}.")
