"""Sensitivity of long-time averages by least-squares shadowing (and the entry point of S3).

For a chaotic system the derivative of a finite-time average explodes with the
horizon (`sensitivity_blowup_table`), yet d<S>/dp of the long-time average exists
for uniformly hyperbolic (and, in practice, for many non-uniformly hyperbolic)
systems. Shadowing methods find, among all tangent solutions v_k = dx_k/dp, the one
that stays bounded -- the derivative of a *shadowing* orbit -- and average the
observable's linearisation along it.

LSS (Wang 2014, SIAM J. Numer. Anal. 52, 156-170; Wang, Hu & Blonigan 2014,
J. Comput. Phys. 267, 210-224) minimises

    (1/2) sum_i |v_i|^2 + (alpha^2/2) sum_i eta_i^2
    subject to  v_{i+1} = Dphi(x_i) v_i + dphi/dp(x_i) + eta_i dt f(x_{i+1}),

where eta_i is the relative *time dilation* of step i (flows only; it absorbs the
neutral direction f). With multipliers w_i the KKT conditions give v_i = Phi_i^T
w_{i+1} - w_i and eta_i = dt f_{i+1}.w_{i+1} / alpha^2, and w solves the symmetric
positive-definite block-tridiagonal Schur complement

    -Phi_{k-1} w_{k-1} + (I + Phi_{k-1} Phi_{k-1}^T + f~_k f~_k^T / alpha^2) w_k
        - Phi_k^T w_{k+1} = -b_{k-1},

solved by block elimination in O(N d^3) time and O(N d^2) memory. Then

    d<S>/dp = (1/N) sum_i [ grad S(x_i) . v_i + eta_i (S(x_i) - <S>) ].

NILSS (Ni & Wang 2017, J. Comput. Phys. 347, 56-77) restricts the minimisation to
v = w + W a, where W spans the u unstable tangent directions (u = number of positive
Lyapunov exponents; for flows every tangent vector is projected orthogonal to f, which
defines eta) and w is one inhomogeneous tangent solution. Tangents are renormalised by
QR every `nilss_segment_steps` steps; the coefficients a_i of each segment solve a
small block-tridiagonal KKT system with u x u blocks. Only tangent (jvp) solutions
are needed, never a Jacobian matrix: the cost is u + 1 tangent solves.

The standard error comes from `segments` consecutive, independent windows of the
orbit (times the number of initial conditions when `x0` is batched).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from .. import _validate as v
from ..discretize import Discretized
from ..lyapunov import lyapunov_spectrum
from ..lyapunov._qr import householder_full
from ..systems import Flow, Map
from . import linear_response
from ._common import (
    ParamPath,
    block_tridiagonal_solve,
    check_scalar_observable,
    parameter_getter,
    scalar_observable,
    with_parameter,
)
from .finite_time import prepare_map, spin_up

#: Fewest steps per LSS window.
MIN_LSS_STEPS = 10


class ShadowingSensitivity(eqx.Module):
    """d<S>/dp of a long-time average by least-squares shadowing.

    - `derivative`: the mean of `estimates`.
    - `standard_error`: std(estimates, ddof=1) / sqrt(len(estimates)) (NaN for one).
    - `estimates`: (windows,), one estimate per independent window of the orbit.
    - `average`: <S>, the time average over all windows.
    - `method`: "lss", "nilss" or "s3"; `num_unstable`: u for NILSS and S3 (None for
      LSS).
    - `steps_per_window`, `time_per_window`: each window's length in steps and time.
    - `alpha`: the time-dilation weight (LSS on flows), else None.
    - `parts`: S3 only, the window means of its three contributions (shadowing-like,
      flow direction, unstable), which sum to `derivative`; else None.
    """

    derivative: Float[Array, ""]
    standard_error: Float[Array, ""]
    estimates: Float[Array, " windows"]
    average: Float[Array, ""]
    method: str = eqx.field(static=True)
    steps_per_window: int = eqx.field(static=True)
    time_per_window: float = eqx.field(static=True)
    num_unstable: int | None = eqx.field(static=True, default=None)
    alpha: float | None = eqx.field(static=True, default=None)
    parts: Float[Array, "3"] | None = None

    def __str__(self) -> str:
        extra = ""
        if self.parts is not None:
            sh, fl, un = (float(v) for v in self.parts)
            extra = f"; parts: shadowing {sh:.5f}, flow direction {fl:.5f}, unstable {un:.5f}"
        return (
            f"d<S>/dp = {float(self.derivative):.5f} +- {float(self.standard_error):.5f} "
            f"({self.method}, {self.estimates.shape[0]} windows of "
            f"{self.steps_per_window} steps, T = {self.time_per_window:g}; "
            f"<S> = {float(self.average):.5f}{extra})"
        )


# --------------------------------------------------------------------------- tangent data


def _vector_field_step(m: Map) -> Callable[[Array], Array] | None:
    """x -> dt f(x) for a discretised flow (the direction of a time dilation), else None."""
    if isinstance(m, Discretized):
        return lambda x: m.dt * m.flow.vector_field(x)
    return None


@eqx.filter_jit
def _tangent_data(m: Map, get: Callable, obs: Callable, x: Array, n: int):
    """Along n steps from x: Phi_i, b_i = dphi/dp, S_i, grad S_i (i < n), and the end."""
    p = get(m)

    def stepf(x, p):
        return with_parameter(m, get, p).step(x)

    def body(x, _):
        phi, b = jax.jacfwd(stepf, argnums=(0, 1))(x, p)
        s, ds = jax.value_and_grad(obs)(x)
        return stepf(x, p), (x, phi, b, s, ds)

    x_end, data = jax.lax.scan(body, x, None, length=n)
    return x_end, data


# --------------------------------------------------------------------------- LSS


def _lss_window(phi, b, ft, s, ds, alpha2):
    """One LSS estimate from a window's tangent data (ft: (n, d) or None for maps)."""
    n, d = b.shape
    eye = jnp.eye(d, dtype=b.dtype)
    diag = eye[None] + jnp.einsum("nij,nkj->nik", phi, phi)
    if ft is not None:
        diag = diag + jnp.einsum("ni,nj->nij", ft, ft) / alpha2
    lower = -phi[1:]  # A[k+1, k] = -Phi_k, k = 1 .. n-1
    w = block_tridiagonal_solve(diag, lower, -b)  # w_1 .. w_n
    w_next = w  # w_{i+1} for i = 0 .. n-1
    w_here = jnp.concatenate([jnp.zeros((1, d), b.dtype), w[:-1]])  # w_i, w_0 = 0
    vs = jnp.einsum("nji,nj->ni", phi, w_next) - w_here
    mean_s = jnp.mean(s)
    grad = jnp.mean(jnp.einsum("ni,ni->n", ds, vs))
    if ft is not None:
        eta = jnp.einsum("ni,ni->n", ft, w_next) / alpha2
        grad = grad + jnp.mean(eta * (s - mean_s))
    return grad, mean_s


