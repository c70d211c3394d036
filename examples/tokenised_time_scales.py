"""The time scales of grid-tokenised trajectories that depend only on the true systems:
the reference figures for a model that continues token sequences.

Shalova & Oseledets (2020), "Deep representation learning for dynamical systems modeling",
arXiv:2002.05111, discretise trajectories on a grid of N = 50 cells per axis and judge a
transformer's continuations by (i) the largest Hénon exponent from the generated orbits
with Jacobians at cube centres, extrapolated in 1/n (0.4161 against 0.4192), and
(ii) divergence times: true trajectories whose first k = 100 tokens match a condition
are followed until their tokens leave the model's continuation (1.11 for Lorenz, 4.59
for Rössler, against inverse exponents they quote as 1.04 and 5.33). This script
computes what the true systems give in the same procedures:

1. the largest exponents at the parameters printed in the paper (Lorenz sigma = 28,
   rho = 10, beta = 2.67; Rössler a = 0.15, b = 0.2, c = 10) and at the standard ones
   (10, 28, 8/3; 0.2, 0.2, 5.7), with 1/lambda_1 and what the orbits settle on;
2. the divergence time of true continuations against the true continuation of x0
   (`cj.metrics.sampled_divergence_time`) at the paper's set-up: tau = 0.03 (Lorenz)
   and 0.1 (Rössler), k = 100, perturbations l_d exp(-lambda k tau) (l_d: half a cell's
   diagonal) and a tenth of that;
3. the finite-n exponent of the Hénon map (`cj.finite_n_lyapunov`) from true states
   and from their cube centres (the control for generated orbits).

Run: `python examples/tokenised_time_scales.py` (about two minutes on two cores), or
`--quick` for a smaller sample.
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np

import chaosjax as cj

cj.enable_x64()

N, K = 50, 100
PAPER_TD = {"lorenz": 1.11, "rossler": 4.59}
PAPER_INV = {"lorenz": 1.04, "rossler": 5.33}
CASES = {
    "lorenz printed (28, 10, 2.67)": (
        cj.systems.Lorenz63().replace(sigma=28.0, rho=10.0, beta=2.67), 0.01, 3, "lorenz"),
    "lorenz standard (10, 28, 8/3)": (cj.systems.Lorenz63(), 0.01, 3, "lorenz"),
    "rossler printed (0.15, 0.2, 10)": (
        cj.systems.Rossler().replace(a=0.15, b=0.2, c=10.0), 0.01, 10, "rossler"),
    "rossler standard (0.2, 0.2, 5.7)": (cj.systems.Rossler(), 0.01, 10, "rossler"),
}  # fmt: skip


def grid(states: jax.Array, n: int):
    """An n-per-axis grid over the states' box: (encode, snap, half-diagonal of a cell)."""
    flat = states.reshape(-1, states.shape[-1])
    lo, hi = flat.min(0), flat.max(0)
    h = jnp.where(hi > lo, (hi - lo) / n, 1.0)

    def cells(x):
        f = x.reshape(-1, x.shape[-1])
        return jnp.clip(jnp.floor((f - lo[None]) / h[None]), 0, n - 1).astype(jnp.int32), f

    def encode(x):
        i, _ = cells(x)
        tok = i[:, 0]
        for c in range(1, x.shape[-1]):
            tok = tok * n + i[:, c]
        return tok.reshape(x.shape[:-1])

    def snap(x):
        i, _ = cells(x)
        return (lo[None] + (i + 0.5) * h[None]).reshape(x.shape)

    return encode, snap, 0.5 * float(jnp.sqrt(jnp.sum(h * h)))


def exponents(quick: bool) -> dict[str, float]:
    print("1. Largest exponents (cj.lyapunov_spectrum, RK4 dt = 0.01)")
    lam1 = {}
    steps = 50_000 if quick else 400_000
    for name, (system, dt, _, family) in CASES.items():
        x0 = jnp.array([5.0, 0.0, 0.0]) if family == "rossler" else jnp.array([0.05, -0.03, 0.08])
        x = cj.final_state(system, x0, steps=50_000, dt=dt)
        res = cj.lyapunov_spectrum(system, x, steps=steps, dt=dt, transient=10_000)
        lam = np.asarray(res.exponents)
        xs = cj.trajectory(system, x, steps=20_000, dt=dt)
        spread = float(jnp.max(jnp.std(xs, axis=0)))
        where = (
            "a fixed point " + np.array2string(np.asarray(x), precision=3)
            if spread < 1e-6
            else "a chaotic attractor"
        )
        lam1[name] = float(lam[0])
        print(
            f"   {name:<34} lambda = {np.array2string(lam, precision=4)}  1/lambda_1 = "
            f"{1 / lam[0]:7.3f}  (paper: {PAPER_INV[family]}); settles on {where}"
        )
    return lam1


