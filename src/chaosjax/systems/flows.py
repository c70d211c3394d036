"""The catalogue of flows (continuous-time systems).

Each flow is a final equinox Module; its parameters are traced array leaves with
the usual literature values as defaults, and its docstring cites the source.
`default_state()` is a point on the attractor at the default parameters
(found by a long spin-up with RK4, dt = 0.005).
"""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float

from ._base import Flow, PiecewiseSmoothFlow, param

Scalar = Float[Array, ""]


class Lorenz63(Flow):
    """Lorenz (1963), "Deterministic nonperiodic flow", J. Atmos. Sci. 20, 130-141.

    dx/dt = sigma (y - x),  dy/dt = x (rho - z) - y,  dz/dt = x y - beta z.
    Chaotic at the defaults.

    **Arguments:**

    - `sigma`: Prandtl number, default 10.
    - `rho`: Rayleigh number, default 28.
    - `beta`: geometric factor, default 8/3.

    Example:

    ```python
    lor = cj.systems.Lorenz63(rho=30.0)
    lor.vector_field(lor.default_state())   # dx/dt, shape (3,)
    ```
    """

    sigma: Scalar = param(10.0)
    rho: Scalar = param(28.0)
    beta: Scalar = param(8.0 / 3.0)

    name: ClassVar[str] = "lorenz63"
    variables: ClassVar[tuple[str, ...] | None] = ("x", "y", "z")
    description: ClassVar[str] = "Lorenz's three-mode truncation of Rayleigh-Bénard convection"
    dim: ClassVar[int] = 3
    reference_exponents: ClassVar[tuple[float, ...]] = (0.9056, 0.0, -14.5723)
    reference_source: ClassVar[str] = "Sprott (2003), Chaos and Time-Series Analysis, App. A"
    sample_scale: ClassVar[float] = 5.0
    default_dt: ClassVar[float | None] = 0.01

    def vector_field(self, x: Float[Array, "3"]) -> Float[Array, "3"]:
        u, v, w = x[0], x[1], x[2]
        return jnp.stack([self.sigma * (v - u), u * (self.rho - w) - v, u * v - self.beta * w])

    def default_state(self) -> Float[Array, "3"]:
        return jnp.array([-2.15044523, 2.28276574, 27.25779152])


class Rossler(Flow):
    """Rössler (1976), "An equation for continuous chaos", Phys. Lett. A 57, 397-398.

    dx/dt = -y - z,  dy/dt = x + a y,  dz/dt = b + z (x - c).

    **Arguments:**

    - `a`, `b`, `c`: default 0.2, 0.2, 5.7 (chaotic).

    Example:

    ```python
    ros = cj.systems.Rossler(c=5.7)
    ```
    """

    a: Scalar = param(0.2)
    b: Scalar = param(0.2)
    c: Scalar = param(5.7)

    name: ClassVar[str] = "rossler"
    variables: ClassVar[tuple[str, ...] | None] = ("x", "y", "z")
    description: ClassVar[str] = "Rössler's spiral chaos from one nonlinear term"
    dim: ClassVar[int] = 3
    reference_exponents: ClassVar[tuple[float, ...]] = (0.0714, 0.0, -5.3943)
    reference_source: ClassVar[str] = "Sprott (2003), Chaos and Time-Series Analysis, App. A"
    sample_scale: ClassVar[float] = 0.1  # larger kicks can leave the basin (escape)
    default_dt: ClassVar[float | None] = 0.02

    def vector_field(self, x: Float[Array, "3"]) -> Float[Array, "3"]:
        u, v, w = x[0], x[1], x[2]
        return jnp.stack([-v - w, u + self.a * v, self.b + w * (u - self.c)])

    def default_state(self) -> Float[Array, "3"]:
        return jnp.array([4.04125, -5.59853, 0.06451])


