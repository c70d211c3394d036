"""Learning benchmarks: neural-ODE training against torchdiffeq, SINDy against pysindy,
echo-state networks against reservoirpy.

    python benchmarks/learn.py [--repeats 5] [--steps 50] [--only esn] [--markdown FILE]

Tasks:
- Neural-ODE training steps per second on Lorenz63 data: 256 segments of 20 samples
  (dt = 0.01) from one trajectory, the network 3 -> 64 tanh -> 64 tanh -> 3 between a
  normalisation of the state and a scaling of the derivative, the mean squared error of
  the normalised states, Adam (lr 1e-3), full batch, float64, CPU. chaosjax is
  `cj.learn.fit_neural_ode` (diffrax `diffeqsolve` inside `cj.learn.fit`); the peer is
  torchdiffeq's `odeint` (direct backpropagation through the solver's operations) and
  `odeint_adjoint` (the continuous adjoint solved backwards) on the same network,
  initial weights, normalisation, loss and optimiser, in a plain PyTorch loop
  (`zero_grad`, forward, `backward`, `Adam.step`). Solvers: Dormand-Prince 5(4) at
  rtol = 1e-7, atol = 1e-9 in both (diffrax `Dopri5` with a PID controller, torchdiffeq
  "dopri5"; both pick the first step by Hairer's rule and use the RMS error norm over
  the whole batched state), and fixed-step RK4 with one step per sample (chaosjax's
  classical RK4 tableau in diffrax; torchdiffeq's "rk4", its 3/8-rule variant, also four
  evaluations per step). The recursive-checkpoint adjoint (diffrax) and the direct one
  (chaosjax's own RK4 loop, every stage stored, as `odeint` stores them) are compared
  with `odeint` (all three differentiate the solver's steps), the backsolve adjoint
  with `odeint_adjoint`.
- SINDy fit time on 10,000 (and 100,000) Lorenz63 samples (dt = 0.002): the same
  library (monomials up to degree 2, or 3), STLSQ with threshold 0.1, no ridge term,
  20 iterations at most, the derivative given as `x_dot` (4th-order differences, computed
  once). chaosjax is `cj.learn.fit_sindy`; the peer is `pysindy.SINDy(...).fit`. The
  coefficients agree to 1e-10, asserted here.
- Echo-state network training and closed-loop generation on Lorenz63 (dt = 0.02,
  20,000 training rows, normalised): 600 units, W with 6 inputs per unit (density
  0.01) at spectral radius 0.9, leak 1, washout 100, ridge readout on [1, r, r^2] with an
  unpenalised intercept. chaosjax is `cj.learn.fit_esn` (drawing the reservoir included)
  and `cj.trajectory` + `observe` for 10,000 closed-loop steps; the peer is reservoirpy
  0.4 on the SAME reservoir (our W as a scipy CSR matrix, W_in, b, leak): `Reservoir >>
  Quadratic >> Ridge(fit_bias=True)` (Quadratic a small node giving [r, r^2]; Ridge
  centres the data, i.e. does not penalise the intercept), `Model.fit(..., warmup=98)`
  on the same (state, next input) pairs, and its documented generative loop
  `x = model(x)` after a teacher-forced `model.run` over the same 100-row history. Both
  reservoirpy backends are timed (NumPy, and `reservoirpy.jax`, whose per-step call is
  a jitted dispatch). Asserted here: the teacher-forced reservoir states agree to
  1e-12; at ridge 1 (conditioning permits) the readouts agree to 1e-8 relative with
  [1, r] features and 1e-7 with [1, r, r^2]; with the same readout installed in both,
  the generated trajectories agree to 1e-8 for at least 300 steps (afterwards the
  chaos amplifies the last-bit differences, e^{0.9 t}). At the working ridge (1e-8)
  the two readouts' distance to a QR reference solution is reported.

Every variant runs in this process, interleaved, after a warm-up (compilation) call;
the figures are medians of `--repeats` runs. Each timed call starts after a 250 ms
pause: XLA's and OpenBLAS's thread pools spin for a while after a call, and on a
two-core machine that slows whatever runs next. Run it with OPENBLAS_CORETYPE and
OPENBLAS_L2_SIZE unset where a machine sets them, so that numpy (and pysindy) run
OpenBLAS's kernel for the processor. A chaosjax training call is the whole `fit_neural_ode` call
(argument checks, segments, initialisation, the compiled chunk of `--steps` steps and
one evaluation of the loss at its end). Ratios are "peer time / chaosjax time": above
1, chaosjax is faster. torch and torchdiffeq are needed only here (`pip install
torch torchdiffeq`; the CPU build of torch suffices).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
from importlib.metadata import version

import jax
import jax.numpy as jnp
import numpy as np
from _harness import Out, fmt, timed

import chaosjax as cj
from chaosjax.learn._reservoir import closed_loop

cj.enable_x64()

try:
    import torch
    import torchdiffeq
except ImportError:  # pragma: no cover
    torch = torchdiffeq = None
try:
    import pysindy
except ImportError:  # pragma: no cover
    pysindy = None
try:
    import reservoirpy
except ImportError:  # pragma: no cover
    reservoirpy = None

DT = 0.01
SEGMENTS, SEGMENT_STEPS, STRIDE = 256, 20, 10
HIDDEN, DEPTH = 64, 2
RTOL, ATOL = 1e-7, 1e-9
LEARNING_RATE = 1e-3
KEY = 0


# --------------------------------------------------------------------------- neural ODE


def lorenz_data():
    lor = cj.systems.Lorenz63()
    x0 = cj.final_state(lor, lor.default_state(), steps=1_000, dt=DT)
    n = SEGMENTS * STRIDE + SEGMENT_STEPS
    return np.asarray(cj.trajectory(lor, x0, steps=n - 1, dt=DT))


def initial_model(xs):
    """The NeuralODE `fit_neural_ode` starts from with key KEY and one restart: the
    MLP of `init(k)` with k the first half of split(fold_in(key, 0)) (cj.learn.fit's
    restart keys), between the data's normalisers."""
    k = jax.random.split(jax.random.fold_in(jax.random.key(KEY), 0))[0]
    mlp = cj.learn.MLP.init(k, 3, 3, hidden=HIDDEN, depth=DEPTH, activation="tanh")
    deriv = np.asarray(cj.learn.derivative(xs, DT, "fd2"))
    return cj.learn.NeuralODE(
        mlp=mlp,
        state_normalizer=cj.learn.Normalizer.fit(xs),
        derivative_normalizer=cj.learn.Normalizer.fit(deriv),
        initial_state=jnp.asarray(xs[0]),
    )


