"""Distances between the temporal statistics of two series: their power spectra and
their autocorrelation functions. Unlike a forecast error, both compare a model's long
run with the truth's without asking the two to stay in step."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .. import _validate as v
from . import _checks as c

DEFAULT_SEGMENT = 1024


def _pair(pred: object, true: object, min_length: int = 2) -> tuple[jax.Array, jax.Array]:
    """`pred` and `true` as (batch, T, dim) arrays of one dtype, finite and not constant."""
    out = []
    for x, name in ((pred, "pred"), (true, "true")):
        arr = c.series(x, name, min_length=min_length)
        c.finite(arr, name)
        arr = arr.reshape((-1,) + arr.shape[-2:])
        if v.is_concrete(arr):
            flat = np.asarray(arr).reshape(-1, arr.shape[-1])
            constant = np.ptp(flat, axis=0) == 0
            if np.any(constant):
                raise ValueError(
                    f"`{name}` is constant in coordinate {int(np.argmax(constant))}; its "
                    "normalised spectrum and autocorrelation are undefined."
                )
        out.append(arr)
    c.same_dim(out[1], out[0], "true", "pred")
    p, t = c.common_dtype(out[0], out[1])
    return p, t


@functools.partial(jax.jit, static_argnames=("segment",))
def _welch(x: jax.Array, segment: int) -> jax.Array:
    """Welch's averaged periodogram of (batch, T, dim), one-sided, shape (freqs, dim)."""
    step = segment // 2
    count = (x.shape[1] - segment) // step + 1
    idx = jnp.arange(count)[:, None] * step + jnp.arange(segment)[None, :]
    seg = x[:, idx, :]  # (batch, count, segment, dim)
    seg = seg - jnp.mean(seg, axis=2, keepdims=True)
    # The periodic Hann window, as scipy.signal.get_window("hann", segment).
    window = 0.5 - 0.5 * jnp.cos(2 * jnp.pi * jnp.arange(segment, dtype=x.dtype) / segment)
    spec = jnp.abs(jnp.fft.rfft(seg * window[None, None, :, None], axis=2)) ** 2
    power = jnp.mean(spec, axis=(0, 1))
    # One-sided: every frequency but 0 (and Nyquist for an even segment) counts twice.
    last = power.shape[0] - (1 if segment % 2 == 0 else 0)
    doubled = (jnp.arange(power.shape[0]) >= 1) & (jnp.arange(power.shape[0]) < last)
    return power * jnp.where(doubled, 2.0, 1.0)[:, None]


@functools.partial(jax.jit, static_argnames=("keep",))
def _hellinger(sp: jax.Array, st: jax.Array, keep: int) -> jax.Array:
    sp, st = sp[:keep], st[:keep]
    sp = sp / jnp.sum(sp, axis=0, keepdims=True)
    st = st / jnp.sum(st, axis=0, keepdims=True)
    overlap = jnp.sum(jnp.sqrt(sp * st), axis=0)
    # Rounding can push the overlap of identical spectra a hair above 1.
    return jnp.mean(jnp.sqrt(jnp.maximum(1.0 - overlap, 0.0)))


def power_spectrum_distance(
    pred: Float[ArrayLike, "*batch T dim"],
    true: Float[ArrayLike, "*batch_true T_true dim_true"],
    *,
    dt: float,
    segment: int | None = None,
    max_frequency: float | None = None,
) -> Float[Array, ""]:
    """The Hellinger distance between the normalised power spectra of two series,
    averaged over the coordinates.

    Each coordinate's power spectral density is estimated by Welch's method (Welch
    1967, IEEE Trans. Audio Electroacoust. 15, 70-73: segments of `segment` samples
    overlapping by half, the mean of each removed, a periodic Hann window, periodograms
    averaged over the segments and over the leading batch axes), the same estimate as
    `scipy.signal.welch` with its defaults. The spectra are normalised to unit sum, so
    only their shape counts, and compared by the Hellinger distance
    H(P, Q) = sqrt(1 - sum_f sqrt(P_f Q_f)), between 0 (equal) and 1 (disjoint
    support): the power-spectrum error D_H of dynamical-systems reconstruction
    (Mikhaeil, Monfared & Durstewitz 2022, "On the difficulty of learning chaotic
    dynamics with RNNs", NeurIPS 35; Hess, Monfared, Brenner & Durstewitz 2023,
    "Generalized teacher forcing for learning chaotic dynamics", ICML, PMLR 202), which
    smooth a single periodogram where Welch averages segments. The distance does not
    depend on the phase of the two series, so a model that has lost track of the
    truth but oscillates with its frequencies scores near 0. Needs at least one full
    segment per series.

    **Arguments:**

    - `pred`: the model's series, shape (..., T, dim); finite.
    - `true`: the true series, shape (..., T', dim) (the lengths and batch axes may
      differ from `pred`'s); finite.
    - `dt`: the time between samples, > 0; it sets the frequency axis, f = k / (segment
      dt), which only `max_frequency` reads.
    - `segment`: samples per Welch segment, >= 4 (default: 1024, or the shorter series'
      length if that is less). The frequency resolution is 1 / (segment dt).
    - `max_frequency`: if given (> 0, in 1 / time units of `dt`), the spectra are
      compared only at frequencies up to it (normalised over that band).

    **Returns:**

    The mean over coordinates of H, shape (), in [0, 1].

    Example:

    ```python
    t = jnp.arange(8192)[:, None] * 0.01
    cj.metrics.power_spectrum_distance(jnp.sin(3 * t), jnp.sin(3 * t + 1), dt=0.01)  # ~0
    cj.metrics.power_spectrum_distance(jnp.sin(3 * t), jnp.sin(9 * t), dt=0.01)      # ~1
    ```
    """
    p, t = _pair(pred, true, min_length=4)
    shortest = min(p.shape[1], t.shape[1])
    if segment is None:
        seg = min(DEFAULT_SEGMENT, shortest)
    else:
        seg = v.positive_int(segment, "segment")
        if seg < 4 or seg > shortest:
            raise ValueError(
                f"`segment` must be between 4 and the length of the shorter series "
                f"({shortest}), got {segment!r}."
            )
    step = v.positive_float(dt, "dt")
    freqs = seg // 2 + 1
    keep = freqs
    if max_frequency is not None:
        f_max = v.positive_float(max_frequency, "max_frequency")
        keep = min(freqs, int(np.floor(f_max * seg * step * (1 + 1e-12))) + 1)
        if keep < 2:
            raise ValueError(
                f"`max_frequency` {max_frequency!r} keeps fewer than two frequencies; the "
                f"resolution is 1 / (segment dt) = {1 / (seg * step):.4g}."
            )
    return _hellinger(_welch(p, seg), _welch(t, seg), keep)


