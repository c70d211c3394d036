"""Bracketed root finding inside a step (used to locate section crossings and switching
events): regula falsi with the Illinois modification (Dowell & Jarratt 1971)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import Array


def illinois(G, g0: Array, g1: Array, iterations: int = 30) -> Array:
    """A root theta in [0, 1] of G with G(0) = g0, G(1) = g1 of opposite signs (or zero):
    superlinear, and never leaves the bracket; exactly 0 when g0 = 0 (a step that starts
    on the section / manifold). A fixed number of iterations, so it runs under `vmap`
    and `jit` without data-dependent control flow."""

    def body(_, carry):
        a, fa, b, fb = carry
        denom = fb - fa
        c = jnp.where(
            denom != 0, b - fb * (b - a) / jnp.where(denom != 0, denom, 1.0), 0.5 * (a + b)
        )
        c = jnp.clip(c, jnp.minimum(a, b), jnp.maximum(a, b))
        fc = G(c)
        same = jnp.sign(fc) == jnp.sign(fb)
        return jnp.where(same, a, b), jnp.where(same, 0.5 * fa, fb), c, fc

    init = (jnp.zeros_like(g0), g0, jnp.ones_like(g1), g1)
    return jnp.where(g0 == 0, 0.0, jax.lax.fori_loop(0, iterations, body, init)[2])
