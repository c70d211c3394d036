"""The time-`dt` map of a flow: `AbstractDiscretizedFlow` and its solver-based `Discretized`."""

from __future__ import annotations

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from .. import solvers
from .._validate import one_of, positive_float
from ..systems import Flow, Map


class AbstractDiscretizedFlow(Map):
    """A flow advanced by a fixed time `dt` per step: a `Map` whose `time_per_step` is `dt`,
    so exponents computed on it are per unit time.

    Subclasses implement `advance(x, tau)` for any 0 <= tau <= dt; `step` is
    `advance(x, dt)`. Partial steps locate Poincare-section crossings inside a step.
    The subclasses are `Discretized` (a solver) and `EventDiscretized` (a
    piecewise-smooth flow with its switchings located).

    Example:

    ```python
    m = cj.discretize(cj.systems.Lorenz63(), dt=0.01)
    isinstance(m, cj.AbstractDiscretizedFlow)          # True
    m.advance(m.default_state(), 0.004)                # a partial step
    ```
    """

    flow: eqx.AbstractVar[Flow]
    dt: eqx.AbstractVar[float]

    @abc.abstractmethod
    def advance(self, x: Float[Array, " dim"], tau) -> Float[Array, " dim"]:
        """`x` advanced by time `tau` (0 <= tau <= dt, may be traced) by this map's
        integrator, so that `advance(x, dt)` is `step(x)`."""

    def step(self, x: Float[Array, " dim"]) -> Float[Array, " dim"]:
        """`advance(x, dt)`: the state one step later."""
        return self.advance(x, self.dt)

    @property
    def time_per_step(self) -> float:
        """`dt`: exponents on this map are per unit time."""
        return self.dt

    @property
    def dim(self) -> int:
        return self.flow.dim

    def default_state(self) -> Float[Array, " dim"]:
        return self.flow.default_state()

    def sample_state(self, key: PRNGKeyArray, n: int) -> Float[Array, "n dim"]:
        return self.flow.sample_state(key, n)


class Discretized(AbstractDiscretizedFlow):
    """The time-`dt` map of a flow under a solver: a fixed-step one ("euler", "rk4"), or
    an adaptive diffrax solver ("tsit5", "dopri5", "dopri8") run to `rtol`/`atol`
    within each step. Built by `cj.discretize` (which checks the arguments).

    **Arguments:**

    - `flow`: the `cj.Flow`.
    - `dt`: the time per step (static).
    - `solver`: the solver's name, default "rk4".
    - `rtol`, `atol`: tolerances of an adaptive solver, default 1e-9.

    Example:

    ```python
    m = cj.discretize(cj.systems.Lorenz63(), dt=0.01, solver="dopri5")
    m.adaptive                                          # True
    ```
    """

    flow: Flow
    dt: float = eqx.field(static=True)
    solver: str = eqx.field(default="rk4", static=True)
    rtol: float = eqx.field(default=1e-9, static=True)
    atol: float = eqx.field(default=1e-9, static=True)

    def advance(self, x: Float[Array, " dim"], tau) -> Float[Array, " dim"]:
        # Adaptive solvers need a non-empty interval: tau = 0 is taken as 1e-300.
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

    @property
    def adaptive(self) -> bool:
        """Whether the solver is adaptive (its tangent map then needs the variational
        equations, since diffrax's adjoint is reverse-mode only)."""
        return self.solver in solvers.ADAPTIVE


def discretize(
    flow: Flow, dt: float, solver: str = "rk4", *, rtol: float = 1e-9, atol: float = 1e-9
) -> Discretized:
    """The one-step map of `flow` over a time `dt` with `solver`.

    **Arguments:**

    - `flow`: a `cj.Flow`.
    - `dt`: the time per step, > 0, in the flow's time units.
    - `solver`: "euler", "rk4" (fixed step; the default) or "tsit5", "dopri5", "dopri8"
      (adaptive within each step, to `rtol`/`atol`, default 1e-9).

    **Returns:**

    A `Discretized` map with `time_per_step == dt`.

    Example:

    ```python
    m = cj.discretize(cj.systems.Lorenz63(), dt=0.01)
    x1 = m.step(m.default_state())
    ```
    """
    if not isinstance(flow, Flow):
        raise ValueError(f"`flow` must be a cj.Flow, got {type(flow).__name__}.")
    if flow.time_dependent:
        raise ValueError(
            f"{type(flow).__name__} depends on time (vector_field(t, x)): discretise "
            "cj.systems.Autonomised(flow), whose state is (x, t), or use "
            "cj.StroboscopicMap(flow, period)."
        )
    dt = positive_float(dt, "dt")
    one_of(solver, "solver", solvers.all_solvers())
    positive_float(rtol, "rtol")
    positive_float(atol, "atol")
    return _discretized(flow, dt, solver, rtol, atol)


_structures: dict = {}


def _discretized(flow: Flow, dt: float, solver: str, rtol: float, atol: float) -> Discretized:
    """`Discretized(flow=flow, ...)`; after the first of a flow's structure (its type and
    static fields) and these settings, rebuilt from the cached tree structure with this
    flow's own parameter leaves (what `jit` does with a module), without re-running the
    constructor's checks, which depend on the structure alone."""
    leaves, flow_def = jax.tree.flatten(flow)
    key = (flow_def, dt, solver, rtol, atol)
    try:
        treedef = _structures.get(key)
    except TypeError:  # an unhashable static field
        return Discretized(flow=flow, dt=dt, solver=solver, rtol=rtol, atol=atol)
    if treedef is None:
        m = Discretized(flow=flow, dt=dt, solver=solver, rtol=rtol, atol=atol)
        if len(_structures) >= 256:
            _structures.clear()
        _structures[key] = jax.tree.structure(m)
        return m
    return jax.tree.unflatten(treedef, leaves)
