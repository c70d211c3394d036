"""Filippov sliding: the stick-slip oscillator of Leine, van Campen, de Kraker & van den
Steen (1998) and the relay-feedback system of di Bernardo, Johansson & Vasca (2001)
(parameters of Piiroinen & Kuznetsov 2008), integrated with sliding on the switching
surface (cj.event_map on a cj.systems.FilippovFlow).

Prints, for the stick-slip oscillator:
1. the sticking (sliding) segments: where they start and end (the end at k x = F_s),
   the distance of sticking states from the surface and the residual h'.f_s of
   Filippov's convex combination;
2. the difference from an independent regularised reference (sign -> tanh(v/eps),
   fixed-step RK4) as eps shrinks;
3. the tangent map through sliding: the singular values of the tangent map over many
   steps (one is 0: entering sliding forgets the normal direction), and, without
   --quick, the Lyapunov exponents with their convergence;
and, without --quick, the relay system's sliding self-oscillation and its exponents.

Run: `python examples/stick_slip.py [--quick]`.
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import numpy as np

import chaosjax as cj

cj.enable_x64()


def rk4_run(f, x, T, n):
    h = T / n

    def body(z, _):
        k1 = f(z)
        k2 = f(z + 0.5 * h * k1)
        k3 = f(z + 0.5 * h * k2)
        k4 = f(z + h * k3)
        return z + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4), z

    return jax.lax.scan(body, x, None, length=n)[1]


def stick_slip(quick: bool) -> None:
    osc = cj.systems.StickSlipOscillator()
    dt = 0.005
    m = cj.event_map(osc, dt)
    assert isinstance(m, cj.EventDiscretized)  # has `advance`, partial steps
    print("=" * 78)
    print("Stick-slip oscillator (k = 1, F_s = 1, delta = 3, v_dr = 0.2), dt = 0.005")
    xs = np.asarray(cj.trajectory(m, osc.default_state(), steps=40_000))  # 200 time units
    stick = np.abs(xs[:, 1] - 0.2) < 1e-12
    starts = np.flatnonzero(~stick[:-1] & stick[1:]) + 1
    ends = np.flatnonzero(stick[:-1] & ~stick[1:])
    print(f"  sticking: {stick.mean():.3f} of the time, {len(starts)} segments")
    # On the step grid (dt = 0.005): the first and the last sticking state of the last
    # three segments; they enter near x = -0.54 and leave at k x = F_s = 1.
    print(f"  first sticking states on the grid: x = {np.round(xs[starts[-3:], 0], 4)}")
    print(f"  last sticking states on the grid:  x = {np.round(xs[ends[-3:], 0], 4)}")
    x_s = jnp.array([0.9, 0.2])
    exit_err = float(jnp.max(jnp.abs(m.advance(x_s, 0.5) - jnp.array([1.0, 0.2]))))
    print(f"  exit located: advancing (0.9, 0.2) by 0.5 lands on (1, 0.2) to {exit_err:.1e}")
    h_max = np.abs(xs[stick, 1] - 0.2).max()
    res = jax.vmap(lambda x: jax.grad(osc._h)(x) @ osc.sliding_vector_field(x))(xs[stick])
    print(f"  max |h| on sticking states {h_max:.1e}; max |h'.f_s| {float(jnp.abs(res).max()):.1e}")
    period = np.diff(ends[-4:]).mean() * dt
    print(f"  stick-slip cycle: period {period:.3f} +- {dt} (from the last exits)")

    print("  regularised reference (tanh(v_rel/eps), RK4 with h = eps/5), x0 = (0.5, 0.2):")
    x0, T = jnp.array([0.5, 0.2]), 10.0
    ev = np.asarray(cj.trajectory(m, x0, steps=int(T / dt), save_every=200))[:-1]
    for eps in (1e-2, 1e-3) if quick else (1e-2, 1e-3, 1e-4):

        def f(z, eps=eps):
            v_rel = z[1] - osc.v_dr
            fr = osc.F_s * jnp.tanh(v_rel / eps) / (1.0 + osc.delta * jnp.abs(v_rel))
            return jnp.stack([z[1], -osc.k * z[0] - fr])

        n = int(round(T / (eps / 5)))
        ref = np.asarray(rk4_run(f, x0, T, n))[:: n // 10]
        print(
            f"    eps = {eps:.0e}: max difference over t in [0, 10): {np.abs(ref - ev).max():.2e}"
        )

    steps = 2_000  # 10 time units: at least one sticking segment
    J = jax.jit(jax.jacfwd(lambda x: cj.final_state(m, x, steps=steps)))(jnp.asarray(xs[-1]))
    sv = np.linalg.svd(np.asarray(J), compute_uv=False)
    print(f"  tangent map over {steps * dt:.0f} time units: singular values {sv}")
    print("    (one is 0: entering sliding maps a whole interval onto one state, so the")
    print("     second exponent is -inf; the first is 0, along the flow)")
    if quick:
        return
    m05 = cj.event_map(osc, 0.05)
    for n in (2_000, 8_000, 32_000):
        lam = cj.lyapunov_spectrum(m05, jnp.asarray(xs[-1]), steps=n, k=1).exponents
        print(f"    lambda_1 over {n * 0.05:.0f} time units: {float(lam[0]):+.6f}")


def relay() -> None:
    print("=" * 78)
    relay = cj.systems.RelayFeedback()
    print("Relay feedback (zeta = 0.05, omega = 25, lam = 1, sigma = 1), dt = 0.005")
    m = cj.event_map(relay, 0.005)
    x = cj.final_state(m, relay.default_state(), steps=20_000)
    xs = np.asarray(cj.trajectory(m, x, steps=20_000))
    slide = np.abs(xs[:, 0]) < 1e-12
    top = np.abs(xs[slide, 1]).max()
    print(f"  sliding {slide.mean():.3f} of the time; |x2| < 1 there: max {top:.4f}")
    for n in (20_000, 80_000):
        lam = cj.lyapunov_spectrum(m, x, steps=n, k=2).exponents
        print(
            f"  lambda_1, lambda_2 over {n * 0.005:.0f} time units: {np.round(np.asarray(lam), 5)}"
        )
    print("  (lambda_3 = -inf: the orbit slides, and entering sliding is singular)")


def main() -> None:
    parser = argparse.ArgumentParser(description="Filippov sliding: stick-slip and relay.")
    parser.add_argument("--quick", action="store_true", help="short runs, no exponents")
    args = parser.parse_args()
    stick_slip(args.quick)
    if not args.quick:
        relay()


if __name__ == "__main__":
    main()
