"""Derivatives of finite-time averages by automatic differentiation through the orbit.

For a one-step map x_{k+1} = phi(x_k; p) and the finite-time average

    J_N(p) = (1/N) sum_{k=0}^{N-1} S(x_k),

the derivative dJ_N/dp is well defined for every N, and autodiff computes it exactly
(forward mode: the tangent v_k = dx_k/dp obeys v_{k+1} = Dphi(x_k) v_k + dphi/dp(x_k);
reverse mode: the adjoint runs backwards). For a chaotic system v_k grows like
exp(lambda_1 k dt), so dJ_N/dp is *not* an estimate of `d<S>/dp` for long N (see
`sensitivity_blowup_table`, and the blog post "Chaotic Dynamical Systems Using JAX", UW
PLSE, 2026, https://uwplse.org/2026/06/16/jax.html, section 5); use
`shadowing_sensitivity` for that.

The initial state (after the discarded `transient`) is held fixed: only the
dependence of the N averaged steps on p is differentiated.
"""

import abc
import functools
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .. import _validate as v
from .._divergence import blame_non_finite
from .._results import Result
from ..discretize import as_map
from ..simulate import final_state
from ..systems import Flow, Map
from ._common import (
    ParamPath,
    check_scalar_observable,
    parameter_getter,
    scalar_observable,
    with_parameter,
)

# Type checkers know ClassVar, not equinox's run-time check that subclasses set it (which
# needs the annotation evaluated: no `from __future__ import annotations` in this module).
if TYPE_CHECKING:
    from typing import ClassVar as AbstractClassVar
else:
    from equinox import AbstractClassVar


class FiniteTimeGradient(Result):
    """The derivative of a finite-time average with respect to one parameter (what
    `finite_time_gradient` returns).

    **Attributes:**

    - `gradient`: (*batch, *param_shape), `d/dp (1/N) sum_{k<N} S(x_k)`.
    - `average`: (*batch,), the finite-time average itself.
    - `steps`: N; `time`: N times the time per step (N for maps).
    - `mode`: "forward" (jvp) or "reverse" (grad with checkpointed chunks).
    """

    gradient: Array
    average: Array
    steps: int = eqx.field(static=True)
    time: float = eqx.field(static=True)
    mode: str = eqx.field(static=True)


# --------------------------------------------------------------------------- preparation


def prepare_map(system: object, dt, solver: str) -> tuple[Map, tuple[str, ...]]:
    """The one-step map of `system` (`as_map`) and the path from that map to the user's
    system: a parameter of a flow lives on the discretised map's `flow`."""
    m = as_map(system, dt, solver)
    return m, ("flow",) if m is not system else ()


def spin_up(system, x, transient: int, dt, solver: str) -> Array:
    """`x` after `transient` steps of `system` (`x` itself for no transient)."""
    if transient == 0:
        return x
    return final_state(system, x, steps=transient, dt=dt, solver=solver)


# --------------------------------------------------------------------------- kernels


def _forward_one(
    m: Map, get: Callable, obs: Callable, x: Array, p_dot: Array, increments: tuple[int, ...]
) -> tuple[Array, Array]:
    """Cumulative (sum S, sum dS/dp) after each of `increments` more steps (forward mode)."""
    p = get(m)

    def stepf(p, x):
        return with_parameter(m, get, p).step(x)

    def body(_, carry):
        x, v, s, g = carry
        j, dj = jax.jvp(obs, (x,), (v,))
        x, v = jax.jvp(stepf, (p, x), (p_dot, v))
        return x, v, s + j, g + dj

    carry = (x, jnp.zeros_like(x), jnp.zeros((), x.dtype), jnp.zeros((), x.dtype))
    sums, grads = [], []
    for n in increments:
        carry = jax.lax.fori_loop(0, n, body, carry)
        sums.append(carry[2])
        grads.append(carry[3])
    return jnp.stack(sums), jnp.stack(grads)


@eqx.filter_jit
def forward_cumulative(
    m: Map, get: Callable, obs: Callable, x: Array, increments: tuple[int, ...]
) -> tuple[Array, Array]:
    """Sums of S and of dS/dp after cumsum(increments) steps, for x (dim,) or (n, dim).

    Returns (sums, grads) of shapes (*batch, horizons) and (*batch, horizons, *param).
    """
    p = get(m)
    shape = jnp.shape(p)
    size = int(np.prod(shape)) if shape else 1
    basis = jnp.eye(size, dtype=x.dtype).reshape((size,) + shape)

    def one(x):
        sums, grads = jax.vmap(lambda e: _forward_one(m, get, obs, x, e, increments))(basis)
        # sums is the same for every direction; grads (size, horizons) -> (horizons, *shape)
        return sums[0], jnp.moveaxis(grads, 0, -1).reshape(grads.shape[1:] + shape)

    return jax.vmap(one)(x) if x.ndim == 2 else one(x)


