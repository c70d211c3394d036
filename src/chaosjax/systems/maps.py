"""The catalogue of maps (discrete-time systems).

Invertible maps subclass `InvertibleMap` and implement `inverse_step`; maps with a
simple closed-form Jacobian give it analytically (tested against autodiff).
"""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from ._base import InvertibleMap, Map, _as_float, param
from .flows import PiecewiseLinearFlow

Scalar = Float[Array, ""]


class Logistic(Map):
    """The logistic map x -> r x (1 - x); May (1976), Nature 261, 459-467.

    At r = 4 the exponent is exactly ln 2 per iteration.

    **Arguments:**

    - `r`: the growth rate, default 4.

    Example:

    ```python
    cj.max_lyapunov(cj.systems.Logistic(r=4.0), jnp.array([0.3]), steps=100_000)  # ~ ln 2
    ```
    """

    r: Scalar = param(4.0)

    name: ClassVar[str] = "logistic"
    variables: ClassVar[tuple[str, ...] | None] = ("x",)
    description: ClassVar[str] = "May's logistic map of a population"
    dim: ClassVar[int] = 1
    reference_exponents: ClassVar[tuple[float, ...]] = (0.6931471805599453,)
    reference_source: ClassVar[str] = "exact at r = 4: ln 2"

    def step(self, x: Float[Array, "1"]) -> Float[Array, "1"]:
        return self.r * x * (1.0 - x)

    def jacobian(self, x: Float[Array, "1"]) -> Float[Array, "1 1"]:
        return (self.r * (1.0 - 2.0 * x)).reshape(1, 1)

    def default_state(self) -> Float[Array, "1"]:
        return jnp.array([0.3141592653589793])

    def sample_state(self, key: PRNGKeyArray, n: int) -> Float[Array, "n 1"]:
        return jax.random.uniform(key, (n, 1), minval=0.05, maxval=0.95)


class Tent(Map):
    """The tent map x -> mu min(x, 1 - x); exponent ln mu for 1 < mu <= 2.

    **Arguments:**

    - `mu`: the slope, default 1.99: at mu = 2 every binary floating-point orbit
      collapses onto 0 within ~53 iterations (each step shifts one mantissa bit out).

    Example:

    ```python
    tent = cj.systems.Tent(mu=1.9)
    ```
    """

    mu: Scalar = param(1.99)

    name: ClassVar[str] = "tent"
    variables: ClassVar[tuple[str, ...] | None] = ("x",)
    description: ClassVar[str] = "The tent map"
    dim: ClassVar[int] = 1
    reference_exponents: ClassVar[tuple[float, ...]] = (0.6881346387364010,)
    reference_source: ClassVar[str] = "exact: ln mu"

    def step(self, x: Float[Array, "1"]) -> Float[Array, "1"]:
        return self.mu * jnp.minimum(x, 1.0 - x)

    def jacobian(self, x: Float[Array, "1"]) -> Float[Array, "1 1"]:
        return jnp.where(x < 0.5, self.mu, -self.mu).reshape(1, 1)

    def default_state(self) -> Float[Array, "1"]:
        return jnp.array([0.3141592653589793])

    def sample_state(self, key: PRNGKeyArray, n: int) -> Float[Array, "n 1"]:
        return jax.random.uniform(key, (n, 1), minval=0.05, maxval=0.95)


class Henon(InvertibleMap):
    """Hénon (1976), "A two-dimensional mapping with a strange attractor",
    Commun. Math. Phys. 50, 69-77.

    (x, y) -> (1 - a x^2 + y, b x).

    **Arguments:**

    - `a`, `b`: default 1.4, 0.3 (the classic strange attractor).

    Example:

    ```python
    hen = cj.systems.Henon(a=1.4, b=0.3)
    hen.inverse_step(hen.step(hen.default_state()))   # the default state again
    ```
    """

    a: Scalar = param(1.4)
    b: Scalar = param(0.3)

    name: ClassVar[str] = "henon"
    variables: ClassVar[tuple[str, ...] | None] = ("x", "y")
    description: ClassVar[str] = "Hénon's quadratic area-contracting map"
    dim: ClassVar[int] = 2
    reference_exponents: ClassVar[tuple[float, ...]] = (0.41922, -1.62319)
    reference_source: ClassVar[str] = "Sprott (2003), Chaos and Time-Series Analysis, App. A"
    sample_scale: ClassVar[float] = 0.05

    def step(self, x: Float[Array, "2"]) -> Float[Array, "2"]:
        return jnp.stack([1.0 - self.a * x[0] ** 2 + x[1], self.b * x[0]])

    def jacobian(self, x: Float[Array, "2"]) -> Float[Array, "2 2"]:
        one, zero = jnp.ones_like(x[0]), jnp.zeros_like(x[0])
        return jnp.stack([jnp.stack([-2.0 * self.a * x[0], one]), jnp.stack([self.b * one, zero])])

    def inverse_step(self, x: Float[Array, "2"]) -> Float[Array, "2"]:
        prev_x = x[1] / self.b
        return jnp.stack([prev_x, x[0] - 1.0 + self.a * prev_x**2])

    def default_state(self) -> Float[Array, "2"]:
        return jnp.array([0.24253775926279586, -0.16182151088572697])


