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

Sliding motion (Filippov 1988): a `cj.systems.FilippovFlow` (one switching surface
h(x) = 0, a field that jumps across it) is integrated with `sliding=True` (its
default). A located crossing where the field beyond pushes back (n- = h'.f- > 0 >
n+ = h'.f+) starts sliding: the orbit follows Filippov's convex combination
f_s = (1 - a) f- + a f+, a = n- / (n- - n+), by RK4 steps each projected back onto
h = 0, until n- or n+ changes sign; that exit is located inside the
step like a crossing (Illinois, then a Newton step carrying the derivative), and the
orbit leaves on the side whose field now points away. The same Newton steps put the
saltation matrices of entering sliding, S = I + (f_s - f-) h'^T / (h'.f-), and of
leaving it (the identity, since f_s = f+- at the exit) into the tangent map (di
Bernardo, Budd, Champneys & Kowalczyk 2008, sec. 2.5; Dieci & Lopez 2011, Math.
Comput. Simul. 81, 932-953), so Lyapunov exponents through sliding segments come from
the ordinary QR method (Mueller 1995, Chaos Solitons Fractals 5, 1671-1681). A state
that starts a step within 1e-10 (1 + |x|) of the surface (in units of h / |h'|) where
it attracts slides. Without sliding a trajectory that reaches a surface where both
fields point into it chatters between modes.
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
from ..systems import FilippovFlow, Flow, Map, PiecewiseSmoothFlow
from ..systems._base import _filippov_coefficient
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


# Relative distance to the surface (h / |h'| over 1 + |x|) below which a state that
# starts a step where the surface attracts is taken to slide: a located entry lands
# within ~1e-14 and a projected sliding state within rounding of h = 0.
_ON_SURFACE = 1e-10


def _project(flow: FilippovFlow, y):
    """One Newton step onto h = 0 along h': removes the O(dt^5) drift of RK4 from a
    curved surface (a no-op up to rounding on a flat one)."""
    h, grad = jax.value_and_grad(flow._h)(y)
    return y - h * grad / jnp.maximum(grad @ grad, jnp.finfo(y.dtype).tiny)


def _slides(flow: FilippovFlow, y):
    """Whether y is on the surface where it attracts (n- > 0 > n+)."""
    h, grad = jax.value_and_grad(flow._h)(y)
    near = jnp.abs(h) <= _ON_SURFACE * jnp.sqrt(grad @ grad) * (1.0 + jnp.max(jnp.abs(y)))
    return near & (flow.sliding_kind(y) == 1)


def _segment_filippov(flow: FilippovFlow, y, mode, sliding, tau, iterations: int):
    """One RK4 segment of length tau of a Filippov flow, in `mode` or (when `sliding`)
    along the sliding field projected onto h = 0, cut at its first event: a crossing
    of h = 0 (not sliding) or n- or n+ changing sign (sliding). Returns (y_end, time
    used, mode, sliding). One code path for both regimes keeps the compiled graph small."""
    sign = jnp.where(mode[0], 1.0, -1.0)

    def field(z):
        grad, minus, plus = flow._parts(z)
        a_mode = jnp.where(mode[0], 1.0, 0.0)
        a = jnp.where(sliding, _filippov_coefficient(grad @ minus, grad @ plus), a_mode)
        return (1.0 - a) * minus + a * plus

    def adv(z, t):
        w = rk4_step(field, z, t)
        return jnp.where(sliding, _project(flow, w), w)

    def events(z):
        # Both entries stay > 0 while the regime holds: h on the side of `mode`, or
        # n- > 0 > n+ on the sliding region (the second entry is idle off it).
        n = flow.normal_components(z)
        return jnp.where(
            sliding, jnp.stack([n[0], -n[1]]), jnp.stack([sign * flow._h(z), jnp.ones(())])
        )

    y_full = adv(y, tau)
    g1 = events(y_full)
    hit = g1 < 0

    def cut(_):
        ys, taus = jax.lax.stop_gradient(y), jax.lax.stop_gradient(tau)
        g0 = jax.lax.stop_gradient(events(ys))
        g1s = jax.lax.stop_gradient(g1)

        def root(j):
            Gj = lambda th: events(adv(ys, th * taus))[j]
            return illinois(Gj, jnp.maximum(g0[j], 0.0), g1s[j], iterations)

        thetas = jnp.where(hit, jax.vmap(root)(jnp.arange(2)), jnp.inf)
        j = jnp.argmin(thetas)
        th0 = jax.lax.stop_gradient(jnp.minimum(thetas[j], 1.0))
        # One Newton step with the gradient flowing, as for a crossing
        # (`_segment_event`), gives the event time its implicit derivative and so puts
        # the saltation matrix of entering sliding, I + (f_s - f-) h'^T / (h'.f-), into
        # the tangent map (leaving sliding has the identity: f_s equals the field it
        # leaves along). dG/dtheta is taken along the field, tau g'.F, rather than
        # through the RK4 stages: it differs by O(tau^4), and the graph stays half
        # the size.
        y0 = adv(y, th0 * tau)
        F = field(y0)
        g_val = events(y0)[j]
        g_dot = jax.lax.stop_gradient(tau * jax.jvp(events, (y0,), (F,))[1][j])
        safe = g_dot != 0
        dth = jnp.where(safe, -g_val / jnp.where(safe, g_dot, 1.0), 0.0)
        dth = jnp.clip(th0 + dth, 0.0, 1.0) - th0
        theta = th0 + dth
        y_event = y0 + dth * tau * F
        # Sliding: n- reached 0 (j = 0), so f- points away into h < 0 (mode False); or
        # n+ reached 0 (j = 1), into h >= 0. Crossing: slide where the far field
        # pushes back, else switch mode.
        start = ~sliding & (flow.sliding_kind(y_event) == 1)
        new_mode = jnp.where(sliding, jnp.reshape(j == 1, (1,)), jnp.where(start, mode, ~mode))
        y_event = jnp.where(start | sliding, _project(flow, y_event), y_event)
        return y_event, theta * tau, new_mode, start

    return jax.lax.cond(jnp.any(hit), cut, lambda _: (y_full, tau, mode, sliding), None)


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
    - `sliding`: Filippov sliding on the switching surface of a `cj.systems.FilippovFlow`
      (method "event" only; see the module docs), default False.

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
    sliding: bool = eqx.field(default=False, static=True)

    def advance(self, x: Float[Array, " dim"], tau) -> Float[Array, " dim"]:
        """x advanced by time tau (0 <= tau <= dt, may be traced)."""
        tau = jnp.asarray(tau, x.dtype)
        flow = self.flow
        mode = flow.switching(x) >= 0
        sliding = jnp.asarray(False)
        if self.sliding:
            assert isinstance(flow, FilippovFlow)  # event_map checks it
            sliding = _slides(flow, x)

        def segment(carry):
            y, used, mode, sliding, k = carry
            left = tau - used
            if self.method == "diffrax":
                y_new, t_new, mode_new = _segment_diffrax(
                    flow, y, mode, used, tau, self.rtol, self.atol
                )
                return y_new, t_new, mode_new, sliding, k + 1
            if self.sliding:
                assert isinstance(flow, FilippovFlow)
                y_new, dt_used, mode_new, sliding_new = _segment_filippov(
                    flow, y, mode, sliding, left, self.iterations
                )
            else:
                y_new, dt_used, mode_new = _segment_event(flow, y, mode, left, self.iterations)
                sliding_new = sliding
            return y_new, used + dt_used, mode_new, sliding_new, k + 1

        def more(carry):
            _, used, _, _, k = carry
            return (used < tau) & (k <= self.max_switches)

        # A bounded loop (not while_loop) so that reverse-mode autodiff works too.
        def body(_, carry):
            return jax.lax.cond(more(carry), segment, lambda c: c, carry)

        init = (x, jnp.zeros_like(tau), mode, sliding, jnp.asarray(0))
        y, used, mode, sliding, _ = jax.lax.fori_loop(0, self.max_switches + 1, body, init)
        # Whatever is left after max_switches events: one plain step in the mode (or
        # along the sliding field).
        left = tau - used

        def rest():
            y_mode = rk4_step(lambda z: flow.mode_vector_field(z, mode), y, left)
            if not self.sliding:
                return y_mode
            assert isinstance(flow, FilippovFlow)
            y_slide = _project(flow, rk4_step(flow.sliding_vector_field, y, left))
            return jnp.where(sliding, y_slide, y_mode)

        return jax.lax.cond(left > 0, rest, lambda: y)


def event_map(
    flow: Flow,
    dt: float,
    method: str = "event",
    *,
    max_switches: int | None = None,
    rtol: float = 1e-10,
    atol: float = 1e-10,
    sliding: object = None,
) -> Map:
    """The one-step map of a piecewise-smooth flow that integrates across its switching
    manifolds correctly.

    The map plugs into everything that takes a map: `cj.trajectory(m, x0, steps=...)`,
    orbit diagrams (`solver="event"`), Lyapunov exponents (its tangent map contains the
    saltation matrix of di Bernardo et al. 2008, sec. 2.5, the identity for continuous
    fields, and those of entering and leaving sliding for a `cj.systems.FilippovFlow`).

    **Arguments:**

    - `flow`: a `cj.PiecewiseSmoothFlow`.
    - `dt`: the time per step, > 0.
    - `method`: "event" (RK4 with the crossing located inside the step; default),
      "diffrax" (adaptive Tsit5 with a diffrax Event, tolerances `rtol`/`atol`) or
      "fixed" (plain RK4; needs a small `dt`).
    - `max_switches`: the most events (crossings, entries into and exits from sliding)
      located per step, default 2 (3 with sliding).
    - `rtol`, `atol`: tolerances of "diffrax", default 1e-10.
    - `sliding`: integrate Filippov sliding motion on the switching surface (needs a
      `cj.systems.FilippovFlow`, whose `switching_function` is a scalar, and method
      "event"); default None: True for a `FilippovFlow`, else False. False leaves a
      Filippov flow to chatter on an attracting surface (for comparison).

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
    if isinstance(flow, FilippovFlow):
        _scalar_switching(flow)
    if sliding is None:
        sliding = isinstance(flow, FilippovFlow) and method == "event"
    if not isinstance(sliding, bool):
        raise ValueError(f"`sliding` must be True, False or None, got {sliding!r}.")
    if sliding and not isinstance(flow, FilippovFlow):
        raise ValueError(
            f"`sliding=True` needs a cj.systems.FilippovFlow (one switching surface "
            f"h(x) = 0 with a field on either side), got {type(flow).__name__}."
        )
    if sliding and method != "event":
        raise ValueError(f'`method` must be "event" with `sliding=True`, got {method!r}.')
    if method == "fixed":
        return Discretized(flow=flow, dt=dt, solver="rk4")
    max_switches = v.nonnegative_int(
        (3 if sliding else 2) if max_switches is None else max_switches, "max_switches"
    )
    return EventDiscretized(
        flow=flow,
        dt=dt,
        method=method,
        max_switches=max_switches,
        rtol=rtol,
        atol=atol,
        sliding=sliding,
    )


def _scalar_switching(flow: FilippovFlow) -> None:
    """A Filippov flow has one switching surface: h(x) must be a scalar (or shape (1,))."""
    x = jax.ShapeDtypeStruct(jnp.shape(flow.default_state()), jnp.result_type(float))
    shape = jax.eval_shape(flow.switching_function, x).shape
    if shape not in ((), (1,)):
        raise ValueError(
            f"`switching_function` of {type(flow).__name__} must return a scalar h(x) "
            f"(one switching surface h = 0) for a FilippovFlow, got shape {shape}; "
            "several surfaces make a cj.PiecewiseSmoothFlow without sliding."
        )
