"""Event-located discretisation of piecewise-smooth flows: integration across switching
manifolds.

A piecewise-smooth flow (`cj.systems.PiecewiseSmoothFlow`) is smooth inside regions
bounded by switching manifolds s_j(x) = 0; in each region it follows a smooth "mode"
vector field f_m. `PiecewiseLinearFlow` (one manifold c.x = 0; modes A1 x + mu b and
A2 x + mu b) and `ReluFlow` (manifolds (A2 x + b2)_j = 0; the mode is the set of active
ReLUs, the right-hand side of a one-hidden-layer ReLU neural ODE) are of this kind.

A fixed-step solver that steps across a manifold integrates a vector field whose
derivative jumps inside the step, and drops to first or second order there. Three
integrators are offered, selectable (`method`):

- "event" (default): RK4 with the crossing located inside the step. The step is
  taken in the current mode; if a switching function changes sign, the crossing
  fraction theta is found by the Illinois method on s_j(RK4(x, theta dt)), the step
  is split there and continued in the new mode (up to `max_switches` per step). A
  final Newton correction of theta carries the implicit-function derivative
  d theta / dx, so `jax.jvp` of the step contains the saltation matrix
  S = I + (f+ - f-) grad(s)^T / (grad(s) . f-) (di Bernardo et al. 2008, sec. 2.5),
  which is the identity for continuous fields (continuous piecewise-linear flows
  are "saltation-free") and the correct jump for discontinuous (Filippov, crossing)
  fields.
- "diffrax": each step solved adaptively (Tsit5) in the current mode with a
  `diffrax.Event` on the switching functions (root found by optimistix Newton), then
  restarted in the new mode.
- "fixed": plain RK4 with the vector field evaluated as it is (no location): valid
  only with a step small enough; provided for comparison.

Sliding motion (Filippov) is not modelled: a trajectory that reaches a manifold
where both fields point into it chatters between modes.
"""

from __future__ import annotations

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import optimistix as optx
from jaxtyping import Array, Float

from .. import _validate as v
from .._roots import illinois
from ..solvers import rk4_step
from ..systems import Flow, Map, PiecewiseSmoothFlow
from .flow_map import AbstractDiscretizedFlow, Discretized

METHODS = ("event", "diffrax", "fixed")
"""The `method`s of `event_map`: "event" (RK4 with the crossing located inside the step),
"diffrax" (adaptive Tsit5 with a diffrax Event) and "fixed" (plain RK4)."""


def _segment_event(flow: PiecewiseSmoothFlow, y, mode, tau, iterations: int):
    """One RK4 segment of length tau in `mode`; if a switching function leaves its
    side, cut the segment at the first crossing. Returns (y_end, time used, new mode).
    A step that crosses nothing costs one RK4 step (outside `vmap`, which runs both)."""

    def f(z):
        return flow.mode_vector_field(z, mode)

    sign = jnp.where(mode, 1.0, -1.0)
    y_full = rk4_step(f, y, tau)
    g1 = sign * flow.switching(y_full)
    crossed = g1 < 0

    def cut(_):
        # The root is found on constants (no derivative through the iterations); the
        # Newton correction below carries the implicit derivative.
        ys, taus = jax.lax.stop_gradient(y), jax.lax.stop_gradient(tau)
        g0 = jax.lax.stop_gradient(sign * flow.switching(ys))
        g1s = jax.lax.stop_gradient(g1)

        def root(j):
            Gj = lambda th: sign[j] * flow.switching(rk4_step(f, ys, th * taus))[j]
            return illinois(Gj, jnp.maximum(g0[j], 0.0), g1s[j], iterations)

        thetas = jnp.where(crossed, jax.vmap(root)(jnp.arange(g0.shape[0])), jnp.inf)
        j = jnp.argmin(thetas)
        th0 = jax.lax.stop_gradient(jnp.minimum(thetas[j], 1.0))

        def G(th):
            return sign[j] * flow.switching(rk4_step(f, y, th * tau))[j]

        # One Newton step with the gradient flowing: it polishes the Illinois root and
        # gives theta(x) the implicit derivative -dG/dx / dG/dtheta (the saltation term).
        g_val, g_dot = jax.jvp(G, (th0,), (jnp.ones_like(th0),))
        g_dot = jax.lax.stop_gradient(g_dot)
        safe = g_dot != 0
        theta = jnp.where(safe, jnp.clip(th0 - g_val / jnp.where(safe, g_dot, 1.0), 0.0, 1.0), th0)
        new_mode = jnp.where(jnp.arange(mode.shape[0]) == j, ~mode, mode)
        return rk4_step(f, y, theta * tau), theta * tau, new_mode

    return jax.lax.cond(jnp.any(crossed), cut, lambda _: (y_full, tau, mode), None)


def _segment_diffrax(flow: PiecewiseSmoothFlow, y, mode, t0, t1, rtol, atol):
    sign = jnp.where(mode, 1.0, -1.0)
    term = diffrax.ODETerm(lambda t, z, args: flow.mode_vector_field(z, mode))

    def cond_fn(t, y, args, **kwargs):
        # The offset keeps a segment that starts on the manifold (just switched) from
        # firing at once; it moves the located crossing by ~1e-12 / |grad s . f|.
        return jnp.min(sign * flow.switching(y)) + 1e-12

    event = diffrax.Event(cond_fn, root_finder=optx.Newton(rtol=1e-12, atol=1e-12))
    sol = diffrax.diffeqsolve(
        term, diffrax.Tsit5(), t0=t0, t1=t1, dt0=None, y0=y, event=event,
        stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol),
        saveat=diffrax.SaveAt(t1=True), max_steps=4096,
        throw=False,
    )  # fmt: skip
    assert sol.ys is not None and sol.ts is not None  # SaveAt(t1=True) saves both
    y_end, t_end = sol.ys[-1], sol.ts[-1]
    hit = jnp.asarray(sol.event_mask)
    j = jnp.argmin(sign * flow.switching(y_end))
    new_mode = jnp.where(hit & (jnp.arange(mode.shape[0]) == j), ~mode, mode)
    return y_end, t_end, new_mode