def chaosjax_training(xs, solver, adjoint, steps):
    kw = dict(
        dt=DT,
        key=jax.random.key(KEY),
        hidden=HIDDEN,
        depth=DEPTH,
        activation="tanh",
        segment_steps=SEGMENT_STEPS,
        segment_stride=STRIDE,
        solver=solver,
        adjoint=adjoint,
        rtol=RTOL,
        atol=ATOL,
        steps=steps,
        eval_every=steps,
        optimizer=cj.learn.Adam(learning_rate=LEARNING_RATE),
    )
    return lambda: cj.learn.fit_neural_ode(xs, **kw).model


def diffrax_steps(model, xs, solver):
    """Forward solver steps (accepted, rejected) of the batched solve at `model`."""
    import diffrax

    if solver != "dopri5":
        return None
    starts = jnp.asarray(xs[0 : SEGMENTS * STRIDE : STRIDE])
    ts = DT * jnp.arange(1, SEGMENT_STEPS + 1)
    sol = diffrax.diffeqsolve(
        diffrax.ODETerm(lambda t, y, m: jax.vmap(m.vector_field)(y)),
        diffrax.Dopri5(),
        0.0,
        float(ts[-1]),
        None,
        starts,
        args=model,
        saveat=diffrax.SaveAt(ts=ts),
        stepsize_controller=diffrax.PIDController(rtol=RTOL, atol=ATOL),
    )
    return int(sol.stats["num_accepted_steps"]), int(sol.stats["num_rejected_steps"])


