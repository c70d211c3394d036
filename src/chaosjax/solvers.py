"""One step of a flow: fixed-step Euler and classical RK4, and adaptive solving through
diffrax for trajectories on a time grid.

The fixed-step kernels are written by hand on purpose: diffrax's fixed-step RK4 costs
~50x a plain `lax.scan` of this function (PERFORMANCE.md), and these are the hot loops
of every ensemble, spectrum and sensitivity computation.
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
    """x + dt f(x): first order."""
    return x + dt * f(x)


def rk4_step(f: VectorField, x: Float[Array, " dim"], dt) -> Float[Array, " dim"]:
    """The classical fourth-order Runge-Kutta step (Kutta 1901)."""
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
    """The step function of a fixed-step solver by name ("euler", "rk4")."""
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
    """States at the times `ts` (ts[0] is the initial time) with an adaptive diffrax solver.

    **Arguments:** `flow`; `x0` of shape (dim,); `ts` increasing times; `solver` one of
    "tsit5", "dopri5", "dopri8"; `rtol`, `atol` the PID controller's tolerances.

    **Returns:** an array (len(ts), dim).

    Example: `solve_adaptive(Lorenz63(), x0, jnp.linspace(0, 1, 11), solver="dopri8")`.
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
    return sol.ys


def adaptive_step(
    flow: Flow, x: Float[Array, " dim"], dt, *, solver: str, rtol: float, atol: float
) -> Float[Array, " dim"]:
    """The flow map over one interval `dt`, solved adaptively (inside a jitted loop)."""
    ts = jnp.stack([jnp.zeros_like(jnp.asarray(dt)), jnp.asarray(dt)])
    return solve_adaptive(flow, x, ts, solver=solver, rtol=rtol, atol=atol, max_steps=4096)[-1]


def all_solvers() -> list[str]:
    return list(FIXED_STEP) + list(ADAPTIVE)
