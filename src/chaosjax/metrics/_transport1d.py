"""Exact one-dimensional optimal transport between empirical distributions, in JAX.

In one dimension the optimal plan is monotone, so W_p^p is the integral over the
quantile levels q in (0, 1] of |Q_a(q) - Q_b(q)|^p, Q the quantile functions, which
are step functions of the sorted samples (Villani 2003, Topics in Optimal
Transportation, Thm 2.18; Peyre & Cuturi 2019, Computational Optimal Transport,
Found. Trends Mach. Learn. 11, Remark 2.30). Everything here works column by
column on sorted arrays (n, k), so that a run sorted once serves every pair it is in.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from .._config import x64_enabled


def _flip(bits: jax.Array) -> jax.Array:
    # IEEE-754 bits read as signed ints order non-negative floats correctly and
    # negative ones backwards; flipping all but the sign bit of the negatives makes
    # the map monotone, and it is its own inverse.
    mask = jnp.array(jnp.iinfo(bits.dtype).max, dtype=bits.dtype)
    return bits ^ ((bits >> (bits.dtype.itemsize * 8 - 1)) & mask)


@jax.custom_jvp
def sort_columns(x: jax.Array) -> jax.Array:
    """Every column of `x` (n, k) sorted ascending, the values of `jnp.sort(x, axis=0)`.

    XLA's CPU sort compares floats with a total-order comparator that is several times
    slower than its integer comparison, so the floats are sorted as order-preserving
    integer keys and converted back; the values are unchanged bit for bit. The integer
    detour has no derivative, so derivatives are those of `jnp.sort`.
    """
    itype = {2: jnp.int16, 4: jnp.int32, 8: jnp.int64}[x.dtype.itemsize]
    keys = lax.sort(_flip(lax.bitcast_convert_type(x.T, itype)), dimension=1, is_stable=False)
    return lax.bitcast_convert_type(_flip(keys), x.dtype).T


@sort_columns.defjvp
def _sort_columns_jvp(primals, tangents):
    return jax.jvp(lambda x: jnp.sort(x, axis=0), primals, tangents)


def _power(d: jax.Array, p: float) -> jax.Array:
    return d if p == 1.0 else (d * d if p == 2.0 else d**p)


def wasserstein_pp_sorted(sa: jax.Array, sb: jax.Array, p: float) -> jax.Array:
    """W_p^p per column between sorted samples `sa` (n, k) and `sb` (m, k), shape (k,).

    Equal sizes: the mean of |sa - sb|^p, the matching of the i-th smallest values.
    Unequal sizes: the quantile integral, summed over the intervals between the merged
    levels {i/n} and {j/m}. Each interval ends at one level; the interval ending at
    the a-level i/n starts at max((i-1)/n, jb/m), with jb = ceil(i m/n) - 1 the number
    of b-levels below i/n, and there Q_a = sa[i-1], Q_b = sb[jb]; an interval ending
    at a b-level j/m (and at no a-level) starts at max((j-1)/m, ia/n), ia = floor(j n/m),
    with Q_b = sb[j-1], Q_a = sa[ia]. Where levels coincide the b-interval has length 0.
    No merge sort is needed: jb, ia and the lengths times n m are exact integers
    (XLA would turn a float i m / n into i (m / n) and round the wrong way).
    """
    n, m = sa.shape[0], sb.shape[0]
    if n == m:
        return jnp.mean(_power(jnp.abs(sa - sb), p), axis=0)
    itype = jnp.int64 if x64_enabled() else jnp.int32
    if jnp.iinfo(itype).max // n < m:
        raise ValueError(
            f"`b`: unequal sample sizes n = {n}, m = {m} need n m < 2^31 without float64; "
            "call cj.enable_x64()."
        )
    i = jnp.arange(1, n + 1, dtype=itype)
    jb = (i * m - 1) // n
    len_a = i * m - jnp.maximum((i - 1) * m, jb * n)
    j = jnp.arange(1, m + 1, dtype=itype)
    ia = (j * n) // m
    len_b = j * n - jnp.maximum((j - 1) * n, ia * m)
    qb = jnp.take(sb, jb, axis=0)
    qa = jnp.take(sa, jnp.minimum(ia, n - 1), axis=0)
    term_a = len_a.astype(sa.dtype)[:, None] * _power(jnp.abs(sa - qb), p)
    term_b = len_b.astype(sa.dtype)[:, None] * _power(jnp.abs(sb - qa), p)
    return (jnp.sum(term_a, axis=0) + jnp.sum(term_b, axis=0)) / (float(n) * float(m))
