"""A delay-embedding network: a feed-forward network on delay vectors that IS a delay map.

The network of A. Maus, "Modelling Sensitivity using Neural Networks" (2011),
https://adammaus.com/wp/2011/04/modeling-sensitivity-using-neural-networks/ (after Maus &
Sprott 2011, "Neural network method for determining embedding dimension of a time
series", Commun. Nonlinear Sci. Numer. Simul. 16, 3294-3302): d lagged values of a series
feed one hidden layer of n neurons,

    x_t = sum_i b_i tanh(a_i0 + sum_j a_ij x_{t-j}) + b_0,

trained on one-step prediction. `DelayMLP` is that network as a `cj.Map` on the delay
vector (x_{t-1}, ..., x_{t-d}) (most recent first, the state of
`cj.systems.DelayedHenon`): its step predicts the new value and shifts it in, so
`cj.trajectory`, `cj.lyapunov_spectrum` and `cj.lag_sensitivities` apply to it
unchanged. `cj.as_map(model)` is the model itself; it needs no conversion.

Which network a fit returns is a choice among restarts, and on delay data the choice
matters: the delay vectors of a deterministic series lie on a lower-dimensional set, on
which several functions agree. For the delayed Hénon map x_n = 1 - a x_{n-1}^2 +
b x_{n-4} every delay vector of 5 lags also satisfies x_{n-1} = 1 - a x_{n-2}^2 +
b x_{n-5}, so a network may rebuild x_{n-1} from x_{n-2} and x_{n-5}: an equally good
one-step fit whose lag sensitivity S(2) is large (up to ~3.7) instead of zero. Restarts
fall into both families (and mixtures); `selection` decides which is returned, and
`fit_delay_mlp` keeps every restart's error and sensitivities so that the choice can be
checked.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, cast

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from .. import _validate as v
from .._results import Result
from ..systems import Map
from ._delay_split import DelayData, delay_data
from .anneal import Annealing, AnnealResult, anneal
from .data import Normalizer
from .optimizers import LBFGS, Adam, Stage
from .train import FitResult, fit

__all__ = [
    "AbstractSelection",
    "DelayMLP",
    "DelayMLPFit",
    "LowestNMSE",
    "Parsimonious",
    "fit_delay_mlp",
]

#: The activations by name: the one place where a string becomes a function.
ACTIVATIONS: dict[str, Callable[[Array], Array]] = {
    "tanh": jnp.tanh,
    "sigmoid": jax.nn.sigmoid,
    "relu": jax.nn.relu,
    "gelu": jax.nn.gelu,
    "silu": jax.nn.silu,
    "softplus": jax.nn.softplus,
    "elu": jax.nn.elu,
    "identity": lambda x: x,
}


def _float_array(x: Any) -> Array:
    return jnp.asarray(x, dtype=jnp.result_type(float))


def _float_arrays(xs: Sequence[Any]) -> tuple[Array, ...]:
    return tuple(_float_array(x) for x in xs)


# --------------------------------------------------------------------------- the model


class DelayMLP(Map):
    """A feed-forward network on delay vectors, as a delay map (a `cj.Map`).

    The state is the delay vector s = (x_{t-1}, ..., x_{t-lags}), most recent first as in
    `cj.systems.DelayedHenon`. The network maps the normalised vector z = (s - mean) /
    scale through `depth` hidden layers h <- activation(W h + c) and a linear readout
    y = w . h + w_0; the new value is x_t = y * scale + mean, and `step(s)` is
    (x_t, x_{t-1}, ..., x_{t-lags+1}). The normalisation (one mean and scale: every lag
    is the same variable) is stored inside, so the model maps raw delay vectors to raw
    delay vectors. A. Maus, "Modelling Sensitivity using Neural Networks" (2011),
    https://adammaus.com/wp/2011/04/modeling-sensitivity-using-neural-networks/.

    A model fitted to a reversed series (`fit_delay_mlp(..., reverse=True)`) is a model
    of the inverted map in reversed-time delay coordinates; it is a repellor there, so
    evaluate it along data (`cj.lag_sensitivities(model, orbit=...)`), not along its own
    orbit.

    **Arguments:**

    - `weights`: the hidden layers' matrices, `depth` of them, the first (hidden,
      lags), the others (hidden, hidden).
    - `biases`: their biases, each (hidden,).
    - `readout`: the output weights w, (hidden,).
    - `readout_bias`: w_0, a scalar.
    - `normalizer`: a `cj.learn.Normalizer` with scalar `mean` and `scale`.
    - `initial_state`: the state `default_state()` returns, (lags,); a fit stores the
      last delay vector of its training data.
    - `activation`: "tanh" (default), "sigmoid", "relu", "gelu", "silu", "softplus",
      "elu" or "identity".

    Example:

    ```python
    model = cj.learn.DelayMLP.random(jax.random.key(0), lags=5, hidden=4)
    model.step(model.default_state())          # (5,): the new value, then the shift
    ```
    """

    weights: tuple[Float[Array, "_ _"], ...] = eqx.field(converter=_float_arrays)
    biases: tuple[Float[Array, " _"], ...] = eqx.field(converter=_float_arrays)
    readout: Float[Array, " hidden"] = eqx.field(converter=_float_array)
    readout_bias: Float[Array, ""] = eqx.field(converter=_float_array)
    normalizer: Normalizer
    initial_state: Float[Array, " lags"] = eqx.field(converter=_float_array)
    activation: str = eqx.field(default="tanh", static=True)

    name: ClassVar[str] = "delay_mlp"
    delay_coordinates: ClassVar[bool] = True

    def __check_init__(self):
        v.one_of(self.activation, "activation", ACTIVATIONS)
        if not self.weights or len(self.weights) != len(self.biases):
            raise ValueError(
                f"`weights` and `biases` must be non-empty and of one length, got "
                f"{len(self.weights)} and {len(self.biases)}."
            )
        if self.initial_state.ndim != 1 or self.initial_state.shape[0] < 1:
            raise ValueError(
                f"`initial_state` must have shape (lags,), got {self.initial_state.shape}."
            )
        fan_in = self.initial_state.shape[0]
        for i, (W, c) in enumerate(zip(self.weights, self.biases, strict=True)):
            if W.ndim != 2 or W.shape[1] != fan_in or c.shape != (W.shape[0],):
                raise ValueError(
                    f"`weights[{i}]` must have shape (hidden, {fan_in}) and `biases[{i}]` "
                    f"(hidden,), got {W.shape} and {c.shape}."
                )
            fan_in = W.shape[0]
        if self.readout.shape != (fan_in,) or self.readout_bias.shape != ():
            raise ValueError(
                f"`readout` must have shape ({fan_in},) and `readout_bias` (), got "
                f"{self.readout.shape} and {self.readout_bias.shape}."
            )
        if self.normalizer.mean.shape != ():
            raise ValueError(
                f"`normalizer` must hold scalar statistics, got shape {self.normalizer.mean.shape}."
            )

    @classmethod
    def random(
        cls,
        key: PRNGKeyArray,
        *,
        lags: int,
        hidden: int,
        depth: int = 1,
        activation: str = "tanh",
        normalizer: Normalizer | None = None,
        initial_state: Float[Array, " lags"] | None = None,
    ) -> DelayMLP:
        """A network with random weights: W ~ N(0, 1 / fan-in) (LeCun et al. 1998,
        "Efficient BackProp"), biases ~ N(0, 0.1^2), readout ~ N(0, 1 / hidden).

        **Arguments:**

        - `key`: PRNG key.
        - `lags`, `hidden`, `depth`: inputs, neurons per hidden layer, hidden layers
          (positive ints; `depth` default 1).
        - `activation`: a name of `ACTIVATIONS` (default "tanh").
        - `normalizer`: scalar statistics (default mean 0, scale 1).
        - `initial_state`: (lags,) (default 0.1 everywhere).

        **Returns:**

        A `DelayMLP`.
        """
        lags = v.positive_int(lags, "lags")
        hidden = v.positive_int(hidden, "hidden")
        depth = v.positive_int(depth, "depth")
        v.one_of(activation, "activation", ACTIVATIONS)
        keys = jax.random.split(key, 2 * depth + 1)
        dtype = jnp.result_type(float)
        weights, biases, fan_in = [], [], lags
        for i in range(depth):
            W = jax.random.normal(keys[2 * i], (hidden, fan_in), dtype) / math.sqrt(fan_in)
            weights.append(W)
            biases.append(0.1 * jax.random.normal(keys[2 * i + 1], (hidden,), dtype))
            fan_in = hidden
        readout = jax.random.normal(keys[-1], (hidden,), dtype) / math.sqrt(hidden)
        if normalizer is None:
            normalizer = Normalizer(mean=jnp.zeros((), dtype), scale=jnp.ones((), dtype))
        if initial_state is None:
            initial_state = jnp.full((lags,), 0.1, dtype)
        return cls(
            weights=tuple(weights),
            biases=tuple(biases),
            readout=readout,
            readout_bias=jnp.zeros((), dtype),
            normalizer=normalizer,
            initial_state=initial_state,
            activation=activation,
        )

    @property
    def dim(self) -> int:
        return int(self.initial_state.shape[0])

    @property
    def lags(self) -> int:
        """The number of lags (the state dimension)."""
        return self.dim

    @property
    def hidden(self) -> int:
        """Neurons per hidden layer."""
        return int(self.weights[0].shape[0])

    def predict(self, x: Float[Array, " dim"]) -> Float[Array, ""]:
        """The new value x_t from the delay vector (x_{t-1}, ..., x_{t-lags}).

        **Arguments:**

        - `x`: a raw delay vector, (lags,).

        **Returns:**

        The predicted next value, a scalar in the series' units.
        """
        act = ACTIVATIONS[self.activation]
        h = self.normalizer.normalize(x)
        for W, c in zip(self.weights, self.biases, strict=True):
            h = act(W @ h + c)
        return self.normalizer.denormalize(self.readout @ h + self.readout_bias)

    def step(self, x: Float[Array, " dim"]) -> Float[Array, " dim"]:
        return jnp.concatenate([self.predict(x)[None], x[:-1]])

    def default_state(self) -> Float[Array, " dim"]:
        return self.initial_state


# --------------------------------------------------------------------------- selection


class AbstractSelection(eqx.Module):
    """How `fit_delay_mlp` picks the returned network among its restarts.

    Implement `select(nmse, sensitivities) -> index`. The strings "nmse" and "parsimony"
    are shorthands for `LowestNMSE()` and `Parsimonious()`.

    Example:

    ```python
    class Last(cj.learn.AbstractSelection):
        def select(self, nmse, sensitivities):
            return len(nmse) - 1
    ```
    """

    @abc.abstractmethod
    def select(self, nmse: np.ndarray, sensitivities: np.ndarray) -> int:
        """The index of the chosen restart.

        **Arguments:**

        - `nmse`: (restarts,) one-step NMSE (on the validation rows when there are
          any, else the training rows); inf for a failed restart.
        - `sensitivities`: (restarts, lags) lag sensitivities along the training rows.

        **Returns:**

        An index into the restarts.
        """


class LowestNMSE(AbstractSelection):
    """The restart with the lowest one-step normalised mean-square error.

    Among fits of equal error the delay map's simplest form is the easiest for a small
    network to represent, so on the delayed Hénon map the lowest error picks the network
    that uses the true lags; near-ties between families are possible (see
    `fit_delay_mlp`).

    Example:

    ```python
    cj.learn.fit_delay_mlp(series, key=jax.random.key(0), selection=cj.learn.LowestNMSE())
    ```
    """

    def select(self, nmse: np.ndarray, sensitivities: np.ndarray) -> int:
        return int(np.argmin(nmse))


class Parsimonious(AbstractSelection):
    """Among restarts within `factor` of the lowest NMSE, the one with the smallest total
    lag sensitivity sum_j S(j).

    An Occam rule for the ambiguity of delay data: every fit in the admissible set
    predicts as well, and the one that leans least on the lags is chosen. A network that
    rebuilds a lag from others (e.g. x_{n-1} from x_{n-2} and x_{n-5} on the delayed
    Hénon map) has a larger total sensitivity than one using the true lags.

    **Arguments:**

    - `factor`: the admissible NMSE ratio to the best, >= 1 (default 10).

    Example:

    ```python
    cj.learn.fit_delay_mlp(series, key=jax.random.key(0),
                           selection=cj.learn.Parsimonious(factor=3.0))
    ```
    """

    factor: float = 10.0

    def __check_init__(self):
        f = self.factor
        if isinstance(f, bool) or not isinstance(f, (int, float)) or not 1 <= f < math.inf:
            raise ValueError(f"`factor` must be a finite float >= 1, got {f!r}.")

    def select(self, nmse: np.ndarray, sensitivities: np.ndarray) -> int:
        ok = np.isfinite(nmse) & (nmse <= self.factor * np.min(nmse))
        total = np.where(ok, np.sum(sensitivities, axis=1), np.inf)
        return int(np.argmin(total))


_SELECTIONS: dict[str, Callable[[], AbstractSelection]] = {
    "nmse": LowestNMSE,
    "parsimony": Parsimonious,
}


def _selection(value: object) -> AbstractSelection:
    if isinstance(value, AbstractSelection):
        return value
    if isinstance(value, str):
        return _SELECTIONS[v.one_of(value, "selection", _SELECTIONS)]()
    raise ValueError(
        f"`selection` must be one of {sorted(_SELECTIONS)} or a cj.learn.AbstractSelection, "
        f"got {value!r}."
    )


# --------------------------------------------------------------------------- the fit


class DelayMLPFit(Result):
    """What `fit_delay_mlp` returns: the chosen network and every restart's figures.

    **Attributes:**

    - `model`: the chosen `DelayMLP` (`models[selected]`).
    - `models`: every restart's trained network, in restart order.
    - `nmse`: (restarts,) one-step normalised MSE on the training rows,
      mean (prediction - target)^2 / var(target).
    - `validation_nmse`: (restarts,) the same on the held-out rows, or None.
    - `sensitivities`: (restarts, lags) lag sensitivities S(j) = mean |d x_t / d
      x_{t-j}| along the training rows.
    - `selected`: the index of `model`.
    - `selection`: the rule that chose it (an `AbstractSelection`).
    - `trainer`: "gradient" or the `cj.learn.Annealing` schedule used.
    - `reverse`: whether the series was reversed (a model of the inverted map).
    - `training`: the trainer's own record (`cj.learn.FitResult` with the loss curves,
      or `cj.learn.AnnealResult`).

    Example:

    ```python
    res = cj.learn.fit_delay_mlp(series, key=jax.random.key(0))
    res.model, res.nmse, res.sensitivities[res.selected]
    ```
    """

    model: DelayMLP
    models: tuple[DelayMLP, ...]
    nmse: Float[Array, " restarts"]
    validation_nmse: Float[Array, " restarts"] | None
    sensitivities: Float[Array, "restarts lags"]
    selected: int = eqx.field(static=True)
    selection: AbstractSelection
    trainer: str | Annealing
    reverse: bool = eqx.field(static=True)
    training: FitResult | AnnealResult


#: Adam at 1e-2, then L-BFGS: Adam leaves the plateaus of a random start, L-BFGS
#: then reaches the small errors the lag sensitivities need.
DEFAULT_STAGES: tuple[Stage, ...] = (
    Stage(Adam(learning_rate=1e-2), 10_000),
    Stage(LBFGS(), 20_000),
)

_TRAINERS = ("gradient", "anneal")


def _trainer(value: object) -> str | Annealing:
    if isinstance(value, Annealing):
        return value
    if isinstance(value, str):
        v.one_of(value, "trainer", _TRAINERS)
        return Annealing() if value == "anneal" else value
    raise ValueError(
        f"`trainer` must be one of {list(_TRAINERS)} or a cj.learn.Annealing, got {value!r}."
    )


@eqx.filter_jit
def _figures(stacked: DelayMLP, data: DelayData) -> tuple[Array, Array | None, Array]:
    """Every restart's training NMSE, validation NMSE and lag sensitivities."""

    def one(model: DelayMLP):
        def err(x, y):
            return jnp.mean((jax.vmap(model.predict)(x) - y) ** 2) / jnp.var(y)

        train = err(data.inputs, data.targets)
        val = None
        if data.validation_inputs is not None:
            val = err(data.validation_inputs, data.validation_targets)
        sens = jnp.mean(jnp.abs(jax.vmap(jax.grad(model.predict))(data.inputs)), axis=0)
        return train, val, sens

    return eqx.filter_vmap(one)(stacked)


