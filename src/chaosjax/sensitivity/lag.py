"""Lag-space sensitivities of delay maps and learned models (Maus & Sprott 2011).

For a one-step map on delay vectors s_n = (x_{n-1}, x_{n-2}, ..., x_{n-d}) whose new
value is x_n = F(s_n)[0], the sensitivity to lag j is the mean over the orbit of
the absolute partial derivative

    S(j) = < |d x_n / d x_{n-j}| > = (1/N) sum_n |dF(s_n)[0] / ds_n[j-1]|,

computed by autodiff of the step (no hand-written partial derivatives). Lags whose
S(j) exceeds a threshold form the *lag space* (Goutte 1997); the largest of them is
the *embedding dimension*.

An inverted delay map is a repellor (A. Maus, "Inverted Delayed Henon Map", 2011,
https://adammaus.com/wp/2011/04/inverted-delayed-henon-map/), so its orbit cannot be
computed; instead its partial derivatives are evaluated along the
*forward* orbit. In reversed time the delay vector is (x_{n-d}, ..., x_{n-1}) and the
new value is x_{n-d-1} = F^{-1}(s_n)[d-1], so reversed-time lag j is coordinate d-j.
"""

from __future__ import annotations

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .. import _validate as v
from .._results import Result
from ..simulate import trajectory
from ..systems import Flow, InvertibleMap, Map


class LagSensitivities(Result):
    """Mean absolute partial derivatives of the new value with respect to each lag (what
    `lag_sensitivities` returns).

    **Attributes:**

    - `sensitivities`: (d,), S(1), ..., S(d) (dimensionless).
    - `lag_space`: the lags j (1-based) with S(j) > `threshold * max(S)`.
    - `embedding_dimension`: the largest lag in the lag space.
    - `threshold`: the relative threshold used.
    - `n_points`: the number of orbit points averaged over.
    - `inverse`: the same for the inverted map along the same forward orbit, or None.

    Example:

    ```python
    res = cj.lag_sensitivities(cj.systems.DelayedHenon(d=4), jnp.full(4, 0.1), 10_000,
                               transient=1_000)
    print(res)          # the table, with the inverted map's column
    ```
    """

    sensitivities: Float[Array, " d"]
    lag_space: tuple[int, ...] = eqx.field(static=True)
    embedding_dimension: int = eqx.field(static=True)
    threshold: float = eqx.field(static=True)
    n_points: int = eqx.field(static=True)
    inverse: LagSensitivities | None = None

    def table(self) -> str:
        """A printable table: lag, S(j), and the inverted map's S(j) beside it if known.

        **Returns:**

        The table as a string.
        """
        s = np.asarray(self.sensitivities)
        inv = None if self.inverse is None else np.asarray(self.inverse.sensitivities)
        head = "  lag j |        S(j)" + ("  | S_inverted(j)" if inv is not None else "")
        lines = [head, "-" * len(head)]
        for j in range(s.shape[0]):
            row = f"  {j + 1:5d} | {s[j]:11.6f}"
            if inv is not None:
                row += f"  | {inv[j]:12.6f}"
            lines.append(row)
        lines.append(
            f"lag space {set(self.lag_space) or '{}'}, embedding dimension "
            f"{self.embedding_dimension} (threshold {self.threshold:g} x max S, "
            f"{self.n_points} points)"
        )
        if self.inverse is not None:
            lines.append(
                f"inverted map: lag space {set(self.inverse.lag_space) or '{}'}, embedding "
                f"dimension {self.inverse.embedding_dimension}"
            )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()


@eqx.filter_jit
def _mean_abs_partials(fn: Callable[[Array], Array], orbit: Array) -> Array:
    return jnp.mean(jnp.abs(jax.vmap(jax.grad(fn))(orbit)), axis=0)


def _record(s: Array, threshold: float, n: int, inverse=None) -> LagSensitivities:
    s_np = np.asarray(s)
    top = float(np.max(s_np)) if s_np.size else 0.0
    lags = tuple(int(j) + 1 for j in np.flatnonzero(s_np > threshold * top)) if top > 0 else ()
    return LagSensitivities(
        sensitivities=s,
        lag_space=lags,
        embedding_dimension=max(lags) if lags else 0,
        threshold=threshold,
        n_points=n,
        inverse=inverse,
    )


