"""Argument checks shared by the metrics: arrays of samples or series, finite where
concrete, with the shapes each metric needs. Every message names the argument."""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

from .. import _validate as v

float_array = v.real_array
finite = v.finite


def common_dtype(a: jax.Array, b: jax.Array) -> tuple[jax.Array, jax.Array]:
    """`a` and `b` in one floating dtype (the wider), so that strict promotion holds."""
    dtype = np.promote_types(a.dtype, b.dtype)
    return a.astype(dtype), b.astype(dtype)


def series(x: Any, name: str, *, min_length: int = 1) -> jax.Array:
    """A series of shape (..., T, dim) with T >= `min_length`, as a floating array."""
    arr = float_array(x, name)
    if arr.ndim < 2:
        raise ValueError(
            f"`{name}` must have shape (..., T, dim) (time, then coordinates), "
            f"got shape {tuple(arr.shape)}."
        )
    if arr.shape[-2] < min_length or arr.shape[-1] < 1:
        raise ValueError(
            f"`{name}` must have at least {min_length} time steps and one coordinate, "
            f"got shape {tuple(arr.shape)}."
        )
    return arr


def samples(x: Any, name: str, *, min_samples: int = 2) -> jax.Array:
    """Samples of shape (n, dim) (or (n,), taken as dim 1), finite, n >= `min_samples`."""
    arr = float_array(x, name)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[1] < 1:
        raise ValueError(
            f"`{name}` must have shape (n, dim) or (n,) (samples, then coordinates), "
            f"got shape {tuple(arr.shape)}."
        )
    if arr.shape[0] < min_samples:
        raise ValueError(f"`{name}` must hold at least {min_samples} samples, got {arr.shape[0]}.")
    finite(arr, name)
    return arr


def same_dim(a: jax.Array, b: jax.Array, name_a: str, name_b: str) -> None:
    """A `ValueError` naming `name_b` when the last axes of `a` and `b` differ."""
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(
            f"`{name_b}` must have as many coordinates as `{name_a}` ({a.shape[-1]}), "
            f"got {b.shape[-1]} (shapes {tuple(a.shape)} and {tuple(b.shape)})."
        )


def positive(x: Any, name: str) -> Any:
    """`x` (possibly traced) if it is a positive finite number where concrete."""
    if isinstance(x, bool):
        raise ValueError(f"`{name}` must be a positive number, got {x!r}.")
    if v.is_concrete(x):
        try:
            value = np.asarray(x, dtype=float)
        except (TypeError, ValueError):
            raise ValueError(f"`{name}` must be a positive number, got {x!r}.") from None
        if value.ndim != 0 or not np.isfinite(value) or value <= 0:
            raise ValueError(f"`{name}` must be a positive finite number, got {x!r}.")
    return x


def order(p: Any) -> float:
    """The order p >= 1 of a Wasserstein distance (static: it picks the code path)."""
    value = v.positive_float(p, "p")
    if value < 1.0:
        raise ValueError(f"`p` must be >= 1 (W_p is a metric only then), got {p!r}.")
    return value