class Lozi(InvertibleMap):
    """Lozi (1978), "Un attracteur étrange (?) du type attracteur de Hénon",
    J. Phys. Colloques 39, C5-9.

    (x, y) -> (1 - a |x| + y, b x).

    **Arguments:**

    - `a`, `b`: default 1.7, 0.5.

    Example:

    ```python
    lozi = cj.systems.Lozi()
    ```
    """

    a: Scalar = param(1.7)
    b: Scalar = param(0.5)

    name: ClassVar[str] = "lozi"
    variables: ClassVar[tuple[str, ...] | None] = ("x", "y")
    description: ClassVar[str] = "Lozi's piecewise-linear Hénon-like map"
    dim: ClassVar[int] = 2
    # Reproduced here to 1e-4 (0.47021, -1.16336; 4e6 iterations).
    reference_exponents: ClassVar[tuple[float, ...]] = (0.4702, -1.1634)
    reference_source: ClassVar[str] = "Sprott (2003), Chaos and Time-Series Analysis, App. A"
    sample_scale: ClassVar[float] = 0.05

    def step(self, x: Float[Array, "2"]) -> Float[Array, "2"]:
        return jnp.stack([1.0 - self.a * jnp.abs(x[0]) + x[1], self.b * x[0]])

    def inverse_step(self, x: Float[Array, "2"]) -> Float[Array, "2"]:
        prev_x = x[1] / self.b
        return jnp.stack([prev_x, x[0] - 1.0 + self.a * jnp.abs(prev_x)])

    def default_state(self) -> Float[Array, "2"]:
        return jnp.array([0.3, 0.1])


class Tinkerbell(Map):
    """The Tinkerbell map; Nusse & Yorke (1994), *Dynamics: Numerical Explorations*;
    parameters as in Sprott (2003) and in A. Maus, "Lyapunov spectra of inverted discrete
    dynamical systems" (2011), https://adammaus.com/wp/tag/invertible-maps/.

    (x, y) -> (x^2 - y^2 + a x + b y, 2 x y + c x + d y).
    Not globally invertible (quadratic), but its Jacobian is invertible on the
    attractor, so the inverted map's spectrum can be computed along forward orbits.

    Exponents (0.1900, -0.5209) (Sprott 2003); chaosjax computes (0.18998, -0.52088)
    (4e6 iterations). The often-quoted b = -0.6013 gives (0.1999, -0.4999) instead.

    **Arguments:**

    - `a`, `b`, `c`, `d`: default 0.9, -0.6, 2, 0.5.

    Example:

    ```python
    tink = cj.systems.Tinkerbell()
    cj.lyapunov_spectrum(tink, tink.default_state(), steps=100_000, inverse=True)
    ```
    """

    a: Scalar = param(0.9)
    b: Scalar = param(-0.6)
    c: Scalar = param(2.0)
    d: Scalar = param(0.5)

    name: ClassVar[str] = "tinkerbell"
    variables: ClassVar[tuple[str, ...] | None] = ("x", "y")
    description: ClassVar[str] = "The Tinkerbell map"
    dim: ClassVar[int] = 2
    reference_exponents: ClassVar[tuple[float, ...]] = (0.1900, -0.5209)
    reference_source: ClassVar[str] = (
        "Sprott (2003), Chaos and Time-Series Analysis, App. A (b = -0.6)"
    )
    sample_scale: ClassVar[float] = 0.02

    def step(self, x: Float[Array, "2"]) -> Float[Array, "2"]:
        u, v = x[0], x[1]
        return jnp.stack(
            [u**2 - v**2 + self.a * u + self.b * v, 2.0 * u * v + self.c * u + self.d * v]
        )

    def jacobian(self, x: Float[Array, "2"]) -> Float[Array, "2 2"]:
        u, v = x[0], x[1]
        return jnp.stack(
            [
                jnp.stack([2.0 * u + self.a, -2.0 * v + self.b]),
                jnp.stack([2.0 * v + self.c, 2.0 * u + self.d]),
            ]
        )

    def default_state(self) -> Float[Array, "2"]:
        return jnp.array([-0.72, -0.64])