class TorchField(torch.nn.Module if torch else object):
    """f(y) = (W3 tanh(W2 tanh(W1 N(y) + b1) + b2) + b3) * dscale + dmean, weights
    copied from a chaosjax MLP; the statistics are constants, not parameters."""

    def __init__(self, model):
        super().__init__()
        layers = []
        for i, (w, b) in enumerate(zip(model.mlp.weights, model.mlp.biases, strict=True)):
            lin = torch.nn.Linear(w.shape[1], w.shape[0])
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(np.array(w)))
                lin.bias.copy_(torch.from_numpy(np.array(b)))
            layers.append(lin)
            if i < len(model.mlp.weights) - 1:
                layers.append(torch.nn.Tanh())
        self.net = torch.nn.Sequential(*layers)
        as_t = lambda a: torch.from_numpy(np.array(a))
        self.mean = as_t(model.state_normalizer.mean)
        self.scale = as_t(model.state_normalizer.scale)
        self.dmean = as_t(model.derivative_normalizer.mean)
        self.dscale = as_t(model.derivative_normalizer.scale)
        self.evaluations = 0

    def forward(self, t, y):
        self.evaluations += 1
        return self.net((y - self.mean) / self.scale) * self.dscale + self.dmean


def torch_training(model, xs, solver, adjoint):
    """A closure running n Adam steps of the same problem in PyTorch + torchdiffeq."""
    idx = np.arange(0, SEGMENTS * STRIDE, STRIDE)
    starts = torch.from_numpy(xs[idx].copy())
    targets = torch.from_numpy(np.stack([xs[i + 1 : i + 1 + SEGMENT_STEPS] for i in idx]))
    scale = torch.from_numpy(np.array(model.state_normalizer.scale))
    ts = torch.from_numpy(DT * np.arange(SEGMENT_STEPS + 1))
    integrate = torchdiffeq.odeint_adjoint if adjoint == "backsolve" else torchdiffeq.odeint
    if solver == "dopri5":
        options = dict(method="dopri5", rtol=RTOL, atol=ATOL)
    else:
        options = dict(method="rk4", options=dict(step_size=DT))

    def loss_of(field):
        ys = integrate(field, starts, ts, **options)[1:]  # (time, segments, dim)
        return (((ys.transpose(0, 1) - targets) / scale) ** 2).mean()

    def run(n):
        field = TorchField(model)
        opt = torch.optim.Adam(field.parameters(), lr=LEARNING_RATE)
        for _ in range(n):
            opt.zero_grad()
            loss = loss_of(field)
            loss.backward()
            opt.step()

    def initial_loss_and_evaluations():
        field = TorchField(model)
        with torch.no_grad():
            value = float(loss_of(field))
        forward = field.evaluations
        field = TorchField(model)
        loss_of(field).backward()
        return value, forward, field.evaluations

    return run, initial_loss_and_evaluations


