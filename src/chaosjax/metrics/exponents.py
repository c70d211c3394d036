"""How far a learned model's Lyapunov spectrum is from the true system's."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .. import _validate as v
from .._results import Result
from ..lyapunov import LyapunovResult, kaplan_yorke_dimension
from . import _checks as c


class SpectrumDistance(Result):
    """A learned spectrum against the true one (what `spectrum_distance` returns).

    **Attributes:**

    - `largest_learned`, `largest_true`: the largest exponent of each.
    - `largest_relative_error`: |largest_learned - largest_true| / |largest_true|.
    - `common`: static, k = the number of leading exponents both spectra have.
    - `l2`: the Euclidean distance between the k leading exponents (both sorted
      descending), in the exponents' unit.
    - `kaplan_yorke_learned`, `kaplan_yorke_true`: the Kaplan-Yorke dimension of each
      spectrum (all its exponents).
    - `kaplan_yorke_difference`: `kaplan_yorke_learned - kaplan_yorke_true` (signed: > 0
      when the model's attractor is the higher-dimensional).

    Example:

    ```python
    d = cj.metrics.spectrum_distance(jnp.array([0.88, 0.0, -14.4]),
                                     jnp.array([0.9056, 0.0, -14.5723]))
    d.largest_relative_error, d.kaplan_yorke_difference
    ```
    """

    largest_learned: Float[Array, ""]
    largest_true: Float[Array, ""]
    largest_relative_error: Float[Array, ""]
    l2: Float[Array, ""]
    kaplan_yorke_learned: Float[Array, ""]
    kaplan_yorke_true: Float[Array, ""]
    kaplan_yorke_difference: Float[Array, ""]
    common: int = eqx.field(static=True)


def _spectrum(x: object, name: str) -> jax.Array:
    arr = c.float_array(x.exponents if isinstance(x, LyapunovResult) else x, name)
    if arr.ndim != 1 or arr.shape[0] < 1:
        raise ValueError(
            f"`{name}` must be a spectrum of shape (k,) (or a LyapunovResult of one run), "
            f"got shape {tuple(arr.shape)}."
        )
    c.finite(arr, name)
    return -jnp.sort(-arr)


def spectrum_distance(
    learned: Float[ArrayLike, " k"] | LyapunovResult,
    true: Float[ArrayLike, " m"] | LyapunovResult,
) -> SpectrumDistance:
    """Compare a learned model's Lyapunov spectrum with the true system's.

    Reports the relative error of the largest exponent (the quantity a forecast's
    horizon depends on: the valid prediction time scales as 1/lambda_1), the L2
    distance between the leading exponents both spectra have (the spectra are sorted
    descending first), and the Kaplan-Yorke dimension of each (Kaplan & Yorke 1979,
    Lecture Notes in Math. 730, 204; via `cj.kaplan_yorke_dimension`) with their
    difference; these are the spectrum checks of learned models in Pathak, Lu, Hunt,
    Girvan & Ott 2017, "Using machine learning to replicate chaotic attractors and
    calculate Lyapunov exponents from data", Chaos 27, 121102, and Vlachas et al. 2020
    (Neural Networks 126, 191-217). Both spectra must be in the same unit (per unit
    time for flows, or per iteration): pass a model's exponents per unit time (a map
    of a flow with `time_per_step` = dt gives them so). A spectrum with fewer exponents
    than the Kaplan-Yorke sum needs gives its own length as the dimension. Traceable
    (the checks of values then do not run).

    **Arguments:**

    - `learned`: the model's exponents, shape (k,), any order, or its
      `LyapunovResult`.
    - `true`: the true system's exponents, shape (m,), or its `LyapunovResult`; its
      largest exponent must not be 0 (the relative error divides by it).

    **Returns:**

    A `SpectrumDistance` record.

    Example:

    ```python
    d = cj.metrics.spectrum_distance(jnp.array([0.88, 0.0, -14.4]),
                                     jnp.array([0.9056, 0.0, -14.5723]))
    d.largest_relative_error          # 0.0283 (2.8 %)
    d.l2                              # 0.1742
    d.kaplan_yorke_difference         # 2.0611 - 2.0621 = -0.0010
    ```
    """
    lam = _spectrum(learned, "learned")
    ref = _spectrum(true, "true")
    if v.is_concrete(ref) and float(ref[0]) == 0.0:
        raise ValueError(
            "`true` has largest exponent 0, so the relative error of the largest exponent "
            "is undefined."
        )
    lam, ref = c.common_dtype(lam, ref)
    k = min(lam.shape[0], ref.shape[0])
    ky_l = kaplan_yorke_dimension(lam)
    ky_t = kaplan_yorke_dimension(ref)
    return SpectrumDistance(
        largest_learned=lam[0],
        largest_true=ref[0],
        largest_relative_error=jnp.abs(lam[0] - ref[0]) / jnp.abs(ref[0]),
        l2=jnp.linalg.norm(lam[:k] - ref[:k]),
        kaplan_yorke_learned=ky_l,
        kaplan_yorke_true=ky_t,
        kaplan_yorke_difference=ky_l - ky_t,
        common=k,
    )
