"""The nested rings: a disc inside a ring, classified by the time-T map of a flow and a
linear readout (C. Budd, "Neural ODEs for, and as, dynamical systems", Lecture 7,
Seattle, June 2025; Dupont, Doucet & Teh 2019, "Augmented neural ODEs",
arXiv:1904.01681).

Three classifiers, each fitted by `cj.learn.fit` on the binary cross-entropy:

- a plain neural ODE on the plane: its time-T map is a homeomorphism, so the region it
  calls "inner" is the preimage of a half plane, connected and unbounded; it can only
  cut a channel through the ring. The boundary is traced exactly by the inverse flow,
  and the script prints where it crosses the ring;
- an augmented neural ODE (one extra zero coordinate), which can lift the disc out;
- the lecture's discontinuous flow (r < 1: dr/dt = -r, dtheta/dt = 0; r >= 1:
  dr/dt = r (r* - r), dtheta/dt = -theta), which sends the disc to the origin and the
  ring to (r*, 0); it is not trained, only its readout is fitted.

Prints training and test accuracies and writes OUT/decision_boundaries.png.
Run: `python examples/nested_rings.py [--quick] [--out DIR]`.
"""

from __future__ import annotations

import argparse
import pathlib
import time

import jax
import matplotlib.pyplot as plt
import numpy as np

import chaosjax as cj
import chaosjax.plot as cjp

cj.enable_x64()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small data, short training")
    parser.add_argument("--out", default="out/nested_rings", help="output folder")
    args = parser.parse_args()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    n, n_test, train_steps, rk4 = (200, 1_000, 200, 8) if args.quick else (1_000, 20_000, 2_000, 20)
    x, y = cj.learn.nested_rings(n, key=jax.random.key(0))
    xt, yt = cj.learn.nested_rings(n_test, key=jax.random.key(1))
    print(
        f"Nested rings: disc r <= 0.5 (class 0) inside the ring 1 <= r <= 1.5 (class 1); "
        f"{n} training points, {n_test} test points; Adam, {train_steps} steps."
    )
    kinds = {
        "neural_ode": "plain neural ODE (plane)",
        "augmented": "augmented neural ODE (+1 dim)",
        "nonsmooth": "non-smooth flow (readout only)",
    }
    fits = {}
    for kind, label in kinds.items():
        t0 = time.perf_counter()
        steps = None if kind == "nonsmooth" else rk4
        res = cj.learn.fit_ring_classifier(
            x, y, kind=kind, key=jax.random.key(2), train_steps=train_steps, steps=steps
        )
        took = time.perf_counter() - t0
        fine = res.model.with_steps(10 * res.model.steps)
        test = fine.accuracy(xt, yt)
        enclosed = cj.learn.inner_region_is_bounded(res.model)
        fits[kind] = (res, test)
        print(
            f"{label:32s} train accuracy {100 * res.accuracy:6.2f} %   test accuracy "
            f"{100 * test:6.2f} % (10x finer RK4)   inner region enclosed on a 201^2 grid: "
            f"{enclosed}   ({took:.1f} s)"
        )
    node = fits["neural_ode"][0].model
    curve = np.asarray(cj.learn.decision_boundary_preimage(node))
    r = np.linalg.norm(curve, axis=-1)
    in_ring = (r >= 1.0) & (r <= 1.5)
    angles = np.degrees(np.arctan2(curve[in_ring, 1], curve[in_ring, 0]))
    print(
        f"plain neural ODE: its decision boundary, traced by the inverse flow, runs from "
        f"radius {r[0]:.1f} to radius {r[-1]:.1f} (unbounded both ways), comes within "
        f"{r.min():.3f} of the origin and runs through the outer ring 1 <= r <= 1.5 "
        f"between angles {angles.min():.1f} and {angles.max():.1f} degrees: the channel "
        f"by which the inner region escapes."
    )
    outer = np.asarray(yt) > 0.5
    wrong_outer = float(np.mean(~np.asarray(node.with_steps(10 * node.steps).predict(xt))[outer]))
    print(f"plain neural ODE: {100 * wrong_outer:.2f} % of the test ring called inner.")
    fig = cjp.decision_boundaries(
        [fits[k][0].model for k in kinds],
        x,
        y,
        titles=list(kinds.values()),
        accuracies=[fits[k][1] for k in kinds],
        boundaries=[curve, None, None],
    )
    fig.savefig(out / "decision_boundaries.png", dpi=120)
    plt.close(fig)
    print(f"Figure: {out / 'decision_boundaries.png'}")
    acc = {k: round(100 * fits[k][1], 2) for k in kinds}
    print(f"test accuracies (%): {acc}")


if __name__ == "__main__":
    main()
