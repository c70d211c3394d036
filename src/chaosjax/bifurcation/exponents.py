"""The leading Lyapunov exponents along a parameter sweep: the panel drawn under an
orbit diagram, in one compiled, sharded `vmap` (`_common.over_values`)."""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .. import _validate as v
from ..lyapunov import spectrum_on_map
from ..systems import Flow, Map
from ._common import check_param, checked_dt, initial_states, over_values, shard_sweep


def lyapunov_sweep(
    system: Flow | Map,
    param: str,
    values: Float[ArrayLike, "n ..."],
    x0: Float[ArrayLike, "*n dim"] | None = None,
    *,
    steps: int,
    transient: int = 0,
    dt: float | None = None,
    solver: str = "rk4",
    k: int = 1,
    shard: bool = True,
) -> Float[Array, "n k"]:
    """The `k` leading Lyapunov exponents for every value of `param`.

    Each run discards `transient` steps, then averages the growth of k tangent vectors,
    re-orthonormalised by QR, over `steps` steps (`cj.lyapunov.spectrum_on_map`; Benettin
    et al. 1980, Meccanica 15, 9-20, https://doi.org/10.1007/BF02128236). All values run
    in one compiled `vmap`, its batch axis sharded over `jax.devices()`; on one CPU
    device that `vmap` is one call of a generated-C kernel vectorised across the values
    (`CHAOSJAX_CGEN=0`: the XLA kernel, vmapped).

    **Arguments:**

    - `system`: a `cj.Map`, or a `cj.Flow` (then `dt` is required).
    - `param`: the name of a numeric parameter of `system`.
    - `values`: (n,) values of `param` (or (n, *shape) for a vector parameter).
    - `x0`: (dim,) initial state for every value, or (n, dim) one per value; default
      `system.default_state()`.
    - `steps`: steps (iterations for a map) averaged over, after the transient.
    - `transient`: steps (iterations for a map) discarded first (default 0).
    - `dt`: the time per step of a flow (time units); None for a map.
    - `solver`: the solver of a flow, as in `cj.as_map` (default "rk4").
    - `k`: the number of exponents, at most dim (default 1).
    - `shard`: split the parameter axis over `jax.devices()` (default True).

    **Returns:**

    (n, k) exponents, per unit time for flows and per iteration for maps; rows of runs
    that diverged are NaN.

    Example:

    ```python
    lam = cj.lyapunov_sweep(cj.systems.Logistic(), "r", jnp.linspace(2.8, 4, 500),
                            jnp.array([0.5]), steps=2000)
    ```
    """
    dt = checked_dt(system, dt, solver)
    vals = check_param(system, param, values)
    steps = v.positive_int(steps, "steps")
    transient = v.nonnegative_int(transient, "transient")
    k = v.positive_int(k, "k")
    if k > system.dim:
        raise ValueError(f"`k` must be at most dim = {system.dim}, got {k}.")
    x = initial_states(system, x0, vals.shape[0])
    vals, x = shard_sweep(vals, x, shard)
    return _sweep(system, param, vals, x, dt, solver, steps, transient, k)


@eqx.filter_jit
def _sweep(system, param, vals, x, dt, solver, steps, transient, k):
    def one(m, x0):
        # One history row: only the final sums are kept (the rows would cost memory per
        # value, and on the CPU a call of the batched kernel each).
        res = spectrum_on_map(m, x0, steps=steps, transient=transient, k=k, history=1)
        ok = (res.diverged_at < 0) & jnp.all(jnp.isfinite(res.final_state))
        return jnp.where(ok, res.exponents, jnp.nan)

    return over_values(one, system, param, vals, x, dt, solver)
