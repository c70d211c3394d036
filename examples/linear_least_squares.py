"""Least squares for A in dx/dt = A x, from samples of one trajectory.

Budd's lecture "Neural ODEs for, and as, dynamical systems" (2025) contrasts a neural ODE
with the direct fit "assume dz/dt = B z, find B" on the linear flow

    A = [[-0.1, -1], [1, -0.1]],   x(0) = (2, 0),   t in [0, 15],

and reports B from 100, 400 and 2000 samples. Here the samples are exact (the matrix
exponential), dx/dt is estimated by 2nd- and 4th-order finite differences and by the
derivative of an interpolating quintic spline, and A is the least-squares fit
(`cj.learn.fit_linear_flow`). The error of A follows the derivative's order.

Run: `python examples/linear_least_squares.py`.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

import chaosjax as cj

cj.enable_x64()

A = np.array([[-0.1, -1.0], [1.0, -0.1]])
X0 = np.array([2.0, 0.0])
#: The lecture's fitted matrices, by number of samples.
LECTURE = {
    100: [[-0.1001, -1.0005], [1.0004, -0.0993]],
    400: [[-0.1000, -1.0005], [1.0007, -0.1002]],
    2000: [[-0.1000, -1.0005], [1.0005, -0.1001]],
}


def samples(n: int) -> tuple[np.ndarray, float]:
    """n exact samples x(t) = expm(A t) x0 spread evenly over [0, 15], and their step."""
    t = np.linspace(0.0, 15.0, n)
    xs = np.stack([scipy.linalg.expm(A * s) @ X0 for s in t])
    return xs, float(t[1] - t[0])


def main() -> None:
    print("True A = [[-0.1, -1], [1, -0.1]];  x0 = (2, 0);  t in [0, 15]")
    for n in (100, 400, 2000):
        xs, dt = samples(n)
        lecture = np.asarray(LECTURE[n])
        err_lecture = np.max(np.abs(lecture - np.asarray(A)))
        print(f"\n{n} samples (dt = {dt:.5f})")
        print(f"  {'derivative':<10} {'max |A_fit - A|':>16}   A_fit")
        for method in ("fd2", "fd4", "spline"):
            fit = np.asarray(cj.learn.fit_linear_flow(xs, dt=dt, derivative=method).A)
            err = np.max(np.abs(fit - np.asarray(A)))
            rows = "  ".join(f"[{r[0]:+.6f} {r[1]:+.6f}]" for r in fit)
            print(f"  {method:<10} {err:16.2e}   {rows}")
        rows = "  ".join(f"[{r[0]:+.4f} {r[1]:+.4f}]" for r in lecture)
        print(f"  {'lecture':<10} {err_lecture:16.2e}   {rows}")
    xs, dt = samples(100)
    flow = cj.learn.fit_linear_flow(xs, dt=dt, derivative="fd4")
    lam = np.sort(np.linalg.eigvals(np.asarray(flow.A)).real)[::-1]
    print(f"\nExponents of the fd4 fit (100 samples): {lam.round(6)}; exact: [-0.1 -0.1]")


if __name__ == "__main__":
    main()
