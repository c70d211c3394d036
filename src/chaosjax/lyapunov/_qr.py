"""Re-orthonormalisation of tangent vectors: V = Q R with diag(R) > 0.

`jnp.linalg.qr` on a tiny matrix is a LAPACK call per step, which costs more than the
rest of a small system's spectrum step (docs/performance.md). For small matrices the
factorisation is written out on scalars instead, so that XLA fuses it with the tangent
step into a few kernels:

- "gram_schmidt": modified Gram-Schmidt, unrolled over columns (stable: loss of
  orthogonality O(eps cond(V)));
- "cholesky": Cholesky QR (R from the Gram matrix V^T V, then Q = V R^-1), fewer
  operations than Gram-Schmidt but O(eps cond(V)^2): used only where the caller knows
  V is well conditioned (one short tangent step after the previous QR);
- "householder": `jnp.linalg.qr` with the signs of diag(R) fixed, for anything large.

Each returns (Q, log diag R); diag R is positive by construction, so the signs of
the Householder factors are fixed to match. Each also has a `.raw` form returning
(Q, g) with log diag R = log(g) / 2. (The generated-C spectrum loop of
`native/spectrum.py` runs its own modified Gram-Schmidt without normalisation, the same
factorisation to rounding.)

Square bases of dimension 2 and 3 (the whole spectrum of a small system) close the
last column instead of orthonormalising it: q_d is the unit vector orthogonal to
q_1..q_{d-1} (the perpendicular in 2-D, the cross product in 3-D) with the sign of
det V, and r_dd = |det V| / (r_11 ... r_{d-1,d-1}). This is the same factorisation
(a square Q is fixed by its first d-1 columns and the sign of its determinant), and
it takes the last column's projections, square root and division off the
step-to-step dependency chain, which bounds the speed of a small map such as Henon.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

#: Largest dimension handled by the scalar-unrolled kernels.
SMALL = 8
METHODS = ("auto", "gram_schmidt", "cholesky", "householder")


def _columns(V):
    d, k = V.shape
    return [[V[i, j] for i in range(d)] for j in range(k)]


def _stack_columns(cols):
    return jnp.stack([jnp.stack(c) for c in cols], axis=1)


def _det(cols):
    """det of a 2 x 2 or 3 x 3 matrix given by its columns (cofactor expansion)."""
    if len(cols) == 2:
        (a, c), (b, d) = cols
        return a * d - b * c
    (a, d, g), (b, e, h), (c, f, i) = cols
    return a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)


def _close(cols, qs, sq):
    """The last column of a square Q from the others, and its g = r_dd^2."""
    det = _det(cols)
    sign = jnp.where(det < 0, -1.0, 1.0).astype(det.dtype)
    if len(cols) == 2:
        (a, b) = qs[0]
        last = [-b * sign, a * sign]
    else:
        (a, b, c), (d, e, f) = qs
        last = [(b * f - c * e) * sign, (c * d - a * f) * sign, (a * e - b * d) * sign]
    prod = sq[0] if len(sq) == 1 else sq[0] * sq[1]
    return last, det * det / prod


def _closes(V) -> bool:
    return V.shape[0] == V.shape[1] and V.shape[0] in (2, 3)


def _gram_schmidt_raw(V: Float[Array, "d k"]):
    cols = _columns(V)
    closed = _closes(V)
    qs, sq = [], []
    for v in cols[:-1] if closed else cols:
        for q in qs:
            c = sum(a * b for a, b in zip(q, v))
            v = [a - c * b for a, b in zip(v, q)]
        n2 = sum(a * a for a in v)
        inv = jax.lax.rsqrt(n2)
        qs.append([a * inv for a in v])
        sq.append(n2)
    if closed:
        last, g = _close(cols, qs, sq)
        qs.append(last)
        sq.append(g)
    return _stack_columns(qs), jnp.stack(sq)


def _cholesky_raw(V: Float[Array, "d k"]):
    v = _columns(V)
    closed = _closes(V)
    k = len(v) - 1 if closed else len(v)
    G = [[sum(a * b for a, b in zip(v[i], v[j])) for j in range(k)] for i in range(k)]
    R: list[list[Any]] = [[None] * k for _ in range(k)]
    inv: list[Any] = [None] * k
    sq = []
    for j in range(k):
        for i in range(j):
            R[i][j] = (G[i][j] - sum(R[l][i] * R[l][j] for l in range(i))) * inv[i]
        rjj2 = G[j][j] - sum(R[l][j] ** 2 for l in range(j))
        inv[j] = jax.lax.rsqrt(rjj2)
        sq.append(rjj2)
    qs = []
    for j in range(k):
        col = v[j]
        for i in range(j):
            col = [a - R[i][j] * b for a, b in zip(col, qs[i])]
        qs.append([a * inv[j] for a in col])
    if closed:
        last, g = _close(v, qs, sq)
        qs.append(last)
        sq.append(g)
    return _stack_columns(qs), jnp.stack(sq)


def householder_full(V: Float[Array, "d k"]):
    """`jnp.linalg.qr` (reduced) with the signs fixed so that diag(R) > 0: Q and the
    full R (k x k), what Ginelli's backward pass needs."""
    Q, R = jnp.linalg.qr(V)
    s = jnp.where(jnp.diagonal(R) < 0, -1.0, 1.0).astype(V.dtype)
    return Q * s[None, :], R * s[:, None]


def _householder_raw(V: Float[Array, "d k"]):
    Q, R = householder_full(V)
    r = jnp.diagonal(R)
    return Q, r * r


def gram_schmidt(V: Float[Array, "d k"]) -> tuple[Float[Array, "d k"], Float[Array, " k"]]:
    """Modified Gram-Schmidt on scalars (square 2-D/3-D: last column closed); returns
    Q and log(diag R)."""
    Q, g = _gram_schmidt_raw(V)
    return Q, 0.5 * jnp.log(g)


def cholesky_qr(V: Float[Array, "d k"]) -> tuple[Float[Array, "d k"], Float[Array, " k"]]:
    """Cholesky QR on scalars (for well-conditioned V; square 2-D/3-D: last column
    closed); returns Q and log(diag R)."""
    Q, g = _cholesky_raw(V)
    return Q, 0.5 * jnp.log(g)


def householder(V: Float[Array, "d k"]) -> tuple[Float[Array, "d k"], Float[Array, " k"]]:
    """`householder_full` with log(diag R) instead of R."""
    Q, R = householder_full(V)
    return Q, jnp.log(jnp.diagonal(R))


gram_schmidt.raw = _gram_schmidt_raw
cholesky_qr.raw = _cholesky_raw
householder.raw = _householder_raw


def resolve(method: str, d: int, k: int, near_identity: bool) -> str:
    """The kernel "auto" stands for.

    `near_identity`: the tangent map between two QRs is close to the identity (one
    short step of a discretised flow), so V stays well conditioned and Cholesky QR,
    which squares the condition number, loses nothing.
    """
    if method != "auto":
        return method
    if d > SMALL or k > SMALL:
        return "householder"
    return "cholesky" if near_identity else "gram_schmidt"


KERNELS = {"gram_schmidt": gram_schmidt, "cholesky": cholesky_qr, "householder": householder}
#: The raw forms V -> (Q, g), log diag R = log(g) / 2, by the same names.
RAW_KERNELS = {
    "gram_schmidt": _gram_schmidt_raw,
    "cholesky": _cholesky_raw,
    "householder": _householder_raw,
}