def lag_sensitivities(
    system: Flow | Map | Callable[[Array], ArrayLike],
    x0: Float[ArrayLike, " dim"] | None = None,
    steps: int | None = None,
    *,
    transient: int = 0,
    orbit: Float[ArrayLike, "points dim"] | None = None,
    output: int = 0,
    inverse: bool | str = "auto",
    threshold: float = 1e-2,
) -> LagSensitivities:
    """Lag sensitivities S(j) = mean |d x_n / d x_{n-j}| of a delay map or learned model.

    The orbit is `steps` states of `system` after `transient` discarded iterations
    from `x0` (or the given `orbit`, e.g. delay vectors of measured data). At each
    state the gradient of the new value (coordinate `output` of the step) is taken
    by `jax.grad`, and absolute values are averaged. States are delay vectors, most
    recent value first, so coordinate j-1 is lag j. Maus & Sprott (2011), "Neural
    network method for determining embedding dimension of a time series", Commun.
    Nonlinear Sci. Numer. Simul. 16, 3294-3302; for the delayed Hénon map see A. Maus,
    "Delayed Henon Map Sensitivities" (2011),
    https://adammaus.com/wp/2011/04/delayed-henon-map-sensitivities/.

    **Arguments:**

    - `system`: a `cj.Map` on delay vectors (e.g. `cj.systems.DelayedHenon(d=4)`, a
      learned model's map), or a callable `window (d,) -> next value` (then `orbit`
      is required and no inverse is computed).
    - `x0`, `steps`, `transient`: the orbit (iterations, not time).
    - `orbit`: (points, d) states to use instead of simulating.
    - `output`: which coordinate of the step is the new value (0 for delay maps).
    - `inverse`: also evaluate the inverted map's sensitivities along the same
      forward orbit (`"auto"`: when the map has `inverse_step`).
    - `threshold`: lags with S(j) > threshold * max S are in the lag space.

    **Returns:**

    A `LagSensitivities` record (S(j) are dimensionless); `print(res)` gives the table.

    Example:

    ```python
    res = cj.lag_sensitivities(cj.systems.DelayedHenon(d=4), jnp.full(4, 0.1),
                               steps=10_000, transient=1_000)
    res.sensitivities      # ~ [1.90, 0, 0, 0.1]; res.lag_space == (1, 4)
    ```
    """
    if isinstance(system, Flow):
        raise ValueError(
            "`system` must be a map on delay vectors or a callable window -> value; "
            f"lags are not defined for a flow ({type(system).__name__}). Discretise it or "
            "pass a learned delay model."
        )
    if isinstance(inverse, str) and inverse != "auto":
        raise ValueError(f"`inverse` must be True, False or 'auto', got {inverse!r}.")
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, (int, float))
        or not (0.0 <= threshold < 1.0)
    ):
        raise ValueError(f"`threshold` must be a float in [0, 1), got {threshold!r}.")
    is_map = isinstance(system, Map)
    if not is_map and not callable(system):
        raise ValueError(f"`system` must be a cj.Map or a callable, got {type(system).__name__}.")
    if orbit is None:
        if not is_map:
            raise ValueError("`orbit` is required when `system` is a callable, got None.")
        if x0 is None or steps is None:
            raise ValueError("`x0` and `steps` are required unless `orbit` is given.")
        steps = v.positive_int(steps, "steps")
        transient = v.nonnegative_int(transient, "transient")
        v.system_parameters(system)
        x = v.state(x0, system.dim, "x0", batch=False)
        states = trajectory(system, x, steps=steps, transient=transient)[:-1]
    else:
        if x0 is not None or steps is not None:
            raise ValueError("give either `orbit` or (`x0`, `steps`), not both.")
        states = jnp.asarray(orbit)
        if states.ndim != 2 or states.shape[0] < 1:
            raise ValueError(f"`orbit` must have shape (points, d), got {tuple(states.shape)}.")
        if is_map and states.shape[1] != system.dim:
            raise ValueError(
                f"`orbit` must have shape (points, {system.dim}), got {tuple(states.shape)}."
            )
        if not jnp.issubdtype(states.dtype, jnp.floating):
            states = states.astype(jnp.result_type(float))
        if not bool(jnp.all(jnp.isfinite(states))):
            raise ValueError("`orbit` must be finite.")
    d = states.shape[1]
    if (
        isinstance(output, bool)
        or not isinstance(output, (int, np.integer))
        or not (-d <= output < d)
    ):
        raise ValueError(f"`output` must be an int in [0, {d}), got {output!r}.")

    if isinstance(system, Map):
        forward_fn = lambda s: system.step(s)[output]  # noqa: E731
    else:
        forward_fn = lambda s: jnp.asarray(system(s)).reshape(())  # noqa: E731
    s_fwd = _mean_abs_partials(forward_fn, states)

    invertible = isinstance(system, InvertibleMap) and system.has_inverse
    want_inverse = is_map and (invertible if inverse == "auto" else bool(inverse))
    if want_inverse and not invertible:
        raise ValueError(f"`inverse`: {type(system).__name__} has no inverse_step.")
    inv = None
    if want_inverse and isinstance(system, InvertibleMap):
        s_inv_coords = _mean_abs_partials(lambda s: system.inverse_step(s)[d - 1], states)
        inv = _record(s_inv_coords[::-1], threshold, int(states.shape[0]))
    return _record(s_fwd, threshold, int(states.shape[0]), inv)
