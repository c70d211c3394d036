"""Sensitivity of long-time averages by shadowing, or their whole linear response.

For a chaotic system the derivative of a finite-time average explodes with the
horizon (`sensitivity_blowup_table`), yet `d<S>/dp` of the long-time average exists
for uniformly hyperbolic (and, in practice, for many non-uniformly hyperbolic)
systems. Shadowing methods find, among all tangent solutions v_k = dx_k/dp, the one
that stays bounded -- the derivative of a *shadowing* orbit -- and average the
observable's linearisation along it: least-squares shadowing (`LSS`, `lss.py`) and its
non-intrusive variant on the unstable subspace (`NILSS`, `nilss.py`). Space-split
sensitivity (`S3`, `linear_response.py`) adds the change of the invariant density along
the unstable manifold that shadowing misses.

`shadowing_sensitivity` does what the methods share (the map, the transient, the
windows, the standard error) and asks its `method` for one estimate per window
(`method.py`). The standard error comes from `segments` consecutive, independent
windows of the orbit (times the number of initial conditions when `x0` is batched).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .. import _validate as v
from .._divergence import blame_non_finite
from .._results import Dims, Result
from ..systems import Flow, Map
from ._common import (
    ParamPath,
    check_scalar_observable,
    parameter_getter,
    scalar_observable,
)
from .finite_time import prepare_map, spin_up
from .linear_response import S3
from .lss import LSS
from .method import AbstractSensitivityMethod, Windows
from .nilss import NILSS

#: The string shorthands of `method`, each for the method with its default options.
METHODS: dict[str, Callable[[], AbstractSensitivityMethod]] = {
    "lss": LSS,
    "nilss": NILSS,
    "s3": S3,
}


def _as_method(method: object) -> AbstractSensitivityMethod:
    if isinstance(method, AbstractSensitivityMethod):
        return method
    if not isinstance(method, str):
        raise ValueError(
            "`method` must be a sensitivity method (cj.LSS(), cj.NILSS(), cj.S3()) or one "
            f"of {list(METHODS)}, got {method!r}."
        )
    return METHODS[v.one_of(method, "method", METHODS)]()


class ShadowingSensitivity(Result):
    """`d<S>/dp` of a long-time average by shadowing, or S3's whole linear response (what
    `shadowing_sensitivity` returns); `print(res)` summarises it.

    **Attributes:**

    - `derivative`: the mean of `estimates`.
    - `standard_error`: std(estimates, ddof=1) / sqrt(len(estimates)) (NaN for one).
    - `estimates`: (windows,), one estimate per independent window of the orbit.
    - `average`: `<S>`, the time average over all windows.
    - `method`: "lss", "nilss" or "s3"; `num_unstable`: u for NILSS and S3 (None for
      LSS).
    - `steps_per_window`, `time_per_window`: each window's length in steps and time.
    - `alpha`: the time-dilation weight (LSS on flows), else None.
    - `parts`: S3 only, the window means of its three contributions (shadowing-like,
      flow direction, unstable), which sum to `derivative`; else None.
    """

    derivative: Float[Array, ""]
    standard_error: Float[Array, ""]
    estimates: Float[Array, " windows"]
    average: Float[Array, ""]
    method: str = eqx.field(static=True)
    steps_per_window: int = eqx.field(static=True)
    time_per_window: float = eqx.field(static=True)
    num_unstable: int | None = eqx.field(static=True, default=None)
    alpha: float | None = eqx.field(static=True, default=None)
    parts: Float[Array, "3"] | None = None

    _xarray_dims: ClassVar[dict[str, Dims]] = {"estimates": ("window",), "parts": ("part",)}

    def __str__(self) -> str:
        extra = ""
        if self.parts is not None:
            sh, fl, un = (float(v) for v in self.parts)
            extra = f"; parts: shadowing {sh:.5f}, flow direction {fl:.5f}, unstable {un:.5f}"
        return (
            f"d<S>/dp = {float(self.derivative):.5f} +- {float(self.standard_error):.5f} "
            f"({self.method}, {self.estimates.shape[0]} windows of "
            f"{self.steps_per_window} steps, T = {self.time_per_window:g}; "
            f"<S> = {float(self.average):.5f}{extra})"
        )


@eqx.filter_jit
def _window_starts(m: Map, xb: Array, n_windows: int, n: int) -> Array:
    """(batch, windows, dim): the first state of each window of n steps."""

    def one(x):
        def body(y, _):
            return jax.lax.fori_loop(0, n, lambda i, z: m.step(z), y), y

        return jax.lax.scan(body, x, None, length=n_windows)[1]

    return jax.vmap(one)(xb)


# --------------------------------------------------------------------------- public API


def shadowing_sensitivity(
    system: Flow | Map,
    param: ParamPath,
    observable: Callable[[Array], ArrayLike],
    x0: Float[ArrayLike, "*batch dim"],
    *,
    steps: int,
    dt: float | None = None,
    solver: str = "rk4",
    transient: int = 0,
    segments: int = 8,
    method: AbstractSensitivityMethod | str = "lss",
) -> ShadowingSensitivity:
    """`d<S>/dp` of the long-time average of S by shadowing, or its whole linear response.

    The orbit of `steps` steps after `transient` is split into `segments` consecutive
    windows; `method` gives an independent estimate on each, and the result is their
    mean with its standard error. `cj.LSS()` solves Wang's (2014) least-squares
    shadowing KKT system (with the time dilation of Wang, Hu & Blonigan 2014 for flows)
    by block-tridiagonal elimination; `cj.NILSS()` is Ni & Wang's (2017) non-intrusive
    LSS on the unstable tangent subspace. Both differentiate along a shadowing orbit and
    so miss the change of the invariant density along the unstable manifold; `cj.S3()`
    (space-split sensitivity, Chandramoorthy & Wang 2022) adds it and gives Ruelle's
    whole linear response, for systems with one positive Lyapunov exponent. The
    equations are in the modules `lss`, `nilss` and `linear_response` of
    `chaosjax.sensitivity`; docs/sensitivity.md compares the methods.

    **Arguments:**

    - `system`: a `cj.Flow` or `cj.Map`.
    - `param`: a scalar parameter: a field name ("rho"), or a path ("flow.rho",
      ("flow", "rho")) for nested systems.
    - `observable`: S, a state (dim,) -> scalar.
    - `x0`: (dim,), or (n, dim) for n initial conditions, each of which contributes
      `segments` windows; it should be on the attractor (or give `transient`).
    - `steps`: total steps after the transient; each window has steps // segments.
    - `dt`, `solver`: the discretisation of a flow (`dt` is None for maps).
    - `transient`: steps discarded before the first window.
    - `segments`: the number of windows per initial condition.
    - `method`: `cj.LSS(...)`, `cj.NILSS(...)` or `cj.S3(...)` with that method's
      options, or the shorthand "lss", "nilss" or "s3" for its defaults.

    **Returns:**

    A `ShadowingSensitivity` (`derivative`, `standard_error`, `estimates`; for S3 also
    `parts`).

    Example:

    ```python
    lor = cj.systems.Lorenz63()
    x0 = cj.final_state(lor, lor.default_state(), steps=10_000, dt=0.005)
    res = cj.shadowing_sensitivity(lor, "rho", lambda x: x[2], x0, steps=80_000,
                                   dt=0.005, segments=8, method=cj.LSS())
    res.derivative, res.standard_error        # ~ 1.01 +- 0.002
    ```
    """
    m, unwrap = prepare_map(system, dt, solver)
    get = parameter_getter(system, param).under(unwrap)
    if jnp.ndim(get(m)) != 0:
        raise ValueError(f"`param` {param!r} must name a scalar parameter.")
    method = _as_method(method)
    transient = v.step_count(transient, "transient", positive=False)
    steps = v.step_count(steps, "steps", total=transient)
    segments = v.positive_int(segments, "segments")
    x = v.state(x0, system.dim, "x0")
    check_scalar_observable(observable, system.dim, x.dtype, x)
    n = steps // segments
    method.check_steps(steps, segments)
    if method.name == "lss":
        # Least squares shadowing keeps every step's Jacobian (and its solve) in memory.
        d, batch = system.dim, (x.shape[0] if x.ndim == 2 else 1)
        v.output_fits(
            batch * steps * (d * d + 3 * d + 2) * jnp.dtype(x.dtype).itemsize * 3,
            "steps",
            f"least squares shadowing over {steps} steps (every step's Jacobian)",
            "use `method=cj.NILSS()`, which keeps only one segment's tangents at a time, "
            "or fewer `steps`",
        )
    x = spin_up(system, x, transient, dt, solver)
    xb = x if x.ndim == 2 else x[None]
    windows = Windows(
        m=m,
        get=get,
        obs=scalar_observable(observable),
        starts=_window_starts(m, xb, segments, n).reshape(-1, x.shape[-1]),
        steps_per_window=n,
        steps=steps,
        segments=segments,
        is_flow=isinstance(system, Flow),
    )
    out = method.estimate(windows)
    est = out.estimates
    if not bool(jnp.all(jnp.isfinite(est))):
        blame_non_finite(m, windows.obs, x, segments * n, transient, "shadowing_sensitivity")
        raise ValueError(
            "the shadowing solve gave non-finite values; check `x0` (on the "
            "attractor?), `dt` and the parameters."
        )
    k = est.shape[0]
    se = jnp.std(est, ddof=1) / math.sqrt(k) if k > 1 else jnp.asarray(jnp.nan, x.dtype)
    return ShadowingSensitivity(
        derivative=jnp.mean(est),
        standard_error=se,
        estimates=est,
        average=jnp.mean(out.averages),
        method=method.name,
        steps_per_window=out.steps_per_window,
        time_per_window=out.steps_per_window * float(m.time_per_step),
        num_unstable=out.num_unstable,
        alpha=out.alpha,
        parts=out.parts,
    )
