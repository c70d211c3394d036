"""A neural ODE learned from Lorenz63 trajectories, judged as a dynamical system.

Trajectories of the Lorenz (1963) system (sigma = 10, rho = 28, beta = 8/3) sampled
every 0.01 time units train a neural ODE dx/dt = f(x), f a tanh MLP, by multiple
shooting on short segments (`cj.learn.fit_neural_ode`); segments of 0.1 time units, a
tenth of a Lyapunov time, keep the loss smooth in the weights. The fitted model is a
`cj.Flow`, so `cj.lyapunov_spectrum` and `cj.kaplan_yorke_dimension` run on it as on
the true system; their figures are printed beside the truth's (largest exponent 0.906,
Kaplan-Yorke dimension 2.06; Sprott 2003, "Chaos and Time-Series Analysis"), with no
threshold: a one-step-accurate model need not have the attractor's exponents.

Run: `python examples/neural_ode_lorenz.py`.
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np

import chaosjax as cj

cj.enable_x64()

DT = 0.01
#: Training data: trajectories after a transient, sampled every DT.
N_TRAJECTORIES, STEPS, TRANSIENT = 4, 2_000, 1_000
NETWORK = dict(hidden=64, depth=2, activation="tanh")
TRAINING = dict(
    segment_steps=10,
    segment_stride=4,
    solver="rk4",
    adjoint="direct",
    batch_size=256,
    stages=[(cj.learn.Adam(learning_rate=3e-3), 3_000), ("lbfgs", 100)],
    eval_every=250,
)
SPECTRUM = dict(dt=DT, steps=200_000, transient=2_000)
TRUTH = (0.906, 2.06)


def main() -> None:
    lor = cj.systems.Lorenz63()
    ds = cj.learn.dataset(
        lor,
        N_TRAJECTORIES + 1,
        STEPS,
        dt=DT,
        key=jax.random.key(0),
        transient=TRANSIENT,
        split=(N_TRAJECTORIES / (N_TRAJECTORIES + 1), 1 / (N_TRAJECTORIES + 1), 0.0),
    )
    train = np.asarray(cj.learn.subset(ds, "train").states)
    test = np.asarray(cj.learn.subset(ds, "validation").states)[0]
    print(
        f"Lorenz63, {train.shape[0]} trajectories x {train.shape[1]} samples (dt = {DT}) "
        f"for training, one more for testing."
    )
    print(
        "Network 3 -> 64 tanh -> 64 tanh -> 3; segments of 10 samples every 4th sample; "
        "RK4 at dt, backpropagated directly; Adam (lr 3e-3, batches of 256 segments) "
        "3,000 steps, then L-BFGS 100."
    )
    t0 = time.perf_counter()
    res = cj.learn.fit_neural_ode(train, dt=DT, key=jax.random.key(1), **NETWORK, **TRAINING)
    wall = time.perf_counter() - t0
    model = res.model
    final = float(np.nanmin(np.asarray(res.history.train)))
    print(f"Fit time {wall:.0f} s; final shooting loss {final:.2e} (fraction of the variance).")

    # Short-time forecast from the test trajectory: one Lyapunov time is ~1.1 time units.
    horizon = 50
    pred = np.asarray(cj.trajectory(model, jnp.asarray(test[0]), steps=horizon, dt=DT))
    err = np.linalg.norm(pred - test[: horizon + 1], axis=1) / np.linalg.norm(test.std(axis=0))
    print(
        f"Forecast error on the test trajectory (|x_model - x| / |std x|): "
        f"{err[10]:.1e} at t = 0.1, {err[50]:.1e} at t = 0.5."
    )

    x0 = jnp.asarray(test[0])
    t0 = time.perf_counter()
    learned = cj.lyapunov_spectrum(model, x0, **SPECTRUM)
    truth = cj.lyapunov_spectrum(lor, x0, **SPECTRUM)
    wall_spec = time.perf_counter() - t0
    ky_learned = float(cj.kaplan_yorke_dimension(learned.exponents))
    ky_truth = float(cj.kaplan_yorke_dimension(truth.exponents))
    print(
        f"\nLyapunov spectra ({SPECTRUM['steps']:,} RK4 steps of dt = {DT} after "
        f"{SPECTRUM['transient']:,}; {wall_spec:.0f} s for both):\n"
    )
    print("| system | exponents (per unit time) | largest | Kaplan-Yorke dimension |")
    print("|---|---|---:|---:|")
    for label, spec, ky in (
        ("neural ODE", learned.exponents, ky_learned),
        ("Lorenz63, computed here", truth.exponents, ky_truth),
    ):
        exps = ", ".join(f"{e:+.3f}" for e in np.asarray(spec))
        print(f"| {label} | {exps} | {float(spec[0]):.3f} | {ky:.3f} |")
    print(f"| Lorenz63, literature | | {TRUTH[0]:.3f} | {TRUTH[1]:.2f} |")


if __name__ == "__main__":
    main()