@functools.partial(jax.jit, static_argnames=("max_lag",))
def _acf(x: jax.Array, max_lag: int) -> jax.Array:
    """Autocorrelation of (batch, T, dim) at lags 0..max_lag, shape (max_lag + 1, dim)."""
    length = x.shape[1]
    xc = x - jnp.mean(x, axis=1, keepdims=True)
    # Zero padding to >= 2T makes the FFT's circular correlation the linear one.
    nfft = 1 << (2 * length - 1).bit_length()
    spec = jnp.fft.rfft(xc, n=nfft, axis=1)
    cov = jnp.fft.irfft(spec * jnp.conj(spec), n=nfft, axis=1)[:, : max_lag + 1, :]
    cov = jnp.mean(cov, axis=0) / length
    return cov / cov[:1, :]


@functools.partial(jax.jit, static_argnames=("max_lag",))
def _acf_distance(p: jax.Array, t: jax.Array, max_lag: int) -> jax.Array:
    rp, rt = _acf(p, max_lag), _acf(t, max_lag)
    return jnp.sqrt(jnp.mean((rp[1:] - rt[1:]) ** 2))


def autocorrelation_distance(
    pred: Float[ArrayLike, "*batch T dim"],
    true: Float[ArrayLike, "*batch_true T_true dim_true"],
    *,
    max_lag: int,
) -> Float[Array, ""]:
    """The RMS difference between the normalised autocorrelation functions of two series,
    over lags 1..`max_lag` and the coordinates.

    For each coordinate the autocorrelation at lag k is rho(k) = c(k) / c(0), with
    c(k) = (1/T) sum_{t < T-k} (x_t - mean)(x_{t+k} - mean) the standard (biased)
    autocovariance estimate (Box, Jenkins, Reinsel & Ljung 2015, Time Series Analysis,
    5th ed., Sec. 2.1.5), computed by FFT with zero padding; over leading batch axes
    the autocovariances are averaged before normalising. rho(0) = 1 for both series, so
    the lags compared start at 1. The autocorrelation of a chaotic signal decays on
    the scale of the Lyapunov time and shows its main oscillation: a model with the
    right invariant distribution but the wrong time scales fails here. The distance is
    0 for identical series and at most 2.

    **Arguments:**

    - `pred`: the model's series, shape (..., T, dim); finite, not constant.
    - `true`: the true series, shape (..., T', dim) (the lengths and batch axes may
      differ); finite, not constant.
    - `max_lag`: the largest lag compared, in samples, 1 <= max_lag < min(T, T').

    **Returns:**

    The RMS of rho_pred(k) - rho_true(k) over k = 1..max_lag and the coordinates,
    shape ().

    Example:

    ```python
    lor = cj.systems.Lorenz63()
    xs = cj.trajectory(lor, lor.default_state(), steps=20_000, dt=0.01)
    cj.metrics.autocorrelation_distance(xs[:10_000], xs[10_000:], max_lag=200)   # small
    ```
    """
    p, t = _pair(pred, true)
    lag = v.positive_int(max_lag, "max_lag")
    shortest = min(p.shape[1], t.shape[1])
    if lag >= shortest:
        raise ValueError(
            f"`max_lag` must be less than the length of the shorter series ({shortest}), "
            f"got {max_lag!r}."
        )
    return _acf_distance(p, t, lag)