def neural_ode_benchmark(out, repeats, steps, torch_steps):
    xs = lorenz_data()
    model = initial_model(xs)
    out(
        f"\n### Neural-ODE training: Lorenz63, {SEGMENTS} segments x {SEGMENT_STEPS} "
        f"samples (dt = {DT}), MLP 3-{HIDDEN}-{HIDDEN}-3 tanh, Adam, full batch, float64\n"
    )
    cases = [
        ("dopri5", "recursive_checkpoint", "odeint"),
        ("dopri5", "backsolve", "odeint_adjoint"),
        ("rk4", "recursive_checkpoint", "odeint"),
        ("rk4", "direct", "odeint"),
        ("rk4", "backsolve", "odeint_adjoint"),
    ]
    variants, checks = [], []
    for solver, adjoint, peer in cases:
        kw = dict(dt=DT, segment_steps=SEGMENT_STEPS, segment_stride=STRIDE, solver=solver)
        kw.update(adjoint=adjoint, rtol=RTOL, atol=ATOL)
        ours = float(cj.learn.shooting_loss(model, xs, **kw))
        run, initial = torch_training(model, xs, solver, adjoint) if torch else (None, None)
        label = f"{solver}, {adjoint} vs `{peer}`"
        variants.append((label, chaosjax_training(xs, solver, adjoint, steps), run))
        if initial is not None:
            theirs, fwd, total = initial()
            checks.append((label, ours, theirs, diffrax_steps(model, xs, solver), fwd, total))
    if torch is None:
        out("torch / torchdiffeq are not installed: chaosjax only.")
    # Warm-up (compilation), then interleaved repeats.
    first = {}
    for label, ours, theirs in variants:
        first[label] = timed(ours)[0]
        if theirs is not None:
            theirs(1)
    times = {label: ([], []) for label, *_ in variants}
    for _ in range(repeats):
        for label, ours, theirs in variants:
            times[label][0].append(timed(ours)[0])
            if theirs is not None:
                n = torch_steps if "adjoint" in label.split("`")[1] else steps
                times[label][1].append(timed(lambda t=theirs, n=n: t(n))[0] / n)
    out(
        "| solver, adjoint vs torchdiffeq | chaosjax steps/s | torchdiffeq steps/s | "
        "chaosjax is x faster | chaosjax first call (compile) | torch steps timed |"
    )
    out("|---|---:|---:|---:|---:|---:|")
    for label, *_ in variants:
        ours = statistics.median(times[label][0]) / steps
        theirs = statistics.median(times[label][1]) if times[label][1] else float("nan")
        n = torch_steps if "adjoint" in label.split("`")[1] else steps
        out(
            f"| {label} | {1 / ours:.1f} | {1 / theirs:.2f} | {theirs / ours:.1f} | "
            f"{fmt(first[label])} | {n} |"
        )
    out(
        f"\nchaosjax: one `fit_neural_ode` call of {steps} steps per timing (its fixed cost "
        "included); torchdiffeq: the time of a loop of n steps over n."
    )
    if checks:
        out("\nSame problem in both (at the common initial weights):\n")
        out(
            "| variant | loss, chaosjax | loss, torchdiffeq | relative difference | "
            "diffrax forward steps (rejected) | torchdiffeq evaluations: forward, training step |"
        )
        out("|---|---:|---:|---:|---:|---:|")
        for label, ours, theirs, steps_dfx, fwd, total in checks:
            dfx = "fixed" if steps_dfx is None else f"{steps_dfx[0]} ({steps_dfx[1]})"
            out(
                f"| {label} | {ours:.10e} | {theirs:.10e} | {abs(ours - theirs) / theirs:.1e} "
                f"| {dfx} | {fwd}, {total} |"
            )


# --------------------------------------------------------------------------- SINDy


