"""Neural ODEs: dx/dt = f_theta(x), f a multilayer perceptron, trained through the solver.

Chen, Rubanova, Bettencourt & Duvenaud (2018), "Neural ordinary differential equations",
NeurIPS, arXiv:1806.07366; for learning dynamics from data: C. Budd, "Neural ODEs for,
and as, dynamical systems", Lecture 7, Seattle, June 2025.

How training works (what a contributor must know to extend it):

- The model, `NeuralODE`, is a `cj.Flow`. Its vector field normalises the state with the
  data's statistics, applies the MLP, and scales the output back with the statistics of
  the data's finite-difference derivative, so it maps raw states to raw derivatives and
  the MLP sees numbers of order one. Both `Normalizer`s are held fixed in training.
- The loss is multiple shooting on short segments (Bock & Plitt 1984, IFAC Proc. 17,
  1603; for chaotic data, Ribeiro et al. 2020, "On the smoothness of nonlinear system
  identification", Automatica 121, 109158): from every `segment_stride`-th sample the
  model is integrated `segment_steps` samples ahead, and the mean squared difference to
  the data, in units of each coordinate's standard deviation, is minimised. A segment
  shorter than a few Lyapunov times keeps the loss smooth in the parameters.
- All segments of a batch are one ODE of shape (segments, dim), solved by one
  `diffrax.diffeqsolve` (so an adaptive solver shares its steps across the batch and
  its error norm is the RMS over the batch). The model is passed as `args`, never
  closed over, which `diffrax.BacksolveAdjoint` needs to differentiate it. The one
  exception is `adjoint="direct"` with a fixed-step solver: chaosjax's own RK4 or Euler
  step in a `lax.scan`, backpropagated directly (the same gradient as diffrax's
  recursive checkpointing, with less bookkeeping per step).
- The loss is an equinox Module whose options are static fields, so a second fit with
  the same options and shapes reuses the compiled training chunks of `cj.learn.fit`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from .. import _validate as v
from .._results import Result
from ..solvers import fixed_step
from ..systems import Flow
from .data import Normalizer
from .derivatives import derivative
from .optimizers import AbstractOptimizer, Stage
from .train import FitResult, History, fit

__all__ = ["MLP", "NeuralODE", "NeuralODEResult", "fit_neural_ode", "shooting_loss"]

#: The activations by name (`MLP.activation`, `fit_neural_ode`'s `activation`).
ACTIVATIONS: dict[str, Callable[[Array], Array]] = {
    "tanh": jnp.tanh,
    "relu": jax.nn.relu,
    "softplus": jax.nn.softplus,
    "sigmoid": jax.nn.sigmoid,
    "gelu": jax.nn.gelu,
    "elu": jax.nn.elu,
    "silu": jax.nn.silu,
}


# ----------------------------------------------------------------------------- solvers


class _RK4(diffrax.AbstractERK):
    # The classical fourth-order Runge-Kutta method (Kutta 1901) as a diffrax solver, so
    # that fixed-step training runs through `diffeqsolve` and its adjoints like the
    # adaptive solvers; no error estimate, so it needs a constant step.
    tableau: ClassVar[diffrax.ButcherTableau] = diffrax.ButcherTableau(
        c=np.array([0.5, 0.5, 1.0]),
        b_sol=np.array([1 / 6, 1 / 3, 1 / 3, 1 / 6]),
        b_error=np.zeros(4),
        a_lower=(np.array([0.5]), np.array([0.0, 0.5]), np.array([0.0, 0.0, 1.0])),
    )
    interpolation_cls: ClassVar[Callable[..., Any]] = (
        diffrax.ThirdOrderHermitePolynomialInterpolation.from_k
    )

    def order(self, terms):
        del terms
        return 4


#: Solver names -> (diffrax solver class, adaptive).
SOLVERS: dict[str, tuple[Callable[[], diffrax.AbstractSolver], bool]] = {
    "tsit5": (diffrax.Tsit5, True),
    "dopri5": (diffrax.Dopri5, True),
    "dopri8": (diffrax.Dopri8, True),
    "rk4": (_RK4, False),
    "euler": (diffrax.Euler, False),
}

#: Adjoint names -> diffrax adjoints (how gradients pass through the solver); "direct"
#: (None here) is backpropagation through chaosjax's own fixed-step loop.
ADJOINTS: dict[str, Callable[[], diffrax.AbstractAdjoint] | None] = {
    "recursive_checkpoint": diffrax.RecursiveCheckpointAdjoint,
    "backsolve": diffrax.BacksolveAdjoint,
    "direct": None,
}


def _as_adjoint(adjoint: object, solver: str) -> diffrax.AbstractAdjoint | None:
    if isinstance(adjoint, diffrax.AbstractAdjoint):
        return adjoint
    if not isinstance(adjoint, str):
        raise ValueError(
            f"`adjoint` must be one of {list(ADJOINTS)} or a diffrax.AbstractAdjoint, "
            f"got {adjoint!r}."
        )
    make = ADJOINTS[v.one_of(adjoint, "adjoint", ADJOINTS)]
    if make is None:
        if SOLVERS[solver][1]:
            raise ValueError(
                f"`adjoint` 'direct' needs a fixed-step `solver` ('rk4', 'euler'), got {solver!r}."
            )
        return None
    return make()


# ------------------------------------------------------------------------------- model


def _float_array(x: ArrayLike) -> Array:
    return jnp.asarray(x, dtype=jnp.result_type(float))


def _as_float_arrays(xs: Sequence[ArrayLike]) -> tuple[Array, ...]:
    return tuple(_float_array(x) for x in xs)


class MLP(eqx.Module):
    """A multilayer perceptron z -> W_L s(... s(W_1 z + b_1) ...) + b_L.

    `depth` hidden layers of one width with the activation s, and a linear output layer;
    it acts on the last axis, so a batch (..., in) maps to (..., out) in one matrix
    product per layer. Its fields are plain arrays and names, so `cj.learn.save` and
    `cj.learn.load` rebuild it without a template.

    **Arguments:**

    - `weights`: a tuple of matrices, layer l of shape (out_l, in_l).
    - `biases`: a tuple of vectors, layer l of shape (out_l,).
    - `activation`: a name of `ACTIVATIONS` ("tanh", "relu", "softplus", ...).

    Example:

    ```python
    mlp = cj.learn.MLP.init(jax.random.key(0), 2, 2, hidden=20, depth=1)
    mlp(jnp.ones(2)), mlp(jnp.ones((5, 2))).shape          # (2,), (5, 2)
    ```
    """

    weights: tuple[Float[Array, "_out _in"], ...] = eqx.field(converter=_as_float_arrays)
    biases: tuple[Float[Array, " _out"], ...] = eqx.field(converter=_as_float_arrays)
    activation: str = eqx.field(default="tanh", static=True)

    def __check_init__(self):
        v.one_of(self.activation, "activation", ACTIVATIONS)
        if not self.weights or len(self.weights) != len(self.biases):
            raise ValueError(
                f"`weights` and `biases` must be non-empty tuples of one length, got "
                f"{len(self.weights)} and {len(self.biases)}."
            )
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            if w.ndim != 2 or b.shape != (w.shape[0],):
                raise ValueError(
                    f"layer {i}: `weights` must be (out, in) and `biases` (out,), got "
                    f"{w.shape} and {b.shape}."
                )
            if i and w.shape[1] != self.weights[i - 1].shape[0]:
                raise ValueError(
                    f"layer {i}: `weights` takes {w.shape[1]} inputs but layer {i - 1} "
                    f"gives {self.weights[i - 1].shape[0]}."
                )

    @classmethod
    def init(
        cls,
        key: PRNGKeyArray,
        in_size: int,
        out_size: int,
        *,
        hidden: int = 64,
        depth: int = 2,
        activation: str = "tanh",
    ) -> MLP:
        """A randomly initialised MLP: every weight and bias uniform in +-1/sqrt(fan_in).

        The default initialisation of `torch.nn.Linear` and `equinox.nn.Linear` (LeCun,
        Bottou, Orr & Mueller 1998, "Efficient BackProp", LNCS 1524).

        **Arguments:**

        - `key`: PRNG key.
        - `in_size`, `out_size`: input and output sizes, positive ints.
        - `hidden`: the width of the hidden layers, a positive int (default 64).
        - `depth`: the number of hidden layers, >= 0 (default 2; 0 gives an affine map).
        - `activation`: a name of `ACTIVATIONS` (default "tanh").

        **Returns:**

        An `MLP` with `depth + 1` layers.
        """
        v.positive_int(in_size, "in_size")
        v.positive_int(out_size, "out_size")
        v.positive_int(hidden, "hidden")
        v.nonnegative_int(depth, "depth")
        v.one_of(activation, "activation", ACTIVATIONS)
        sizes = [in_size] + [hidden] * depth + [out_size]
        dtype = jnp.result_type(float)
        weights, biases = [], []
        for k, (a, b) in zip(jax.random.split(key, len(sizes) - 1), zip(sizes, sizes[1:])):
            kw, kb = jax.random.split(k)
            lim = 1.0 / math.sqrt(a)
            weights.append(jax.random.uniform(kw, (b, a), dtype, -lim, lim))
            biases.append(jax.random.uniform(kb, (b,), dtype, -lim, lim))
        return cls(weights=tuple(weights), biases=tuple(biases), activation=activation)

    @property
    def in_size(self) -> int:
        return int(self.weights[0].shape[1])

    @property
    def out_size(self) -> int:
        return int(self.weights[-1].shape[0])

    def __call__(self, z: Float[Array, "*batch in"]) -> Float[Array, "*batch out"]:
        act = ACTIVATIONS[self.activation]
        lead = (1,) * (z.ndim - 1)
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            z = jnp.matmul(z, w.T) + b.reshape(lead + b.shape)
            if i < last:
                z = act(z)
        return z


class NeuralODE(Flow):
    """A neural ODE dx/dt = f(x), f a multilayer perceptron (see `fit_neural_ode`).

    f(x) = D(MLP(N(x))): N normalises the state with the training data's mean and
    standard deviation, and D scales the network's output back with the statistics of
    the data's time derivative, so the model maps raw states to raw derivatives. A
    `cj.Flow` like any other: `cj.trajectory`, `cj.lyapunov_spectrum`,
    `cj.kaplan_yorke_dimension`, `jax.grad` with respect to the weights apply unchanged.
    Chen et al. (2018), "Neural ordinary differential equations", arXiv:1806.07366.

    **Arguments:**

    - `mlp`: the network, `MLP` from dim to dim.
    - `state_normalizer`: the `Normalizer` of the states (mean and scale of shape (dim,)).
    - `derivative_normalizer`: the `Normalizer` of the derivatives (shape (dim,)).
    - `initial_state`: the state `default_state()` returns, shape (dim,); the fit stores
      the first sample of the data.

    Example:

    ```python
    mlp = cj.learn.MLP.init(jax.random.key(0), 3, 3, hidden=16, depth=2)
    unit = cj.learn.Normalizer(mean=jnp.zeros(3), scale=jnp.ones(3))
    model = cj.learn.NeuralODE(mlp=mlp, state_normalizer=unit, derivative_normalizer=unit,
                               initial_state=jnp.ones(3))
    xs = cj.trajectory(model, model.default_state(), steps=100, dt=0.01)
    ```
    """

    mlp: MLP
    state_normalizer: Normalizer
    derivative_normalizer: Normalizer
    initial_state: Float[Array, " dim"] = eqx.field(converter=_float_array)

    name: ClassVar[str] = "neural_ode"

    def __check_init__(self):
        dim = self.initial_state.shape
        if len(dim) != 1:
            raise ValueError(f"`initial_state` must have shape (dim,), got {dim}.")
        if self.mlp.in_size != dim[0] or self.mlp.out_size != dim[0]:
            raise ValueError(
                f"`mlp` must map {dim[0]} inputs to {dim[0]} outputs, got "
                f"{self.mlp.in_size} -> {self.mlp.out_size}."
            )
        for name in ("state_normalizer", "derivative_normalizer"):
            if getattr(self, name).mean.shape != dim:
                raise ValueError(
                    f"`{name}` must hold statistics of shape {dim}, got "
                    f"{getattr(self, name).mean.shape}."
                )

    @property
    def dim(self) -> int:
        return int(self.initial_state.shape[0])

    def vector_field(self, x: Float[Array, "*batch dim"]) -> Float[Array, "*batch dim"]:
        """dx/dt at `x`, shape (dim,), or at every row of a batch (..., dim)."""
        z = self.state_normalizer.normalize(x)
        return self.derivative_normalizer.denormalize(self.mlp(z))

    def default_state(self) -> Float[Array, " dim"]:
        return self.initial_state


# ------------------------------------------------------------------------------- loss


def _field(t, y, model: Flow):
    del t
    return jax.vmap(model.vector_field)(y)


class _ShootingLoss(eqx.Module):
    # The mean squared error, in units of each coordinate's standard deviation, of the
    # model integrated `segment_steps` samples ahead from every segment start.
    scale: Array
    adjoint: diffrax.AbstractAdjoint | None
    dt: float = eqx.field(static=True)
    segment_steps: int = eqx.field(static=True)
    solver: str = eqx.field(static=True)
    rtol: float = eqx.field(static=True)
    atol: float = eqx.field(static=True)
    substeps: int = eqx.field(static=True)
    max_steps: int = eqx.field(static=True)

    def predict(self, model: Flow, starts: Float[Array, "batch dim"]):
        """The model's states at the `segment_steps` samples after each start,
        shape (batch, segment_steps, dim)."""
        if self.adjoint is None:
            return self._predict_direct(model, starts)
        cls, adaptive = SOLVERS[self.solver]
        ts = self.dt * jnp.arange(1, self.segment_steps + 1, dtype=starts.dtype)
        if adaptive:
            controller = diffrax.PIDController(rtol=self.rtol, atol=self.atol)
            dt0 = None
        else:
            controller = diffrax.ConstantStepSize()
            dt0 = self.dt / self.substeps
        sol = diffrax.diffeqsolve(
            diffrax.ODETerm(_field),
            cls(),
            t0=0.0,
            t1=self.dt * self.segment_steps,
            dt0=dt0,
            y0=starts,
            args=model,
            saveat=diffrax.SaveAt(ts=ts),
            stepsize_controller=controller,
            adjoint=self.adjoint,
            max_steps=self.max_steps,
            throw=False,
        )
        assert sol.ys is not None
        # A solve that failed (too many steps, a blow-up) gives inf rather than silent
        # NaNs: the training loop sees a non-finite loss and stops that restart at its
        # best parameters so far; the gradient through the `where` stays finite.
        ok = sol.result == diffrax.RESULTS.successful
        ys = jnp.where(ok, sol.ys, jnp.inf)
        return jnp.swapaxes(ys, 0, 1)

    def _predict_direct(self, model: Flow, starts: Float[Array, "batch dim"]):
        # The fixed-step solver's own steps in a `lax.scan`, differentiated directly:
        # every stage is stored for the backward pass (what torchdiffeq's `odeint`
        # does), which is the fastest gradient when memory allows.
        one = fixed_step(self.solver)
        h = self.dt / self.substeps
        step = jax.vmap(lambda y: one(model.vector_field, y, h))

        def sample(y, _):
            for _ in range(self.substeps):
                y = step(y)
            return y, y

        _, ys = jax.lax.scan(sample, starts, None, length=self.segment_steps)
        return jnp.swapaxes(ys, 0, 1)

    def __call__(self, model: Flow, batch) -> Float[Array, ""]:
        starts, targets = batch
        pred = self.predict(model, starts)
        scale = jax.lax.stop_gradient(self.scale).reshape(1, 1, -1)
        return jnp.mean(((pred - targets) / scale) ** 2)


# ------------------------------------------------------------------------------- data


def _trajectories(data: object, name: str, dim: int | None = None) -> list[np.ndarray]:
    """`data` as a list of finite float arrays (time, dim)."""
    if isinstance(data, (list, tuple)):
        items = list(data)
        if not items:
            raise ValueError(f"`{name}` must hold at least one trajectory, got {data!r}.")
    else:
        items = [data]
    out: list[np.ndarray] = []
    for item in items:
        try:
            x = np.asarray(item, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(
                f"`{name}` must be an array (time, dim) or (member, time, dim), or a list "
                f"of (time, dim) arrays; got {type(item).__name__}."
            ) from None
        if x.ndim == 3 and not isinstance(data, (list, tuple)):
            out.extend(list(x))
        elif x.ndim == 2:
            out.append(x)
        else:
            raise ValueError(
                f"`{name}` must have shape (time, dim) or (member, time, dim) (a list "
                f"holds (time, dim) arrays), got shape {x.shape}."
            )
    dims = {x.shape[1] for x in out}
    if dim is not None:
        dims.add(dim)
    if len(dims) != 1 or 0 in dims:
        raise ValueError(
            f"`{name}` trajectories must share one positive state dimension"
            f"{'' if dim is None else f' (that of `data`, {dim})'}, got "
            f"{sorted(x.shape[1] for x in out)}."
        )
    for i, x in enumerate(out):
        if not np.all(np.isfinite(x)):
            bad = np.argwhere(~np.isfinite(x))[0].tolist()
            raise ValueError(
                f"`{name}` must be finite; trajectory {i} has a NaN or inf at (time, state) {bad}."
            )
    return out


def _segments(
    trajectories: list[np.ndarray], segment_steps: int, stride: int, name: str
) -> tuple[Array, Array]:
    """(starts (S, dim), targets (S, segment_steps, dim)) from every trajectory."""
    longest = max(x.shape[0] for x in trajectories)
    if segment_steps > longest - 1:
        raise ValueError(
            f"`segment_steps` ({segment_steps}) must be at most the samples after the "
            f"first of the longest trajectory of `{name}` ({longest - 1})."
        )
    starts, targets = [], []
    for x in trajectories:
        # No segment of a trajectory shorter than one segment.
        for i in range(0, x.shape[0] - segment_steps, stride):
            starts.append(x[i])
            targets.append(x[i + 1 : i + 1 + segment_steps])
    return jnp.asarray(np.stack(starts)), jnp.asarray(np.stack(targets))


def _shooting(
    scale: Array,
    *,
    dt: object,
    segment_steps: object,
    solver: object,
    adjoint: object,
    rtol: object,
    atol: object,
    substeps: object,
    max_steps: object,
) -> _ShootingLoss:
    """The loss Module, after checking every option (a ValueError names the argument)."""
    dt = v.positive_float(dt, "dt")
    segment_steps = v.positive_int(segment_steps, "segment_steps")
    solver = v.one_of(solver, "solver", SOLVERS)
    adjoint_obj = _as_adjoint(adjoint, solver)
    rtol = v.positive_float(rtol, "rtol")
    atol = v.positive_float(atol, "atol")
    substeps = v.positive_int(substeps, "substeps")
    max_steps = v.positive_int(max_steps, "max_steps")
    if not SOLVERS[solver][1]:
        # A fixed-step solve takes segment_steps * substeps steps (one more where
        # rounding leaves a sliver before a sample time).
        max_steps = max(max_steps, segment_steps * substeps + 2)
    return _ShootingLoss(
        scale=scale,
        adjoint=adjoint_obj,
        dt=dt,
        segment_steps=segment_steps,
        solver=solver,
        rtol=rtol,
        atol=atol,
        substeps=substeps,
        max_steps=max_steps,
    )


def shooting_loss(
    model: Flow,
    data: Float[ArrayLike, "..."] | Sequence[Float[ArrayLike, "_time _dim"]],
    *,
    dt: float,
    segment_steps: int = 20,
    segment_stride: int = 1,
    solver: str = "tsit5",
    adjoint: str | diffrax.AbstractAdjoint = "recursive_checkpoint",
    rtol: float = 1e-6,
    atol: float = 1e-6,
    substeps: int = 1,
    max_steps: int = 4096,
) -> Float[Array, ""]:
    """The multiple-shooting loss of a flow on sampled trajectories (what
    `fit_neural_ode` minimises).

    From every `segment_stride`-th sample of `data` the flow is integrated
    `segment_steps` samples ahead by `diffrax.diffeqsolve` (all segments as one batched
    ODE), and the mean over segments, samples and coordinates of
    ((x_model - x_data) / s)^2 is returned, s the standard deviation of each coordinate
    over `data` (Bock & Plitt 1984, "A multiple shooting algorithm for direct solution
    of optimal control problems", IFAC Proc. 17, 1603-1608). Differentiable with respect
    to the flow's parameters, through the solver by `adjoint` (see `fit_neural_ode`);
    a segment whose solve fails (more than `max_steps` steps) makes the loss infinite.

    **Arguments:**

    - `model`: any `cj.Flow` (a `NeuralODE`, a catalogue flow, ...).
    - `data`, `dt`, `segment_steps`, `segment_stride`, `solver`, `adjoint`, `rtol`,
      `atol`, `substeps`, `max_steps`: as for `fit_neural_ode`.

    **Returns:**

    The loss, a scalar (dimensionless: a fraction of each coordinate's variance).

    Example:

    ```python
    lor = cj.systems.Lorenz63()
    xs = cj.trajectory(lor, lor.default_state(), steps=500, dt=0.01)
    cj.learn.shooting_loss(lor, xs, dt=0.01, segment_steps=10)             # ~1e-13
    grads = jax.grad(lambda r: cj.learn.shooting_loss(
        lor.replace(rho=r), xs, dt=0.01, segment_steps=10))(27.0)         # < 0
    ```
    """
    if not isinstance(model, Flow):
        raise ValueError(f"`model` must be a cj.Flow, got {type(model).__name__}.")
    trajectories = _trajectories(data, "data", model.dim)
    segment_stride = v.positive_int(segment_stride, "segment_stride")
    loss = _shooting(
        jnp.asarray(np.concatenate(trajectories).std(axis=0)),
        dt=dt,
        segment_steps=segment_steps,
        solver=solver,
        adjoint=adjoint,
        rtol=rtol,
        atol=atol,
        substeps=substeps,
        max_steps=max_steps,
    )
    scale = jnp.where(loss.scale > 0, loss.scale, 1.0)
    loss = eqx.tree_at(lambda m: m.scale, loss, scale)
    batch = _segments(trajectories, loss.segment_steps, segment_stride, "data")
    return loss(model, batch)


# -------------------------------------------------------------------------------- fit


class NeuralODEResult(Result):
    """A fitted neural ODE and its training record (what `fit_neural_ode` returns).

    **Attributes:**

    - `model`: the fitted `NeuralODE` (a `cj.Flow`): the best restart at its best
      evaluation.
    - `history`: the loss curves (`cj.learn.History`): the shooting loss, in units of
      each coordinate's variance, every `eval_every` steps.
    - `fit`: the whole `cj.learn.FitResult` (every restart's model, losses, steps).

    Example:

    ```python
    res = cj.learn.fit_neural_ode(xs, dt=0.01, key=jax.random.key(0), steps=500)
    res.model                                  # a cj.Flow
    res.history.train[res.fit.best_restart]    # its loss curve
    ```
    """

    model: NeuralODE
    history: History
    fit: FitResult


def fit_neural_ode(
    data: Float[ArrayLike, "..."] | Sequence[Float[ArrayLike, "_time _dim"]],
    *,
    dt: float,
    key: PRNGKeyArray,
    hidden: int = 64,
    depth: int = 2,
    activation: str = "tanh",
    segment_steps: int = 20,
    segment_stride: int = 1,
    solver: str = "tsit5",
    adjoint: str | diffrax.AbstractAdjoint = "recursive_checkpoint",
    rtol: float = 1e-6,
    atol: float = 1e-6,
    substeps: int = 1,
    max_steps: int = 4096,
    validation: Float[ArrayLike, "..."] | Sequence[Float[ArrayLike, "_time _dim"]] | None = None,
    steps: int | None = None,
    optimizer: str | AbstractOptimizer | optax.GradientTransformation = "adam",
    learning_rate: float | Callable[[Any], Any] | None = None,
    stages: Sequence[Stage | tuple[Any, int]] | None = None,
    batch_size: int | None = None,
    early_stopping: int | None = None,
    eval_every: int = 100,
    restarts: int = 1,
    checkpoint: str | os.PathLike | None = None,
    checkpoint_every: int | None = None,
    progress: bool = False,
    callback: Callable[[int, Any, Any], None] | None = None,
) -> NeuralODEResult:
    """Fit a neural ODE dx/dt = f(x) to sampled trajectories, training through the solver.

    f is a multilayer perceptron (`hidden` units in each of `depth` layers, `activation`)
    between a normalisation of the state and a scaling of the derivative, both taken from
    the data (see `NeuralODE`). The loss is multiple shooting: from every
    `segment_stride`-th sample the model is integrated `segment_steps` samples ahead by
    `diffrax.diffeqsolve`, and the mean squared difference to the data, in units of each
    coordinate's variance, is minimised by `cj.learn.fit`. Gradients pass through the
    solver by `adjoint`: "recursive_checkpoint" differentiates the solver's own steps
    (discretise-then-optimise, with recursive checkpointing; Stumm & Walther 2010, SIAM J.
    Sci. Comput. 32, 836), "backsolve" solves the continuous adjoint equations backwards
    in time (optimise-then-discretise; Pontryagin 1962, as in Chen et al. 2018,
    "Neural ordinary differential equations", arXiv:1806.07366), both through
    `diffrax.diffeqsolve`; "direct" (fixed-step solvers) runs chaosjax's own RK4 or
    Euler steps in a `lax.scan` and backpropagates through them, storing every stage:
    the gradient of "recursive_checkpoint", faster, with memory growing with the steps.
    Short segments make training on chaotic data possible: over many Lyapunov times the
    loss would be rough in the parameters.

    Training on one arc of a trajectory fits the vector field near that arc only; data
    that cover the region of interest (several trajectories, a full turn of an orbit)
    are what make the model right elsewhere (C. Budd, "Neural ODEs for, and as,
    dynamical systems", Lecture 7, Seattle, June 2025).

    **Arguments:**

    - `data`: states sampled every `dt`: an array (time, dim) or (member, time, dim), or
      a list of (time, dim) arrays of any lengths; finite.
    - `dt`: the sampling step (time units), a positive float.
    - `key`: PRNG key: the networks' initialisation (restart r from fold_in(key, r)) and
      mini-batches.
    - `hidden`: the width of the hidden layers (default 64).
    - `depth`: the number of hidden layers (default 2; 1 is the two-layer network
      W_2 tanh(W_1 z + b_1) + b_2).
    - `activation`: "tanh" (default), "relu", "softplus", "sigmoid", "gelu", "elu" or
      "silu".
    - `segment_steps`: samples each segment is integrated ahead, >= 1 and at most the
      samples after the first of the longest trajectory (default 20).
    - `segment_stride`: samples between segment starts (default 1: every sample).
    - `solver`: "tsit5" (default), "dopri5", "dopri8" (adaptive, to `rtol`/`atol`), or
      "rk4", "euler" (fixed step dt / `substeps`).
    - `adjoint`: "recursive_checkpoint" (default), "backsolve", "direct" (with "rk4" or
      "euler"), or a `diffrax.AbstractAdjoint`.
    - `rtol`, `atol`: tolerances of an adaptive solver (default 1e-6 each).
    - `substeps`: fixed steps per sample interval (default 1).
    - `max_steps`: the most solver steps per segment (default 4096); a segment that needs
      more gives an infinite loss, which training skips.
    - `validation`: data of the form of `data` for the validation loss and early stopping
      (default None).
    - `steps`, `optimizer`, `learning_rate`, `stages`, `batch_size` (segments per step),
      `early_stopping`, `eval_every`, `restarts`, `checkpoint`, `checkpoint_every`,
      `progress`, `callback`: as for `cj.learn.fit`; without `steps` and `stages`,
      1,000 Adam steps.

    **Returns:**

    A `NeuralODEResult`: `model` (a `NeuralODE`, a `cj.Flow` whose `default_state()` is
    the first sample of `data`), `history`, `fit`.

    Example:

    ```python
    lor = cj.systems.Lorenz63()
    xs = cj.trajectory(lor, lor.default_state(), steps=2_000, dt=0.01)
    res = cj.learn.fit_neural_ode(xs, dt=0.01, key=jax.random.key(0), segment_steps=10,
                                  stages=[("adam", 500), ("lbfgs", 100)])
    model = res.model
    cj.lyapunov_spectrum(model, model.default_state(), steps=10_000, dt=0.01).exponents
    ```
    """
    # ---- arguments, all checked before anything is compiled
    trajectories = _trajectories(data, "data")
    dim = trajectories[0].shape[1]
    hidden = v.positive_int(hidden, "hidden")
    depth = v.nonnegative_int(depth, "depth")
    v.one_of(activation, "activation", ACTIVATIONS)
    segment_stride = v.positive_int(segment_stride, "segment_stride")
    state_norm = Normalizer.fit(np.concatenate(trajectories))
    loss = _shooting(
        state_norm.scale,
        dt=dt,
        segment_steps=segment_steps,
        solver=solver,
        adjoint=adjoint,
        rtol=rtol,
        atol=atol,
        substeps=substeps,
        max_steps=max_steps,
    )
    dt = loss.dt
    train = _segments(trajectories, loss.segment_steps, segment_stride, "data")
    val = None
    if validation is not None:
        val_traj = _trajectories(validation, "validation", dim)
        val = _segments(val_traj, loss.segment_steps, segment_stride, "validation")
    if steps is None and stages is None:
        steps = 1_000

    # ---- statistics stored in the model
    # fd2 needs 3 samples; a shorter trajectory only adds to the state statistics.
    slopes = [np.asarray(derivative(x, dt, "fd2")) for x in trajectories if x.shape[0] >= 3]
    if slopes:
        deriv_norm = Normalizer.fit(np.concatenate(slopes))
    else:
        deriv_norm = Normalizer(mean=jnp.zeros(dim), scale=state_norm.scale / dt)
    first = jnp.asarray(trajectories[0][0])

    def init(k: PRNGKeyArray) -> NeuralODE:
        mlp = MLP.init(k, dim, dim, hidden=hidden, depth=depth, activation=activation)
        return NeuralODE(
            mlp=mlp,
            state_normalizer=state_norm,
            derivative_normalizer=deriv_norm,
            initial_state=first,
        )

    result = fit(
        init,
        loss,
        train,
        key=key,
        steps=steps,
        optimizer=optimizer,
        learning_rate=learning_rate,
        stages=stages,
        batch_size=batch_size,
        validation=val,
        early_stopping=early_stopping,
        eval_every=eval_every,
        restarts=restarts,
        trainable=_only_the_network,
        checkpoint=checkpoint,
        checkpoint_every=checkpoint_every,
        progress=progress,
        callback=callback,
    )
    model = result.model
    assert isinstance(model, NeuralODE)
    return NeuralODEResult(model=model, history=result.history, fit=result)


def _only_the_network(model: NeuralODE) -> Any:
    # The weights are trained; the normalisers and the stored initial state are not.
    spec = jax.tree.map(lambda _: False, model)
    return eqx.tree_at(lambda m: m.mlp, spec, replace=jax.tree.map(lambda _: True, model.mlp))
