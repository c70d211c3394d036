"""Training across a bifurcation: the smoothed sigmoid map x -> a x - (1 + tanh(c x))/2 + b
fitted to observed omega-limit data (C. Budd, "Neural ODEs for, and as, dynamical
systems", Lecture 7, Seattle, June 2025).

The loss is the squared 2-Wasserstein distance between the model's omega-limit samples
and the observed ones (`cj.learn.omega_limit_loss`); its derivative in b is the
forward-mode derivative through the iterations, what back-propagation sees.

1. Near the period-doubling point b* of the smoothed map (a = 0.8, c = 5; closed form:
   f'(x*) = -1 at the fixed point) the period-2 orbit opens like sqrt(b - b*), so the
   loss changes like sqrt(b - b*) and its gradient like 1/sqrt(b - b*): both exponents
   are fitted, with their range and standard error.
2. At the border collision b* = 0 of the discontinuous limit x -> a x - H(x) + b the
   loss jumps, while the autodiff gradient stays bounded on both sides: blind to it.
3. Loss landscapes over b for c = 1, 5, 10, 50, 1000, with the share of b where the
   gradient is useless (|dL/db| > 1e3 or not finite).
4. Gradient descent (Adam, `cj.learn.fit`) on (a, b, c) for c = 1 and c = 5.

Writes OUT/loss_landscapes.png and OUT/gradient_divergence.png.
Run: `python examples/training_across_bifurcations.py [--quick] [--out DIR]`.
"""

from __future__ import annotations

import argparse
import pathlib

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

import chaosjax as cj
import chaosjax.plot as cjp

cj.enable_x64()

A = 0.8
X0 = jnp.array([0.1])


class GapMap(cj.Map):
    """x -> a x - H(x) + b, H(0) = 1: the c -> infinity limit of the smoothed map."""

    a: float = cj.systems.param(0.8)
    b: float = cj.systems.param(0.5)

    def step(self, x):
        return self.a * x - jnp.where(x >= 0.0, 1.0, 0.0) + self.b

    def default_state(self):
        return jnp.array([0.1])


