"""The evaluation of a token model by M. Shalova & I. Oseledets (2020), "Tensorized
transformers for learning dynamical systems", arXiv:2002.05111: generated trajectories
against true ones by the distribution of their cells and by their largest exponent.

The Wasserstein distance between generated and true cell histograms is set beside the
same distance between two halves of the true test data (its sampling floor), and the
exponent of the generated orbits (the paper's finite-n estimator, Jacobians at the cube
centres, extrapolated in 1/n) beside the same estimator on the true test orbits snapped
to the same cube centres, so that neither number is read without its control.
"""

from __future__ import annotations

from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, Int, PRNGKeyArray, Shaped

from .. import _validate as v
from .._results import Result
from ..lyapunov import finite_n_lyapunov
from ..metrics import wasserstein
from ..systems import Flow, Map
from .tokenize import GridTokenizer
from .transformer import Transformer, generate

__all__ = ["TokenVerdict", "token_verdict"]


class TokenVerdict(Result):
    """What `token_verdict` measured.

    **Attributes:**

    - `temperatures`: the sampling temperatures, one row each below (0: greedy).
    - `wasserstein`: (temperatures,) exact-transport W1 between generated and true cell
      histograms (state units).
    - `reference`: W1 between two halves of the true continuations, computed the same way.
    - `ratio`: `wasserstein / reference`.
    - `exponents`: (temperatures,) largest exponent of the generated orbits, finite-n
      estimator extrapolated in 1/n (NaN without a `system`).
    - `control`: the same estimator on the true continuations at cube centres.
    - `generated`: (temperatures, prompts, steps) the generated tokens.
    """

    temperatures: tuple[float, ...] = eqx.field(static=True)
    wasserstein: Float[Array, " t"]
    reference: Float[Array, ""]
    ratio: Float[Array, " t"]
    exponents: Float[Array, " t"]
    control: Float[Array, ""]
    generated: Int[Array, "t prompts steps"]

    def table(self) -> str:
        """The figures as a Markdown table."""
        rows = [
            "| generation | W1 | W1 / true-vs-true | largest exponent (finite n) |",
            "|---|---:|---:|---:|",
        ]
        for i, t in enumerate(self.temperatures):
            label = "greedy" if t == 0 else f"sampled, T = {t:g}"
            rows.append(
                f"| {label} | {float(self.wasserstein[i]):.4g} | {float(self.ratio[i]):.2f} | "
                f"{float(self.exponents[i]):.4f} |"
            )
        rows.append(
            f"| true continuations (control) | {float(self.reference):.4g} (halves) | 1 | "
            f"{float(self.control):.4f} |"
        )
        return "\n".join(rows)


def token_verdict(
    model: Transformer,
    tokenizer: GridTokenizer,
    test_tokens: Shaped[ArrayLike, "prompts length"],
    *,
    key: PRNGKeyArray,
    prompt: int | None = None,
    system: Flow | Map | None = None,
    dt: float | None = None,
    temperatures: Sequence[float] = (1.0, 0.0),
    n_max: int = 15,
) -> TokenVerdict:
    """Generate from the first `prompt` tokens of each test trajectory and judge the
    continuations against the true ones, as Shalova & Oseledets (2020) do.

    **Arguments:**

    - `model`: a trained `cj.learn.Transformer`.
    - `tokenizer`: its `cj.learn.GridTokenizer`.
    - `test_tokens`: (prompts, length) tokens of true test trajectories.
    - `key`: a JAX PRNG key for sampling.
    - `prompt`: tokens given before generation (default: the smaller of 100 and the
      model's context); `length - prompt` tokens are generated per trajectory.
    - `system`: the true system, for the Jacobians of the finite-n exponent (None: no
      exponents).
    - `dt`: the sampling step when `system` is a flow.
    - `temperatures`: sampling temperatures (default 1 and 0, i.e. greedy).
    - `n_max`: the longest Jacobian product of the finite-n estimator (default 15).

    **Returns:**

    A `TokenVerdict`; `print(verdict.table())` shows it.

    Example:

    ```python
    verdict = cj.learn.token_verdict(fit.model, tok, tok.encode(test), key=key,
                                     system=cj.systems.Henon())
    print(verdict.table())
    ```
    """
    tokens = jnp.asarray(test_tokens)
    if tokens.ndim != 2:
        raise ValueError(
            f"`test_tokens` must have shape (prompts, length), got {tuple(tokens.shape)}."
        )
    context = model.config.context
    prompt = min(100, context) if prompt is None else v.positive_int(prompt, "prompt")
    if prompt > context:
        raise ValueError(f"`prompt` ({prompt}) must be at most the model's context {context}.")
    steps = tokens.shape[1] - prompt
    if steps < 2 * n_max:
        raise ValueError(
            f"`test_tokens` are too short: {tokens.shape[1]} tokens leave {steps} after a "
            f"prompt of {prompt}; at least {2 * n_max} are needed."
        )
    temps = tuple(float(t) for t in temperatures)
    if not temps or any(t < 0 for t in temps):
        raise ValueError(f"`temperatures` must be non-empty and >= 0, got {temperatures!r}.")
    dim = tokenizer.dim
    true_states = np.asarray(tokenizer.decode(tokens[:, prompt:]))
    flat = true_states.reshape(-1, dim)
    half = flat.shape[0] // 2
    bins = tokenizer.n
    reference = wasserstein(flat[:half], flat[half:], method="binned", bins=bins)

    def exponent(states: Array) -> Array:
        if system is None:
            return jnp.asarray(jnp.nan)
        step = dt if isinstance(system, Flow) else None
        return finite_n_lyapunov(system, states, n_max=n_max, dt=step).extrapolated

    control = exponent(jnp.asarray(true_states))
    generated, distances, exponents = [], [], []
    for i, t in enumerate(temps):
        new = generate(model, tokens[:, :prompt], steps, key=jax.random.fold_in(key, i),
                       temperature=t)  # fmt: skip
        states = tokenizer.decode(new)
        generated.append(new)
        distances.append(
            wasserstein(np.asarray(states).reshape(-1, dim), flat, method="binned", bins=bins)
        )
        exponents.append(exponent(states))
    w = jnp.asarray(distances)
    return TokenVerdict(
        temperatures=temps,
        wasserstein=w,
        reference=jnp.asarray(reference),
        ratio=w / reference,
        exponents=jnp.asarray(exponents),
        control=jnp.asarray(control),
        generated=jnp.stack(generated),
    )
