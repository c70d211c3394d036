"""Lyapunov exponents from a measured scalar time series.

- "rosenstein": the largest exponent from the mean log divergence of nearest
  neighbours in a delay embedding (Rosenstein, Collins & De Luca 1993, Physica D 65,
  117-134); the same estimator as nolds' `lyap_r`, so the two agree for equal settings.
- "jacobian": the spectrum from local linear fits of the dynamics in the embedding
  (Eckmann, Kamphorst, Ruelle & Ciliberto 1986, Phys. Rev. A 34, 4971; Sano & Sawada
  1985, Phys. Rev. Lett. 55, 1082): for each point a least-squares map T_i sends its
  neighbours' displacements one step ahead, and the QR method runs on the T_i.

Unless given, the delay is the first minimum of the average mutual information (Fraser &
Swinney 1986, Phys. Rev. A 33, 1134), or where that has none the first lag at which the
autocorrelation falls below 1/e; the embedding dimension is the smallest with under 1 %
false nearest neighbours (Kennel, Brown & Abarbanel 1992, Phys. Rev. A 45, 3403). For
Rosenstein's method (where the fraction levels off above 1 %, the first under 5 %) the
dimension is at least 5 and the delay is chosen so that the
embedding window (dim - 1) lag spans the mean period (Kugiumtzis 1996, Physica D 95,
13-28: the window, not the delay alone, sets the reconstruction); the log distances are
averaged over each point's 16 nearest neighbours, and the line is the steepest secant
over one mean period of the curve (`steepest_secant`), which averages out the
oscillation of a phase-coherent flow. `early_region` and `linear_region` (the "linear
region" of Datseris & Parlitz 2022, *Nonlinear Dynamics*, Springer, sec. 5.3, and
DynamicalSystems.jl) are fit ranges to pass instead.

Rosenstein's nearest neighbours come from a batched search in JAX: blocks of rows of
the squared distance matrix (|a|^2 + |b|^2 - 2 a.b, one matrix product per block)
with the Theiler window masked; k nearest neighbours (Rosenstein's default average, the
Jacobian method) from a KD-tree. Never a Python double loop.
"""

from __future__ import annotations

import math
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .. import _validate as v
from .._results import Dims, Result
from . import _qr

_BLOCK = 512
# Below this the mutual information, false neighbours and divergence curve are noise.
_MIN_SAMPLES = 200
# Rosenstein's default embedding is raised to at most this many delays to span a mean period.
_MAX_DIM = 16
# `early_region`'s default: from the first sample to this fraction of the curve's rise.
_RISE = 0.4
# Rosenstein's default embedding: at least this many coordinates spanning a mean period.
_MIN_DIM = 5
# Rosenstein's default averages ln-distances over this many nearest neighbours per point.
_NEIGHBOURS = 16
# Rosenstein's default horizon in mean periods, and the fraction of the rise within which
# the steepest secant over one mean period is sought.
_HORIZON_PERIODS = 6
_SECANT_RISE = 0.5


class TimeSeriesLyapunov(Result):
    """Exponents estimated from a time series (what `lyapunov_from_timeseries` returns).

    **Attributes:**

    - `exponents` (k,): per unit time (the series' sample spacing is `dt`); one for
      "rosenstein", `dim` for "jacobian" (sorted descending; with `dim` above the true
      dimension some are spurious).
    - `divergence` (horizon,): Rosenstein's mean log divergence `<ln d_j(i)>` after i
      samples (empty for "jacobian"): plot it against `times` to choose `fit_range`.
    - `times` (horizon,): i * dt.
    - `fit` (2,): slope (per sample) and intercept of the line fitted to
      `divergence[fit_range]`.
    - `false_neighbours` (d,): the fraction of false nearest neighbours in embedding
      dimensions 1..d when `dim` was chosen automatically (empty otherwise).
    - `method`, `dim`, `lag`, `theiler`: the settings used.
    - `fit_range`: the (start, stop) indices of `divergence` the line was fitted over
      ((0, 0) for "jacobian").
    - `choices`: how `lag`, `dim` and `fit_range` were chosen ("given" where passed).
    """

    exponents: Float[Array, " k"]
    divergence: Float[Array, " horizon"]
    times: Float[Array, " horizon"]
    fit: Float[Array, "2"]
    false_neighbours: Float[Array, " d"]
    method: str = eqx.field(static=True)
    dim: int = eqx.field(static=True)
    lag: int = eqx.field(static=True)
    theiler: int = eqx.field(static=True)
    fit_range: tuple[int, int] = eqx.field(static=True)
    choices: str = eqx.field(static=True)

    _xarray_dims: ClassVar[dict[str, Dims]] = {
        "exponents": ("exponent",),
        "divergence": ("times",),
        "times": ("times",),
        "fit": ("coefficient",),
        "false_neighbours": ("embedding_dim",),
    }


