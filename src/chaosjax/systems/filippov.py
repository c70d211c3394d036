"""Filippov systems of the catalogue: a dry-friction (stick-slip) oscillator and a
relay-feedback system, each with one switching surface on which orbits slide."""

from __future__ import annotations

from typing import ClassVar

import jax.numpy as jnp
from jaxtyping import Array, Bool, Float

from ._base import FilippovFlow, param

Scalar = Float[Array, ""]


class StickSlipOscillator(FilippovFlow):
    """A mass on a spring dragged by a moving belt with dry friction that falls with the
    slip speed; Leine, van Campen, de Kraker & van den Steen (1998), "Stick-slip
    vibrations induced by alternate friction models", *Nonlinear Dynamics* 16, 41-54;
    Leine & Nijmeijer (2004), *Dynamics and Bifurcations of Non-Smooth Mechanical
    Systems*, Springer.

        dx/dt = v,   dv/dt = -k x - F_s sign(v_rel) / (1 + delta |v_rel|),
        v_rel = v - v_dr.

    The switching surface is h = v - v_dr = 0 (the mass moves with the belt). There
    n- = h'.f- = F_s - k x and n+ = -F_s - k x, so the surface attracts (sticking, a
    sliding segment with v = v_dr) for |k x| < F_s and the mass slips again at
    k x = F_s. The friction falls with the slip speed, so the equilibrium
    x* = F_s / (k (1 + delta v_dr)), v = 0 is an unstable focus, and orbits approach
    the stick-slip limit cycle that Leine et al. (1998) describe: a sticking phase from
    the surface's entry point up to x = F_s / k, then a slip phase back to it. Its
    Lyapunov exponents are 0 (along the flow) and -infinity: the sticking phase maps a
    whole interval of states onto one (the Floquet multiplier is 0).

    **Arguments:**

    - `k`: the spring stiffness (per unit mass), default 1.
    - `F_s`: the static (and zero-slip) friction force, default 1.
    - `delta`: how fast the friction falls with the slip speed, default 3.
    - `v_dr`: the belt speed, default 0.2.

    Example:

    ```python
    osc = cj.systems.StickSlipOscillator()
    xs = cj.trajectory(osc, osc.default_state(), steps=4_000, dt=0.01, solver="event")
    ```
    """

    k: Scalar = param(1.0)
    F_s: Scalar = param(1.0)
    delta: Scalar = param(3.0)
    v_dr: Scalar = param(0.2)

    name: ClassVar[str] = "stick_slip"
    description: ClassVar[str] = "A mass on a moving belt with falling dry friction (stick-slip)"
    dim: ClassVar[int] = 2
    sample_scale: ClassVar[float] = 0.1
    default_dt: ClassVar[float | None] = 0.01
    variables: ClassVar[tuple[str, ...] | None] = ("x", "v")

    def switching_function(self, x: Float[Array, "2"]) -> Float[Array, ""]:
        """h = v - v_dr: the slip speed."""
        return x[1] - self.v_dr

    def mode_vector_field(self, x: Float[Array, "2"], mode: Bool[Array, " 1"]) -> Float[Array, "2"]:
        v_rel = x[1] - self.v_dr
        friction = self.F_s / (1.0 + self.delta * jnp.abs(v_rel))
        return jnp.stack([x[1], -self.k * x[0] + jnp.where(mode[0], -friction, friction)])

    def default_state(self) -> Float[Array, "2"]:
        return jnp.array([0.5, 0.0])


class RelayFeedback(FilippovFlow):
    """A third-order linear plant under relay feedback, u = -sign(x_1); di Bernardo,
    Johansson & Vasca (2001), "Self-oscillations and sliding in relay feedback systems:
    symmetry and bifurcations", *Int. J. Bifurcation and Chaos* 11, 1121-1140, with the
    parameters of Piiroinen & Kuznetsov (2008), "An event-driven method to simulate
    Filippov systems with accurate computing of sliding motions", *ACM Trans. Math.
    Softw.* 34(3), 13, eq. (32).

        dx/dt = A x + B u,   u = -sign(x_1),
        A = [[-(2 zeta omega + lam), 1, 0], [-(2 zeta omega lam + omega^2), 0, 1],
             [-lam omega^2, 0, 0]],   B = (1, -2 sigma, 1).

    The switching surface is x_1 = 0; there n- = x_2 + 1 and n+ = x_2 - 1, so orbits
    slide on it where |x_2| < 1. At the defaults orbits settle on a self-oscillation that
    crosses the surface and slides along it (the periodic orbit with sliding segments
    computed by Piiroinen & Kuznetsov 2008).

    **Arguments:**

    - `zeta`, `omega`: damping ratio and frequency of the plant's complex poles,
      default 0.05, 25.
    - `lam`: the plant's real pole is -lam, default 1.
    - `sigma`: the zero placement of B, default 1.

    Example:

    ```python
    relay = cj.systems.RelayFeedback()
    m = cj.event_map(relay, dt=0.005)                  # slides on x_1 = 0
    ```
    """

    zeta: Scalar = param(0.05)
    omega: Scalar = param(25.0)
    lam: Scalar = param(1.0)
    sigma: Scalar = param(1.0)

    name: ClassVar[str] = "relay_feedback"
    variables: ClassVar[tuple[str, ...] | None] = ("x1", "x2", "x3")
    description: ClassVar[str] = "A third-order linear plant under relay feedback"
    dim: ClassVar[int] = 3
    sample_scale: ClassVar[float] = 0.01
    default_dt: ClassVar[float | None] = 0.01

    @property
    def A(self) -> Float[Array, "3 3"]:
        """The plant matrix (companion form)."""
        zw = 2.0 * self.zeta * self.omega
        w2 = self.omega**2
        zero, one = jnp.zeros(()), jnp.ones(())
        return jnp.stack(
            [
                jnp.stack([-(zw + self.lam), one, zero]),
                jnp.stack([-(zw * self.lam + w2), zero, one]),
                jnp.stack([-self.lam * w2, zero, zero]),
            ]
        )

    @property
    def B(self) -> Float[Array, "3"]:
        """The input vector."""
        return jnp.stack([jnp.ones(()), -2.0 * self.sigma, jnp.ones(())])

    def switching_function(self, x: Float[Array, "3"]) -> Float[Array, ""]:
        """h = x_1: the relay's input."""
        return x[0]

    def mode_vector_field(self, x: Float[Array, "3"], mode: Bool[Array, " 1"]) -> Float[Array, "3"]:
        u = jnp.where(mode[0], -1.0, 1.0)
        return self.A @ x + self.B * u

    def default_state(self) -> Float[Array, "3"]:
        return jnp.array([0.0, -0.001, -0.02])