class DelayedLogistic(InvertibleMap):
    """The delayed logistic map; Aronson, Chory, Hall & McGehee (1982), Commun. Math.
    Phys. 83, 303; parameters as in Sprott (2003).

    (x, y) -> (a x (1 - y), x).

    Exponents (0.1832, -1.2431), computed (4e6 iterations from three orbits). The
    largest agrees with Sprott (2003)'s 0.1830; the second is fixed by the exact
    identity lam_1 + lam_2 = `<ln|det J|> = <ln(a x)>` = -1.060 along the orbit, which a
    second exponent of -1.6557 would violate.

    **Arguments:**

    - `a`: default 2.27.

    Example:

    ```python
    dl = cj.systems.DelayedLogistic(a=2.27)
    ```
    """

    a: Scalar = param(2.27)

    delay_coordinates: ClassVar[bool] = True
    name: ClassVar[str] = "delayed_logistic"
    variables: ClassVar[tuple[str, ...] | None] = ("x", "y")
    description: ClassVar[str] = "The logistic map with a delay (y is the previous x)"
    dim: ClassVar[int] = 2
    reference_exponents: ClassVar[tuple[float, ...]] = (0.1832, -1.2431)
    reference_source: ClassVar[str] = (
        "computed (chaosjax QR, 4e6 iterations); lam_1 = Sprott (2003), App. A (0.1830); "
        "lam_1 + lam_2 = <ln(a x)> exactly"
    )
    sample_scale: ClassVar[float] = 0.02

    def step(self, x: Float[Array, "2"]) -> Float[Array, "2"]:
        return jnp.stack([self.a * x[0] * (1.0 - x[1]), x[0]])

    def jacobian(self, x: Float[Array, "2"]) -> Float[Array, "2 2"]:
        one, zero = jnp.ones_like(x[0]), jnp.zeros_like(x[0])
        return jnp.stack(
            [jnp.stack([self.a * (1.0 - x[1]), -self.a * x[0]]), jnp.stack([one, zero])]
        )

    def inverse_step(self, x: Float[Array, "2"]) -> Float[Array, "2"]:
        # x_{n+1} = a x_n (1 - y_n), y_{n+1} = x_n  =>  x_n = y_{n+1}, y_n = 1 - x_{n+1}/(a x_n)
        prev_x = x[1]
        return jnp.stack([prev_x, 1.0 - x[0] / (self.a * prev_x)])

    def default_state(self) -> Float[Array, "2"]:
        return jnp.array([0.5, 0.6])


class Burgers(Map):
    """The discrete Burgers map; Whitehead & MacDonald (1984), Physica D 13, 401;
    parameters as in Sprott (2003).

    (x, y) -> (a x - y^2, b y + x y).

    Exponents (0.1209, -0.2213), computed (4e6 iterations from three orbits, spread
    < 2e-4; the sum equals the exact `<ln|det J|> = <ln|a (b + x) + 2 y^2|>` =
    -0.1004). The pair (0.1276, -0.1720) is not reproduced by this map at these
    parameters (its sum contradicts the identity).

    **Arguments:**

    - `a`, `b`: default 0.75, 1.75.

    Example:

    ```python
    bur = cj.systems.Burgers()
    ```
    """

    a: Scalar = param(0.75)
    b: Scalar = param(1.75)

    name: ClassVar[str] = "burgers"
    variables: ClassVar[tuple[str, ...] | None] = ("x", "y")
    description: ClassVar[str] = "The discrete Burgers map (a model of turbulence)"
    dim: ClassVar[int] = 2
    reference_exponents: ClassVar[tuple[float, ...]] = (0.1209, -0.2213)
    reference_source: ClassVar[str] = "computed (chaosjax QR, 4e6 iterations, 3 orbits)"
    sample_scale: ClassVar[float] = 0.02

    def step(self, x: Float[Array, "2"]) -> Float[Array, "2"]:
        u, v = x[0], x[1]
        return jnp.stack([self.a * u - v**2, self.b * v + u * v])

    def jacobian(self, x: Float[Array, "2"]) -> Float[Array, "2 2"]:
        u, v = x[0], x[1]
        return jnp.stack(
            [jnp.stack([self.a * jnp.ones_like(u), -2.0 * v]), jnp.stack([v, self.b + u])]
        )

    def default_state(self) -> Float[Array, "2"]:
        return jnp.array([-0.1, 0.1])


