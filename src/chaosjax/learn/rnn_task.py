"""Recurrent networks trained on a sequence task, kept as the dynamical systems they are.

A trained recurrent network is an input-driven map h_{t+1} = F(h_t, u_t) with learned
parameters (E. Shlizerman, "Artificial Neural Networks are a New Kind of Dynamical
Systems", UW Applied Mathematics, 2023). Here the cell of a classifier IS a
`cj.systems.RNN`, `GRU` or `LSTM`, and the classifier itself is a `cj.systems.DrivenMap`
whose state is the cell's, so `cj.lyapunov_spectrum(classifier, x0, ..., inputs=us)`
computes the spectrum of the trained network directly (Vogt, Puelma Touzel, Shlizerman
& Lajoie 2022, "On Lyapunov exponents for RNNs: understanding information propagation
using dynamical systems tools", Front. Appl. Math. Stat. 8).

The task, `DelayedParity`, asks for the parity (the XOR for two delays) of bits shown
a few steps before the end of a stream of noisy bits. It needs memory over the delays
and a nonlinear readout of what is remembered, so the accuracy a network reaches depends
on its initial gain, width and learning rate: some networks solve it, some stay at
chance. Its input distribution is stationary, so the same stream drives the networks
for their spectra.

`fit_classifiers` trains many networks of one shape at once: one compiled `jax.vmap`
over networks of a `lax.scan` over Adam steps, with a learning rate per network.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jaxtyping import Array, ArrayLike, Float, Key, PRNGKeyArray

from .. import _validate as v
from .._results import Result
from ..systems import GRU, LSTM, RNN, DrivenMap

__all__ = ["ClassifierFit", "DelayedParity", "RecurrentClassifier", "fit_classifiers"]

Cell = RNN | GRU | LSTM


class DelayedParity(eqx.Module):
    """The delayed-parity task on a stream of noisy bits.

    Each step shows one input u_t = s_t + `noise` * xi_t, with bits s_t = +-1 equally
    likely and xi_t standard normal, all independent. After `length` steps the label is
    the product (the parity, in +-1) of the bits shown `delays` steps before the last
    one, s_{T-1-d} for d in `delays`. One delay is delayed recall; two are the delayed
    XOR, a memory task with a nonlinear readout in the tradition of the delayed-XOR and
    parity benchmarks of Bengio, Simard & Frasconi (1994), IEEE Trans. Neural Netw. 5,
    157, and Hochreiter & Schmidhuber (1997), Neural Comput. 9, 1735.

    The best possible accuracy (`bayes_accuracy`) follows from the noise alone: each bit
    is read from its own input as sign(u), wrong with probability
    q = Phi(-1/noise), and the parity of k bits is right when an even number of them is
    wrong, (1 + (1 - 2q)^k) / 2.

    **Arguments:**

    - `length`: steps per sequence T (default 20).
    - `delays`: distinct delays d, 0 <= d < `length` (d = 0 is the last input); default
      (3, 8).
    - `noise`: the standard deviation of the noise on each bit, >= 0 (default 0.5).

    Example:

    ```python
    task = cj.learn.DelayedParity(length=20, delays=(3, 8), noise=0.5)
    us, labels = task.sample(jax.random.key(0), 100)    # (100, 20, 1), (100,)
    task.bayes_accuracy                                 # 0.955
    ```
    """

    length: int = eqx.field(default=20, static=True)
    delays: tuple[int, ...] = eqx.field(default=(3, 8), static=True)
    noise: float = eqx.field(default=0.5, static=True)

    def __check_init__(self):
        v.positive_int(self.length, "length")
        delays = self.delays
        if (
            not isinstance(delays, tuple)
            or not delays
            or any(isinstance(d, bool) or not isinstance(d, int) for d in delays)
            or len(set(delays)) != len(delays)
            or min(delays) < 0
            or max(delays) >= self.length
        ):
            raise ValueError(
                f"`delays` must be a non-empty tuple of distinct ints in [0, length) = "
                f"[0, {self.length}), got {delays!r}."
            )
        if (
            isinstance(self.noise, bool)
            or not isinstance(self.noise, (int, float))
            or not math.isfinite(self.noise)
            or self.noise < 0
        ):
            raise ValueError(f"`noise` must be a finite float >= 0, got {self.noise!r}.")

    @property
    def n_inputs(self) -> int:
        """1: one noisy bit per step."""
        return 1

    @property
    def bayes_accuracy(self) -> float:
        """The accuracy of the optimal classifier, (1 + (1 - 2q)^k) / 2."""
        if self.noise == 0:
            return 1.0
        q = 0.5 * math.erfc(1.0 / (self.noise * math.sqrt(2.0)))
        return 0.5 * (1.0 + (1.0 - 2.0 * q) ** len(self.delays))

    def _stream(self, key: PRNGKeyArray, shape: tuple[int, ...]) -> tuple[Array, Array]:
        kb, kn = jax.random.split(key)
        bits = jnp.where(jax.random.bernoulli(kb, 0.5, shape), 1.0, -1.0)
        return bits, bits + self.noise * jax.random.normal(kn, shape, bits.dtype)

    def sample(
        self, key: PRNGKeyArray, n: int
    ) -> tuple[Float[Array, "n length 1"], Float[Array, " n"]]:
        """`n` sequences and their labels.

        **Arguments:**

        - `key`: a JAX PRNG key.
        - `n`: the number of sequences (a static int).

        **Returns:**

        `(inputs, labels)`: inputs (n, length, 1), labels (n,) in {-1, +1}.
        """
        bits, us = self._stream(key, (n, self.length))
        picked = jnp.stack([bits[:, self.length - 1 - d] for d in self.delays])
        return us[..., None], jnp.prod(picked, axis=0)

    def stream(self, key: PRNGKeyArray, steps: int) -> Float[Array, "steps 1"]:
        """One long input sequence from the task's (stationary) input distribution: what
        drives a network for its Lyapunov spectrum.

        **Arguments:**

        - `key`: a JAX PRNG key.
        - `steps`: its length (a static int).

        **Returns:**

        The inputs, shape (steps, 1).
        """
        return self._stream(key, (steps,))[1][:, None]


class RecurrentClassifier(DrivenMap):
    """A recurrent network with a linear readout of its last hidden state: a binary
    classifier of sequences that is also the input-driven map of its cell.

    From x_0 = 0 the cell runs over the inputs, x_{t+1} = F(x_t, u_t); the logit is
    w . h_T + b with h_T = `cell.hidden(x_T)` (for an LSTM the hidden output, not the
    cell state). As a `cj.systems.DrivenMap` its state, `driven_step`, `step` and
    `default_state` are the cell's, so `cj.lyapunov_spectrum(clf, x0, ..., inputs=us)`
    is the spectrum of the trained network (Vogt et al. 2022, Front. Appl. Math. Stat. 8).

    **Arguments:**

    - `cell`: a `cj.systems.RNN`, `GRU` or `LSTM`.
    - `weights`: the readout, shape (n,), n the cell's `hidden_size`.
    - `bias`: the readout's bias, a scalar.

    Example:

    ```python
    cell = cj.systems.GRU.random(jax.random.key(0), 16, n_inputs=1, g=1.5)
    clf = cj.learn.RecurrentClassifier.init(jax.random.key(1), cell)
    us, labels = cj.learn.DelayedParity().sample(jax.random.key(2), 8)
    clf.logits(us)                                   # (8,)
    ```
    """

    cell: Cell
    weights: Float[Array, " n"] = eqx.field(converter=jnp.asarray)
    bias: Float[Array, ""] = eqx.field(converter=jnp.asarray)

    name: ClassVar[str] = "recurrent_classifier"

    def __check_init__(self):
        if not isinstance(self.cell, (RNN, GRU, LSTM)):
            raise ValueError(
                f"`cell` must be a cj.systems.RNN, GRU or LSTM, got {type(self.cell).__name__}."
            )
        n = self.cell.hidden_size
        if self.weights.shape != (n,) or self.bias.shape != ():
            raise ValueError(
                f"`weights` must have shape ({n},) (the cell's hidden size) and `bias` shape "
                f"(), got {self.weights.shape} and {self.bias.shape}."
            )

    @classmethod
    def init(cls, key: PRNGKeyArray, cell: Cell) -> RecurrentClassifier:
        """A readout with weights N(0, 1/n) and zero bias on `cell`.

        **Arguments:**

        - `key`: a JAX PRNG key.
        - `cell`: a `cj.systems.RNN`, `GRU` or `LSTM`.

        **Returns:**

        A `RecurrentClassifier`.
        """
        n = cell.hidden_size
        w = jax.random.normal(key, (n,)) / math.sqrt(n)
        return cls(cell=cell, weights=w, bias=jnp.zeros((), w.dtype))

    @property
    def dim(self) -> int:
        return self.cell.dim

    @property
    def n_inputs(self) -> int:
        return self.cell.n_inputs

    def driven_step(self, x: Float[Array, " dim"], u: Float[Array, " m"]) -> Float[Array, " dim"]:
        """The cell's step x_{t+1} = F(x_t, u_t)."""
        return self.cell.driven_step(x, u)

    def default_state(self) -> Float[Array, " dim"]:
        return self.cell.default_state()

    def logit(self, inputs: Float[Array, "T m"]) -> Float[Array, ""]:
        """The logit w . h_T + b of one sequence, from the zero state."""
        x0 = jnp.zeros(self.dim, self.weights.dtype)
        xT, _ = jax.lax.scan(lambda x, u: (self.cell.driven_step(x, u), None), x0, inputs)
        return self.cell.hidden(xT) @ self.weights + self.bias

    def logits(self, inputs: Float[Array, "batch T m"]) -> Float[Array, " batch"]:
        """`logit` of each sequence of a batch."""
        return jax.vmap(self.logit)(inputs)