class Lorenz96(Flow):
    """Lorenz (1996), "Predictability: a problem partly solved", ECMWF Seminar.

    dx_i/dt = (x_{i+1} - x_{i-2}) x_{i-1} - x_i + F, cyclic in i = 0..n-1.

    **Arguments:**

    - `F`: the forcing, default 8 (chaotic for n >= 5).
    - `n`: the number of sites (static: it sets the dimension), an int >= 4, default 40.

    Example:

    ```python
    l96 = cj.systems.Lorenz96(n=10, F=8.0)
    l96.dim                                  # 10
    ```
    """

    F: Scalar = param(8.0)
    n: int = eqx.field(default=40, static=True)

    name: ClassVar[str] = "lorenz96"
    description: ClassVar[str] = "Lorenz's ring of n sites of an atmospheric quantity X_k"
    sample_scale: ClassVar[float] = 1.0
    default_dt: ClassVar[float | None] = 0.01

    def __check_init__(self):
        if isinstance(self.n, bool) or not isinstance(self.n, int) or self.n < 4:
            raise ValueError(f"`n` must be an int >= 4, got {self.n!r}.")

    @property
    def dim(self) -> int:
        return self.n

    def variable_names(self) -> tuple[str, ...]:
        """X1, ..., Xn: Lorenz's X_k."""
        return tuple(f"X{k + 1}" for k in range(self.n))

    def vector_field(self, x: Float[Array, " n"]) -> Float[Array, " n"]:
        return (jnp.roll(x, -1) - jnp.roll(x, 2)) * jnp.roll(x, 1) - x + self.F

    def default_state(self) -> Float[Array, " n"]:
        # F everywhere is an (unstable) equilibrium; a deterministic kick leaves it.
        i = jnp.arange(self.n, dtype=float)
        x = jnp.full((self.n,), 8.0) + 0.01 * jnp.sin(2.0 * jnp.pi * i / self.n)
        return x.at[0].add(0.01)


class Chen(Flow):
    """Chen & Ueta (1999), "Yet another chaotic attractor", Int. J. Bifurc. Chaos 9, 1465.

    dx/dt = a (y - x),  dy/dt = (c - a) x - x z + c y,  dz/dt = x y - b z.

    **Arguments:**

    - `a`, `b`, `c`: default 35, 3, 28 (chaotic).

    Example:

    ```python
    chen = cj.systems.Chen()
    ```
    """

    a: Scalar = param(35.0)
    b: Scalar = param(3.0)
    c: Scalar = param(28.0)

    name: ClassVar[str] = "chen"
    variables: ClassVar[tuple[str, ...] | None] = ("x", "y", "z")
    description: ClassVar[str] = "Chen's Lorenz-like attractor (a dual of Lorenz's)"
    dim: ClassVar[int] = 3
    sample_scale: ClassVar[float] = 5.0
    default_dt: ClassVar[float | None] = 0.005

    def vector_field(self, x: Float[Array, "3"]) -> Float[Array, "3"]:
        u, v, w = x[0], x[1], x[2]
        return jnp.stack(
            [self.a * (v - u), (self.c - self.a) * u - u * w + self.c * v, u * v - self.b * w]
        )

    def default_state(self) -> Float[Array, "3"]:
        return jnp.array([-3.64190, -5.07600, 13.43460])


class Chua(Flow):
    """Chua's circuit with a smooth cubic nonlinearity.

    dx/dt = alpha (y - h(x)),  dy/dt = x - y + z,  dz/dt = -beta y,  h(x) = c3 x^3 + c1 x.
    Cubic form of Huang, Pivka, Wu, Chua & Yang (1996), Int. J. Bifurc. Chaos 6,
    2175 ("Chua's equation with cubic nonlinearity"); double-scroll-like chaos at the
    defaults.

    **Arguments:**

    - `alpha`, `beta`: default 10, 16.
    - `c1`, `c3`: the coefficients of h, default -1/6, 1/16.

    Example:

    ```python
    chua = cj.systems.Chua(alpha=10.0)
    ```
    """

    alpha: Scalar = param(10.0)
    beta: Scalar = param(16.0)
    c1: Scalar = param(-1.0 / 6.0)
    c3: Scalar = param(1.0 / 16.0)

    name: ClassVar[str] = "chua"
    variables: ClassVar[tuple[str, ...] | None] = ("x", "y", "z")
    description: ClassVar[str] = "Chua's electronic circuit, dimensionless, cubic nonlinearity"
    dim: ClassVar[int] = 3
    sample_scale: ClassVar[float] = 0.5
    default_dt: ClassVar[float | None] = 0.01

    def vector_field(self, x: Float[Array, "3"]) -> Float[Array, "3"]:
        u, v, w = x[0], x[1], x[2]
        h = self.c3 * u**3 + self.c1 * u
        return jnp.stack([self.alpha * (v - h), u - v + w, -self.beta * v])

    def default_state(self) -> Float[Array, "3"]:
        return jnp.array([1.34120, -0.13730, -1.38220])


