"""The full linear response of a long-time average: space-split sensitivity (S3).

Shadowing (LSS, NILSS) differentiates the average along a *shadowing* orbit. The
perturbed SRB measure is not the image of the unperturbed one under the shadowing
map, so shadowing misses one term of Ruelle's linear response, the change of the
invariant density along the unstable manifold. That term is small for many systems
(about 1.5 % for Lorenz63 at rho = 28) and large near the birth of an attractor (7 %
at rho = 25: LSS 1.03, finite differences 0.96).

S3 (Chandramoorthy & Wang 2022, SIAM J. Appl. Dyn. Syst. 21; one-dimensional unstable
manifolds) computes the whole response. Ruelle's formula for the one-step map phi,

    d<J>/dp = sum_{k >= 0} < X . grad(J o phi^k) >,   X(phi(x)) = dphi/dp(x),

is evaluated by splitting the forced tangent solution at every step,

    v~_{n+1} = Dphi(x_n) v_n + X_{n+1} = a_{n+1} q_{n+1} + c_{n+1} f_{n+1} + v_{n+1},

into a part along the unit unstable direction q (the first Lyapunov vector), a part
along the flow direction f (flows only) and a remainder v orthogonal to both, which
stays bounded. Three contributions follow:

- shadowing-like: < grad J . v >;
- flow direction: sum_k < c (f.grad J) o phi^k > = -< c~ (J - <J>) > / dt + < c~ J' > / 2
  (the sum of dJ/dt over the future telescopes; c~ = c - <c>; trapezoid end term);
- unstable: sum_k < a q . grad(J o phi^k) >. Pointwise it grows like e^(lambda_1 k);
  integrated by parts along unstable manifolds against the SRB conditional density it
  becomes the correlation sum -sum_k < b (J o phi^k - <J>) > with

      b = d_xi a + a g,

  where d_xi is the derivative along the unit unstable direction and g = d_xi log sigma
  the derivative of the log conditional density. Both come from recursions along the
  orbit with second derivatives of the step (nested `jax.jvp`; nothing by hand):
  beta = d_xi q, g, and d_xi v, d_xi a, d_xi c. With nu = |Dphi q| and w = Dphi q,

      beta' = P_perp (D2phi[q, q] + Dphi beta) / nu^2,
      g'    = (g - q'.(D2phi[q, q] + Dphi beta) / nu) / nu.

  All of them converge forward (they are divided by nu or nu^2 each step); the
  correlation sum converges by mixing. Its terms oscillate with the orbit's rotation,
  so it is summed with a taper (weight 1 up to `correlation_steps`, then linearly to 0
  at three times that), which removes the oscillation's bias without a longer window.

Each window of the orbit gives one estimate (its recursions start afresh and run
`burn_in` steps before anything is recorded); the result is the mean over windows
with its standard error, and the three parts are reported separately.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array

from .. import _validate as v
from ..discretize import Discretized
from ..systems import Map
from ._common import with_parameter
from .method import AbstractSensitivityMethod, WindowEstimates, Windows, count_unstable


class S3(AbstractSensitivityMethod):
    """Space-split sensitivity (Chandramoorthy & Wang 2022): Ruelle's whole linear
    response, shadowing plus the change of the density along the unstable manifold.

    For systems with exactly one positive Lyapunov exponent (a one-dimensional unstable
    manifold); see `chaosjax.sensitivity.linear_response` for the equations. Each window
    needs at least `burn_in` + 6 `correlation_steps` steps; S3 needs long orbits (10^6
    steps and more), and where the unstable manifold folds sharply its unstable part is
    heavy-tailed (Lorenz63 at rho >= 35: use `LSS` or `NILSS` there).

    **Arguments:**

    - `burn_in`: steps each window runs its recursions before recording, a positive
      int. Default None: 20 Lyapunov times, 20 / lambda_1.
    - `correlation_steps`: the lag K up to which the unstable part's correlation sum has
      full weight (then tapered to 0 at 3K), a positive int. Default None: `burn_in`.

    Example:

    ```python
    lor = cj.systems.Lorenz63()
    x0 = cj.final_state(lor, lor.default_state(), steps=10_000, dt=0.005)
    res = cj.shadowing_sensitivity(lor, "rho", lambda x: x[2], x0, steps=2_000_000,
                                   dt=0.005, segments=10, method=cj.S3())
    res.parts        # shadowing-like, flow-direction and unstable contributions
    ```
    """

    burn_in: int | None = eqx.field(default=None, static=True)
    correlation_steps: int | None = eqx.field(default=None, static=True)
    name: ClassVar[str] = "s3"

    def __check_init__(self):
        if self.burn_in is not None:
            v.positive_int(self.burn_in, "burn_in")
        if self.correlation_steps is not None:
            v.positive_int(self.correlation_steps, "correlation_steps")

    def check_steps(self, steps: int, segments: int) -> None:
        # The default burn-in depends on the orbit's largest exponent: checked in
        # `estimate`, after the one positive exponent is confirmed.
        return None

    def estimate(self, windows: Windows) -> WindowEstimates:
        w = windows
        n = w.steps_per_window
        u, lam_max = count_unstable(w.m, w.starts[0], n, w.is_flow)
        if u != 1:
            raise ValueError(
                f"method='s3' needs exactly one positive Lyapunov exponent (a "
                f"one-dimensional unstable manifold); this orbit has {u}. Use "
                f"method='lss' or 'nilss' (cj.LSS(), cj.NILSS())."
            )
        burn_in = int(math.ceil(20.0 / lam_max)) if self.burn_in is None else int(self.burn_in)
        k = burn_in if self.correlation_steps is None else int(self.correlation_steps)
        need = burn_in + 6 * k
        if n < need:
            raise ValueError(
                f"`steps` ({w.steps}) is too short for `segments`={w.segments} with "
                f"method='s3': each window needs burn_in + 6 correlation_steps = {need} "
                f"steps; give steps >= {need * w.segments} (or fewer segments)."
            )
        est, avg, parts = s3_windows(w.m, w.get, w.obs, w.starts, n, burn_in, k)
        return WindowEstimates(
            estimates=est,
            averages=avg,
            steps_per_window=n,
            num_unstable=u,
            parts=jnp.mean(parts, axis=0),
        )


def _correlation_sum(b: Array, J: Array, k1: int, k2: int) -> Array:
    """sum_k w_k <b_n (J_{n+k} - <J>)>, w = 1 for k < k1, linear to 0 at k2 (FFT)."""
    n = b.shape[0]
    size = 1 << int(n + k2).bit_length()
    fb = jnp.fft.rfft(b - jnp.mean(b), size)
    fj = jnp.fft.rfft(J - jnp.mean(J), size)
    corr = jnp.fft.irfft(jnp.conj(fb) * fj, size)[:k2] / (n - jnp.arange(k2, dtype=b.dtype))
    w = jnp.concatenate([jnp.ones(k1), jnp.linspace(1.0, 0.0, k2 - k1, endpoint=False)])
    return jnp.sum(w * corr)


@eqx.filter_jit
def _s3_window(m: Map, get: Callable, obs: Callable, x: Array, n: int, burn: int, k1: int, k2: int):
    """One window of n steps from x: (estimate, <J>, (shadowing, flow, unstable) parts)."""
    p = get(m)
    flow = m.flow.vector_field if isinstance(m, Discretized) else None
    dt = m.time_per_step
    grad_j = jax.grad(obs)

    def phi(y, pp):
        return with_parameter(m, get, pp).step(y)

    def tangents(y, q, v):  # phi(y), Dphi(y) q, Dphi(y) v + dphi/dp(y)
        y1, w = jax.jvp(lambda z: phi(z, p), (y,), (q,))
        return y1, w, jax.jvp(phi, (y, p), (v, jnp.ones_like(p)))[1]

    def body(carry, _):
        y, q, beta, g, v, dv = carry
        # One second-order tangent along xi (the unstable arc length): the step, the
        # pushed unstable direction w and forced tangent v~, and their xi-derivatives.
        (y1, w, vt), (_, dw, dvt) = jax.jvp(tangents, (y, q, v), (q, beta, dv))
        # Unstable direction, its derivative along itself, and the density gradient.
        nu = jnp.linalg.norm(w)
        q1 = w / nu
        qdw = q1 @ dw
        beta1 = (dw - q1 * qdw) / nu**2
        g1 = (g - qdw / nu) / nu
        dvt = dvt / nu  # the derivative along xi' (the arc length after the step)
        gj = grad_j(y1)
        if flow is None:
            a = q1 @ vt
            da = beta1 @ vt + q1 @ dvt
            c = jnp.zeros_like(a)
            v1 = vt - a * q1
            dv1 = dvt - da * q1 - a * beta1
            jdot = jnp.zeros_like(a)
        else:
            f1, df1 = jax.jvp(flow, (y1,), (q1,))
            qf, ff = q1 @ f1, f1 @ f1
            G = jnp.array([[1.0, qf], [qf, ff]])
            ac = jnp.linalg.solve(G, jnp.stack([q1 @ vt, f1 @ vt]))
            dqf = beta1 @ f1 + q1 @ df1
            dG = jnp.array([[0.0, dqf], [dqf, 2.0 * (f1 @ df1)]])
            rhs = jnp.stack([beta1 @ vt + q1 @ dvt, df1 @ vt + f1 @ dvt]) - dG @ ac
            dac = jnp.linalg.solve(G, rhs)
            (a, c), (da, dc) = ac, dac
            v1 = vt - a * q1 - c * f1
            dv1 = dvt - da * q1 - a * beta1 - dc * f1 - c * df1
            jdot = gj @ f1
        out = (obs(y1), gj @ v1, da + a * g1, c, jdot)
        return (y1, q1, beta1, g1, v1, dv1), out

    d = x.shape[-1]
    zero = jnp.zeros(d, x.dtype)
    q0 = jnp.ones(d, x.dtype) / jnp.sqrt(jnp.asarray(d, x.dtype))
    carry = (x, q0, zero, jnp.zeros((), x.dtype), zero, zero)
    carry, _ = jax.lax.scan(body, carry, None, length=burn)
    _, (J, gv, b, c, jdot) = jax.lax.scan(body, carry, None, length=n - burn)
    mean_j = jnp.mean(J)
    shadow = jnp.mean(gv)
    unstable = -_correlation_sum(b, J, k1, k2)
    if flow is None:
        along_flow = jnp.zeros_like(shadow)
    else:
        along_flow = jnp.mean((c - jnp.mean(c)) * (-(J - mean_j) / dt + 0.5 * jdot))
    parts = jnp.stack([shadow, along_flow, unstable])
    return jnp.sum(parts), mean_j, parts


def s3_windows(m: Map, get: Callable, obs: Callable, starts: Array, n: int, burn: int, k: int):
    """S3 on every window start: (estimates, averages, parts (windows, 3))."""
    return jax.lax.map(lambda y: _s3_window(m, get, obs, y, n, burn, k, 3 * k), starts)