@eqx.filter_jit
def _lss_windows(phi, b, ft, s, ds, alpha2):
    in_axes = (0, 0, None if ft is None else 0, 0, 0, None)
    return jax.vmap(_lss_window, in_axes=in_axes)(phi, b, ft, s, ds, alpha2)


# --------------------------------------------------------------------------- NILSS


def _nilss_window(
    m: Map, get: Callable, obs: Callable, x: Array, W0: Array, n_seg: int, seg_steps: int
):
    """Tangent solves of one window: per segment C, d, R, b and the gradient pieces."""
    p = get(m)
    fstep = _vector_field_step(m)
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


def _nilss_estimate(acc, R, bq, total_steps):
    """Solve the NILSS KKT system of one window and return (d<S>/dp, <S>)."""
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
        _, acc, R, bq = _nilss_window(m, get, obs, x, W0, n_seg, seg_steps)
        return _nilss_estimate(acc, R, bq, n_seg * seg_steps)

    return jax.vmap(one)(xs, W0s)


@eqx.filter_jit
def _window_starts(m: Map, xb: Array, n_windows: int, n: int) -> Array:
    """(batch, windows, dim): the first state of each window of n steps."""

    def one(x):
        def body(y, _):
            return jax.lax.fori_loop(0, n, lambda i, z: m.step(z), y), y

        return jax.lax.scan(body, x, None, length=n_windows)[1]

    return jax.vmap(one)(xb)


