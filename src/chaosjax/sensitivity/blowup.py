"""The gradient blow-up table: finite-time gradients of a time average over many initial
conditions, for growing horizons T.

For short T the gradients cluster near the true `d<S>/dp`; beyond a few Lyapunov
times their spread grows like exp(lambda_1 T), so naive autodiff through a chaotic
simulation is no estimator of the sensitivity of a long-time average. The table and
its conclusion follow the blog post "Chaotic Dynamical Systems Using JAX" (UW PLSE,
2026, https://uwplse.org/2026/06/16/jax.html, section 5, "Autodiff"), whose printed
numbers are `PUBLISHED_BLOWUP_TABLE`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from .. import _validate as v
from .._divergence import blame_non_finite
from .._results import Result
from ..systems import Flow, Map
from ._common import ParamPath, check_scalar_observable, parameter_getter, scalar_observable
from .finite_time import (
    AbstractGradientMode,
    as_gradient_mode,
    horizon_steps,
    prepare_map,
    spin_up,
)

PUBLISHED_BLOWUP_TABLE: dict[float, tuple[float, float]] = {
    0.5: (1.0141, 3.5329e-01),
    1.0: (1.1143, 1.9646e-01),
    2.0: (1.0449, 9.0405e-02),
    5.0: (1.0874, 2.3056e-01),
    10.0: (-1.7000e02, 6.1133e02),
    20.0: (1.9138e05, 1.2544e06),
    50.0: (-3.4562e15, 1.5350e16),
}
"""The table published in "Chaotic Dynamical Systems Using JAX" (UW PLSE, 2026,
<https://uwplse.org/2026/06/16/jax.html>, section 5): the mean and standard deviation of
`d⟨z⟩_T/dρ` for Lorenz63 at ρ = 28, RK4 with dt = 0.005, by horizon T -> (mean, std)."""


class BlowupTable(Result):
    """Finite-time gradients over initial conditions, per horizon (what
    `sensitivity_blowup_table` returns).

    **Attributes:**

    - `horizons`: (h,), T in time units (iterations for maps).
    - `steps`: the number of steps of each horizon.
    - `gradients`: (h, n), one finite-time gradient per horizon and initial condition.
    - `averages`: (h, n), the finite-time averages themselves.
    - `mean`, `std` (ddof=1), `median`: (h,), statistics over the n initial conditions.

    Example:

    ```python
    tab = cj.sensitivity_blowup_table(cj.systems.Lorenz63(), "rho", lambda x: x[2],
                                      horizons=(0.5, 1.0), n_initial=8, dt=0.01)
    print(tab)
    ```
    """

    horizons: Float[Array, " h"]
    steps: tuple[int, ...] = eqx.field(static=True)
    gradients: Float[Array, "h n"]
    averages: Float[Array, "h n"]
    mean: Float[Array, " h"]
    std: Float[Array, " h"]
    median: Float[Array, " h"]

    def table(self, reference: dict[float, tuple[float, float]] | None = None) -> str:
        """The table as text.

        **Arguments:**

        - `reference`: optional T -> (mean, std), e.g. `PUBLISHED_BLOWUP_TABLE`, printed
          beside the computed columns.

        **Returns:**

        The table as a string, one row per horizon.
        """
        head = f"{'T':>6} | {'mean grad':>12} | {'std':>11} | {'median':>11}"
        if reference is not None:
            head += f" || {'ref. mean':>11} | {'ref. std':>10}"
        lines = [head, "-" * len(head)]
        for i, T in enumerate(np.asarray(self.horizons)):
            row = (
                f"{T:6.1f} | {float(self.mean[i]):+12.4e} | {float(self.std[i]):11.4e} | "
                f"{float(self.median[i]):+11.4e}"
            )
            if reference is not None:
                ref = reference.get(float(T))
                row += (
                    f" || {ref[0]:+11.4e} | {ref[1]:10.4e}"
                    if ref is not None
                    else f" || {'-':>11} | {'-':>10}"
                )
            lines.append(row)
        lines.append(f"({self.gradients.shape[1]} initial conditions; std with ddof=1)")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()


def sensitivity_blowup_table(
    system: Flow | Map,
    param: ParamPath,
    observable: Callable[[Array], ArrayLike],
    horizons: Sequence[float] = (0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0),
    n_initial: int = 64,
    *,
    dt: float | None = None,
    solver: str = "rk4",
    key: PRNGKeyArray | None = None,
    x0: Float[ArrayLike, "n dim"] | None = None,
    spinup: int | None = None,
    mode: AbstractGradientMode | str = "forward",
) -> BlowupTable:
    """How finite-time gradients of a time average blow up with the horizon.

    Mean, std and median over initial conditions of the finite-time gradient
    `d/dp (1/N) sum_{k<N} S(x_k)`, for each horizon T = N * dt; the experiment of
    "Chaotic Dynamical Systems Using JAX" (UW PLSE, 2026,
    https://uwplse.org/2026/06/16/jax.html, section 5). Initial conditions are
    `system.sample_state(key, n_initial)` run for `spinup` steps onto the attractor, or
    the given `x0` as they are. In forward mode a single tangent pass to the longest
    horizon reads every shorter one on the way.

    **Arguments:**

    - `system`, `param`, `observable`, `dt`, `solver`: as in `finite_time_gradient`.
    - `horizons`: increasing horizons T in time units (iterations for maps), default
      (0.5, 1, 2, 5, 10, 20, 50).
    - `n_initial`: the number of initial conditions (at least 2), default 64.
    - `key`: the PRNG key of the initial conditions, default `jax.random.key(0)`.
    - `x0`: (n, dim) initial conditions to use as they are, instead of sampling.
    - `spinup`: steps from the samples onto the attractor; default 100 time units for
      flows, 1,000 iterations for maps.
    - `mode`: `cj.sensitivity.ForwardMode()` or `ReverseMode(chunk_size=...)` (one
      reverse pass per horizon), or the shorthand "forward" (default) or "reverse".

    **Returns:**

    A `BlowupTable`; `print(table)` prints it.

    Example:

    ```python
    tab = cj.sensitivity_blowup_table(cj.systems.Lorenz63(), "rho", lambda x: x[2],
                                      n_initial=64, dt=0.005)
    print(tab.table(reference=cj.sensitivity.PUBLISHED_BLOWUP_TABLE))
    ```
    """
    m, unwrap = prepare_map(system, dt, solver)
    get = parameter_getter(system, param).under(unwrap)
    if jnp.ndim(get(m)) != 0:
        raise ValueError(f"`param` {param!r} must be a scalar parameter for the table.")
    mode = as_gradient_mode(mode)
    if isinstance(horizons, (str, bytes)):
        raise ValueError(f"`horizons` must be a sequence of positive numbers, got {horizons!r}.")
    try:
        hs = [float(T) for T in horizons]
    except (TypeError, ValueError):
        raise ValueError(
            f"`horizons` must be a sequence of positive numbers, got {horizons!r}."
        ) from None
    if not hs or any(not np.isfinite(T) or T <= 0 for T in hs):
        raise ValueError(f"`horizons` must be positive and finite, got {horizons!r}.")
    if sorted(hs) != hs:
        raise ValueError(f"`horizons` must be increasing, got {horizons!r}.")
    steps = horizon_steps(hs, float(m.time_per_step))
    if x0 is None:
        n = v.positive_int(n_initial, "n_initial")
        if n < 2:
            raise ValueError(f"`n_initial` must be at least 2 (for a std), got {n_initial!r}.")
        checked_key = jax.random.key(0) if key is None else v.prng_key(key)
        if spinup is None:
            spinup = (
                int(round(100.0 / float(m.time_per_step))) if isinstance(system, Flow) else 1000
            )
        x = spin_up(
            system,
            system.sample_state(checked_key, n),
            v.nonnegative_int(spinup, "spinup"),
            dt,
            solver,
        )
    else:
        x = v.state(x0, system.dim, "x0")
        if x.ndim != 2 or x.shape[0] < 2:
            raise ValueError(
                f"`x0` must have shape (n, {system.dim}) with n >= 2, got {tuple(x.shape)}."
            )
    check_scalar_observable(observable, system.dim, x.dtype, x)
    obs = scalar_observable(observable)
    averages, gradients = (a.T for a in mode.averages_and_gradients(m, get, obs, x, steps))
    if not bool(jnp.all(jnp.isfinite(averages))):
        blame_non_finite(m, obs, x, steps[-1], 0, "sensitivity_blowup_table")
        raise ValueError(
            "the orbit diverged (non-finite average); check `x0`, `dt` and the parameters."
        )
    return BlowupTable(
        horizons=jnp.asarray(hs),
        steps=steps,
        gradients=gradients,
        averages=averages,
        mean=jnp.mean(gradients, axis=1),
        std=jnp.std(gradients, axis=1, ddof=1),
        median=jnp.median(gradients, axis=1),
    )
