"""The Poincare map of a flow: from one crossing of a section to the next."""

# No `from __future__ import annotations`: equinox reads field types at class creation.
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from .. import solvers
from .._roots import illinois
from ..discretize import Discretized
from ..discretize.stroboscopic import _optional_float
from ..systems import Flow, Map
from ..systems.forced import forward_replace
from .sections import AbstractSection, check_section, crossed


@eqx.filter_jit
def _crossing(pmap: "PoincareMap", x: Array) -> tuple[Array, Array]:
    """`PoincareMap.crossing`, compiled once per map structure (an eager call would
    dispatch the loop's pieces one by one)."""
    return pmap._crossing(x)


class PoincareMap(Map):
    """The Poincare (first-return) map of an autonomous flow on a section: x on the
    section goes to the next crossing of the section in its direction (as
    DynamicalSystems.jl's `PoincareMap`; Poincare 1899, *Les methodes nouvelles de la
    mecanique celeste*, vol. 3).

    One step integrates the flow with fixed steps of `dt` until the section function
    changes sign in `section.direction`, then locates the crossing inside the last step
    by the Illinois method on the solver's partial step (as `cj.orbit_diagram` does).
    Its tangent map carries the projection along the flow onto the section,
    DP = (I - f n^T / (n.f)) DPhi_tau, with n the section's gradient and f the field at
    the crossing (the derivative of the return time; Parker & Chua 1989, *Practical
    Numerical Algorithms for Chaotic Systems*, sec. 6.3): the crossing is found with the
    return time held fixed and then moved along f back onto the section, which leaves
    the point unchanged and gives autodiff that derivative.

    The states lie on the section, so the map has `manifold_dim` = dim - 1 exponents,
    which `cj.lyapunov_spectrum` computes by default, per crossing (`time_per_step` is
    1): lambda_map = lambda_flow x the mean return time (`return_time`). A start off
    the section goes to the first crossing. A run that does not cross within
    `max_steps` steps gives NaN (and `cj.DivergenceError` where the caller checks).

    **Arguments:**

    - `flow`: an autonomous `cj.Flow`.
    - `section`: a `cj.Hyperplane`, `cj.LocalMaxima(i)`, `cj.LocalMinima(i)` or any
      `cj.bifurcation.AbstractSection`.
    - `dt`: the solver's step; default the flow's `default_dt`.
    - `solver`: "rk4" (default) or "euler".
    - `max_steps`: the most steps to the next crossing (default 100,000).

    Example:

    ```python
    ros = cj.systems.Rossler()
    pmap = cj.PoincareMap(ros, cj.Hyperplane(normal=[0.0, 1.0, 0.0]))  # y = 0, upwards
    x1 = pmap.step(ros.default_state())          # on the section
    res = cj.lyapunov_spectrum(pmap, steps=2_000, transient=50)   # 2 exponents
    ```
    """

    flow: Flow
    section: AbstractSection
    dt: float | None = eqx.field(default=None, static=True, converter=_optional_float)
    solver: str = eqx.field(default="rk4", static=True)
    max_steps: int = eqx.field(default=100_000, static=True)

    def __check_init__(self):
        if not isinstance(self.flow, Flow):
            raise ValueError(f"`flow` must be a cj.Flow, got {type(self.flow).__name__}.")
        if self.flow.time_dependent:
            raise ValueError(
                f"{type(self.flow).__name__} depends on time; a Poincare map needs an "
                "autonomous flow: use cj.StroboscopicMap(flow, period), or "
                "cj.systems.Autonomised(flow) with a section in (x, t)."
            )
        check_section(self.section, self.flow.dim)
        dt = self.dt if self.dt is not None else self.flow.default_dt
        if dt is None or not float(dt) > 0:
            raise ValueError(
                f"`dt` must be a positive step ({type(self.flow).__name__} has no "
                f"`default_dt`), got {self.dt!r}."
            )
        if self.solver not in solvers.FIXED_STEP:
            raise ValueError(
                f"`solver` must be one of {', '.join(map(repr, solvers.FIXED_STEP))}, got "
                f"{self.solver!r}."
            )
        n = self.max_steps
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError(f"`max_steps` must be a positive int, got {n!r}.")

    @property
    def _map(self) -> Discretized:
        dt = self.dt if self.dt is not None else self.flow.default_dt
        return Discretized(flow=self.flow, dt=float(dt), solver=self.solver)  # pyright: ignore[reportArgumentType]

    def _s(self, y: Array) -> Array:
        return self.section.value(y, self.flow.vector_field(y))

    def crossing(self, x: Float[Array, " dim"]) -> tuple[Array, Array]:
        """The next crossing of the section from `x` and the time to it.

        **Arguments:**

        - `x`: a state, shape (dim,).

        **Returns:**

        (the crossing (dim,), the return time), NaN for both when none is found within
        `max_steps` steps.
        """
        return _crossing(self, x)

    def _crossing(self, x: Array) -> tuple[Array, Array]:
        m = self._map
        direction = self.section.direction

        def cond(c):
            y, g, _, _, k, hit = c
            return (~hit) & (k < self.max_steps) & jnp.all(jnp.isfinite(y))

        def body(c):
            y, g, _, _, k, _ = c
            y1 = m.step(y)
            g1 = self._s(y1)
            return y1, g1, y, g, k + 1, crossed(g, g1, direction)

        g0 = self._s(x)
        init = (x, g0, x, g0, jnp.asarray(0), jnp.asarray(False))
        _, g1, y0, g0, k, hit = jax.lax.while_loop(cond, body, init)
        # The root is found on a constant start (no derivative through the iterations),
        # the crossing is then the partial step from the differentiable start, moved
        # along f onto the section: the value is unchanged (s = 0 there, to the root's
        # accuracy), the derivative is the projected one, (I - f n^T / n.f) DPhi.
        start = jax.lax.stop_gradient(y0)
        theta = jax.lax.stop_gradient(
            illinois(lambda t: self._s(m.advance(start, t * m.dt)), g0, g1)
        )
        y = m.advance(y0, theta * m.dt)
        f = self.flow.vector_field(y)
        n = jax.grad(self._s)(y)
        nf = n @ f
        y = y - f * (self._s(y) / jnp.where(nf != 0, nf, 1.0))
        tau = ((k - 1).astype(y.dtype) + theta) * m.dt
        return jnp.where(hit, y, jnp.nan), jnp.where(hit, tau, jnp.nan)

    def step(self, x: Float[Array, " dim"]) -> Float[Array, " dim"]:
        return self.crossing(x)[0]

    def return_time(self, x: Float[Array, " dim"]) -> Float[Array, ""]:
        """The flow time from `x` to the next crossing (NaN if none within
        `max_steps`); its mean along an orbit converts exponents per crossing into
        exponents per unit time."""
        return self.crossing(x)[1]

    @property
    def dim(self) -> int:
        return self.flow.dim

    @property
    def manifold_dim(self) -> int:
        """dim - 1: the states lie on the section."""
        return self.flow.dim - 1

    def default_state(self) -> Float[Array, " dim"]:
        """The flow's default state (off the section: the first step goes onto it)."""
        return self.flow.default_state()

    def sample_state(self, key: PRNGKeyArray, n: int) -> Float[Array, "n dim"]:
        return self.flow.sample_state(key, n)

    def parameters(self) -> dict[str, Array]:
        """The flow's parameters."""
        return self.flow.parameters()

    def static_parameters(self) -> dict[str, Any]:
        own = {"dt": self.dt, "solver": self.solver, "max_steps": self.max_steps}
        return {**self.flow.static_parameters(), **own}

    def replace(self, **changes: Any):
        """A copy with the flow's parameters (or this map's settings) changed."""
        return forward_replace(self, changes)
