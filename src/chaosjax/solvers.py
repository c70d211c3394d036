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
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from ._divergence import DivergenceError, is_traced
from ._validate import finite, is_concrete, one_of, positive_float, positive_int, real_array, state
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
    x0: Float[ArrayLike, " dim"],
    ts: Float[ArrayLike, " times"],
    *,
    solver: str = "tsit5",
    rtol: float = 1e-8,
    atol: float = 1e-8,
    max_steps: int | None = 1_000_000,
    dt0: float | None = None,
) -> Float[Array, "times dim"]:
    """States of a flow at given times, by an adaptive diffrax solver.

    Solves dx/dt = f(x) (or f(t, x) for a time-dependent flow) with an explicit
    Runge-Kutta pair (Tsitouras 2011, Dormand &
    Prince 1980 and 1981) under diffrax's PID step-size controller
    (https://docs.kidger.site/diffrax/).

    **Arguments:**

    - `flow`: a `cj.Flow`.
    - `x0`: the state at `ts[0]`, shape (dim,), finite.
    - `ts`: non-decreasing finite times, shape (times,) with times >= 1, in the flow's
      time units.
    - `solver`: "tsit5" (default), "dopri5" or "dopri8".
    - `rtol`, `atol`: the controller's relative and absolute tolerances, default 1e-8.
    - `max_steps`: the most steps diffrax may take, default 1,000,000.
    - `dt0`: the first step; default None lets diffrax choose.

    **Returns:**

    The states at `ts`, shape (times, dim). Outside `jit`, a solve that stops early
    (`max_steps` reached, or the solution blowing up) raises `cj.DivergenceError`
    naming the first row of `ts` not reached; under `jit` diffrax's run-time error.

    Example:

    ```python
    lor = cj.systems.Lorenz63()
    xs = cj.solve_adaptive(lor, lor.default_state(), jnp.linspace(0.0, 1.0, 11),
                           solver="dopri8")
    ```
    """
    if not isinstance(flow, Flow):
        raise ValueError(
            f"`flow` must be a cj.Flow (a map has no vector field to integrate), "
            f"got {type(flow).__name__}."
        )
    name = one_of(solver, "solver", ADAPTIVE)
    positive_float(rtol, "rtol")
    positive_float(atol, "atol")
    if max_steps is not None:
        max_steps = positive_int(max_steps, "max_steps")
    if dt0 is not None:
        dt0 = positive_float(dt0, "dt0")
    x0 = state(x0, flow.dim, "x0", batch=False)
    ts = _times(ts)
    concrete = is_concrete(x0) and is_concrete(ts) and not is_traced(flow)
    term = diffrax.ODETerm(lambda t, y, args: flow.field_at(t, y))
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
        throw=not concrete,
    )
    assert sol.ys is not None  # SaveAt(ts=...) saves the states
    if concrete and not bool(sol.result == diffrax.RESULTS.successful):
        rows = np.flatnonzero(~np.isfinite(np.asarray(sol.ys)).all(axis=-1))
        k = int(rows[0]) if rows.size else int(ts.shape[0]) - 1
        raise DivergenceError(
            f"solve_adaptive stopped before t = {float(ts[k])} (row {k} of `ts`): "
            f"{diffrax.RESULTS[sol.result]} (`max_steps` = {max_steps}). The solution may "
            "blow up or be stiff there: raise `max_steps`, loosen `rtol`/`atol`, or "
            "shorten `ts`.",
            k,
        )
    return sol.ys


def _times(ts: object) -> Array:
    """`ts` as a real 1-D array of at least one time, finite and non-decreasing where
    concrete; else a `ValueError` naming `ts`."""
    t = real_array(ts, "ts")
    if t.ndim != 1 or t.shape[0] < 1:
        raise ValueError(f"`ts` must have shape (times,) with times >= 1, got {tuple(t.shape)}.")
    finite(t, "ts")
    if is_concrete(t):
        d = np.diff(np.asarray(t))
        if (d < 0).any():
            i = int(np.flatnonzero(d < 0)[0])
            raise ValueError(
                f"`ts` must be non-decreasing; ts[{i + 1}] = {float(t[i + 1])} < "
                f"ts[{i}] = {float(t[i])}."
            )
    return t


def adaptive_step(
    flow: Flow, x: Float[Array, " dim"], dt, *, solver: str, rtol: float, atol: float
) -> Float[Array, " dim"]:
    """The flow map over one interval `dt`, solved adaptively (inside a jitted loop)."""
    ts = jnp.stack([jnp.zeros_like(jnp.asarray(dt)), jnp.asarray(dt)])
    return solve_adaptive(flow, x, ts, solver=solver, rtol=rtol, atol=atol, max_steps=4096)[-1]


def all_solvers() -> list[str]:
    """The names every `solver=` argument accepts: the fixed-step ones, then the adaptive."""
    return list(FIXED_STEP) + list(ADAPTIVE)