class Ikeda(Map):
    """The Ikeda map; Ikeda (1979), Opt. Commun. 30, 257; Hammel, Jones & Moloney
    (1985), J. Opt. Soc. Am. B 2, 552.

    t = 0.4 - 6 / (1 + x^2 + y^2);
    (x, y) -> (1 + u (x cos t - y sin t), u (x sin t + y cos t)).

    **Arguments:**

    - `u`: default 0.9.

    Example:

    ```python
    ike = cj.systems.Ikeda(u=0.9)
    ```
    """

    u: Scalar = param(0.9)

    name: ClassVar[str] = "ikeda"
    variables: ClassVar[tuple[str, ...] | None] = ("x", "y")
    description: ClassVar[str] = "Ikeda's map of light in a nonlinear optical ring cavity"
    dim: ClassVar[int] = 2
    # Reproduced here to 3e-4 (0.50774, -0.71846; 4e6 iterations).
    reference_exponents: ClassVar[tuple[float, ...]] = (0.5076, -0.7183)
    reference_source: ClassVar[str] = "Sprott (2003), Chaos and Time-Series Analysis, App. A"
    sample_scale: ClassVar[float] = 0.1

    def step(self, x: Float[Array, "2"]) -> Float[Array, "2"]:
        p, q = x[0], x[1]
        t = 0.4 - 6.0 / (1.0 + p**2 + q**2)
        c, s = jnp.cos(t), jnp.sin(t)
        return jnp.stack([1.0 + self.u * (p * c - q * s), self.u * (p * s + q * c)])

    def default_state(self) -> Float[Array, "2"]:
        return jnp.array([0.5, -0.3])


class DelayedHenon(InvertibleMap):
    """The delayed Hénon map; Sprott (2006), "High-dimensional dynamics in the delayed
    Hénon map", Electron. J. Theor. Phys. 3, 19-35.

        x_n = 1 - a x_{n-1}^2 + b x_{n-d}

    The state is the delay vector (x_{n-1}, x_{n-2}, ..., x_{n-d}).

    **Arguments:**

    - `a`, `b`: default 1.6, 0.1 (Sprott's values; chaotic for every d).
    - `d`: the delay (static: it is the dimension), a positive int, default 4.

    Example:

    ```python
    dh = cj.systems.DelayedHenon(d=4)
    cj.lag_sensitivities(dh, dh.default_state(), steps=10_000, transient=1_000)
    ```
    """

    a: Scalar = param(1.6)
    b: Scalar = param(0.1)
    d: int = eqx.field(default=4, static=True)

    delay_coordinates: ClassVar[bool] = True
    name: ClassVar[str] = "delayed_henon"
    description: ClassVar[str] = "Sprott's delayed Hénon map, state the last d values of x"
    sample_scale: ClassVar[float] = 0.05

    def __check_init__(self):
        if isinstance(self.d, bool) or not isinstance(self.d, int) or self.d < 1:
            raise ValueError(f"`d` must be a positive int, got {self.d!r}.")

    @property
    def dim(self) -> int:
        return self.d

    def variable_names(self) -> tuple[str, ...]:
        """x(n-1), ..., x(n-d): Sprott's delay vector, most recent first."""
        return tuple(f"x(n-{k + 1})" for k in range(self.d))

    def step(self, x: Float[Array, " d"]) -> Float[Array, " d"]:
        new = 1.0 - self.a * x[0] ** 2 + self.b * x[-1]
        return jnp.concatenate([new[None], x[:-1]])

    def inverse_step(self, x: Float[Array, " d"]) -> Float[Array, " d"]:
        # x_n = 1 - a x_{n-1}^2 + b x_{n-d}  =>  x_{n-d} = (x_n - 1 + a x_{n-1}^2) / b
        if self.d == 1:
            raise NotImplementedError("DelayedHenon with d = 1 is a non-invertible 1-D map.")
        oldest = (x[0] - 1.0 + self.a * x[1] ** 2) / self.b
        return jnp.concatenate([x[1:], oldest[None]])

    @property
    def has_inverse(self) -> bool:
        return self.d > 1

    def default_state(self) -> Float[Array, " d"]:
        return jnp.full((self.d,), 0.1)