class Thomas(Flow):
    """Thomas (1999), "Deterministic chaos seen in terms of feedback circuits",
    Int. J. Bifurc. Chaos 9, 1889-1905.

    dx/dt = sin y - b x (cyclic in x, y, z).

    **Arguments:**

    - `b`: the damping, default 0.18 (chaotic; the value of Sprott 2010, *Elegant Chaos*,
      World Scientific, ch. 3, with exponents (0.0349, 0, -0.5749), reproduced by
      `cj.lyapunov_spectrum`). The exponents sum to -3b. Near b = 0.208186, the onset
      of chaos, the largest is only about 0.006 and some starts settle on a periodic
      orbit.

    Example:

    ```python
    th = cj.systems.Thomas(b=0.2)
    ```
    """

    b: Scalar = param(0.18)

    name: ClassVar[str] = "thomas"
    variables: ClassVar[tuple[str, ...] | None] = ("x", "y", "z")
    description: ClassVar[str] = "Thomas' cyclically symmetric flow of sine feedback circuits"
    dim: ClassVar[int] = 3
    reference_exponents: ClassVar[tuple[float, ...]] = (0.0349, 0.0, -0.5749)
    reference_source: ClassVar[str] = "Sprott (2010), Elegant Chaos, World Scientific, ch. 3"
    sample_scale: ClassVar[float] = 1.0
    default_dt: ClassVar[float | None] = 0.05

    def vector_field(self, x: Float[Array, "3"]) -> Float[Array, "3"]:
        return jnp.sin(jnp.roll(x, -1)) - self.b * x

    def default_state(self) -> Float[Array, "3"]:
        return jnp.array([0.64203, -0.02887, 0.58843])


class Halvorsen(Flow):
    """Halvorsen's cyclically symmetric attractor; Sprott (2010), *Elegant Chaos*, World
    Scientific, eq. (3.8).

    dx/dt = -a x - 4 y - 4 z - y^2 (cyclic in x, y, z).

    **Arguments:**

    - `a`: default 1.27 (chaotic; a = 1.89 is periodic).

    Example:

    ```python
    hal = cj.systems.Halvorsen()
    ```
    """

    a: Scalar = param(1.27)

    name: ClassVar[str] = "halvorsen"
    variables: ClassVar[tuple[str, ...] | None] = ("x", "y", "z")
    description: ClassVar[str] = "Halvorsen's cyclically symmetric attractor"
    dim: ClassVar[int] = 3
    sample_scale: ClassVar[float] = 1.0
    default_dt: ClassVar[float | None] = 0.005

    def vector_field(self, x: Float[Array, "3"]) -> Float[Array, "3"]:
        y = jnp.roll(x, -1)
        z = jnp.roll(x, -2)
        return -self.a * x - 4.0 * y - 4.0 * z - y**2

    def default_state(self) -> Float[Array, "3"]:
        return jnp.array([-6.20863, -5.10646, 4.67292])


class SprottB(Flow):
    """Sprott (1994), "Some simple chaotic flows", Phys. Rev. E 50, R647, case B.

    dx/dt = a y z,  dy/dt = x - y,  dz/dt = 1 - x y.

    **Arguments:**

    - `a`: default 1.

    Example:

    ```python
    sb = cj.systems.SprottB()
    ```
    """

    a: Scalar = param(1.0)

    name: ClassVar[str] = "sprott_b"
    variables: ClassVar[tuple[str, ...] | None] = ("x", "y", "z")
    description: ClassVar[str] = "Sprott's case B, a minimal quadratic chaotic flow"
    dim: ClassVar[int] = 3
    reference_exponents: ClassVar[tuple[float, ...]] = (0.2101, 0.0, -1.2101)
    reference_source: ClassVar[str] = "Sprott (1994), Phys. Rev. E 50, R647, Table I"
    sample_scale: ClassVar[float] = 0.5
    default_dt: ClassVar[float | None] = 0.02

    def vector_field(self, x: Float[Array, "3"]) -> Float[Array, "3"]:
        u, v, w = x[0], x[1], x[2]
        return jnp.stack([self.a * v * w, u - v, 1.0 - u * v])

    def default_state(self) -> Float[Array, "3"]:
        return jnp.array([-0.58970, -0.93330, -0.34090])


