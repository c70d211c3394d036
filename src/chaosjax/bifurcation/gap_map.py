"""The discontinuous one-neuron map x -> a x - H(x) + b beside its smoothing
x -> a x - (1 + tanh(c x)) / 2 + b: the periods of both over a grid of b (C. Budd,
"Neural ODEs for, and as, dynamical systems", Lecture 7, Seattle, June 2025).

For 0 < a < 1 the discontinuous map is a contracting gap map: every orbit tends to a
periodic orbit except on a set of b of measure zero, and its rotation number (the
fraction of iterates with x >= 0) is a devil's staircase in b. The periods follow the
period-adding (Farey) structure: between the windows of rotation numbers p/q and p'/q'
with |p q' - p' q| = 1 lies the window of (p + p')/(q + q'), of period q + q'
(Keener 1980, Trans. Amer. Math. Soc. 261, 589-604; Gambaudo, Glendinning & Tresser
1988, Phys. Lett. A 129, 79-84; Avrutin & Schanz 2006, Nonlinearity 19, 531-552). As c
grows, the smoothed map's periods approach them away from the window edges, where an
orbit point comes within about 1/c of the jump.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, Int

from .. import _validate as v
from .._results import Result
from ..systems import SmoothedSigmoidMap
from .period import detect_period


class PeriodAdding(Result):
    """The periods and rotation numbers of the discontinuous and smoothed one-neuron maps
    over a grid of b (what `period_adding` returns).

    **Attributes:**

    - `b`: (n,) the offsets.
    - `period_discontinuous`, `period_smoothed`: (n,) the detected periods (0: none up
      to `max_period`).
    - `rotation_discontinuous`, `rotation_smoothed`: (n,) the rotation numbers, the
      fraction of iterates with x >= 0 over one period (over all kept iterates when no
      period was found).
    - `agreement`: the fraction of b where the two periods are equal.

    Example:

    ```python
    pa = cj.bifurcation.period_adding(jnp.linspace(0.0, 1.0, 501), a=0.8, c=1000.0)
    pa.agreement
    ```
    """

    b: Float[Array, " n"]
    period_discontinuous: Int[Array, " n"]
    period_smoothed: Int[Array, " n"]
    rotation_discontinuous: Float[Array, " n"]
    rotation_smoothed: Float[Array, " n"]
    agreement: float


def period_adding(
    b: Float[ArrayLike, " n"],
    *,
    a: float = 0.8,
    c: float = 1000.0,
    transient: int = 5_000,
    keep: int = 256,
    max_period: int = 64,
    x0: float = 0.1,
) -> PeriodAdding:
    """The periods of x -> a x - H(x) + b (H(0) = 1) and of x -> a x - (1 + tanh(c x))/2
    + b at each b, after `transient` iterations from `x0`, by `detect_period` on the next
    `keep` iterates (one compiled `vmap` over b for each map).

    **Arguments:**

    - `b`: (n,) the offsets.
    - `a`: the slope, default 0.8 (Budd's lecture).
    - `c`: the smoothed map's steepness, default 1000.
    - `transient`, `keep`: iterations discarded and kept (default 5000, 256).
    - `max_period`: the longest period detected (default 64).
    - `x0`: the initial state (default 0.1).

    **Returns:**

    A `PeriodAdding`.

    Example:

    ```python
    pa = cj.bifurcation.period_adding(jnp.linspace(0.0, 1.0, 501))
    pa.period_discontinuous[::50], pa.period_smoothed[::50]
    ```
    """
    n_t = v.nonnegative_int(transient, "transient")
    n_k = v.positive_int(keep, "keep")
    p_max = v.positive_int(max_period, "max_period")
    if n_k < 2 * p_max:
        raise ValueError(f"`keep` must be at least 2 * max_period = {2 * p_max}, got {n_k}.")
    for name, val in (("a", a), ("c", c), ("x0", x0)):
        if isinstance(val, bool) or not isinstance(val, (int, float)) or not np.isfinite(val):
            raise ValueError(f"`{name}` must be a finite number, got {val!r}.")
    bs = jnp.asarray(b, dtype=jnp.result_type(float))
    if bs.ndim != 1 or not bool(jnp.all(jnp.isfinite(bs))):
        raise ValueError(f"`b` must be a finite 1-D array, got shape {bs.shape}.")
    xs_d = _orbits(bs, float(a), float(c), float(x0), n_t, n_k, True)
    xs_s = _orbits(bs, float(a), float(c), float(x0), n_t, n_k, False)
    p_d, _ = detect_period(xs_d[..., None], max_period=p_max, tol=1e-8)
    p_s, _ = detect_period(xs_s[..., None], max_period=p_max, tol=1e-8)
    agree = float(np.mean(np.asarray(p_d) == np.asarray(p_s)))
    return PeriodAdding(bs, p_d, p_s, _rotation(xs_d, p_d), _rotation(xs_s, p_s), agree)


def _rotation(xs: Array, period: Array) -> Array:
    """The fraction of iterates with x >= 0 over one period (over all kept iterates where
    no period was found)."""
    right = np.asarray(xs) >= 0
    per = np.asarray(period)
    out = [r[:q].mean() if q > 0 else r.mean() for r, q in zip(right, per, strict=True)]
    return jnp.asarray(np.array(out, dtype=float))


@eqx.filter_jit
def _orbits(bs, a, c, x0, transient, keep, discontinuous):
    def one(b):
        sig = SmoothedSigmoidMap(a=a, b=b, c=c)

        def f(x):
            if discontinuous:
                return a * x - jnp.where(x >= 0, 1.0, 0.0) + b
            return sig.step(x[None])[0]

        x = jax.lax.fori_loop(0, transient, lambda _, x: f(x), jnp.asarray(x0, dtype=bs.dtype))

        def body(x, _):
            return f(x), x

        return jax.lax.scan(body, x, None, length=keep)[1]

    return jax.vmap(one)(bs)