def sindy_benchmark(out, repeats):
    if pysindy is None:
        out("\npysindy is not installed: SINDy comparison skipped.")
        return
    lor = cj.systems.Lorenz63()
    dt = 0.002
    out(
        "\n### SINDy fit: Lorenz63 (dt = 0.002), STLSQ threshold 0.1, no ridge, "
        "derivative given (4th-order differences)\n"
    )
    out(
        "| samples, library | chaosjax `fit_sindy` | pysindy `SINDy.fit` | "
        "chaosjax is x faster | chaosjax first call | max abs difference of the coefficients |"
    )
    out("|---|---:|---:|---:|---:|---:|")
    for n, degree in ((10_000, 2), (100_000, 2), (100_000, 3)):
        xs = np.asarray(cj.trajectory(lor, lor.default_state(), steps=n - 1, dt=dt))
        x_dot = np.asarray(cj.learn.derivative(xs, dt, "fd4"))

        def ours(xs=xs, x_dot=x_dot, degree=degree):
            return cj.learn.fit_sindy(
                xs, dt=dt, library=cj.learn.PolynomialLibrary(degree), threshold=0.1,
                x_dot=x_dot,
            ).coefficients  # fmt: skip

        def theirs(xs=xs, x_dot=x_dot, degree=degree):
            model = pysindy.SINDy(
                optimizer=pysindy.STLSQ(threshold=0.1, alpha=0.0, max_iter=20),
                feature_library=pysindy.PolynomialLibrary(degree=degree),
            )
            model.fit(xs, t=dt, x_dot=x_dot)
            return model.coefficients().T

        t_first, a = timed(ours)
        _, b = timed(theirs)
        diff = float(np.max(np.abs(np.asarray(a) - b)))
        assert diff < 1e-10, f"chaosjax and pysindy differ by {diff:.1e}"
        t_ours, t_theirs = [], []
        for _ in range(repeats):
            t_ours.append(timed(ours)[0])
            t_theirs.append(timed(theirs)[0])
        mo, mt = statistics.median(t_ours), statistics.median(t_theirs)
        out(
            f"| {n:,}, degree {degree} ({cj.learn.PolynomialLibrary(degree).n_features(3)} "
            f"terms) | {fmt(mo)} | {fmt(mt)} | {mt / mo:.1f} | {fmt(t_first)} | {diff:.1e} |"
        )


# --------------------------------------------------------------------------- echo-state network

ESN_UNITS, ESN_DT, ESN_TRAIN, ESN_WASHOUT = 600, 0.02, 20_000, 100


def esn_data():
    """Training rows and a 100-row history (after a gap) to start generation from."""
    lor = cj.systems.Lorenz63()
    xs = np.asarray(
        cj.trajectory(lor, lor.default_state(), steps=ESN_TRAIN + 2_000, dt=ESN_DT, transient=2_000)
    )
    return xs[: ESN_TRAIN + 1], xs[ESN_TRAIN + 1_000 : ESN_TRAIN + 1_000 + ESN_WASHOUT]


def quadratic_node(Node, xp):
    """A reservoirpy node r -> [r, r^2] (the readout's bias is Ridge's fitted bias)."""

    class Quadratic(Node):
        def __init__(self, name=None):
            self.state = {}
            self.name = name

        def initialize(self, x, y=None):
            self._set_input_dim(x)
            self.output_dim = 2 * self.input_dim
            self.state = {"out": xp.zeros(self.output_dim)}
            self.initialized = True

        def _step(self, state, x):
            return {"out": xp.concatenate([x, x * x], axis=-1)}

        def _run(self, state, x):
            out = xp.concatenate([x, x * x], axis=-1)
            return {"out": out[-1]}, out

    return Quadratic