def _default_chunk(steps: int) -> int:
    return max(1, int(math.isqrt(steps)))


@eqx.filter_jit
def reverse_gradient(
    m: Map, get: Callable, obs: Callable, x: Array, steps: int, chunk: int
) -> tuple[Array, Array]:
    """(average, gradient) by reverse mode; each chunk of `chunk` steps is rematerialised
    (`jax.checkpoint`), so memory is O(steps/chunk + chunk) states, not O(steps)."""

    def objective(p, x):
        mm = with_parameter(m, get, p)

        def inner(carry, _):
            y, s = carry
            return (mm.step(y), s + obs(y)), None

        @functools.partial(jax.checkpoint, static_argnums=(1,))
        def run_chunk(carry, length):
            return jax.lax.scan(inner, carry, None, length=length)[0]

        n_chunks, rest = divmod(steps, chunk)
        carry = (x, jnp.zeros((), x.dtype))
        if n_chunks:
            carry, _ = jax.lax.scan(
                lambda c, _: (run_chunk(c, chunk), None), carry, None, length=n_chunks
            )
        if rest:
            carry = run_chunk(carry, rest)
        return carry[1] / steps

    def one(x):
        return jax.value_and_grad(objective)(get(m), x)

    return jax.vmap(one)(x) if x.ndim == 2 else one(x)


# --------------------------------------------------------------------------- modes


class AbstractGradientMode(eqx.Module):
    """How `finite_time_gradient` and `sensitivity_blowup_table` differentiate through
    the orbit: `ForwardMode()` or `ReverseMode(chunk_size=...)`.

    Subclasses implement `averages_and_gradients`; `name` is the string the result
    reports (`FiniteTimeGradient.mode`).

    Example:

    ```python
    mode = cj.sensitivity.ReverseMode(chunk_size=100)
    isinstance(mode, cj.sensitivity.AbstractGradientMode)   # True
    ```
    """

    name: AbstractClassVar[str]

    @abc.abstractmethod
    def averages_and_gradients(
        self, m: Map, get: Callable, obs: Callable, x: Array, steps: tuple[int, ...]
    ) -> tuple[Array, Array]:
        """For each N of the increasing `steps`: `(1/N) sum_{k<N} S(x_k)` and its derivative
        d/dp, of shapes (*batch, horizons) and (*batch, horizons, *param_shape)."""


class ForwardMode(AbstractGradientMode):
    """Forward mode: the tangent dx_k/dp is carried next to the state (`jax.jvp`).

    One pass to the longest horizon reads every shorter one on the way, and no orbit is
    stored: the natural mode for a scalar parameter. Takes no options.

    Example:

    ```python
    lor = cj.systems.Lorenz63()
    x0 = cj.final_state(lor, lor.default_state(), steps=10_000, dt=0.005)
    cj.finite_time_gradient(lor, "rho", lambda x: x[2], x0, 200, dt=0.005,
                            mode=cj.sensitivity.ForwardMode())
    ```
    """

    name: ClassVar[str] = "forward"

    def averages_and_gradients(
        self, m: Map, get: Callable, obs: Callable, x: Array, steps: tuple[int, ...]
    ) -> tuple[Array, Array]:
        increments = tuple(np.diff((0,) + steps).tolist())
        sums, grads = forward_cumulative(m, get, obs, x, increments)
        n = jnp.asarray(steps, x.dtype).reshape((1,) * (x.ndim - 1) + (len(steps),))
        per_step = n.reshape(n.shape + (1,) * jnp.ndim(get(m)))
        return sums / n, grads / per_step


class ReverseMode(AbstractGradientMode):
    """Reverse mode: `jax.value_and_grad` through the orbit, one pass per horizon. The
    scan is split into chunks, each under `jax.checkpoint`, so the adjoint stores
    O(N / chunk_size + chunk_size) states instead of N.

    **Arguments:**

    - `chunk_size`: steps per checkpointed chunk, a positive int. Default None:
      sqrt(N), which makes the memory O(sqrt N) states.

    Example:

    ```python
    lor = cj.systems.Lorenz63()
    x0 = cj.final_state(lor, lor.default_state(), steps=10_000, dt=0.005)
    cj.finite_time_gradient(lor, "rho", lambda x: x[2], x0, 200, dt=0.005,
                            mode=cj.sensitivity.ReverseMode(chunk_size=20))
    ```
    """

    chunk_size: int | None = eqx.field(default=None, static=True)
    name: ClassVar[str] = "reverse"

    def __check_init__(self):
        if self.chunk_size is not None:
            v.positive_int(self.chunk_size, "chunk_size")

    def averages_and_gradients(
        self, m: Map, get: Callable, obs: Callable, x: Array, steps: tuple[int, ...]
    ) -> tuple[Array, Array]:
        rows = []
        for n in steps:
            chunk = _default_chunk(n) if self.chunk_size is None else int(self.chunk_size)
            rows.append(reverse_gradient(m, get, obs, x, n, min(chunk, n)))
        axis = x.ndim - 1  # the horizon axis comes after the batch axis
        return (
            jnp.stack([avg for avg, _ in rows], axis=axis),
            jnp.stack([grad for _, grad in rows], axis=axis),
        )


