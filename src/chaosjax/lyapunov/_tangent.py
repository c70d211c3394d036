"""Tangent dynamics of a one-step map: how a step moves a state and a tangent basis.

Every Lyapunov algorithm here is written against a push: (x, Q, u) -> (F(x), M Q),
where M is the Jacobian of the step (forward) or its inverse (inverted maps) and `u`
an optional per-step driving input. Pushes are equinox Modules holding the map, so
`jit` sees the map's parameters as arrays and compiles once per shape.
"""

from __future__ import annotations

from typing import TypeGuard

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array

from .._iterate import step
from ..discretize import Discretized
from ..solvers import adaptive_step
from ..systems import Flow, InvertibleMap, Map
from ._qr import SMALL


def _matmul_small(J: Array, Q: Array) -> Array:
    if J.shape[0] <= SMALL:
        # Broadcast-and-sum fuses with the rest of the step; a dot is a library call.
        return jnp.sum(J[:, :, None] * Q[None, :, :], axis=1)
    return J @ Q


class ForwardPush(eqx.Module):
    """(x, Q, u) -> (F(x), DF(x) Q), by `jax.linearize` or the analytic Jacobian."""

    m: Map
    use_jacobian: bool = eqx.field(static=True)

    def __call__(self, x, Q, u=None):
        if self.use_jacobian and u is None:
            return self.m.step(x), _matmul_small(self.m.jacobian(x), Q)
        x_next, lin = jax.linearize(lambda y: step(self.m, y, u), x)
        return x_next, jax.vmap(lin, in_axes=1, out_axes=1)(Q)


class _Variational(Flow):
    """A flow and its variational equations: y = (x, Q) flattened, dy/dt =
    (f(x), Df(x) Q). Integrating it adaptively gives the tangent map of the flow map
    with the solver's error control over the tangent vectors too."""

    flow: Flow
    k: int = eqx.field(static=True)

    def vector_field(self, y):
        d = y.shape[0] // (1 + self.k)
        fx, lin = jax.linearize(self.flow.vector_field, y[:d])
        V = jax.vmap(lin, in_axes=1, out_axes=1)(y[d:].reshape(d, self.k))
        return jnp.concatenate([fx, V.reshape(-1)])

    def default_state(self):
        x = self.flow.default_state()
        return jnp.concatenate([x, jnp.zeros(x.shape[0] * self.k, x.dtype)])


class AdaptivePush(eqx.Module):
    """(x, Q) -> (F(x), DF(x) Q) for a flow discretised with an adaptive diffrax
    solver. diffrax's default adjoint is reverse-mode only (a custom_vjp), so the
    tangent map comes from solving the variational equations alongside the state."""

    m: Discretized

    def __call__(self, x, Q, u=None):
        d, k = Q.shape
        m = self.m
        y0 = jnp.concatenate([x, Q.reshape(-1)])
        y = adaptive_step(
            _Variational(m.flow, k), y0, m.dt, solver=m.solver, rtol=m.rtol, atol=m.atol
        )
        return y[:d], y[d:].reshape(d, k)


def _is_adaptive(m: Map) -> TypeGuard[Discretized]:
    return isinstance(m, Discretized) and m.adaptive


class InversePush(eqx.Module):
    """(x, Q, u) -> (F(x), DF(x)^-1 Q): the tangent map of F^-1 at F(x).

    Uses the derivative of `inverse_step` at F(x) when the map has one (exact), else
    solves with the forward Jacobian. Either way the state moves *forward*: the
    inverted map is a repeller and cannot be iterated.
    """

    m: Map

    def __call__(self, x, Q, u=None):
        m = self.m
        if isinstance(m, InvertibleMap) and m.has_inverse and u is None:
            x_next = m.step(x)
            _, lin = jax.linearize(m.inverse_step, x_next)
            return x_next, jax.vmap(lin, in_axes=1, out_axes=1)(Q)
        if u is None and _is_adaptive(m):
            x_next, J = AdaptivePush(m)(x, jnp.eye(x.shape[0], dtype=x.dtype))
            return x_next, jnp.linalg.solve(J, Q)
        if u is None and m.has_analytic_jacobian:
            J = m.jacobian(x)
        else:
            J = jax.jacfwd(lambda y: step(m, y, u))(x)
        return step(m, x, u), jnp.linalg.solve(J, Q)


class TimeFixedPush(eqx.Module):
    """The push of a time-dependent flow's map, which acts on y = (x, t), restricted to
    tangent vectors of x at fixed t: (y, Q, u) -> (F(y), D_x F_x(y) Q).

    The Jacobian of (x, t) -> (F_x, t + dt) is [[D_x F_x, d_t F_x], [0, 1]]: the
    x-subspace (tangent vectors with no t component) is invariant, so padding Q with a
    zero t row and dropping that row after the push gives D_x F_x Q exactly, and the
    exponents are those of the non-autonomous system, without the zero of the time."""

    push: eqx.Module

    def __call__(self, x, Q, u=None):
        padded = jnp.concatenate([Q, jnp.zeros((1, Q.shape[1]), Q.dtype)])
        x_next, V = self.push(x, padded, u)  # pyright: ignore[reportCallIssue]
        return x_next, V[:-1]

    @property
    def m(self):
        return self.push.m  # pyright: ignore[reportAttributeAccessIssue]


def forward_push(m: Map, *, driven: bool = False, use_jacobian: bool = False):
    """The forward push of `m`: `AdaptivePush` for an adaptively discretised flow
    (unless driven by inputs), else `ForwardPush` (`use_jacobian`: the map's analytic
    Jacobian instead of `jax.linearize`)."""
    if _is_adaptive(m) and not driven:
        return AdaptivePush(m)
    return ForwardPush(m, bool(use_jacobian))