class ClassifierFit(Result):
    """Networks trained together by `fit_classifiers`.

    **Attributes:**

    - `models`: the trained `RecurrentClassifier`s, stacked: every array leaf has a
      leading axis of length `networks` (index one with
      `jax.tree.map(lambda a: a[i], fit.models)`).
    - `accuracy`: (networks,) accuracy on `test_size` fresh sequences per network.
    - `test_loss`: (networks,) the mean logistic loss on them.
    - `loss`: (networks, steps) the training loss at every step.

    Example:

    ```python
    fit = cj.learn.fit_classifiers(cells, task, learning_rates=1e-2, key=key)
    fit.accuracy, fit.loss[:, -1]
    ```
    """

    models: RecurrentClassifier
    accuracy: Float[Array, " networks"]
    test_loss: Float[Array, " networks"]
    loss: Float[Array, "networks steps"]

    def model(self, i: int) -> RecurrentClassifier:
        """The i-th trained network."""
        return jax.tree.map(lambda a: a[i], self.models)


def _logistic_loss(model: RecurrentClassifier, inputs: Array, labels: Array) -> Array:
    # -log sigmoid(y z) for labels y = +-1: the binary cross-entropy.
    return jnp.mean(jax.nn.softplus(-labels * model.logits(inputs)))