class Duffing(Flow):
    """The forced Duffing oscillator in autonomous form, with the forcing phase as a
    third coordinate; Guckenheimer & Holmes (1983), *Nonlinear Oscillations*, sec. 2.2.

    dx/dt = v,  dv/dt = -delta v - alpha x - beta x^3 + gamma cos(theta),  dtheta/dt = omega.
    The phase theta grows without bound by design (`unbounded_coordinates = (2,)`).

    **Arguments:**

    - `delta`: the damping, default 0.3.
    - `alpha`, `beta`: the linear and cubic stiffness, default -1, 1 (double well).
    - `gamma`, `omega`: the forcing amplitude and angular frequency, default 0.5, 1.2.

    Chaotic at the defaults.

    Example:

    ```python
    duf = cj.systems.Duffing(gamma=0.4)
    ```
    """

    delta: Scalar = param(0.3)
    alpha: Scalar = param(-1.0)
    beta: Scalar = param(1.0)
    gamma: Scalar = param(0.5)
    omega: Scalar = param(1.2)

    name: ClassVar[str] = "duffing"
    variables: ClassVar[tuple[str, ...] | None] = ("x", "v", "theta")
    units: ClassVar[tuple[str | None, ...] | None] = (None, None, "rad")
    description: ClassVar[str] = "The forced double-well Duffing oscillator (theta: forcing phase)"
    dim: ClassVar[int] = 3
    sample_scale: ClassVar[float] = 0.3
    default_dt: ClassVar[float | None] = 0.01
    unbounded_coordinates: ClassVar[tuple[int, ...]] = (2,)

    def vector_field(self, x: Float[Array, "3"]) -> Float[Array, "3"]:
        u, v, th = x[0], x[1], x[2]
        dv = -self.delta * v - self.alpha * u - self.beta * u**3 + self.gamma * jnp.cos(th)
        return jnp.stack([v, dv, jnp.ones_like(th) * self.omega])

    def default_state(self) -> Float[Array, "3"]:
        return jnp.array([1.0, 0.0, 0.0])

    def sample_state(self, key, n):
        x = super().sample_state(key, n)
        return x.at[:, 2].set(0.0)


class LinearFlow(Flow):
    """The linear flow dx/dt = A x.

    Its exact Lyapunov exponents are the real parts of the eigenvalues of A, which makes
    it an oracle for the spectrum code, and it is the example with which Budd (2025)
    contrasts learning A from one trajectory by a neural ODE with least squares (C. Budd,
    "Neural ODEs for, and as, dynamical systems", Lecture 7, Seattle, June 2025).

    **Arguments:**

    - `A`: the matrix, shape (n, n); the default ((-0.1, 2), (-2, -0.1)) is a weakly
      damped rotation.

    Example:

    ```python
    lin = cj.systems.LinearFlow(A=jnp.diag(jnp.array([0.5, -1.0])))
    cj.lyapunov_spectrum(lin, lin.default_state(), steps=1_000, dt=0.01).exponents
    # (0.5, -1.0) per unit time
    ```
    """

    A: Float[Array, "n n"] = param(((-0.1, 2.0), (-2.0, -0.1)))

    name: ClassVar[str] = "linear_flow"
    description: ClassVar[str] = "A linear flow dx/dt = A x"
    sample_scale: ClassVar[float] = 1.0

    def __check_init__(self):
        if self.A.ndim != 2 or self.A.shape[0] != self.A.shape[1]:
            raise ValueError(f"`A` must be a square matrix, got shape {self.A.shape}.")

    @property
    def dim(self) -> int:
        return int(self.A.shape[0])

    def vector_field(self, x: Float[Array, " n"]) -> Float[Array, " n"]:
        return self.A @ x

    def jacobian(self, x: Float[Array, " n"]) -> Float[Array, "n n"]:
        return self.A

    def default_state(self) -> Float[Array, " n"]:
        return jnp.ones(self.A.shape[0])


