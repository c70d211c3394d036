"""Divergence times of symbolic (token) sequences: how long continuations that share a
conditioning prefix keep visiting the same cells.

A trajectory discretised on a grid (or by any encoder) is a sequence of tokens. Many
continuous trajectories share one token sequence, so a model that continues a token
sequence cannot be compared with one true continuation; Shalova & Oseledets (2020,
"Deep representation learning for dynamical systems modeling", arXiv:2002.05111) sample
initial conditions near x0 whose first k tokens match x0's, follow their true
continuations, and measure for how long each still matches a reference (the model's
continuation, or the true one of x0): the divergence time, to be compared with the
inverse largest Lyapunov exponent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Bool, Float, Int, PRNGKeyArray

from .. import _validate as v
from .._results import Result
from ..discretize import as_map
from ..simulate import trajectory
from ..systems import Flow, Map
from . import _checks as c

# Sampled trajectories simulated at once: bounded so that (chunk, length, dim) floats
# stay near 128 MB.
_CHUNK_FLOATS = 1 << 24


class DivergenceTime(Result):
    """How long continuations keep the tokens of a reference (what `divergence_time`
    returns, and the `divergence` of `sampled_divergence_time`).

    Leading axes of the references (`*refs`) are kept.

    **Attributes:**

    - `steps`: (*refs, samples), for each continuation the number of tokens after the
      condition that equal the reference's before the first that differs (the
      `horizon` if none differs within it). Meaningful where `accepted`.
    - `accepted`: (*refs, samples), whether the continuation's first `condition` tokens
      equal the reference's.
    - `reached_end`: (*refs, samples), whether no token differed within the horizon
      (then `steps` is a lower bound).
    - `condition`, `horizon`: static; tokens of the condition and after it.
    - `dt`: static; the time between tokens.

    Properties: `time` (= steps * dt), `acceptance` (the fraction accepted),
    `longest_steps` and `longest_time` (the longest accepted continuation per reference,
    the paper's statistic; -1 and NaN where none was accepted), `mean_time` and
    `median_time` (over every accepted continuation), `mean_longest_time` (the mean of
    `longest_time` over references with an accepted continuation).

    Example:

    ```python
    res = cj.metrics.divergence_time(ref_tokens, tokens, condition=100, dt=0.03)
    res.mean_longest_time, res.mean_time, res.acceptance
    ```
    """

    steps: Int[Array, "*refs samples"]
    accepted: Bool[Array, "*refs samples"]
    reached_end: Bool[Array, "*refs samples"]
    condition: int = eqx.field(static=True)
    horizon: int = eqx.field(static=True)
    dt: float = eqx.field(static=True)

    @property
    def time(self) -> Array:
        """`steps * dt`, (*refs, samples)."""
        return self.steps.astype(jnp.result_type(float)) * self.dt

    @property
    def acceptance(self) -> Array:
        """The fraction of continuations whose condition matched."""
        return jnp.mean(self.accepted.astype(self.time.dtype))

    @property
    def longest_steps(self) -> Array:
        """The most steps of any accepted continuation per reference, (*refs,); -1 where
        none was accepted (the paper's "maximum time among all sampled trajectories")."""
        return jnp.max(jnp.where(self.accepted, self.steps, -1), axis=-1)

    @property
    def longest_time(self) -> Array:
        """`longest_steps * dt`, (*refs,); NaN where none was accepted."""
        s = self.longest_steps
        return jnp.where(s >= 0, s.astype(jnp.result_type(float)) * self.dt, jnp.nan)

    @property
    def mean_time(self) -> Array:
        """The mean time over every accepted continuation (NaN if none)."""
        t = jnp.where(self.accepted, self.time, 0.0)
        n = jnp.sum(self.accepted).astype(t.dtype)
        return jnp.where(n > 0, jnp.sum(t) / jnp.maximum(n, 1.0), jnp.nan)

    @property
    def median_time(self) -> Array:
        """The median time over every accepted continuation (NaN if none)."""
        return jnp.nanmedian(jnp.where(self.accepted, self.time, jnp.nan))

    @property
    def mean_longest_time(self) -> Array:
        """The mean over references of `longest_time`, leaving out references with no
        accepted continuation (NaN if there is none at all)."""
        return jnp.nanmean(self.longest_time)


def _tokens(x: Any, name: str) -> Array:
    try:
        arr = jnp.asarray(x)
    except (TypeError, ValueError):
        raise ValueError(f"`{name}` must be an array of integer tokens, got {x!r}.") from None
    if not jnp.issubdtype(arr.dtype, jnp.integer):
        raise ValueError(f"`{name}` must hold integer tokens, got dtype {arr.dtype}.")
    return arr


@jax.jit
def _match(ref, cont, condition_mask):
    """(steps, accepted, reached_end) of `cont` (..., M, L) against `ref` (..., L).

    `condition_mask` (L,) marks the condition's positions. Negative tokens (invalid
    states) never match anything.
    """
    cond = condition_mask.reshape((1,) * (cont.ndim - 1) + (-1,))
    eq = (cont == ref[..., None, :]) & (cont >= 0) & (ref[..., None, :] >= 0)
    accepted = jnp.all(eq | ~cond, axis=-1)
    differs = ~eq & ~cond
    reached_end = ~jnp.any(differs, axis=-1)
    after = jnp.sum(~condition_mask)
    first = jnp.argmax(differs, axis=-1) - (condition_mask.shape[0] - after)
    return jnp.where(reached_end, after, first), accepted, reached_end


def _core(ref: Array, cont: Array, condition: int, dt: float) -> DivergenceTime:
    L = ref.shape[-1]
    mask = jnp.arange(L) < condition
    steps, accepted, reached_end = _match(ref, cont, mask)
    return DivergenceTime(
        steps=steps,
        accepted=accepted,
        reached_end=reached_end,
        condition=condition,
        horizon=L - condition,
        dt=dt,
    )


def divergence_time(
    reference: Int[ArrayLike, "*refs length"],
    continuations: Int[ArrayLike, "*refs_c samples length_c"],
    *,
    condition: int,
    dt: float = 1.0,
) -> DivergenceTime:
    """How long token sequences that share a condition keep the tokens of a reference.

    Shalova & Oseledets (2020, arXiv:2002.05111) estimate how fast a model's generated
    continuation departs from the truth without comparing it to one continuous
    trajectory (a token sequence stands for a whole range of them): among true
    continuations whose first k tokens (the condition given to the model) equal the
    reference's, find for how long each keeps matching the reference after the
    condition; the longest such time is their divergence time, set beside 1/lambda_max.
    This function is that count, for any encoder and any source of the sequences:
    `reference` can be a model's generated continuation (then the result is the
    model's divergence time) or the true continuation of x0 (then it is the true
    system's own, the same procedure applied to two true trajectories).

    A continuation is *accepted* when its first `condition` tokens equal the
    reference's; its `steps` count the tokens after the condition up to the first that
    differs. Negative tokens mark invalid states (a diverged trajectory) and never
    match.

    **Arguments:**

    - `reference`: the reference token sequence(s), shape (..., length), integers.
    - `continuations`: the sequences to compare, shape (..., samples, length): for each
      reference (same leading axes), `samples` of them, integers.
    - `condition`: k, the length of the shared prefix, 0 <= k < length (0: every
      continuation is accepted).
    - `dt`: the time between tokens (default 1: times in steps).

    **Returns:**

    A `DivergenceTime` record: per continuation `steps`, `accepted`, `reached_end`;
    summaries `longest_time` (per reference), `mean_longest_time`, `mean_time`,
    `median_time`, `acceptance`.

    Example:

    ```python
    ref = jnp.array([3, 3, 4, 5, 6, 7])
    cont = jnp.array([[3, 3, 4, 5, 0, 0], [3, 3, 4, 5, 6, 7], [3, 1, 4, 5, 6, 7]])
    res = cj.metrics.divergence_time(ref, cont, condition=2, dt=0.1)
    res.steps, res.accepted          # [2, 4, 4], [True, True, False]
    res.longest_time                 # 0.4 (reached the end: a lower bound)
    ```
    """
    ref = _tokens(reference, "reference")
    cont = _tokens(continuations, "continuations")
    if ref.ndim < 1:
        raise ValueError(f"`reference` must have shape (..., length), got shape {ref.shape}.")
    if cont.ndim != ref.ndim + 1 or cont.shape[:-2] != ref.shape[:-1]:
        raise ValueError(
            f"`continuations` must have shape {(*ref.shape[:-1], 'samples', ref.shape[-1])} "
            f"(the reference's leading axes, then samples, then length), got "
            f"{tuple(cont.shape)}."
        )
    if cont.shape[-1] != ref.shape[-1]:
        raise ValueError(
            f"`continuations` must have the reference's length {ref.shape[-1]} in its last "
            f"axis, got shape {tuple(cont.shape)}."
        )
    condition = v.nonnegative_int(condition, "condition")
    if condition >= ref.shape[-1]:
        raise ValueError(
            f"`condition` must be less than the sequences' length {ref.shape[-1]}, got {condition}."
        )
    c.positive(dt, "dt")
    return _core(ref, cont, condition, float(dt))


class SampledDivergence(Result):
    """The divergence time of a system's own continuations, by sampling (what
    `sampled_divergence_time` returns).

    **Attributes:**

    - `divergence`: the `DivergenceTime` of the sampled continuations against the
      reference tokens, (refs, samples) per continuation.
    - `initial_states`: (refs, samples, dim), the sampled initial conditions.
    - `reference_states`: (refs, length, dim), the true continuation of each x0.
    - `reference_tokens`: (refs, length), the tokens compared against (the encoded
      `reference_states`, or the `reference` passed in).
    - `paired_states`: (refs, length, dim), for each x0 the first accepted sampled
      continuation (NaN where none was accepted): a true trajectory that shares the
      condition, the paper's "paired trajectory" for distances against time.
    - `invalid`: (refs,), how many samples became non-finite.
    - `scale`: static, the standard deviation of the initial perturbations.

    Example:

    ```python
    res = cj.metrics.sampled_divergence_time(lor, x0s, encode=encode, condition=100,
                                             horizon=300, samples=2_000, scale=5e-3,
                                             dt=0.01, save_every=3, key=key)
    res.divergence.mean_time, res.divergence.acceptance
    ```
    """

    divergence: DivergenceTime
    initial_states: Float[Array, "refs samples dim"]
    reference_states: Float[Array, "refs length dim"]
    reference_tokens: Int[Array, "refs length"]
    paired_states: Float[Array, "refs length dim"]
    invalid: Int[Array, " refs"]
    scale: float = eqx.field(static=True)


def sampled_divergence_time(
    system: Flow | Map,
    x0: Float[ArrayLike, "*refs dim"],
    *,
    encode: Callable[[Array], Array],
    condition: int,
    horizon: int,
    samples: int,
    scale: float,
    key: PRNGKeyArray,
    dt: float | None = None,
    save_every: int = 1,
    solver: str = "rk4",
    reference: Int[ArrayLike, "*refs_r length"] | None = None,
) -> SampledDivergence:
    """The divergence-time procedure of Shalova & Oseledets (2020) on a system's true
    trajectories: sample initial conditions near x0, keep those whose first k tokens
    match, and count how long their continuations keep the reference's tokens.

    For each x0, `samples` initial conditions x0 + `scale` * N(0, I) are integrated for
    `condition` + `horizon` samples (one sample every `save_every` steps of `dt`) and
    encoded; the reference is x0's own encoded continuation, or `reference` (e.g. a
    model's continuation of x0's first `condition` tokens, which it must begin with).
    `divergence_time` then gives, per sample, the acceptance and the steps matched.
    The paper chooses the perturbation so that k steps of growth at the largest
    exponent bring it to the size of a cell, `scale` = l_d exp(-lambda k tau), with
    l_d the radius of the sphere around a cell (half its diagonal) and tau the time
    between tokens; it uses k = 100 and a grid of 50 cells per axis. Samples that
    become non-finite are never accepted (counted in `invalid`).

    **Arguments:**

    - `system`: a `cj.Flow` or `cj.Map`.
    - `x0`: the reference initial state(s), shape (dim,) or (refs, dim); finite.
    - `encode`: states (..., dim) -> non-negative integer tokens (...,), e.g. a grid
      tokeniser's `encode`; called on arrays of shape (n, length, dim).
    - `condition`: k, the tokens that must match (the model's prompt), >= 0.
    - `horizon`: tokens compared after the condition, >= 1.
    - `samples`: perturbed initial conditions per x0, >= 1.
    - `scale`: the standard deviation of the perturbations, > 0.
    - `key`: a JAX PRNG key.
    - `dt`, `save_every`, `solver`: a flow's step, the steps between tokens (tau =
      dt * save_every) and the solver, as in `cj.trajectory`; `dt` None for a map.
    - `reference`: tokens to compare against instead of x0's true continuation, shape
      (length,) or (refs, length) with length = condition + horizon, integers.

    **Returns:**

    A `SampledDivergence` record: `divergence` (a `DivergenceTime`, times in the units
    of tau), `initial_states`, `reference_states`, `reference_tokens`, `paired_states`, `invalid`,
    `scale`.

    Example:

    ```python
    lor = cj.systems.Lorenz63()
    xs = cj.trajectory(lor, lor.default_state(), steps=30_000, dt=0.01, transient=3_000)
    lo, hi = xs.min(0), xs.max(0)
    n = 50
    def encode(x):
        i = jnp.clip(jnp.floor((x - lo) / (hi - lo) * n), 0, n - 1).astype(int)
        return (i[..., 0] * n + i[..., 1]) * n + i[..., 2]
    res = cj.metrics.sampled_divergence_time(
        lor, xs[::3000], encode=encode, condition=100, horizon=200, samples=1_000,
        scale=5e-3, key=jax.random.key(0), dt=0.01, save_every=3)
    res.divergence.mean_time          # ~0.85, beside 1 / 0.906 = 1.10
    ```
    """
    m = as_map(system, dt, solver)
    condition = v.nonnegative_int(condition, "condition")
    horizon = v.positive_int(horizon, "horizon")
    samples = v.positive_int(samples, "samples")
    save_every = v.positive_int(save_every, "save_every")
    v.positive_float(scale, "scale")
    key = v.prng_key(key)
    if not callable(encode):
        raise ValueError(f"`encode` must be a function states -> tokens, got {encode!r}.")
    x = v.state(x0, m.dim, "x0")
    x = x[None, :] if x.ndim == 1 else x
    refs, dim = x.shape
    L = condition + horizon
    tau = float(m.time_per_step) * save_every
    steps = (L - 1) * save_every

    def run(starts):
        return trajectory(
            system, starts, steps=steps, dt=dt, solver=solver, save_every=save_every, throw=False
        )

    def tokens_of(states):
        ok = jnp.all(jnp.isfinite(states), axis=-1)
        tok = jnp.asarray(encode(jnp.where(ok[..., None], states, 0.0)))
        if tok.shape != states.shape[:-1] or not jnp.issubdtype(tok.dtype, jnp.integer):
            raise ValueError(
                f"`encode` must map states of shape {tuple(states.shape)} to integer tokens "
                f"of shape {tuple(states.shape[:-1])}, got {tok.dtype} of shape "
                f"{tuple(tok.shape)}."
            )
        return jnp.where(ok, tok, -1), ok

    ref_states = run(x)
    if reference is None:
        ref_tokens, _ = tokens_of(ref_states)
    else:
        ref_tokens = _tokens(reference, "reference")
        ref_tokens = ref_tokens[None, :] if ref_tokens.ndim == 1 else ref_tokens
        if ref_tokens.shape != (refs, L):
            raise ValueError(
                f"`reference` must have shape ({L},) or ({refs}, {L}) (condition + horizon "
                f"tokens per x0), got {tuple(np.shape(reference))}."
            )

    chunk = max(1, min(samples, _CHUNK_FLOATS // (L * dim)))
    mask = jnp.arange(L) < condition
    keys = jax.random.split(key, refs)
    all_steps, all_acc, all_end, all_x = [], [], [], []
    paired = np.full((refs, L, dim), np.nan)
    invalid = np.zeros(refs, dtype=int)
    for r in range(refs):
        s_r, a_r, e_r, x_r = [], [], [], []
        for i, start in enumerate(range(0, samples, chunk)):
            n = min(chunk, samples - start)
            noise = jax.random.normal(jax.random.fold_in(keys[r], i), (n, dim), x.dtype)
            starts = x[r][None, :] + scale * noise
            states = run(starts)
            x_r.append(starts)
            tok, ok = tokens_of(states)
            st, acc, end = _match(ref_tokens[r], tok, mask)
            s_r.append(st)
            a_r.append(acc)
            e_r.append(end)
            invalid[r] += int(jnp.sum(~jnp.all(ok, axis=-1)))
            hit = np.flatnonzero(np.asarray(acc))
            if hit.size and np.isnan(paired[r, 0, 0]):
                paired[r] = np.asarray(states[hit[0]])
        all_steps.append(jnp.concatenate(s_r))
        all_acc.append(jnp.concatenate(a_r))
        all_end.append(jnp.concatenate(e_r))
        all_x.append(jnp.concatenate(x_r))

    div = DivergenceTime(
        steps=jnp.stack(all_steps),
        accepted=jnp.stack(all_acc),
        reached_end=jnp.stack(all_end),
        condition=condition,
        horizon=horizon,
        dt=tau,
    )
    result = SampledDivergence(
        divergence=div,
        initial_states=jnp.stack(all_x),
        reference_states=ref_states,
        reference_tokens=ref_tokens,
        paired_states=jnp.asarray(paired, dtype=ref_states.dtype),
        invalid=jnp.asarray(invalid),
        scale=float(scale),
    )
    return result
