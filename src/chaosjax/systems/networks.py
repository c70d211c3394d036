"""Feed-forward networks as dynamical systems: a ResNet layer as a map, its neural ODE limit
as a flow, and the non-smooth flow that separates nested rings.

C. Budd, "Neural ODEs for, and as, dynamical systems", Lecture 7, Seattle, June 2025: a
residual layer x_{n+1} = x_n + dt sum_i c_i sigma(A_i x_n + b_i) is the explicit Euler
step of the neural ODE dx/dt = sum_i c_i sigma(A_i x + b_i) (Chen, Rubanova, Bettencourt
& Duvenaud 2018, "Neural ordinary differential equations", arXiv:1806.07366; E 2017, "A
proposal on machine learning via dynamical systems", Commun. Math. Stat. 5, 1-11), and
the activation sigma decides whether the system is smooth, has a discontinuous
derivative (ReLU, PReLU, ELU) or is discontinuous (the binary step).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from .._validate import one_of, positive_float
from ._base import Flow, Map, _as_float, param

Scalar = Float[ArrayLike, ""]


def _step(z: Array, alpha: Scalar) -> Array:
    del alpha
    # H(0) = 1, as in the lecture's table (and the smoothed sigmoid map's H).
    return jnp.where(z >= 0.0, 1.0, 0.0).astype(z.dtype)


def _prelu(z: Array, alpha: Scalar) -> Array:
    return jnp.where(z >= 0.0, z, alpha * z)


def _elu(z: Array, alpha: Scalar) -> Array:
    # expm1 of min(z, 0): the unused branch stays finite, so gradients stay finite too.
    return jnp.where(z >= 0.0, z, alpha * jnp.expm1(jnp.minimum(z, 0.0)))


ACTIVATIONS: dict[str, Callable[[Array, Scalar], Array]] = {
    "identity": lambda z, alpha: z,
    "step": _step,
    "logistic": lambda z, alpha: jax.nn.sigmoid(z),
    "tanh": lambda z, alpha: jnp.tanh(z),
    "arctan": lambda z, alpha: jnp.arctan(z),
    "relu": lambda z, alpha: jax.nn.relu(z),
    "prelu": _prelu,
    "elu": _elu,
    "softplus": lambda z, alpha: jax.nn.softplus(z),
}
"""The activations of C. Budd's table by name, as functions sigma(z, alpha) (`alpha` is
used by "prelu" and "elu" only)."""


def activation_function(name: str, alpha: Scalar = 0.1) -> Callable[[Array], Array]:
    """The activation `name` of the lecture's table as a function z -> sigma(z).

    Identity, binary step (H(0) = 1), logistic, tanh, arctan, ReLU, PReLU (slope `alpha`
    for z < 0), ELU (alpha (e^z - 1) for z < 0) and SoftPlus log(1 + e^z); C. Budd,
    "Neural ODEs for, and as, dynamical systems", Lecture 7, Seattle, June 2025 (the table
    follows https://en.wikipedia.org/wiki/Activation_function). PReLU: He, Zhang, Ren &
    Sun 2015, arXiv:1502.01852; ELU: Clevert, Unterthiner & Hochreiter 2016,
    arXiv:1511.07289.

    **Arguments:**

    - `name`: one of `ACTIVATIONS` ("identity", "step", "logistic", "tanh", "arctan",
      "relu", "prelu", "elu", "softplus"); another name raises `ValueError`.
    - `alpha`: the negative-side parameter of "prelu" and "elu" (default 0.1).

    **Returns:**

    The elementwise function.

    Example:

    ```python
    cj.systems.activation_function("prelu", 0.2)(jnp.array([-1.0, 2.0]))   # [-0.2, 2.0]
    ```
    """
    fn = ACTIVATIONS[one_of(name, "activation", ACTIVATIONS)]
    a = _as_float(alpha)
    return lambda z: fn(z, a)


def _check_network(A: Array, b: Array, C: Array, activation: object) -> None:
    one_of(activation, "activation", ACTIVATIONS)
    if A.ndim != 2:
        raise ValueError(f"`A` must be a (hidden, dim) matrix, got shape {A.shape}.")
    h, n = A.shape
    if b.shape != (h,):
        raise ValueError(f"`b` must have shape ({h},) to match `A` {A.shape}, got {b.shape}.")
    if C.shape != (n, h):
        raise ValueError(f"`C` must have shape ({n}, {h}) to match `A` {A.shape}, got {C.shape}.")


def _random_network(key: PRNGKeyArray, dim: int, hidden: int, gain: float):
    ka, kb, kc = jax.random.split(key, 3)
    dtype = jnp.result_type(float)
    A = jax.random.normal(ka, (hidden, dim), dtype) / jnp.sqrt(float(dim))
    b = jax.random.normal(kb, (hidden,), dtype)
    C = gain * jax.random.normal(kc, (dim, hidden), dtype) / jnp.sqrt(float(hidden))
    return A, b, C


class FeedForwardFlow(Flow):
    """The neural ODE dx/dt = sum_i c_i sigma(A_i x + b_i) = C sigma(A x + b): the limit
    dt -> 0 of the ResNet layer map `FeedForwardMap`.

    C. Budd, "Neural ODEs for, and as, dynamical systems", Lecture 7, Seattle, June 2025;
    Chen et al. (2018), "Neural ordinary differential equations", arXiv:1806.07366. Row
    A_i and entry b_i make hidden unit i, column c_i of C its output weights. The vector
    field is as smooth as sigma: Lipschitz for every activation but "step".

    **Arguments:**

    - `A`: (hidden, dim) input weights; `b`: (hidden,) biases; `C`: (dim, hidden) output
      weights.
    - `alpha`: the negative-side parameter of "prelu" and "elu" (default 0.1).
    - `activation`: a name of `ACTIVATIONS` (default "tanh"); another raises `ValueError`.
    - `initial_state`: what `default_state()` returns (default zeros).

    Example:

    ```python
    flow = cj.systems.FeedForwardFlow.init(jax.random.key(0), dim=2, hidden=8)
    xs = cj.trajectory(flow, flow.default_state(), steps=1_000, dt=0.01)
    flow.resnet(dt=0.1)                     # the residual layer map it is the limit of
    ```
    """

    A: Float[Array, "hidden dim"] = eqx.field(converter=_as_float)
    b: Float[Array, " hidden"] = eqx.field(converter=_as_float)
    C: Float[Array, "dim hidden"] = eqx.field(converter=_as_float)
    alpha: Scalar = param(0.1)
    activation: str = eqx.field(default="tanh", static=True)
    initial_state: Float[Array, " dim"] | None = eqx.field(default=None)

    name: ClassVar[str] = "feed_forward_flow"
    description: ClassVar[str] = "A one-hidden-layer network as a vector field (neural ODE)"

    def __check_init__(self):
        _check_network(self.A, self.b, self.C, self.activation)

    @classmethod
    def init(
        cls,
        key: PRNGKeyArray,
        *,
        dim: int,
        hidden: int,
        gain: float = 1.0,
        activation: str = "tanh",
    ) -> FeedForwardFlow:
        """A random network: A ~ N(0, 1/dim), b ~ N(0, 1), C ~ N(0, gain^2/hidden).

        **Arguments:**

        - `key`: PRNG key; `dim`, `hidden`: state and hidden sizes; `gain`: output scale;
          `activation`: a name of `ACTIVATIONS`.

        **Returns:**

        A `FeedForwardFlow`.
        """
        A, b, C = _random_network(key, dim, hidden, gain)
        return cls(A=A, b=b, C=C, activation=activation)

    @property
    def dim(self) -> int:
        return int(self.A.shape[1])

    def vector_field(self, x: Float[Array, " dim"]) -> Float[Array, " dim"]:
        return self.C @ ACTIVATIONS[self.activation](self.A @ x + self.b, self.alpha)

    def default_state(self) -> Float[Array, " dim"]:
        if self.initial_state is None:
            return jnp.zeros(self.dim)
        return _as_float(self.initial_state)

    def resnet(self, dt: float) -> FeedForwardMap:
        """The residual layer x -> x + dt C sigma(A x + b) whose dt -> 0 limit this is."""
        return FeedForwardMap(
            A=self.A,
            b=self.b,
            C=self.C,
            alpha=self.alpha,
            dt=dt,
            activation=self.activation,
            initial_state=self.initial_state,
        )


class FeedForwardMap(Map):
    """The ResNet layer map x_{n+1} = x_n + dt sum_i c_i sigma(A_i x_n + b_i).

    A deep residual network with shared weights iterated as a map; C. Budd, "Neural ODEs
    for, and as, dynamical systems", Lecture 7, Seattle, June 2025; He, Zhang, Ren & Sun
    (2016), "Deep residual learning for image recognition", CVPR, arXiv:1512.03385. It is
    the explicit Euler step of `FeedForwardFlow` (its `flow()`), so it represents time
    `dt` per iteration: `time_per_step` is `dt` and Lyapunov exponents come per unit
    time, converging to the flow's at first order as dt -> 0.

    **Arguments:**

    - `A`: (hidden, dim) input weights; `b`: (hidden,) biases; `C`: (dim, hidden) output
      weights.
    - `dt`: the layer's step, a positive float (static; default 0.1).
    - `alpha`: the negative-side parameter of "prelu" and "elu" (default 0.1).
    - `activation`: a name of `ACTIVATIONS` (default "tanh"); another raises `ValueError`.
    - `initial_state`: what `default_state()` returns (default zeros).

    Example:

    ```python
    res = cj.systems.FeedForwardMap.init(jax.random.key(0), dim=2, hidden=8, dt=0.05)
    xs = cj.trajectory(res, res.default_state(), steps=200)
    cj.lyapunov_spectrum(res, res.default_state(), steps=5_000).exponents  # per unit time
    ```
    """

    A: Float[Array, "hidden dim"] = eqx.field(converter=_as_float)
    b: Float[Array, " hidden"] = eqx.field(converter=_as_float)
    C: Float[Array, "dim hidden"] = eqx.field(converter=_as_float)
    dt: float = eqx.field(default=0.1, static=True)
    alpha: Scalar = param(0.1)
    activation: str = eqx.field(default="tanh", static=True)
    initial_state: Float[Array, " dim"] | None = eqx.field(default=None)

    name: ClassVar[str] = "feed_forward_map"
    description: ClassVar[str] = "A residual network layer iterated as a map"

    def __check_init__(self):
        _check_network(self.A, self.b, self.C, self.activation)
        positive_float(self.dt, "dt")

    @classmethod
    def init(
        cls,
        key: PRNGKeyArray,
        *,
        dim: int,
        hidden: int,
        dt: float = 0.1,
        gain: float = 1.0,
        activation: str = "tanh",
    ) -> FeedForwardMap:
        """A random residual layer: A ~ N(0, 1/dim), b ~ N(0, 1), C ~ N(0, gain^2/hidden).

        **Arguments:**

        - `key`: PRNG key; `dim`, `hidden`: state and hidden sizes; `dt`: the step;
          `gain`: output scale; `activation`: a name of `ACTIVATIONS`.

        **Returns:**

        A `FeedForwardMap`.
        """
        A, b, C = _random_network(key, dim, hidden, gain)
        return cls(A=A, b=b, C=C, dt=dt, activation=activation)

    @property
    def dim(self) -> int:
        return int(self.A.shape[1])

    @property
    def time_per_step(self) -> float:
        """`dt`: the layer is one Euler step of time dt of its neural ODE."""
        return float(self.dt)

    def step(self, x: Float[Array, " dim"]) -> Float[Array, " dim"]:
        sigma = ACTIVATIONS[self.activation]
        return x + self.dt * (self.C @ sigma(self.A @ x + self.b, self.alpha))

    def default_state(self) -> Float[Array, " dim"]:
        if self.initial_state is None:
            return jnp.zeros(self.dim)
        return _as_float(self.initial_state)

    def flow(self) -> FeedForwardFlow:
        """The neural ODE dx/dt = C sigma(A x + b): this map's dt -> 0 limit."""
        return FeedForwardFlow(
            A=self.A,
            b=self.b,
            C=self.C,
            alpha=self.alpha,
            activation=self.activation,
            initial_state=self.initial_state,
        )


class RingSeparatingFlow(Flow):
    """The discontinuous flow that maps two nested rings to two points: in polar
    coordinates, dr/dt = -r, dtheta/dt = 0 for r < `radius`, and dr/dt = r (r* - r),
    dtheta/dt = -theta for r >= `radius` (theta in (-pi, pi]).

    C. Budd, "Neural ODEs for, and as, dynamical systems", Lecture 7, Seattle, June 2025
    (with `radius` = 1): a Lipschitz neural ODE's time-T map is a homeomorphism, so it
    cannot pull a disc and a ring around it apart (Dupont, Doucet & Teh 2019, "Augmented
    neural ODEs", arXiv:1904.01681); this flow is discontinuous on the circle r = radius
    (and on the negative x axis, where theta jumps), and breaks the topology: everything
    inside contracts to the origin, everything outside to the point (r*, 0). In
    Cartesian coordinates the outer field is (r* - r)(x, y) + theta (y, -x).

    **Arguments:**

    - `r_star`: the outer attracting radius r* (default 2; above `radius`, so outer
      points stay outside).
    - `radius`: the switching radius (default 1).

    Example:

    ```python
    flow = cj.systems.RingSeparatingFlow()
    xs = cj.trajectory(flow, jnp.array([0.0, 1.5]), steps=1_000, dt=0.01)
    xs[-1]                                  # near (2, 0)
    ```
    """

    r_star: Scalar = param(2.0)
    radius: Scalar = param(1.0)

    name: ClassVar[str] = "ring_separating_flow"
    description: ClassVar[str] = "A discontinuous flow that separates two nested rings"
    dim: ClassVar[int] = 2
    variables: ClassVar[tuple[str, ...] | None] = ("x", "y")

    def vector_field(self, x: Float[Array, "2"]) -> Float[Array, "2"]:
        r = jnp.sqrt(x[0] ** 2 + x[1] ** 2)
        theta = jnp.arctan2(x[1], x[0])
        inner = -x
        outer = (self.r_star - r) * x + theta * jnp.stack([x[1], -x[0]])
        return jnp.where(r < self.radius, inner, outer)

    def default_state(self) -> Float[Array, "2"]:
        return jnp.array([0.0, 1.5])