def _stack(cells: Any) -> Cell:
    cells = list(cells) if isinstance(cells, (list, tuple)) else [cells]
    if not cells:
        raise ValueError("`cells` must hold at least one network, got none.")
    for c in cells:
        if not isinstance(c, (RNN, GRU, LSTM)):
            raise ValueError(
                f"`cells` must be cj.systems.RNN, GRU or LSTM networks, got {type(c).__name__}."
            )
    first = cells[0]
    struct = jax.tree.structure(first)
    shapes = [a.shape for a in jax.tree.leaves(first)]
    for i, c in enumerate(cells):
        if jax.tree.structure(c) != struct or [a.shape for a in jax.tree.leaves(c)] != shapes:
            raise ValueError(
                f"`cells` must share one type and shape (they train in one vmap); network "
                f"{i} ({type(c).__name__}, hidden size {c.hidden_size}) differs from network "
                f"0 ({type(first).__name__}, hidden size {first.hidden_size})."
            )
    return jax.tree.map(lambda *a: jnp.stack(a), *cells)


def _rates(learning_rates: Any, n: int) -> Array:
    try:
        lr = np.broadcast_to(np.asarray(learning_rates, dtype=float), (n,))
    except (TypeError, ValueError):
        raise ValueError(
            f"`learning_rates` must be a positive float or one per network ({n}), got "
            f"{learning_rates!r}."
        ) from None
    if not np.all(np.isfinite(lr)) or np.any(lr <= 0):
        raise ValueError(f"`learning_rates` must be positive and finite, got {learning_rates!r}.")
    return jnp.asarray(lr)


def _network_keys(key: Any, n: int) -> Array:
    if not isinstance(key, jax.Array) or not jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        raise ValueError(f"`key` must be a typed JAX key (jax.random.key), got {key!r}.")
    if key.shape == ():
        return jax.vmap(lambda i: jax.random.fold_in(key, i))(jnp.arange(n))
    if key.shape != (n,):
        raise ValueError(f"`key` must be one key or one per network ({n}), got shape {key.shape}.")
    return key