class ReluFlow(PiecewiseSmoothFlow):
    """dx/dt = A1 x + b1 + ReLU(A2 x + b2): the ReLU-type ODE that a one-hidden-layer ReLU
    network gives a neural ODE (C. Budd, "Neural ODEs for, and as, dynamical systems",
    Lecture 7, Seattle, June 2025).

    Continuous, piecewise linear; its Jacobian jumps across A2 x + b2 = 0. The defaults
    (2-D) switch at x_1 = 0 between a stable focus (x_1 < 0, whose equilibrium lies on
    the other side) and an unstable focus (x_1 > 0), giving a limit cycle around it.

    **Arguments:**

    - `A1`, `A2`: (n, n) matrices of the affine and the ReLU part.
    - `b1`, `b2`: (n,) offsets.

    Example:

    ```python
    relu = cj.systems.ReluFlow()
    xs = cj.trajectory(relu, relu.default_state(), steps=2_000, dt=0.01)
    ```
    """

    A1: Float[Array, "n n"] = param(((-3.0, 1.0), (-5.0, 0.0)))
    b1: Float[Array, " n"] = param((0.0, 1.0))
    A2: Float[Array, "n n"] = param(((3.5, 0.0), (2.0, 0.0)))
    b2: Float[Array, " n"] = param((0.0, 0.0))

    name: ClassVar[str] = "relu_flow"
    description: ClassVar[str] = "A continuous piecewise-linear flow (a one-layer ReLU network)"
    sample_scale: ClassVar[float] = 0.5
    default_dt: ClassVar[float | None] = 0.01

    def __check_init__(self):
        n = self.A1.shape[0]
        if self.A1.shape != (n, n) or self.A2.shape != (n, n):
            raise ValueError(
                f"`A1` and `A2` must be square of equal size, got {self.A1.shape}, {self.A2.shape}."
            )
        if self.b1.shape != (n,) or self.b2.shape != (n,):
            raise ValueError(
                f"`b1` and `b2` must have shape ({n},), got {self.b1.shape}, {self.b2.shape}."
            )

    @property
    def dim(self) -> int:
        return int(self.A1.shape[0])

    def switching_function(self, x: Float[Array, " n"]) -> Float[Array, " n"]:
        """A2 x + b2: ReLU j switches where its entry changes sign."""
        return self.A2 @ x + self.b2

    def mode_vector_field(
        self, x: Float[Array, " n"], mode: Bool[Array, " n"]
    ) -> Float[Array, " n"]:
        return self.A1 @ x + self.b1 + jnp.where(mode, self.A2 @ x + self.b2, 0.0)

    def vector_field(self, x: Float[Array, " n"]) -> Float[Array, " n"]:
        # jax.nn.relu rather than the mode form: its derivative at a switching point is 0.
        return self.A1 @ x + self.b1 + jax.nn.relu(self.A2 @ x + self.b2)

    def default_state(self) -> Float[Array, " n"]:
        return jnp.full(self.A1.shape[0], 0.1)


