"""Echo-state networks: a random recurrent reservoir with a trained linear readout.

Jaeger (2001), "The 'echo state' approach to analysing and training recurrent neural
networks", GMD Report 148; Jaeger & Haas (2004), Science 304, 78-80; for forecasting
chaotic systems, Pathak, Hunt, Girvan, Lu & Ott (2018), Phys. Rev. Lett. 120, 024102,
and Lukoševičius (2012), "A practical guide to applying echo state networks", LNCS 7700.

The reservoir state r (n,) is driven by the (normalised) observation u,

    r' = (1 - a) r + a tanh(W r + W_in u + b),

and a linear readout of features f(r) gives the observation, u = W_out f(r); only W_out
is trained, by ridge regression on teacher-forced reservoir states. Closing the loop
(feeding the readout back as the input) makes the network an autonomous map of r, so
`EchoStateNetwork` is a `cj.Map`: `cj.trajectory`, `cj.lyapunov_spectrum` and
`cj.max_lyapunov` run on it unchanged, with exponents per unit time through its
`time_per_step` (the data's sampling step).

Time convention (the observation contract of `cj.Map`): the state r_t "at time t" has
been driven by the observations u_0 .. u_{t-1}, and its readout estimates u_t, so
`observe(r_t)` ~ u_t and `step(r_t)` = r_{t+1} is driven by the readout itself. The
readout is fitted on exactly these pairs (r_t, u_t), and `synchronise(history)` drives
the reservoir from r = 0 by every row but the last, returning r_t for t the last row.

W is drawn sparse and kept sparse (`SparseMatrix`, rows of equal length): a step costs
O(nonzeros) instead of O(n^2), about ten times less at n = 600 and density 0.01.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import scipy.sparse
import scipy.sparse.linalg
from jaxtyping import Array, ArrayLike, Float, Int, PRNGKeyArray

from .. import _validate as v
from .._results import Result
from ..systems import Map
from . import _reservoir as rc
from .data import Normalizer, _key_data
from .neural_ode import _trajectories

__all__ = ["ESNFit", "EchoStateNetwork", "SparseMatrix", "fit_esn"]

#: The readout features by name: "linear" [1, r], "quadratic" [1, r, r^2].
FEATURES = ("linear", "quadratic")
#: The hyper-parameters that change the reservoir (a grid forms its normal equations
#: once per combination of these, and solves them for every ridge).
RESERVOIR_PARAMETERS = ("spectral_radius", "leak", "input_scaling", "bias_scaling")


def _float_array(x: ArrayLike) -> Array:
    return jnp.asarray(x, dtype=jnp.result_type(float))


def _index_array(x: ArrayLike) -> Array:
    return jnp.asarray(x, dtype=jnp.int32)


# ----------------------------------------------------------------------------- sparse W


class SparseMatrix(eqx.Module):
    """A sparse matrix stored row by row, every row with the same number of slots:
    row i holds values[i, k] in column columns[i, k] (a row with fewer nonzero entries
    pads with value 0), the ELLPACK layout.

    `matrix @ x` is sum_k values[i, k] x[columns[i, k]]: one gather and one row sum,
    O(rows x slots), with no scatter; it works under `jit`, `vmap` and autodiff (with
    respect to `values` and `x`), and `cj.learn.save` stores it as two arrays. A
    reservoir drawn with the same number of inputs per unit fills every slot.

    **Arguments:**

    - `columns`: (m, slots) integer column indices, each in [0, n_columns).
    - `values`: (m, slots) the entries.
    - `n_columns`: n, the number of columns.

    Example:

    ```python
    W = cj.learn.SparseMatrix.from_dense(jnp.array([[0.0, 2.0], [1.0, 0.0]]))
    W @ jnp.array([1.0, 3.0])          # [6, 1]
    W.todense()
    ```
    """

    columns: Int[Array, "m slots"] = eqx.field(converter=_index_array)
    values: Float[Array, "m slots"] = eqx.field(converter=_float_array)
    n_columns: int = eqx.field(static=True)

    def __check_init__(self):
        v.positive_int(self.n_columns, "n_columns")
        if self.values.ndim != 2 or self.columns.shape != self.values.shape:
            raise ValueError(
                f"`columns` and `values` must be 2-D of one shape (rows, slots), got "
                f"{self.columns.shape} and {self.values.shape}."
            )

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns) of the matrix."""
        return (int(self.values.shape[0]), self.n_columns)

    @classmethod
    def from_dense(cls, matrix: Float[ArrayLike, "m n"]) -> SparseMatrix:
        """The nonzero entries of a dense matrix, as many slots as its fullest row has.

        **Arguments:**

        - `matrix`: a concrete 2-D array.

        **Returns:**

        A `SparseMatrix` of the same shape.
        """
        a = np.asarray(matrix, dtype=np.float64)
        if a.ndim != 2 or 0 in a.shape:
            raise ValueError(f"`matrix` must be a non-empty 2-D array, got shape {a.shape}.")
        counts = np.count_nonzero(a, axis=1)
        slots = max(1, int(counts.max()))
        columns = np.zeros((a.shape[0], slots), dtype=np.int64)
        values = np.zeros((a.shape[0], slots))
        for i in range(a.shape[0]):
            nz = np.flatnonzero(a[i])
            columns[i, : nz.size] = nz
            values[i, : nz.size] = a[i, nz]
        return cls(columns=columns, values=values, n_columns=a.shape[1])

    def __matmul__(self, x: Float[Array, " n"]) -> Float[Array, " m"]:
        return jnp.sum(self.values * x[self.columns], axis=-1)

    def todense(self) -> Float[Array, "m n"]:
        """The dense (m, n) matrix."""
        rows = jnp.broadcast_to(jnp.arange(self.shape[0])[:, None], self.columns.shape)
        return jnp.zeros(self.shape, self.values.dtype).at[rows, self.columns].add(self.values)

    def to_scipy(self):
        """The matrix as a `scipy.sparse.csr_matrix` (padding slots dropped)."""
        values = np.asarray(self.values)
        keep = values != 0
        rows = np.broadcast_to(np.arange(self.shape[0])[:, None], values.shape)[keep]
        return scipy.sparse.csr_matrix(
            (values[keep], (rows, np.asarray(self.columns)[keep])), shape=self.shape
        )