class SmoothedSigmoidMap(Map):
    """The smoothed sigmoid map x -> a x - (1 + tanh(c x)) / 2 + b; C. Budd, "Neural ODEs
    for, and as, dynamical systems", Lecture 7, Seattle, June 2025.

    A one-neuron feed-forward network iterated as a map: a smooth family that tends to
    a piecewise-linear map with a jump (border collisions, period adding) as c grows.

    **Arguments:**

    - `a`, `b`: the slope and offset, default 0.8, 0.5.
    - `c`: the steepness of the sigmoid, default 10.

    Example:

    ```python
    sig = cj.systems.SmoothedSigmoidMap(c=50.0)
    xs = cj.trajectory(sig, sig.default_state(), steps=100, transient=2_000)
    ```
    """

    a: Scalar = param(0.8)
    b: Scalar = param(0.5)
    c: Scalar = param(10.0)

    name: ClassVar[str] = "smoothed_sigmoid"
    variables: ClassVar[tuple[str, ...] | None] = ("x",)
    description: ClassVar[str] = "A one-neuron network iterated as a map"
    dim: ClassVar[int] = 1
    sample_scale: ClassVar[float] = 0.3

    def step(self, x: Float[Array, "1"]) -> Float[Array, "1"]:
        return self.a * x - 0.5 * (1.0 + jnp.tanh(self.c * x)) + self.b

    def default_state(self) -> Float[Array, "1"]:
        return jnp.array([0.1])


class StandardMap(InvertibleMap):
    """The Chirikov standard map; Chirikov (1979), Phys. Rep. 52, 263-379.

    p -> p + K sin(theta),  theta -> theta + p (new p), both mod 2 pi; the state is
    (theta, p). Area preserving: the exponents sum to zero.

    **Arguments:**

    - `K`: the kick strength, default 1.

    Example:

    ```python
    std = cj.systems.StandardMap(K=1.5)
    ```
    """

    K: Scalar = param(1.0)

    name: ClassVar[str] = "standard_map"
    units: ClassVar[tuple[str | None, ...] | None] = ("rad", None)
    description: ClassVar[str] = "Chirikov's standard map of a kicked rotor"
    variables: ClassVar[tuple[str, ...] | None] = ("theta", "p")
    dim: ClassVar[int] = 2
    sample_scale: ClassVar[float] = 1.0

    def step(self, x: Float[Array, "2"]) -> Float[Array, "2"]:
        theta, p = x[0], x[1]
        p_new = jnp.mod(p + self.K * jnp.sin(theta), 2.0 * jnp.pi)
        return jnp.stack([jnp.mod(theta + p_new, 2.0 * jnp.pi), p_new])

    def inverse_step(self, x: Float[Array, "2"]) -> Float[Array, "2"]:
        theta_new, p_new = x[0], x[1]
        theta = jnp.mod(theta_new - p_new, 2.0 * jnp.pi)
        return jnp.stack([theta, jnp.mod(p_new - self.K * jnp.sin(theta), 2.0 * jnp.pi)])

    def default_state(self) -> Float[Array, "2"]:
        return jnp.array([0.5, 3.0])

    def sample_state(self, key: PRNGKeyArray, n: int) -> Float[Array, "n 2"]:
        return jax.random.uniform(key, (n, 2), maxval=2.0 * jnp.pi)


