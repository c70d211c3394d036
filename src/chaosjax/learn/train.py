"""The one training loop of chaosjax: optax optimisers on equinox models, with restarts,
early stopping, a progress bar and checkpoints from which a killed run resumes exactly.

How a run is organised (what a contributor must know to extend it):

- The trainable leaves are split from the rest with `eqx.partition` (by default every
  floating-point array outside a `Normalizer`), so the optimiser sees only them.
- Restarts are models built by `init(key_r)` with key_r = fold_in(key, r). Restarts
  whose array shapes and static parts agree form a group, trained together by one
  compiled `jax.vmap`; other groups (or every restart with `vmap_restarts=False`) run
  one after another.
- Training runs in chunks of `eval_every` steps, each one compiled `lax.scan`; after
  each chunk the losses on the full training set (and on `validation`) are evaluated
  in the same compiled call, the best parameters so far are kept, the patience
  counter of early stopping advances, and on the host the progress bar moves, the
  callback runs and a checkpoint may be written. A stopped restart stays frozen while
  the others of its group continue, so a group gives what its restarts give alone.
- Stages (e.g. Adam then L-BFGS) run in order; each starts from the best parameters
  of the previous one with a fresh optimiser state.
- Mini-batches are drawn without replacement from fold_in(train_key_r, global step),
  so they depend on nothing but the key and the step.
- A checkpoint holds the whole state (every group's parameters, optimiser states,
  best parameters and counters, the loss history, the key) and the position in the
  schedule; a resumed run replays the same compiled chunks on the same bits, so it
  ends bit-identical to an uninterrupted one.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jaxtyping import Array, Bool, Float, Int, PRNGKeyArray, PyTree

from .. import _validate as v
from .._files import ensure_writable_dir
from .._progress import progress_bar
from .._results import Result
from . import checkpoint as ckpt
from .data import Normalizer
from .optimizers import AbstractOptimizer, Stage, as_optimizer

__all__ = ["FitResult", "History", "default_trainable", "fit"]


# --------------------------------------------------------------------------- records


class History(Result):
    """Loss curves, one value per evaluation (every `eval_every` steps and at stage ends),
    the `history` of a `FitResult`.

    **Attributes:**

    - `steps`: (evals,) global optimiser step at each evaluation.
    - `stage`: (evals,) index of the stage it belongs to.
    - `train`: (restarts, evals) loss on the whole training set; NaN once a restart
      has stopped within the stage.
    - `validation`: (restarts, evals) loss on the validation data, or None.

    Example:

    ```python
    xs = cj.trajectory(cj.systems.Henon(), jnp.zeros(2), steps=500)
    loss = lambda m, pairs: jnp.mean((jax.vmap(m.step)(pairs[0]) - pairs[1]) ** 2)
    res = cj.learn.fit(cj.systems.Henon(a=1.0, b=0.2), loss, (xs[:-1], xs[1:]),
                       key=jax.random.key(0), steps=1_000, eval_every=100)
    res.history.steps, res.history.train[0]  # [100, ..., 1000], decreasing losses
    ```
    """

    steps: Int[Array, " evals"]
    stage: Int[Array, " evals"]
    train: Float[Array, "restarts evals"]
    validation: Float[Array, "restarts evals"] | None


class FitResult(Result):
    """The trained models and their loss curves (what `cj.learn.fit` returns).

    **Attributes:**

    - `model`: the best model: the best restart at its best evaluation.
    - `models`: every restart's best model, in restart order.
    - `history`: the loss curves (`History`).
    - `restart_losses`: (restarts,) each restart's best loss (validation loss when
      validation data are given, else training loss); inf if never finite.
    - `best_restart`: the index of the restart with the lowest of them.
    - `steps_done`: (restarts,) optimiser steps each restart took.
    - `stopped_early`: (restarts,) whether a restart stopped before the end of a stage
      (patience exhausted, or a non-finite loss).

    Example:

    ```python
    xs = cj.trajectory(cj.systems.Henon(), jnp.zeros(2), steps=500)
    loss = lambda m, pairs: jnp.mean((jax.vmap(m.step)(pairs[0]) - pairs[1]) ** 2)
    init = lambda key: cj.systems.Henon(a=1.0 + 0.1 * jax.random.normal(key), b=0.2)
    res = cj.learn.fit(init, loss, (xs[:-1], xs[1:]), key=jax.random.key(0),
                       steps=500, restarts=3, optimizer=cj.learn.Adam(learning_rate=1e-2))
    res.best_restart, res.restart_losses, res.model.a
    ```
    """

    model: eqx.Module
    models: tuple[eqx.Module, ...]
    history: History
    restart_losses: Float[Array, " restarts"]
    best_restart: int
    steps_done: Int[Array, " restarts"]
    stopped_early: Bool[Array, " restarts"]


class _Carry(eqx.Module):
    # One restart's training state (stacked along a leading axis for a group).
    params: Any
    frozen: Any
    opt_state: Any
    best: Any
    best_loss: Array
    bad: Array
    stopped: Array
    early: Array
    step: Array


# --------------------------------------------------------------------------- helpers


def default_trainable(model: eqx.Module) -> PyTree[bool]:
    """The default `trainable` filter: every floating-point array outside a `Normalizer`.

    An equinox filter specification (see `eqx.partition`): the leaves marked True are
    trained by `cj.learn.fit`, the rest (integer arrays, static fields, the statistics
    of a `cj.learn.Normalizer`) are held fixed.

    **Arguments:**

    - `model`: an equinox Module.

    **Returns:**

    A pytree of bools of the structure of `model`.

    Example:

    ```python
    import equinox as eqx

    only_a = lambda m: eqx.tree_at(lambda t: t.b, cj.learn.default_trainable(m), False)
    only_a(cj.systems.Henon())               # train `a`, hold `b` fixed: trainable=only_a
    ```
    """
    is_norm = lambda x: isinstance(x, Normalizer)
    return jax.tree.map(
        lambda x: (not is_norm(x)) and eqx.is_inexact_array(x), model, is_leaf=is_norm
    )


def _strong(tree: Any) -> Any:
    # Weakly typed leaves (Python scalars inside optax states) come back strongly typed
    # from a checkpoint; making them strong here keeps the compiled chunks identical.
    return jax.tree.map(lambda x: x.astype(x.dtype) if eqx.is_array(x) else x, tree)


def _check_data(data: Any, name: str) -> tuple[Any, int]:
    leaves = jax.tree.leaves(data)
    if not leaves:
        raise ValueError(f"`{name}` must be an array or a pytree of arrays, got {data!r}.")
    try:
        data = jax.tree.map(jnp.asarray, data)
    except (TypeError, ValueError):
        raise ValueError(f"`{name}` must hold numeric arrays.") from None
    sizes = set()
    for path, leaf in jax.tree_util.tree_leaves_with_path(data):
        where = jax.tree_util.keystr(path)
        if leaf.ndim < 1:
            raise ValueError(f"`{name}`{where} must have a leading sample axis, got a scalar.")
        if not (jnp.issubdtype(leaf.dtype, jnp.number) or leaf.dtype == jnp.bool_):
            raise ValueError(f"`{name}`{where} must be numeric, got dtype {leaf.dtype}.")
        if v.is_concrete(leaf) and not np.all(np.isfinite(np.asarray(leaf))):
            raise ValueError(f"`{name}`{where} must be finite; it contains NaN or inf.")
        sizes.add(leaf.shape[0])
    if len(sizes) != 1:
        raise ValueError(
            f"`{name}` arrays must share their leading (sample) axis, got sizes {sorted(sizes)}."
        )
    n = sizes.pop()
    if n < 1:
        raise ValueError(f"`{name}` must hold at least one sample.")
    return data, n


def _stages(optimizer, steps, learning_rate, stages) -> list[Stage]:
    if stages is None:
        if steps is None:
            raise ValueError("`steps` must be given (or `stages`).")
        steps = v.positive_int(steps, "steps")
        return [Stage(as_optimizer(optimizer, learning_rate=learning_rate), steps)]
    if steps is not None or learning_rate is not None:
        raise ValueError(
            "`stages` carries its own optimisers and steps; leave `steps` and "
            "`learning_rate` unset with it."
        )
    if isinstance(stages, (str, Stage)) or not isinstance(stages, Sequence) or not stages:
        raise ValueError(
            f"`stages` must be a non-empty list of Stage or (optimizer, steps), got {stages!r}."
        )
    out = []
    for s in stages:
        if isinstance(s, Stage):
            out.append(s)
        elif isinstance(s, tuple) and len(s) == 2:
            out.append(Stage(s[0], v.positive_int(s[1], "stages")))
        else:
            raise ValueError(f"`stages` entries must be Stage or (optimizer, steps), got {s!r}.")
    return out


def _schedule(stages: list[Stage], eval_every: int) -> list[tuple[int, int, int]]:
    """(stage, first global step, steps) of every chunk."""
    chunks, start = [], 0
    for i, stage in enumerate(stages):
        done = 0
        while done < stage.steps:
            n = min(eval_every, stage.steps - done)
            chunks.append((i, start, n))
            start, done = start + n, done + n
    return chunks


def _split_model(model: eqx.Module, trainable: Callable) -> tuple[Any, Any, Any]:
    chosen, other = eqx.partition(model, trainable(model))
    params, extra = eqx.partition(chosen, eqx.is_inexact_array)
    frozen, static = eqx.partition(eqx.combine(other, extra), eqx.is_array)
    return params, frozen, static


def _signature(parts: tuple[Any, Any, Any]) -> tuple[Any, ...]:
    params, frozen, static = parts
    sig = []
    for tree in (params, frozen):
        leaves, treedef = jax.tree.flatten(tree)
        sig.append((treedef, tuple((x.shape, str(x.dtype)) for x in leaves)))
    leaves, treedef = jax.tree.flatten(static)
    sig.append((treedef, leaves))
    return tuple(sig)


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - an unorderable static value means "different"
        return False


def _stack(trees: list[Any]) -> Any:
    return jax.tree.map(lambda *xs: jnp.stack(xs), *trees)


def _index(tree: Any, i: int) -> Any:
    return jax.tree.map(lambda x: x[i], tree)


# --------------------------------------------------------------------------- compiled parts


def _loss_fn(loss: Callable, frozen: Any, static: Any) -> Callable:
    return lambda p, batch: loss(eqx.combine(p, frozen, static), batch)


@eqx.filter_jit
def _initial(params, frozen, opt: AbstractOptimizer):
    def one(p, f):
        return _Carry(
            params=p,
            frozen=f,
            opt_state=opt.transformation().init(p),
            best=p,
            best_loss=jnp.asarray(jnp.inf, jnp.result_type(float)),
            bad=jnp.asarray(0, jnp.int32),
            stopped=jnp.asarray(False),
            early=jnp.asarray(False),
            step=jnp.asarray(0, jnp.int32),
        )

    return _strong(jax.vmap(one)(params, frozen))


@eqx.filter_jit
def _start_stage(carry: _Carry, opt: AbstractOptimizer) -> _Carry:
    def one(c: _Carry) -> _Carry:
        ok = jnp.isfinite(c.best_loss)
        params = jax.tree.map(lambda b, p: jnp.where(ok, b, p), c.best, c.params)
        return _Carry(
            params=params,
            frozen=c.frozen,
            opt_state=opt.transformation().init(params),
            best=c.best,
            best_loss=c.best_loss,
            bad=jnp.zeros_like(c.bad),
            stopped=jnp.zeros_like(c.stopped),
            early=c.early,
            step=c.step,
        )

    return _strong(jax.vmap(one)(carry))


@eqx.filter_jit
def _chunk(
    carry: _Carry,
    train_keys,
    start,
    last,
    *,
    static,
    opt: AbstractOptimizer,
    loss: Callable,
    data,
    validation,
    n: int,
    batch_size: int | None,
    sample: Callable | None,
    patience: int | None,
):
    n_data = jax.tree.leaves(data)[0].shape[0]

    def one(c: _Carry, train_key):
        tx = opt.transformation()
        loss_fn = _loss_fn(loss, c.frozen, static)

        def body(state, i):
            params, opt_state = state
            k = jax.random.fold_in(train_key, start + i)
            if sample is not None:
                batch = sample(k, data)
            elif batch_size is None or batch_size == n_data:
                batch = data
            else:
                idx = jax.random.choice(k, n_data, (batch_size,), replace=False)
                batch = jax.tree.map(lambda a: a[idx], data)
            params, opt_state, _ = opt.update(tx, loss_fn, params, opt_state, batch)
            return (params, opt_state), None

        (params, opt_state), _ = jax.lax.scan(
            body, (c.params, c.opt_state), jnp.arange(n, dtype=jnp.int32)
        )
        keep = c.stopped
        params, opt_state = jax.tree.map(
            lambda old, new: jnp.where(keep, old, new),
            (c.params, c.opt_state),
            (params, opt_state),
        )
        train_loss = loss_fn(params, data)
        nan = jnp.full_like(train_loss, jnp.nan)
        val_loss = nan if validation is None else loss_fn(params, validation)
        metric = train_loss if validation is None else val_loss
        improved = ~keep & (metric < c.best_loss)
        best = jax.tree.map(lambda b, p: jnp.where(improved, p, b), c.best, params)
        bad = jnp.where(keep, c.bad, jnp.where(improved, 0, c.bad + 1))
        stop = ~keep & ~jnp.isfinite(train_loss)
        if patience is not None:
            stop = stop | (~keep & (bad >= patience))
        new = _Carry(
            params=params,
            frozen=c.frozen,
            opt_state=opt_state,
            best=best,
            best_loss=jnp.where(improved, metric, c.best_loss),
            bad=bad,
            stopped=keep | stop,
            early=c.early | (stop & ~last),
            step=c.step + jnp.where(keep, 0, n),
        )
        return new, jnp.where(keep, nan, train_loss), jnp.where(keep, nan, val_loss)

    new, train_loss, val_loss = jax.vmap(one)(carry, train_keys)
    return _strong(new), train_loss, val_loss


# --------------------------------------------------------------------------- fit


def restart_models(
    model: Any, key: PRNGKeyArray, restarts: int
) -> tuple[list[eqx.Module], list[Array]]:
    """One model per restart and the restart's key pair (init key, training key): restart r
    uses fold_in(`key`, r); `model` is a Module (one restart) or init(key) -> Module."""
    restart_keys = [jax.random.split(jax.random.fold_in(key, r)) for r in range(restarts)]
    if isinstance(model, eqx.Module):
        if restarts > 1:
            raise ValueError(
                "`model` must be a function init(key) -> model when `restarts` > 1, so that "
                "each restart starts elsewhere."
            )
        models = [model]
    elif callable(model):
        models = []
        for k in restart_keys:
            m = model(k[0])
            if not isinstance(m, eqx.Module):
                raise ValueError(f"`model` (init) must return equinox Modules, got {m!r}.")
            models.append(m)
    else:
        raise ValueError(f"`model` must be an equinox Module or init(key), got {model!r}.")
    return models, restart_keys


def fit(
    model: eqx.Module | Callable[[PRNGKeyArray], eqx.Module],
    loss: Callable[[Any, Any], Float[Array, ""]],
    data: PyTree[Any],
    *,
    key: PRNGKeyArray,
    steps: int | None = None,
    optimizer: str | AbstractOptimizer | optax.GradientTransformation = "adam",
    learning_rate: float | Callable[[Any], Any] | None = None,
    stages: Sequence[Stage | tuple[Any, int]] | None = None,
    batch_size: int | None = None,
    validation: PyTree[Any] | None = None,
    early_stopping: int | None = None,
    eval_every: int = 100,
    restarts: int = 1,
    vmap_restarts: bool = True,
    trainable: Callable[[Any], PyTree[bool]] | None = None,
    checkpoint: str | os.PathLike | None = None,
    checkpoint_every: int | None = None,
    progress: bool = False,
    callback: Callable[[int, Any, Any], str | None] | None = None,
    sample: Callable[[PRNGKeyArray, Any], Any] | None = None,
) -> FitResult:
    """Minimise `loss(model, batch)` over the model's trainable leaves with optax.

    Gradient steps by equinox filtered transformations (`eqx.filter_value_and_grad`,
    `eqx.partition`/`combine`) and an optax optimiser: Adam (Kingma & Ba 2015,
    arXiv:1412.6980), AdamW (Loshchilov & Hutter 2019, arXiv:1711.05101) or L-BFGS with
    a zoom line search (Liu & Nocedal 1989, Math. Program. 45, 503), or several in
    `stages`. Each chunk of `eval_every` steps is one compiled `lax.scan`; restarts with
    equal shapes are trained together in one `vmap`. The returned model is the restart
    with the lowest best loss, at its best evaluation (the validation loss when
    `validation` is given, else the training loss on the whole training set): early
    stopping with `early_stopping` evaluations of patience (Prechelt 1998, "Early
    stopping - but when?", Neural Networks: Tricks of the Trade, LNCS 1524).

    With `checkpoint`, the state is written atomically to that file every
    `checkpoint_every` steps and at the end; if the file exists, the run resumes from
    it and ends with parameters bit-identical to an uninterrupted run with the same
    arguments. A checkpoint from another model or configuration raises `ValueError`
    and is left untouched (the configuration includes the `repr` of a `loss` or
    `sample` that is an equinox Module).

    **Arguments:**

    - `model`: the model (an equinox Module), or a function `init(key) -> model` that
      builds one per restart from key_r = fold_in(`key`, r).
    - `loss`: `loss(model, batch) -> scalar`, with `batch` a slice of `data` along its
      leading axis (the whole of `data` for full-batch training).
    - `data`: an array or a pytree of arrays sharing a leading sample axis, finite.
    - `key`: PRNG key: restarts' initialisation and mini-batches.
    - `steps`: optimiser steps (with `optimizer`); or give `stages` (default None).
    - `optimizer`: "adam" (default), "adamw", "lbfgs", a `cj.learn.Adam`/`AdamW`/
      `LBFGS`, or an `optax.GradientTransformation`.
    - `learning_rate`: for a string `optimizer`: a float or an optax schedule (default
      None: the optimiser's default).
    - `stages`: a list of `cj.learn.Stage(optimizer, steps)` or `(optimizer, steps)`
      run in order, e.g. `[("adam", 2000), ("lbfgs", 200)]`.
    - `batch_size`: samples per step, drawn without replacement; None for full batch.
      L-BFGS stages always use the full batch.
    - `sample`: `sample(key, data) -> batch`, how each step's batch is drawn instead
      (e.g. random windows of long sequences), from key fold_in(train_key_r, global
      step); `batch_size` must then be None. The losses after each chunk are still
      `loss(model, data)` (and `loss(model, validation)`), so `loss` must accept both
      forms. Default None. L-BFGS stages ignore it (full batch).
    - `validation`: data of the same form as `data` for the validation loss (default
      None).
    - `early_stopping`: stop a restart's stage after this many evaluations without
      improvement; None (default) to run every step.
    - `eval_every`: steps per compiled chunk, between evaluations (default 100).
    - `restarts`: number of models from `init`; needs a function `model` when > 1
      (default 1).
    - `vmap_restarts`: train restarts of equal shapes together (one `vmap`; default
      True); False runs them one after another.
    - `trainable`: `trainable(model) -> pytree of bools` (an equinox filter
      specification); default `default_trainable` (normalisers are not trained).
    - `checkpoint`: file to write and resume from; None for none.
    - `checkpoint_every`: steps between checkpoints (rounded up to evaluations);
      default every evaluation.
    - `progress`: show a rich progress bar with the best loss (default False).
    - `callback`: `callback(step, train_losses, validation_losses)` after each
      evaluation, with the losses of the restarts trained together (default None); a
      string it returns is shown in the progress bar (e.g. a throughput).

    **Returns:**

    A `FitResult` (`model`, `models`, `history`, `restart_losses`, `best_restart`,
    `steps_done`, `stopped_early`).

    Example:

    ```python
    import equinox as eqx

    class W(eqx.Module):
        w: jax.Array

    A, b = jax.random.normal(jax.random.key(0), (50, 3)), jnp.arange(50.0)
    loss = lambda m, batch: jnp.mean((batch[0] @ m.w - batch[1]) ** 2)
    res = cj.learn.fit(W(jnp.zeros(3)), loss, (A, b), key=jax.random.key(1),
                       stages=[("adam", 500), ("lbfgs", 50)])
    res.model.w        # the least-squares solution
    ```
    """
    # ---- arguments, all checked before anything is compiled
    if not callable(loss):
        raise ValueError(f"`loss` must be a function loss(model, batch) -> scalar, got {loss!r}.")
    key = v.prng_key(key)
    restarts = v.positive_int(restarts, "restarts")
    eval_every = v.positive_int(eval_every, "eval_every")
    stage_list = _stages(optimizer, steps, learning_rate, stages)
    data, n_data = _check_data(data, "data")
    if validation is not None:
        validation, _ = _check_data(validation, "validation")
    if sample is not None:
        if not callable(sample):
            raise ValueError(
                f"`sample` must be a function sample(key, data) -> batch, got {sample!r}."
            )
        if batch_size is not None:
            raise ValueError("`batch_size` must be None with `sample` (it draws the batches).")
    if batch_size is not None:
        batch_size = v.positive_int(batch_size, "batch_size")
        if batch_size > n_data:
            raise ValueError(
                f"`batch_size` ({batch_size}) must not exceed the {n_data} samples of `data`."
            )
    patience = None if early_stopping is None else v.positive_int(early_stopping, "early_stopping")
    if checkpoint_every is not None:
        checkpoint_every = v.positive_int(checkpoint_every, "checkpoint_every")
    if checkpoint is not None:
        if not isinstance(checkpoint, (str, os.PathLike)):
            raise ValueError(f"`checkpoint` must be a file path, got {checkpoint!r}.")
        if Path(checkpoint).is_dir():
            raise ValueError(f"`checkpoint` must be a file path, got a directory {checkpoint!r}.")
        ensure_writable_dir(Path(checkpoint).parent)
    if trainable is None:
        trainable = default_trainable
    elif not callable(trainable):
        raise ValueError(
            f"`trainable` must be a function model -> pytree of bools, got {trainable!r}."
        )
    if callback is not None and not callable(callback):
        raise ValueError(f"`callback` must be a function, got {callback!r}.")

    # ---- models, one per restart, and their groups
    models, restart_keys = restart_models(model, key, restarts)
    train_keys = [k[1] for k in restart_keys]
    parts = [_split_model(m, trainable) for m in models]
    if not jax.tree.leaves(parts[0][0]):
        raise ValueError("`trainable` selects no floating-point array of `model` to train.")
    shape = eqx.filter_eval_shape(loss, models[0], data)
    if not (isinstance(shape, jax.ShapeDtypeStruct) and shape.shape == ()):
        raise ValueError(f"`loss` must return a scalar, got {shape}.")
    groups: list[list[int]] = []
    signatures: list[Any] = []
    for r, p in enumerate(parts):
        sig = _signature(p)
        for g, other in enumerate(signatures):
            if vmap_restarts and _same(sig, other):
                groups[g].append(r)
                break
        else:
            groups.append([r])
            signatures.append(sig)

    schedule = _schedule(stage_list, eval_every)
    n_chunks = len(schedule)
    total_steps = sum(s.steps for s in stage_list)
    every = eval_every if checkpoint_every is None else checkpoint_every

    def initial_carry(g: int, stage: int) -> _Carry:
        members = groups[g]
        params = _stack([parts[r][0] for r in members])
        frozen = _stack([parts[r][1] for r in members])
        carry = _initial(params, frozen, stage_list[0].optimizer)
        for s in range(1, stage + 1):
            carry = _start_stage(carry, stage_list[s].optimizer)
        return carry

    carries = [initial_carry(g, 0) for g in range(len(groups))]
    hist_train = np.full((restarts, n_chunks), np.nan)
    hist_val = np.full((restarts, n_chunks), np.nan)
    group_pos, chunk_pos = 0, 0
    key_data = np.asarray(jax.random.key_data(key))
    config = {
        "restarts": restarts,
        "groups": groups,
        "stages": [[type(s.optimizer).__name__, s.steps] for s in stage_list],
        "eval_every": eval_every,
        "batch_size": batch_size,
        "early_stopping": patience,
        "validation": validation is not None,
        "n_data": n_data,
    }
    if sample is not None:
        config["sample"] = True
    # A loss or sampler written as a Module describes itself (its settings, e.g. the
    # architecture a loss is for): a checkpoint written with other settings is refused.
    for name, fn in (("loss", loss), ("sample", sample)):
        if isinstance(fn, eqx.Module):
            config[name] = repr(fn)
    identity = _json_round(
        {
            "kind": "training",
            "model_class": ckpt.class_path(models[0]),
            "model_leaves": [ckpt.leaf_signature(eqx.filter(m, eqx.is_array)) for m in models],
            "config": config,
            "key": key_data.tolist(),
        }
    )

    def state_tree() -> dict[str, Any]:
        return {
            "carries": carries,
            "train": hist_train,
            "validation": hist_val,
            "key": key_data,
        }

    if checkpoint is not None and Path(checkpoint).exists():
        header = ckpt.read_header(checkpoint, name="checkpoint")
        problem = _mismatch(header, identity)
        if problem is not None:
            raise ValueError(
                f"`checkpoint` {str(checkpoint)!r} {problem}; it is left untouched. Remove "
                "it or pass another path to start afresh."
            )
        group_pos, chunk_pos = header["group"], header["next_chunk"]
        for g in range(len(groups)):
            if g < group_pos:
                stage = len(stage_list) - 1
            elif g == group_pos and chunk_pos > 0:
                stage = schedule[chunk_pos - 1][0]
            else:
                stage = 0
            carries[g] = initial_carry(g, stage)
        state = ckpt.read_tree(checkpoint, state_tree(), name="checkpoint")
        carries = list(state["carries"])
        hist_train, hist_val = np.array(state["train"]), np.array(state["validation"])

    def save_checkpoint(g: int, next_chunk: int) -> None:
        assert checkpoint is not None
        header = {
            **identity,
            "group": g,
            "next_chunk": next_chunk,
            "steps": schedule[next_chunk - 1][1] + schedule[next_chunk - 1][2] if next_chunk else 0,
        }
        ckpt.write(checkpoint, header, state_tree())

    # ---- the loop
    done_before = sum(len(groups[g]) for g in range(group_pos)) * total_steps
    if chunk_pos:
        done_before += len(groups[group_pos]) * (
            schedule[chunk_pos - 1][1] + schedule[chunk_pos - 1][2]
        )
    with progress_bar(progress, restarts * total_steps, "fit") as bar:
        bar.advance(done_before)
        for g in range(group_pos, len(groups)):
            members = groups[g]
            keys = _stack_keys([train_keys[i] for i in members])
            static = parts[members[0]][2]
            carry = carries[g]
            since = 0
            note = None
            for c in range(chunk_pos if g == group_pos else 0, n_chunks):
                stage, start, n = schedule[c]
                if c > 0 and schedule[c - 1][0] != stage:
                    carry = _start_stage(carry, stage_list[stage].optimizer)
                last = c + 1 == n_chunks or schedule[c + 1][0] != stage
                opt = stage_list[stage].optimizer
                if not bool(jnp.all(carry.stopped)):
                    carry, tl, vl = _chunk(
                        carry,
                        keys,
                        jnp.asarray(start, jnp.int32),
                        jnp.asarray(last),
                        static=static,
                        opt=opt,
                        loss=loss,
                        data=data,
                        validation=validation,
                        n=n,
                        batch_size=None if opt.full_batch else batch_size,
                        sample=None if opt.full_batch else sample,
                        patience=patience,
                    )
                    hist_train[members, c] = np.asarray(tl)
                    hist_val[members, c] = np.asarray(vl)
                    if callback is not None:
                        note = callback(start + n, tl, None if validation is None else vl)
                carries[g] = carry
                bar.advance(n * len(members))
                if progress:
                    extra = f", {note}" if isinstance(note, str) else ""
                    bar.describe(f"fit (best loss {_best_so_far(carries):.3e}{extra})")
                since += n
                if checkpoint is not None and (since >= every or c + 1 == n_chunks):
                    save_checkpoint(g, c + 1)
                    since = 0
            if checkpoint is not None and g + 1 < len(groups):
                save_checkpoint(g + 1, 0)

    # ---- results
    best_models: list[Any] = [None] * restarts
    losses = np.full(restarts, np.inf)
    steps_done = np.zeros(restarts, np.int64)
    early = np.zeros(restarts, bool)
    for g, members in enumerate(groups):
        carry, static = carries[g], parts[members[0]][2]
        for i, r in enumerate(members):
            best_models[r] = eqx.combine(_index(carry.best, i), _index(carry.frozen, i), static)
            losses[r] = float(carry.best_loss[i])
            steps_done[r] = int(carry.step[i])
            early[r] = bool(carry.early[i])
    best = int(np.argmin(losses))
    history = History(
        steps=jnp.asarray([s + n for _, s, n in schedule]),
        stage=jnp.asarray([st for st, _, _ in schedule]),
        train=jnp.asarray(hist_train),
        validation=None if validation is None else jnp.asarray(hist_val),
    )
    return FitResult(
        model=best_models[best],
        models=tuple(best_models),
        history=history,
        restart_losses=jnp.asarray(losses),
        best_restart=best,
        steps_done=jnp.asarray(steps_done),
        stopped_early=jnp.asarray(early),
    )


def _mismatch(header: dict[str, Any], identity: dict[str, Any]) -> str | None:
    """Why a checkpoint's header does not belong to this run, or None if it does."""
    if header.get("kind") != identity["kind"]:
        return f"is a {header.get('kind')!r} file, not a training checkpoint"
    if header.get("model_class") != identity["model_class"]:
        return f"holds a {header.get('model_class')}, not a {identity['model_class']}"
    if header.get("model_leaves") != identity["model_leaves"]:
        return "holds a model with other leaf shapes or dtypes"
    if header.get("config") != identity["config"]:
        return (
            f"was written with another configuration {header.get('config')} "
            f"(now {identity['config']})"
        )
    if header.get("key") != identity["key"]:
        return "was written with another `key`"
    return None


def _stack_keys(keys: list[Any]) -> Any:
    return jax.random.wrap_key_data(jnp.stack([jax.random.key_data(k) for k in keys]))


def _best_so_far(carries: list[_Carry]) -> float:
    values = [float(jnp.min(c.best_loss)) for c in carries]
    return min(values) if values else math.inf


def _json_round(obj: Any) -> Any:
    """`obj` as it reads back from JSON (tuples become lists)."""
    return json.loads(json.dumps(obj))
