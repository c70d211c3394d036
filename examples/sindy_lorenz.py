"""SINDy on Lorenz63: the equations recovered from 10,000 samples, clean and with 1 % noise.

Sparse identification of nonlinear dynamics (Brunton, Proctor & Kutz 2016, PNAS 113,
3932-3937), the symbolic alternative to a neural ODE in Budd's lecture "Neural ODEs for,
and as, dynamical systems" (2025): dx/dt = Theta(x) Xi with Theta the monomials of
degree <= 2 in (x, y, z) and Xi sparse, found by sequentially thresholded least squares
(threshold 0.1).

1. Clean samples (dt = 0.002), fourth-order finite differences.
2. Gaussian noise of 1 % of each coordinate's standard deviation, 20 noise seeds, with a
   Savitzky-Golay derivative (cubic fits over 21 samples) and with a cubic smoothing
   spline (lam = 1e-7).
3. The identified flows are systems: their Lyapunov spectra beside Lorenz63's 0.906.

Run: `python examples/sindy_lorenz.py`.
"""

from __future__ import annotations

import jax
import numpy as np

import chaosjax as cj

cj.enable_x64()

DT = 0.002
SEEDS = 20
#: Lorenz63 in PolynomialLibrary(2)'s order [1, x, y, z, x^2, x y, x z, y^2, y z, z^2].
TRUE = np.zeros((10, 3))
TRUE[1, 0], TRUE[2, 0] = -10.0, 10.0
TRUE[1, 1], TRUE[2, 1], TRUE[6, 1] = 28.0, -1.0, -1.0
TRUE[3, 2], TRUE[5, 2] = -8.0 / 3.0, 1.0
SUPPORT = TRUE != 0
#: Smoothing derivatives for noisy data; the library is evaluated on the smoothed states.
DERIVATIVES = {
    "savgol": cj.learn.SavitzkyGolay(window=21, polyorder=3),
    "spline": cj.learn.Spline(smoothing=1e-7),
}


def noisy(xs: np.ndarray, seed: int) -> np.ndarray:
    noise = np.asarray(jax.random.normal(jax.random.key(seed), xs.shape))
    return xs + 0.01 * xs.std(axis=0) * noise


def coefficient_table(models: dict[str, cj.learn.SINDyFlow]) -> None:
    names = cj.learn.PolynomialLibrary(2).feature_names(["x", "y", "z"])
    header = "".join(f"{k:>23}" for k in models)
    print(f"   {'term':<10}{'true':>10}{header}")
    for i, j in zip(*np.nonzero(SUPPORT)):
        term = f"{'xyz'[j]}': {names[i]}"
        row = ""
        for m in models.values():
            c = float(m.coefficients[i, j])
            row += f"{c:>13.5f} ({abs(c - TRUE[i, j]) / abs(TRUE[i, j]):6.2%})"
        print(f"   {term:<10}{TRUE[i, j]:>10.5f}{row}")
    for key, m in models.items():
        spurious = int(np.sum((np.asarray(m.coefficients) != 0) & ~SUPPORT))
        print(f"   {key}: {spurious} spurious terms")


def main() -> None:
    lor = cj.systems.Lorenz63()
    xs = np.asarray(cj.trajectory(lor, lor.default_state(), steps=9_999, dt=DT))
    print(f"Lorenz63 (sigma 10, rho 28, beta 8/3): {xs.shape[0]} samples, dt = {DT}")

    print("\n1. Clean data, fd4 derivative, threshold 0.1")
    clean = cj.learn.fit_sindy(xs, dt=DT, derivative="fd4", threshold=0.1)
    print("\n".join("   " + line for line in clean.equations()))

    print("\n2. 1 % noise (of each coordinate's std), drawn with jax.random.key(0)")
    data = noisy(xs, 0)
    models = {"clean fd4": clean}
    for key, deriv in DERIVATIVES.items():
        models[f"noisy {key}"] = cj.learn.fit_sindy(data, dt=DT, derivative=deriv)
    print("   Savitzky-Golay derivative (cubic fits over 21 samples):")
    print("\n".join("   " + line for line in models["noisy savgol"].equations()))
    print("\n   coefficients (relative error)")
    coefficient_table(models)

    print(f"\n   over {SEEDS} noise seeds:")
    for key, deriv in DERIVATIVES.items():
        exact_support, worst = 0, 0.0
        for seed in range(SEEDS):
            m = cj.learn.fit_sindy(noisy(xs, seed), dt=DT, derivative=deriv)
            c = np.asarray(m.coefficients)
            exact_support += bool(np.all((c != 0) == SUPPORT))
            err = np.abs(c[SUPPORT] - TRUE[SUPPORT]) / np.abs(TRUE[SUPPORT])
            worst = max(worst, float(err.max()))
        verdict = "the 7 terms, no others" if exact_support == SEEDS else "NOT the 7 terms"
        print(
            f"   {key}: {exact_support} of {SEEDS} seeds: {verdict}; "
            f"worst coefficient error {worst:.2%} (goal < 3 %)"
        )
    print(f"   (savgol: {DERIVATIVES['savgol']}; spline: {DERIVATIVES['spline']})")

    print("\n3. Lyapunov spectra (RK4, dt = 0.01, 100,000 steps after 1,000)")
    systems = {"Lorenz63": lor, "SINDy clean": clean}
    systems["SINDy noisy, savgol"] = models["noisy savgol"]
    for key, system in systems.items():
        res = cj.lyapunov_spectrum(
            system, lor.default_state(), steps=100_000, dt=0.01, transient=1_000
        )
        lam = np.asarray(res.exponents)
        print(
            f"   {key:<22} {np.array2string(lam, precision=4)}  "
            f"largest vs 0.906: {abs(lam[0] - 0.906) / 0.906:.2%}"
        )


if __name__ == "__main__":
    main()