def flip_point(a: float, c: float) -> float:
    """The lower period-doubling point of the smoothed map: f'(x*) = a - (c/2) sech^2(c
    x*) = -1 at the fixed point x* < 0, b* = (1 - a) x* + (1 + tanh(c x*))/2."""
    x = -np.arccosh(np.sqrt(c / (2.0 * (1.0 + a)))) / c
    return float((1.0 - a) * x + (1.0 + np.tanh(c * x)) / 2.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter sweeps, seconds")
    parser.add_argument("--out", default="out/training_across_bifurcations")
    args = parser.parse_args()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    quick = args.quick

    # ---- 1. the period-doubling point of the smoothed map
    c = 5.0
    bstar = flip_point(A, c)
    sig = cj.systems.SmoothedSigmoidMap(a=A, c=c, b=0.3)
    obs = cj.learn.omega_limit(sig, X0, transient=5_000, keep=64)[:, 0]
    lo, hi, transient = (1e-5, 1e-3, 500_000) if quick else (1e-6, 1e-3, 4_000_000)
    d = jnp.logspace(np.log10(lo), np.log10(hi), 13)
    above = cj.learn.loss_landscape(sig, "b", bstar + d, obs, x0=X0, transient=transient)
    at = cj.learn.loss_landscape(sig, "b", jnp.array([bstar]), obs, x0=X0, transient=transient)
    below = cj.learn.loss_landscape(sig, "b", bstar - d, obs, x0=X0, transient=transient)
    g = cj.learn.power_law_fit(d, above.gradient)
    lfit = cj.learn.power_law_fit(d, above.loss - at.loss[0])
    print(
        f"Smoothed map a = {A}, c = {c:g}: period doubling at b* = {bstar:.10f}; observed "
        f"omega-limit: the period-2 orbit at b = 0.3 (64 samples); transient {transient}."
    )
    print(
        f"  b - b* in [{lo:g}, {hi:g}] (13 points): |dL/db| ~ (b - b*)^p, fitted exponent "
        f"p = {g.exponent:.3f} +- {g.stderr:.3f}"
    )
    print(
        f"  loss increment L(b) - L(b*) ~ (b - b*)^q, fitted exponent q = "
        f"{lfit.exponent:.3f} +- {lfit.stderr:.3f}"
    )
    print(
        f"  below b* (fixed point): |dL/db| from {abs(float(below.gradient[-1])):.3f} to "
        f"{abs(float(below.gradient[0])):.3f} (bounded); above: from "
        f"{abs(float(above.gradient[-1])):.3f} to {abs(float(above.gradient[0])):.1f}"
    )
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    ax.loglog(d, np.abs(np.asarray(above.gradient)), "o", label="|dL/db|, b > b*")
    ax.loglog(d, np.abs(np.asarray(below.gradient)), "s", label="|dL/db|, b < b*")
    ax.loglog(d, g.prefactor * np.asarray(d) ** g.exponent, "k-", lw=0.8,
              label=f"fit: exponent {g.exponent:.3f} +- {g.stderr:.3f}")  # fmt: skip
    ax.set_xlabel("|b - b*|")
    ax.set_ylabel("|dL/db|")
    ax.set_title(f"gradient near the period doubling, c = {c:g}", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "gradient_divergence.png", dpi=120)
    plt.close(fig)

    # ---- 2. the border collision of the discontinuous limit
    # The omega-limit SET jumps at b* = 0: for b < 0 it is the fixed point 5b -> 0-, for
    # b > 0 a periodic orbit reaching down to about b - 1. A loss on the set's extent,
    # (min - min_obs)^2 + (max - max_obs)^2, jumps with it; the W2 loss on 64 samples
    # changes only by the share of samples on the excursion (~ 1 / period).
    gap = GapMap(a=A, b=0.5)
    gobs = cj.learn.omega_limit(gap, X0, transient=5_000, keep=64)[:, 0]

    def extent_loss(b):
        xs = cj.learn.omega_limit(GapMap(a=A, b=b), X0, transient=20_000, keep=256)[:, 0]
        return (xs.min() - gobs.min()) ** 2 + (xs.max() - gobs.max()) ** 2

    both = jax.jit(jax.vmap(lambda b: jax.jvp(extent_loss, (b,), (jnp.ones_like(b),))))
    eps = jnp.array([1e-2, 1e-3, 1e-4, 1e-5, 1e-6])
    (l_left, g_left), (l_right, g_right) = both(-eps), both(eps)
    print(
        f"Discontinuous map x -> {A} x - H(x) + b: border collision of the fixed point 5b "
        f"at b* = 0; observed: the omega-limit set at b = 0.5; loss on its extent."
    )
    for e, l1, l2, g1, g2 in zip(eps, l_left, l_right, g_left, g_right):
        print(
            f"  b* -+ {float(e):.0e}: L = {float(l1):.5f} | {float(l2):.5f}   "
            f"autodiff dL/db = {float(g1):+.3f} | {float(g2):+.3f}"
        )
    jump = float(l_right[-1] - l_left[-1])
    print(f"  jump of the loss at b*: {jump:+.4f} (the autodiff gradient stays bounded)")

    # ---- 3. loss landscapes over b
    cs = (1.0, 5.0, 10.0, 50.0, 1000.0)
    bs = jnp.linspace(-0.2, 1.2, 141 if quick else 701)
    losses, grads = {}, {}
    print("Loss landscapes over b in [-0.2, 1.2], observed at b = 0.3 (per c):")
    for cc in cs:
        s = cj.systems.SmoothedSigmoidMap(a=A, c=cc, b=0.3)
        o = cj.learn.omega_limit(s, X0, transient=2_000, keep=64)[:, 0]
        land = cj.learn.loss_landscape(s, "b", bs, o, x0=X0, transient=2_000)
        gr = np.asarray(land.gradient)
        bad = ~np.isfinite(gr) | (np.abs(np.nan_to_num(gr, nan=np.inf)) > 1e3)
        losses[f"c = {cc:g}"] = np.maximum(np.asarray(land.loss), 1e-12)
        grads[f"c = {cc:g}"] = np.clip(np.where(np.isfinite(gr), gr, np.nan), -1e12, 1e12)
        top = np.nanmax(np.where(bad, np.nan, np.abs(gr)))
        print(
            f"  c = {cc:6g}: max finite |dL/db| {top:.3g}; "
            f"useless gradient (|dL/db| > 1e3 or not finite) at {100 * bad.mean():.1f} % of b"
        )
    fig = cjp.loss_landscapes(
        bs, losses, gradients=grads, marks=[bstar, 0.0],
        title="omega-limit loss of x -> 0.8 x - (1 + tanh(c x))/2 + b, observed at b = 0.3",
    )  # fmt: skip
    fig.savefig(out / "loss_landscapes.png", dpi=120)
    plt.close(fig)

    # ---- 4. gradient descent on (a, b, c)
    steps = 200 if quick else 1_000
    for cc, b0 in ((1.0, 0.6), (5.0, 0.15), (5.0, 0.26)):
        target = cj.systems.SmoothedSigmoidMap(a=A, c=cc, b=0.3)
        o = cj.learn.omega_limit(target, X0, transient=2_000, keep=64)[:, 0]
        start = target.replace(b=b0)
        res = cj.learn.fit_omega_limit(
            start, o, key=jax.random.key(0), x0=X0, transient=2_000, steps=steps
        )
        m = res.model
        l0 = float(cj.learn.omega_limit_loss(start, o, x0=X0, transient=2_000))
        print(
            f"Adam, {steps} steps, target (a, b, c) = ({A}, 0.3, {cc:g}) from b = {b0}: loss "
            f"{l0:.2e} -> {res.loss:.2e}, fitted (a, b, c) = ({float(m.a):.3f}, "  # type: ignore[attr-defined]
            f"{float(m.b):.3f}, {float(m.c):.3f})"  # type: ignore[attr-defined]
        )
    print(f"Figures in {out}/")


if __name__ == "__main__":
    main()
