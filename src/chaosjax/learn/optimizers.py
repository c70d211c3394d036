"""Optimisers of the training loop: Adam, AdamW, L-BFGS, or any optax transformation.

Each is an equinox Module that validates its options and knows how to take one step
(`update`): first-order methods apply `tx.update(grads, ...)`, L-BFGS passes the value,
the gradient and the loss function its line search needs
(`optax.value_and_grad_from_state`). The strings "adam", "adamw" and "lbfgs" are
shorthands mapped to these classes in `as_optimizer`, and only there.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import Any, ClassVar, cast

import equinox as eqx
import jax
import jax.numpy as jnp
import optax

from .. import _validate as v

__all__ = ["LBFGS", "AbstractOptimizer", "Adam", "AdamW", "Optax", "Stage", "as_optimizer"]

LearningRate = float | Callable[[Any], Any]


def _check_rate(value: object, name: str = "learning_rate", optional: bool = False) -> None:
    if value is None and optional:
        return
    if callable(value):
        return
    v.positive_float(value, name)


class AbstractOptimizer(eqx.Module):
    """An optimiser of `cj.learn.fit`: an optax transformation and how to step it."""

    #: Whether every step needs the whole training set (a line search does).
    full_batch: ClassVar[bool] = False

    @abc.abstractmethod
    def transformation(self) -> optax.GradientTransformation:
        """The optax transformation."""

    def update(
        self,
        tx: optax.GradientTransformation,
        loss_fn: Callable[[Any, Any], jax.Array],
        params: Any,
        opt_state: Any,
        batch: Any,
    ) -> tuple[Any, Any, jax.Array]:
        """One step on `batch`: the new parameters, optimiser state and the loss before it."""
        value, grads = eqx.filter_value_and_grad(loss_fn)(params, batch)
        # optax mixes dtypes (Adam's `decay**count`: a float to an int32 power) where
        # strict promotion (`jax_numpy_dtype_promotion="strict"`) refuses: standard here.
        with jax.numpy_dtype_promotion("standard"):
            updates, opt_state = tx.update(grads, opt_state, params)
        return eqx.apply_updates(params, updates), opt_state, value


class Adam(AbstractOptimizer):
    """Adam; Kingma & Ba (2015), "Adam: a method for stochastic optimization",
    arXiv:1412.6980 (`optax.adam`).

    - `learning_rate`: a positive float or an optax schedule (step -> rate).
    - `b1`, `b2`, `eps`: the moment decay rates and the denominator's offset.
    """

    learning_rate: LearningRate = 1e-3
    b1: float = 0.9
    b2: float = 0.999
    eps: float = 1e-8

    def __check_init__(self):
        _check_rate(self.learning_rate)
        for name in ("b1", "b2"):
            value = getattr(self, name)
            if not 0.0 <= float(value) < 1.0:
                raise ValueError(f"`{name}` must lie in [0, 1), got {value!r}.")
        v.positive_float(self.eps, "eps")

    def transformation(self) -> optax.GradientTransformation:
        return optax.adam(self.learning_rate, b1=self.b1, b2=self.b2, eps=self.eps)


class AdamW(AbstractOptimizer):
    """Adam with decoupled weight decay; Loshchilov & Hutter (2019), "Decoupled weight
    decay regularization", arXiv:1711.05101 (`optax.adamw`).

    - `learning_rate`: a positive float or an optax schedule.
    - `weight_decay`: the decay rate, >= 0.
    - `b1`, `b2`, `eps`: as for `Adam`.
    """

    learning_rate: LearningRate = 1e-3
    weight_decay: float = 1e-4
    b1: float = 0.9
    b2: float = 0.999
    eps: float = 1e-8

    def __check_init__(self):
        _check_rate(self.learning_rate)
        if not float(self.weight_decay) >= 0.0:
            raise ValueError(f"`weight_decay` must be >= 0, got {self.weight_decay!r}.")
        for name in ("b1", "b2"):
            value = getattr(self, name)
            if not 0.0 <= float(value) < 1.0:
                raise ValueError(f"`{name}` must lie in [0, 1), got {value!r}.")
        v.positive_float(self.eps, "eps")

    def transformation(self) -> optax.GradientTransformation:
        return optax.adamw(
            self.learning_rate,
            b1=self.b1,
            b2=self.b2,
            eps=self.eps,
            weight_decay=self.weight_decay,
        )


class LBFGS(AbstractOptimizer):
    """Limited-memory BFGS with a zoom line search; Liu & Nocedal (1989), Math. Program.
    45, 503-528; Nocedal & Wright (2006), *Numerical Optimization*, alg. 7.5 and 3.5
    (`optax.lbfgs`). Always full batch: the line search compares losses on one data set.

    - `memory_size`: number of past updates kept, >= 1.
    - `learning_rate`: None (the line search picks the step) or a fixed scale.
    """

    memory_size: int = 10
    learning_rate: LearningRate | None = None

    full_batch: ClassVar[bool] = True

    def __check_init__(self):
        v.positive_int(self.memory_size, "memory_size")
        _check_rate(self.learning_rate, optional=True)

    def transformation(self) -> optax.GradientTransformation:
        return optax.lbfgs(learning_rate=self.learning_rate, memory_size=self.memory_size)

    def update(self, tx, loss_fn, params, opt_state, batch):
        fn = lambda p: loss_fn(p, batch)
        value, grads = optax.value_and_grad_from_state(fn)(params, state=opt_state)
        # optax.lbfgs is a GradientTransformationExtraArgs: its update takes these too.
        extra = cast(optax.GradientTransformationExtraArgs, tx)
        # optax's L-BFGS adds an int32 index to an int64 range: standard promotion, as above.
        with jax.numpy_dtype_promotion("standard"):
            updates, new_state = extra.update(
                grads, opt_state, params, value=value, grad=grads, value_fn=fn
            )
        new_params = eqx.apply_updates(params, updates)
        # At an exact minimum the line search can return a non-finite step (zero
        # curvature); then the iterate stays where it is, a fixed point.
        finite = jnp.all(
            jnp.stack([jnp.all(jnp.isfinite(u)) for u in jax.tree.leaves(updates)] or [True])
        )
        new_params, new_state = jax.tree.map(
            lambda a, b: jnp.where(finite, a, b), (new_params, new_state), (params, opt_state)
        )
        return new_params, new_state, value


class Optax(AbstractOptimizer):
    """Any first-order optax transformation, stepped as `tx.update(grads, state, params)`.

    - `tx`: an `optax.GradientTransformation` (e.g. `optax.chain(optax.clip(1.0),
        optax.sgd(1e-2))`). Use `LBFGS` for L-BFGS: its line search needs more.
    """

    tx: optax.GradientTransformation

    def __check_init__(self):
        if not isinstance(self.tx, optax.GradientTransformation):
            raise ValueError(
                f"`optimizer` must be an optax.GradientTransformation, got {self.tx!r}."
            )

    def transformation(self) -> optax.GradientTransformation:
        return self.tx


_SHORTHANDS: dict[str, Callable[..., AbstractOptimizer]] = {
    "adam": Adam,
    "adamw": AdamW,
    "lbfgs": LBFGS,
}


def as_optimizer(
    value: object, *, learning_rate: object = None, name: str = "optimizer"
) -> AbstractOptimizer:
    """The optimiser named or given by `value`.

    `value` is "adam", "adamw", "lbfgs" (with `learning_rate` if given), an
    `AbstractOptimizer`, or an `optax.GradientTransformation` (wrapped in `Optax`).
    A `learning_rate` beside an optimiser object is an error: it carries its own.
    """
    if isinstance(value, str):
        v.one_of(value, name, _SHORTHANDS)
        cls = _SHORTHANDS[value]
        return cls() if learning_rate is None else cls(learning_rate=learning_rate)
    if learning_rate is not None:
        raise ValueError(
            "`learning_rate` applies to an optimiser named by a string; give it to the "
            f"optimiser object instead, e.g. cj.learn.Adam(learning_rate=...), got {value!r}."
        )
    if isinstance(value, AbstractOptimizer):
        return value
    if isinstance(value, optax.GradientTransformation):
        return Optax(value)
    raise ValueError(
        f"`{name}` must be one of {sorted(_SHORTHANDS)}, a cj.learn optimiser or an "
        f"optax.GradientTransformation, got {value!r}."
    )


def _as_stage_optimizer(value: object) -> AbstractOptimizer:
    return as_optimizer(value, name="stages")


class Stage(eqx.Module):
    """One stage of training: an optimiser run for a number of steps.

    `cj.learn.fit(..., stages=[Stage("adam", 2000), Stage("lbfgs", 200)])` trains each
    restart with Adam, then continues from its best parameters with L-BFGS; a tuple
    `("adam", 2000)` is the same as `Stage("adam", 2000)`.

    - `optimizer`: a shorthand string, an optimiser Module or an optax transformation.
    - `steps`: optimiser steps in this stage, >= 1.
    """

    optimizer: AbstractOptimizer = eqx.field(converter=_as_stage_optimizer)
    steps: int = 1

    def __check_init__(self):
        v.positive_int(self.steps, "steps")
