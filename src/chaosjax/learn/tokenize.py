"""States as tokens: an equidistant grid over a bounding box, one token per cell.

A state x in R^d is mapped to the cell of an equidistant grid of n cells per coordinate
over a box [lower, upper] and the cell's multi-index (i_1, ..., i_d) to one integer
i_1 n^(d-1) + ... + i_d in [0, n^d) (row-major, the first coordinate most significant:
`numpy.ravel_multi_index`). A token decodes to the centre of its cell, so a state and
the decoding of its token differ by at most half a cell per coordinate. This is the
discretisation of M. Shalova & I. Oseledets (2020), "Tensorized transformers for
learning dynamical systems", arXiv:2002.05111: "equidistant grid discretization with n
segments in every dimension", decoded by "the center of the cube corresponding to the
current class".

With `GridTokenizer.fit(..., occupied=True)` the vocabulary is only the cells the
training data visits (a chaotic attractor fills a small part of its box: Lorenz at
n = 50 visits about 4,700 of 125,000 cells), numbered in grid order; a state in a cell
never visited gets the token of the nearest visited cell (by cell-index distance) and
is counted with the clipped states. The embedding and output layers of a model then
shrink by the same factor, which is what makes n = 50 in three dimensions train on a
CPU; the grid and the decoding to cell centres are unchanged.
"""

from __future__ import annotations

import dataclasses

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, Int, Shaped

from .. import _validate as v

__all__ = ["GridTokenizer"]

#: The largest vocabulary a token fits (int32 tokens).
_INT32_LIMIT = 2**31 - 1


def _check_vocab(n: int, dim: int, max_vocab: int) -> None:
    if n**dim > max_vocab:
        raise ValueError(
            f"`n` = {n} gives n**dim = {n**dim:,} tokens in {dim} dimensions, more than "
            f"`max_vocab` = {max_vocab:,}: choose a smaller `n` (or raise `max_vocab`, "
            f"at most {_INT32_LIMIT:,})."
        )


def _nearest_table(cells: np.ndarray, n: int, dim: int) -> Array:
    """For every cell of the n**dim grid the position in `cells` of the nearest of them
    (Euclidean distance of cell multi-indices; ties to the lower index)."""
    from scipy.spatial import KDTree

    shape = (n,) * dim
    visited = np.stack(np.unravel_index(cells, shape), axis=-1)
    every = np.stack(np.unravel_index(np.arange(n**dim), shape), axis=-1)
    _, nearest = KDTree(visited).query(every)
    table = np.asarray(nearest, dtype=np.int32)
    table[cells] = np.arange(cells.shape[0], dtype=np.int32)
    return jnp.asarray(table)