def delay_embed(series: Float[ArrayLike, " n"], dim: int, lag: int) -> Float[Array, "m dim"]:
    """The delay embedding of a scalar series (Takens 1981, Lecture Notes in Math. 898,
    366-381).

    **Arguments:**

    - `series`: shape (n,).
    - `dim`: the embedding dimension; `lag`: the delay in samples.

    **Returns:**

    The delay vectors [x_i, x_{i+lag}, ..., x_{i+(dim-1)lag}] for i = 0 .. n-(dim-1)lag-1,
    shape (n - (dim-1) lag, dim).

    Example:

    ```python
    cj.lyapunov.delay_embed(jnp.arange(6.0), dim=3, lag=2)   # [[0, 2, 4], [1, 3, 5]]
    ```
    """
    x = jnp.asarray(series)
    m = x.shape[0] - (dim - 1) * lag
    idx = jnp.arange(m)[:, None] + lag * jnp.arange(dim)[None, :]
    return x[idx]


def mean_period(series: np.ndarray) -> int:
    """The mean period 1/⟨f⟩ of the power spectrum, in samples (nolds' default
    Theiler window)."""
    x = np.asarray(series, dtype=float)
    f = np.fft.rfftfreq(x.size)
    p = np.abs(np.fft.rfft(x - x.mean())) ** 2
    mf = np.sum(f[1:] * p[1:]) / np.sum(p[1:])
    return int(math.ceil(1.0 / mf))


def _as_series(series: object) -> np.ndarray:
    """`series` as a finite, real, 1-D float array, or a ValueError naming it."""
    try:
        raw = np.asarray(series)
        if np.iscomplexobj(raw):
            raise ValueError(f"`series` must be real, got complex dtype {raw.dtype}.")
        x = raw.astype(float)
    except (TypeError, ValueError) as e:
        if str(e).startswith("`series`"):
            raise
        raise ValueError(f"`series` must be a 1-D array of numbers, got {series!r}.") from None
    if x.ndim != 1:
        raise ValueError(f"`series` must be 1-D (n,), got shape {x.shape}.")
    if not np.all(np.isfinite(x)):
        raise ValueError("`series` must be finite.")
    if x.size and np.ptp(x) == 0.0:
        raise ValueError(
            f"`series` is constant (every value is {x[0]}): neighbours in its embedding do "
            "not separate, so it has no Lyapunov exponent to estimate."
        )
    return x


def mutual_information(
    series: Float[ArrayLike, " n"], max_lag: object, *, bins: object = None
) -> np.ndarray:
    """The average mutual information between a series and its delayed copy, by a
    histogram over equiprobable bins (Fraser & Swinney 1986, Phys. Rev. A 33, 1134).

    Its first minimum is the delay at which the delayed copy adds the most new
    information: `lyapunov_from_timeseries`'s default `lag`.

    **Arguments:**

    - `series`: finite samples, shape (n,).
    - `max_lag`: the largest delay in samples, below n.
    - `bins`: the bins per axis; default sqrt(n / 5), between 8 and 64.

    **Returns:**

    I(x_t; x_{t+L}) in nats for L = 0..max_lag, shape (max_lag + 1,).

    Example:

    ```python
    t = np.arange(4_000)
    x = np.sin(2 * np.pi * t / 40) + 0.3 * np.random.default_rng(0).normal(size=t.size)
    cj.lyapunov.mutual_information(x, 30).argmin()    # 10: a quarter period
    ```
    """
    x = _as_series(series)
    max_lag = v.nonnegative_int(max_lag, "max_lag")
    if max_lag >= x.size:
        raise ValueError(f"`max_lag` must be below the {x.size} samples, got {max_lag}.")
    n = x.size
    nb = int(np.clip(np.sqrt(n / 5), 8, 64)) if bins is None else v.positive_int(bins, "bins")
    edges = np.quantile(x, np.linspace(0.0, 1.0, nb + 1)[1:-1])
    b = np.searchsorted(edges, x, side="right")
    out = np.empty(max_lag + 1)
    for L in range(max_lag + 1):
        joint = np.bincount(b[: n - L] * nb + b[L:], minlength=nb * nb).reshape(nb, nb)
        p = joint / (n - L)
        outer = np.outer(p.sum(axis=1), p.sum(axis=0))
        nz = p > 0
        out[L] = float(np.sum(p[nz] * np.log(p[nz] / outer[nz])))
    return out