@eqx.filter_jit
def _lss_all(m: Map, get: Callable, obs: Callable, starts: Array, n: int, alpha: Array | None):
    """LSS on every window: (estimates, averages, alpha used or None)."""
    fstep = _vector_field_step(m)
    x_end, (xs, phi, b, s, ds) = jax.vmap(lambda y: _tangent_data(m, get, obs, y, n))(starts)
    if fstep is None:
        est, avg = _lss_windows(phi, b, None, s, ds, jnp.asarray(1.0, b.dtype))
        return est, avg, None
    # dt f(x_{i+1}), i = 0 .. n-1: the states after each step.
    ft = jax.vmap(jax.vmap(fstep))(jnp.concatenate([xs[:, 1:], x_end[:, None]], axis=1))
    tps = m.time_per_step
    if alpha is None:
        alpha = jnp.sqrt(jnp.mean(jnp.sum(ft**2, -1))) / tps
    est, avg = _lss_windows(phi, b, ft, s, ds, (alpha * tps) ** 2)  # eta f~ = eta dt f
    return est, avg, alpha


def count_unstable(m: Map, x: Array, steps: int, is_flow: bool) -> tuple[int, float]:
    """(number of positive Lyapunov exponents, largest exponent per step) along an orbit,
    from `cj.lyapunov_spectrum` (QR every 5 steps) on the one-step map.

    For a flow the exponent closest to zero is the neutral direction f, not counted.
    """
    res = lyapunov_spectrum(m, x, steps=max(5, steps), qr_every=5)
    lam = np.sort(np.asarray(res.exponents) * float(m.time_per_step))[::-1]
    if is_flow and lam.size > 1:
        lam = np.delete(lam, int(np.argmin(np.abs(lam))))
    return int(np.sum(lam > 0)), float(lam[0])


# --------------------------------------------------------------------------- public API


