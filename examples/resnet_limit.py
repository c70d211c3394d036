"""The ResNet layer -> neural ODE limit: a residual layer x_{n+1} = x_n + dt C sigma(A x_n +
b) (`cj.systems.FeedForwardMap`) is the explicit Euler step of the neural ODE dx/dt =
C sigma(A x + b) (`cj.systems.FeedForwardFlow`), so as dt -> 0 its trajectories and its
Lyapunov exponents (per unit time) tend to the flow's, at first order (C. Budd, "Neural
ODEs for, and as, dynamical systems", Lecture 7, Seattle, June 2025; Chen et al. 2018,
arXiv:1806.07366; Hairer, Norsett & Wanner 1993, *Solving Ordinary Differential
Equations I*, sec. II.3, for Euler's global error bound on a Lipschitz field).

For one 2-3-2 network (the weights of tests/test_networks.py) and each activation, prints
as dt halves (0.04, 0.02, 0.01, 0.005):
- the trajectory error: max over t in [0, 2] of |x_n - x(n dt)| against the flow
  integrated by RK4 with dt = 1e-4;
- the largest-exponent error: the layer's largest exponent over 20 time units from the
  same start against the flow's (RK4, dt = 1e-3);
and the orders fitted to log(error) against log(dt).

Smooth activations (tanh, logistic, arctan, SoftPlus) and ELU (alpha = 0.1: a kink in
the field at A_i x + b_i = 0) give order 1. Reported separately:
- ReLU: a Lipschitz field with a kink. Its trajectory error is first order too; its
  exponent is compared with the flow's computed with the kinks located (a
  `cj.PiecewiseSmoothFlow` under `cj.event_map`).
- the binary step: a discontinuous field (a Filippov system). The reference is the flow
  with its crossings located. The layer crosses at the first grid point after the
  crossing, so the error from one start depends on where crossings fall between grid
  points; its mean over 64 starts is printed with its order. The layer's tangent map is
  the identity (sigma' = 0 almost everywhere), while the flow's contains the saltation
  matrices of its crossings (di Bernardo, Budd, Champneys & Kowalczyk 2008,
  *Piecewise-smooth Dynamical Systems*, sec. 2.5): the layer's exponents are 0 for every
  dt and do not tend to the flow's.

Run: `python examples/resnet_limit.py [--quick]` (--quick: exponents for tanh only, no
mean over starts for the step).
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import numpy as np

import chaosjax as cj

cj.enable_x64()

A = jnp.array([[1.0, 0.0], [0.0, 1.0], [1.0, -1.0]])
B = jnp.array([0.2, -0.1, 0.3])
C = jnp.array([[-0.6, -2.0, 0.4], [2.0, -0.5, -0.3]])
X0 = jnp.array([1.0, 0.5])
DTS = [0.04, 0.02, 0.01, 0.005]
T_TRAJ, REF_DT = 2.0, 1e-4
T_EXP, EXP_DT = 20.0, 1e-3


class StepNetwork(cj.PiecewiseSmoothFlow):
    """dx/dt = C H(A x + b) with its crossings of A_i x + b_i = 0 located (saltation
    matrices in the tangent map): the reference for the binary step."""

    @property
    def dim(self) -> int:
        return 2

    def switching_function(self, x):
        return A @ x + B

    def mode_vector_field(self, x, mode):
        return C @ mode.astype(x.dtype)

    def default_state(self):
        return X0


class KinkedNetwork(StepNetwork):
    """dx/dt = C relu(A x + b) with its kinks located: the reference exponent for ReLU."""

    def mode_vector_field(self, x, mode):
        return C @ (mode.astype(x.dtype) * (A @ x + B))


def exponent_located(flow: cj.PiecewiseSmoothFlow, dt: float) -> float:
    m = cj.event_map(flow, dt)
    return float(cj.lyapunov_spectrum(m, X0, steps=int(round(T_EXP / dt)), k=1).exponents[0])


def order(dts: list[float], errors: list[float]) -> float:
    """The slope of log(error) against log(dt), least squares."""
    return float(np.polyfit(np.log(dts), np.log(errors), 1)[0])


def trajectory_errors(flow: cj.systems.FeedForwardFlow, ref_dt: float = REF_DT) -> list[float]:
    n_ref = int(round(T_TRAJ / ref_dt))
    ref = cj.trajectory(flow, X0, steps=n_ref, dt=ref_dt)
    errors = []
    for dt in DTS:
        n = int(round(T_TRAJ / dt))
        xs = cj.trajectory(flow.resnet(dt), X0, steps=n)
        errors.append(float(jnp.max(jnp.linalg.norm(xs - ref[:: n_ref // n], axis=-1))))
    return errors


def exponents(flow: cj.systems.FeedForwardFlow) -> tuple[float, list[float]]:
    steps = int(round(T_EXP / EXP_DT))
    lam_flow = float(cj.lyapunov_spectrum(flow, X0, steps=steps, dt=EXP_DT, k=1).exponents[0])
    lams = [
        float(cj.max_lyapunov(flow.resnet(dt), X0, steps=int(round(T_EXP / dt))).largest)
        for dt in DTS
    ]
    return lam_flow, lams


def row(name: str, errors: list[float]) -> str:
    cells = "  ".join(f"{e:9.3g}" for e in errors)
    return f"  {name:9s} {cells}   order {order(DTS, errors):.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description="The ResNet layer -> neural ODE limit.")
    parser.add_argument("--quick", action="store_true", help="exponents for tanh only")
    args = parser.parse_args()

    header = "  ".join(f"{dt:9g}" for dt in DTS)
    print("ResNet layer -> neural ODE, 2-3-2 network, x0 = (1, 0.5)")
    print(f"trajectory error, max over t in [0, {T_TRAJ:g}] (reference RK4, dt = {REF_DT:g})")
    print(f"  {'dt':9s} {header}")
    smooth = ["tanh", "logistic", "arctan", "softplus", "elu"]
    for act in smooth:
        flow = cj.systems.FeedForwardFlow(A=A, b=B, C=C, activation=act)
        print(row(act, trajectory_errors(flow)))

    print(f"largest-exponent error over {T_EXP:g} time units (flow: RK4, dt = {EXP_DT:g})")
    print(f"  {'dt':9s} {header}")
    for act in ["tanh"] if args.quick else smooth:
        flow = cj.systems.FeedForwardFlow(A=A, b=B, C=C, activation=act)
        lam_flow, lams = exponents(flow)
        print(row(act, [abs(lam - lam_flow) for lam in lams]) + f"   (flow {lam_flow:+.4f})")
        print(f"  {'':9s} " + "  ".join(f"{lam:+9.4f}" for lam in lams) + "   (layer)")

    print("non-smooth activations")
    relu = cj.systems.FeedForwardFlow(A=A, b=B, C=C, activation="relu")
    print(row("relu", trajectory_errors(relu)) + "   (trajectory)")
    if not args.quick:
        lam_flow = exponent_located(KinkedNetwork(), EXP_DT * 10)
        lams = [
            float(cj.max_lyapunov(relu.resnet(dt), X0, steps=int(round(T_EXP / dt))).largest)
            for dt in DTS
        ]
        print(
            f"  {'':9s} "
            + "  ".join(f"{lam - lam_flow:+9.1e}" for lam in lams)
            + f"   (layer - flow exponent; flow {lam_flow:+.5f}, kinks located)"
        )

    step_network(args.quick)


def step_network(quick: bool) -> None:
    """The binary step: a discontinuous field, against the flow with located crossings."""
    step = cj.systems.FeedForwardFlow(A=A, b=B, C=C, activation="step")
    located = cj.event_map(StepNetwork(), dt=DTS[-1])
    n_ref = int(round(T_TRAJ / DTS[-1]))

    def run(x):
        xs = cj.trajectory(located, x, steps=n_ref)
        return xs[-1], xs

    # One pass gives the reference trajectory and its tangent map (jvp through the
    # located crossings, so with their saltation matrices).
    J_flow, ref = jax.jacfwd(run, has_aux=True)(X0)
    starts = X0 + 0.2 * jax.random.normal(jax.random.key(0), (64, 2))
    refs = None if quick else jax.vmap(lambda x: cj.trajectory(located, x, steps=n_ref))(starts)
    one, mean = [], []
    for dt in DTS:
        n, every = int(round(T_TRAJ / dt)), int(round(dt / DTS[-1]))
        layer = step.resnet(dt)
        xs = cj.trajectory(layer, X0, steps=n)
        one.append(float(jnp.max(jnp.linalg.norm(xs - ref[::every], axis=-1))))
        if refs is not None:
            ys = jax.vmap(lambda x: cj.trajectory(layer, x, steps=n))(starts)
            err = jnp.linalg.norm(ys - refs[:, ::every], axis=-1)
            mean.append(float(jnp.mean(jnp.max(err, axis=-1))))
    cells = "  ".join(f"{e:9.3g}" for e in one)
    print(f"  {'step':9s} {cells}   (trajectory from x0; crossings located in the reference)")
    if mean:
        print(row("", mean) + "   (mean over 64 starts x0 + N(0, 0.2^2))")
    J_layer = jax.jacfwd(lambda x: cj.final_state(step.resnet(DTS[-1]), x, steps=n_ref))(X0)
    sv_flow = np.linalg.svd(np.asarray(J_flow), compute_uv=False)
    sv_layer = np.linalg.svd(np.asarray(J_layer), compute_uv=False)
    print(
        f"  tangent map over [0, {T_TRAJ:g}]: singular values {np.round(sv_flow, 4)} (flow, "
        f"with the saltation matrices), {np.round(sv_layer, 4)} (layer: sigma' = 0)"
    )


if __name__ == "__main__":
    main()
