"""Recurrent neural networks as input-driven maps.

Trained networks are dynamical systems of their own kind: nonlinear, high-dimensional,
non-autonomous and with learned parameters, and their Lyapunov spectra describe them
(E. Shlizerman, "Artificial Neural Networks are a New Kind of Dynamical Systems", UW
Applied Mathematics, 2023,
https://amath.washington.edu/news/2023/09/05/artificial-neural-networks-are-new-kind-dynamical-systems).
An RNN's hidden state evolves by h_{t+1} = F(h_t, u_t): a map driven by an input
sequence. `step(h)` is the autonomous map (zero input); `driven_step(h, u)` takes
the input, and `cj.lyapunov_spectrum(rnn, h0, steps=..., inputs=us)` computes the
spectrum of the driven (non-autonomous) map (Engelken, Wolf & Abbott 2020, "Lyapunov
spectra of chaotic recurrent neural networks", arXiv:2006.02427; Vogt et al. 2022,
Front. Appl. Math. Stat. 8). `RNN` (tanh), `GRU` and `LSTM` (whose state is the
pair (h, c)) share the interface; `hidden(x)` is the output a readout sees. Weights are
array leaves, so a trained network's weights
can be dropped in, and `vmap` over a gain sweeps random networks in one call.
"""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from .._validate import nonnegative_int, positive_int, prng_key
from ._base import DrivenMap, _as_float

Scalar = Float[ArrayLike, ""]


def _weight():
    return eqx.field(converter=_as_float)


def _gaussian(key: PRNGKeyArray, shape: tuple[int, int], scale: Scalar) -> Array:
    """Weights N(0, scale^2 / fan-in), the fan-in being the number of columns."""
    return jnp.asarray(scale * jax.random.normal(key, shape) / jnp.sqrt(float(max(shape[1], 1))))


def _hidden_state(n: int, dtype) -> Float[Array, " n"]:
    """Off the trivial fixed point h = 0 (with zero biases), deterministically."""
    return 0.5 * jnp.sin(1.7 * jnp.arange(n, dtype=dtype) + 0.3)


class RNN(DrivenMap):
    """A vanilla tanh RNN: h_{t+1} = tanh(W h_t + U u_t + b).

    `W` (n, n) recurrent weights, `U` (n, n_inputs) input weights (n_inputs may be 0),
    `b` (n,) biases. `RNN.random(key, n, g=...)` draws W_ij ~ N(0, g^2 / n), the
    ensemble of Sompolinsky, Crisanti & Sommers (1988) in discrete time: without input
    the largest exponent crosses zero near g = 1 for large n (Engelken et al. 2020).

    The Jacobian is analytic: diag(1 - h_{t+1}^2) W.

    **Arguments:**

    - `W`: recurrent weights, shape (n, n).
    - `U`: input weights, shape (n, n_inputs); n_inputs may be 0.
    - `b`: biases, shape (n,).

    Example:

    ```python
    net = cj.systems.RNN.random(jax.random.key(0), 100, g=2.0)
    cj.lyapunov_spectrum(net, net.default_state(), steps=2_000, k=4).exponents
    ```
    """

    W: Float[Array, "n n"] = _weight()
    U: Float[Array, "n m"] = _weight()
    b: Float[Array, " n"] = _weight()

    name: ClassVar[str] = "rnn"
    description: ClassVar[str] = "A vanilla tanh recurrent network driven by inputs"
    sample_scale: ClassVar[float] = 0.5

    def __check_init__(self):
        n = self.W.shape[0]
        if (
            self.W.shape != (n, n)
            or self.U.ndim != 2
            or self.U.shape[0] != n
            or (self.b.shape != (n,))
        ):
            raise ValueError(
                f"RNN weights must be W (n, n), U (n, n_inputs), b (n,); got W "
                f"{self.W.shape}, U {self.U.shape}, b {self.b.shape}."
            )

    @classmethod
    def random(
        cls,
        key: object,
        n: object,
        *,
        n_inputs: int = 0,
        g: Scalar = 1.0,
        input_scale: Scalar = 1.0,
        bias_scale: Scalar = 0.0,
    ) -> RNN:
        """A random network: W ~ N(0, g^2/n), U ~ N(0, input_scale^2/n_inputs),
        b ~ N(0, bias_scale^2).

        **Arguments:**

        - `key`: a JAX PRNG key.
        - `n`: the number of hidden units.
        - `n_inputs`: the length of an input vector, default 0 (autonomous).
        - `g`: the gain of the recurrent weights, default 1; may be traced (a `vmap`
          over gains builds a batch of networks).
        - `input_scale`, `bias_scale`: the scales of U and b, default 1 and 0.

        **Returns:**

        An `RNN`.

        Example:

        ```python
        nets = jax.vmap(lambda g: cj.systems.RNN.random(jax.random.key(0), 50, g=g))(
            jnp.linspace(0.5, 2.0, 8)
        )
        ```
        """
        checked, n = prng_key(key), positive_int(n, "n")
        n_inputs = nonnegative_int(n_inputs, "n_inputs")
        kw, ku, kb = jax.random.split(checked, 3)
        b = jnp.asarray(bias_scale * jax.random.normal(kb, (n,)))
        return cls(W=_gaussian(kw, (n, n), g), U=_gaussian(ku, (n, n_inputs), input_scale), b=b)

    @property
    def dim(self) -> int:
        return int(self.W.shape[0])

    def variable_names(self) -> tuple[str, ...]:
        """h1, ..., hn: the hidden units."""
        return tuple(f"h{i + 1}" for i in range(self.dim))

    @property
    def hidden_size(self) -> int:
        """n, the number of hidden units (the state's dimension)."""
        return int(self.W.shape[0])

    @property
    def n_inputs(self) -> int:
        return int(self.U.shape[1])

    def step(self, x: Float[Array, " n"]) -> Float[Array, " n"]:
        return jnp.tanh(self.W @ x + self.b)

    def driven_step(self, x: Float[Array, " n"], u: Float[Array, " m"]) -> Float[Array, " n"]:
        """h_{t+1} given the input u_t."""
        return jnp.tanh(self.W @ x + self.U @ u + self.b)

    def hidden(self, x: Float[Array, " n"]) -> Float[Array, " n"]:
        """The hidden output h: the state itself."""
        return x

    def jacobian(self, x: Float[Array, " n"]) -> Float[Array, "n n"]:
        h = self.step(x)
        return (1.0 - h * h)[:, None] * self.W

    def default_state(self) -> Float[Array, " n"]:
        return _hidden_state(self.dim, self.W.dtype)