class Peer:
    """reservoirpy (NumPy or JAX backend) on a given reservoir."""

    def __init__(self, backend, model):
        if backend == "jax":
            import reservoirpy.jax.node as node_mod
            import reservoirpy.jax.nodes as nodes

            self.xp = jnp
            self.W = jnp.asarray(np.asarray(model.W.todense()))
        else:
            import reservoirpy.node as node_mod
            import reservoirpy.nodes as nodes

            self.xp = np
            self.W = model.W.to_scipy()
        self.nodes = nodes
        self.Quadratic = quadratic_node(node_mod.Node, self.xp)
        self.W_in = self.xp.asarray(np.asarray(model.W_in))
        self.bias = self.xp.asarray(np.asarray(model.bias))
        self.leak = float(model.leak)

    def reservoir(self):
        return self.nodes.Reservoir(W=self.W, Win=self.W_in, bias=self.bias, lr=self.leak)

    def fit(self, z, ridge, features="quadratic"):
        """The readout (obs, features) fitted on z_t <- r_t, t >= washout - 1: reservoirpy's
        state after input t is our r_{t+1}, so inputs z[:-1], targets z[1:], and the first
        washout - 2 pairs are its warm-up."""
        readout = self.nodes.Ridge(ridge=ridge, fit_bias=True)
        if features == "quadratic":
            esn = self.reservoir() >> self.Quadratic() >> readout
        else:
            esn = self.reservoir() >> readout
        esn.fit(z[:-1], z[1:], warmup=ESN_WASHOUT - 2)
        return np.concatenate([np.reshape(readout.bias, (1, -1)), readout.Wout]).T

    def generator(self, W_out):
        """A model whose readout is `W_out` (obs, 1 + 2n)."""
        readout = self.nodes.Ridge(
            Wout=self.xp.asarray(W_out[:, 1:].T), bias=self.xp.asarray(W_out[:, 0])
        )
        return self.reservoir() >> self.Quadratic() >> readout

    def generate(self, W_out, history, steps):
        """The documented generative loop: teacher-force the history but its last row,
        then feed each output back as the next input."""
        esn = self.generator(W_out)
        y = esn.run(history[:-1])
        x = y[-1]
        out = np.empty((steps, history.shape[1]))
        for i in range(steps):
            x = esn(x)
            out[i] = x
        return out


def ridge_objective(F, Y, W, ridge):
    e = F @ W.T - Y
    return float(np.sum(e * e) + ridge * np.sum(W[:, 1:] ** 2))


