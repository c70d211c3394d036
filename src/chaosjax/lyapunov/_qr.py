"""Re-orthonormalisation of tangent vectors: V = Q R with diag(R) > 0.

`jnp.linalg.qr` on a tiny matrix is a LAPACK call of ~2 us, which dominates a
spectrum step (PERFORMANCE.md). For small matrices the factorisation is written out
on scalars instead, so that XLA fuses it with the tangent step into a few kernels:

- "gram_schmidt": modified Gram-Schmidt, unrolled over columns (stable: loss of
  orthogonality O(eps cond(V)));
- "cholesky": Cholesky QR (R from the Gram matrix V^T V, then Q = V R^-1), about
  twice as fast for 3 x 3 but O(eps cond(V)^2): used only where the caller knows V
  is well conditioned (one short tangent step after the previous QR);
- "householder": `jnp.linalg.qr` with the signs of diag(R) fixed, for anything large.

Each returns (Q, log diag R); diag R is positive by construction, so the signs of
the Householder factors are fixed to match.
"""

from __future__ import annotations

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


def gram_schmidt(V: Float[Array, "d k"]) -> tuple[Float[Array, "d k"], Float[Array, " k"]]:
    """Modified Gram-Schmidt on scalars; returns Q and log(diag R)."""
    qs, sq = [], []
    for v in _columns(V):
        for q in qs:
            c = sum(a * b for a, b in zip(q, v))
            v = [a - c * b for a, b in zip(v, q)]
        n2 = sum(a * a for a in v)
        inv = jax.lax.rsqrt(n2)
        qs.append([a * inv for a in v])
        sq.append(n2)
    return _stack_columns(qs), 0.5 * jnp.log(jnp.stack(sq))


def cholesky_qr(V: Float[Array, "d k"]) -> tuple[Float[Array, "d k"], Float[Array, " k"]]:
    """Cholesky QR on scalars (for well-conditioned V); returns Q and log(diag R)."""
    v = _columns(V)
    k = len(v)
    G = [[sum(a * b for a, b in zip(v[i], v[j])) for j in range(k)] for i in range(k)]
    R = [[None] * k for _ in range(k)]
    inv, sq = [None] * k, []
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
    return _stack_columns(qs), 0.5 * jnp.log(jnp.stack(sq))


def householder(V: Float[Array, "d k"]) -> tuple[Float[Array, "d k"], Float[Array, " k"]]:
    """`jnp.linalg.qr` (reduced) with the signs of diag(R) made positive."""
    Q, R = jnp.linalg.qr(V)
    r = jnp.diagonal(R)
    s = jnp.where(r < 0, -1.0, 1.0).astype(V.dtype)
    return Q * s[None, :], jnp.log(jnp.abs(r))


def householder_full(V: Float[Array, "d k"]):
    """Q and the full R (k x k, positive diagonal): what Ginelli's backward pass needs."""
    Q, R = jnp.linalg.qr(V)
    r = jnp.diagonal(R)
    s = jnp.where(r < 0, -1.0, 1.0).astype(V.dtype)
    return Q * s[None, :], R * s[:, None]


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
