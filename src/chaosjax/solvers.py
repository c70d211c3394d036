"""One step of a flow: fixed-step Euler and classical RK4, and adaptive solving through
diffrax for trajectories on a time grid.

The fixed-step kernels are written by hand on purpose: these are the hot loops of every
ensemble, spectrum and sensitivity computation, and a plain function of the state
compiles to far less work per step than diffrax's general fixed-step machinery
(docs/performance.md has the measurement).
"""

from __future__ import annotations

from collections.abc import Callable

import diffrax
import jax.numpy as jnp
from jaxtyping import Array, Float

from ._validate import one_of, positive_float
from .systems import Flow

VectorField = Callable[[Array], Array]


def euler_step(f: VectorField, x: Float[Array, " dim"], dt) -> Float[Array, " dim"]:
    """One explicit Euler step, x + dt f(x) (first order).

    **Arguments:**

    - `f`: the vector field, a function (dim,) -> (dim,).
    - `x`: the state, shape (dim,).
    - `dt`: the step, in the system's time units.

    **Returns:**

    The state after `dt`, shape (dim,).

    Example:

    ```python
    cj.solvers.euler_step(lambda x: -x, jnp.ones(2), 0.1)     # [0.9, 0.9]
    ```
    """
    return x + dt * f(x)


def rk4_step(f: VectorField, x: Float[Array, " dim"], dt) -> Float[Array, " dim"]:
    """One step of the classical fourth-order Runge-Kutta method (Kutta 1901).

    **Arguments:**

    - `f`: the vector field, a function (dim,) -> (dim,).
    - `x`: the state, shape (dim,).
    - `dt`: the step, in the system's time units.

    **Returns:**

    The state after `dt`, shape (dim,); the local error is O(dt^5).

    Example:

    ```python
    lor = cj.systems.Lorenz63()
    cj.solvers.rk4_step(lor.vector_field, lor.default_state(), 0.01)
    ```
    """
    k1 = f(x)
    k2 = f(x + (0.5 * dt) * k1)
    k3 = f(x + (0.5 * dt) * k2)
    k4 = f(x + dt * k3)
    return x + (dt / 6.0) * (k1 + 2.0 * (k2 + k3) + k4)


FIXED_STEP = {"euler": euler_step, "rk4": rk4_step}
ORDER = {"euler": 1, "rk4": 4}

ADAPTIVE = {
    "tsit5": diffrax.Tsit5,
    "dopri5": diffrax.Dopri5,
    "dopri8": diffrax.Dopri8,
}


def fixed_step(solver: str) -> Callable:
    """The step function `(f, x, dt) -> x_next` of a fixed-step solver, by name.

    **Arguments:**

    - `solver`: "euler" or "rk4"; anything else raises `ValueError` listing them.

    **Returns:**

    `euler_step` or `rk4_step`.

    Example:

    ```python
    step = cj.solvers.fixed_step("rk4")
    ```
    """
    return FIXED_STEP[one_of(solver, "solver", FIXED_STEP)]


def solve_adaptive(
    flow: Flow,
    x0: Float[Array, " dim"],
    ts: Float[Array, " times"],
    *,
    solver: str = "tsit5",
    rtol: float = 1e-8,
    atol: float = 1e-8,
    max_steps: int | None = 1_000_000,
    dt0: float | None = None,
) -> Float[Array, "times dim"]:
    """States of a flow at given times, by an adaptive diffrax solver.

    Solves dx/dt = f(x) with an explicit Runge-Kutta pair (Tsitouras 2011, Dormand &
    Prince 1980 and 1981) under diffrax's PID step-size controller
    (https://docs.kidger.site/diffrax/).

    **Arguments:**

    - `flow`: a `cj.Flow`.
    - `x0`: the state at `ts[0]`, shape (dim,).
    - `ts`: increasing times, shape (times,), in the flow's time units.
    - `solver`: "tsit5" (default), "dopri5" or "dopri8".
    - `rtol`, `atol`: the controller's relative and absolute tolerances, default 1e-8.
    - `max_steps`: the most steps diffrax may take, default 1,000,000.
    - `dt0`: the first step; default None lets diffrax choose.

    **Returns:**

    The states at `ts`, shape (times, dim).

    Example:

    ```python
    lor = cj.systems.Lorenz63()
    xs = cj.solve_adaptive(lor, lor.default_state(), jnp.linspace(0.0, 1.0, 11),
                           solver="dopri8")
    ```
    """
    name = one_of(solver, "solver", ADAPTIVE)
    positive_float(rtol, "rtol")
    positive_float(atol, "atol")
    term = diffrax.ODETerm(lambda t, y, args: flow.vector_field(y))
    sol = diffrax.diffeqsolve(
        term,
        ADAPTIVE[name](),
        t0=ts[0],
        t1=ts[-1],
        dt0=dt0,
        y0=x0,
        saveat=diffrax.SaveAt(ts=ts),
        stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol),
        max_steps=max_steps,
    )
    assert sol.ys is not None  # SaveAt(ts=...) saves the states
    return sol.ys


def adaptive_step(
    flow: Flow, x: Float[Array, " dim"], dt, *, solver: str, rtol: float, atol: float
) -> Float[Array, " dim"]:
    """The flow map over one interval `dt`, solved adaptively (inside a jitted loop)."""
    ts = jnp.stack([jnp.zeros_like(jnp.asarray(dt)), jnp.asarray(dt)])
    return solve_adaptive(flow, x, ts, solver=solver, rtol=rtol, atol=atol, max_steps=4096)[-1]


def all_solvers() -> list[str]:
    """The names every `solver=` argument accepts: the fixed-step ones, then the adaptive."""
    return list(FIXED_STEP) + list(ADAPTIVE)
