"""The compiled XLA kernels of one chunk of a time loop, for one state or a batch.

Each kernel takes a map `m`, a state (dim,) or a batch (n, dim), and a tiling `plan`
(`_tiling.tile_plan`; None for a plain `vmap`), and is compiled once per map
structure, shapes and static arguments (`_tiling.cpu_tuned_jit`). Every output has
the batch first.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jaxtyping import Array

from ..systems import Map
from . import _tiling
from ._arguments import Observable
from ._tiling import call_per_group, cpu_tuned_jit, for_each_member


def _repeat(n: int, step: Callable, x: Array) -> Array:
    """step applied n times."""
    return jax.lax.fori_loop(0, n, lambda i, y: step(y), x)


def _summing_body(step: Callable, observable: Observable) -> Callable:
    """fori_loop body: add observable(x_k) to the sums, and step."""

    def body(i, carry):
        y, s = carry
        s = jax.tree.map(jnp.add, s, observable(y))
        return step(y), s

    return body


@cpu_tuned_jit
def iterate_chunk(m: Map, x: Array, n: int, plan=None) -> Array:
    """The state (or batch) after n steps."""
    return for_each_member(functools.partial(_repeat, n), [m.step], x, plan=plan)


@cpu_tuned_jit
def save_chunk(
    m: Map, x: Array, n_saves: int, save_every: int, plan=None, with_start: bool = False
) -> tuple[Array, Array]:
    """n_saves states, one every save_every steps; with_start: x itself first (in the
    same call, which spares a separate concatenation of the whole trajectory)."""

    def loop(step, x):
        def body(y, _):
            y = _repeat(save_every, step, y)
            return y, y

        return jax.lax.scan(body, x, None, length=n_saves)

    x_end, saved = for_each_member(loop, [m.step], x, plan=plan)
    if with_start:
        saved = jnp.concatenate([x[..., None, :], saved], axis=-2)
    return x_end, saved


@cpu_tuned_jit
def sum_chunk(m: Map, x: Array, acc: Any, observable: Observable, n: int, plan=None):
    """Advance n steps, adding observable(x_k) for the n states *before* each step."""

    def loop(step, observable, x, acc):
        return jax.lax.fori_loop(0, n, _summing_body(step, observable), (x, acc))

    return for_each_member(loop, [m.step, observable], x, acc, plan=plan)


def cumulative_chunk(
    m: Map, x: Array, acc: Any, observable: Observable, n_saves: int, save_every: int
):
    """((x_end, acc_end), sums): the running sum after every `save_every` steps."""
    return call_per_group(
        lambda x, acc, plan: _cumulative_kernel(m, x, acc, observable, n_saves, save_every, plan),
        _tiling.tile_plan(x),
        x,
        acc,
    )


@cpu_tuned_jit
def _cumulative_kernel(m, x, acc, observable, n_saves, save_every, plan):
    """`cumulative_chunk` for one group of tiles (or one state, or a plain batch)."""

    def loop(step, observable, x, acc):
        def body(carry, _):
            carry = jax.lax.fori_loop(0, save_every, _summing_body(step, observable), carry)
            return carry, carry[1]

        return jax.lax.scan(body, (x, acc), None, length=n_saves)

    return for_each_member(loop, [m.step, observable], x, acc, plan=plan)


def store_reference(m: Map, x: Array, transient: int, n_saves: int, save_every: int):
    """(x_end, saved): one state's orbit after `transient` steps, the state then and
    after each of `n_saves` blocks of `save_every` steps; the XLA kernel of the native
    stored orbit (`chaosjax.native.store`), which differentiates and checks it."""
    y = _repeat(transient, m.step, x)

    def body(z, _):
        z = _repeat(save_every, m.step, z)
        return z, z

    y_end, saved = jax.lax.scan(body, y, None, length=n_saves)
    return y_end, jnp.concatenate([y[None], saved])