# ----------------------------------------------------------------------------- the model


def n_features(features: str, n: int) -> int:
    """The readout's feature count for `n` reservoir units."""
    return 1 + n if features == "linear" else 1 + 2 * n


class EchoStateNetwork(Map):
    """An echo-state network run closed-loop: a `cj.Map` on its reservoir state.

    step(r) = (1 - a) r + a tanh(W r + W_in z(r) + b) with z(r) = W_out f(r), the readout
    in normalised units; the observation is `observe(r)` = z(r) * scale + mean (the
    `normalizer`'s statistics of the training data). Features f: "linear" [1, r] or
    "quadratic" [1, r, r^2] (squares elementwise; they break the r -> -r symmetry of
    the tanh reservoir, Pathak et al. 2018, Herteux & Räth 2020, Chaos 30, 123142).

    Observation contract: `observe(r_t)` estimates the observation at the state's time,
    `synchronise(history)` drives the reservoir from 0 by every row of `history` but the
    last (teacher forcing, `drive`) and returns the state at the last row's time, and
    `history_length` is `washout`. `time_per_step` is `dt`, so Lyapunov exponents come
    out per unit time. Jaeger (2001), GMD Report 148; Pathak, Hunt, Girvan, Lu & Ott
    (2018), Phys. Rev. Lett. 120, 024102.

    **Arguments:**

    - `W`: the recurrent weights, a `SparseMatrix` (n, n) (`SparseMatrix.from_dense(W)`
      for a dense one).
    - `W_in`: input weights (n, obs).
    - `bias`: b, (n,).
    - `W_out`: the readout (obs, n_features): n_features 1 + n ("linear") or 1 + 2n
      ("quadratic").
    - `leak`: the leak rate a in (0, 1], a scalar.
    - `normalizer`: the observations' `cj.learn.Normalizer` (statistics of shape (obs,)).
    - `initial_state`: the state `default_state()` returns, (n,).
    - `features`: "linear" or "quadratic" (default).
    - `dt`: the time per step (time units; 1 for data of a map) (default 1).
    - `washout`: the observations `synchronise` needs, >= 1 (default 100).

    Example:

    ```python
    res = cj.learn.fit_esn(xs, dt=0.02, key=jax.random.key(0), n=300)
    esn = res.model                                    # a cj.Map
    r = esn.synchronise(xs[-esn.history_length:])      # esn.observe(r) ~ xs[-1]
    forecast = jax.vmap(esn.observe)(cj.trajectory(esn, r, steps=500))
    cj.lyapunov_spectrum(esn, r, steps=10_000, k=3).exponents   # per unit time
    ```
    """

    W: SparseMatrix
    W_in: Float[Array, "n obs"] = eqx.field(converter=_float_array)
    bias: Float[Array, " n"] = eqx.field(converter=_float_array)
    W_out: Float[Array, "obs features"] = eqx.field(converter=_float_array)
    leak: Float[Array, ""] = eqx.field(converter=_float_array)
    normalizer: Normalizer
    initial_state: Float[Array, " n"] = eqx.field(converter=_float_array)
    features: str = eqx.field(default="quadratic", static=True)
    dt: float = eqx.field(default=1.0, static=True)
    washout: int = eqx.field(default=100, static=True)

    name: ClassVar[str] = "esn"
    # A reservoir state lives in (-1, 1)^n: `sample_state` perturbs it by 1e-3.
    sample_scale: ClassVar[float] = 1e-3

    def __check_init__(self):
        v.one_of(self.features, "features", FEATURES)
        v.positive_float(self.dt, "dt")
        v.positive_int(self.washout, "washout")
        if self.bias.ndim != 1:
            raise ValueError(f"`bias` must have shape (n,), got {self.bias.shape}.")
        n = self.bias.shape[0]
        if self.W.shape != (n, n):
            raise ValueError(f"`W` must have shape ({n}, {n}), got {self.W.shape}.")
        if self.W_in.ndim != 2 or self.W_in.shape[0] != n:
            raise ValueError(f"`W_in` must have shape ({n}, obs), got {self.W_in.shape}.")
        obs = self.W_in.shape[1]
        p = n_features(self.features, n)
        if self.W_out.shape != (obs, p):
            raise ValueError(
                f"`W_out` must have shape ({obs}, {p}) ({self.features} features of {n} "
                f"units), got {self.W_out.shape}."
            )
        if self.leak.shape != ():
            raise ValueError(f"`leak` must be a scalar, got shape {self.leak.shape}.")
        if self.normalizer.mean.shape != (obs,):
            raise ValueError(
                f"`normalizer` must hold statistics of shape ({obs},), got "
                f"{self.normalizer.mean.shape}."
            )
        if self.initial_state.shape != (n,):
            raise ValueError(
                f"`initial_state` must have shape ({n},), got {self.initial_state.shape}."
            )

    @property
    def dim(self) -> int:
        return int(self.bias.shape[0])

    @property
    def n_observed(self) -> int:
        """The number of observed quantities (obs)."""
        return int(self.W_in.shape[1])

    @property
    def time_per_step(self) -> float:
        return float(self.dt)

    @property
    def history_length(self) -> int:
        return self.washout

    def feature_vector(self, r: Float[Array, " n"]) -> Float[Array, " features"]:
        """f(r): [1, r] or [1, r, r^2].

        **Arguments:**

        - `r`: a reservoir state (n,).

        **Returns:**

        (n_features,).
        """
        one = jnp.ones((1,), r.dtype)
        if self.features == "linear":
            return jnp.concatenate([one, r])
        return jnp.concatenate([one, r, r * r])

    def readout(self, r: Float[Array, " n"]) -> Float[Array, " obs"]:
        """The readout W_out f(r), in normalised units.

        **Arguments:**

        - `r`: a reservoir state (n,).

        **Returns:**

        (obs,).
        """
        return self.W_out @ self.feature_vector(r)

    def _update(self, r: Array, z: Array) -> Array:
        return (1.0 - self.leak) * r + self.leak * jnp.tanh(self.W @ r + self.W_in @ z + self.bias)

    def drive(self, r: Float[Array, " n"], u: Float[Array, " obs"]) -> Float[Array, " n"]:
        """The reservoir's next state when driven by the observation `u` (teacher forcing).

        **Arguments:**

        - `r`: a reservoir state (n,).
        - `u`: the observation at the state's time, (obs,), in raw units.

        **Returns:**

        The next state (n,).
        """
        return self._update(r, self.normalizer.normalize(u))

    def step(self, x: Float[Array, " dim"]) -> Float[Array, " dim"]:
        return self._update(x, self.readout(x))

    def observe(self, x: Float[Array, " dim"]) -> Float[Array, " obs"]:
        return self.normalizer.denormalize(self.readout(x))

    def synchronise(self, history: Float[Array, "history obs"]) -> Float[Array, " dim"]:
        history = jnp.asarray(history)
        if history.ndim != 2 or history.shape[1] != self.n_observed or history.shape[0] < 1:
            raise ValueError(
                f"`history` must have shape (rows >= 1, {self.n_observed}), got {history.shape}."
            )

        return _teacher_forced(self, history[:-1])

    def default_state(self) -> Float[Array, " dim"]:
        return self.initial_state