def divergence(lam1: dict[str, float], quick: bool, key) -> None:
    refs = 6 if quick else 20
    # More samples at the paper's scale, where ~0.1% are accepted.
    samples = {1.0: 1_000, 0.1: 1_000} if quick else {1.0: 20_000, 0.1: 5_000}
    horizon = 300
    print(
        f"\n2. Divergence times of true continuations (N = {N}, k = {K}, {refs} x0, "
        f"horizon {horizon} tokens; samples per x0: {samples[1.0]} at the paper's scale, "
        f"{samples[0.1]} at a tenth)"
    )
    print(
        f"   {'':<34}{'scale':>10}{'accepted':>10}{'x0':>4}{'longest':>9}{'mean':>8}"
        f"{'median':>8}{'ended':>7}{'1/lam':>8}{'paper':>7}"
    )
    for name, (system, dt, every, family) in CASES.items():
        tau = dt * every
        x0 = jnp.array([5.0, 0.0, 0.0]) if family == "rossler" else jnp.array([0.05, -0.03, 0.08])
        start = cj.final_state(system, x0, steps=20_000, dt=dt)
        xs = cj.trajectory(system, start, steps=100_000 * every, dt=dt, save_every=every)
        encode, _, radius = grid(xs, N)
        lam = lam1[name]
        if lam <= 0:
            # Not chaotic: the paper's data (from U(-0.1, 0.1)) run into the stable
            # fixed points; grid over that data, continuations from where it settles.
            u = jax.random.uniform(jax.random.fold_in(key, 7), (refs, 3), minval=-0.1, maxval=0.1)
            box = cj.trajectory(system, u, steps=1_000 * every, dt=dt, save_every=every)
            encode, _, radius = grid(box, N)
            x0s = box[:, -1]
        else:
            x0s = xs[jnp.linspace(1_000, xs.shape[0] - 1_000, refs).astype(int)]
        for factor in (1.0, 0.1):
            scale = factor * radius * np.exp(-max(lam, 0.0) * K * tau)
            t0 = time.perf_counter()
            res = cj.metrics.sampled_divergence_time(
                system, x0s, encode=encode, condition=K, horizon=horizon,
                samples=samples[factor],
                scale=scale, key=jax.random.fold_in(key, int(factor * 10)), dt=dt,
                save_every=every,
            )  # fmt: skip
            d = res.divergence
            ended = float(jnp.sum(d.reached_end & d.accepted) / jnp.maximum(jnp.sum(d.accepted), 1))
            inv = 1 / lam if lam > 0 else float("inf")
            print(
                f"   {name:<34}{scale:>10.2e}{int(d.accepted.sum()):>10}"
                f"{int(jnp.any(d.accepted, axis=-1).sum()):>4}"
                f"{float(d.mean_longest_time):>9.3f}{float(d.mean_time):>8.3f}"
                f"{float(d.median_time):>8.3f}{ended:>7.2f}{inv:>8.3f}{PAPER_TD[family]:>7}"
                f"   ({time.perf_counter() - t0:.0f} s, {int(res.invalid.sum())} non-finite)"
            )
    print(
        "   accepted: continuations whose first k tokens matched, x0: references with at\n"
        "   least one; longest: the paper's statistic (the longest accepted continuation\n"
        "   per x0, averaged over those x0); mean/median over every accepted continuation;\n"
        "   ended: the fraction of accepted continuations still matching at the horizon."
    )


def henon(quick: bool, key) -> None:
    hen = cj.systems.Henon()
    print("\n3. Finite-n exponent of the Henon map (n = 1..15, fit lambda + c1/n + c2/n^2)")
    x0 = jnp.array([[-0.95, 0.35]]) + jax.random.uniform(key, (10, 2), minval=-0.05, maxval=0.05)
    orbits = cj.trajectory(hen, x0, steps=10_000, transient=1_000)
    _, snap, _ = grid(orbits, N)
    rows = [("true states, 10 x 10,000", orbits, None), ("cube centres, 10 x 10,000", orbits, snap)]
    if not quick:
        big = cj.trajectory(hen, jnp.array([0.1, 0.1]), steps=1_000_000, transient=1_000)
        big = big[1:].reshape(100, -1, 2)
        _, snap_big, _ = grid(big, N)
        rows += [("true states, 1,000,000", big, None), ("cube centres, 1,000,000", big, snap_big)]
    for label, orbit, points in rows:
        est = cj.finite_n_lyapunov(hen, orbit, points=points)
        late = cj.finite_n_lyapunov(hen, orbit, points=points, fit_range=(3, 15))
        print(
            f"   {label:<28} lambda_1 = {float(est.lambda_n[0]):.4f}  lambda_15 = "
            f"{float(est.lambda_n[-1]):.4f}  fit 1..15: {float(est.extrapolated):.4f}  "
            f"fit 3..15: {float(late.extrapolated):.4f}"
        )
    print("   QR method (Sprott 2003): 0.41922; the paper: 0.4161 from generated orbits.")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller samples")
    args = parser.parse_args()
    key = jax.random.key(0)
    lam1 = exponents(args.quick)
    divergence(lam1, args.quick, key)
    henon(args.quick, jax.random.fold_in(key, 1))


if __name__ == "__main__":
    main()
