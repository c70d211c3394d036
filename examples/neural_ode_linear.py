"""A neural ODE learned from one arc of a linear flow, beside least squares for A.

C. Budd, "Neural ODEs for, and as, dynamical systems" (Lecture 7, Seattle, June 2025),
after MATLAB's "Dynamical System Modeling Using Neural ODE" example: the flow

    dx/dt = A x,   A = [[-0.1, -1], [1, -0.1]],   x(0) = (2, 0),   t in [0, 15],

sampled at 2,000 points; a neural ODE dz/dt = W_2 tanh(W_1 z + b_1) + b_2 is trained
through the solver on the first 400 points. The lecture's observations: the prediction
is good near the training trajectory, and the error grows away from it. Here the
training arc's relative RMSE and the wall time are printed, then the error on the rest
of the trajectory and from other initial states (large: 400 points cover under half a
turn), then the same network trained on a full turn and on several trajectories, and
finally least squares for A from 100 samples (`cj.learn.fit_linear_flow`), with the
lecture's matrix beside each.

Run: `python examples/neural_ode_linear.py`.
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np
import scipy.linalg

import chaosjax as cj

cj.enable_x64()

A = np.array([[-0.1, -1.0], [1.0, -0.1]])
X0 = np.array([2.0, 0.0])
T = np.linspace(0.0, 15.0, 2000)
DT = float(T[1] - T[0])
#: Initial states away from the training arc (which runs from (2, 0) through the upper
#: half plane to about (-1.47, 0.21)), on which the models are tested over [0, 15].
OTHER_X0 = [(-2.0, 0.0), (0.0, -2.0), (1.0, 1.0), (0.5, -0.5), (3.0, 0.0)]
#: The network of the lecture (two layers, tanh; 20 hidden units as in the MATLAB
#: example), segments of 40 samples (the MATLAB example's 40 time steps), and the
#: training schedule: Adam, then L-BFGS.
NETWORK = dict(hidden=20, depth=1, activation="tanh")
TRAINING = dict(
    segment_steps=40,
    solver="tsit5",
    adjoint="recursive_checkpoint",
    stages=[(cj.learn.Adam(learning_rate=1e-2), 1000), ("lbfgs", 500)],
)
#: Least squares from 100 samples over [0, 15]: the lecture's matrix.
LECTURE_B_100 = [[-0.1001, -1.0005], [1.0004, -0.0993]]


def exact(x0, t=T):
    """x(t) = expm(A t) x0 at the times `t`, shape (len(t), 2)."""
    return np.stack([scipy.linalg.expm(A * s) @ np.asarray(x0, float) for s in t])


def rel_rmse(pred, true):
    """sqrt(mean |pred - true|^2) / sqrt(mean |true|^2)."""
    return float(np.sqrt(np.mean((pred - true) ** 2)) / np.sqrt(np.mean(true**2)))


def predict(model, x0, steps):
    """The model's states at the sample times, by RK4 at the sampling step."""
    return np.asarray(cj.trajectory(model, jnp.asarray(x0, float), steps=steps, dt=DT))


def train(data, **extra):
    """Fit the neural ODE; returns the model and the wall time of the fit."""
    t0 = time.perf_counter()
    res = cj.learn.fit_neural_ode(
        data, dt=DT, key=jax.random.key(0), **NETWORK, **{**TRAINING, **extra}
    )
    return res.model, time.perf_counter() - t0


def errors(model, n_turn):
    """Relative RMSEs from x0 = (2, 0) on the training arc (first 400 samples), after it,
    after the first turn, and from each of `OTHER_X0`, all over t in [0, 15]."""
    xs = exact(X0)
    pred = predict(model, X0, len(T) - 1)
    others = [rel_rmse(predict(model, x0, len(T) - 1), exact(x0)) for x0 in OTHER_X0]
    arc = rel_rmse(pred[:400], xs[:400])
    return arc, rel_rmse(pred[400:], xs[400:]), rel_rmse(pred[n_turn:], xs[n_turn:]), others


def report(label, model, wall, n_points, n_turn):
    arc, rest, after_turn, others = errors(model, n_turn)
    cells = " | ".join(f"{e:.2e}" for e in others)
    print(
        f"| {label} | {n_points} | {wall:.1f} s | {arc:.2e} | {rest:.2e} | {after_turn:.2e} "
        f"| {cells} |"
    )
    return arc, rest, after_turn, others


