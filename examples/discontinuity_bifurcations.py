"""Discontinuity-induced bifurcations and the classification of smooth ones, as in C.
Budd, "Neural ODEs for, and as, dynamical systems" (Lecture 7, Seattle, June 2025):

1. `stability_boundary` on the textbook normal forms (fold, transcritical, pitchfork)
   and the first Lyapunov coefficient of Hopf points, Lorenz63's at rho_H included
   (Kuznetsov 2004, *Elements of Applied Bifurcation Theory*, ch. 3 and 5).
2. The piecewise-linear normal form's border-collision scenarios FP -> FP,
   FP + FP -> nothing, FP -> limit cycle (flows) and FP -> chaos (the 2-D
   border-collision normal form of maps), each classified from (A1, A2, b, c) and
   checked by a simulation (Feigin 1970; Freire, Ponce, Rodrigo & Torres 1998;
   Banerjee & Grebogi 1999).
3. Grazing of the periodic orbit of a forced oscillator with a stop (Shaw & Holmes
   1983) located along the stop distance d, against the closed-form amplitude, and a
   non-smooth fold located along mu.
4. The discontinuous map x -> 0.8 x - H(x) + b beside its smoothing at c = 1000: the
   period-adding windows of both.

Run: `python examples/discontinuity_bifurcations.py [--quick]`.
"""

from __future__ import annotations

import argparse
import time

import jax.numpy as jnp
import numpy as np

import chaosjax as cj
from chaosjax.bifurcation import (
    border_collision,
    locate_grazing,
    nonsmooth_folds,
    period_adding,
    switching_minimum,
)
from chaosjax.systems import param

cj.enable_x64()


class Fold(cj.Flow):
    """x' = r + x^2."""

    r: float = param(-1.0)

    def vector_field(self, x):
        return self.r + x**2

    def default_state(self):
        return jnp.array([-1.0])


class Transcritical(cj.Flow):
    """x' = r x - x^2."""

    r: float = param(-0.5)

    def vector_field(self, x):
        return self.r * x - x**2

    def default_state(self):
        return jnp.array([0.0])


class Pitchfork(cj.Flow):
    """x' = r x + s x^3, y' = -y."""

    r: float = param(-0.5)
    s: float = param(-1.0)

    def vector_field(self, x):
        return jnp.stack([self.r * x[0] + self.s * x[0] ** 3, -x[1]])

    def default_state(self):
        return jnp.zeros(2)


class HopfNormalForm(cj.Flow):
    """r' = beta r + s r^3, theta' = omega, in Cartesian form."""

    beta: float = param(-0.5)
    omega: float = param(1.0)
    s: float = param(-1.0)

    def vector_field(self, x):
        r2 = x[0] ** 2 + x[1] ** 2
        return jnp.stack(
            [
                self.beta * x[0] - self.omega * x[1] + self.s * x[0] * r2,
                self.omega * x[0] + self.beta * x[1] + self.s * x[1] * r2,
            ]
        )

    def default_state(self):
        return jnp.zeros(2)


class ForcedStopOscillator(cj.systems.PiecewiseSmoothFlow):
    """x'' + 2 zeta x' + x = cos(omega t) with a spring k (x - d) beyond x = d."""

    zeta: float = param(0.1)
    omega: float = param(0.8)
    k: float = param(20.0)
    d: float = param(3.0)

    def switching_function(self, x):
        return self.d - x[0]

    def mode_vector_field(self, x, mode):
        spring = jnp.where(mode[0], 0.0, self.k * (x[0] - self.d))
        acc = -2 * self.zeta * x[1] - x[0] - spring + jnp.cos(x[2])
        return jnp.stack([x[1], acc, self.omega])

    def default_state(self):
        return jnp.zeros(3)