def fit_classifiers(
    cells: Cell | Sequence[Cell],
    task: DelayedParity,
    *,
    key: PRNGKeyArray | Key[Array, " networks"],
    learning_rates: float | Sequence[float] | Float[ArrayLike, " networks"] = 1e-2,
    steps: int = 1_500,
    batch_size: int = 64,
    test_size: int = 4_000,
    clip: float = 1.0,
) -> ClassifierFit:
    """Train recurrent classifiers on `task`, many networks of one shape at once.

    Each network is a `RecurrentClassifier` on its cell (readout N(0, 1/n)), trained
    from that cell by Adam (Kingma & Ba 2015, arXiv:1412.6980) on the logistic loss,
    with fresh sequences every step, gradients clipped to global norm `clip` (Pascanu,
    Mikolov & Bengio 2013, "On the difficulty of training recurrent neural networks",
    ICML) and its own learning rate: the optax update is `clip_by_global_norm` then
    `scale_by_adam`, scaled by -lr of the network. The whole run is one compiled
    `jax.vmap` over networks of one `lax.scan` over steps, which is why this is not
    `cj.learn.fit` (one optimiser, hence one learning rate, for all its restarts, and
    a fixed data set). A step whose loss or gradient is not finite is skipped. The final
    parameters are kept, and each network is scored on `test_size` fresh sequences.

    **Arguments:**

    - `cells`: the initial networks, `cj.systems.RNN`, `GRU` or `LSTM` of one type and
      shape (a list, or one network), with `n_inputs` equal to the task's.
    - `task`: a `DelayedParity` task.
    - `key`: a JAX key, split per network by `fold_in(key, i)`, or one key per network
      (shape (networks,)). A network's key gives its readout, its training sequences
      and its test sequences.
    - `learning_rates`: Adam's learning rate, one float or one per network (default
      1e-2).
    - `steps`: Adam steps (default 1500).
    - `batch_size`: sequences per step (default 64).
    - `test_size`: fresh sequences on which accuracy is measured (default 4000).
    - `clip`: the global gradient-norm clip (default 1).

    **Returns:**

    A `ClassifierFit`: the stacked `models`, `accuracy`, `test_loss` and the
    training `loss` (networks, steps).

    Example:

    ```python
    task = cj.learn.DelayedParity()
    cells = [cj.systems.RNN.random(jax.random.key(s), 16, n_inputs=1, g=g)
             for s, g in [(0, 0.5), (0, 1.5)]]
    fit = cj.learn.fit_classifiers(cells, task, learning_rates=[1e-2, 1e-2],
                                   key=jax.random.key(1), steps=500)
    fit.accuracy          # (2,): between chance (0.5) and task.bayes_accuracy
    ```
    """
    if not isinstance(task, DelayedParity):
        raise ValueError(f"`task` must be a cj.learn.DelayedParity, got {task!r}.")
    stacked = _stack(cells)
    first = jax.tree.map(lambda a: a[0], stacked)
    if first.n_inputs != task.n_inputs:
        raise ValueError(
            f"`cells` take {first.n_inputs} inputs per step, the task gives {task.n_inputs}."
        )
    n = int(jax.tree.leaves(stacked)[0].shape[0])
    lr = _rates(learning_rates, n)
    keys = _network_keys(key, n)
    steps = v.positive_int(steps, "steps")
    batch_size = v.positive_int(batch_size, "batch_size")
    test_size = v.positive_int(test_size, "test_size")
    clip = v.positive_float(clip, "clip")
    return _train(stacked, lr, keys, task, steps, batch_size, test_size, clip)


@eqx.filter_jit
def _train(cells, lr, keys, task, steps, batch_size, test_size, clip):
    opt = optax.chain(optax.clip_by_global_norm(clip), optax.scale_by_adam())

    def one(cell, rate, key):
        k_init, k_train, k_test = jax.random.split(key, 3)
        model = RecurrentClassifier.init(k_init, cell)
        params, static = eqx.partition(model, eqx.is_inexact_array)
        state = opt.init(params)
        grad = jax.value_and_grad(lambda p, us, y: _logistic_loss(eqx.combine(p, static), us, y))

        def body(carry, i):
            params, state = carry
            us, y = task.sample(jax.random.fold_in(k_train, i), batch_size)
            loss, g = grad(params, us, y)
            # optax mixes its int32 step count with float decay rates, which strict
            # promotion (`jax_numpy_dtype_promotion="strict"`) refuses: standard here.
            with jax.numpy_dtype_promotion("standard"):
                direction, new_state = opt.update(g, state)
            new = jax.tree.map(lambda p, d: p - rate * d, params, direction)
            finite = jnp.isfinite(loss) & jnp.all(
                jnp.stack([jnp.all(jnp.isfinite(a)) for a in jax.tree.leaves(g)])
            )
            keep = lambda a, b: jnp.where(finite, a, b)
            return (jax.tree.map(keep, new, params), jax.tree.map(keep, new_state, state)), loss

        (params, _), losses = jax.lax.scan(body, (params, state), jnp.arange(steps))
        model = eqx.combine(params, static)
        us, y = task.sample(k_test, test_size)
        z = model.logits(us)
        accuracy = jnp.mean(jnp.where(z * y > 0, 1.0, 0.0))
        test_loss = jnp.mean(jax.nn.softplus(-y * z))
        return model, accuracy, test_loss, losses

    models, accuracy, test_loss, losses = jax.vmap(one)(cells, lr, keys)
    return ClassifierFit(models=models, accuracy=accuracy, test_loss=test_loss, loss=losses)
