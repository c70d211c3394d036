"""The Kaplan-Yorke (Lyapunov) dimension of an attractor from its exponents."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .. import _validate as v


def kaplan_yorke_dimension(exponents: Float[ArrayLike, "*batch k"]) -> Float[Array, "*batch"]:
    """The Kaplan-Yorke (Lyapunov) dimension of an attractor from its exponents.

    D_KY = j + (lam_1 + ... + lam_j) / |lam_{j+1}|, j the largest index with a
    non-negative partial sum (Kaplan & Yorke 1979, Lecture Notes in Math. 730, 204).
    The exponents are sorted descending first. If even lam_1 < 0 the dimension is 0; if
    every partial sum is non-negative it is k (the number of exponents given).
    Traceable (works under `jit`/`vmap`); leading batch axes are kept.

    **Arguments:**

    - `exponents`: shape (..., k) with k >= 1, real and finite, in any order and any
      unit (the ratio is unit-free). Raises `ValueError` otherwise (finiteness is
      checked where the values are concrete, not under `jit`).

    **Returns:**

    The dimension, shape (...).

    Example:

    ```python
    cj.kaplan_yorke_dimension(jnp.array([0.9056, 0.0, -14.5723]))   # 2.0621
    ```
    """
    lam = v.real_array(exponents, "exponents")
    if lam.ndim < 1 or lam.shape[-1] < 1:
        raise ValueError(
            f"`exponents` must have shape (..., k) with k >= 1, got shape {tuple(lam.shape)}."
        )
    v.finite(lam, "exponents")
    lam = -jnp.sort(-lam, axis=-1)
    k = lam.shape[-1]
    # Partial sums added in order, as the definition reads (a prefix sum by a tree of
    # additions rounds otherwise, and flips the count where a partial sum is near 0).
    _, csum = jax.lax.scan(lambda c, x: (c + x, c + x), jnp.zeros_like(lam[..., 0]),
                           jnp.moveaxis(lam, -1, 0))  # fmt: skip
    csum = jnp.moveaxis(csum, 0, -1)
    # Partial sums of a descending sequence are concave: non-negative ones come first.
    j = jnp.sum(csum >= 0, axis=-1)
    jj = jnp.clip(j, 1, k)
    sum_j = jnp.take_along_axis(csum, (jj - 1)[..., None], axis=-1)[..., 0]
    nxt = jnp.take_along_axis(lam, jnp.clip(jj, 0, k - 1)[..., None], axis=-1)[..., 0]
    frac = sum_j / jnp.abs(nxt)
    return jnp.where(j == 0, 0.0, jnp.where(j >= k, float(k), j.astype(frac.dtype) + frac))
