"""Non-intrusive least-squares shadowing (NILSS): shadowing on the unstable subspace.

NILSS (Ni & Wang 2017, J. Comput. Phys. 347, 56-77) restricts the LSS minimisation to
v = w + W a, where W spans the u unstable tangent directions (u = number of positive
Lyapunov exponents; for flows every tangent vector is projected orthogonal to f, which
defines the time dilation eta) and w is one inhomogeneous tangent solution. Tangents are
renormalised by QR every `segment_steps` steps; the coefficients a_i of each segment
solve a small block-tridiagonal KKT system with u x u blocks. Only tangent (jvp)
solutions are needed, never a Jacobian matrix: the cost is u + 1 tangent solves.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, PRNGKeyArray

from .. import _validate as v
from ..lyapunov._qr import householder_full
from ..systems import Map
from ._common import block_tridiagonal_solve, vector_field_step, with_parameter
from .method import AbstractSensitivityMethod, WindowEstimates, Windows, count_unstable


def _optional_key(key: object) -> PRNGKeyArray | None:
    """None, or a checked PRNG key (legacy keys wrapped); `ValueError` naming `key`."""
    return None if key is None else v.prng_key(key, "key")


class NILSS(AbstractSensitivityMethod):
    """Non-intrusive least-squares shadowing (Ni & Wang 2017).

    u + 1 tangent solves per step (u unstable directions and one inhomogeneous
    solution), renormalised by QR every `segment_steps` steps; see
    `chaosjax.sensitivity.nilss` for the equations. Each window must hold at least two
    segments.

    **Arguments:**

    - `num_unstable`: u, a positive int at most the system's dimension. Default None:
      the number of positive Lyapunov exponents from a tangent QR along the first window
      (a flow's neutral exponent excluded; at least 1).
    - `segment_steps`: steps between QR renormalisations, a positive int. Default None:
      about one Lyapunov time, 1 / lambda_1.
    - `key`: a PRNG key for the random initial unstable tangents; default
      `jax.random.key(0)` (a legacy `jax.random.PRNGKey` is taken too).

    Example:

    ```python
    lor = cj.systems.Lorenz63()
    x0 = cj.final_state(lor, lor.default_state(), steps=10_000, dt=0.005)
    cj.shadowing_sensitivity(lor, "rho", lambda x: x[2], x0, steps=80_000, dt=0.005,
                             method=cj.NILSS(num_unstable=1, segment_steps=200))
    ```
    """

    num_unstable: int | None = eqx.field(default=None, static=True)
    segment_steps: int | None = eqx.field(default=None, static=True)
    key: PRNGKeyArray | None = eqx.field(default=None, converter=_optional_key)
    name: ClassVar[str] = "nilss"

    def __check_init__(self):
        if self.num_unstable is not None:
            v.positive_int(self.num_unstable, "num_unstable")
        if self.segment_steps is not None:
            v.positive_int(self.segment_steps, "segment_steps")

    def check_steps(self, steps: int, segments: int) -> None:
        # The window must hold two segments, whose length is known only from the
        # orbit's exponents (or from `segment_steps`): checked in `estimate`.
        return None

    def estimate(self, windows: Windows) -> WindowEstimates:
        w = windows
        m, starts, n = w.m, w.starts, w.steps_per_window
        dim = starts.shape[-1]
        if self.num_unstable is None:
            u, lam_max = count_unstable(m, starts[0], n, w.is_flow)
            u = max(u, 1)
        else:
            u, lam_max = int(self.num_unstable), None
            if u > dim:
                raise ValueError(f"`num_unstable` must be <= dim = {dim}, got {u}.")
        if self.segment_steps is None:
            if lam_max is None:
                tps = float(m.time_per_step)
                _, lam_max = count_unstable(
                    m, starts[0], min(n, 20 * max(1, int(1 / tps))), w.is_flow
                )
            seg = int(round(1.0 / lam_max)) if lam_max > 0 else 1
            seg = max(1, min(seg, n // 2 if n >= 2 else 1))
        else:
            seg = int(self.segment_steps)
        n_seg = n // seg
        if n_seg < 2:
            raise ValueError(
                f"`steps` ({w.steps}) is too short for `segments`={w.segments}: each window "
                f"of {n} steps must hold at least 2 NILSS segments of {seg} steps; give "
                f"steps >= {2 * seg * w.segments}."
            )
        key = jax.random.key(0) if self.key is None else self.key
        W0s = jax.random.normal(key, (starts.shape[0], dim, u), starts.dtype)
        est, avg = _nilss_windows(m, w.get, w.obs, starts, W0s, n_seg, seg)
        return WindowEstimates(
            estimates=est, averages=avg, steps_per_window=n_seg * seg, num_unstable=u
        )


def nilss_window(
    m: Map, get: Callable, obs: Callable, x: Array, W0: Array, n_seg: int, seg_steps: int
):
    """Tangent solves of one window: per segment C, d, R, b and the gradient pieces."""
    p = get(m)
    fstep = vector_field_step(m)
    zero_p = jnp.zeros_like(p)

    def stepf(x, p):
        return with_parameter(m, get, p).step(x)

    def project(f, vecs):
        """Remove the component along f from the columns of vecs; return the coefficients
        eta with vecs_perp = vecs + f eta (so eta = -f.vecs / |f|^2)."""
        eta = -(f @ vecs) / (f @ f)
        return vecs + jnp.outer(f, eta), eta

    def inner(carry, _):
        x, W, w, acc = carry
        s, ds = jax.value_and_grad(obs)(x)
        C, dv, GW, gw, HW, hW, Hw, hw, S = acc
        C, dv = C + W.T @ W, dv + W.T @ w
        GW, gw, S = GW + ds @ W, gw + ds @ w, S + s
        # u + 1 tangent solves: the homogeneous columns of W and the inhomogeneous w.
        x_next, lin = jax.linearize(stepf, x, p)
        W_next = jax.vmap(lambda c: lin(c, zero_p), 1, 1)(W)
        w_next = lin(w, jnp.ones_like(p))
        if fstep is not None:
            f = fstep(x_next)
            both, eta = project(f, jnp.concatenate([W_next, w_next[:, None]], axis=1))
            W_next, w_next = both[:, :-1], both[:, -1]
            HW, hW = HW + eta[:-1] * s, hW + eta[:-1]
            Hw, hw = Hw + eta[-1] * s, hw + eta[-1]
        return (x_next, W_next, w_next, (C, dv, GW, gw, HW, hW, Hw, hw, S)), None

    def segment(carry, _):
        x, W, w = carry
        u = W.shape[1]
        z = lambda *shape: jnp.zeros(shape, x.dtype)  # noqa: E731
        acc = (z(u, u), z(u), z(u), z(), z(u), z(u), z(), z(), z())
        (x, W, w, acc), _ = jax.lax.scan(inner, (x, W, w, acc), None, length=seg_steps)
        Q, R = householder_full(W)
        bq = Q.T @ w
        return (x, Q, w - Q @ bq), (acc, R, bq)

    if fstep is not None:
        f0 = fstep(x)
        W0 = W0 - jnp.outer(f0, (f0 @ W0) / (f0 @ f0))
    W0, _ = householder_full(W0)
    w0 = jnp.zeros_like(x)
    (x_end, _, _), (acc, R, bq) = jax.lax.scan(segment, (x, W0, w0), None, length=n_seg)
    return x_end, acc, R, bq


def nilss_estimate(acc, R, bq, total_steps):
    """Solve the NILSS KKT system of one window and return (`d<S>/dp`, `<S>`)."""
    C, dv, GW, gw, HW, hW, Hw, hw, S = acc
    M = C.shape[0]
    Cinv = jnp.linalg.inv(C)
    Cinv = 0.5 * (Cinv + jnp.swapaxes(Cinv, 1, 2))
    if M == 1:
        a = -jnp.einsum("nij,nj->ni", Cinv, dv)
    else:
        # Constraints a_{i+1} = R_{i+1} a_i + b_{i+1}, i = 0 .. M-2, with R_{i+1}, b_{i+1}
        # the QR factors at the end of segment i; multipliers lam_1 .. lam_{M-1}.
        Rn, bn = R[:-1], bq[:-1]
        RCinv = jnp.einsum("nij,njk->nik", Rn, Cinv[:-1])  # R_{i+1} C_i^-1
        diag = Cinv[1:] + jnp.einsum("nij,nkj->nik", RCinv, Rn)
        lower = -RCinv[1:]  # A[k+1, k] = -R_{k+1} C_k^-1, k = 1 .. M-2
        rhs = -(
            bn
            + jnp.einsum("nij,nj->ni", Cinv[1:], dv[1:])
            - jnp.einsum("nij,nj->ni", RCinv, dv[:-1])
        )
        lam = block_tridiagonal_solve(diag, lower, rhs)
        u = C.shape[1]
        lam_here = jnp.concatenate([jnp.zeros((1, u), C.dtype), lam])  # lam_i, lam_0 = 0
        lam_next = jnp.concatenate([lam, jnp.zeros((1, u), C.dtype)])  # lam_{i+1}
        R_next = jnp.concatenate([Rn, jnp.zeros((1, u, u), C.dtype)])  # R_{i+1}, R_M = 0
        a = -jnp.einsum(
            "nij,nj->ni", Cinv, dv + lam_here - jnp.einsum("nji,nj->ni", R_next, lam_next)
        )
    mean_s = jnp.sum(S) / total_steps
    grad = jnp.sum(jnp.einsum("ni,ni->n", GW + HW - mean_s * hW, a)) + jnp.sum(
        gw + Hw - mean_s * hw
    )
    return grad / total_steps, mean_s


@eqx.filter_jit
def _nilss_windows(m, get, obs, xs, W0s, n_seg, seg_steps):
    def one(x, W0):
        _, acc, R, bq = nilss_window(m, get, obs, x, W0, n_seg, seg_steps)
        return nilss_estimate(acc, R, bq, n_seg * seg_steps)

    return jax.vmap(one)(xs, W0s)
