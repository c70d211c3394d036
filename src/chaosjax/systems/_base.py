"""Base classes of every system: `Flow` (continuous time) and `Map` (discrete time).

Systems are equinox Modules. Their numeric parameters are array leaves (never
static), so `jit`, `vmap` over parameters and `grad` with respect to them all
work without special code. Integer structure (a delay, a number of sites) is
static and fixes the state dimension.
"""

from __future__ import annotations

import abc
import dataclasses
import functools
import inspect
from typing import Any, ClassVar, TypeGuard

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float, Int

from .._validate import positive_int, prng_key, unknown_name


class _NotANumber:
    """A parameter value that is not a number (a string, None, ...): kept by the
    converter so that `__check_init__` can name the field (a converter cannot)."""

    def __init__(self, value: Any):
        self.value = value


def _as_float(value: Any) -> Any:
    if isinstance(value, (str, bytes, dict, type(None))):
        return _NotANumber(value)
    try:
        x = jnp.asarray(value)
    except (TypeError, ValueError):
        return _NotANumber(value)
    if not (jnp.issubdtype(x.dtype, jnp.number) or x.dtype == jnp.bool_):
        return _NotANumber(value)
    if jnp.issubdtype(x.dtype, jnp.complexfloating):
        # Kept: the algorithms name a complex parameter of the system they are given.
        return x
    # A strong (not weak) float dtype: float64 once `cj.enable_x64()` has run.
    return x.astype(jnp.result_type(float))


def param(default: Any) -> Any:
    """A numeric parameter of a system: an equinox field stored as a float array leaf.

    The value is converted on construction (a Python float, a nested tuple, an array), so
    `jit`, `vmap` and `grad` see the parameter as an array and never recompile for a new
    value. Structural integers (a delay, a size) are `eqx.field(static=True)` instead.

    **Arguments:**

    - `default`: the default value, a scalar or a nested tuple of numbers (a matrix).

    **Returns:**

    An `eqx.field` with that default and a float-array converter.

    Example:

    ```python
    class Decay(cj.Flow):
        k: float = cj.systems.param(0.5)

        def vector_field(self, x):
            return -self.k * x

        def default_state(self):
            return jnp.ones(2)

    jax.grad(lambda s: s.vector_field(jnp.ones(2)).sum())(Decay()).k   # -2.0
    ```
    """
    return eqx.field(default=default, converter=_as_float)


def class_metadata(cls: type, key: str, default: Any) -> Any:
    """The class-level metadata `key` of `cls`; `default` when a class declares `key` as
    a field of its own (a user's parameter called `units` is not the metadata)."""
    for klass in cls.__mro__:
        annotations = klass.__dict__.get("__annotations__", {})
        if key in annotations:
            if "ClassVar" not in str(annotations[key]):
                return default
            break
    return getattr(cls, key, default)


def _check_metadata(cls: type) -> None:
    """Class-level checks of the naming metadata when a system class is defined: a
    `ValueError` naming the class for names that are not distinct non-empty strings,
    units that are not strings or None, or lengths that contradict a fixed `dim`."""
    where = f"{cls.__module__}.{cls.__qualname__}"
    names = class_metadata(cls, "variables", None)
    units = class_metadata(cls, "units", None)
    if names is not None:
        if (
            not isinstance(names, tuple)
            or not names
            or not all(isinstance(n, str) and n.strip() for n in names)
        ):
            raise ValueError(
                f"`variables` of {where} must be a tuple of non-empty strings, got {names!r}."
            )
        if len(set(names)) != len(names):
            raise ValueError(f"`variables` of {where} must be distinct, got {names!r}.")
    if units is not None and (
        not isinstance(units, tuple) or not all(u is None or isinstance(u, str) for u in units)
    ):
        raise ValueError(
            f"`units` of {where} must be a tuple of strings or None (dimensionless), got {units!r}."
        )
    fixed = cls.__dict__.get("dim")
    if isinstance(fixed, int):
        for what, value in (("variables", names), ("units", units)):
            if value is not None and len(value) != fixed:
                raise ValueError(
                    f"`{what}` of {where} must have {fixed} entries (dim = {fixed}), "
                    f"got {len(value)}: {value!r}."
                )
    description = class_metadata(cls, "description", "")
    if not isinstance(description, str):
        raise ValueError(f"`description` of {where} must be a str, got {description!r}.")