def smooth_bifurcations() -> None:
    print("1. Smooth bifurcations told apart (stability_boundary)")
    cases = [
        ("x' = r + x^2", Fold(), "r", -1.0, 0.5, jnp.array([-1.0])),
        ("x' = r x - x^2", Transcritical(), "r", -0.5, 0.5, jnp.array([0.0])),
        ("x' = r x - x^3", Pitchfork(), "r", -0.5, 0.5, jnp.zeros(2)),
        ("x' = r x + x^3", Pitchfork(s=1.0), "r", -0.5, 0.5, jnp.zeros(2)),
        ("Lorenz63 origin", cj.systems.Lorenz63(), "rho", 0.5, 1.5, jnp.zeros(3)),
        ("logistic map x = 0", cj.systems.Logistic(), "r", 0.5, 1.5, jnp.array([0.0])),
    ]
    for name, system, p, lo, hi, guess in cases:
        sc = cj.stability_boundary(system, p, lo, hi, guess)
        coef = ", ".join(f"{k} = {v:+.4g}" for k, v in sc.coefficients.items())
        crit = f" ({sc.criticality})" if sc.criticality else ""
        print(f"   {name:22s} {p} = {sc.value:+.10f}: {sc.kind}{crit}; {coef}")
    for omega, s in ((1.0, -1.0), (1.0, 1.0), (2.0, -1.0)):
        h = cj.stability_boundary(HopfNormalForm(omega=omega, s=s), "beta", -0.5, 0.5, jnp.zeros(2))
        print(
            f"   Hopf normal form omega = {omega:g}, s = {s:+g}: l1 = "
            f"{h.first_lyapunov_coefficient:+.12f} (s / omega = {s / omega:+g}), {h.criticality}"
        )
    h = cj.stability_boundary(cj.systems.Lorenz63(), "rho", 20.0, 30.0, jnp.array([8.0, 8, 24]))
    print(
        f"   Lorenz63 C+: rho_H = {h.value:.9f}, {h.kind}, l1 = "
        f"{h.first_lyapunov_coefficient:+.5e} ({h.criticality})"
    )


def border_collisions() -> None:
    print("\n2. Border collisions of the piecewise-linear normal form (mu from - to +)")
    pwl = cj.systems.PiecewiseLinearFlow
    b, c = np.array([0.0, 1.0]), np.array([1.0, 0.0])
    focus = np.array([[-1.0, 1.0], [-1.0, 0.0]])
    flows = [
        ("FP -> FP", focus, np.array([[-2.0, 1.0], [-1.0, 0.0]])),
        ("FP + FP -> nothing", focus, np.array([[-1.0, 1.0], [1.0, 0.0]])),
        ("FP -> limit cycle", pwl.fp_to_limit_cycle().A1, pwl.fp_to_limit_cycle().A2),
    ]
    for label, a1, a2 in flows:
        bc = border_collision(a1, a2, b, c)
        flow = pwl(A1=a1, A2=a2, b=b, c=c)
        ends = []
        for mu in (-1.0, 1.0):
            xs = np.asarray(
                cj.trajectory(
                    flow.replace(mu=mu),
                    jnp.array([0.3, -0.2]),
                    steps=8_000,
                    dt=0.05,
                    solver="event",
                )
            )
            tail = xs[-2_000:]
            if np.max(np.abs(tail[-1])) > 1e3:
                ends.append("diverges")
            elif np.ptp(tail[:, 0]) < 1e-6:
                ends.append(f"fixed point {np.round(tail[-1], 6)}")
            else:
                ends.append(f"oscillates, x1 range {np.ptp(tail[:, 0]):.4f}")
        print(f"   {label:20s} classified {bc.scenario!r}: {bc.before} -> {bc.after}")
        print(f"   {'':20s} dets {bc.determinants}, gamma {np.round(bc.gamma, 4)}")
        print(f"   {'':20s} simulated: mu = -1 {ends[0]}; mu = +1 {ends[1]}")
    m = cj.systems.PiecewiseLinearMap.border_collision_2d(0.5, 0.3, -1.5, 0.3)
    bc = border_collision(m.A1, m.A2, m.b, m.c, kind="map")
    fp = np.asarray(cj.final_state(m.replace(mu=-1.0), jnp.array([0.3, 0.1]), steps=500))
    lam = cj.max_lyapunov(m.replace(mu=1.0), jnp.array([0.3, 0.1]), 20_000, transient=1_000)
    print(f"   {'FP -> chaos (map)':20s} classified {bc.scenario!r}: {bc.before} -> {bc.after}")
    print(
        f"   {'':20s} simulated: mu = -1 fixed point {np.round(fp, 6)}; mu = +1 "
        f"lambda_1 = {float(lam.largest):+.4f} per iteration"
    )