def main() -> None:
    xs = exact(X0)
    turn = 2 * np.pi
    print("Budd's linear example: A = [[-0.1, -1], [1, -0.1]], x0 = (2, 0), t in [0, 15],")
    print(f"2,000 samples (dt = {DT:.5f}); the first 400 span t in [0, {T[399]:.2f}],")
    print(f"{T[399] / turn:.2f} of a turn (period 2 pi = {turn:.2f}).")
    print(
        "Network 2 -> 20 tanh -> 2 (the lecture's two layers); multiple shooting on "
        "segments of 40 samples; tsit5, recursive-checkpoint adjoint; Adam (lr 1e-2) "
        "1000 steps, then L-BFGS 500."
    )
    n_turn = int(np.ceil(turn / DT)) + 1
    print("\nRelative RMSE (sqrt(mean |x_model - x|^2) / sqrt(mean |x|^2)) of each model")
    print("started from the true initial state and integrated by RK4 at the sampling step:")
    print(f"from x0 = (2, 0) on t in [0, {T[399]:.2f}] (the lecture's training arc), on")
    print(f"[{T[400]:.2f}, 15] (after it) and on [{T[n_turn]:.2f}, 15] (after the first turn);")
    print("from other initial states over [0, 15].\n")
    head = " | ".join(f"x0 = {x0}" for x0 in OTHER_X0)
    print(
        "| training data | points | fit time | training arc | after the arc | after a turn "
        f"| {head} |"
    )
    print("|---|---:|---:|---:|---:|---:|" + "---:|" * len(OTHER_X0))

    model, wall = train(xs[:400])
    arc, rest, after, others = report("first 400 points (the lecture's)", model, wall, 400, n_turn)

    model_turn, wall_turn = train(xs[:n_turn])
    label = f"a full turn (first {n_turn} points)"
    _, _, turn_after, turn_others = report(label, model_turn, wall_turn, n_turn, n_turn)

    # Several trajectories that cover the disc the tests run in: radii 0.5 to 3, four
    # directions, 400 samples each (segment starts every 4th sample).
    starts = [(r * np.cos(a), r * np.sin(a)) for r in (0.5, 1.5, 3.0) for a in (0.3, 1.9, 3.5, 5.1)]
    several = np.stack([exact(x0, T[:400]) for x0 in starts])
    model_many, wall_many = train(several, segment_stride=4)
    label = f"{len(starts)} trajectories x 400 points, none from (2, 0)"
    _, _, many_after, many_others = report(
        label, model_many, wall_many, several.shape[0] * 400, n_turn
    )

    print(f"\nThe lecture's training (first 400 points): training-arc relative RMSE {arc:.2e}")
    print(f"(target < 1e-2) in {wall:.1f} s of fitting (target < 120 s on 2 cores).")
    print(
        "Away from the arc the one-arc model is wrong, as the lecture shows: "
        f"{rest:.2f} after the arc, {min(others):.2f}-{max(others):.2f} from the other "
        "initial states."
    )
    print(
        f"A full turn covers every direction but only radii {np.hypot(*xs[n_turn - 1]):.2f}"
        f"-2 along one curve, which pins f only on itself: after the turn "
        f"{after:.2f} -> {turn_after:.2f}, other initial states "
        f"{max(others):.2f} -> {max(turn_others):.2f} at worst."
    )
    print(
        "Trajectories that cover the disc fix it: after the turn "
        f"{many_after:.1e}, other initial states {max(many_others):.1e} at worst."
    )

    print("\nLeast squares for A (cj.learn.fit_linear_flow), 100 samples over [0, 15]:")
    t100 = np.linspace(0.0, 15.0, 100)
    x100 = exact(X0, t100)
    print(f"  {'derivative':<10} {'max |A_fit - A|':>16}   A_fit")
    for method in ("fd2", "fd4", "spline"):
        fit = np.asarray(
            cj.learn.fit_linear_flow(x100, dt=float(t100[1] - t100[0]), derivative=method).A
        )
        rows = "  ".join(f"[{r[0]:+.6f} {r[1]:+.6f}]" for r in fit)
        print(f"  {method:<10} {np.max(np.abs(fit - A)):16.2e}   {rows}")
    lecture = np.asarray(LECTURE_B_100)
    rows = "  ".join(f"[{r[0]:+.4f} {r[1]:+.4f}]" for r in lecture)
    print(f"  {'lecture':<10} {np.max(np.abs(lecture - A)):16.2e}   {rows}")


if __name__ == "__main__":
    main()
