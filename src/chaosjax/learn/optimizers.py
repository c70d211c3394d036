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
    """An optimiser of `cj.learn.fit`: an optax transformation and how to step it.

    Subclasses hold their options as fields, check them in `__check_init__`, and
    implement `transformation`; the default `update` is one first-order step,
    `tx.update(grads, state, params)` (optax), and a method that needs more (a line
    search) overrides it and sets `full_batch`. Any subclass is accepted wherever
    `cj.learn.fit` takes an `optimizer`.

    **Attributes:**

    - `full_batch`: a class variable, True when every step needs the whole training set
      (a line search does); default False.

    Example:

    ```python
    import optax

    class SGD(cj.learn.AbstractOptimizer):
        learning_rate: float = 1e-2

        def transformation(self):
            return optax.sgd(self.learning_rate)

    # Recover the Henon map's parameters from its orbit: fit the one-step map.
    xs = cj.trajectory(cj.systems.Henon(), jnp.zeros(2), steps=500)
    loss = lambda m, pairs: jnp.mean((jax.vmap(m.step)(pairs[0]) - pairs[1]) ** 2)
    res = cj.learn.fit(cj.systems.Henon(a=1.0, b=0.2), loss, (xs[:-1], xs[1:]),
                       key=jax.random.key(0), steps=1_000, optimizer=SGD(learning_rate=0.1))
    res.model.a, res.model.b                 # ~1.4, ~0.3
    ```
    """

    #: Whether every step needs the whole training set (a line search does).
    full_batch: ClassVar[bool] = False

    @abc.abstractmethod
    def transformation(self) -> optax.GradientTransformation:
        """The optax transformation, built from the options (fields).

        **Returns:**

        An `optax.GradientTransformation`.
        """

    def update(
        self,
        tx: optax.GradientTransformation,
        loss_fn: Callable[[Any, Any], jax.Array],
        params: Any,
        opt_state: Any,
        batch: Any,
    ) -> tuple[Any, Any, jax.Array]:
        """One step on `batch`: the new parameters, optimiser state and the loss before it.

        **Arguments:**

        - `tx`: the transformation returned by `transformation()`.
        - `loss_fn`: `loss_fn(params, batch) -> scalar`.
        - `params`: the trainable parameters (a pytree).
        - `opt_state`: the optimiser state of `tx`.
        - `batch`: the data of this step.

        **Returns:**

        `(params, opt_state, loss)`: the parameters and state after the step, and the
        loss at the parameters before it.
        """
        value, grads = eqx.filter_value_and_grad(loss_fn)(params, batch)
        # optax mixes dtypes (Adam's `decay**count`: a float to an int32 power) where
        # strict promotion (`jax_numpy_dtype_promotion="strict"`) refuses: standard here.
        with jax.numpy_dtype_promotion("standard"):
            updates, opt_state = tx.update(grads, opt_state, params)
        return eqx.apply_updates(params, updates), opt_state, value


def _check_adam(learning_rate: Any, b1: float, b2: float, eps: float) -> None:
    """The options Adam and AdamW share: a rate, moment decays in [0, 1), eps > 0."""
    _check_rate(learning_rate)
    for name, value in (("b1", b1), ("b2", b2)):
        if not 0.0 <= float(value) < 1.0:
            raise ValueError(f"`{name}` must lie in [0, 1), got {value!r}.")
    v.positive_float(eps, "eps")


class Adam(AbstractOptimizer):
    """The Adam optimiser (`optax.adam`).

    Adam scales each gradient component by running estimates of its first and second
    moments; Kingma & Ba (2015), "Adam: a method for stochastic optimization",
    arXiv:1412.6980.

    **Arguments:**

    - `learning_rate`: a positive float or an optax schedule (step -> rate); default
      1e-3.
    - `b1`, `b2`: the decay rates of the first and second moment estimates, in [0, 1)
      (default 0.9 and 0.999).
    - `eps`: the offset added to the denominator, positive (default 1e-8).

    Example:

    ```python
    xs = cj.trajectory(cj.systems.Henon(), jnp.zeros(2), steps=500)
    loss = lambda m, pairs: jnp.mean((jax.vmap(m.step)(pairs[0]) - pairs[1]) ** 2)
    res = cj.learn.fit(cj.systems.Henon(a=1.0, b=0.2), loss, (xs[:-1], xs[1:]),
                       key=jax.random.key(0), steps=1_000,
                       optimizer=cj.learn.Adam(learning_rate=1e-2))
    res.model.a, res.model.b                 # ~1.4, ~0.3
    ```
    """

    learning_rate: LearningRate = 1e-3
    b1: float = 0.9
    b2: float = 0.999
    eps: float = 1e-8

    def __check_init__(self):
        _check_adam(self.learning_rate, self.b1, self.b2, self.eps)

    def transformation(self) -> optax.GradientTransformation:
        return optax.adam(self.learning_rate, b1=self.b1, b2=self.b2, eps=self.eps)