@eqx.filter_jit
def _teacher_forced(model: EchoStateNetwork, inputs: Array) -> Array:
    def body(r, u):
        return model.drive(r, u), None

    r, _ = jax.lax.scan(body, jnp.zeros(model.dim, model.initial_state.dtype), inputs)
    return r


# ----------------------------------------------------------------------------- training


def _chunk_rows(batch: int) -> int:
    # About 2048 feature rows per Gram update: large enough for an efficient matrix
    # product, small enough that a chunk's features stay small (2048 x 1201 doubles is
    # 20 MB).
    return max(8, 2048 // batch)


def _padded(trajectories: list[np.ndarray], normalizer: Normalizer, washout: int, chunk: int):
    """Normalised inputs (B, T, obs) padded to a multiple of `chunk` and the mask of the
    rows fitted (t >= washout - 1, t < the trajectory's length)."""
    longest = max(x.shape[0] for x in trajectories)
    T = -(-longest // chunk) * chunk
    obs = trajectories[0].shape[1]
    Z = np.zeros((len(trajectories), T, obs))
    mask = np.zeros((len(trajectories), T))
    for b, x in enumerate(trajectories):
        Z[b, : x.shape[0]] = np.asarray(normalizer.normalize(x))
        mask[b, washout - 1 : x.shape[0]] = 1.0
    return Z, mask


def _scan_chunks(model: EchoStateNetwork, Z: Array, mask: Array, chunk: int, acc0, update):
    # Teacher forcing over every trajectory at once: r_t is paired with z_t, then driven
    # by it; each chunk of `chunk` steps hands its features to `update`.
    B, T, obs = Z.shape
    Zc = jnp.transpose(Z.reshape(B, T // chunk, chunk, obs), (1, 2, 0, 3))
    Mc = jnp.transpose(mask.reshape(B, T // chunk, chunk), (1, 2, 0))
    feats = jax.vmap(model.feature_vector)
    drive = jax.vmap(model._update)

    def step(r, z):
        return drive(r, z), feats(r)

    def body(carry, inputs):
        r, acc = carry
        z, m = inputs
        r, F = jax.lax.scan(step, r, z)
        rows = F.shape[0] * F.shape[1]
        acc = update(acc, F.reshape(rows, -1), z.reshape(rows, obs), m.reshape(rows))
        return (r, acc), None

    r0 = jnp.zeros((B, model.dim), Z.dtype)
    (_, acc), _ = jax.lax.scan(body, (r0, acc0), (Zc, Mc))
    return acc


@eqx.filter_jit
def _normal_equations_xla(model: EchoStateNetwork, Z: Array, mask: Array, chunk: int):
    p = model.W_out.shape[1]

    def update(acc, F, Y, m):
        G, C = acc
        Fm = F * m[:, None]
        return G + Fm.T @ F, C + Fm.T @ Y

    zeros = (jnp.zeros((p, p), Z.dtype), jnp.zeros((p, Z.shape[-1]), Z.dtype))
    return _scan_chunks(model, Z, mask, chunk, zeros, update)


@eqx.filter_jit
def _teacher_states(model: EchoStateNetwork, r: Array, z: Array) -> tuple[Array, Array]:
    # Teacher forcing over (steps, B, obs) inputs: the states r_t (paired with z_t) and
    # the state after the last input.
    drive = jax.vmap(model._update)

    def step(r, z_t):
        return drive(r, z_t), r

    return jax.lax.scan(step, r, z)


def _normal_equations_host(
    model: EchoStateNetwork, Z: Array, mask: Array, chunk: int, keep_states: bool = False
):
    # The same sums, the reservoir run in JAX and F^T F formed by NumPy's BLAS: on a CPU
    # OpenBLAS's matrix product runs several times faster than XLA's for these
    # (features x rows) x (rows x features) products. The reservoir runs a block of
    # chunks at a time (states up to 256 MB), then BLAS takes the block: few switches
    # between the two thread pools, each of which spins for a while after its work.
    # With `keep_states` and a single block, the fitted rows' states are returned too,
    # so that the training error needs no second run of the reservoir.
    B, T, obs = Z.shape
    p = model.W_out.shape[1]
    n = model.dim
    per_block = max(1, (256 << 20) // (8 * n * B * chunk))
    Zt = jnp.transpose(Z, (1, 0, 2))
    Zn = np.asarray(Zt)
    Mn = np.asarray(mask).T
    G = np.zeros((p, p))
    C = np.zeros((p, obs))
    r = jnp.zeros((B, n), Z.dtype)
    kept: list[tuple[np.ndarray, np.ndarray]] | None = [] if keep_states else None
    if per_block * chunk < T:
        kept = None
    for start in range(0, T, per_block * chunk):
        stop = min(T, start + per_block * chunk)
        r, R = _teacher_states(model, r, Zt[start:stop])
        R = np.asarray(R)
        for lo in range(0, stop - start, chunk):
            keep = Mn[start + lo : start + lo + chunk].reshape(-1) > 0
            if not keep.any():
                continue
            rows = R[lo : lo + chunk].reshape(-1, n)[keep]
            targets = Zn[start + lo : start + lo + chunk].reshape(-1, obs)[keep]
            parts = [np.ones((rows.shape[0], 1)), rows]
            if model.features == "quadratic":
                parts.append(rows * rows)
            F = np.concatenate(parts, axis=1)
            G += F.T @ F
            C += F.T @ targets
            if kept is not None:
                kept.append((rows, targets))
    return jnp.asarray(G), jnp.asarray(C), kept


def _squared_errors_host(
    W_out: np.ndarray, features: str, kept: list[tuple[np.ndarray, np.ndarray]]
) -> np.ndarray:
    n = kept[0][0].shape[1]
    sse = np.zeros(W_out.shape[0])
    for rows, targets in kept:
        pred = W_out[:, 0] + rows @ W_out[:, 1 : n + 1].T
        if features == "quadratic":
            pred = pred + (rows * rows) @ W_out[:, n + 1 :].T
        sse += np.sum((pred - targets) ** 2, axis=0)
    return sse


def _normal_equations(
    model: EchoStateNetwork, Z: Array, mask: Array, chunk: int, keep_states: bool = False
):
    """(F^T F, F^T Z) over the fitted rows of every trajectory, and the fitted rows'
    states and targets when kept (see `_normal_equations_host`), else None."""
    if jax.default_backend() == "cpu":
        return _normal_equations_host(model, Z, mask, chunk, keep_states)
    G, C = _normal_equations_xla(model, Z, mask, chunk)
    return G, C, None


@eqx.filter_jit
def _squared_errors(model: EchoStateNetwork, Z: Array, mask: Array, chunk: int):
    def update(acc, F, Y, m):
        err = F @ model.W_out.T - Y
        return acc + jnp.sum(err * err * m[:, None], axis=0)

    return _scan_chunks(model, Z, mask, chunk, jnp.zeros(Z.shape[-1], Z.dtype), update)


@functools.partial(jax.jit, static_argnums=(1, 2, 3))
def _draws(key: PRNGKeyArray, n: int, obs: int, degree: int):
    k_values, k_in, k_bias = jax.random.split(key, 3)
    dtype = jnp.result_type(float)
    return (
        jax.random.normal(k_values, (n, degree), dtype),
        jax.random.uniform(k_in, (n, obs), dtype, minval=-1.0, maxval=1.0),
        jax.random.uniform(k_bias, (n,), dtype, minval=-1.0, maxval=1.0),
    )


def _inputs_of_units(key: PRNGKeyArray, n: int, degree: int) -> np.ndarray:
    # For each unit, `degree` distinct units it receives from: NumPy's Generator seeded
    # with the key's bits samples without replacement in O(degree) per unit.
    rng = np.random.default_rng(np.asarray(_key_data(key)).ravel())
    return np.stack([np.sort(rng.choice(n, size=degree, replace=False)) for _ in range(n)])


def spectral_radius_of(W: scipy.sparse.csr_matrix) -> float:
    """max |eigenvalue| of a square sparse matrix: ARPACK (implicitly restarted Arnoldi,
    a fixed start vector so that it repeats) above 200 rows, else (or if ARPACK fails
    to converge) LAPACK on the dense matrix."""
    n = int(W.get_shape()[0])
    if n > 200:
        try:
            top = scipy.sparse.linalg.eigs(
                W, k=1, which="LM", v0=np.ones(n), return_eigenvectors=False
            )
            return float(np.max(np.abs(top)))
        except scipy.sparse.linalg.ArpackNoConvergence:
            pass
    return float(np.max(np.abs(np.linalg.eigvals(W.toarray()))))


def _unit_reservoir(
    key: PRNGKeyArray, n: int, obs: int, density: float
) -> tuple[SparseMatrix, Array, Array]:
    """W with spectral radius 1 (every unit receiving from max(1, round(density n))
    distinct random units, standard normal weights), W_in and b uniform in [-1, 1]:
    every candidate of a grid scales these same draws. Every unit having an input, the
    graph of W has a cycle and the radius is positive (almost surely)."""
    degree = max(1, round(density * n))
    k_inputs, k_rest = jax.random.split(key)
    columns = _inputs_of_units(k_inputs, n, degree)
    values, W_in, bias = _draws(k_rest, n, obs, degree)
    W = SparseMatrix(columns=columns, values=values, n_columns=n)
    radius = spectral_radius_of(W.to_scipy())
    if not radius > 0:
        raise ValueError(
            f"`density` = {density} gives a recurrent matrix of spectral radius 0 for "
            f"n = {n}; raise `density`."
        )
    return eqx.tree_at(lambda m: m.values, W, W.values / radius), W_in, bias


class ESNFit(Result):
    """A fitted echo-state network and its record (what `fit_esn` returns).

    **Attributes:**

    - `model`: the `EchoStateNetwork` (a `cj.Map`).
    - `nmse`: the readout's one-step training error, teacher forced: the squared error
      over each coordinate's variance, averaged over the coordinates.
    - `validation_vpt`: (windows,) the valid prediction time (time units) of the
      closed-loop forecast from each validation window, or None without `validation`.
    - `search`: the grid and its validation scores (`SearchResult`), or None.

    Example:

    ```python
    res = cj.learn.fit_esn(xs, dt=0.02, key=jax.random.key(0), n=300)
    res.model, res.nmse
    ```
    """

    model: EchoStateNetwork
    nmse: Float[Array, ""]
    validation_vpt: Float[Array, " windows"] | None
    search: rc.SearchResult | None


def _checks() -> dict[str, Any]:
    return {
        "spectral_radius": lambda x, name: rc.finite_float(x, name, low=0.0, low_open=True),
        "leak": lambda x, name: rc.finite_float(x, name, low=0.0, low_open=True, high=1.0),
        "input_scaling": lambda x, name: rc.finite_float(x, name, low=0.0, low_open=True),
        "bias_scaling": lambda x, name: rc.finite_float(x, name, low=0.0, low_open=False),
        "ridge": rc.ridge_value,
    }


def fit_esn(
    data: Float[ArrayLike, "..."] | Sequence[Float[ArrayLike, "_time _obs"]],
    *,
    dt: float,
    key: PRNGKeyArray,
    n: int = 600,
    spectral_radius: float = 0.9,
    leak: float = 1.0,
    input_scaling: float = 0.25,
    bias_scaling: float = 0.5,
    density: float = 0.01,
    ridge: float = 1e-8,
    features: str = "quadratic",
    washout: int = 100,
    normalize: bool = True,
    search: Mapping[str, Sequence[Any]] | None = None,
    validation: Float[ArrayLike, "..."] | Sequence[Float[ArrayLike, "_time _obs"]] | None = None,
    validation_starts: int = 10,
    validation_steps: int | None = None,
    threshold: float = 0.4,
) -> ESNFit:
    """Fit an echo-state network to observed trajectories: a random sparse reservoir and
    a ridge-regression readout.

    The reservoir (Jaeger 2001, GMD Report 148; Pathak, Hunt, Girvan, Lu & Ott 2018,
    Phys. Rev. Lett. 120, 024102): every unit receives from max(1, round(`density` n))
    distinct random units with standard normal weights, rescaled to spectral radius
    `spectral_radius` (eigenvalues by ARPACK, or LAPACK up to 200 units); W_in and b are
    uniform in [-`input_scaling`, `input_scaling`] and [-`bias_scaling`, `bias_scaling`]. The
    observations are normalised (mean 0, standard deviation 1 per coordinate, with
    `normalize`), each trajectory drives its own reservoir from r = 0, and the states
    r_t with t >= `washout` - 1 are paired with the observation u_t they must read out.
    The readout solves the ridge normal equations
    (F^T F + ridge P) W_out^T = F^T U in float64, F the features [1, r] or [1, r, r^2],
    P the identity but for the constant's (unpenalised) weight; F^T F is accumulated
    block by block (reservoir states of at most 256 MB at a time; on a CPU the products
    by NumPy's BLAS, elsewhere inside XLA), so no (samples, features) matrix is stored.

    **Hyper-parameter search.** With `search` (e.g. {"spectral_radius": [0.8, 0.9, 1.0],
    "ridge": [1e-8, 1e-6, 1e-4]}) every point of the grid is fitted on `data` (the
    same random draws, rescaled; the normal equations are formed once per reservoir and
    solved for every ridge), and judged by the valid prediction time of closed-loop
    forecasts from `validation_starts` windows of `validation`: the first step at
    which the RMS error, over each coordinate's standard deviation in `validation`,
    exceeds `threshold` (Pathak et al. 2018). The point with the largest mean VPT is
    returned. Never pass test data as `validation`.

    **Arguments:**

    - `data`: observations sampled every `dt`: (time, obs), (member, time, obs) or a
      list of (time, obs) arrays; finite; every trajectory longer than `washout`.
    - `dt`: the sampling step (time units; 1 for a map), > 0.
    - `key`: PRNG key of the reservoir's random weights.
    - `n`: reservoir units (default 600).
    - `spectral_radius`: the largest |eigenvalue| of W, > 0 (default 0.9).
    - `leak`: the leak rate a in (0, 1] (default 1: no leak).
    - `input_scaling`: > 0 (default 0.25), in normalised units of the observations.
    - `bias_scaling`: >= 0 (default 0.5).
    - `density`: the fraction of nonzero entries of W, in (0, 1] (default 0.01): every
      unit receives from max(1, round(density n)) distinct random units.
    - `ridge`: the ridge weight, >= 0 (default 1e-8); it multiplies the identity added to
      F^T F (not scaled by the number of samples).
    - `features`: "quadratic" [1, r, r^2] (default) or "linear" [1, r].
    - `washout`: the observations that synchronise a reservoir (>= 1, default 100):
      `history_length` of the model, and the training rows t < washout - 1 are skipped.
    - `normalize`: normalise the observations (default True).
    - `search`: a grid, dict of name -> list of values over "spectral_radius", "leak",
      "input_scaling", "bias_scaling", "ridge" (default None: no search).
    - `validation`: validation trajectories (like `data`), needed with `search`; without
      `search` they are only scored (default None).
    - `validation_starts`: forecast windows spread over `validation` (default 10).
    - `validation_steps`: each window's forecast length in steps (default: half of
      what the shortest validation trajectory leaves after `washout` rows, so that the
      windows' starts spread over the other half).
    - `threshold`: the VPT's error threshold, > 0 (default 0.4).

    **Returns:**

    An `ESNFit` (`model`, `nmse`, `validation_vpt`, `search`). The model's
    `default_state()` is its state at the last row of the last training trajectory.

    Example:

    ```python
    lor = cj.systems.Lorenz63()
    xs = cj.trajectory(lor, lor.default_state(), steps=12_000, dt=0.02, transient=1_000)
    res = cj.learn.fit_esn(xs[:10_000], dt=0.02, key=jax.random.key(0), n=300,
                           validation=xs[10_000:], search={"ridge": [1e-8, 1e-6]})
    esn = res.model
    cj.lyapunov_spectrum(esn, esn.default_state(), steps=10_000, k=3).exponents  # ~0.9
    ```
    """
    trajectories = _trajectories(data, "data")
    obs = trajectories[0].shape[1]
    dt = v.positive_float(dt, "dt")
    n = v.positive_int(n, "n")
    key = v.prng_key(key)
    checks = _checks()
    base = {
        "spectral_radius": checks["spectral_radius"](spectral_radius, "spectral_radius"),
        "leak": checks["leak"](leak, "leak"),
        "input_scaling": checks["input_scaling"](input_scaling, "input_scaling"),
        "bias_scaling": checks["bias_scaling"](bias_scaling, "bias_scaling"),
        "ridge": checks["ridge"](ridge, "ridge"),
    }
    density = rc.finite_float(density, "density", low=0.0, low_open=True, high=1.0)
    v.one_of(features, "features", FEATURES)
    washout = v.positive_int(washout, "washout")
    if not isinstance(normalize, bool):
        raise ValueError(f"`normalize` must be a bool, got {normalize!r}.")
    threshold = rc.finite_float(threshold, "threshold", low=0.0, low_open=True)
    for i, x in enumerate(trajectories):
        if x.shape[0] <= washout:
            raise ValueError(
                f"`data` trajectory {i} has {x.shape[0]} rows; `washout` = {washout} needs "
                f"more than {washout}."
            )
    points = rc.grid(search, checks)
    if search is not None and validation is None:
        raise ValueError("`search` needs `validation` data to score the grid on.")
    val = None if validation is None else _trajectories(validation, "validation", obs)
    judged = rc.validation_windows(
        val, history=washout, starts=validation_starts, steps=validation_steps
    )

    stacked = np.concatenate(trajectories)
    if normalize:
        normalizer = Normalizer.fit(stacked)
    else:
        normalizer = Normalizer(mean=jnp.zeros(obs), scale=jnp.ones(obs))
    W1, W_in1, bias1 = _unit_reservoir(key, n, obs, density)
    chunk = _chunk_rows(len(trajectories))
    Z_np, mask_np = _padded(trajectories, normalizer, washout, chunk)
    Z, mask = jnp.asarray(Z_np), jnp.asarray(mask_np)
    p = n_features(features, n)

    def model_at(params: dict[str, float], W_out: Array) -> EchoStateNetwork:
        return EchoStateNetwork(
            W=eqx.tree_at(lambda m: m.values, W1, W1.values * params["spectral_radius"]),
            W_in=W_in1 * params["input_scaling"],
            bias=bias1 * params["bias_scaling"],
            W_out=W_out,
            leak=params["leak"],
            normalizer=normalizer,
            initial_state=jnp.zeros(n),
            features=features,
            dt=dt,
            washout=washout,
        )

    equations: dict[tuple[float, ...], Any] = {}
    # Keep the states for the training error when one reservoir is fitted (a grid over
    # reservoirs would keep one copy each).
    reservoirs = {tuple({**base, **q}[k] for k in RESERVOIR_PARAMETERS) for q in points}
    one_reservoir = len(reservoirs) == 1
    candidates, scores, kept_states = [], [], []
    for point in points:
        params = {**base, **point}
        reservoir = tuple(params[k] for k in RESERVOIR_PARAMETERS)
        if reservoir not in equations:
            blank = model_at(params, jnp.zeros((obs, p)))
            equations[reservoir] = _normal_equations(blank, Z, mask, chunk, one_reservoir)
        G, C, kept = equations[reservoir]
        kept_states.append(kept)
        W_out = rc.ridge_solve(G, C, jnp.asarray(params["ridge"]))
        if not bool(jnp.all(jnp.isfinite(W_out))):
            raise ValueError(
                f"the readout is not finite at {params}: the normal equations are singular; "
                "use `ridge` > 0."
            )
        model = model_at(params, W_out)
        candidates.append(model)
        if judged is not None:
            scores.append(rc.score(model, judged, threshold))
    best = 0
    search_result = None
    if search is not None:
        vpt = jnp.stack(scores)
        mean = jnp.mean(vpt, axis=1)
        best = int(jnp.argmax(mean))
        search_result = rc.SearchResult(parameters=tuple(points), vpt=vpt, mean_vpt=mean, best=best)
    model = candidates[best]

    kept = kept_states[best]
    if kept:
        sse = _squared_errors_host(np.asarray(model.W_out), features, kept)
    else:
        sse = np.asarray(_squared_errors(model, Z, mask, chunk))
    rows = mask_np.astype(bool)
    targets = Z_np[rows]
    sst = np.sum((targets - targets.mean(axis=0)) ** 2, axis=0)
    nmse = jnp.asarray(np.mean(sse / np.where(sst > 0, sst, 1.0)))
    last = trajectories[-1]
    model = eqx.tree_at(
        lambda m: m.initial_state, model, model.synchronise(jnp.asarray(last[-washout:]))
    )
    return ESNFit(
        model=model,
        nmse=nmse,
        validation_vpt=scores[best] if scores else None,
        search=search_result,
    )
