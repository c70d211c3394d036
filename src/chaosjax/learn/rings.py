"""The nested rings: what the flow map of a neural ODE can and cannot separate.

A disc of one class inside a ring of the other is the standard example (Dupont, Doucet
& Teh 2019, "Augmented neural ODEs", NeurIPS, arXiv:1904.01681, section 3; C. Budd,
"Neural ODEs for, and as, dynamical systems", Lecture 7, Seattle, June 2025): the time-T
map of a Lipschitz vector field on the plane is a homeomorphism, and a linear readout
splits the plane by a line, so the region a neural ODE classifier calls "inner" is the
preimage of a half plane: connected and unbounded. It can never be a disc enclosed by
the ring; the classifier can only cut a channel through the ring, at the cost of the
points in the channel (and of a flow that stretches ever more to make it thin).

Three classifiers share one form, logit = w . phi_T(x, 0_p) + c, phi_T the time-T map
of a flow on R^(2+p) integrated by fixed-step RK4:

- the plain neural ODE (p = 0): a `NeuralODE` vector field, trained;
- the augmented neural ODE (p >= 1, Dupont et al. 2019): the data sit in the plane
  z = 0 of R^(2+p), where the flow may lift the disc over the ring; trained;
- the lecture's non-smooth flow (`cj.systems.RingSeparatingFlow`), discontinuous on
  r = 1, which sends the disc to the origin and the ring to (r*, 0); nothing in it is
  trained, only the readout (w, c) is fitted.

Every fit goes through `cj.learn.fit` on the binary cross-entropy of the logits.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jaxtyping import Array, ArrayLike, Bool, Float, PRNGKeyArray

from .. import _validate as v
from .._results import Result
from ..solvers import rk4_step
from ..systems import Flow, RingSeparatingFlow
from .data import Normalizer
from .neural_ode import ACTIVATIONS, MLP, NeuralODE
from .train import FitResult, fit

__all__ = [
    "RingClassifier",
    "RingClassifierFit",
    "decision_boundary_preimage",
    "fit_ring_classifier",
    "inner_region_is_bounded",
    "nested_rings",
]

#: The classifiers `fit_ring_classifier` builds.
KINDS = ("neural_ode", "augmented", "nonsmooth")


def nested_rings(
    n: int,
    *,
    key: PRNGKeyArray,
    inner: tuple[float, float] = (0.0, 0.5),
    outer: tuple[float, float] = (1.0, 1.5),
) -> tuple[Float[Array, "n 2"], Float[Array, " n"]]:
    """Points of two nested rings in the plane, labelled 0 (inner) and 1 (outer).

    Half the points are uniform (by area) in the inner annulus `inner` (a disc when its
    first radius is 0), half in the outer annulus; Dupont, Doucet & Teh (2019),
    "Augmented neural ODEs", arXiv:1904.01681, use the disc r <= 0.5 and the ring
    1 <= r <= 1.5, the defaults.

    **Arguments:**

    - `n`: the number of points, a positive even int.
    - `key`: PRNG key.
    - `inner`, `outer`: (r_min, r_max) of the two annuli, with inner r_max < outer r_min.

    **Returns:**

    `(x, y)`: `x` (n, 2) the points, `y` (n,) the labels as floats (0.0 inner, 1.0
    outer), inner points first.

    Example:

    ```python
    x, y = cj.learn.nested_rings(1_000, key=jax.random.key(0))
    ```
    """
    n = v.positive_int(n, "n")
    if n % 2:
        raise ValueError(f"`n` must be even (half the points in each ring), got {n}.")
    radii = []
    for name, pair in (("inner", inner), ("outer", outer)):
        try:
            lo, hi = (float(r) for r in pair)
        except (TypeError, ValueError):
            raise ValueError(f"`{name}` must be a pair (r_min, r_max), got {pair!r}.") from None
        if not 0.0 <= lo < hi:
            raise ValueError(f"`{name}` must satisfy 0 <= r_min < r_max, got {pair!r}.")
        radii.append((lo, hi))
    if radii[0][1] >= radii[1][0]:
        raise ValueError(f"`outer` must lie outside `inner`, got {inner!r} and {outer!r}.")
    kr, kt = jax.random.split(key)
    dtype = jnp.result_type(float)
    half = n // 2
    u = jax.random.uniform(kr, (2, half), dtype)
    lo = jnp.array([radii[0][0], radii[1][0]], dtype)[:, None]
    hi = jnp.array([radii[0][1], radii[1][1]], dtype)[:, None]
    # Uniform by area: r^2 uniform between the squared radii.
    r = jnp.sqrt(lo**2 + u * (hi**2 - lo**2)).reshape(n)
    theta = jax.random.uniform(kt, (n,), dtype, -jnp.pi, jnp.pi)
    x = jnp.stack([r * jnp.cos(theta), r * jnp.sin(theta)], axis=-1)
    y = jnp.concatenate([jnp.zeros(half, dtype), jnp.ones(half, dtype)])
    return x, y


class RingClassifier(eqx.Module):
    """logit(x) = w . phi_T(x, 0_p) + c: the time-T map of a flow, then a linear readout.

    The input (dim 2) is padded with `augment` zeros (Dupont, Doucet & Teh 2019,
    "Augmented neural ODEs", arXiv:1904.01681), advanced by `steps` classical RK4 steps
    of the flow to time `time`, and read out linearly; class 1 where the logit is
    positive. Built by `fit_ring_classifier`.

    **Arguments:**

    - `flow`: a `cj.Flow` on R^(2 + augment).
    - `weights`: (2 + augment,) readout weights; `bias`: the readout's offset.
    - `augment`: the number of zero coordinates appended (static).
    - `time`: the integration time T (static); `steps`: RK4 steps (static).

    Example:

    ```python
    clf = cj.learn.RingClassifier(flow=cj.systems.RingSeparatingFlow(),
                                  weights=jnp.array([4.0, 0.0]), bias=-4.0, time=5.0)
    clf.predict(jnp.array([[0.3, 0.0], [1.2, 0.4]]))        # [False, True]
    ```
    """

    flow: Flow
    weights: Float[Array, " d"] = eqx.field(converter=jnp.asarray)
    bias: Float[Array, ""] = eqx.field(converter=jnp.asarray)
    augment: int = eqx.field(default=0, static=True)
    time: float = eqx.field(default=1.0, static=True)
    steps: int = eqx.field(default=20, static=True)

    def __check_init__(self):
        v.nonnegative_int(self.augment, "augment")
        v.positive_float(self.time, "time")
        v.positive_int(self.steps, "steps")
        if self.weights.shape != (2 + self.augment,):
            raise ValueError(
                f"`weights` must have shape ({2 + self.augment},), got {self.weights.shape}."
            )

    def with_steps(self, steps: int) -> RingClassifier:
        """The same classifier integrated with `steps` RK4 steps: a finer integration
        shows whether a decision relies on the flow or on the discretisation."""
        return dataclasses.replace(self, steps=v.positive_int(steps, "steps"))

    def transform(self, x: Float[Array, "n 2"]) -> Float[Array, "n d"]:
        """phi_T(x, 0): the points carried to time T, shape (n, 2 + augment)."""
        z = jnp.concatenate([x, jnp.zeros((x.shape[0], self.augment), x.dtype)], axis=-1)
        h = self.time / self.steps
        step = jax.vmap(lambda p: rk4_step(self.flow.vector_field, p, h))

        def body(z, _):
            return step(z), None

        z, _ = jax.lax.scan(body, z, None, length=self.steps)
        return z

    def logits(self, x: Float[Array, "n 2"]) -> Float[Array, " n"]:
        """The readout w . phi_T(x, 0) + c of every point."""
        return self.transform(x) @ self.weights + self.bias

    def predict(self, x: Float[Array, "n 2"]) -> Bool[Array, " n"]:
        """True (class 1, outer) where the logit is positive."""
        return self.logits(x) > 0.0

    def accuracy(self, x: Float[ArrayLike, "n 2"], y: Float[ArrayLike, " n"]) -> float:
        """The fraction of points whose predicted class is their label."""
        pred = self.predict(jnp.asarray(x))
        return float(jnp.mean((pred == (jnp.asarray(y) > 0.5)).astype(float)))


class RingClassifierFit(Result):
    """What `fit_ring_classifier` returns.

    **Attributes:**

    - `model`: the `RingClassifier`.
    - `accuracy`: its accuracy on the training points.
    - `loss`: its mean binary cross-entropy on them.
    - `fit`: the `cj.learn.FitResult` of the training loop.
    """

    model: RingClassifier
    accuracy: float
    loss: float
    fit: FitResult


def _bce(model: RingClassifier, batch: tuple[Array, Array]) -> Array:
    x, y = batch
    return jnp.mean(optax.sigmoid_binary_cross_entropy(model.logits(x), y))


def _trainable(kind: str):
    def spec(model: RingClassifier) -> Any:
        frozen = jax.tree.map(lambda _: False, model)
        frozen = eqx.tree_at(lambda m: (m.weights, m.bias), frozen, replace=(True, True))
        if kind == "nonsmooth":
            return frozen  # the lecture's flow is fixed: only the readout is fitted
        flow = model.flow
        assert isinstance(flow, NeuralODE)
        return eqx.tree_at(
            lambda m: m.flow.mlp, frozen, replace=jax.tree.map(eqx.is_inexact_array, flow.mlp)
        )

    return spec


def fit_ring_classifier(
    x: Float[ArrayLike, "n 2"],
    y: Float[ArrayLike, " n"],
    *,
    kind: str,
    key: PRNGKeyArray,
    augment: int = 1,
    hidden: int = 32,
    depth: int = 1,
    activation: str = "tanh",
    time: float | None = None,
    steps: int | None = None,
    train_steps: int = 1_000,
    learning_rate: float = 1e-2,
    restarts: int = 1,
    r_star: float = 2.0,
) -> RingClassifierFit:
    """Fit a flow-then-linear-readout classifier to two classes in the plane.

    `kind` "neural_ode": dx/dt = MLP(x) on the plane, Chen et al. (2018), "Neural
    ordinary differential equations", arXiv:1806.07366 (its time-T map is a
    homeomorphism: it cannot enclose one ring by the other). "augmented": the same on
    R^(2 + augment), the data padded with zeros (Dupont, Doucet & Teh 2019, "Augmented
    neural ODEs", arXiv:1904.01681). "nonsmooth": the discontinuous flow of C. Budd,
    "Neural ODEs for, and as, dynamical systems", Lecture 7, Seattle, June 2025
    (`cj.systems.RingSeparatingFlow`), which is not trained: only its readout is fitted.
    All three minimise the binary cross-entropy of the logits with Adam, full batch,
    through `cj.learn.fit`, gradients through the fixed-step RK4 integration.

    **Arguments:**

    - `x`: (n, 2) points; `y`: (n,) labels 0 or 1.
    - `kind`: "neural_ode", "augmented" or "nonsmooth".
    - `key`: PRNG key (initialisation and restarts).
    - `augment`: extra zero coordinates for "augmented" (default 1).
    - `hidden`, `depth`, `activation`: the MLP of the learned vector field (default 32,
      1, "tanh").
    - `time`: integration time T (default 1 for the learned flows, 5 for "nonsmooth",
      which contracts at rate 1).
    - `steps`: RK4 steps over [0, T] (default 10, or 50 for "nonsmooth").
    - `train_steps`: Adam steps (default 1000); `learning_rate` (default 1e-2);
      `restarts` (default 1).
    - `r_star`: the outer radius of the non-smooth flow (default 2).

    **Returns:**

    A `RingClassifierFit`: `model`, training `accuracy` and `loss`, `fit`.

    Example:

    ```python
    x, y = cj.learn.nested_rings(400, key=jax.random.key(0))
    res = cj.learn.fit_ring_classifier(x, y, kind="augmented", key=jax.random.key(1))
    res.accuracy                                            # 1.0
    ```
    """
    kind = v.one_of(kind, "kind", KINDS)
    xs = jnp.asarray(x)
    ys = jnp.asarray(y)
    if xs.ndim != 2 or xs.shape[1] != 2:
        raise ValueError(f"`x` must have shape (n, 2), got {xs.shape}.")
    if ys.shape != (xs.shape[0],):
        raise ValueError(f"`y` must have shape ({xs.shape[0]},), got {ys.shape}.")
    if not np.all(np.isin(np.asarray(ys), (0.0, 1.0))):
        raise ValueError("`y` must hold labels 0 and 1.")
    ys = ys.astype(xs.dtype if jnp.issubdtype(xs.dtype, jnp.floating) else float)
    xs = xs.astype(ys.dtype)
    augment = v.nonnegative_int(augment, "augment") if kind == "augmented" else 0
    if kind == "augmented" and augment < 1:
        raise ValueError(f"`augment` must be at least 1 for kind 'augmented', got {augment}.")
    hidden = v.positive_int(hidden, "hidden")
    depth = v.nonnegative_int(depth, "depth")
    v.one_of(activation, "activation", ACTIVATIONS)
    nonsmooth = kind == "nonsmooth"
    time = v.positive_float((5.0 if nonsmooth else 1.0) if time is None else time, "time")
    steps = v.positive_int((50 if nonsmooth else 10) if steps is None else steps, "steps")
    train_steps = v.positive_int(train_steps, "train_steps")
    learning_rate = v.positive_float(learning_rate, "learning_rate")
    r_star = v.positive_float(r_star, "r_star")
    d = 2 + augment

    def init(k: PRNGKeyArray) -> RingClassifier:
        kf, kw = jax.random.split(k)
        w = 0.1 * jax.random.normal(kw, (d,), xs.dtype)
        if nonsmooth:
            flow: Flow = RingSeparatingFlow(r_star=r_star)
        else:
            unit = Normalizer(mean=jnp.zeros(d), scale=jnp.ones(d))
            mlp = MLP.init(kf, d, d, hidden=hidden, depth=depth, activation=activation)
            flow = NeuralODE(
                mlp=mlp,
                state_normalizer=unit,
                derivative_normalizer=unit,
                initial_state=jnp.zeros(d),
            )
        return RingClassifier(
            flow=flow,
            weights=w,
            bias=jnp.zeros((), xs.dtype),
            augment=augment,
            time=time,
            steps=steps,
        )

    result = fit(
        init,
        _bce,
        (xs, ys),
        key=key,
        steps=train_steps,
        learning_rate=learning_rate,
        restarts=restarts,
        trainable=_trainable(kind),
        eval_every=min(100, train_steps),
    )
    model = result.model
    assert isinstance(model, RingClassifier)
    return RingClassifierFit(
        model=model,
        accuracy=model.accuracy(xs, ys),
        loss=float(_bce(model, (xs, ys))),
        fit=result,
    )


def inner_region_is_bounded(
    model: RingClassifier, *, extent: float = 2.5, resolution: int = 201
) -> bool:
    """Whether the region the classifier calls class 0 around the origin is enclosed.

    On a `resolution`^2 grid over [-extent, extent]^2, the connected component (4-
    neighbours) of class-0 cells that contains the origin's cell is found by flood fill;
    it is bounded when it does not reach the grid's edge. For a homeomorphism of the
    plane and a linear readout the class-0 region is the preimage of a half plane, so
    it always reaches infinity (Dupont, Doucet & Teh 2019, arXiv:1904.01681): False
    for every plain neural ODE, True when the disc is enclosed by the ring.

    **Arguments:**

    - `model`: a `RingClassifier`.
    - `extent`: the half width of the grid (default 2.5); `resolution`: cells per side
      (default 201, odd so that a cell sits on the origin).

    **Returns:**

    True if the component is enclosed; also False when the origin itself is class 1.
    """
    extent = v.positive_float(extent, "extent")
    resolution = v.positive_int(resolution, "resolution")
    g = np.linspace(-extent, extent, resolution)
    X, Y = np.meshgrid(g, g, indexing="ij")
    pts = jnp.asarray(np.stack([X.ravel(), Y.ravel()], axis=-1))
    inner = ~np.asarray(model.predict(pts)).reshape(resolution, resolution)
    c = resolution // 2
    if not inner[c, c]:
        return False
    seen = np.zeros_like(inner)
    seen[c, c] = True
    stack = [(c, c)]
    while stack:
        i, j = stack.pop()
        if i in (0, resolution - 1) or j in (0, resolution - 1):
            return False
        for a, b in ((i + 1, j), (i - 1, j), (i, j + 1), (i, j - 1)):
            if inner[a, b] and not seen[a, b]:
                seen[a, b] = True
                stack.append((a, b))
    return True


def decision_boundary_preimage(
    model: object,
    *,
    half_length: float = 20.0,
    points: int = 4001,
    steps: int = 400,
) -> Float[Array, "points 2"]:
    """The decision boundary of a planar flow classifier, traced exactly by the inverse
    flow: phi_T^-1 of the readout's line {z : w . z + c = 0}.

    For a plain neural ODE (`augment` 0) the boundary in the input plane is the image of
    the line under the inverse time-T map, a homeomorphism: one curve, unbounded at both
    ends (Dupont, Doucet & Teh 2019, "Augmented neural ODEs", arXiv:1904.01681). It is
    traced by integrating the flow backwards (RK4, `steps` steps) from `points` points
    of the line within `half_length` of its point nearest the origin. Unlike a grid,
    this finds a channel of any width.

    **Arguments:**

    - `model`: a `RingClassifier` with `augment` 0.
    - `half_length`: how far along the line to go each way (default 20).
    - `points`: points on the line (default 4001); `steps`: RK4 steps backwards over
      [0, T] (default 400).

    **Returns:**

    (points, 2) points of the boundary, in order along it.

    Example:

    ```python
    curve = cj.learn.decision_boundary_preimage(node_fit.model)
    jnp.linalg.norm(curve[[0, -1]], axis=-1)   # both ends far outside the data
    ```
    """
    if not isinstance(model, RingClassifier) or model.augment != 0:
        raise ValueError("`model` must be a RingClassifier on the plane (augment 0).")
    half_length = v.positive_float(half_length, "half_length")
    points = v.positive_int(points, "points")
    steps = v.positive_int(steps, "steps")
    w = model.weights
    norm2 = jnp.sum(w**2)
    foot = -model.bias * w / norm2
    along = jnp.stack([-w[1], w[0]]) / jnp.sqrt(norm2)
    s = jnp.linspace(-half_length, half_length, points, dtype=w.dtype)
    z = foot[None, :] + s[:, None] * along[None, :]
    h = model.time / steps
    back = jax.vmap(lambda p: rk4_step(lambda q: -model.flow.vector_field(q), p, h))

    def body(z, _):
        return back(z), None

    z, _ = jax.lax.scan(body, z, None, length=steps)
    return z
