"""Training without gradients: a simulated-annealing / hill-climbing random search.

The trainer A. Maus describes for his delay-embedding networks ("Modelling Sensitivity
using Neural Networks", 2011,
https://adammaus.com/wp/2011/04/modeling-sensitivity-using-neural-networks/): "we search
a neighborhood of potential solutions with the chance to randomly search a more distant
one. If a good solution is found, we move to its neighborhood and start searching again.
We slowly shrink the neighborhood size as training progresses." Here, at step k of n
(t = k / n):

- every trainable leaf of the current parameters is moved by Gaussian noise of standard
  deviation sigma_k = step_size * (final_step_size / step_size)^t (the shrinking
  neighbourhood); with probability `far_probability` the step is `far_factor` times
  larger (the more distant search);
- a candidate with a lower loss is accepted (hill climbing); a worse one is accepted
  with the Metropolis probability exp(-(log L_new - log L)/T_k), the temperature
  T_k = temperature * (final_temperature / temperature)^t shrinking geometrically
  (Kirkpatrick, Gelatt & Vecchi 1983, "Optimization by simulated annealing", Science
  220, 671-680). The comparison is on the logarithm of the loss, so one temperature
  serves a loss of 1e-1 and one of 1e-6 alike; temperature 0 is pure hill climbing;
- the best parameters seen are kept and returned.

The whole search is one `lax.scan` under `jit`, restarts are `vmap`ped, and every random
draw comes from `fold_in(key_r, k)`, so a run depends on nothing but its key. Any model
and loss serve, as with `cj.learn.fit`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray, PyTree

from .. import _validate as v
from .._results import Result
from .train import _check_data, default_trainable, restart_models

__all__ = ["AnnealResult", "Annealing", "anneal"]


class Annealing(eqx.Module):
    """The options of the annealing trainer (`cj.learn.anneal`; `trainer=` of
    `cj.learn.fit_delay_mlp`).

    Neighbourhood and temperature shrink geometrically from their initial to their
    final values over `steps` (see the module docstring, after A. Maus, "Modelling
    Sensitivity using Neural Networks", 2011,
    https://adammaus.com/wp/2011/04/modeling-sensitivity-using-neural-networks/).

    **Arguments:**

    - `steps`: candidate evaluations per restart, >= 1 (default 200_000).
    - `step_size`: initial standard deviation of the Gaussian move, in the units of the
      parameters, > 0 (default 0.1).
    - `final_step_size`: its value at the last step, > 0 (default 1e-5).
    - `temperature`: initial temperature, in units of log-loss, >= 0 (default 1e-3:
      a loss 0.1 % higher is accepted with probability 1/e); 0 accepts only
      improvements (hill climbing).
    - `final_temperature`: its value at the last step, >= 0 and 0 only if
      `temperature` is 0 (default 1e-6).
    - `far_probability`: probability of a distant move, in [0, 1) (default 0.05).
    - `far_factor`: how much larger a distant move is, >= 1 (default 10).
    - `eval_every`: steps between the entries of the loss history, >= 1 (default
      1_000).

    Example:

    ```python
    schedule = cj.learn.Annealing(steps=50_000, step_size=0.05, temperature=0.0)
    ```
    """

    steps: int = 200_000
    step_size: float = 0.1
    final_step_size: float = 1e-5
    temperature: float = 1e-3
    final_temperature: float = 1e-6
    far_probability: float = 0.05
    far_factor: float = 10.0
    eval_every: int = 1_000

    def __check_init__(self):
        v.positive_int(self.steps, "steps")
        v.positive_int(self.eval_every, "eval_every")
        v.positive_float(self.step_size, "step_size")
        v.positive_float(self.final_step_size, "final_step_size")
        for name in ("temperature", "final_temperature"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"`{name}` must be a float >= 0, got {value!r}.")
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"`{name}` must be a finite float >= 0, got {value!r}.")
        if (self.temperature == 0) != (self.final_temperature == 0):
            raise ValueError(
                "`final_temperature` must be 0 exactly when `temperature` is 0 (a geometric "
                f"schedule), got {self.temperature!r} and {self.final_temperature!r}."
            )
        p = self.far_probability
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p < 1:
            raise ValueError(f"`far_probability` must be a float in [0, 1), got {p!r}.")
        f = self.far_factor
        if isinstance(f, bool) or not isinstance(f, (int, float)) or not 1 <= f < math.inf:
            raise ValueError(f"`far_factor` must be a finite float >= 1, got {f!r}.")


class AnnealResult(Result):
    """What `cj.learn.anneal` returns.

    **Attributes:**

    - `model`: the restart with the lowest loss, at its best parameters.
    - `models`: every restart's best model, in restart order.
    - `restart_losses`: (restarts,) each restart's best loss.
    - `best_restart`: the index of the lowest.
    - `history`: (restarts, evals) the best loss so far after every `eval_every`
      steps.
    - `acceptance`: (restarts,) the fraction of candidates accepted.

    Example:

    ```python
    res = cj.learn.anneal(model, loss, data, key=jax.random.key(0))
    res.model, res.restart_losses, res.acceptance
    ```
    """

    model: eqx.Module
    models: tuple[eqx.Module, ...]
    restart_losses: Float[Array, " restarts"]
    best_restart: int
    history: Float[Array, "restarts evals"]
    acceptance: Float[Array, " restarts"]


class _State(eqx.Module):
    current: Any
    current_loss: Array
    best: Any
    best_loss: Array
    accepted: Array


def _geometric(start: float, end: float, t: Array) -> Array:
    if start == 0:
        return jnp.zeros_like(t)
    return start * (end / start) ** t


def _search(params, key, *, rest, loss, data, schedule: Annealing, n_evals: int):
    """One restart: the annealing scan from `params`; returns (best, best_loss, history,
    accepted)."""
    value = lambda p: loss(eqx.combine(p, rest), data)
    leaves, treedef = jax.tree.flatten(params)
    total = schedule.steps

    def move(state: _State, k: Array) -> tuple[_State, None]:
        t = k.astype(state.best_loss.dtype) / total
        k_far, k_accept, k_noise = jax.random.split(jax.random.fold_in(key, k), 3)
        far = jax.random.uniform(k_far) < schedule.far_probability
        sigma = _geometric(schedule.step_size, schedule.final_step_size, t)
        sigma = sigma * jnp.where(far, schedule.far_factor, 1.0)
        noise_keys = jax.random.split(k_noise, len(leaves))
        current = jax.tree.leaves(state.current)
        candidate = jax.tree.unflatten(
            treedef,
            [
                x + sigma * jax.random.normal(nk, x.shape, x.dtype)
                for x, nk in zip(current, noise_keys, strict=True)
            ],
        )
        new_loss = value(candidate)
        temperature = _geometric(schedule.temperature, schedule.final_temperature, t)
        rise = jnp.log(new_loss) - jnp.log(state.current_loss)
        # -log(u) is exponential: accepting when T * (-log u) > rise has probability
        # exp(-rise / T); with T = 0 only improvements pass.
        threshold = temperature * -jnp.log(jax.random.uniform(k_accept))
        accept = jnp.isfinite(new_loss) & ((rise < 0) | (rise < threshold))
        current = jax.tree.map(lambda a, b: jnp.where(accept, a, b), candidate, state.current)
        current_loss = jnp.where(accept, new_loss, state.current_loss)
        better = current_loss < state.best_loss
        best = jax.tree.map(lambda a, b: jnp.where(better, a, b), current, state.best)
        return (
            _State(
                current=current,
                current_loss=current_loss,
                best=best,
                best_loss=jnp.where(better, current_loss, state.best_loss),
                accepted=state.accepted + accept.astype(jnp.int32),
            ),
            None,
        )

    def chunk(state: _State, start: Array) -> tuple[_State, Array]:
        ks = start + jnp.arange(schedule.eval_every)

        # The last chunk may run past `steps`; those moves are masked out.
        def masked(s: _State, k: Array):
            new, _ = move(s, k)
            keep = k < total
            return jax.tree.map(lambda a, b: jnp.where(keep, a, b), new, s), None

        state, _ = jax.lax.scan(masked, state, ks)
        return state, state.best_loss

    loss0 = value(params)
    # A non-finite start is replaced by the first finite candidate: inf compares as worse.
    loss0 = jnp.where(jnp.isfinite(loss0), loss0, jnp.inf)
    state = _State(
        current=params,
        current_loss=loss0,
        best=params,
        best_loss=loss0,
        accepted=jnp.asarray(0, jnp.int32),
    )
    starts = jnp.arange(n_evals) * schedule.eval_every
    state, history = jax.lax.scan(chunk, state, starts)
    return state.best, state.best_loss, history, state.accepted


@eqx.filter_jit
def _run(params, rest, keys, *, loss, data, schedule, n_evals):
    fn = lambda p, k: _search(
        p, k, rest=rest, loss=loss, data=data, schedule=schedule, n_evals=n_evals
    )
    return jax.vmap(fn)(params, keys)


def anneal(
    model: eqx.Module | Callable[[PRNGKeyArray], eqx.Module],
    loss: Callable[[Any, Any], Float[Array, ""]],
    data: PyTree[Any],
    *,
    key: PRNGKeyArray,
    schedule: Annealing | None = None,
    restarts: int = 1,
    trainable: Callable[[Any], PyTree[bool]] | None = None,
) -> AnnealResult:
    """Minimise `loss(model, data)` by simulated annealing / hill climbing (no gradients).

    A random search in parameter space with a shrinking Gaussian neighbourhood,
    occasional distant moves, and acceptance of worse candidates with a temperature,
    after A. Maus, "Modelling Sensitivity using Neural Networks" (2011),
    https://adammaus.com/wp/2011/04/modeling-sensitivity-using-neural-networks/, and
    Kirkpatrick, Gelatt & Vecchi (1983), Science 220, 671-680 (details in the module
    docstring and `cj.learn.Annealing`). Each restart is one compiled `lax.scan`;
    restarts are `vmap`ped. The loss sees the whole of `data` at every step; it must be
    positive where finite (it is compared on a log scale). Deterministic: restart r
    draws from `fold_in(key, r)` only.

    **Arguments:**

    - `model`: an equinox Module, or `init(key) -> model` called with
      `fold_in(key, r)` for each restart (needed when `restarts` > 1).
    - `loss`: `loss(model, data) -> scalar`, positive.
    - `data`: an array or pytree of arrays, finite.
    - `key`: PRNG key.
    - `schedule`: a `cj.learn.Annealing` (default `Annealing()`).
    - `restarts`: number of independent searches, >= 1 (default 1).
    - `trainable`: `trainable(model) -> pytree of bools`; default
      `cj.learn.default_trainable` (every float array outside a `Normalizer`).

    **Returns:**

    An `AnnealResult` (`model`, `models`, `restart_losses`, `best_restart`, `history`,
    `acceptance`).

    Example:

    ```python
    import equinox as eqx

    class Line(eqx.Module):
        w: jax.Array

    x = jnp.linspace(-1.0, 1.0, 50)
    loss = lambda m, d: jnp.mean((m.w[0] + m.w[1] * d[0] - d[1]) ** 2) + 1e-12
    res = cj.learn.anneal(Line(jnp.zeros(2)), loss, (x, 0.5 - 2.0 * x),
                          key=jax.random.key(0),
                          schedule=cj.learn.Annealing(steps=20_000))
    res.model.w                              # ~[0.5, -2.0]
    ```
    """
    if not callable(loss):
        raise ValueError(f"`loss` must be a function loss(model, data) -> scalar, got {loss!r}.")
    key = v.prng_key(key)
    restarts = v.positive_int(restarts, "restarts")
    if schedule is None:
        schedule = Annealing()
    elif not isinstance(schedule, Annealing):
        raise ValueError(f"`schedule` must be a cj.learn.Annealing, got {schedule!r}.")
    data, _ = _check_data(data, "data")
    if trainable is None:
        trainable = default_trainable
    elif not callable(trainable):
        raise ValueError(
            f"`trainable` must be a function model -> pytree of bools, got {trainable!r}."
        )
    models, restart_keys = restart_models(model, key, restarts)
    splits = [eqx.partition(m, trainable(m)) for m in models]
    params = [eqx.filter(p, eqx.is_inexact_array) for p, _ in splits]
    if not jax.tree.leaves(params[0]):
        raise ValueError("`trainable` selects no floating-point array of `model` to train.")
    rests = [eqx.combine(eqx.filter(p, eqx.is_inexact_array, inverse=True), r) for p, r in splits]
    shape = eqx.filter_eval_shape(loss, models[0], data)
    if not (isinstance(shape, jax.ShapeDtypeStruct) and shape.shape == ()):
        raise ValueError(f"`loss` must return a scalar, got {shape}.")
    rest_arrays, rest_static = eqx.partition(rests[0], eqx.is_array)
    for r in rests[1:]:
        if not bool(eqx.tree_equal(eqx.partition(r, eqx.is_array)[0], rest_arrays)):
            raise ValueError(
                "`model` (init) must give restarts that differ only in their trainable leaves."
            )
    n_evals = -(-schedule.steps // schedule.eval_every)
    stacked = jax.tree.map(lambda *xs: jnp.stack(xs), *params)
    keys = jax.random.wrap_key_data(jnp.stack([jax.random.key_data(k[1]) for k in restart_keys]))
    rest = eqx.combine(rest_arrays, rest_static)
    best, best_loss, history, accepted = _run(
        stacked, rest, keys, loss=loss, data=data, schedule=schedule, n_evals=n_evals
    )
    out = [eqx.combine(jax.tree.map(lambda x: x[r], best), rest) for r in range(restarts)]
    losses = np.asarray(best_loss)
    finite = np.where(np.isfinite(losses), losses, np.inf)
    best_r = int(np.argmin(finite))
    return AnnealResult(
        model=out[best_r],
        models=tuple(out),
        restart_losses=jnp.asarray(best_loss),
        best_restart=best_r,
        history=history,
        acceptance=accepted / schedule.steps,
    )