def parameter_names(cls: type) -> tuple[str, ...]:
    """The names a system class takes as parameters: its dataclass fields (numeric
    parameters and structural integers such as `n`), never its class-level metadata
    (`dim`, `name`, `variables`, ...)."""
    return tuple(f.name for f in dataclasses.fields(cls))


def check_parameter_name(cls: type, key: str) -> None:
    """A `ValueError` naming `key` and listing the real parameters of `cls` when `key`
    is not one of them (class metadata such as `dim` included)."""
    names = parameter_names(cls)
    if key in names:
        return
    if not names:
        raise ValueError(f"{cls.__name__} has no parameters; got `{key}`.")
    if hasattr(cls, key):
        kind = "a property" if isinstance(getattr(cls, key, None), property) else "metadata"
        raise ValueError(
            f"`{key}` is not a parameter of {cls.__name__} (it is {kind} of the class, "
            f"fixed by its definition); its parameters are: {', '.join(sorted(names))}."
        )
    raise unknown_name(key, names, f"Parameter of {cls.__name__}:")


def _check_parameters(system: Any) -> None:
    """Every numeric parameter of `system`: a number or array of them, with its
    default's number of axes (a scalar stays a scalar; a matrix may change size with
    the dimension); else a `ValueError` naming the field."""
    for f in dataclasses.fields(system):
        value = getattr(system, f.name, None)
        what = f"`{f.name}` (a parameter of {type(system).__name__})"
        if isinstance(value, _NotANumber):
            raise ValueError(f"{what} must be a real number or array of them, got {value.value!r}.")
        if value is None or f.metadata.get("converter") is not _as_float:
            continue
        if not hasattr(value, "ndim"):
            continue
        default = f.default
        if default is dataclasses.MISSING or default is None:
            continue
        want = np.ndim(default)
        if value.ndim != want:
            shape = "a scalar" if want == 0 else f"{want}-D (default shape {np.shape(default)})"
            raise ValueError(f"{what} must be {shape}, got shape {tuple(value.shape)}.")


def _after_parameter_checks(check: Any) -> Any:
    """A subclass's `__check_init__`, run after `_check_parameters`."""

    @functools.wraps(check)
    def __check_init__(self):
        _check_parameters(self)
        check(self)

    __check_init__._checks_arguments = True  # type: ignore[attr-defined]
    return __check_init__


def _checked_sample_state(fn: Any) -> Any:
    """`fn` (a `sample_state`) with `key` and `n` checked first."""

    @functools.wraps(fn)
    def sample_state(self, key, n):
        return fn(self, prng_key(key), positive_int(n, "n"))

    sample_state._checks_arguments = True  # type: ignore[attr-defined]
    return sample_state


