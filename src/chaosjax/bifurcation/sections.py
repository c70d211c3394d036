"""Poincare sections of a flow, and their crossings located inside a step.

A section is a scalar function s(x, f(x)) whose sign change between two steps marks a
crossing: a hyperplane n.x = c (`Hyperplane`), or the derivative of one coordinate,
whose sign change from + to - is a local maximum (`LocalMaxima`) and from - to + a
local minimum (`LocalMinima`). A crossing detected between steps k and k + 1 is located
inside the step: with G(theta) = s(Phi_{theta dt}(x_k)), Phi the map's own partial step,
the root theta in [0, 1] is found by the Illinois variant of regula falsi (Dowell &
Jarratt 1971, BIT 11, 168-174, https://doi.org/10.1007/BF01934364), so the located point
is as accurate as the discretised trajectory itself.
"""

# No `from __future__ import annotations`: equinox reads `AbstractVar` from the real
# annotation, not a string.
import abc

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float, Int

from .._results import Result
from .._roots import illinois
from ..discretize import AbstractDiscretizedFlow
from ..systems import Map
from ..systems._base import _as_float


class AbstractSection(eqx.Module):
    """A Poincare section of a flow: the zero set of a scalar function s(x, f(x)),
    crossed in `direction`.

    `cj.orbit_diagram`, `cj.classify_attractor` and `cj.classify_sweep` accept any
    subclass: a crossing is a sign change of `value` between two steps, located inside
    the step by the Illinois method (Dowell & Jarratt 1971, BIT 11, 168-174). Subclasses
    implement `value`, `describe` (for error messages) and `check_dim` (a `ValueError`
    naming the field that does not fit a state of `dim` coordinates), and declare
    `direction`.

    **Attributes:**

    - `direction`: +1 (crossed from negative to non-negative), -1 (from positive to
      non-positive) or 0 (both).

    Example:

    ```python
    import equinox as eqx

    class Sphere(cj.bifurcation.AbstractSection):
        radius: float = 20.0
        direction: int = eqx.field(default=1, static=True)

        def value(self, x, f):
            return jnp.linalg.norm(x) - self.radius

        def describe(self):
            return f"the sphere |x| = {self.radius}"

        def check_dim(self, dim):
            pass

    d = cj.orbit_diagram(cj.systems.Lorenz63(), "rho", jnp.array([28.0]), transient=500,
                         keep=10, dt=0.01, section=Sphere())
    ```
    """

    direction: eqx.AbstractVar[int]

    @abc.abstractmethod
    def value(self, x: Float[Array, " dim"], f: Float[Array, " dim"]) -> Float[Array, ""]:
        """The section function at state `x`, where the vector field is `f`.

        **Arguments:**

        - `x`: the state, shape (dim,).
        - `f`: the flow's vector field at `x`, shape (dim,).

        **Returns:**

        A scalar whose sign change between two steps is a crossing.
        """

    @abc.abstractmethod
    def describe(self) -> str:
        """The section in words, e.g. "the local maxima of x[2]", for error messages.

        **Returns:**

        A string.
        """

    @abc.abstractmethod
    def check_dim(self, dim: int) -> None:
        """Raise a `ValueError`, naming the field, when the section does not apply to
        states of `dim` coordinates.

        **Arguments:**

        - `dim`: the state dimension of the system.
        """


class Hyperplane(AbstractSection):
    """The hyperplane n.x = `offset`, crossed in `direction`.

    A Poincare section for `cj.orbit_diagram` and the classification: a crossing is a
    sign change of n.x - offset between two steps, located inside the step.

    **Arguments:**

    - `normal`: n, shape (dim,) (any length; the section is n.x = c).
    - `offset`: c, a scalar (default 0.0).
    - `direction`: +1 (default: n.x increasing), -1 (decreasing) or 0 (both).

    Example:

    ```python
    sec = cj.Hyperplane(normal=[0.0, 0.0, 1.0], offset=27.0)   # Lorenz63, z = 27 upwards
    ```
    """

    normal: Float[Array, " dim"] = eqx.field(converter=_as_float)
    offset: Float[Array, ""] = eqx.field(default=0.0, converter=_as_float)
    direction: int = eqx.field(default=1, static=True)

    def __check_init__(self):
        if self.normal.ndim != 1:
            raise ValueError(f"`normal` must be a vector, got shape {self.normal.shape}.")
        if self.direction not in (-1, 0, 1):
            raise ValueError(f"`direction` must be -1, 0 or +1, got {self.direction!r}.")

    def value(self, x: Float[Array, " dim"], f: Float[Array, " dim"]) -> Float[Array, ""]:
        return self.normal @ x - self.offset

    def describe(self) -> str:
        d = {1: "upwards", -1: "downwards", 0: "in either direction"}[self.direction]
        return (
            f"the hyperplane n.x = {float(self.offset):g} with n = {np.asarray(self.normal)} ({d})"
        )

    def check_dim(self, dim: int) -> None:
        if self.normal.shape != (dim,):
            raise ValueError(
                f"`section.normal` must have shape ({dim},), got {tuple(self.normal.shape)}."
            )


class _AbstractExtremum(AbstractSection):
    """The turning points of coordinate `coordinate`: where dx_i/dt changes sign."""

    coordinate: int = eqx.field(default=0, static=True)

    def value(self, x: Float[Array, " dim"], f: Float[Array, " dim"]) -> Float[Array, ""]:
        return f[self.coordinate]

    def check_dim(self, dim: int) -> None:
        if not 0 <= self.coordinate < dim:
            raise ValueError(
                f"`section.coordinate` must be in 0..{dim - 1}, got {self.coordinate}."
            )