def fit_delay_mlp(
    series: Float[ArrayLike, "*members n"],
    *,
    key: PRNGKeyArray,
    lags: int = 5,
    hidden: int = 4,
    depth: int = 1,
    activation: str = "tanh",
    restarts: int = 10,
    trainer: str | Annealing = "gradient",
    stages: Sequence[Stage | tuple[Any, int]] | None = None,
    eval_every: int = 1_000,
    validation_fraction: float = 0.0,
    selection: str | AbstractSelection = "nmse",
    reverse: bool = False,
    progress: bool = False,
    checkpoint: str | None = None,
) -> DelayMLPFit:
    """Fit a delay-embedding network to a scalar series by one-step prediction.

    The series is cut into delay vectors (x_{t-1}, ..., x_{t-lags}) and next values x_t
    (`cj.learn.delay_pairs`); `restarts` networks (`DelayMLP.random` from
    `fold_in(key, r)`) are trained to minimise the normalised mean-square error
    NMSE = mean (prediction - x_t)^2 / var(x_t), and one is chosen by `selection`.
    A. Maus, "Modelling Sensitivity using Neural Networks" (2011),
    https://adammaus.com/wp/2011/04/modeling-sensitivity-using-neural-networks/; Maus &
    Sprott (2011), Commun. Nonlinear Sci. Numer. Simul. 16, 3294-3302.

    Trainers: "gradient" is `cj.learn.fit` with the restarts vmapped and `stages` (default
    Adam at learning rate 1e-2 for 10,000 steps, then L-BFGS for 20,000); "anneal" (or a
    `cj.learn.Annealing` schedule) is the random-search trainer Maus used,
    `cj.learn.anneal`. Both start from the same networks for the same `key`.

    Choose with care: on delay data several networks predict equally well. On the
    delayed Hénon map (d = 4) with 5 lags, one family uses the true lags (S(1) ~ 1.90,
    S(4) ~ 0.1, the rest ~ 0) and another rebuilds x_{n-1} from x_{n-2} and x_{n-5}
    (S(2) up to ~3.7), with mixtures between; which restart is returned is decided by
    `selection`, not by the data. "nmse" (the lowest error) picks the true family there,
    since that form is the easiest for the network to fit exactly; "parsimony" prefers,
    among near-best fits, the smallest total sensitivity. Check `sensitivities` of every
    restart when the answer matters.

    With `reverse=True` the series is reversed first: the network then models the
    inverted map in reversed time (delay vector (x_{n-d+1}, ..., x_n), new value
    x_{n-d}), whose lag sensitivities `cj.lag_sensitivities(..., inverse=True)` gives
    exactly for a known map (A. Maus, "Inverted Delayed Henon Map", 2011,
    https://adammaus.com/wp/2011/04/inverted-delayed-henon-map/).

    **Arguments:**

    - `series`: a finite scalar series (n,), or several (members, n) fitted together.
    - `key`: PRNG key (initial networks; the annealing's draws).
    - `lags`: inputs of the network, a positive int (default 5); n must exceed it.
    - `hidden`: neurons per hidden layer (default 4); `depth`: hidden layers (default 1).
    - `activation`: "tanh" (default) or another name of `DelayMLP`.
    - `restarts`: networks trained, >= 1 (default 10).
    - `trainer`: "gradient" (default), "anneal", or a `cj.learn.Annealing`.
    - `stages`: for "gradient", a list of `cj.learn.Stage` or (optimizer, steps)
      (default `DEFAULT_STAGES`).
    - `eval_every`: gradient steps between evaluations (default 1,000).
    - `validation_fraction`: the last fraction of each member's rows held out, in
      [0, 1) (default 0): with rows held out, "nmse" selects on them, and gradient
      training keeps each restart's parameters best on them.
    - `selection`: "nmse" (default), "parsimony", or an `AbstractSelection`.
    - `reverse`: reverse the series first (default False).
    - `progress`: show a progress bar (gradient training; default False).
    - `checkpoint`: a file for gradient training to write and resume from (default
      None).

    **Returns:**

    A `DelayMLPFit`: `model` (a `DelayMLP`, a `cj.Map`), `models`, `nmse`,
    `validation_nmse`, `sensitivities` (restarts, lags), `selected`, `selection`,
    `trainer`, `reverse`, `training`.

    Example:

    ```python
    dh = cj.systems.DelayedHenon(d=4)
    series = cj.trajectory(dh, dh.default_state(), steps=511, transient=1_000)[:, 0]
    res = cj.learn.fit_delay_mlp(series, lags=5, hidden=4, key=jax.random.key(0))
    res.nmse[res.selected]                                   # < 1e-5
    cj.lag_sensitivities(res.model, res.model.default_state(), 5_000).sensitivities
    # ~ [1.90, 0, 0, 0.1, 0]
    ```
    """
    key = v.prng_key(key)
    lags = v.positive_int(lags, "lags")
    hidden = v.positive_int(hidden, "hidden")
    depth = v.positive_int(depth, "depth")
    v.one_of(activation, "activation", ACTIVATIONS)
    restarts = v.positive_int(restarts, "restarts")
    method = _trainer(trainer)
    rule = _selection(selection)
    if method != "gradient" and stages is not None:
        raise ValueError("`stages` applies to trainer='gradient'; an Annealing has its own steps.")
    if method != "gradient" and checkpoint is not None:
        raise ValueError("`checkpoint` applies to trainer='gradient'.")
    data = delay_data(series, lags=lags, validation_fraction=validation_fraction, reverse=reverse)

    def init(k: PRNGKeyArray) -> DelayMLP:
        return DelayMLP.random(
            k,
            lags=lags,
            hidden=hidden,
            depth=depth,
            activation=activation,
            normalizer=data.normalizer,
            initial_state=data.initial_state,
        )

    target_var = jnp.var(data.targets)

    def loss(model: DelayMLP, batch: tuple[Array, Array]) -> Array:
        x, y = batch
        return jnp.mean((jax.vmap(model.predict)(x) - y) ** 2) / target_var

    pairs = (data.inputs, data.targets)
    training: FitResult | AnnealResult
    if method == "gradient":
        validation = None
        if data.validation_inputs is not None:
            validation = (data.validation_inputs, data.validation_targets)
        training = fit(
            init,
            loss,
            pairs,
            key=key,
            stages=list(DEFAULT_STAGES if stages is None else stages),
            restarts=restarts,
            validation=validation,
            eval_every=eval_every,
            progress=progress,
            checkpoint=checkpoint,
        )
    else:
        assert isinstance(method, Annealing)
        training = anneal(init, loss, pairs, key=key, schedule=method, restarts=restarts)
    models = cast(tuple[DelayMLP, ...], tuple(training.models))
    stacked = jax.tree.map(lambda *xs: jnp.stack(xs), *models)
    train_nmse, val_nmse, sens = _figures(stacked, data)
    score = np.asarray(val_nmse if val_nmse is not None else train_nmse)
    score = np.where(np.isfinite(score), score, np.inf)
    chosen = rule.select(score, np.asarray(sens))
    return DelayMLPFit(
        model=models[chosen],
        models=models,
        nmse=train_nmse,
        validation_nmse=val_nmse,
        sensitivities=sens,
        selected=chosen,
        selection=rule,
        trainer=method,
        reverse=reverse,
        training=training,
    )
