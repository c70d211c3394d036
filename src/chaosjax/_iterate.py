"""Iterating a one-step map: one step, driven or not, and n steps with no state stored.

Every loop of the library over a map's orbit is built from these (the simulation
kernels add tiling and observables on top).
"""

from __future__ import annotations

import jax
from jaxtyping import Array, Float

from .systems import DrivenMap, Map


def step(m: Map, x: Float[Array, " dim"], u: Array | None = None) -> Float[Array, " dim"]:
    """F(x), or F(x, u) for an input-driven map (`cj.systems.DrivenMap`)."""
    if u is None:
        return m.step(x)
    if not isinstance(m, DrivenMap):
        raise ValueError(f"{type(m).__name__} is not a cj.systems.DrivenMap: it takes no input.")
    return m.driven_step(x, u)


def iterate(
    m: Map, x: Float[Array, " dim"], n: int, inputs: Array | None = None
) -> Float[Array, " dim"]:
    """`x` after `n` steps of `m` (`n` a static int; no states stored), driven by the
    first `n` rows of `inputs` when given."""
    if n == 0:
        return x
    if inputs is None:
        return jax.lax.fori_loop(0, n, lambda i, y: m.step(y), x)
    return jax.lax.scan(lambda y, u: (step(m, y, u), None), x, inputs[:n])[0]