class LocalMaxima(_AbstractExtremum):
    """The local maxima of coordinate `coordinate`: where dx_i/dt changes sign from + to -.

    A Poincare section for `cj.orbit_diagram` and the classification, with the section
    function s(x, f) = f_i(x); Lorenz (1963) read the chaos of his flow from the return
    map of successive maxima of z.

    **Arguments:**

    - `coordinate`: the index i of the coordinate, 0 <= i < dim (default 0).

    Example:

    ```python
    sec = cj.LocalMaxima(2)   # the z-maxima of Lorenz (1963)'s return map
    ```
    """

    direction: int = eqx.field(default=-1, static=True, init=False)

    def describe(self) -> str:
        return f"the local maxima of x[{self.coordinate}]"


class LocalMinima(_AbstractExtremum):
    """The local minima of coordinate `coordinate`: where dx_i/dt changes sign from - to +.

    A Poincare section for `cj.orbit_diagram` and the classification, with the section
    function s(x, f) = f_i(x).

    **Arguments:**

    - `coordinate`: the index i of the coordinate, 0 <= i < dim (default 0).

    Example:

    ```python
    sec = cj.LocalMinima(0)
    ```
    """

    direction: int = eqx.field(default=1, static=True, init=False)

    def describe(self) -> str:
        return f"the local minima of x[{self.coordinate}]"


Section = Hyperplane | LocalMaxima | LocalMinima
"""The sections chaosjax provides; any `AbstractSection` is accepted."""


def check_section(section: object, dim: int) -> AbstractSection:
    """`section` checked against states of `dim` coordinates; `LocalMaxima(0)` when None."""
    if section is None:
        return LocalMaxima(0)
    if not isinstance(section, AbstractSection):
        raise ValueError(
            "`section` must be cj.Hyperplane(normal, offset, direction), cj.LocalMaxima(i) "
            f"or cj.LocalMinima(i), got {section!r}."
        )
    section.check_dim(dim)
    return section


def crossed(g0: Array, g1: Array, direction: int) -> Bool[Array, ""]:
    """Whether the section function went from `g0` to `g1` across zero in `direction`."""
    up = (g0 < 0) & (g1 >= 0)
    down = (g0 > 0) & (g1 <= 0)
    return up if direction > 0 else down if direction < 0 else up | down


class Crossings(Result):
    """What `section_crossings` returns.

    - `points`: (keep, dim), the located crossings, NaN beyond `count`.
    - `times`: (keep,), the time of each crossing since the start, NaN beyond `count`.
    - `count`: the number of crossings found (at most keep).
    - `final_state`: the state after the last step taken.
    - `low`, `high`: (dim,), the minimum and maximum of each coordinate over the steps.
    - `steps`: the number of steps taken.
    """

    points: Float[Array, "keep dim"]
    times: Float[Array, " keep"]
    count: Int[Array, ""]
    final_state: Float[Array, " dim"]
    low: Float[Array, " dim"]
    high: Float[Array, " dim"]
    steps: Int[Array, ""]


def section_crossings(
    m: Map,
    section: AbstractSection,
    x: Float[Array, " dim"],
    keep: int,
    max_steps: int,
) -> Crossings:
    """Step the discretised flow `m` (an `AbstractDiscretizedFlow`: crossings are located
    with its partial step `advance`) from `x` until `keep` crossings of `section` or
    `max_steps` steps (or a non-finite state), and locate each crossing inside its step.

    The loop stores the state before each crossing; afterwards every stored step is cut at
    the root theta of G(theta) = s(m.advance(x_k, theta dt)) (`illinois`), in one `vmap`.
    """
    if not isinstance(m, AbstractDiscretizedFlow):
        raise ValueError(
            "Section crossings are located inside a step of a discretised flow (a "
            "cj.AbstractDiscretizedFlow, e.g. cj.as_map(flow, dt)), got "
            f"{type(m).__name__}."
        )
    flow = m.flow
    dim = x.shape[-1]
    nan = jnp.full((keep, dim), jnp.nan, x.dtype)

    def g_of(y):
        return section.value(y, flow.vector_field(y))

    def cond(c):
        y, g, k, n, *_ = c
        return (k < max_steps) & (n < keep) & jnp.all(jnp.isfinite(y))

    def body(c):
        y, g, k, n, buf, kbuf, lo, hi = c
        y1 = m.step(y)
        g1 = g_of(y1)
        hit = crossed(g, g1, section.direction) & jnp.all(jnp.isfinite(y1))
        slot = jnp.minimum(n, keep - 1)
        buf = buf.at[slot].set(jnp.where(hit, y, buf[slot]))
        kbuf = kbuf.at[slot].set(jnp.where(hit, k, kbuf[slot]))
        return (
            y1,
            g1,
            k + 1,
            n + hit.astype(n.dtype),
            buf,
            kbuf,
            jnp.minimum(lo, y1),
            jnp.maximum(hi, y1),
        )

    init = (x, g_of(x), jnp.asarray(0), jnp.asarray(0), nan, jnp.zeros(keep, int), x, x)
    y, _, k, n, buf, kbuf, lo, hi = jax.lax.while_loop(cond, body, init)

    def locate(y0):
        g0 = g_of(y0)
        g1 = g_of(m.step(y0))
        theta = illinois(lambda t: g_of(m.advance(y0, t * m.dt)), g0, g1)
        return m.advance(y0, theta * m.dt), theta

    safe = jnp.where(jnp.isfinite(buf), buf, x[None, :])
    pts, theta = jax.vmap(locate)(safe)
    valid = jnp.arange(keep) < n
    pts = jnp.where(valid[:, None], pts, jnp.nan)
    times = jnp.where(valid, (kbuf.astype(theta.dtype) + theta) * m.dt, jnp.nan)
    return Crossings(pts, times, n, y, lo, hi, k)
