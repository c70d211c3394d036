"""Exact transport between histograms on a common grid, by POT's network simplex.

The grid has `bins` points per coordinate from the smallest to the largest value of
every sample set compared; each sample goes to its nearest grid point, so sample sets
that sit on grid points are represented exactly. The transport problem between two
histograms is solved exactly (POT `ot.emd2`: the network simplex of Bonneel, van de
Panne, Paris & Heidrich 2011, "Displacement interpolation using Lagrangian mass
transport", ACM Trans. Graph. 30, 158). The histograms are counted by XLA, the
transport runs on the host; not traceable.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from scipy.spatial.distance import cdist


@jax.jit
def _extent(x: jax.Array) -> tuple[jax.Array, jax.Array]:
    return jnp.min(x, axis=0), jnp.max(x, axis=0)


@functools.partial(jax.jit, static_argnames=("bins",))
def _counts(x: jax.Array, lo: jax.Array, spacing: jax.Array, bins: int) -> jax.Array:
    cell = jnp.rint((x - lo[None, :]) / spacing[None, :])
    cell = jnp.clip(cell, 0, bins - 1).astype(jnp.int32)
    flat = cell[:, 0]
    for i in range(1, x.shape[1]):
        flat = flat * bins + cell[:, i]
    return jnp.bincount(flat, length=bins ** x.shape[1])


class Grid:
    """`bins` points per coordinate spanning every sample set; a sample goes to its nearest.

    The histograms are counted in one compiled pass over each set (NumPy's reductions
    along the first axis of an (n, 3) array were the slowest part of the method).
    """

    def __init__(self, sample_sets: list[jax.Array], bins: int):
        dim = sample_sets[0].shape[1]
        if bins**dim > 2**24:
            raise ValueError(
                f"`bins` = {bins} makes {bins}^{dim} grid cells (at most 2^24); use fewer bins."
            )
        extents = [_extent(s) for s in sample_sets]
        self.lo = np.min([np.asarray(e[0]) for e in extents], axis=0)
        width = np.max([np.asarray(e[1]) for e in extents], axis=0) - self.lo
        # A coordinate constant over every set needs one cell only; any spacing will do.
        self.spacing = np.where(width > 0, width / (bins - 1), 1.0)
        self.bins = bins
        self.dim = dim

    def counts(self, x: jax.Array) -> np.ndarray:
        """How many samples of `x` (n, dim) fall to each grid point, flat (bins**dim,)."""
        lo = jnp.asarray(self.lo, dtype=x.dtype)
        spacing = jnp.asarray(self.spacing, dtype=x.dtype)
        return np.asarray(_counts(x, lo, spacing, self.bins))

    def points(self, cells: np.ndarray) -> np.ndarray:
        """The coordinates of the flat grid indices `cells`, shape (len(cells), dim)."""
        idx = np.stack(np.unravel_index(cells, (self.bins,) * self.dim), axis=1)
        return self.lo + idx * self.spacing


# POT's simplex works on a dense cost matrix: 5e7 entries are 400 MB and minutes.
MAX_COST_ENTRIES = 50_000_000


def _emd2(wa: np.ndarray, wb: np.ndarray, cost: np.ndarray) -> float:
    import ot  # POT: imported on first use, it is slow to import

    # The network simplex stops only at the optimum unless the iteration cap is hit;
    # the cap is set far above what the problem sizes here need, and a hit is an error.
    value, log = ot.emd2(wa, wb, cost, numItermax=2_000_000_000, log=True)
    if log.get("warning"):
        raise RuntimeError(f"POT's exact transport did not finish: {log['warning']}")
    return float(value)


def distance(grid: Grid, ca: np.ndarray, na: int, cb: np.ndarray, nb: int, p: float) -> float:
    """W_p between the histograms with counts `ca` (of `na` samples) and `cb`.

    The ground cost is the Euclidean distance between grid points, to the power p. For
    p = 1 only the difference of the two histograms is transported: mass present in
    both stays where it is, which is optimal when the cost is a metric (the
    Kantorovich-Rubinstein duality, Villani 2003, Thm 1.14, makes W_1 depend on the
    difference alone). That leaves two disjoint, smaller supports: the same answer as
    the full problem, and the simplex runs on a cost matrix a quarter the size or less.
    """
    if p == 1.0:
        diff = ca / na - cb / nb if na != nb else (ca - cb) / na
        pos, neg = np.flatnonzero(diff > 0), np.flatnonzero(diff < 0)
        if pos.size == 0:
            return 0.0
        wa, wb = diff[pos], -diff[neg]
        mass = wa.sum()
        _check_size(grid, pos.size, neg.size)
        cost = cdist(grid.points(pos), grid.points(neg))
        # Rescaled to unit mass (each side's rounding apart) and back.
        return _emd2(wa / mass, wb / wb.sum(), cost) * mass
    sa, sb = np.flatnonzero(ca), np.flatnonzero(cb)
    _check_size(grid, sa.size, sb.size)
    cost = cdist(grid.points(sa), grid.points(sb)) ** p
    return _emd2(ca[sa] / na, cb[sb] / nb, cost) ** (1.0 / p)


def _check_size(grid: Grid, rows: int, cols: int) -> None:
    if rows * cols > MAX_COST_ENTRIES:
        raise ValueError(
            f"`bins` = {grid.bins} is too fine for exact transport here: the problem has "
            f"{rows} x {cols} occupied cells (at most {MAX_COST_ENTRIES:.0e} pairs); use "
            "fewer bins, or method 'sliced' or 'marginal'."
        )
