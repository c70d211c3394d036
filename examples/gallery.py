"""The figures of the docs' gallery (docs/gallery.md), one function each.

    python examples/gallery.py [--out docs/gallery]

Each function computes what it draws with chaosjax and draws it with `chaosjax.plot`
into axes it is given; the page shows each figure beside the function's code. Small
PNGs (80 dpi); about half a minute on two cores.
"""

from __future__ import annotations

import argparse
import pathlib

import jax
import jax.numpy as jnp
import matplotlib

matplotlib.use("Agg")  # a script that only writes files
import matplotlib.pyplot as plt  # noqa: E402

import chaosjax as cj  # noqa: E402
import chaosjax.plot as cjplot  # noqa: E402

cj.enable_x64()


def strange_attractors(fig):
    """Four strange attractors of the catalogue, each from its default state."""
    for i, name in enumerate(["lorenz63", "rossler", "thomas", "halvorsen"]):
        system = cj.systems.get(name)
        xs = cj.trajectory(system, system.default_state(), steps=20_000, dt=0.01, transient=2_000)
        ax = fig.add_subplot(1, 4, i + 1, projection="3d")
        cjplot.phase_portrait(xs, ax=ax, title=name)


def henon_and_lozi(fig):
    """The Hénon and Lozi attractors, 20,000 iterates each, with their exponents."""
    for i, name in enumerate(["henon", "lozi"]):
        system = cj.systems.get(name)
        pts = cj.trajectory(system, system.default_state(), steps=20_000, transient=100)
        lam = cj.lyapunov_spectrum(system, system.default_state(), steps=20_000).exponents
        ax = fig.add_subplot(1, 2, i + 1)
        cjplot.poincare_section(pts, ax=ax, title=f"{name}: λ = {lam[0]:.3f}, {lam[1]:.3f}")


def logistic_orbit_diagram(fig):
    """The logistic map's orbit diagram with its largest exponent underneath."""
    log = cj.systems.Logistic()
    rs = jnp.linspace(2.8, 4.0, 1_000)
    od = cj.orbit_diagram(log, "r", rs, transient=1_000, keep=200)
    lam = cj.lyapunov_sweep(log, "r", rs, jnp.array([0.3]), steps=2_000, transient=500)
    cjplot.orbit_diagram(od, lam, param_label="r", fig=fig)


def lorenz_maxima(fig):
    """Lorenz's map of successive z-maxima (1963), and the maxima against rho."""
    lor = cj.systems.Lorenz63()
    one = cj.orbit_diagram(
        lor,
        "rho",
        jnp.array([28.0]),
        dt=0.01,
        transient=2_000,
        steps=50_000,
        keep=1_000,
        section=cj.LocalMaxima(2),
    )
    cjplot.return_map(
        one.points[0], coordinate=2, ax=fig.add_subplot(1, 2, 1), title="z-maxima at ρ = 28"
    )
    rhos = jnp.linspace(20.0, 200.0, 300)
    sweep = cj.orbit_diagram(
        lor, "rho", rhos, dt=0.01, transient=5_000, steps=10_000, keep=60, section=cj.LocalMaxima(2)
    )
    cjplot.orbit_diagram(sweep, coordinate=2, param_label="ρ", ax_points=fig.add_subplot(1, 2, 2))


def spectrum_and_convergence(fig):
    """Lorenz63's Lyapunov spectrum: running estimates and the bars (Kaplan-Yorke)."""
    lor = cj.systems.Lorenz63()
    res = cj.lyapunov_spectrum(lor, lor.default_state(), steps=100_000, dt=0.01, transient=1_000)
    cjplot.lyapunov_convergence(res, ax=fig.add_subplot(1, 2, 1))
    cjplot.lyapunov_spectrum_bars(res.exponents, ax=fig.add_subplot(1, 2, 2))


def lorenz96_spectrum(fig):
    """The Lyapunov spectrum of Lorenz96 with 40 sites (F = 8)."""
    l96 = cj.systems.get("lorenz96", n=40)
    res = cj.lyapunov_spectrum(l96, l96.default_state(), steps=20_000, dt=0.01, transient=2_000)
    cjplot.lyapunov_spectrum_bars(res.exponents, ax=fig.add_subplot())


def clv_angles(fig):
    """Angles between Hénon's covariant Lyapunov vectors: near-tangencies."""
    hen = cj.systems.Henon()
    clv = cj.covariant_lyapunov_vectors(hen, hen.default_state(), 20_000)
    cjplot.clv_angles(clv, ax=fig.add_subplot())


def rosenstein(fig):
    """The largest exponent from a scalar series: Rosenstein's divergence curve."""
    lor = cj.systems.Lorenz63()
    xs = cj.trajectory(
        lor, lor.default_state(), steps=19_998, dt=0.01, transient=2_000, save_every=2
    )[:, 0]
    est = cj.lyapunov_from_timeseries(
        xs, dt=0.02, dim=5, lag=5, theiler=50, horizon=125, fit_range=(50, 125)
    )
    cjplot.divergence_curve(est, ax=fig.add_subplot())


def ensemble_averages(fig):
    """Running time averages of z over 16 members converging together."""
    lor = cj.systems.Lorenz63()
    x0s = lor.sample_state(jax.random.key(0), 16)
    ca = cj.cumulative_average(
        lor, x0s, lambda x: x[2], steps=20_000, dt=0.01, transient=2_000, save_every=10
    )
    cjplot.cumulative_average_band(ca.times, ca.averages, label="⟨z⟩", ax=fig.add_subplot())


#: name -> (function, figure size in inches)
FIGURES = {
    "strange_attractors": (strange_attractors, (12, 3.2)),
    "henon_and_lozi": (henon_and_lozi, (9, 3.8)),
    "logistic_orbit_diagram": (logistic_orbit_diagram, (7, 5)),
    "lorenz_maxima": (lorenz_maxima, (10, 4)),
    "spectrum_and_convergence": (spectrum_and_convergence, (10, 3.8)),
    "lorenz96_spectrum": (lorenz96_spectrum, (7, 3.5)),
    "clv_angles": (clv_angles, (6, 3.8)),
    "rosenstein": (rosenstein, (6, 3.8)),
    "ensemble_averages": (ensemble_averages, (7, 3.8)),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="docs/gallery", help="folder of the PNGs")
    parser.add_argument("names", nargs="*", help="figures to make (default: all)")
    args = parser.parse_args()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name in args.names or FIGURES:
        fn, size = FIGURES[name]
        fig = plt.figure(figsize=size, layout="constrained")
        fn(fig)
        cj.io.save_figure(fig, out / f"{name}.png", dpi=80)
        print(out / f"{name}.png")


if __name__ == "__main__":
    main()
