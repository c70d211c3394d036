"""Shared helpers of the sensitivity algorithms: parameter paths, observable checks,
the direction of a time dilation, and a block-tridiagonal solver.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .. import _validate as v
from .._validate import unknown_name
from ..discretize import Discretized
from ..simulate._arguments import _index_check as index_check
from ..systems import Map

ParamPath = str | Sequence[str]


def _field_names(obj: Any) -> list[str]:
    if dataclasses.is_dataclass(obj):
        return [f.name for f in dataclasses.fields(obj)]
    return []


def parameter_getter(system: Any, param: object, name: str = "param") -> ParamGetter:
    """A function `system -> leaf` for `param`: a field name ("rho"), a dotted path
    ("flow.rho") or a sequence of names (("flow", "rho")) for nested systems.

    Raises `ValueError` naming `param` when a name is unknown or the leaf is not a
    floating-point array (static fields cannot be differentiated).
    """
    if isinstance(param, str):
        parts = [p for p in param.split(".")]
    elif isinstance(param, (tuple, list)) and all(isinstance(p, str) for p in param):
        parts = list(param)
    else:
        raise ValueError(
            f"`{name}` must be a field name such as 'rho', a dotted path such as "
            f"'flow.rho', or a tuple of names; got {param!r}."
        )
    if not parts or any(not p for p in parts):
        raise ValueError(f"`{name}` must name a parameter, got {param!r}.")
    obj = system
    for i, part in enumerate(parts):
        fields = _field_names(obj)
        if part not in fields:
            where = type(obj).__name__ if i == 0 else ".".join(parts[:i])
            err = unknown_name(part, fields or ["(no fields)"], f"`{name}`: parameter of {where}")
            raise ValueError(str(err)) from None
        obj = getattr(obj, part)
    if not eqx.is_array(obj) or not jnp.issubdtype(jnp.asarray(obj).dtype, jnp.floating):
        raise ValueError(
            f"`{name}` {'.'.join(parts)!r} is not a floating-point array parameter "
            f"(got {type(obj).__name__}); static fields cannot be differentiated."
        )

    return ParamGetter(tuple(parts))


@dataclasses.dataclass(frozen=True)
class ParamGetter:
    """`system -> system.a.b...`: hashable and compared by path, so jitted functions that
    take it as a static argument compile once per path, not once per call."""

    parts: tuple[str, ...]

    def __call__(self, s: Any) -> Any:
        for part in self.parts:
            s = getattr(s, part)
        return s

    def under(self, prefix: tuple[str, ...]) -> ParamGetter:
        """The same parameter reached from a system that holds this one at `prefix`."""
        return ParamGetter(tuple(prefix) + self.parts)


def with_parameter(system: Any, get: Callable[[Any], Array], value: Array) -> Any:
    """A copy of `system` whose parameter `get` is `value` (traceable)."""
    return eqx.tree_at(get, system, value)


def vector_field_step(m: Map) -> Callable[[Array], Array] | None:
    """x -> dt f(x) for a discretised flow (the direction of a time dilation), else None."""
    if isinstance(m, Discretized):
        return lambda x: m.dt * m.flow.vector_field(x)
    return None


def check_scalar_observable(observable: object, dim: int, dtype: Any, x: Any = None) -> None:
    """`observable` must map a state (dim,) to a real scalar; `ValueError` otherwise.
    With a concrete state `x` (dim,) or (n, dim), an index out of range (which JAX
    would clamp) is found by a call on a NumPy copy of the first state."""
    if not callable(observable):
        raise ValueError(f"`observable` must be a callable x -> scalar, got {observable!r}.")
    if x is not None and v.is_concrete(x):
        index_check(observable, np.array(x).reshape(-1, dim)[0])
    try:
        out = jax.eval_shape(observable, jax.ShapeDtypeStruct((dim,), dtype))
    except Exception as e:  # noqa: BLE001 - re-raised with the argument named
        raise ValueError(
            f"`observable` failed on a state of shape ({dim},): {type(e).__name__}: {e}"
        ) from e
    leaves = jax.tree_util.tree_leaves(out)
    if (
        len(leaves) != 1
        or leaves[0].shape != ()
        or not (
            jnp.issubdtype(leaves[0].dtype, jnp.floating)
            or jnp.issubdtype(leaves[0].dtype, jnp.integer)
        )
    ):
        shapes = [getattr(leaf, "shape", None) for leaf in leaves]
        raise ValueError(
            "`observable` must return a real scalar (shape ()), e.g. `lambda x: x[2]`; "
            f"got output shape(s) {shapes}."
        )


@dataclasses.dataclass(frozen=True)
class ScalarObservable:
    """The user's observable as a 0-d array of the state's dtype; hashable by the wrapped
    function, so repeated calls with the same observable reuse compilations."""

    fn: Callable

    def __call__(self, x):
        return jnp.asarray(self.fn(x), dtype=x.dtype).reshape(())


def scalar_observable(observable: Callable) -> ScalarObservable:
    """`observable` wrapped as a `ScalarObservable`."""
    return ScalarObservable(observable)


# --------------------------------------------------------------------------- linear algebra


#: Largest block for which the SPD inverse is unrolled Gauss-Jordan in plain array ops;
#: a LAPACK call per tiny block costs more than the arithmetic (docs/performance.md).
SMALL_BLOCK = 8


def spd_inverse(a: Float[Array, "k k"]) -> Float[Array, "k k"]:
    """Inverse of a symmetric positive-definite matrix: Gauss-Jordan without pivoting
    (stable for SPD: every pivot is a Schur complement's diagonal, hence positive) when
    small, `jnp.linalg.inv` otherwise; symmetrised."""
    k = a.shape[-1]
    if k > SMALL_BLOCK:
        inv = jnp.linalg.inv(a)
    else:
        m = jnp.concatenate([a, jnp.eye(k, dtype=a.dtype)], axis=1)
        for i in range(k):
            row = m[i] / m[i, i]
            col = m[:, i].at[i].set(0.0)
            m = (m - jnp.outer(col, row)).at[i].set(row)
        inv = m[:, k:]
    return 0.5 * (inv + inv.T)


def block_tridiagonal_solve(
    diag: Float[Array, "n k k"], lower: Float[Array, "n-1 k k"], rhs: Float[Array, "n k"]
) -> Float[Array, "n k"]:
    """Solve A x = rhs for a symmetric positive-definite block-tridiagonal A.

    A has diagonal blocks `diag[i]` and sub-diagonal blocks `lower[i] = A[i+1, i]`
    (so the super-diagonal blocks are their transposes). Block LDL^T elimination
    (the block Thomas algorithm) in two `lax.scan`s: O(n k^3) time and O(n k^2)
    memory, never a dense (n k) x (n k) matrix. For an SPD matrix every Schur
    complement is SPD, so no pivoting is needed.
    """
    n = diag.shape[0]
    if n == 1:
        return jnp.linalg.solve(diag[0], rhs[0][:, None])[:, 0][None]

    def forward(carry, inputs):
        s_inv_prev, y_prev = carry
        d, e_prev, r = inputs  # e_prev = A[i, i-1]
        m = e_prev @ s_inv_prev
        s = d - m @ e_prev.T
        y = r - m @ y_prev
        s_inv = spd_inverse(s)
        return (s_inv, y), (s_inv, y)

    s0_inv = spd_inverse(diag[0])
    _, (s_invs, ys) = jax.lax.scan(forward, (s0_inv, rhs[0]), (diag[1:], lower, rhs[1:]))
    s_invs = jnp.concatenate([s0_inv[None], s_invs])
    ys = jnp.concatenate([rhs[:1], ys])

    def backward(x_next, inputs):
        s_inv, y, e = inputs  # e = A[i+1, i]; A[i, i+1] = e^T
        x = s_inv @ (y - e.T @ x_next)
        return x, x

    x_last = s_invs[-1] @ ys[-1]
    _, xs = jax.lax.scan(backward, x_last, (s_invs[:-1], ys[:-1], lower), reverse=True)
    return jnp.concatenate([xs, x_last[None]])