class PiecewiseLinearMap(Map):
    """The piecewise-linear map x -> A1 x + mu b if c.x < 0, A2 x + mu b if c.x >= 0: the
    map interpretation of `PiecewiseLinearFlow` (same fields), and in companion form the
    border-collision normal form (Nusse & Yorke 1992, Physica D 57, 39-57; di Bernardo,
    Feigin, Hogan & Homer 1999, Chaos Solitons Fractals 10, 1881-1908).

    Continuous across c.x = 0 when A1 - A2 is zero off the column along c.

    **Arguments:**

    - `A1`, `A2`: (n, n) matrices on the two sides of c.x = 0.
    - `b`: (n,) direction of the offset; `c`: (n,) normal of the border.
    - `mu`: the bifurcation parameter (a scalar), default 1.

    Example:

    ```python
    m = cj.systems.PiecewiseLinearMap.border_collision_2d(0.5, 0.3, -2.0, 0.3, mu=1.0)
    ```
    """

    A1: Float[Array, "n n"] = eqx.field(converter=_as_float)
    A2: Float[Array, "n n"] = eqx.field(converter=_as_float)
    b: Float[Array, " n"] = eqx.field(converter=_as_float)
    c: Float[Array, " n"] = eqx.field(converter=_as_float)
    mu: Float[Array, ""] = param(1.0)

    name: ClassVar[str] = "piecewise_linear_map"
    description: ClassVar[str] = "A piecewise-linear map (border-collision normal form)"

    def __check_init__(self):
        n = self.A1.shape[0]
        if self.A1.shape != (n, n) or self.A2.shape != (n, n):
            raise ValueError(
                f"`A1`, `A2` must be square of equal size, got {self.A1.shape}, {self.A2.shape}."
            )
        if self.b.shape != (n,) or self.c.shape != (n,):
            raise ValueError(
                f"`b`, `c` must have shape ({n},), got {self.b.shape}, {self.c.shape}."
            )

    @property
    def dim(self) -> int:
        return int(self.A1.shape[0])

    def switching_function(self, x: Float[Array, " n"]) -> Float[Array, ""]:
        return self.c @ x

    def step(self, x: Float[Array, " n"]) -> Float[Array, " n"]:
        return jnp.where(self.c @ x < 0.0, self.A1, self.A2) @ x + self.mu * self.b

    def default_state(self) -> Float[Array, " n"]:
        return jnp.full(self.A1.shape[0], 0.1)

    @classmethod
    def from_flow(cls, flow: PiecewiseLinearFlow) -> PiecewiseLinearMap:
        """The same matrices read as a map (the companion form of `fp_to_chaos` is the
        border-collision normal form of maps).

        **Arguments:**

        - `flow`: a `PiecewiseLinearFlow`.

        **Returns:**

        A `PiecewiseLinearMap` with the flow's `A1`, `A2`, `b`, `c` and `mu`.

        Example:

        ```python
        flow = cj.systems.PiecewiseLinearFlow.fp_to_chaos(mu=1.0)
        m = cj.systems.PiecewiseLinearMap.from_flow(flow)
        ```
        """
        return cls(A1=flow.A1, A2=flow.A2, b=flow.b, c=flow.c, mu=flow.mu)

    @classmethod
    def border_collision_2d(
        cls, tau_l: float, delta_l: float, tau_r: float, delta_r: float, mu: float = 1.0
    ) -> PiecewiseLinearMap:
        """The 2-D border-collision normal form (Nusse & Yorke 1992; Banerjee & Grebogi
        1999, Phys. Rev. E 59, 4052): (x, y) -> (tau x + y + mu, -delta x), with
        (tau, delta) = (tau_l, delta_l) for x < 0 and (tau_r, delta_r) for x >= 0.

        **Arguments:**

        - `tau_l`, `delta_l`: trace and determinant of the left piece (x < 0).
        - `tau_r`, `delta_r`: trace and determinant of the right piece (x >= 0).
        - `mu`: the bifurcation parameter, default 1.

        **Returns:**

        A `PiecewiseLinearMap`.

        Example:

        ```python
        m = cj.systems.PiecewiseLinearMap.border_collision_2d(0.5, 0.3, -2.0, 0.3, mu=1.0)
        xs = cj.trajectory(m, m.default_state(), steps=1_000)
        ```
        """
        return cls(
            A1=jnp.asarray(((tau_l, 1.0), (-delta_l, 0.0))),
            A2=jnp.asarray(((tau_r, 1.0), (-delta_r, 0.0))),
            b=jnp.asarray((1.0, 0.0)),
            c=jnp.asarray((1.0, 0.0)),
            mu=jnp.asarray(mu),
        )