class _System(eqx.Module):
    """What flows and maps share: metadata, states, parameters."""

    #: Short catalogue name ("lorenz63").
    name: ClassVar[str] = ""
    #: Literature Lyapunov exponents at the default parameters, or None.
    reference_exponents: ClassVar[tuple[float, ...] | None] = None
    #: Where `reference_exponents` come from.
    reference_source: ClassVar[str] = ""
    #: Standard deviation of the perturbation `sample_state` adds to `default_state`.
    sample_scale: ClassVar[float] = 1.0
    #: Names of the state variables as the source paper writes them ("x", "y", "z"), or
    #: None for the generic u1, ..., un (`variable_names()` always gives a tuple).
    variables: ClassVar[tuple[str, ...] | None] = None
    #: Units of each state variable (None entries: dimensionless), or None when all are.
    units: ClassVar[tuple[str | None, ...] | None] = None
    #: Unit of the time of a flow (e.g. "s"), or None for a nondimensional time.
    time_units: ClassVar[str | None] = None
    #: One line saying what the system models ("" for the docstring's first paragraph).
    description: ClassVar[str] = ""
    #: Indices of coordinates that grow without bound by design (phases).
    unbounded_coordinates: ClassVar[tuple[int, ...]] = ()
    #: Whether the state is a delay vector (x_{n-1}, ..., x_{n-d}) of one observed
    #: variable, most recent first: lag sensitivities are defined for such a map.
    delay_coordinates: ClassVar[bool] = False

    def __check_init__(self):
        _check_parameters(self)

    def __init_subclass__(cls, **kwargs: Any):
        super().__init_subclass__(**kwargs)
        _check_metadata(cls)
        # A subclass's own `sample_state` gets the argument checks of the base one, and
        # its own `__check_init__` runs after the parameter checks (equinox runs the
        # subclass's first, which would meet a string where it expects an array).
        own = cls.__dict__.get("sample_state")
        if own is not None and not getattr(own, "_checks_arguments", False):
            cls.sample_state = _checked_sample_state(own)  # type: ignore[method-assign]
        check = cls.__dict__.get("__check_init__")
        if check is not None and not getattr(check, "_checks_arguments", False):
            cls.__check_init__ = _after_parameter_checks(check)  # type: ignore[method-assign]

    @property
    def dim(self) -> int:
        """Dimension of the state vector."""
        return int(self.default_state().shape[-1])

    @abc.abstractmethod
    def default_state(self) -> Float[Array, " dim"]:
        """A state on (or very near) the attractor at the default parameters."""

    def sample_state(self, key: object, n: object) -> Float[Array, "n dim"]:
        """`n` initial states: `default_state()` plus Gaussian noise of size `sample_scale`.

        The states are near, not on, the attractor; simulations discard a transient.
        `key` must be one PRNG key and `n` a positive int (`ValueError` naming them).
        """
        checked, n = prng_key(key), positive_int(n, "n")
        x = self.default_state()
        noise = jax.random.normal(checked, (n, x.shape[-1]), dtype=x.dtype)
        return x[None, :] + self.sample_scale * noise

    def parameters(self) -> dict[str, jax.Array]:
        """The numeric parameters (non-static fields) by name."""
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if not f.metadata.get("static", False)
        }

    def static_parameters(self) -> dict[str, Any]:
        """The structural (static) fields by name, e.g. a delay `d` or a size `n`."""
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.metadata.get("static", False)
        }

    def variable_names(self) -> tuple[str, ...]:
        """The state variables' names: `variables` (the source's names), else the generic
        u1, ..., un; a `ValueError` when `variables` does not have `dim` entries."""
        names = class_metadata(type(self), "variables", None)
        if names is None:
            return tuple(f"u{i + 1}" for i in range(self.dim))
        if len(names) != self.dim:
            raise ValueError(
                f"`variables` of {type(self).__name__} must name each of its {self.dim} "
                f"state variables, got {len(names)}: {names!r}."
            )
        return tuple(names)

    def variable_units(self) -> tuple[str | None, ...]:
        """The unit of each state variable (None: dimensionless), from `units`."""
        units = class_metadata(type(self), "units", None)
        if units is None:
            return (None,) * self.dim
        if len(units) != self.dim:
            raise ValueError(
                f"`units` of {type(self).__name__} must give one unit (or None) for each of "
                f"its {self.dim} state variables, got {len(units)}: {units!r}."
            )
        return tuple(units)

    def describe(self) -> str:
        """`description`, else the first paragraph of the class docstring (`summary()`)."""
        return class_metadata(type(self), "description", "") or self.summary()

    def at_defaults(self) -> bool:
        """Whether every parameter has its class default, so that `reference_exponents`
        (quoted at the defaults) apply; False for a class without defaults."""
        try:
            default = type(self)()
        except Exception:  # noqa: BLE001 - a user's class without defaults
            return False
        if self.static_parameters() != default.static_parameters():
            return False
        ours, theirs = self.parameters(), default.parameters()
        return all(np.array_equal(np.asarray(v), np.asarray(theirs[k])) for k, v in ours.items())

    @classmethod
    def summary(cls) -> str:
        """The first paragraph of the class docstring on one line ("" for none)."""
        if not cls.__doc__:
            return ""
        return " ".join(inspect.cleandoc(cls.__doc__).split("\n\n")[0].split())

    def replace(self, **changes: Any):
        """A copy with some parameters changed; unknown names raise `ValueError`.

        **Arguments:**

        - `**changes`: field name -> new value.

        **Returns:**

        The new system (the original is unchanged).

        Example:

        ```python
        lor30 = cj.systems.Lorenz63().replace(rho=30.0)
        ```
        """
        for key in changes:
            check_parameter_name(type(self), key)
        return dataclasses.replace(self, **changes)

    # ------------------------------------------------------------ observation
    # A learned model's state need not be the observed state: an echo-state network
    # carries a reservoir, a next-generation reservoir computer a stack of delayed
    # observations. These three methods say how states and observations relate, so
    # that forecasts from a model and runs of the true system can be compared in the
    # coordinates both share. For a system whose state is what is observed (every
    # catalogue system, a neural ODE, SINDy, a delay MLP on delay vectors) the
    # defaults apply.

    @property
    def history_length(self) -> int:
        """How many consecutive observations `synchronise` needs (1 by default)."""
        return 1

    def observe(self, x: Float[Array, " dim"]) -> Float[Array, " obs"]:
        """The observed quantities of state `x` (the state itself by default)."""
        return x

    def synchronise(self, history: Float[Array, "history obs"]) -> Float[Array, " dim"]:
        """The state at the time of the last row of `history`, a run of
        `history_length` consecutive observations (by default that last row).

        A model whose state is hidden (a reservoir) is driven by the observations here
        and returns its state at the last one, so that `observe(step(...))` continues
        the observed run.
        """
        return history[-1]

    @property
    def kind(self) -> str:
        """The kind of system: "flow" or "map"."""
        return "flow" if isinstance(self, Flow) else "map"


