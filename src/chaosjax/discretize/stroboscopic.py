"""The stroboscopic map of a periodically forced flow: the state once per forcing period."""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from .. import solvers
from .._validate import is_concrete
from ..systems import Autonomised, Flow, Map
from ..systems.forced import forward_replace


def _optional_float(value: Any) -> float | None:
    """A static period or step as a Python float (an array would be an unhashable
    static field), None kept."""
    return None if value is None else float(value)


class StroboscopicMap(Map):
    """The stroboscopic (period) map of a flow: x(t0 + T) as a function of x(t0), for a
    flow forced with period T (as DynamicalSystems.jl's `StroboscopicMap`; Guckenheimer
    & Holmes 1983, *Nonlinear Oscillations*, sec. 1.5).

    One step integrates the flow over one period with `steps_per_period` steps of a
    fixed-step solver, from t0 to t0 + T (a time-dependent flow's `vector_field(t, x)`
    sees those times; a periodic forcing makes every step the same map). It is a
    `cj.Map` with `time_per_step` = T, so `cj.lyapunov_spectrum` gives exponents per
    unit time, those of the flow without the zero of the time direction; its parameters
    are the flow's, so `cj.orbit_diagram(strobe, "gamma", ...)` sweeps the forcing.

    **Arguments:**

    - `flow`: a `cj.Flow`, usually time-dependent (`vector_field(t, x)`).
    - `period`: T in the flow's time units; default None: the flow's `forcing_period`
      (`cj.systems.ForcedDuffing` has 2 pi / omega, which then follows a sweep of omega).
    - `steps_per_period`: solver steps per period (default 100).
    - `solver`: "rk4" (default) or "euler".
    - `t0`: the phase of the forcing at which the state is sampled (default 0.0).

    Example:

    ```python
    strobe = cj.StroboscopicMap(cj.systems.ForcedDuffing())
    res = cj.lyapunov_spectrum(strobe, steps=2_000, transient=100)
    res.exponents                                  # per unit time; sum -delta = -0.3
    d = cj.orbit_diagram(strobe, "gamma", jnp.linspace(0.2, 0.5, 300), transient=300,
                         keep=64)
    ```
    """

    flow: Flow
    period: float | None = eqx.field(default=None, static=True, converter=_optional_float)
    steps_per_period: int = eqx.field(default=100, static=True)
    solver: str = eqx.field(default="rk4", static=True)
    t0: float = eqx.field(default=0.0, static=True, converter=float)

    def __check_init__(self):
        if not isinstance(self.flow, Flow):
            raise ValueError(f"`flow` must be a cj.Flow, got {type(self.flow).__name__}.")
        if self.period is None and not hasattr(self.flow, "forcing_period"):
            raise ValueError(
                f"`period` is required: {type(self.flow).__name__} has no `forcing_period`."
            )
        if self.period is not None and not float(self.period) > 0:
            raise ValueError(f"`period` must be positive, got {self.period!r}.")
        n = self.steps_per_period
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError(f"`steps_per_period` must be a positive int, got {n!r}.")
        if self.solver not in solvers.FIXED_STEP:
            raise ValueError(
                f"`solver` must be one of {', '.join(map(repr, solvers.FIXED_STEP))} (a "
                f"fixed step per period), got {self.solver!r}."
            )

    @property
    def forcing_period(self) -> Any:
        """T: `period`, or the flow's `forcing_period`."""
        if self.period is not None:
            return self.period
        return self.flow.forcing_period  # pyright: ignore[reportAttributeAccessIssue]

    @property
    def time_per_step(self) -> float:
        """T: the exponents of this map are per unit time."""
        T = self.forcing_period
        return float(T) if is_concrete(T) else T

    def step(self, x: Float[Array, " dim"]) -> Float[Array, " dim"]:
        T = self.forcing_period
        h = T / self.steps_per_period
        advance = solvers.FIXED_STEP[self.solver]
        if self.flow.time_dependent:
            f = Autonomised(self.flow).vector_field
            y = jnp.concatenate([x, jnp.full((1,), self.t0, x.dtype)])
        else:
            f, y = self.flow.vector_field, x
        y = jax.lax.fori_loop(0, self.steps_per_period, lambda i, y: advance(f, y, h), y)
        return y[:-1] if self.flow.time_dependent else y

    @property
    def dim(self) -> int:
        return self.flow.dim

    def default_state(self) -> Float[Array, " dim"]:
        return self.flow.default_state()

    def sample_state(self, key: PRNGKeyArray, n: int) -> Float[Array, "n dim"]:
        return self.flow.sample_state(key, n)

    def parameters(self) -> dict[str, Array]:
        """The flow's parameters (the period and the solver settings are static)."""
        return self.flow.parameters()

    def static_parameters(self) -> dict[str, Any]:
        own = {
            "period": self.period,
            "steps_per_period": self.steps_per_period,
            "solver": self.solver,
            "t0": self.t0,
        }
        return {**self.flow.static_parameters(), **own}

    def replace(self, **changes: Any):
        """A copy with the flow's parameters (or this map's settings) changed."""
        return forward_replace(self, changes)