def grazing(quick: bool) -> None:
    print("\n3. Grazing and non-smooth folds along a sweep")
    osc = ForcedStopOscillator()
    amp = 1.0 / np.sqrt((1 - 0.8**2) ** 2 + (2 * 0.1 * 0.8) ** 2)
    period = 2 * np.pi / 0.8
    opts = dict(dt=period / 200, period_steps=200, transient=200 * 40)
    ds = jnp.linspace(2.0, 3.0, 6)
    h, _ = switching_minimum(osc, "d", ds, jnp.zeros(3), **opts)
    print("   forced oscillator with a stop at x = d: min h = min (d - x) along the orbit")
    print("   " + ", ".join(f"d = {d:.1f}: {v:+.5f}" for d, v in zip(ds, np.asarray(h))))
    t0 = time.perf_counter()
    g = locate_grazing(osc, "d", 2.0, 3.0, jnp.zeros(3), **opts, xtol=1e-6 if quick else 1e-10)
    print(
        f"   grazing at d = {g.value:.9f} (free amplitude 1/sqrt((1-w^2)^2+(2 zeta w)^2) = "
        f"{amp:.9f}; error {g.value - amp:+.1e}; {g.evaluations} orbits, "
        f"{time.perf_counter() - t0:.1f} s)"
    )
    pwl = cj.systems.PiecewiseLinearFlow(
        A1=((-1.0, 1.0), (-1.0, 0.0)), A2=((-1.0, 1.0), (1.0, 0.0)), b=(0.0, 1.0), c=(1.0, 0.0)
    )
    nf = nonsmooth_folds(pwl, "mu", jnp.linspace(-1.0, 1.0, 9) + 0.01, jnp.zeros((1, 2)))
    print(f"   focus | saddle normal form: admissible equilibria along mu {nf.counts.tolist()}")
    print(f"   non-smooth fold at mu = {nf.folds[0]:+.2e}")


def gap_map(quick: bool) -> None:
    print("\n4. x -> 0.8 x - H(x) + b beside x -> 0.8 x - (1 + tanh(1000 x))/2 + b")
    n = 401 if quick else 801
    bs = jnp.linspace(0.1, 0.9, n)
    pa = period_adding(bs, a=0.8, c=1000.0)
    pd, ps = np.asarray(pa.period_discontinuous), np.asarray(pa.period_smoothed)

    def windows(p, w):
        out, s = [], 0
        for i in range(1, len(p) + 1):
            if i == len(p) or p[i] != p[s]:
                if i - s >= w:
                    out.append(int(p[s]))
                s = i
        return out

    print(f"   {n} values of b in [0.1, 0.9]; windows at least 4 values wide:")
    print(f"   discontinuous: {windows(pd, 4)}")
    print(f"   c = 1000:      {windows(ps, 4)}")
    print(f"   periods equal at {100 * pa.agreement:.1f} % of the b values")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run (under 30 s)")
    args = parser.parse_args()
    t0 = time.perf_counter()
    smooth_bifurcations()
    border_collisions()
    grazing(args.quick)
    gap_map(args.quick)
    print(f"\nTotal {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
