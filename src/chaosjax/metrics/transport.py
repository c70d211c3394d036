"""Wasserstein distances between sample sets (invariant measures of a model and a
system), and the comparison of a model's distances with those between true runs."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, Int, PRNGKeyArray

from .. import _validate as v
from .._results import Result
from . import _binned
from . import _checks as c
from ._transport1d import sort_columns, wasserstein_pp_sorted

METHODS = ("auto", "marginal", "binned", "sliced")
# Grid points per coordinate of the binned method: the occupied cells of a chaotic
# attractor (~1,000 of 24^3 for Lorenz63) keep POT's dense cost matrix small.
DEFAULT_BINS = {1: 256, 2: 64, 3: 24}
DEFAULT_PROJECTIONS = 100


def _method(method: object, dim: int) -> str:
    name = v.one_of(method, "method", METHODS)
    if name == "auto":
        return "marginal"
    if name == "binned" and dim > 3:
        raise ValueError(
            f"`method` 'binned' works for dim <= 3 (a grid of bins**dim cells); the samples "
            f"have dim {dim}: use 'sliced' or 'marginal'."
        )
    return name


def _bins(bins: object, dim: int) -> int:
    if bins is None:
        return DEFAULT_BINS[dim]
    n = v.positive_int(bins, "bins")
    if n < 2:
        raise ValueError(f"`bins` must be at least 2 (points per coordinate), got {bins!r}.")
    return n


def _directions(key: Any, dim: int, projections: object, dtype) -> jax.Array:
    if key is None:
        raise ValueError("`key` is required by method 'sliced' (it draws the directions).")
    key = v.prng_key(key)
    n = v.positive_int(projections, "projections")
    theta = jax.random.normal(key, (dim, n), dtype=dtype)
    return theta / jnp.linalg.norm(theta, axis=0, keepdims=True)


@jax.jit
def _project_sorted(x: jax.Array, theta: jax.Array | None) -> jax.Array:
    return sort_columns(x if theta is None else x @ theta)


@functools.partial(jax.jit, static_argnames=("p", "sliced"))
def _from_sorted(sa: jax.Array, sb: jax.Array, p: float, sliced: bool) -> jax.Array:
    wpp = wasserstein_pp_sorted(sa, sb, p)
    if sliced:
        wpp = jnp.mean(wpp)
    return wpp if p == 1.0 else wpp ** (1.0 / p)


def wasserstein(
    a: Float[ArrayLike, " n *dim"],
    b: Float[ArrayLike, " m *dim_b"],
    *,
    method: str = "auto",
    p: float | int = 1.0,
    bins: int | None = None,
    projections: int = DEFAULT_PROJECTIONS,
    key: PRNGKeyArray | None = None,
) -> Float[Array, "*d"]:
    """The Wasserstein distance W_p between two sets of samples, exactly where it can be.

    W_p(mu, nu) = (min over couplings pi of E_pi |x - y|^p)^(1/p), between the empirical
    distributions of `a` and `b` (every sample weighs 1/n). Three methods:

    - "marginal" (and "auto"): the exact W_p of each coordinate's 1-D distribution,
      shape (dim,). In 1-D the optimal plan is monotone: with equal sample sizes it
      matches the sorted values (W_p^p = mean |a_(i) - b_(i)|^p), with unequal sizes it
      integrates |Q_a - Q_b|^p over the quantile levels (Villani 2003, Topics in
      Optimal Transportation, Thm 2.18). For p = 1 this is what
      `scipy.stats.wasserstein_distance` computes (to rounding), written in JAX:
      traceable, so it runs under `jit`/`vmap` (with `method` static).
    - "binned" (dim <= 3): exact transport between the normalised histograms of `a` and
      `b` on one grid, `bins` points per coordinate from the smallest to the largest
      value of either set, each sample at its nearest grid point; the ground cost is
      the Euclidean distance between grid points to the power p. Solved by POT's
      `ot.emd2` (Flamary et al. 2021, "POT: Python Optimal Transport", JMLR 22(78)),
      a network simplex that returns the exact optimum. ott-jax, the JAX library,
      solves the entropy-regularised problem by Sinkhorn iterations, an approximation
      whose bias depends on the regularisation; an exact number is what a comparison
      of distances needs, hence POT. The result is the W_p between the distributions
      seen at the grid's resolution h (the spacing): moving each sample to its grid
      point moves it by at most h sqrt(dim) / 2, so it differs from the W_p of the
      samples by at most h sqrt(dim). For p = 1 only the difference of the histograms
      is transported: W_1 under a metric cost depends on the difference alone
      (Kantorovich-Rubinstein duality), so this is the same optimum on a smaller
      problem. Runs on the host, not traceable.
    - "sliced" (any dim; meant for dim > 3): the sliced Wasserstein distance (Rabin,
      Peyre, Delon & Bernot 2012, "Wasserstein barycenter and its application to
      texture mixing", SSVM, LNCS 6667; Bonneel, Rabin, Peyre & Pfister 2015, J. Math.
      Imaging Vis. 51, 22-45): `projections` random unit directions theta drawn from
      `key`, the exact 1-D W_p of the projected samples ⟨x, theta⟩ on each, and
      (mean over directions of W_p^p)^(1/p): the mean of the 1-D W_1 for p = 1, the
      root mean square of the 1-D W_2 for p = 2 (POT's `ot.sliced_wasserstein_distance`
      with the same directions). Traceable. In 1-D it equals the marginal distance.

    **Arguments:**

    - `a`: samples, shape (n, dim), or (n,) for dim 1; finite, n >= 2.
    - `b`: samples, shape (m, dim) with the same dim (m may differ from n); finite.
    - `method`: "auto" (= "marginal"), "marginal", "binned" or "sliced".
    - `p`: the order, >= 1 (default 1).
    - `bins`: grid points per coordinate for "binned", >= 2; default 256, 64, 24 for
      dim 1, 2, 3.
    - `projections`: the number of directions for "sliced" (default 100).
    - `key`: a `jax.random` key, required by "sliced".

    **Returns:**

    "marginal": the distance of each coordinate, shape (dim,) (shape () for 1-D `a`);
    "binned" and "sliced": one distance, shape (). In the units of the samples.

    Example:

    ```python
    lor = cj.systems.Lorenz63()
    xs = cj.trajectory(lor, lor.default_state(), steps=20_000, dt=0.01)
    ys = cj.trajectory(lor, lor.default_state() + 1.0, steps=20_000, dt=0.01)
    cj.metrics.wasserstein(xs, ys)                     # (3,), one per coordinate
    cj.metrics.wasserstein(xs, ys, method="binned")    # one number, 3-D transport
    ```
    """
    one_d = np.ndim(a) == 1
    A = c.samples(a, "a")
    B = c.samples(b, "b")
    c.same_dim(A, B, "a", "b")
    A, B = c.common_dtype(A, B)
    dim = A.shape[1]
    method = _method(method, dim)
    order = c.order(p)
    if method == "binned":
        nbins = _bins(bins, dim)
        grid = _binned.Grid([A, B], nbins)
        value = _binned.distance(grid, grid.counts(A), len(A), grid.counts(B), len(B), order)
        return jnp.asarray(value, dtype=A.dtype)
    theta = _directions(key, dim, projections, A.dtype) if method == "sliced" else None
    out = _from_sorted(
        _project_sorted(A, theta), _project_sorted(B, theta), order, method == "sliced"
    )
    return out[0] if one_d and method == "marginal" else out


class WassersteinComparison(Result):
    """A model's Wasserstein distances to true runs beside those between the true runs
    (what `wasserstein_comparison` returns).

    `...` is (dim,) for the marginal method and () for "binned" and "sliced".

    **Attributes:**

    - `model`: (n_model, n_true, ...), the distance of model run i to true run j.
    - `reference`: (n_pairs, ...), the distance between true runs `pairs[k]`, over all
      n_true (n_true - 1) / 2 pairs.
    - `pairs`: (n_pairs, 2), the indices of the true runs of each reference distance.
    - `mean_model`, `mean_reference`: (...), the means of the two.
    - `ratio`: (...), `mean_model / mean_reference`: near 1 for a model whose invariant
      distribution is as close to the truth as another true run of the same length.
    - `method`: the method used ("marginal", "binned" or "sliced").

    Example:

    ```python
    cmp = cj.metrics.wasserstein_comparison(true_runs, model_runs)
    cmp.ratio                                   # (3,), one per coordinate
    ```
    """

    model: Float[Array, "n_model n_true *d"]
    reference: Float[Array, " n_pairs *d"]
    pairs: Int[Array, "n_pairs 2"]
    mean_model: Float[Array, "*d"]
    mean_reference: Float[Array, "*d"]
    ratio: Float[Array, "*d"]
    method: str = eqx.field(static=True)


def _runs(runs: Any, name: str, min_runs: int) -> list[jax.Array]:
    if isinstance(runs, (list, tuple)):
        items = list(runs)
    else:
        arr = c.float_array(runs, name)
        if arr.ndim == 2:
            items = [arr]
        elif arr.ndim == 3:
            items = list(arr)
        else:
            raise ValueError(
                f"`{name}` must be a list of runs (n, dim) or an array (runs, n, dim), got "
                f"shape {tuple(arr.shape)}."
            )
    if len(items) < min_runs:
        raise ValueError(f"`{name}` must hold at least {min_runs} runs, got {len(items)}.")
    out = [c.samples(x, f"{name}[{i}]") for i, x in enumerate(items)]
    for i, x in enumerate(out[1:], 1):
        c.same_dim(out[0], x, f"{name}[0]", f"{name}[{i}]")
    return out


def wasserstein_comparison(
    true_runs: Sequence[ArrayLike] | Float[ArrayLike, "runs n dim"],
    model_runs: Sequence[ArrayLike] | Float[ArrayLike, "*runs m dim_model"],
    *,
    method: str = "auto",
    p: float | int = 1.0,
    bins: int | None = None,
    projections: int = DEFAULT_PROJECTIONS,
    key: PRNGKeyArray | None = None,
) -> WassersteinComparison:
    """A model's Wasserstein distances to several true runs, against the distances between
    every pair of those true runs, computed the same way.

    A Wasserstein distance between finite runs is never 0, even between two runs of the
    true system: it measures sampling noise (finite length, slow mixing) as well as
    error. Its size only means something beside the distance between true runs of the
    same length, and that reference varies too: between pairs of true Lorenz63 runs the
    W_1 of x alone ranges from 0.07 to 0.57, so one reference pair is meaningless. Here
    every model run is compared with every true run, every pair of true runs with each
    other (n_true (n_true - 1) / 2 pairs), by the same method on the same grid (binned:
    one grid spanning every run) or the same directions (sliced: drawn once from
    `key`), and the ratio of the means says how far the model is from the truth in
    units of the truth's own spread. Each run is sorted (or histogrammed) once.

    **Arguments:**

    - `true_runs`: at least 2 runs of the true system, a list of arrays (n_i, dim) or
      one array (runs, n, dim); finite.
    - `model_runs`: at least 1 run of the model, the same forms, or one (m, dim) run.
    - `method`, `p`, `bins`, `projections`, `key`: as for `wasserstein`.

    **Returns:**

    A `WassersteinComparison`: `model`, `reference`, `pairs`, `mean_model`,
    `mean_reference`, `ratio`, `method`.

    Example:

    ```python
    lor = cj.systems.Lorenz63()
    xs = cj.trajectory(lor, lor.default_state(), steps=120_000, dt=0.01, transient=1_000)
    runs = xs[:-1].reshape(6, 20_000, 3)          # six consecutive runs of 200 time units
    cmp = cj.metrics.wasserstein_comparison(runs[:5], runs[5:])
    cmp.ratio                  # (3,), near 1 (0.5..2): this "model" is the truth itself
    ```
    """
    trues = _runs(true_runs, "true_runs", 2)
    models = _runs(model_runs, "model_runs", 1)
    c.same_dim(trues[0], models[0], "true_runs", "model_runs")
    dtype = np.result_type(*(x.dtype for x in trues + models))
    trues = [x.astype(dtype) for x in trues]
    models = [x.astype(dtype) for x in models]
    dim = trues[0].shape[1]
    method = _method(method, dim)
    order = c.order(p)
    pairs = list(itertools.combinations(range(len(trues)), 2))
    if method == "binned":
        nbins = _bins(bins, dim)
        grid = _binned.Grid(trues + models, nbins)
        ct = [(grid.counts(x), len(x)) for x in trues]
        cm = [(grid.counts(x), len(x)) for x in models]
    else:
        grid = None
        theta = _directions(key, dim, projections, dtype) if method == "sliced" else None
        ct = [_project_sorted(x, theta) for x in trues]
        cm = [_project_sorted(x, theta) for x in models]

    def dist(u, w):
        if grid is not None:
            return jnp.asarray(_binned.distance(grid, u[0], u[1], w[0], w[1], order), dtype=dtype)
        return _from_sorted(u, w, order, method == "sliced")

    model = jnp.stack([jnp.stack([dist(u, w) for w in ct]) for u in cm])
    reference = jnp.stack([dist(ct[i], ct[j]) for i, j in pairs])
    mean_model = jnp.mean(model, axis=(0, 1))
    mean_reference = jnp.mean(reference, axis=0)
    zero = np.asarray(mean_reference) == 0
    if np.any(zero):
        raise ValueError(
            "`true_runs` are at distance 0 from each other (identical runs?) in "
            f"{'coordinate ' + str(int(np.argmax(zero))) if zero.ndim else 'every pair'}; "
            "the ratio to their mean distance is undefined."
        )
    return WassersteinComparison(
        model=model,
        reference=reference,
        pairs=jnp.asarray(pairs, dtype=int),
        mean_model=mean_model,
        mean_reference=mean_reference,
        ratio=mean_model / mean_reference,
        method=method,
    )