def shadowing_sensitivity(
    system: Flow | Map,
    param: ParamPath,
    observable: Callable[[Array], ArrayLike],
    x0: Float[ArrayLike, "*batch dim"],
    steps: int,
    *,
    dt: float | None = None,
    solver: str = "rk4",
    transient: int = 0,
    method: str = "lss",
    segments: int = 8,
    alpha: float | None = None,
    num_unstable: int | None = None,
    nilss_segment_steps: int | None = None,
    key: PRNGKeyArray | None = None,
    burn_in: int | None = None,
    correlation_steps: int | None = None,
) -> ShadowingSensitivity:
    """d<S>/dp of the long-time average of S by shadowing, or its full linear response.

    The orbit of `steps` steps after `transient` is split into `segments` consecutive
    windows; each window gives an independent estimate, and the result is their mean
    with its standard error. `method="lss"` solves Wang's (2014) KKT system (with the
    time-dilation term for flows) by block-tridiagonal elimination in JAX;
    `method="nilss"` is Ni & Wang's (2017) non-intrusive LSS on the unstable tangent
    subspace. See the module docstring for the equations. Both differentiate along a
    shadowing orbit and so miss the change of the invariant density along the unstable
    manifold; `method="s3"` (space-split sensitivity, Chandramoorthy & Wang 2022) adds
    it and gives Ruelle's whole linear response, for systems with one positive
    exponent (`chaosjax.sensitivity.linear_response`). Lorenz63, d<z>/drho: at rho = 28
    LSS 1.015, S3 1.006, finite differences 1.0005; at rho = 25 LSS 1.03, S3 0.96-0.99,
    finite differences 0.963. S3 needs long orbits (10^6 steps and more), and where the
    unstable manifold folds sharply its unstable part is heavy-tailed (Lorenz63 at
    rho >= 35: use LSS/NILSS there; docs/sensitivity.md).

    **Arguments:**
    - `system`, `param`, `observable`, `x0`, `dt`, `solver`, `transient`: as in
      `finite_time_gradient`; `x0` should be on the attractor (or give `transient`).
      With `x0` of shape (n, dim) every initial condition contributes `segments` windows.
    - `steps`: total steps after the transient; each window has steps // segments.
    - `alpha`: LSS weight of the time dilation (flows); default the RMS of |f| over
      the orbit, which weighs a time shift like the displacement it causes in one
      time unit.
    - `num_unstable`: NILSS's u; default the number of positive Lyapunov exponents
      from a tangent QR along the first window (the neutral one of a flow excluded).
    - `nilss_segment_steps`: steps between QR renormalisations in NILSS; default about
      one Lyapunov time.
    - `key`: random initial unstable tangents for NILSS.
    - `burn_in`: S3, steps each window runs its recursions before recording; default
      20 Lyapunov times (20 / lambda_1).
    - `correlation_steps`: S3, the lag K up to which the unstable part's correlation
      sum has full weight (then tapered to 0 at 3K); default `burn_in`. Each window
      needs at least `burn_in` + 6 K steps.

    **Returns:** a `ShadowingSensitivity` (`derivative`, `standard_error`, `estimates`;
    for S3 also `parts`).

    Example:
    ```python
    lor = cj.systems.Lorenz63()
    x0 = cj.final_state(lor, lor.default_state(), steps=10_000, dt=0.005)
    res = cj.shadowing_sensitivity(lor, "rho", lambda x: x[2], x0, steps=80_000,
                                   dt=0.005, segments=8)
    res.derivative, res.standard_error        # ~ 1.01 +- 0.01
    ```
    """
    m, unwrap = prepare_map(system, dt, solver)
    get = parameter_getter(system, param).under(unwrap)
    if jnp.ndim(get(m)) != 0:
        raise ValueError(f"`param` {param!r} must name a scalar parameter.")
    method = v.one_of(method, "method", ("lss", "nilss", "s3"))
    steps = v.positive_int(steps, "steps")
    segments = v.positive_int(segments, "segments")
    transient = v.nonnegative_int(transient, "transient")
    x = v.state(x0, system.dim, "x0")
    check_scalar_observable(observable, system.dim, x.dtype)
    obs = scalar_observable(observable)
    is_flow = isinstance(system, Flow)
    n = steps // segments
    tps = float(m.time_per_step)
    if method == "lss" and n < MIN_LSS_STEPS:
        raise ValueError(
            f"`steps` ({steps}) is too short for `segments`={segments}: each window needs at "
            f"least {MIN_LSS_STEPS} steps; give steps >= {MIN_LSS_STEPS * segments}."
        )
    if alpha is not None:
        alpha = v.positive_float(alpha, "alpha")
    x = spin_up(system, x, transient, dt, solver)
    xb = x if x.ndim == 2 else x[None]
    starts = _window_starts(m, xb, segments, n).reshape(-1, x.shape[-1])

    parts = None
    if method == "lss":
        alpha_arr = None if alpha is None else jnp.asarray(alpha, x.dtype)
        est, avg, alpha_used = _lss_all(m, get, obs, starts, n, alpha_arr)
        alpha = None if alpha_used is None else float(alpha_used)
        u = None
    elif method == "s3":
        u, lam_max = count_unstable(m, starts[0], n, is_flow)
        if u != 1:
            raise ValueError(
                f"method='s3' needs exactly one positive Lyapunov exponent (a "
                f"one-dimensional unstable manifold); this orbit has {u}. Use "
                f"method='lss' or 'nilss'."
            )
        if burn_in is None:
            burn_in = int(math.ceil(20.0 / lam_max))
        else:
            burn_in = v.positive_int(burn_in, "burn_in")
        if correlation_steps is None:
            correlation_steps = burn_in
        else:
            correlation_steps = v.positive_int(correlation_steps, "correlation_steps")
        need = burn_in + 6 * correlation_steps
        if n < need:
            raise ValueError(
                f"`steps` ({steps}) is too short for `segments`={segments} with method='s3': "
                f"each window needs burn_in + 6 correlation_steps = {need} steps; give "
                f"steps >= {need * segments} (or fewer segments)."
            )
        est, avg, parts_all = linear_response.s3_windows(
            m, get, obs, starts, n, burn_in, correlation_steps
        )
        parts = jnp.mean(parts_all, axis=0)
        alpha = None
    else:
        if num_unstable is None:
            u, lam_max = count_unstable(m, starts[0], n, is_flow)
            u = max(u, 1)
        else:
            u = v.positive_int(num_unstable, "num_unstable")
            lam_max = None
            if u > system.dim:
                raise ValueError(f"`num_unstable` must be <= dim = {system.dim}, got {u}.")
        if nilss_segment_steps is None:
            if lam_max is None:
                _, lam_max = count_unstable(
                    m, starts[0], min(n, 20 * max(1, int(1 / tps))), is_flow
                )
            seg = int(round(1.0 / lam_max)) if lam_max > 0 else 1
            seg = max(1, min(seg, n // 2 if n >= 2 else 1))
        else:
            seg = v.positive_int(nilss_segment_steps, "nilss_segment_steps")
        n_seg = n // seg
        if n_seg < 2:
            raise ValueError(
                f"`steps` ({steps}) is too short for `segments`={segments}: each window of "
                f"{n} steps must hold at least 2 NILSS segments of {seg} steps; give "
                f"steps >= {2 * seg * segments}."
            )
        key = jax.random.PRNGKey(0) if key is None else key
        W0s = jax.random.normal(key, (starts.shape[0], system.dim, u), x.dtype)
        est, avg = _nilss_windows(m, get, obs, starts, W0s, n_seg, seg)
        n = n_seg * seg
        alpha = None
    if not bool(jnp.all(jnp.isfinite(est))):
        raise ValueError(
            "the shadowing solve gave non-finite values; check `x0` (on the "
            "attractor?), `dt` and the parameters."
        )
    k = est.shape[0]
    se = jnp.std(est, ddof=1) / math.sqrt(k) if k > 1 else jnp.asarray(jnp.nan, x.dtype)
    return ShadowingSensitivity(
        derivative=jnp.mean(est),
        standard_error=se,
        estimates=est,
        average=jnp.mean(avg),
        method=method,
        steps_per_window=n,
        time_per_window=n * tps,
        num_unstable=u,
        alpha=alpha,
        parts=parts,
    )


def lss_single_window(
    m: Map, get: Callable, obs: Callable, x: Array, n: int, alpha: float | None = None
) -> tuple[Array, Array]:
    """(d<S>/dp, <S>) of one LSS window of n steps from x, as one traceable program.

    The whole computation (tangent data, Schur complement, block elimination) under
    one `jax.jit`, for timing and for XLA's memory analysis (benchmarks/sensitivity.py).
    """
    x_end, (xs, phi, b, s, ds) = _tangent_data(m, get, obs, x, n)
    fstep = _vector_field_step(m)
    if fstep is None:
        return _lss_window(phi, b, None, s, ds, jnp.asarray(1.0, x.dtype))
    ft = jax.vmap(fstep)(jnp.concatenate([xs[1:], x_end[None]]))
    if alpha is None:
        alpha2 = jnp.mean(jnp.sum(ft**2, -1))
    else:
        alpha2 = jnp.asarray((alpha * m.time_per_step) ** 2, x.dtype)
    return _lss_window(phi, b, ft, s, ds, alpha2)