#: The string shorthands of `mode`, each for the mode with its default options.
GRADIENT_MODES: dict[str, Callable[[], AbstractGradientMode]] = {
    "forward": ForwardMode,
    "reverse": ReverseMode,
}


def as_gradient_mode(mode: object) -> AbstractGradientMode:
    """`mode` as an `AbstractGradientMode`: itself, or the default object of a shorthand."""
    if isinstance(mode, AbstractGradientMode):
        return mode
    if not isinstance(mode, str):
        raise ValueError(
            "`mode` must be a gradient mode (ForwardMode(), ReverseMode()) or one of "
            f"{list(GRADIENT_MODES)}, got {mode!r}."
        )
    return GRADIENT_MODES[v.one_of(mode, "mode", GRADIENT_MODES)]()


# --------------------------------------------------------------------------- public API


def finite_time_gradient(
    system: Flow | Map,
    param: ParamPath,
    observable: Callable[[Array], ArrayLike],
    x0: Float[ArrayLike, "*batch dim"],
    steps: int,
    *,
    dt: float | None = None,
    solver: str = "rk4",
    transient: int = 0,
    mode: AbstractGradientMode | str = "forward",
) -> FiniteTimeGradient:
    """The derivative of a finite-time average, d/dp (1/N) sum_{k=0}^{N-1} S(x_k), by
    autodiff through the simulation.

    Differentiates through the simulation of the one-step map (the flow discretised
    with `solver` and `dt`), in forward mode (the tangent dx_k/dp by `jax.jvp`) or in
    reverse mode (`jax.value_and_grad` with checkpointed chunks, O(sqrt N) memory).
    The state after `transient` steps is the fixed initial condition. Batched over
    initial conditions when `x0` is (n, dim).

    For chaotic systems the result grows like exp(lambda_1 T) with the horizon T and
    is no estimate of `d<S>/dp` at long T: see `sensitivity_blowup_table` and
    `shadowing_sensitivity`.

    **Arguments:**

    - `system`: a `cj.Flow` or `cj.Map`.
    - `param`: a field name ("rho"), or a path ("flow.rho", ("flow", "rho")) for
      nested systems; the leaf may be a scalar or an array.
    - `observable`: S, a state (dim,) -> scalar.
    - `x0`: (dim,) or (n, dim); `steps`: N (after `transient`).
    - `dt`, `solver`: the discretisation of a flow (None for maps).
    - `transient`: steps discarded before the average starts.
    - `mode`: `ForwardMode()` or `ReverseMode(chunk_size=...)` (in
      `chaosjax.sensitivity`), or the shorthand "forward" (default) or "reverse" for
      its defaults.

    **Returns:**

    A `FiniteTimeGradient` (`gradient` of shape (*batch, *param_shape)).

    Example:

    ```python
    lor = cj.systems.Lorenz63()
    x0 = cj.final_state(lor, lor.default_state(), steps=10_000, dt=0.005)
    g = cj.finite_time_gradient(lor, "rho", lambda x: x[2], x0, steps=200, dt=0.005)
    g.gradient     # ~ 1 at T = 1 for most x0 on the attractor
    ```
    """
    m, unwrap = prepare_map(system, dt, solver)
    get = parameter_getter(system, param).under(unwrap)
    transient = v.step_count(transient, "transient", positive=False)
    steps = v.step_count(steps, "steps", total=transient)
    mode = as_gradient_mode(mode)
    x = v.state(x0, system.dim, "x0")
    check_scalar_observable(observable, system.dim, x.dtype, x)
    obs = scalar_observable(observable)
    x = spin_up(system, x, transient, dt, solver)
    averages, gradients = mode.averages_and_gradients(m, get, obs, x, (steps,))
    avg, grad = averages[..., 0], gradients[(Ellipsis, 0) + (slice(None),) * jnp.ndim(get(m))]
    if not bool(jnp.all(jnp.isfinite(avg))):
        blame_non_finite(m, obs, x, steps, transient, "finite_time_gradient")
        raise ValueError(
            "the gradient is not finite along a finite orbit; check `x0`, `dt` and the parameters."
        )
    return FiniteTimeGradient(
        gradient=grad,
        average=avg,
        steps=steps,
        time=steps * float(m.time_per_step),
        mode=mode.name,
    )


def horizon_steps(horizons: Sequence[float], time_per_step: float) -> tuple[int, ...]:
    """The number of steps of each horizon (rounded); a horizon under one step raises."""
    out = []
    for T in horizons:
        n = int(round(float(T) / time_per_step))
        if n < 1:
            raise ValueError(
                f"`horizons` must be at least one step ({time_per_step:g}) long, got {T!r}."
            )
        out.append(n)
    return tuple(out)