def _choose_lag(x: np.ndarray) -> tuple[int, str]:
    """The delay: the first minimum of the average mutual information within four mean
    periods, else the first lag where the autocorrelation falls below 1/e; and how it
    was found."""
    max_lag = max(2, min(x.size // 10, 4 * mean_period(x)))
    mi = mutual_information(x, max_lag)
    for L in range(1, max_lag):
        if mi[L] < mi[L - 1] and mi[L] <= mi[L + 1]:
            return L, "first minimum of the mutual information"
    xc = x - x.mean()
    f = np.fft.rfft(xc, 2 * x.size)
    ac = np.fft.irfft(f * np.conj(f))[: max_lag + 1]
    below = np.nonzero(ac / ac[0] < 1.0 / math.e)[0]
    L = int(below[0]) if below.size else max_lag
    return max(L, 1), "autocorrelation below 1/e"


def false_nearest_neighbours(
    series: Float[ArrayLike, " n"],
    lag: object,
    max_dim: object = 10,
    *,
    rtol: object = 15.0,
    atol: object = 2.0,
    theiler: object = 0,
    stop_below: object = None,
) -> np.ndarray:
    """The fraction of false nearest neighbours of a delay embedding in dimensions
    1..max_dim (Kennel, Brown & Abarbanel 1992, Phys. Rev. A 45, 3403).

    The nearest neighbour of each delay vector (by a KD-tree) is false when the next
    delay coordinate moves it more than `rtol` times its distance away, or its distance
    in the next dimension exceeds `atol` standard deviations of the series. The
    fraction drops to about zero at the dimension that unfolds the attractor:
    `lyapunov_from_timeseries`'s default `dim` is the first under 1 %.

    **Arguments:**

    - `series`: finite samples, shape (n,).
    - `lag`: the delay in samples.
    - `max_dim`: the largest dimension tried, default 10.
    - `rtol`, `atol`: Kennel et al.'s thresholds, default 15 and 2.
    - `theiler`: neighbours within this many samples in time are skipped (default 0).
    - `stop_below`: stop at the first dimension whose fraction is below this.

    **Returns:**

    The fractions for dimensions 1, 2, ..., shape (d,) with d <= max_dim (fewer when
    stopped early or when the series is too short for more).

    Example:

    ```python
    lor = cj.systems.Lorenz63()
    x = cj.trajectory(lor, lor.default_state(), steps=5_000, dt=0.02)[:, 0]
    cj.lyapunov.false_nearest_neighbours(x, 8, 5)    # ~ [0.99, 0.05, 0.0, 0.0, 0.0]
    ```
    """
    from scipy.spatial import KDTree

    x = _as_series(series)
    lag = v.positive_int(lag, "lag")
    max_dim = v.positive_int(max_dim, "max_dim")
    rtol = v.positive_float(rtol, "rtol")
    atol = v.positive_float(atol, "atol")
    theiler = v.nonnegative_int(theiler, "theiler")
    stop = None if stop_below is None else v.positive_float(stop_below, "stop_below")
    sd = float(np.std(x))
    out: list[float] = []
    for d in range(1, max_dim + 1):
        m = x.size - d * lag
        if m < 2 * theiler + 3:
            break
        Y = x[np.arange(m)[:, None] + lag * np.arange(d + 1)[None, :]]
        k = min(m, 2 * theiler + 2)
        dist, idx = KDTree(Y[:, :d]).query(Y[:, :d], k=k)
        dist, idx = dist.reshape(m, k), idx.reshape(m, k)
        ok = np.abs(idx - np.arange(m)[:, None]) > theiler
        first = np.argmax(ok, axis=1)
        rows = np.arange(m)
        nn, dd = idx[rows, first], dist[rows, first]
        extra = np.abs(Y[:, d] - Y[nn, d])
        keep = ok[rows, first] & (dd > 0)
        false = (extra[keep] > rtol * dd[keep]) | (
            np.sqrt(dd[keep] ** 2 + extra[keep] ** 2) > atol * sd
        )
        out.append(float(np.mean(false)) if keep.any() else 1.0)
        if stop is not None and out[-1] < stop:
            break
    return np.asarray(out)


def _choose_dim(fnn: np.ndarray) -> int:
    """The smallest dimension with under 1 % false neighbours, else the first at which
    the fraction stops falling."""
    below = np.nonzero(fnn < 0.01)[0]
    if below.size:
        return int(below[0]) + 1
    for d in range(1, fnn.size):
        if fnn[d] >= fnn[d - 1]:
            return d
    return max(int(fnn.size), 1)


def linear_region(
    curve: Float[ArrayLike, " n"],
    *,
    tol: object = 0.25,
    saturation: object = 0.6,
    segments: object = 40,
) -> tuple[int, int]:
    """The longest straight stretch of a growth curve before it saturates, as in
    Datseris & Parlitz (2022), *Nonlinear Dynamics*, Springer, sec. 5.3 (and
    DynamicalSystems.jl's `linear_region`).

    The curve up to where it first reaches `saturation` of its total rise is cut into
    `segments` pieces; consecutive pieces join a stretch while their own least-squares
    slopes stay within `tol` (relative) of the stretch's; the longest stretch with a
    positive slope wins. Pass it as `fit_range` to `lyapunov_from_timeseries` to fit
    Rosenstein's divergence curve over that stretch instead of the default
    (`steepest_secant`).

    **Arguments:**

    - `curve`: the values at equally spaced times, shape (n,), n >= 5.
    - `tol`: the relative slope tolerance, default 0.25.
    - `saturation`: the fraction of the rise where the search stops, default 0.6.
    - `segments`: the pieces the search range is cut into, default 40.

    **Returns:**

    (start, stop): the stretch is `curve[start:stop]`.

    Example:

    ```python
    k = np.arange(200.0)
    cj.lyapunov.linear_region(np.minimum(0.05 * k, 6.0))   # (0, 73): to 60 % of the rise
    ```
    """
    d = np.asarray(curve, dtype=float)
    if d.ndim != 1 or d.size < 5 or not np.all(np.isfinite(d)):
        raise ValueError(f"`curve` must be finite, 1-D and of length >= 5, got shape {d.shape}.")
    tol = v.positive_float(tol, "tol")
    saturation = v.positive_float(saturation, "saturation")
    segments = v.positive_int(segments, "segments")
    rise = float(np.max(d) - d[0])
    end = int(np.argmax(d >= d[0] + saturation * rise)) if rise > 0 else d.size - 1
    end = min(max(end, 4), d.size - 1)
    seg = max(2, end // segments)
    starts = list(range(0, end - seg + 1, seg))

    def slope(a: int, b: int) -> float:
        k = np.arange(a, b, dtype=float)
        kc = k - k.mean()
        return float(np.dot(kc, d[a:b] - d[a:b].mean()) / np.dot(kc, kc))

    own = [slope(a, a + seg + 1) for a in starts]
    best, region = -1, (0, min(d.size, seg + 1))
    for i in range(len(starts)):
        j = i + 1
        while j < len(starts):
            s = slope(starts[i], starts[j] + seg + 1)
            if s <= 0 or max(abs(own[i] - s), abs(own[j] - s)) > tol * abs(s):
                break
            j += 1
        length = starts[j - 1] + seg - starts[i]
        if own[i] > 0 and length > best:
            best, region = length, (starts[i], starts[j - 1] + seg + 1)
    return region


def early_region(curve: Float[ArrayLike, " n"], *, rise: object = _RISE) -> tuple[int, int]:
    """The start of a growth curve up to where it has covered `rise` of its total rise:
    a fit range to pass to `lyapunov_from_timeseries`.

    Rosenstein et al. (1993) fit the divergence curve from its first samples, before
    the distances saturate at the attractor's size; the curve bends earlier the larger
    the neighbours' initial distances. On the single-neighbour curve of phase-coherent
    flows (Rössler) this start lies 10-35 % low; the default `steepest_secant` does not
    (docs/lyapunov.md).

    **Arguments:**

    - `curve`: the values at equally spaced times, shape (n,), n >= 3.
    - `rise`: the fraction of max(curve) - curve[0] where the range ends, default 0.4.

    **Returns:**

    (0, stop): the range is `curve[:stop]`, at least three points.

    Example:

    ```python
    k = np.arange(200.0)
    cj.lyapunov.early_region(np.minimum(0.05 * k, 6.0))   # (0, 48): to 40 % of the rise
    ```
    """
    d = np.asarray(curve, dtype=float)
    if d.ndim != 1 or d.size < 3 or not np.all(np.isfinite(d)):
        raise ValueError(f"`curve` must be finite, 1-D and of length >= 3, got shape {d.shape}.")
    frac = v.positive_float(rise, "rise")
    total = float(np.max(d) - d[0])
    stop = int(np.argmax(d >= d[0] + frac * total)) if total > 0 else d.size
    return 0, min(max(stop, 3), d.size)


def _masked_sq_dists(Y, rows, n_valid, theiler):
    """Squared distances from Y[rows] to Y[:n_valid], Theiler window and j >= n_valid
    masked with +inf."""
    a = Y[rows]
    sq = jnp.sum(Y * Y, axis=1)
    d2 = sq[rows][:, None] + sq[None, :] - 2.0 * (a @ Y.T)
    j = jnp.arange(Y.shape[0])
    bad = (jnp.abs(rows[:, None] - j[None, :]) <= theiler) | (j[None, :] >= n_valid)
    return jnp.where(bad, jnp.inf, jnp.maximum(d2, 0.0))


@eqx.filter_jit
def _nearest(Y, n_valid, theiler, n_rows):
    """Index of the nearest neighbour (outside the Theiler window, below n_valid) of
    each of the first n_rows points."""
    nb = -(-n_rows // _BLOCK)
    rows = jnp.minimum(jnp.arange(nb * _BLOCK), Y.shape[0] - 1).reshape(nb, _BLOCK)
    out = jax.lax.map(lambda r: jnp.argmin(_masked_sq_dists(Y, r, n_valid, theiler), axis=1), rows)
    return out.reshape(-1)[:n_rows]


def _knearest(Y, n_valid, theiler, rows, k):
    """The k nearest neighbours (among Y[:n_valid], outside the Theiler window) of each
    point Y[rows], by a KD-tree (scipy.spatial.KDTree).

    A tree, not `lax.top_k` over rows of the distance matrix, which is much slower on
    CPU (docs/performance.md). Querying k + 2 theiler + 1 neighbours guarantees k
    outside the window; a first query of at most 4 k + 32 finds them for most points
    (a long Theiler window would otherwise cost a query of 2 theiler per point), and
    only the points left short are queried again in full.
    """
    from scipy.spatial import KDTree

    pts = np.asarray(Y)
    tree = KDTree(pts[:n_valid])
    full = min(n_valid, k + 2 * theiler + 1)

    def query(r: np.ndarray, q: int) -> tuple[np.ndarray, np.ndarray]:
        _, idx = tree.query(pts[r], k=q)
        idx = idx.reshape(r.size, q)
        ok = np.abs(idx - r[:, None]) > theiler
        # Stable sort keeps the distance order among the admissible neighbours.
        order = np.argsort(~ok, axis=1, kind="stable")[:, :k]
        return np.take_along_axis(idx, order, axis=1), ok.sum(axis=1) >= k

    out, enough = query(rows, min(full, 4 * k + 32))
    short = np.nonzero(~enough)[0]
    if short.size:
        out[short] = query(rows[short], full)[0]
    return jnp.asarray(out)


def steepest_secant(
    curve: Float[ArrayLike, " n"], width: object, *, rise: object = _SECANT_RISE
) -> tuple[int, int]:
    """The window of `width` samples over which a growth curve rises fastest, among
    those that end before it has covered `rise` of its total rise: the fit range
    `lyapunov_from_timeseries` uses by default.

    With `width` one mean period the secant slope (curve[a + width] - curve[a]) / width
    averages out the oscillation a phase-coherent flow (Rössler, Thomas) imprints on
    Rosenstein's curve; the steepest window is the curve's exponential stretch, between
    the neighbours' initial alignment and the bend into saturation (the plateau of the
    local slope in Kantz 1994, Phys. Lett. A 185, 77, and Datseris & Parlitz 2022, sec.
    5.3).

    **Arguments:**

    - `curve`: the values at equally spaced times, shape (n,), n > width.
    - `width`: the window in samples, at least 1.
    - `rise`: the fraction of max(curve) - curve[0] that windows after the first must
      end within, default 0.5.

    **Returns:**

    (start, stop): the window is `curve[start:stop]`, stop = start + width + 1; its
    secant slope is (curve[stop - 1] - curve[start]) / width.

    Example:

    ```python
    k = np.arange(200.0)
    cj.lyapunov.steepest_secant(np.minimum(0.05 * k, 6.0), 20)   # (0, 21)
    ```
    """
    d = np.asarray(curve, dtype=float)
    w = v.positive_int(width, "width")
    if d.ndim != 1 or d.size <= w or not np.all(np.isfinite(d)):
        raise ValueError(
            f"`curve` must be finite, 1-D and longer than width={w}, got shape {d.shape}."
        )
    frac = v.positive_float(rise, "rise")
    total = float(np.max(d) - d[0])
    stop = int(np.argmax(d >= d[0] + frac * total)) if total > 0 else d.size - 1
    last = max(0, min(stop, d.size - 1) - w)
    secants = (d[w : last + w + 1] - d[: last + 1]) / w
    a = int(np.argmax(secants))
    return a, a + w + 1


@eqx.filter_jit
def _divergence(Y, nbr, horizon):
    """Mean over points i and their neighbours j of ln |Y_{i+k} - Y_{nbr_ij+k}|, for
    k < horizon; `nbr` is (n,) (Rosenstein's nearest neighbour) or (n, q)."""
    n = nbr.shape[0]
    i = jnp.arange(n)
    nbr2 = nbr.reshape(n, -1)

    def one(kk):
        d = jnp.sqrt(jnp.sum((Y[i + kk][:, None, :] - Y[nbr2 + kk]) ** 2, axis=-1))
        ok = d > 0
        logs = jnp.where(ok, jnp.log(jnp.where(ok, d, 1.0)), 0.0)
        return jnp.sum(logs) / jnp.sum(ok, dtype=d.dtype)

    return jax.lax.map(one, jnp.arange(horizon))


def _rosenstein(x, dt, dim, lag, theiler, horizon, fit_range, neighbours=1, width=1):
    Y = delay_embed(x, dim, lag)
    m = Y.shape[0]
    ntraj = m - horizon + 1
    if ntraj < 2 * theiler + 2:
        raise ValueError(
            f"`series` is too short: {x.shape[0]} samples embed into {m} vectors "
            f"(dim={dim}, lag={lag}), leaving {max(ntraj, 0)} trajectories of "
            f"horizon={horizon}, but the Theiler window {theiler} needs at least "
            f"{2 * theiler + 2}."
        )
    if neighbours == 1:
        nbr = _nearest(Y, ntraj, theiler, ntraj)
    else:
        nbr = _knearest(Y, ntraj, theiler, np.arange(ntraj), min(neighbours, ntraj - 1))
    div = _divergence(Y, nbr, horizon)
    ks = np.arange(horizon)
    d = np.asarray(div)
    if fit_range is None:
        # The steepest secant over one mean period (`width`).
        lo, hi = steepest_secant(d, min(width, horizon - 1))
        slope = (d[hi - 1] - d[lo]) / (hi - 1 - lo)
        intercept = d[lo] - slope * lo
    else:
        lo, hi = fit_range
        sel = slice(lo, hi)
        finite = np.isfinite(d[sel])
        slope, intercept = np.polyfit(ks[sel][finite], d[sel][finite], 1)
    return (
        jnp.array([slope / dt]),
        div,
        jnp.asarray(ks * dt, dtype=div.dtype),
        jnp.array([slope, intercept]),
        (int(lo), int(hi)),
    )


@eqx.filter_jit
def _local_jacobians(Y, i, nbr, step):
    """Least-squares T_i with T_i (Y_j - Y_i) ~ Y_{j+step} - Y_{i+step} over the
    neighbours j of each i (normal equations, a tiny ridge against degenerate clouds)."""
    dX = Y[nbr] - Y[i][:, None, :]
    dY = Y[nbr + step] - Y[i + step][:, None, :]
    G = jnp.einsum("nkd,nke->nde", dX, dX)
    B = jnp.einsum("nkd,nke->nde", dX, dY)
    scale = jnp.trace(G, axis1=1, axis2=2)[:, None, None] / G.shape[-1]
    eye = jnp.eye(G.shape[-1], dtype=G.dtype)[None, :, :]
    Tt = jnp.linalg.solve(G + 1e-10 * scale * eye, B)
    return jnp.swapaxes(Tt, 1, 2)


@eqx.filter_jit
def _qr_chain(Ts):
    d = Ts.shape[-1]
    qr = _qr.KERNELS[_qr.resolve("auto", d, d, False)]

    def body(c, T):
        Q, s = c
        Q, logr = qr(T @ Q)
        return (Q, s + logr), None

    (Q, s), _ = jax.lax.scan(body, (jnp.eye(d, dtype=Ts.dtype), jnp.zeros(d, Ts.dtype)), Ts)
    return s / Ts.shape[0]


def _jacobian_method(x, dt, dim, lag, theiler, neighbours, step):
    Y = delay_embed(x, dim, lag)
    m = Y.shape[0]
    n_valid = m - step
    if n_valid < neighbours + 2 * theiler + 2:
        raise ValueError(
            f"`series` is too short: {x.shape[0]} samples embed into {m} vectors "
            f"(dim={dim}, lag={lag}); {neighbours} neighbours outside a Theiler window "
            f"of {theiler} need at least {neighbours + 2 * theiler + 2 + step}."
        )
    # The local maps along the orbit every `step` samples, chained.
    rows = np.arange(0, n_valid, step)
    nbr = _knearest(Y, n_valid, theiler, rows, neighbours)
    lam = _qr_chain(_local_jacobians(Y, jnp.asarray(rows), nbr, step)) / (step * dt)
    empty = jnp.zeros((0,), lam.dtype)
    return -jnp.sort(-lam), empty, empty, jnp.full((2,), jnp.nan, lam.dtype), (0, 0)


def lyapunov_from_timeseries(
    series: Float[ArrayLike, " n"],
    *,
    method: str = "rosenstein",
    dt: float = 1.0,
    dim: int | None = None,
    lag: int | None = None,
    theiler: int | None = None,
    horizon: int | None = None,
    fit_range: tuple[int, int] | None = None,
    neighbours: int | None = None,
    step: int = 1,
) -> TimeSeriesLyapunov:
    """Lyapunov exponents of a scalar series sampled every `dt`, from its delay embedding.

    Two methods:

    - "rosenstein" (Rosenstein et al. 1993): embed in `dim` dimensions with `lag`; for
      each of the first m - horizon + 1 vectors find the nearest neighbour more than
      `theiler` samples away; average ln |Y_{i+k} - Y_{nn(i)+k}| over i for
      k = 0..horizon-1 (the divergence curve) and fit a line over `fit_range`
      (default: the steepest secant over a mean period, averaged over 16 neighbours,
      see below). The slope / dt is the largest exponent.
      With every setting given it matches nolds' `lyap_r` (`emb_dim`, `lag`,
      `min_tsep`, `trajectory_len`, `fit="poly"`, `fit_offset`).
    - "jacobian" (Eckmann et al. 1986, Sano & Sawada 1985): for each vector fit T_i
      from its `neighbours` nearest neighbours, T_i (Y_j - Y_i) ~ Y_{j+step} -
      Y_{i+step}, then run the QR method on T_i along the orbit: `dim` exponents.
      Choose `dim` near the attractor's dimension; extra ones are spurious.

    Settings left at None are chosen from the series and reported on the result
    (`lag`, `dim`, `fit_range`, `choices`): the lag at the first minimum of the
    average mutual information (Fraser & Swinney 1986; the autocorrelation's 1/e time
    where it has none), the dimension by false nearest neighbours (Kennel et al.
    1992; the first under 1 %). For "rosenstein": the dimension (the first under 5 %
    where the fraction levels off above 1 %) at least 5 (at most 16) and, unless `lag`
    is given, the lag such that the window (dim - 1) lag spans the mean period 1/⟨f⟩
    of the power spectrum (Kugiumtzis 1996; with `lag` given, dim is raised until it
    does); a horizon of 6 mean periods (at most a quarter of the series); ln-distances
    averaged over 16 nearest neighbours per point; and the fit as the steepest secant
    over one mean period (`steepest_secant`: among the first window and those ending
    before the curve has covered half its rise), which averages out the oscillation of
    phase-coherent flows. On 10,000 samples of x of Lorenz63, Rössler and Thomas this
    lies within 8 % of the reference exponents on five series each, within 17 % on 36
    more, where the series' own exponents scatter up to 17 % (docs/lyapunov.md).
    Sample the series about 50-80 times per mean period
    (`cj.lyapunov.timeseries.mean_period`). Check `est.divergence` against `est.times`
    with `cj.plot.divergence_curve(est)`: where it has no straight stretch there is
    no exponent to read off.

    **Arguments:**

    - `series`: finite samples, shape (n,).
    - `method`: "rosenstein" (default) or "jacobian".
    - `dt`: the sample spacing, default 1 (exponents per unit time; 1 gives per sample).
    - `dim`, `lag`: the embedding dimension and delay in samples; default chosen by
      false nearest neighbours (and the mean period, see above) and mutual
      information.
    - `theiler`: the window of samples excluded around each point; default the mean
      period from the power spectrum, as nolds.
    - `horizon`: the length of Rosenstein's divergence curve in samples; default 6
      mean periods, at most a quarter of the series.
    - `fit_range`: (start, stop) indices into the curve for the line fit; default
      `steepest_secant` over a mean period ((0, horizon) fits all of it).
    - `neighbours`: for "rosenstein" the nearest neighbours each point's ln-distance
      is averaged over: default 1 when `fit_range` is given (Rosenstein's method,
      nolds' `lyap_r`), else 16; for "jacobian" the neighbours per local fit, default
      2 dim + 4.
    - `step`: the samples the local maps of "jacobian" advance, default 1.

    **Returns:**

    A `TimeSeriesLyapunov` (exponents per unit time, divergence curve, fit).

    Example:

    ```python
    lor = cj.systems.Lorenz63()
    xs = cj.trajectory(lor, lor.default_state(), steps=19_998, dt=0.01,
                       transient=2_000, save_every=2)[:, 0]      # 10,000 samples
    est = cj.lyapunov_from_timeseries(xs, dt=0.02)
    est.exponents, est.lag, est.dim, est.fit_range   # ~ [0.86], 21, 5, (0, 84)
    cj.lyapunov_from_timeseries(xs, dt=0.02, dim=5, lag=5, theiler=50, horizon=125,
                                fit_range=(50, 125))  # every setting by hand
    ```
    """
    v.one_of(method, "method", ("rosenstein", "jacobian"))
    x = _as_series(series)
    dt = v.positive_float(dt, "dt")
    dim = None if dim is None else v.positive_int(dim, "dim")
    lag = None if lag is None else v.positive_int(lag, "lag")
    horizon = None if horizon is None else v.positive_int(horizon, "horizon")
    step = v.positive_int(step, "step")
    theiler = None if theiler is None else v.nonnegative_int(theiler, "theiler")
    if x.size < _MIN_SAMPLES and None in (dim, lag, horizon):
        raise ValueError(
            f"`series` is too short: {x.size} samples; choosing the embedding and horizon "
            f"from the data needs at least {_MIN_SAMPLES} (pass `dim`, `lag` and "
            "`horizon` to go below)."
        )
    choices = []
    lag_given = lag is not None
    if lag is None:
        lag, how = _choose_lag(x)
        choices.append(f"lag: {how}")
    else:
        choices.append("lag: given")
    period = mean_period(x)
    theiler = period if theiler is None else theiler
    fnn = np.zeros((0,))
    if dim is None:
        fnn = false_nearest_neighbours(x, lag, 10, theiler=lag, stop_below=0.01)
        dim = _choose_dim(fnn)
        if method == "rosenstein" and not lag_given:
            # Where the fraction levels off above 1 % (a floor of coarse samples or
            # noise), the first dimension under 5 %.
            floor = np.nonzero(fnn < 0.05)[0]
            if not np.any(fnn < 0.01) and floor.size:
                dim = int(floor[0]) + 1
            # At least _MIN_DIM coordinates whose window (dim - 1) lag is a mean period.
            dim = min(max(dim, _MIN_DIM), _MAX_DIM)
            lag = max(1, round(period / (dim - 1)))
            choices[0] = "lag: mean period / (dim - 1)"
            choices.append(f"dim: false nearest neighbours, at least {_MIN_DIM}")
        elif method == "rosenstein" and 1 + math.ceil(period / lag) > dim:
            dim = min(1 + math.ceil(period / lag), _MAX_DIM)
            choices.append("dim: false nearest neighbours, raised to span a mean period")
        else:
            choices.append("dim: false nearest neighbours")
    else:
        choices.append("dim: given")
    if horizon is None:
        m = x.size - (dim - 1) * lag
        horizon = max(2, min(_HORIZON_PERIODS * period, m // 4))
    need = (dim - 1) * lag + max(horizon, step + 1) + 1
    if x.size < need:
        raise ValueError(
            f"`series` is too short for the embedding: {x.size} samples, but dim={dim}, "
            f"lag={lag} and horizon/step need at least {need}."
        )
    if fit_range is not None:
        ok = (
            isinstance(fit_range, tuple)
            and len(fit_range) == 2
            and all(isinstance(i, int) for i in fit_range)
            and 0 <= fit_range[0] < fit_range[1] - 1 < horizon
        )
        if not ok:
            raise ValueError(
                f"`fit_range` must be (start, stop) with 0 <= start < stop - 1 < horizon "
                f"= {horizon}, got {fit_range!r}."
            )
    xj = jnp.asarray(x)
    if method == "rosenstein":
        if neighbours is None:
            neighbours = 1 if fit_range is not None else _NEIGHBOURS
        else:
            neighbours = v.positive_int(neighbours, "neighbours")
        if fit_range is None:
            choices.append(
                f"fit_range: steepest secant over a mean period, {neighbours} neighbours"
            )
        else:
            choices.append("fit_range: given")
        lam, div, times, fit, used = _rosenstein(
            xj, dt, dim, lag, theiler, horizon, fit_range, neighbours, period
        )
    else:
        neighbours = 2 * dim + 4 if neighbours is None else v.positive_int(neighbours, "neighbours")
        if neighbours < dim:
            raise ValueError(f"`neighbours` must be at least dim={dim}, got {neighbours}.")
        lam, div, times, fit, used = _jacobian_method(xj, dt, dim, lag, theiler, neighbours, step)
    return TimeSeriesLyapunov(
        exponents=lam,
        divergence=div,
        times=times,
        fit=fit,
        false_neighbours=jnp.asarray(fnn),
        method=method,
        dim=dim,
        lag=lag,
        theiler=theiler,
        fit_range=used,
        choices="; ".join(choices),
    )