class Flow(_System):
    """A continuous-time system dx/dt = f(x).

    Subclass it, declare the parameters as fields with `cj.systems.param`, and implement
    `vector_field(x)` and `default_state()`; `jacobian(x)` may be given analytically
    (else forward-mode autodiff). A flow becomes a one-step map with `cj.discretize`.
    Class variables carry the metadata: `name`, `variables` (the state variables'
    names, e.g. ("x", "y", "z"); default u1, ..., un), `units` (one per variable, None
    for dimensionless), `time_units`, `description`, `reference_exponents` (per unit
    time) with their `reference_source`, `sample_scale`, `unbounded_coordinates`.

    A flow whose field depends on time (non-autonomous forcing, dx/dt = f(t, x)) defines
    `vector_field(self, t, x)` instead: the two-argument signature is read once, when the
    class is created, and sets `time_dependent = True`. `cj.trajectory`,
    `cj.final_state`, `cj.time_average`, `cj.lyapunov_spectrum` and `cj.max_lyapunov`
    integrate such a flow from t = 0 (the time runs on across the transient);
    `cj.StroboscopicMap` and `cj.PoincareMap` turn it into a map for everything else.

    Example:

    ```python
    class MyFlow(cj.Flow):
        a: float = cj.systems.param(0.2)
        variables = ("p", "q")

        def vector_field(self, x):
            return -self.a * x

        def default_state(self):
            return jnp.ones(2)

    xs = cj.trajectory(MyFlow(), jnp.ones(2), steps=100, dt=0.01)

    class Forced(cj.Flow):                       # time-dependent: vector_field(t, x)
        def vector_field(self, t, x):
            return jnp.stack([x[1], -x[0] + jnp.cos(t)])

        def default_state(self):
            return jnp.zeros(2)

    Forced.time_dependent                        # True
    ```
    """

    #: Whether `vector_field` takes the time, `vector_field(t, x)`; set from its
    #: signature when the class is created (a subclass may also set it explicitly).
    time_dependent: ClassVar[bool] = False
    #: The time step used when `dt` is omitted (as dysts carries one per system), or
    #: None: then `dt` must be given.
    default_dt: ClassVar[float | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "vector_field" in cls.__dict__ and "time_dependent" not in cls.__dict__:
            cls.time_dependent = _takes_time(cls.__dict__["vector_field"])

    @abc.abstractmethod
    def vector_field(self, x: Float[Array, " dim"]) -> Float[Array, " dim"]:
        """dx/dt at state `x` (`vector_field(t, x)` for a time-dependent flow)."""

    def field_at(self, t: Any, x: Float[Array, " dim"]) -> Float[Array, " dim"]:
        """dx/dt at time `t` and state `x`, whether or not the flow depends on time."""
        if self.time_dependent:
            return self.vector_field(t, x)  # pyright: ignore[reportCallIssue]
        return self.vector_field(x)

    def jacobian(self, x: Float[Array, " dim"]) -> Float[Array, "dim dim"]:
        """Jacobian of the vector field at `x` (forward-mode autodiff unless overridden;
        at t = 0 for a time-dependent flow)."""
        if self.time_dependent:
            return jax.jacfwd(lambda y: self.field_at(0.0, y))(x)
        return jax.jacfwd(self.vector_field)(x)

    def divergence(self, x: Float[Array, " dim"]) -> Float[Array, ""]:
        """Trace of the Jacobian: the local rate of phase-space volume change."""
        return jnp.trace(self.jacobian(x))


def _takes_time(method: Any) -> bool:
    """Whether `vector_field` is written `(self, t, x)`: two required positional
    arguments after `self` (an optional third, `(self, x, args=None)`, is not a time)."""
    try:
        params = inspect.signature(method).parameters.values()
    except (TypeError, ValueError):
        return False
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return len([p for p in params if p.kind in kinds and p.default is p.empty]) == 3


def is_time_dependent(system: object) -> TypeGuard[Flow]:
    """Whether `system` is a flow whose vector field depends on time."""
    return isinstance(system, Flow) and system.time_dependent


class Map(_System):
    """A discrete-time system x_{n+1} = F(x_n).

    Implement `step(x)` and `default_state()`; optionally `jacobian(x)` (else autodiff
    is used). An invertible map subclasses `InvertibleMap`, a map driven by an input
    sequence `DrivenMap`. Lyapunov exponents of a map are per iteration
    (`time_per_step` is 1); a discretised flow is a `Map` whose `time_per_step` is `dt`.

    Example:

    ```python
    class Doubling(cj.Map):
        def step(self, x):
            return jnp.mod(2.0 * x, 1.0)

        def default_state(self):
            return jnp.array([0.1234])

    cj.max_lyapunov(Doubling(), jnp.array([0.1234]), steps=40)   # ln 2 per iteration
    ```
    """

    @property
    def time_per_step(self) -> float:
        """Time represented by one iteration: 1 for maps (exponents per iteration),
        `dt` for a discretised flow (exponents per unit time)."""
        return 1.0

    @property
    def manifold_dim(self) -> int:
        """The dimension of the set the map's states live on, and so the number of
        Lyapunov exponents computed by default: `dim`, or `dim - 1` for a
        `cj.PoincareMap` (its states lie on the section)."""
        return self.dim

    @abc.abstractmethod
    def step(self, x: Float[Array, " dim"]) -> Float[Array, " dim"]:
        """The next state F(x)."""

    def jacobian(self, x: Float[Array, " dim"]) -> Float[Array, "dim dim"]:
        """DF(x) (forward-mode autodiff unless a subclass gives it analytically)."""
        return jax.jacfwd(self.step)(x)

    @property
    def has_inverse(self) -> bool:
        """Whether `inverse_step` exists for this map (see `InvertibleMap`)."""
        return False

    @property
    def has_analytic_jacobian(self) -> bool:
        """Whether a subclass overrides `jacobian` (else it comes from autodiff)."""
        return type(self).jacobian is not Map.jacobian


class InvertibleMap(Map):
    """A map with a closed-form inverse: implement `inverse_step(x)` as well as `step(x)`.

    Inverted-map spectra (`cj.lyapunov_spectrum(..., inverse=True)`) and backward lag
    sensitivities use the inverse's derivative directly; other maps solve with the
    forward Jacobian.

    Example:

    ```python
    class Shear(cj.systems.InvertibleMap):
        def step(self, x):
            return jnp.stack([x[0] + x[1], x[1]])

        def inverse_step(self, x):
            return jnp.stack([x[0] - x[1], x[1]])

        def default_state(self):
            return jnp.array([0.1, 0.2])
    ```
    """

    @abc.abstractmethod
    def inverse_step(self, x: Float[Array, " dim"]) -> Float[Array, " dim"]:
        """The previous state F^{-1}(x)."""

    @property
    def has_inverse(self) -> bool:
        """True: `inverse_step` exists."""
        return True


class DrivenMap(Map):
    """A map driven by an input sequence, x_{n+1} = F(x_n, u_n) (e.g. a recurrent network).

    Implement `driven_step(x, u)` and `n_inputs`; `step(x)` is the autonomous map with
    zero input unless overridden. `cj.lyapunov_spectrum(system, x0, ..., inputs=us)`
    computes the spectrum of the driven (non-autonomous) map for an input sequence `us`
    of shape (steps, n_inputs).

    Example:

    ```python
    rnn = cj.systems.RNN.random(jax.random.key(0), 8, n_inputs=1)
    rnn.driven_step(rnn.default_state(), jnp.ones(1))
    ```
    """

    @property
    @abc.abstractmethod
    def n_inputs(self) -> int:
        """Length of one input vector u_n."""

    @abc.abstractmethod
    def driven_step(
        self, x: Float[Array, " dim"], u: Float[Array, " n_inputs"]
    ) -> Float[Array, " dim"]:
        """The next state F(x, u)."""

    def step(self, x: Float[Array, " dim"]) -> Float[Array, " dim"]:
        """The autonomous map: `driven_step` with zero input."""
        return self.driven_step(x, jnp.zeros(self.n_inputs, x.dtype))


class PiecewiseSmoothFlow(Flow):
    """A flow that is smooth inside regions bounded by switching manifolds s_j(x) = 0.

    Implement `switching_function(x)` (the m values s_j, or a scalar for one manifold)
    and `mode_vector_field(x, mode)`: the smooth field of the region `mode`
    (mode_j = s_j(x) >= 0), extended past its region so that a step can be integrated in
    one mode up to the crossing. `vector_field` follows from them. Such a flow can be
    discretised with its crossings located inside each step (`solver="event"`), which
    keeps fourth order and puts the saltation matrix into the tangent map (di Bernardo,
    Budd, Champneys & Kowalczyk 2008, *Piecewise-smooth Dynamical Systems*, sec. 2.5).

    Example:

    ```python
    class Relay(cj.PiecewiseSmoothFlow):
        def switching_function(self, x):
            return x[0]

        def mode_vector_field(self, x, mode):
            return jnp.stack([x[1], jnp.where(mode[0], -1.0, 1.0) - 0.1 * x[1]])

        def default_state(self):
            return jnp.array([0.5, 0.0])

    m = cj.event_map(Relay(), dt=0.01)        # crossings located inside each step
    ```
    """

    @abc.abstractmethod
    def switching_function(self, x: Float[Array, " dim"]) -> Float[Array, "*m"]:
        """s(x): the flow switches where an entry changes sign."""

    @abc.abstractmethod
    def mode_vector_field(
        self, x: Float[Array, " dim"], mode: Bool[Array, " m"]
    ) -> Float[Array, " dim"]:
        """The smooth field of region `mode`, valid beyond it."""

    def switching(self, x: Float[Array, " dim"]) -> Float[Array, " m"]:
        """The switching functions as a vector (m,)."""
        return jnp.atleast_1d(self.switching_function(x))

    def mode(self, x: Float[Array, " dim"]) -> Bool[Array, " m"]:
        """The region of `x`: mode_j = s_j(x) >= 0."""
        return self.switching(x) >= 0

    def vector_field(self, x: Float[Array, " dim"]) -> Float[Array, " dim"]:
        """The field of the region `x` lies in."""
        return self.mode_vector_field(x, self.mode(x))


class FilippovFlow(PiecewiseSmoothFlow):
    """A piecewise-smooth flow with one switching surface h(x) = 0 across which the field
    jumps, so that solutions may slide on the surface (Filippov 1988, *Differential
    Equations with Discontinuous Righthand Sides*, Kluwer; di Bernardo, Budd, Champneys &
    Kowalczyk 2008, *Piecewise-smooth Dynamical Systems*, Springer, ch. 2).

    Implement `switching_function(x)` (the scalar h) and `mode_vector_field(x, mode)`
    as for `PiecewiseSmoothFlow`: f- = mode_vector_field(x, [False]) on h < 0 and
    f+ = mode_vector_field(x, [True]) on h >= 0. With the normal components
    n- = h'(x).f-(x) and n+ = h'(x).f+(x), a point of the surface is

    - a crossing point where n- n+ > 0 (the orbit passes through);
    - attracting sliding where n- > 0 > n+ (both fields push into the surface): the
      orbit then follows Filippov's convex combination
      f_s = (1 - a) f- + a f+, a = n- / (n- - n+), which is tangent to the surface
      (h'.f_s = 0), until n- or n+ changes sign (the sliding region's boundary);
    - repelling sliding where n- < 0 < n+ (both fields point away): the forward
      solution is not unique there. chaosjax's integrator leaves along the side that
      `mode(x)` picks (f+ where h(x) >= 0), the convention of `PiecewiseSmoothFlow`.

    `cj.event_map` (and `solver="event"`) integrates such a flow with entry into and
    exit from sliding located inside the step; its tangent map carries the saltation
    matrices of entering and leaving sliding (di Bernardo et al. 2008, sec. 2.5).

    Example:

    ```python
    class Relay(cj.systems.FilippovFlow):
        def switching_function(self, x):
            return x[1]

        def mode_vector_field(self, x, mode):
            return jnp.stack([jnp.ones(()), jnp.where(mode[0], -1.0, 1.0)])

        def default_state(self):
            return jnp.array([0.0, -0.5])

    Relay().sliding_vector_field(jnp.zeros(2))     # [1, 0]: slides along x2 = 0
    ```
    """

    @abc.abstractmethod
    def switching_function(self, x: Float[Array, " dim"]) -> Float[Array, "*m"]:
        """h(x): a scalar, the switching surface is h = 0."""

    def _h(self, x: Float[Array, " dim"]) -> Float[Array, ""]:
        return jnp.reshape(self.switching_function(x), ())

    def _parts(self, x: Float[Array, " dim"]):
        """h'(x), f-(x), f+(x), evaluated once for everything derived from them."""
        grad = jax.grad(self._h)(x)
        minus = self.mode_vector_field(x, jnp.zeros(1, bool))
        plus = self.mode_vector_field(x, jnp.ones(1, bool))
        return grad, minus, plus

    def normal_components(self, x: Float[Array, " dim"]) -> Float[Array, "2"]:
        """(n-, n+) = (h'(x).f-(x), h'(x).f+(x)): the fields' rates of change of h."""
        grad, minus, plus = self._parts(x)
        return jnp.stack([grad @ minus, grad @ plus])

    def sliding_kind(self, x: Float[Array, " dim"]) -> Int[Array, ""]:
        """What the surface is at x (wherever h(x) = 0): 1 attracting sliding
        (n- > 0 > n+), -1 repelling sliding (n- < 0 < n+), 0 crossing."""
        n = self.normal_components(x)
        return jnp.where((n[0] > 0) & (n[1] < 0), 1, jnp.where((n[0] < 0) & (n[1] > 0), -1, 0))

    def sliding_coefficient(self, x: Float[Array, " dim"]) -> Float[Array, ""]:
        """a = n- / (n- - n+), in [0, 1] on the sliding region (Filippov's convex
        combination f_s = (1 - a) f- + a f+ is then tangent to the surface)."""
        n = self.normal_components(x)
        return _filippov_coefficient(n[0], n[1])

    def sliding_vector_field(self, x: Float[Array, " dim"]) -> Float[Array, " dim"]:
        """f_s = (1 - a) f- + a f+ with a = n- / (n- - n+): h'.f_s = 0 (Filippov 1988;
        di Bernardo et al. 2008, ch. 2)."""
        grad, minus, plus = self._parts(x)
        a = _filippov_coefficient(grad @ minus, grad @ plus)
        return (1.0 - a) * minus + a * plus


def _filippov_coefficient(n_minus: Array, n_plus: Array) -> Array:
    den = n_minus - n_plus
    return n_minus / jnp.where(den != 0, den, 1.0)