class AdamW(AbstractOptimizer):
    """Adam with decoupled weight decay (`optax.adamw`).

    Each step shrinks the parameters by `learning_rate * weight_decay` apart from the
    Adam update; Loshchilov & Hutter (2019), "Decoupled weight decay regularization",
    arXiv:1711.05101.

    **Arguments:**

    - `learning_rate`: a positive float or an optax schedule (step -> rate); default
      1e-3.
    - `weight_decay`: the decay rate, >= 0 (default 1e-4).
    - `b1`, `b2`, `eps`: as for `Adam` (default 0.9, 0.999, 1e-8).

    Example:

    ```python
    stage = cj.learn.Stage(cj.learn.AdamW(learning_rate=3e-3, weight_decay=1e-3), 1_000)
    ```
    """

    learning_rate: LearningRate = 1e-3
    weight_decay: float = 1e-4
    b1: float = 0.9
    b2: float = 0.999
    eps: float = 1e-8

    def __check_init__(self):
        _check_adam(self.learning_rate, self.b1, self.b2, self.eps)
        if not float(self.weight_decay) >= 0.0:
            raise ValueError(f"`weight_decay` must be >= 0, got {self.weight_decay!r}.")

    def transformation(self) -> optax.GradientTransformation:
        return optax.adamw(
            self.learning_rate,
            b1=self.b1,
            b2=self.b2,
            eps=self.eps,
            weight_decay=self.weight_decay,
        )


class LBFGS(AbstractOptimizer):
    """Limited-memory BFGS with a zoom line search (`optax.lbfgs`).

    The inverse Hessian is approximated from the last `memory_size` updates and each
    step length is chosen by a line search satisfying the strong Wolfe conditions;
    Liu & Nocedal (1989), Math. Program. 45, 503-528; Nocedal & Wright (2006),
    *Numerical Optimization*, alg. 7.5 and 3.5. Always full batch: the line search
    compares losses on one data set.

    **Arguments:**

    - `memory_size`: the number of past updates kept, >= 1 (default 10).
    - `learning_rate`: None (default: the line search picks the step) or a fixed scale.

    Example:

    ```python
    xs = cj.trajectory(cj.systems.Henon(), jnp.zeros(2), steps=500)
    loss = lambda m, pairs: jnp.mean((jax.vmap(m.step)(pairs[0]) - pairs[1]) ** 2)
    res = cj.learn.fit(cj.systems.Henon(a=1.0, b=0.2), loss, (xs[:-1], xs[1:]),
                       key=jax.random.key(0), steps=20, optimizer=cj.learn.LBFGS())
    res.model.a, res.model.b                 # 1.4, 0.3
    ```
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

    `cj.learn.fit` wraps a bare `optax.GradientTransformation` given as `optimizer` in
    this class. Use `LBFGS` for L-BFGS: its line search needs more than the gradient.

    **Arguments:**

    - `tx`: an `optax.GradientTransformation`, e.g. `optax.chain(optax.clip(1.0),
      optax.sgd(1e-2))`.

    Example:

    ```python
    import optax

    opt = cj.learn.Optax(optax.chain(optax.clip(1.0), optax.sgd(1e-2)))
    ```
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
    restart with Adam, then continues from its best parameters with L-BFGS and a fresh
    optimiser state; a tuple `("adam", 2000)` is the same as `Stage("adam", 2000)`.

    **Arguments:**

    - `optimizer`: "adam", "adamw", "lbfgs", an optimiser Module (`cj.learn.Adam`, ...)
      or an `optax.GradientTransformation`.
    - `steps`: optimiser steps in this stage, >= 1 (default 1).

    Example:

    ```python
    stages = [cj.learn.Stage("adam", 2_000), cj.learn.Stage(cj.learn.LBFGS(), 200)]
    ```
    """

    optimizer: AbstractOptimizer = eqx.field(converter=_as_stage_optimizer)
    steps: int = 1

    def __check_init__(self):
        v.positive_int(self.steps, "steps")