class EventDiscretized(AbstractDiscretizedFlow):
    """The time-`dt` map of a piecewise-smooth flow with the switching manifolds
    located inside each step (`method` "event" or "diffrax"; see the module docs).
    Built by `cj.event_map` (which checks the arguments).

    `advance(x, tau)` takes any partial step 0 <= tau <= dt (used to locate Poincare
    section crossings); `time_per_step == dt`.

    **Arguments:**

    - `flow`: the `cj.PiecewiseSmoothFlow`.
    - `dt`: the time per step (static).
    - `method`: "event" (default) or "diffrax".
    - `max_switches`: the most crossings located per step, default 2.
    - `iterations`: Illinois iterations per located crossing, default 16.
    - `rtol`, `atol`: tolerances of the "diffrax" method, default 1e-10.

    Example:

    ```python
    flow = cj.systems.PiecewiseLinearFlow.fp_to_limit_cycle(mu=1.0)
    m = cj.event_map(flow, dt=0.02)
    m.advance(flow.default_state(), 0.01)
    ```
    """

    flow: PiecewiseSmoothFlow
    dt: float = eqx.field(static=True)
    method: str = eqx.field(default="event", static=True)
    max_switches: int = eqx.field(default=2, static=True)
    iterations: int = eqx.field(default=16, static=True)
    rtol: float = eqx.field(default=1e-10, static=True)
    atol: float = eqx.field(default=1e-10, static=True)

    def advance(self, x: Float[Array, " dim"], tau) -> Float[Array, " dim"]:
        """x advanced by time tau (0 <= tau <= dt, may be traced)."""
        tau = jnp.asarray(tau, x.dtype)
        mode = self.flow.switching(x) >= 0

        def segment(carry):
            y, used, mode, k = carry
            left = tau - used
            if self.method == "diffrax":
                y_new, t_new, mode_new = _segment_diffrax(
                    self.flow, y, mode, used, tau, self.rtol, self.atol
                )
            else:
                y_new, dt_used, mode_new = _segment_event(self.flow, y, mode, left, self.iterations)
                t_new = used + dt_used
            return y_new, t_new, mode_new, k + 1

        def more(carry):
            _, used, _, k = carry
            return (used < tau) & (k <= self.max_switches)

        # A bounded loop (not while_loop) so that reverse-mode autodiff works too.
        def body(_, carry):
            return jax.lax.cond(more(carry), segment, lambda c: c, carry)

        y, used, mode, _ = jax.lax.fori_loop(
            0, self.max_switches + 1, body, (x, jnp.zeros_like(tau), mode, jnp.asarray(0))
        )
        # Whatever is left after max_switches crossings: one plain step in the mode.
        left = tau - used
        return jax.lax.cond(
            left > 0,
            lambda: rk4_step(lambda z: self.flow.mode_vector_field(z, mode), y, left),
            lambda: y,
        )


def event_map(
    flow: Flow,
    dt: float,
    method: str = "event",
    *,
    max_switches: int = 2,
    rtol: float = 1e-10,
    atol: float = 1e-10,
) -> Map:
    """The one-step map of a piecewise-smooth flow that integrates across its switching
    manifolds correctly.

    The map plugs into everything that takes a map: `cj.trajectory(m, x0, steps=...)`,
    orbit diagrams (`solver="event"`), Lyapunov exponents (its tangent map contains the
    saltation matrix of di Bernardo et al. 2008, sec. 2.5, the identity for continuous
    fields).

    **Arguments:**

    - `flow`: a `cj.PiecewiseSmoothFlow`.
    - `dt`: the time per step, > 0.
    - `method`: "event" (RK4 with the crossing located inside the step; default),
      "diffrax" (adaptive Tsit5 with a diffrax Event, tolerances `rtol`/`atol`) or
      "fixed" (plain RK4; needs a small `dt`).
    - `max_switches`: the most crossings located per step, default 2.
    - `rtol`, `atol`: tolerances of "diffrax", default 1e-10.

    **Returns:**

    A `cj.Map` with `time_per_step == dt` (an `EventDiscretized`, or a `Discretized`
    for "fixed").

    Example:

    ```python
    flow = cj.systems.PiecewiseLinearFlow.fp_to_limit_cycle(mu=1.0)
    m = cj.piecewise.event_map(flow, dt=0.02)
    xs = cj.trajectory(m, flow.default_state(), steps=5000)
    ```
    """
    if not isinstance(flow, PiecewiseSmoothFlow):
        if isinstance(flow, Flow):
            raise ValueError(
                f"{type(flow).__name__} is not piecewise smooth as far as chaosjax knows: "
                "subclass cj.systems.PiecewiseSmoothFlow and give it "
                "`switching_function(x)` and `mode_vector_field(x, mode)`."
            )
        raise ValueError(f"`flow` must be a cj.Flow, got {type(flow).__name__}.")
    dt = v.positive_float(dt, "dt")
    v.one_of(method, "method", METHODS)
    if method == "fixed":
        return Discretized(flow=flow, dt=dt, solver="rk4")
    max_switches = v.nonnegative_int(max_switches, "max_switches")
    return EventDiscretized(
        flow=flow, dt=dt, method=method, max_switches=max_switches, rtol=rtol, atol=atol
    )