class GRU(DrivenMap):
    """A gated recurrent unit (Cho et al. 2014) as an input-driven map:

        z = sigmoid(Wz h + Uz u + bz),  r = sigmoid(Wr h + Ur u + br),
        c = tanh(Wh (r * h) + Uh u + bh),  h' = (1 - z) * h + z * c.

    Weights are array leaves; `GRU.random(key, n, g=...)` draws recurrent weights
    N(0, g^2/n) and input weights N(0, 1/n_inputs).

    **Arguments:**

    - `Wz`, `Wr`, `Wh`: recurrent weights of the update gate, reset gate and
      candidate, each (n, n).
    - `Uz`, `Ur`, `Uh`: their input weights, each (n, n_inputs).
    - `bz`, `br`, `bh`: their biases, each (n,).

    Example:

    ```python
    gru = cj.systems.GRU.random(jax.random.key(0), 32, n_inputs=2, g=1.5)
    us = jax.random.normal(jax.random.key(1), (1_000, 2))
    cj.lyapunov_spectrum(gru, gru.default_state(), steps=1_000, k=3, inputs=us)
    ```
    """

    Wz: Float[Array, "n n"] = _weight()
    Wr: Float[Array, "n n"] = _weight()
    Wh: Float[Array, "n n"] = _weight()
    Uz: Float[Array, "n m"] = _weight()
    Ur: Float[Array, "n m"] = _weight()
    Uh: Float[Array, "n m"] = _weight()
    bz: Float[Array, " n"] = _weight()
    br: Float[Array, " n"] = _weight()
    bh: Float[Array, " n"] = _weight()

    name: ClassVar[str] = "gru"
    description: ClassVar[str] = "A gated recurrent unit driven by inputs"
    sample_scale: ClassVar[float] = 0.5

    @classmethod
    def random(
        cls,
        key: object,
        n: object,
        *,
        n_inputs: int = 0,
        g: Scalar = 1.0,
        input_scale: Scalar = 1.0,
    ) -> GRU:
        """A random GRU: recurrent weights N(0, g^2/n), input weights
        N(0, input_scale^2/n_inputs), zero biases.

        **Arguments:**

        - `key`: a JAX PRNG key.
        - `n`: the number of hidden units.
        - `n_inputs`: the length of an input vector, default 0.
        - `g`, `input_scale`: the scales of the recurrent and input weights, default 1.

        **Returns:**

        A `GRU`.

        Example:

        ```python
        gru = cj.systems.GRU.random(jax.random.key(0), 16, n_inputs=3)
        ```
        """
        checked, n = prng_key(key), positive_int(n, "n")
        n_inputs = nonnegative_int(n_inputs, "n_inputs")
        ks = jax.random.split(checked, 6)
        Wz, Wr, Wh = (_gaussian(k, (n, n), g) for k in ks[:3])
        Uz, Ur, Uh = (_gaussian(k, (n, n_inputs), input_scale) for k in ks[3:])
        zero = jnp.zeros(n)
        return cls(Wz=Wz, Wr=Wr, Wh=Wh, Uz=Uz, Ur=Ur, Uh=Uh, bz=zero, br=zero, bh=zero)

    @property
    def dim(self) -> int:
        return int(self.Wz.shape[0])

    def variable_names(self) -> tuple[str, ...]:
        """h1, ..., hn: the hidden units."""
        return tuple(f"h{i + 1}" for i in range(self.dim))

    @property
    def hidden_size(self) -> int:
        """n, the number of hidden units (the state's dimension)."""
        return int(self.Wz.shape[0])

    def __check_init__(self):
        n = self.Wz.shape[0] if self.Wz.ndim == 2 else -1
        m = self.Uz.shape[1] if self.Uz.ndim == 2 else -1
        expected = {"W": (n, n), "U": (n, m), "b": (n,)}
        for gate in "zrh":
            for kind, shape in expected.items():
                name = kind + gate
                got = getattr(self, name).shape
                if n < 0 or m < 0 or got != shape:
                    raise ValueError(
                        f"GRU field `{name}` must have shape {shape} (n = {n} hidden units, "
                        f"n_inputs = {m}, from `Wz` and `Uz`), got {got}."
                    )

    @property
    def n_inputs(self) -> int:
        return int(self.Uz.shape[1])

    def hidden(self, x: Float[Array, " n"]) -> Float[Array, " n"]:
        """The hidden output h: the state itself."""
        return x

    def driven_step(self, x: Float[Array, " n"], u: Float[Array, " m"]) -> Float[Array, " n"]:
        """h_{t+1} given the input u_t."""
        z = jax.nn.sigmoid(self.Wz @ x + self.Uz @ u + self.bz)
        r = jax.nn.sigmoid(self.Wr @ x + self.Ur @ u + self.br)
        c = jnp.tanh(self.Wh @ (r * x) + self.Uh @ u + self.bh)
        return (1.0 - z) * x + z * c

    def default_state(self) -> Float[Array, " n"]:
        return _hidden_state(self.dim, self.Wz.dtype)