def esn_benchmark(out, repeats, generate, jax_steps):
    if reservoirpy is None:
        out("\nreservoirpy is not installed: echo-state network comparison skipped.")
        return
    train, history = esn_data()
    key = jax.random.key(KEY)

    def fit(**kw):
        return cj.learn.fit_esn(
            train, dt=ESN_DT, key=key, n=ESN_UNITS, washout=ESN_WASHOUT, **kw
        ).model

    t_first, model = timed(fit)
    ridge = 1e-8  # fit_esn's default
    z = np.asarray(model.normalizer.normalize(train))
    zh = np.asarray(model.normalizer.normalize(history))
    peers = {"NumPy": Peer("numpy", model), "JAX": Peer("jax", model)}
    out(
        f"\n### Echo-state network: Lorenz63 (dt = {ESN_DT}), {ESN_TRAIN:,} training rows, "
        f"{ESN_UNITS} units ({int(np.count_nonzero(model.W.values)):,} nonzero in W), readout on "
        "[1, r, r^2], float64\n"
    )

    # Same algorithm: the teacher-forced states (ours: r_{t+1} = drive(r_t, u_t)).
    def ours_states(m, xs):
        def body(r, u):
            r = m.drive(r, u)
            return r, r

        return jax.lax.scan(body, jnp.zeros(m.dim), jnp.asarray(xs))[1]

    states = np.asarray(ours_states(model, train[:-1]))
    theirs = np.asarray(peers["NumPy"].reservoir().run(z[:-1]))
    d_states = float(np.max(np.abs(states - theirs)))
    assert d_states < 1e-12, f"reservoir states differ by {d_states:.1e}"
    checks = [("teacher-forced reservoir states (max abs)", d_states, "< 1e-12")]
    for features, bound in (("linear", 1e-8), ("quadratic", 1e-7)):
        ours_w = np.asarray(fit(ridge=1.0, features=features).W_out)
        theirs_w = peers["NumPy"].fit(z, 1.0, features)
        rel = float(np.max(np.abs(ours_w - theirs_w)) / np.max(np.abs(ours_w)))
        assert rel < bound, f"{features} readouts at ridge 1 differ by {rel:.1e}"
        checks.append((f"readout at ridge 1, {features} features (max rel)", rel, f"< {bound:g}"))
    # At the working ridge the normal equations are ill-conditioned: compare both
    # readouts with the least-squares solution of the augmented system by QR.
    R = np.vstack([np.zeros((1, ESN_UNITS)), states])[ESN_WASHOUT - 1 : -1]
    F = np.hstack([np.ones((R.shape[0], 1)), R, R * R])
    Y = z[ESN_WASHOUT - 1 : -1]
    A = np.vstack([F, np.sqrt(ridge) * np.eye(F.shape[1])[1:]])
    Q, Rq = np.linalg.qr(A)
    reference = np.linalg.solve(Rq, Q.T @ np.vstack([Y, np.zeros((F.shape[1] - 1, Y.shape[1]))])).T
    theirs_w = peers["NumPy"].fit(z, ridge)
    J_ref = ridge_objective(F, Y, reference, ridge)
    penalty = ridge * np.eye(F.shape[1])
    penalty[0, 0] = 0.0
    condition = float(np.linalg.cond(F.T @ F + penalty))
    quality = []
    for label, W in (("chaosjax", np.asarray(model.W_out)), ("reservoirpy", theirs_w)):
        quality.append(
            (
                label,
                float(np.max(np.abs(W - reference)) / np.max(np.abs(reference))),
                ridge_objective(F, Y, W, ridge) / J_ref - 1.0,
            )
        )
    # Generation with one readout (ours) in both: the same closed-loop map.
    W_out = np.asarray(model.W_out)
    r0 = model.synchronise(jnp.asarray(history))
    ours_gen = np.asarray(jax.vmap(model.readout)(cj.trajectory(model, r0, steps=generate)))[1:]
    theirs_gen = peers["NumPy"].generate(W_out, zh, generate)
    gap = np.max(np.abs(ours_gen - theirs_gen), axis=1)
    agree = int(np.argmax(gap > 1e-8)) if np.any(gap > 1e-8) else generate
    assert agree >= 300, f"generated trajectories differ by 1e-8 after {agree} steps"
    checks.append(("generated steps agreeing to 1e-8 (same readout)", agree, ">= 300"))

    # Timings: warm-up (compilation) done above for ours and the NumPy peer.
    def ours_train():
        return fit().W_out

    def ours_generate():
        r = model.synchronise(jnp.asarray(history))
        return jax.vmap(model.observe)(cj.trajectory(model, r, steps=generate))

    def ours_forecast():
        # One compiled scan from the history to the observations (what fit_esn's
        # validation runs): no separate pass over the stored states.
        return closed_loop(model, jnp.asarray(history)[None], generate)

    variants = {
        "training": [
            ("chaosjax `fit_esn`", ours_train, 1),
            ("reservoirpy (NumPy)", lambda: peers["NumPy"].fit(z, ridge), 1),
            ("reservoirpy (JAX)", lambda: peers["JAX"].fit(z, ridge), 1),
        ],
        f"generation, {generate:,} closed-loop steps": [
            ("chaosjax `trajectory` + `observe`", ours_generate, 1),
            ("chaosjax closed-loop forecast scan", ours_forecast, 1),
            ("reservoirpy (NumPy), `x = model(x)`",
             lambda: peers["NumPy"].generate(W_out, zh, generate), 1),
            (f"reservoirpy (JAX), `x = model(x)` ({jax_steps:,} steps timed)",
             lambda: peers["JAX"].generate(W_out, zh, jax_steps), generate / jax_steps),
        ],
    }  # fmt: skip
    first = {}
    for task in variants.values():
        for label, fn, _ in task:
            first[label] = timed(fn)[0]
    times = {label: [] for task in variants.values() for label, _, _ in task}
    for _ in range(repeats):
        for task in variants.values():
            for label, fn, scale in task:
                times[label].append(timed(fn)[0] * scale)
    first["chaosjax `fit_esn`"] = t_first
    out("| task | variant | time | chaosjax is x faster | first call |")
    out("|---|---|---:|---:|---:|")
    for task, rows in variants.items():
        ours_t = statistics.median(times[rows[0][0]])
        for i, (label, _, _) in enumerate(rows):
            t = statistics.median(times[label])
            if i and label.startswith("chaosjax"):
                ratio = f"({ours_t / t:.1f}x faster than the row above)"
            else:
                ratio = f"{t / ours_t:.1f}"
            out(f"| {task} | {label} | {fmt(t)} | {ratio} | {fmt(first[label])} |")
    out(
        "\nchaosjax's first call compiles (training: the chunked teacher-forcing scan and the "
        "Gram accumulation; generation: the closed-loop scan); reservoirpy (JAX) compiles on "
        "its first call too. Generation includes synchronising on the same 100-row history."
    )
    out("\nSame answer:\n")
    out("| check | value | asserted |")
    out("|---|---:|---:|")
    for label, value, bound in checks:
        shown = f"{value:.1e}" if isinstance(value, float) else str(value)
        out(f"| {label} | {shown} | {bound} |")
    out(
        f"\nAt the working ridge {ridge:g} the readout is ill-determined (the normal "
        f"equations' condition number is {condition:.1e}): distance of each readout to the QR "
        "solution of the augmented least-squares problem, and its excess ridge objective:\n"
    )
    out("| readout | max relative distance to the QR solution | objective / optimum - 1 |")
    out("|---|---:|---:|")
    for label, dist, excess in quality:
        out(f"| {label} | {dist:.1e} | {excess:.1e} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--steps", type=int, default=50, help="training steps per timed call")
    ap.add_argument(
        "--torch-adjoint-steps", type=int, default=10, help="steps timed for odeint_adjoint"
    )
    ap.add_argument(
        "--generate", type=int, default=10_000, help="closed-loop steps of the ESN generation"
    )
    ap.add_argument(
        "--jax-generate-steps", type=int, default=500, help="steps timed for reservoirpy (JAX)"
    )
    ap.add_argument("--only", choices=("neural-ode", "sindy", "esn"), help="run one of them")
    ap.add_argument("--quick", action="store_true", help="fewer steps and samples (smoke run)")
    ap.add_argument("--markdown", help="also write the tables to this file")
    args = ap.parse_args()
    if args.quick:
        args.steps, args.torch_adjoint_steps = min(args.steps, 2), 1
        args.generate, args.jax_generate_steps = min(args.generate, 1_000), 20
    out = Out()
    torch_threads = torch.get_num_threads() if torch else 0
    if torch:
        torch.set_default_dtype(torch.float64)
    versions = ", ".join(
        f"{name} {version(name)}"
        for name in (
            "jax",
            "diffrax",
            "equinox",
            "optax",
            "torch",
            "torchdiffeq",
            "pysindy",
            "reservoirpy",
        )
        if _installed(name)
    )
    out(
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
        f"Python {platform.python_version()}; {versions}; torch threads {torch_threads}. "
        f"Date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC. Medians of "
        f"{args.repeats} interleaved runs after a warm-up."
    )
    if args.only in (None, "neural-ode"):
        neural_ode_benchmark(out, args.repeats, args.steps, args.torch_adjoint_steps)
    if args.only in (None, "sindy"):
        sindy_benchmark(out, args.repeats)
    if args.only in (None, "esn"):
        esn_benchmark(out, args.repeats, args.generate, args.jax_generate_steps)
    out(
        "\nHow each peer is written: torchdiffeq's `odeint` and `odeint_adjoint` on the same "
        "network, weights, normalisation, loss and Adam, in a plain PyTorch loop "
        "(`zero_grad`, forward, `backward`, `step`), float64, the same solver settings; "
        "pysindy's `SINDy(...).fit` with the same library, STLSQ threshold, iterations and "
        "given derivative; reservoirpy 0.4 on the same reservoir (`Reservoir >> Quadratic "
        ">> Ridge`), both of its backends, and its documented closed loop `x = model(x)`."
    )
    out.finish(args.markdown)


def _installed(name):
    try:
        version(name)
    except Exception:  # noqa: BLE001 - a missing distribution
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
