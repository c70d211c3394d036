"""Time-dependent flows: the forced Duffing oscillator, and any time-dependent flow made
autonomous with the time as an extra coordinate (`Autonomised`)."""

from __future__ import annotations

import dataclasses
import math
from typing import Any, ClassVar

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from .._validate import unknown_name
from ._base import Flow, param

Scalar = Float[Array, ""]


class ForcedDuffing(Flow):
    """The forced Duffing oscillator x'' + delta x' + alpha x + beta x^3 = gamma cos(omega t),
    written as a time-dependent flow (no phase coordinate); Guckenheimer & Holmes (1983),
    *Nonlinear Oscillations, Dynamical Systems, and Bifurcations of Vector Fields*,
    sec. 2.2; Ueda (1979), J. Stat. Phys. 20, 181-196.

    dx/dt = v,  dv/dt = -delta v - alpha x - beta x^3 + gamma cos(omega t).
    With the double-well defaults (delta = 0.3, alpha = -1, beta = 1, omega = 1.2) the
    stroboscopic map (`cj.StroboscopicMap(ForcedDuffing())`, period 2 pi / omega) goes
    through period doublings as gamma grows (period 1 at gamma = 0.2, 2 at 0.28, 4 at
    0.29) into chaos (gamma = 0.5, the default). `cj.systems.Duffing` is the same
    oscillator with the forcing phase as a third coordinate.

    **Arguments:**

    - `delta`: the damping, default 0.3.
    - `alpha`, `beta`: the linear and cubic stiffness, default -1, 1 (double well).
    - `gamma`, `omega`: the forcing amplitude and angular frequency, default 0.5, 1.2.

    Example:

    ```python
    duf = cj.systems.ForcedDuffing(gamma=0.29)
    strobe = cj.StroboscopicMap(duf)                   # one point per forcing period
    d = cj.orbit_diagram(strobe, "gamma", jnp.linspace(0.2, 0.5, 200), transient=200,
                         keep=64)
    ```
    """

    delta: Scalar = param(0.3)
    alpha: Scalar = param(-1.0)
    beta: Scalar = param(1.0)
    gamma: Scalar = param(0.5)
    omega: Scalar = param(1.2)

    name: ClassVar[str] = "forced_duffing"
    dim: ClassVar[int] = 2
    variables: ClassVar[tuple[str, ...] | None] = ("x", "v")
    description: ClassVar[str] = "The double-well Duffing oscillator forced by gamma cos(omega t)"
    sample_scale: ClassVar[float] = 0.3
    default_dt: ClassVar[float | None] = 0.01

    def vector_field(self, t: Any, x: Float[Array, "2"]) -> Float[Array, "2"]:  # pyright: ignore[reportIncompatibleMethodOverride]
        u, v = x[0], x[1]
        force = self.gamma * jnp.cos(self.omega * t)
        return jnp.stack([v, -self.delta * v - self.alpha * u - self.beta * u**3 + force])

    @property
    def forcing_period(self) -> Array:
        """2 pi / omega: the period of the forcing, and `cj.StroboscopicMap`'s default."""
        return 2.0 * math.pi / self.omega

    def default_state(self) -> Float[Array, "2"]:
        return jnp.array([1.0, 0.0])


class Autonomised(Flow):
    """A time-dependent flow made autonomous: the state (x, t) with dt/dt = 1.

    y = (x, t), dy/dt = (f(t, x), 1) for a flow `flow` with `vector_field(t, x)`. This is
    how chaosjax discretises a time-dependent flow; use it directly for an algorithm
    that needs an autonomous flow (the time coordinate adds a zero Lyapunov exponent and
    grows without bound).

    **Arguments:**

    - `flow`: a `cj.Flow` whose `vector_field` takes `(t, x)`.
    - `t0`: the time of `default_state` (default 0.0).

    Example:

    ```python
    aut = cj.systems.Autonomised(cj.systems.ForcedDuffing())
    aut.dim, aut.default_state()                 # 3, [1.0, 0.0, 0.0]
    ```
    """

    flow: Flow
    t0: float = eqx.field(default=0.0, static=True)

    name: ClassVar[str] = "autonomised"

    def __check_init__(self):
        if not isinstance(self.flow, Flow) or not self.flow.time_dependent:
            raise ValueError(
                "`flow` must be a time-dependent cj.Flow (vector_field(t, x)), got "
                f"{type(self.flow).__name__}."
            )

    @property
    def unbounded_coordinates(self) -> tuple[int, ...]:  # pyright: ignore[reportIncompatibleVariableOverride]
        """The time coordinate (the last) and the flow's own."""
        return (*self.flow.unbounded_coordinates, self.flow.dim)

    def vector_field(self, x: Float[Array, " dim"]) -> Float[Array, " dim"]:
        dx = self.flow.vector_field(x[-1], x[:-1])  # pyright: ignore[reportCallIssue]
        return jnp.concatenate([dx, jnp.ones((1,), dx.dtype)])

    def variable_names(self) -> tuple[str, ...]:
        """The flow's variables, then `t`."""
        return (*self.flow.variable_names(), "t")

    def variable_units(self) -> tuple[str | None, ...]:
        """The flow's units, then its time unit."""
        return (*self.flow.variable_units(), getattr(self.flow, "time_units", None))

    def describe(self) -> str:
        """The flow's description, with time as a coordinate."""
        return f"{self.flow.describe()} (time as the last coordinate)"

    def default_state(self) -> Float[Array, " dim"]:
        x = self.flow.default_state()
        return jnp.concatenate([x, jnp.full((1,), self.t0, x.dtype)])

    def sample_state(self, key: PRNGKeyArray, n: int) -> Float[Array, "n dim"]:
        x = self.flow.sample_state(key, n)
        return jnp.concatenate([x, jnp.full((n, 1), self.t0, x.dtype)], axis=1)

    def parameters(self) -> dict[str, Array]:
        return self.flow.parameters()

    def static_parameters(self) -> dict[str, Any]:
        return self.flow.static_parameters()

    def replace(self, **changes: Any):
        return forward_replace(self, changes)


def forward_replace(wrapper: Any, changes: dict[str, Any]) -> Any:
    """`wrapper` (a module holding a system in its field `flow`) with `changes` applied:
    names of the wrapper's own fields to it, the others to the wrapped system."""
    own = {f.name for f in dataclasses.fields(wrapper)} - {"flow"}
    inner = {k: v for k, v in changes.items() if k not in own}
    names = set(wrapper.flow.parameters()) | set(wrapper.flow.static_parameters()) | own
    for key in inner:
        if key not in {f.name for f in dataclasses.fields(wrapper.flow)}:
            raise unknown_name(key, names, f"Parameter of {type(wrapper).__name__}:")
    flow = wrapper.flow.replace(**inner) if inner else wrapper.flow
    return dataclasses.replace(wrapper, flow=flow, **{k: v for k, v in changes.items() if k in own})