class LSTM(DrivenMap):
    """A long short-term memory network (Hochreiter & Schmidhuber 1997, Neural Comput.
    9, 1735; forget gate of Gers, Schmidhuber & Cummins 2000, Neural Comput. 12, 2451)
    as an input-driven map on the concatenated state x = (h, c) of dimension 2n:

        i = sigmoid(Wi h + Ui u + bi),  f = sigmoid(Wf h + Uf u + bf),
        o = sigmoid(Wo h + Uo u + bo),  g = tanh(Wg h + Ug u + bg),
        c' = f * c + i * g,  h' = o * tanh(c').

    The cell state c is part of the dynamical state: the Lyapunov spectrum has 2n
    exponents, as in Vogt, Puelma Touzel, Shlizerman & Lajoie (2022), "On Lyapunov
    exponents for RNNs", Front. Appl. Math. Stat. 8. The hidden output h is the first n
    coordinates (`hidden(x)`). `LSTM.random(key, n, g=...)` draws recurrent weights
    N(0, g^2/n), input weights N(0, input_scale^2/n_inputs), zero biases except the
    forget gate's (1 by default: Jozefowicz, Zaremba & Sutskever 2015, "An empirical
    exploration of recurrent network architectures", ICML).

    **Arguments:**

    - `Wi`, `Wf`, `Wg`, `Wo`: recurrent weights of the input, forget and output gates
      and of the candidate g, each (n, n).
    - `Ui`, `Uf`, `Ug`, `Uo`: their input weights, each (n, n_inputs); n_inputs may be 0.
    - `bi`, `bf`, `bg`, `bo`: their biases, each (n,).

    Example:

    ```python
    lstm = cj.systems.LSTM.random(jax.random.key(0), 16, n_inputs=2, g=1.5)
    us = jax.random.normal(jax.random.key(1), (1_000, 2))
    cj.lyapunov_spectrum(lstm, lstm.default_state(), steps=1_000, k=4, inputs=us)
    ```
    """

    Wi: Float[Array, "n n"] = _weight()
    Wf: Float[Array, "n n"] = _weight()
    Wg: Float[Array, "n n"] = _weight()
    Wo: Float[Array, "n n"] = _weight()
    Ui: Float[Array, "n m"] = _weight()
    Uf: Float[Array, "n m"] = _weight()
    Ug: Float[Array, "n m"] = _weight()
    Uo: Float[Array, "n m"] = _weight()
    bi: Float[Array, " n"] = _weight()
    bf: Float[Array, " n"] = _weight()
    bg: Float[Array, " n"] = _weight()
    bo: Float[Array, " n"] = _weight()

    name: ClassVar[str] = "lstm"
    description: ClassVar[str] = "A long short-term memory network driven by inputs"
    sample_scale: ClassVar[float] = 0.5

    def __check_init__(self):
        n = self.Wi.shape[0] if self.Wi.ndim == 2 else -1
        m = self.Ui.shape[1] if self.Ui.ndim == 2 else -1
        expected = {"W": (n, n), "U": (n, m), "b": (n,)}
        for gate in "ifgo":
            for kind, shape in expected.items():
                name = kind + gate
                got = getattr(self, name).shape
                if n < 0 or m < 0 or got != shape:
                    raise ValueError(
                        f"LSTM field `{name}` must have shape {shape} (n = {n} hidden units, "
                        f"n_inputs = {m}, from `Wi` and `Ui`), got {got}."
                    )

    @classmethod
    def random(
        cls,
        key: object,
        n: object,
        *,
        n_inputs: int = 0,
        g: Scalar = 1.0,
        input_scale: Scalar = 1.0,
        forget_bias: Scalar = 1.0,
    ) -> LSTM:
        """A random LSTM: recurrent weights N(0, g^2/n), input weights
        N(0, input_scale^2/n_inputs), forget-gate biases `forget_bias`, other biases 0.

        **Arguments:**

        - `key`: a JAX PRNG key.
        - `n`: the number of hidden units (the state has 2n coordinates).
        - `n_inputs`: the length of an input vector, default 0.
        - `g`, `input_scale`: the scales of the recurrent and input weights, default 1;
          may be traced (a `vmap` over gains builds a batch of networks).
        - `forget_bias`: the forget gate's bias, default 1 (Jozefowicz et al. 2015).

        **Returns:**

        An `LSTM`.

        Example:

        ```python
        lstm = cj.systems.LSTM.random(jax.random.key(0), 16, n_inputs=3)
        lstm.dim        # 32: h and c
        ```
        """
        checked, n = prng_key(key), positive_int(n, "n")
        n_inputs = nonnegative_int(n_inputs, "n_inputs")
        ks = jax.random.split(checked, 8)
        Wi, Wf, Wg, Wo = (_gaussian(k, (n, n), g) for k in ks[:4])
        Ui, Uf, Ug, Uo = (_gaussian(k, (n, n_inputs), input_scale) for k in ks[4:])
        zero = jnp.zeros(n)
        bf = jnp.full(n, 1.0) * jnp.asarray(forget_bias)
        return cls(
            Wi=Wi, Wf=Wf, Wg=Wg, Wo=Wo, Ui=Ui, Uf=Uf, Ug=Ug, Uo=Uo,
            bi=zero, bf=bf, bg=zero, bo=zero,
        )  # fmt: skip

    @property
    def hidden_size(self) -> int:
        """n, the number of hidden units (half the state's dimension)."""
        return int(self.Wi.shape[0])

    @property
    def dim(self) -> int:
        return 2 * self.hidden_size

    def variable_names(self) -> tuple[str, ...]:
        """h1, ..., hn, then c1, ..., cn: the hidden state and the cell state."""
        n = self.hidden_size
        return tuple(f"h{i + 1}" for i in range(n)) + tuple(f"c{i + 1}" for i in range(n))

    @property
    def n_inputs(self) -> int:
        return int(self.Ui.shape[1])

    def hidden(self, x: Float[Array, " dim"]) -> Float[Array, " n"]:
        """The hidden output h: the first n coordinates of the state (h, c)."""
        return x[: self.hidden_size]

    def driven_step(self, x: Float[Array, " dim"], u: Float[Array, " m"]) -> Float[Array, " dim"]:
        """(h_{t+1}, c_{t+1}) given the input u_t."""
        n = self.hidden_size
        h, c = x[:n], x[n:]
        i = jax.nn.sigmoid(self.Wi @ h + self.Ui @ u + self.bi)
        f = jax.nn.sigmoid(self.Wf @ h + self.Uf @ u + self.bf)
        g = jnp.tanh(self.Wg @ h + self.Ug @ u + self.bg)
        o = jax.nn.sigmoid(self.Wo @ h + self.Uo @ u + self.bo)
        c_next = f * c + i * g
        return jnp.concatenate([o * jnp.tanh(c_next), c_next])

    def default_state(self) -> Float[Array, " dim"]:
        n = self.hidden_size
        h = _hidden_state(n, self.Wi.dtype)
        return jnp.concatenate([h, 2.0 * h[::-1]])