class PiecewiseLinearFlow(PiecewiseSmoothFlow):
    """The normal form of a ReLU-type flow at a switching manifold; di Bernardo, Budd,
    Champneys & Kowalczyk (2008), *Piecewise-smooth Dynamical Systems*, Springer.

        dx/dt = A1 x + mu b   if c.x < 0,
        dx/dt = A2 x + mu b   if c.x >= 0.

    Continuous across c.x = 0 when A1 and A2 differ only in the column along c.
    Presets: `PiecewiseLinearFlow.fp_to_limit_cycle(mu)` and
    `PiecewiseLinearFlow.fp_to_chaos(mu)`, the two examples of C. Budd, "Neural ODEs
    for, and as, dynamical systems", Lecture 7, Seattle, June 2025.

    **Arguments:**

    - `A1`, `A2`: (n, n) matrices on the two sides of the switching manifold.
    - `b`: (n,) direction of the offset; `c`: (n,) normal of the manifold c.x = 0.
    - `mu`: the bifurcation parameter (a scalar), default -1.

    Example:

    ```python
    pwl = cj.systems.PiecewiseLinearFlow.fp_to_limit_cycle(mu=0.5)
    xs = cj.trajectory(pwl, pwl.default_state(), steps=2_000, dt=0.01)
    ```
    """

    A1: Float[Array, "n n"] = param(((-1.0, 1.0), (-1.0, 0.0)))
    A2: Float[Array, "n n"] = param(((2.0, 1.0), (-5.0, 0.0)))
    b: Float[Array, " n"] = param((0.0, 1.0))
    c: Float[Array, " n"] = param((1.0, 0.0))
    mu: Scalar = param(-1.0)

    name: ClassVar[str] = "piecewise_linear_flow"
    description: ClassVar[str] = "A piecewise-linear flow with one switching plane"
    sample_scale: ClassVar[float] = 0.5
    default_dt: ClassVar[float | None] = 0.01

    def __check_init__(self):
        n = self.A1.shape[0]
        if self.A1.shape != (n, n) or self.A2.shape != (n, n):
            raise ValueError(
                f"`A1` and `A2` must be square of equal size, got {self.A1.shape}, {self.A2.shape}."
            )
        if self.b.shape != (n,) or self.c.shape != (n,):
            raise ValueError(
                f"`b` and `c` must have shape ({n},), got {self.b.shape}, {self.c.shape}."
            )

    @classmethod
    def fp_to_limit_cycle(cls, mu: float = -1.0) -> PiecewiseLinearFlow:
        """Budd's (2025) "FP -> limit cycle" example: a stable focus for c.x < 0 and an
        unstable one for c.x >= 0.

        **Arguments:**

        - `mu`: the bifurcation parameter, default -1 (a stable equilibrium); a limit
          cycle exists for mu > 0.

        **Returns:**

        A 2-D `PiecewiseLinearFlow`.

        Example:

        ```python
        pwl = cj.systems.PiecewiseLinearFlow.fp_to_limit_cycle(mu=0.5)
        ```
        """
        return cls(
            A1=jnp.asarray(((-1.0, 1.0), (-1.0, 0.0))),
            A2=jnp.asarray(((2.0, 1.0), (-5.0, 0.0))),
            b=jnp.asarray((0.0, 1.0)),
            c=jnp.asarray((1.0, 0.0)),
            mu=jnp.asarray(mu),
        )

    @classmethod
    def fp_to_chaos(cls, mu: float = 1.0) -> PiecewiseLinearFlow:
        """Budd's (2025) "FP -> chaos" example, with the matrices exactly as printed in
        the lecture notes (companion form).

        As printed they diverge from small states; docs/bifurcation.md shows what
        computation finds.

        **Arguments:**

        - `mu`: the bifurcation parameter, default 1.

        **Returns:**

        A 3-D `PiecewiseLinearFlow`.

        Example:

        ```python
        pwl = cj.systems.PiecewiseLinearFlow.fp_to_chaos(mu=1.0)
        ```
        """
        return cls(
            A1=jnp.asarray(((0.8, 1.0, 0.0), (0.57, 0.0, 1.0), (-0.09, 0.0, 0.0))),
            A2=jnp.asarray(((0.1, 1.0, 0.0), (-0.2, 0.0, 1.0), (-60.0, 0.0, 0.0))),
            b=jnp.asarray((0.0, 0.0, 1.0)),
            c=jnp.asarray((1.0, 0.0, 0.0)),
            mu=jnp.asarray(mu),
        )

    @property
    def dim(self) -> int:
        return int(self.A1.shape[0])

    def switching_function(self, x: Float[Array, " n"]) -> Float[Array, ""]:
        """c.x: the flow switches where it changes sign."""
        return self.c @ x

    def mode_vector_field(
        self, x: Float[Array, " n"], mode: Bool[Array, " 1"]
    ) -> Float[Array, " n"]:
        return jnp.where(mode[0], self.A2, self.A1) @ x + self.mu * self.b

    def default_state(self) -> Float[Array, " n"]:
        return jnp.full(self.A1.shape[0], 0.1)