class GridTokenizer(eqx.Module):
    """An equidistant grid of `n` cells per coordinate over a box: states to tokens.

    A state x (dim,) lies in cell i_k = floor((x_k - lower_k) / cell_size_k) of each
    coordinate; its token is the row-major index of (i_1, ..., i_dim) in [0, n**dim)
    (the first coordinate most significant, as `numpy.ravel_multi_index`), and a token
    decodes to its cell's centre, so |decode(encode(x)) - x| <= cell_size / 2 inside the
    box. States outside the box are clipped to the nearest boundary cell and counted
    (`encode_counting`). The grid of M. Shalova & I. Oseledets (2020), "Tensorized
    transformers for learning dynamical systems", arXiv:2002.05111; build it from data
    with `GridTokenizer.fit`.

    **Arguments:**

    - `lower`, `upper`: (dim,) corners of the box, `upper >= lower` (a usable grid needs
      `upper > lower`).
    - `n`: cells per coordinate (static), so the vocabulary has n**dim tokens.
    - `max_vocab`: the largest vocabulary allowed (static; default 2**22 = 4,194,304;
      at most 2**31 - 1, since tokens are int32): n**dim beyond it is a `ValueError`
      naming `n`. Embedding and output layers of a model grow with the vocabulary.
    - `cells`: None (every cell is a token), or (k,) the increasing grid indices of the
      cells that are tokens (token j is cell `cells[j]`); built by `fit(...,
      occupied=True)`.
    - `table`: None, or (n**dim,) for every grid cell the token it encodes to (its own,
      or the nearest of `cells`); given with `cells`.

    Example:

    ```python
    xs = cj.trajectory(cj.systems.Henon(), jnp.zeros(2), steps=10_000, transient=100)
    tok = cj.learn.GridTokenizer.fit(xs, 50)       # 2,500 tokens
    tokens = tok.encode(xs)                        # (10001,) int32
    centres = tok.decode(tokens)                   # within tok.cell_size / 2 of xs
    ```
    """

    lower: Float[Array, " dim"] = eqx.field(converter=jnp.asarray)
    upper: Float[Array, " dim"] = eqx.field(converter=jnp.asarray)
    n: int = eqx.field(static=True)
    max_vocab: int = eqx.field(static=True, default=2**22)
    cells: Int[Array, " k"] | None = None
    table: Int[Array, " grid"] | None = None

    def __check_init__(self):
        # Shapes and structure only: `cj.learn.load` rebuilds a tokenizer from zero arrays.
        if self.lower.ndim != 1 or self.lower.shape != self.upper.shape:
            raise ValueError(
                f"`lower` and `upper` must be vectors of one shape (dim,), got shapes "
                f"{self.lower.shape} and {self.upper.shape}."
            )
        if not (
            jnp.issubdtype(self.lower.dtype, jnp.floating)
            and jnp.issubdtype(self.upper.dtype, jnp.floating)
        ):
            raise ValueError(
                f"`lower` and `upper` must be float arrays, got {self.lower.dtype} and "
                f"{self.upper.dtype}."
            )
        v.positive_int(self.n, "n")
        limit = v.positive_int(self.max_vocab, "max_vocab")
        if limit > _INT32_LIMIT:
            raise ValueError(f"`max_vocab` must be at most 2**31 - 1 (int32 tokens), got {limit}.")
        _check_vocab(self.n, self.lower.shape[0], limit)
        if (self.cells is None) != (self.table is None):
            raise ValueError("`cells` and `table` must be given together (or neither).")
        if self.cells is not None and self.table is not None:
            grid = self.n ** self.lower.shape[0]
            if self.cells.ndim != 1 or not 1 <= self.cells.shape[0] <= grid:
                raise ValueError(
                    f"`cells` must be a vector of 1 to n**dim = {grid:,} cell indices, got "
                    f"shape {tuple(self.cells.shape)}."
                )
            if self.table.shape != (grid,):
                raise ValueError(
                    f"`table` must have shape ({grid},) (one token per grid cell), got "
                    f"{tuple(self.table.shape)}."
                )
            if not (
                jnp.issubdtype(self.cells.dtype, jnp.integer)
                and jnp.issubdtype(self.table.dtype, jnp.integer)
            ):
                raise ValueError("`cells` and `table` must be integer arrays.")
        if v.is_concrete(self.lower) and v.is_concrete(self.upper):
            lo, hi = np.asarray(self.lower), np.asarray(self.upper)
            if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi)) and np.all(hi >= lo)):
                raise ValueError(
                    f"`lower` and `upper` must be finite with upper >= lower, got {lo} and {hi}."
                )

    @classmethod
    def fit(
        cls,
        states: Shaped[ArrayLike, "..."],
        n: int,
        *,
        margin: float = 0.05,
        max_vocab: int = 2**22,
        occupied: object = False,
    ) -> GridTokenizer:
        """The grid over the bounding box of `states`, widened by a relative margin.

        Per coordinate the box is [min - margin * span, max + margin * span] with span
        = max - min over every state (a constant coordinate gets span 1), so that
        states of the same attractor not in the training data rarely fall outside.

        **Arguments:**

        - `states`: (..., dim) finite training states, any leading axes (e.g.
          trajectories (member, time, dim)).
        - `n`: cells per coordinate.
        - `margin`: the relative widening on each side, >= 0 (default 0.05).
        - `max_vocab`: the vocabulary limit (default 2**22), checked against n**dim.
        - `occupied`: if True, the tokens are only the cells that `states` visit (see
          the module docstring); default False (all n**dim cells).

        **Returns:**

        A `GridTokenizer`.
        """
        try:
            raw = np.asarray(states)
            if np.iscomplexobj(raw):
                raise ValueError(f"`states` must hold real numbers, got dtype {raw.dtype}.")
            arr = raw.astype(float)
        except (TypeError, ValueError) as e:
            if str(e).startswith("`states`"):
                raise

            raise ValueError(
                f"`states` must be a numeric array (..., dim), got {states!r}."
            ) from None
        if arr.ndim < 1 or arr.shape[-1] < 1 or arr.size == 0:
            raise ValueError(
                f"`states` must be a non-empty array (..., dim), got shape {arr.shape}."
            )
        if not np.all(np.isfinite(arr)):
            raise ValueError("`states` must be finite; it contains NaN or inf.")
        n = v.positive_int(n, "n")
        if isinstance(margin, bool) or not np.isfinite(float(margin)) or float(margin) < 0:
            raise ValueError(f"`margin` must be a finite float >= 0, got {margin!r}.")
        flat = arr.reshape(-1, arr.shape[-1])
        lo, hi = flat.min(axis=0), flat.max(axis=0)
        span = np.where(hi > lo, hi - lo, 1.0)
        if not isinstance(occupied, bool):
            raise ValueError(f"`occupied` must be True or False, got {occupied!r}.")
        dtype = jnp.result_type(float)
        full = cls(
            lower=jnp.asarray(lo - float(margin) * span, dtype),
            upper=jnp.asarray(hi + float(margin) * span, dtype),
            n=n,
            max_vocab=max_vocab,
        )
        if not occupied:
            return full
        cells = np.unique(np.asarray(full.encode(flat)))
        return dataclasses.replace(
            full, cells=jnp.asarray(cells, jnp.int32), table=_nearest_table(cells, n, flat.shape[1])
        )

    @property
    def dim(self) -> int:
        """The state dimension."""
        return int(self.lower.shape[0])

    @property
    def vocab_size(self) -> int:
        """The number of tokens: n**dim, or the number of `cells` when it has them."""
        return self.n**self.dim if self.cells is None else int(self.cells.shape[0])

    @property
    def cell_size(self) -> Float[Array, " dim"]:
        """(dim,) the width of a cell per coordinate, (upper - lower) / n."""
        return (self.upper - self.lower) / self.n

    def _states(self, states: object) -> Array:
        try:
            x = jnp.asarray(states)
        except (TypeError, ValueError):
            raise ValueError(
                f"`states` must be a numeric array (..., dim), got {states!r}."
            ) from None
        if not (jnp.issubdtype(x.dtype, jnp.integer) or jnp.issubdtype(x.dtype, jnp.floating)):
            raise ValueError(f"`states` must hold real numbers, got dtype {x.dtype}.")
        if x.ndim < 1 or x.shape[-1] != self.dim:
            raise ValueError(
                f"`states` must have shape (..., {self.dim}) for this {self.dim}-dimensional "
                f"grid, got shape {tuple(x.shape)}."
            )
        if not jnp.issubdtype(x.dtype, jnp.floating):
            x = x.astype(self.lower.dtype)
        return x

    def encode_counting(
        self, states: Shaped[ArrayLike, "..."]
    ) -> tuple[Int[Array, "*batch"], Int[Array, ""]]:
        """Tokens of `states` and how many states lay outside the box (clipped).

        Each coordinate's cell index is clipped to [0, n - 1], so a state outside the box
        gets the token of the nearest boundary cell; a state with a non-finite
        coordinate gets token 0. Both kinds are counted, and so, with a vocabulary of
        visited `cells`, are states in a cell that is not one of them (they get the
        nearest cell's token). Vectorised over any leading axes; works under `jit`.

        **Arguments:**

        - `states`: (..., dim) states.

        **Returns:**

        `(tokens, clipped)`: int32 tokens of shape `states.shape[:-1]` and the int32
        count of states outside the box or non-finite.
        """
        x = self._states(states)
        lead = (1,) * (x.ndim - 1)
        lower = self.lower.astype(x.dtype).reshape(lead + (self.dim,))
        upper = self.upper.astype(x.dtype).reshape(lead + (self.dim,))
        cell = self.cell_size.astype(x.dtype).reshape(lead + (self.dim,))
        finite = jnp.all(jnp.isfinite(x), axis=-1)
        outside = jnp.any((x < lower) | (x > upper), axis=-1) | ~finite
        # A coordinate of zero width (upper == lower) puts every state in cell 0.
        safe = jnp.where(cell > 0, cell, jnp.ones_like(cell))
        scaled = jnp.where(jnp.isfinite(x), (x - lower) / safe, jnp.zeros_like(x))
        idx = jnp.clip(jnp.floor(scaled), 0, self.n - 1).astype(jnp.int32)
        weights = [self.n ** (self.dim - 1 - k) for k in range(self.dim)]
        tokens = sum(idx[..., k] * weights[k] for k in range(self.dim))
        tokens = jnp.asarray(tokens, jnp.int32)
        if self.cells is not None and self.table is not None:
            mapped = self.table[tokens].astype(jnp.int32)
            outside = outside | (self.cells[mapped] != tokens)
            tokens = mapped
        tokens = jnp.where(finite, tokens, jnp.zeros_like(tokens))
        return tokens, jnp.sum(outside, dtype=jnp.int32)

    def encode(self, states: Shaped[ArrayLike, "..."]) -> Int[Array, "*batch"]:
        """Tokens of `states` (int32, shape `states.shape[:-1]`), clipped to the box.

        See `encode_counting` for the count of clipped states.

        **Arguments:**

        - `states`: (..., dim) states.

        **Returns:**

        The int32 tokens in [0, vocab_size).
        """
        return self.encode_counting(states)[0]

    def decode(self, tokens: Shaped[ArrayLike, "..."]) -> Float[Array, "*batch dim"]:
        """The centres of the cells of `tokens`: (..., dim) states of the dtype of `lower`.

        Tokens are not range-checked (under `jit` they cannot be): one outside
        [0, vocab_size) decodes to some cell of the grid.

        **Arguments:**

        - `tokens`: integer tokens of any shape.

        **Returns:**

        (..., dim) cell centres.
        """
        t = jnp.asarray(tokens)
        if not jnp.issubdtype(t.dtype, jnp.integer):
            raise ValueError(f"`tokens` must be an integer array, got dtype {t.dtype}.")
        t = t.astype(jnp.int32)
        if self.cells is not None:
            t = self.cells[t]
        digits = [(t // (self.n ** (self.dim - 1 - k))) % self.n for k in range(self.dim)]
        idx = jnp.stack(digits, axis=-1).astype(self.lower.dtype)
        shape = (1,) * (idx.ndim - 1) + (self.dim,)
        return self.lower.reshape(shape) + (idx + 0.5) * self.cell_size.reshape(shape)
