"""A causal transformer on grid-tokenised trajectories (GPT-2 style), its training,
generation with a key-value cache, and the trained model as a `cj.Map` on token histories.

M. Shalova & I. Oseledets (2020), "Tensorized transformers for learning dynamical
systems", arXiv:2002.05111, discretise trajectories on an equidistant grid
(`cj.learn.GridTokenizer`) and train GPT-2 (A. Radford et al. 2019, "Language models are
unsupervised multitask learners", OpenAI) to predict the next cell. The model here is
that decoder: token and learned position embeddings, pre-LayerNorm blocks of causal
multi-head self-attention (A. Vaswani et al. 2017, "Attention is all you need",
arXiv:1706.03762; `jax.nn.dot_product_attention`) and a GELU MLP, a final LayerNorm and
an output head tied to the token embedding (or not). Tokens are looked up by index, never
one-hot, and the head is one matrix product on the last axis, so a vocabulary of
125,000 (Lorenz at n = 50) costs one (vocab, width) matrix each way.

Parameters are stored per kind and stacked over the layers (`qkv_weight` is (layers,
width, 3 width)), so that the model is a handful of arrays, `cj.learn.save`/`load`
rebuild it from its header, and the layers are a loop over the leading axis.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jaxtyping import Array, ArrayLike, Float, Int, PRNGKeyArray, Shaped

from .. import _validate as v
from .._results import Result
from ..systems import Map
from .optimizers import AbstractOptimizer, AdamW
from .tokenize import GridTokenizer
from .train import FitResult, History, fit

__all__ = [
    "TokenMap",
    "Transformer",
    "TransformerConfig",
    "TransformerFit",
    "fit_transformer",
    "generate",
]

_DTYPES = ("float32", "float64", "bfloat16", "float16")
_COMPUTE = (*_DTYPES, "auto")
_LN_EPS = 1e-5
# Index operands of dynamic slices must share one integer type (int32 here).
_I0 = np.int32(0)


# --------------------------------------------------------------------------- configuration


class TransformerConfig(eqx.Module):
    """The architecture of a `Transformer`: sizes, dropout, head tying and dtypes.

    GPT-2 has vocabulary 50,257, context 1,024, 12 layers of width 768 and 12 heads
    (A. Radford et al. 2019); `TransformerConfig.paper(vocab_size)` is that size, the one
    of M. Shalova & I. Oseledets (2020), arXiv:2002.05111, and
    `TransformerConfig.test(vocab_size)` a small one that trains on a CPU.

    **Arguments:**

    - `vocab_size`: the number of tokens (the tokenizer's n**dim).
    - `context`: the longest sequence the model reads, which sizes the position
      embedding (default 128).
    - `layers`: transformer blocks (default 2).
    - `width`: the model width d (default 64); a multiple of `heads`.
    - `heads`: attention heads per block (default 4).
    - `mlp_ratio`: the MLP's hidden width over `width` (default 4).
    - `dropout`: the dropout rate on the embeddings and on every residual branch during
      training, in [0, 1) (default 0: none).
    - `tie_embeddings`: whether the output head is the token embedding (default True,
      as GPT-2) or a separate (vocab, width) matrix.
    - `param_dtype`: the parameters' dtype, "float32" (default) or "float64".
    - `compute_dtype`: the dtype of the matrix products and attention: "auto" (default:
      "bfloat16" on GPUs and TPUs, the parameter dtype on CPUs), or a dtype name.
      LayerNorms, the residual stream, the logits and the loss stay in `param_dtype`.

    Example:

    ```python
    cfg = cj.learn.TransformerConfig.test(2_500)       # 2 layers, width 64, context 128
    big = cj.learn.TransformerConfig.paper(125_000)    # 12 layers, width 768, context 1024
    ```
    """

    vocab_size: int = eqx.field(static=True)
    context: int = eqx.field(static=True, default=128)
    layers: int = eqx.field(static=True, default=2)
    width: int = eqx.field(static=True, default=64)
    heads: int = eqx.field(static=True, default=4)
    mlp_ratio: int = eqx.field(static=True, default=4)
    dropout: float = eqx.field(static=True, default=0.0)
    tie_embeddings: bool = eqx.field(static=True, default=True)
    param_dtype: str = eqx.field(static=True, default="float32")
    compute_dtype: str = eqx.field(static=True, default="auto")

    def __check_init__(self):
        for name in ("vocab_size", "context", "layers", "width", "heads", "mlp_ratio"):
            v.positive_int(getattr(self, name), name)
        if self.width % self.heads:
            raise ValueError(
                f"`width` ({self.width}) must be a multiple of `heads` ({self.heads})."
            )
        rate = self.dropout
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate < 1:
            raise ValueError(f"`dropout` must be a float in [0, 1), got {rate!r}.")
        if not isinstance(self.tie_embeddings, bool):
            raise ValueError(f"`tie_embeddings` must be a bool, got {self.tie_embeddings!r}.")
        v.one_of(self.param_dtype, "param_dtype", ("float32", "float64"))
        v.one_of(self.compute_dtype, "compute_dtype", _COMPUTE)

    @classmethod
    def test(cls, vocab_size: int, **changes: Any) -> TransformerConfig:
        """A small model that trains on a CPU: 2 layers, width 64, 4 heads, context 128.

        **Arguments:**

        - `vocab_size`: the number of tokens.
        - `**changes`: any other field.

        **Returns:**

        The `TransformerConfig`.
        """
        fields = dict(context=128, layers=2, width=64, heads=4)
        return cls(vocab_size=vocab_size, **{**fields, **changes})

    @classmethod
    def paper(cls, vocab_size: int, **changes: Any) -> TransformerConfig:
        """GPT-2 small: 12 layers, width 768, 12 heads, context 1024 (Radford et al. 2019),
        the model of Shalova & Oseledets (2020), arXiv:2002.05111.

        **Arguments:**

        - `vocab_size`: the number of tokens.
        - `**changes`: any other field.

        **Returns:**

        The `TransformerConfig`.
        """
        fields = dict(context=1024, layers=12, width=768, heads=12)
        return cls(vocab_size=vocab_size, **{**fields, **changes})

    @property
    def head_size(self) -> int:
        """The width of one attention head, width / heads."""
        return self.width // self.heads

    @property
    def hidden(self) -> int:
        """The MLP's hidden width, mlp_ratio * width."""
        return self.mlp_ratio * self.width

    def compute(self) -> Any:
        """The dtype of matrix products (resolves "auto" on the default backend)."""
        if self.compute_dtype == "auto":
            if jax.default_backend() in ("gpu", "tpu", "cuda", "rocm"):
                return jnp.bfloat16
            return jnp.dtype(self.param_dtype)
        return jnp.dtype(self.compute_dtype)


# --------------------------------------------------------------------------- the model


def _like(p: Array, x: Array) -> Array:
    # `p` with leading unit axes up to the rank of `x` (no implicit rank promotion).
    return p.reshape((1,) * (x.ndim - p.ndim) + p.shape)


def _layer_norm(x: Array, scale: Array, bias: Array) -> Array:
    mean = jnp.mean(x, axis=-1, keepdims=True)
    var = jnp.mean(jnp.square(x - mean), axis=-1, keepdims=True)
    return (x - mean) * jax.lax.rsqrt(var + _LN_EPS) * _like(scale, x) + _like(bias, x)


def _dense(x: Array, w: Array, b: Array, compute: Any) -> Array:
    # Inputs and weights in the compute dtype, the product accumulated and returned in
    # the parameter dtype (bf16 tensor-core products with an f32 result on GPUs).
    y = jnp.matmul(x.astype(compute), w.astype(compute), preferred_element_type=w.dtype)
    return y + _like(b, y)


def _causal_attention(q: Array, k: Array, val: Array) -> Array:
    """Causal multi-head attention of (batch, T, heads, head_size) queries, keys, values.

    `jax.nn.dot_product_attention` (XLA on CPUs, cuDNN's fused kernels on GPUs where
    they apply) for float32 and bfloat16. It takes the softmax in float32 whatever the
    input, so float64 models get the same formula written out in float64 instead.
    """
    if q.dtype == jnp.float64:
        T = q.shape[-3]
        scores = jnp.einsum("bqhd,bkhd->bhqk", q, k) * (1.0 / math.sqrt(q.shape[-1]))
        causal = jnp.tril(jnp.ones((T, T), dtype=bool))[None, None]
        scores = jnp.where(causal, scores, jnp.finfo(q.dtype).min)
        return jnp.einsum("bhqk,bkhd->bqhd", jax.nn.softmax(scores, axis=-1), val)
    # It promotes bfloat16 against float32 inside, which strict dtype promotion
    # (`jax_numpy_dtype_promotion="strict"`) refuses: standard promotion for this call.
    with jax.numpy_dtype_promotion("standard"):
        return jax.nn.dot_product_attention(q, k, val, is_causal=True)


def _cached_attention(q: Array, ks: Array, vs: Array, mask: Array) -> Array:
    """One query per sequence against a cache: q (batch, heads, head_size), ks and vs
    (batch, heads, context, head_size), `mask` (1, 1, context) of the filled slots ->
    (batch, heads, head_size). The softmax attention of `jax.nn.dot_product_attention`
    written as two batched products over a heads-first cache: measured on a CPU, the
    library call transposes the cache of every layer at every step (2.6x slower per
    call at 100 sequences)."""
    scale = 1.0 / math.sqrt(q.shape[-1])
    # Scores and softmax in float32 at least (bfloat16 products accumulate in float32),
    # float64 for float64 models, as in `_causal_attention`.
    acc = q.dtype if jnp.finfo(q.dtype).bits >= 32 else jnp.dtype(jnp.float32)
    scores = jnp.einsum("bhd,bhcd->bhc", q, ks, preferred_element_type=acc)
    scores = jnp.where(mask, scores * scale, jnp.finfo(acc).min)
    weights = jax.nn.softmax(scores, axis=-1).astype(vs.dtype)
    return jnp.einsum("bhc,bhcd->bhd", weights, vs)


def _dropout(x: Array, rate: float, key: Array | None) -> Array:
    if key is None or rate == 0.0:
        return x
    keep = jax.random.bernoulli(key, 1.0 - rate, x.shape)
    return jnp.where(keep, x / (1.0 - rate), jnp.zeros_like(x))


class Transformer(eqx.Module):
    """A decoder-only transformer (GPT-2 style) over tokens: logits of the next token.

    For tokens t_1..t_T: x = E[t] + P[0:T] (token and learned position embeddings); per
    block x += Attn(LN(x)) and x += MLP(LN(x)), with causal multi-head self-attention
    (`jax.nn.dot_product_attention`, position i attends to 1..i) and MLP(h) =
    W_2 gelu(W_1 h + b_1) + b_2 (tanh GELU, as GPT-2); then the logits LN(x) H^T, with
    H = E when the embeddings are tied. Radford et al. (2019), "Language models are
    unsupervised multitask learners"; Vaswani et al. (2017), arXiv:1706.03762. Build
    one with `Transformer.init(config, key)` (GPT-2's initialisation).

    Weights are (in, out) matrices stacked over the layers on a leading axis; the
    output of a block's attention and MLP are the "residual projections".

    **Arguments:**

    - `config`: the `TransformerConfig`.
    - `token_embedding`: (vocab, width).
    - `position_embedding`: (context, width).
    - `ln1_scale`, `ln1_bias`, `ln2_scale`, `ln2_bias`: (layers, width), the
      LayerNorms before attention and before the MLP.
    - `qkv_weight` (layers, width, 3 width), `qkv_bias` (layers, 3 width): queries, keys
      and values of all heads.
    - `proj_weight` (layers, width, width), `proj_bias` (layers, width): the attention
      output projection.
    - `fc_weight` (layers, width, hidden), `fc_bias` (layers, hidden), `out_weight`
      (layers, hidden, width), `out_bias` (layers, width): the MLP.
    - `final_scale`, `final_bias`: (width,), the final LayerNorm.
    - `head`: (vocab, width) the output matrix, or None when tied to `token_embedding`.

    Example:

    ```python
    cfg = cj.learn.TransformerConfig.test(100)
    model = cj.learn.Transformer.init(cfg, jax.random.key(0))
    logits = model(jnp.arange(10))            # (10, 100): the next token after each
    ```
    """

    config: TransformerConfig
    token_embedding: Float[Array, "vocab width"]
    position_embedding: Float[Array, "context width"]
    ln1_scale: Float[Array, "layers width"]
    ln1_bias: Float[Array, "layers width"]
    qkv_weight: Float[Array, "layers width qkv"]
    qkv_bias: Float[Array, "layers qkv"]
    proj_weight: Float[Array, "layers width width"]
    proj_bias: Float[Array, "layers width"]
    ln2_scale: Float[Array, "layers width"]
    ln2_bias: Float[Array, "layers width"]
    fc_weight: Float[Array, "layers width hidden"]
    fc_bias: Float[Array, "layers hidden"]
    out_weight: Float[Array, "layers hidden width"]
    out_bias: Float[Array, "layers width"]
    final_scale: Float[Array, " width"]
    final_bias: Float[Array, " width"]
    head: Float[Array, "vocab width"] | None = None

    def __check_init__(self):
        # Shapes only: `cj.learn.load` builds the model from zero arrays.
        c = self.config
        if not isinstance(c, TransformerConfig):
            raise ValueError(f"`config` must be a TransformerConfig, got {c!r}.")
        L, d, h, V = c.layers, c.width, c.hidden, c.vocab_size
        expected = {
            "token_embedding": (V, d),
            "position_embedding": (c.context, d),
            "ln1_scale": (L, d),
            "ln1_bias": (L, d),
            "qkv_weight": (L, d, 3 * d),
            "qkv_bias": (L, 3 * d),
            "proj_weight": (L, d, d),
            "proj_bias": (L, d),
            "ln2_scale": (L, d),
            "ln2_bias": (L, d),
            "fc_weight": (L, d, h),
            "fc_bias": (L, h),
            "out_weight": (L, h, d),
            "out_bias": (L, d),
            "final_scale": (d,),
            "final_bias": (d,),
        }
        if not c.tie_embeddings:
            expected["head"] = (V, d)
        elif self.head is not None:
            raise ValueError("`head` must be None when `config.tie_embeddings` is True.")
        dtype = jnp.dtype(c.param_dtype)
        for name, shape in expected.items():
            arr = getattr(self, name)
            if arr is None or tuple(arr.shape) != shape or arr.dtype != dtype:
                got = None if arr is None else f"{tuple(arr.shape)} {arr.dtype}"
                raise ValueError(
                    f"`{name}` must have shape {shape} and dtype {c.param_dtype} for this "
                    f"config, got {got}."
                )

    @classmethod
    def init(cls, config: TransformerConfig, key: PRNGKeyArray) -> Transformer:
        """A randomly initialised transformer, as GPT-2.

        Every weight matrix and embedding is normal with standard deviation 0.02, the
        residual projections (attention output and MLP output) 0.02 / sqrt(2 layers),
        biases zero, LayerNorm scales one (Radford et al. 2019, sec. 2.3; the
        initialisation of GPT-2's released code and of nanoGPT).

        **Arguments:**

        - `config`: a `TransformerConfig`.
        - `key`: PRNG key.

        **Returns:**

        A `Transformer`.
        """
        if not isinstance(config, TransformerConfig):
            raise ValueError(f"`config` must be a TransformerConfig, got {config!r}.")
        c = config
        L, d, h, V = c.layers, c.width, c.hidden, c.vocab_size
        dtype = jnp.dtype(c.param_dtype)
        keys = jax.random.split(key, 7)
        std, resid = 0.02, 0.02 / math.sqrt(2 * L)
        normal = lambda k, shape, s: s * jax.random.normal(k, shape, dtype)
        zeros = lambda *shape: jnp.zeros(shape, dtype)
        ones = lambda *shape: jnp.ones(shape, dtype)
        return cls(
            config=c,
            token_embedding=normal(keys[0], (V, d), std),
            position_embedding=normal(keys[1], (c.context, d), std),
            ln1_scale=ones(L, d),
            ln1_bias=zeros(L, d),
            qkv_weight=normal(keys[2], (L, d, 3 * d), std),
            qkv_bias=zeros(L, 3 * d),
            proj_weight=normal(keys[3], (L, d, d), resid),
            proj_bias=zeros(L, d),
            ln2_scale=ones(L, d),
            ln2_bias=zeros(L, d),
            fc_weight=normal(keys[4], (L, d, h), std),
            fc_bias=zeros(L, h),
            out_weight=normal(keys[5], (L, h, d), resid),
            out_bias=zeros(L, d),
            final_scale=ones(d),
            final_bias=zeros(d),
            head=None if c.tie_embeddings else normal(keys[6], (V, d), std),
        )

    @property
    def n_params(self) -> int:
        """The number of parameters (the tied head counted once)."""
        return sum(int(x.size) for x in jax.tree.leaves(eqx.filter(self, eqx.is_array)))

    def _output(self) -> Array:
        return self.token_embedding if self.head is None else self.head

    def _logits(self, x: Array) -> Array:
        c = self.config
        x = _layer_norm(x, self.final_scale, self.final_bias)
        w = self._output()
        # One product on the last axis: (..., width) x (width, vocab).
        return jnp.matmul(
            x.astype(c.compute()), w.T.astype(c.compute()), preferred_element_type=w.dtype
        )

    def _attention_in(self, layer: int, x: Array) -> tuple[Array, Array, Array]:
        c = self.config
        h = _layer_norm(x, self.ln1_scale[layer], self.ln1_bias[layer])
        qkv = _dense(h, self.qkv_weight[layer], self.qkv_bias[layer], c.compute())
        q, k, val = jnp.split(qkv.astype(c.compute()), 3, axis=-1)
        shape = (*x.shape[:-1], c.heads, c.head_size)
        return q.reshape(shape), k.reshape(shape), val.reshape(shape)

    def _attention_out_and_mlp(
        self, layer: int, x: Array, attended: Array, keys: tuple[Array | None, Array | None]
    ) -> Array:
        c = self.config
        a = attended.reshape(*attended.shape[:-2], c.width)
        a = _dense(a, self.proj_weight[layer], self.proj_bias[layer], c.compute())
        x = x + _dropout(a, c.dropout, keys[0])
        h = _layer_norm(x, self.ln2_scale[layer], self.ln2_bias[layer])
        h = _dense(h, self.fc_weight[layer], self.fc_bias[layer], c.compute())
        h = jax.nn.gelu(h, approximate=True)
        h = _dense(h, self.out_weight[layer], self.out_bias[layer], c.compute())
        return x + _dropout(h, c.dropout, keys[1])

    def _hidden(
        self, tokens: Array, key: PRNGKeyArray | None = None
    ) -> tuple[Array, list[tuple[Array, Array]]]:
        """The residual stream after the blocks (batch, T, width), and each layer's keys
        and values (batch, T, heads, head_size)."""
        c = self.config
        T = tokens.shape[-1]
        keys = (
            [None] * (2 * c.layers + 1)
            if key is None
            else list(jax.random.split(key, 2 * c.layers + 1))
        )
        x = self.token_embedding[tokens] + self.position_embedding[None, :T]
        x = _dropout(x, c.dropout, keys[-1])
        kv = []
        for layer in range(c.layers):
            q, k, val = self._attention_in(layer, x)
            att = _causal_attention(q, k, val)
            kv.append((k, val))
            x = self._attention_out_and_mlp(layer, x, att, (keys[2 * layer], keys[2 * layer + 1]))
        return x, kv

    def __call__(
        self, tokens: Shaped[ArrayLike, "..."], *, key: PRNGKeyArray | None = None
    ) -> Float[Array, "*batch seq vocab"]:
        """The logits of the next token after each position: (..., seq, vocab).

        **Arguments:**

        - `tokens`: integer tokens (seq,) or (batch, seq), seq <= `config.context`.
        - `key`: PRNG key for dropout (training); None (default) for none.

        **Returns:**

        Logits (unnormalised log-probabilities) in the parameter dtype; position i
        depends only on tokens 0..i.
        """
        t = jnp.asarray(tokens)
        if t.ndim not in (1, 2) or not jnp.issubdtype(t.dtype, jnp.integer):
            raise ValueError(
                f"`tokens` must be integers of shape (seq,) or (batch, seq), got "
                f"{t.dtype} {tuple(t.shape)}."
            )
        if t.shape[-1] > self.config.context or t.shape[-1] < 1:
            raise ValueError(
                f"`tokens` must hold 1 to {self.config.context} (the context) positions, "
                f"got {t.shape[-1]}."
            )
        single = t.ndim == 1
        t = t[None] if single else t
        x, _ = self._hidden(t.astype(jnp.int32), key)
        logits = self._logits(x)
        return logits[0] if single else logits

    # ---------------------------------------------------------------- cached decoding

    def _prefill(self, tokens: Array) -> tuple[Array, Array, Array]:
        """Logits after the last of `tokens` (batch, vocab) and a cache of `context`
        slots holding their keys and values: (layers, batch, heads, context, head_size)
        twice."""
        c = self.config
        x, kv = self._hidden(tokens)
        pad = c.context - tokens.shape[-1]
        widths = ((0, 0), (0, 0), (0, pad), (0, 0))
        heads_first = lambda a: jnp.pad(jnp.swapaxes(a, 1, 2), widths)
        ks = jnp.stack([heads_first(k) for k, _ in kv])
        vs = jnp.stack([heads_first(val) for _, val in kv])
        return self._logits(x[:, -1]), ks, vs

    def _decode(
        self, token: Array, position: Array, ks: Array, vs: Array
    ) -> tuple[Array, Array, Array]:
        """One new token (batch,) at `position` (slots 0..position-1 filled): its logits
        (batch, vocab) and the cache with its keys and values written in."""
        c = self.config
        x = (
            self.token_embedding[token][:, None]
            + jax.lax.dynamic_slice_in_dim(self.position_embedding, position, 1)[None]
        )
        # Slots 0..position are filled: a mask (1, 1, context) over the key axis.
        mask = (jnp.arange(c.context, dtype=jnp.int32) <= position)[None, None, :]
        for layer in range(c.layers):
            q, k, val = self._attention_in(layer, x)
            at = (jnp.asarray(layer, jnp.int32), _I0, _I0, position, _I0)
            ks = jax.lax.dynamic_update_slice(ks, jnp.swapaxes(k, 1, 2)[None], at)
            vs = jax.lax.dynamic_update_slice(vs, jnp.swapaxes(val, 1, 2)[None], at)
            att = _cached_attention(q[:, 0], ks[layer], vs[layer], mask)
            x = self._attention_out_and_mlp(layer, x, att[:, None], (None, None))
        return self._logits(x[:, 0]), ks, vs


# --------------------------------------------------------------------------- generation


def _check_tokens(tokens: object, name: str, vocab: int) -> Array:
    t = jnp.asarray(tokens)
    if not jnp.issubdtype(t.dtype, jnp.integer):
        raise ValueError(f"`{name}` must be an integer array of tokens, got dtype {t.dtype}.")
    if v.is_concrete(t) and t.size:
        lo, hi = int(np.min(np.asarray(t))), int(np.max(np.asarray(t)))
        if lo < 0 or hi >= vocab:
            raise ValueError(
                f"`{name}` must hold tokens in [0, {vocab}) (the vocabulary), got values "
                f"in [{lo}, {hi}]."
            )
    return t.astype(jnp.int32)


@eqx.filter_jit
def _generate(
    model: Transformer,
    prompts: Array,
    key: PRNGKeyArray,
    temperature: Array,
    *,
    steps: int,
    keep: int,
    greedy: bool,
) -> Array:
    C = model.config.context

    def pick(logits: Array, i: Array) -> Array:
        if greedy:
            return jnp.argmax(logits, axis=-1).astype(jnp.int32)
        k = jax.random.fold_in(key, i)
        scaled = logits / temperature.astype(logits.dtype)
        return jax.random.categorical(k, scaled, axis=-1).astype(jnp.int32)

    logits, ks, vs = model._prefill(prompts)
    b, K = prompts.shape
    window = jnp.pad(prompts, ((0, 0), (0, C - K)))
    first = pick(logits, jnp.asarray(0, jnp.int32))

    def append(state):
        token, window, n, ks, vs = state
        window = jax.lax.dynamic_update_slice(window, token[:, None], (_I0, n))
        logits, ks, vs = model._decode(token, n, ks, vs)
        return logits, window, n + 1, ks, vs

    def rebuild(state):
        # The cache is full: restart it from the last `keep` tokens, at positions
        # 0..keep-1, as in a training window.
        token, window, n, ks, vs = state
        recent = jnp.concatenate([window[:, C - keep + 1 :], token[:, None]], axis=1)
        logits, ks, vs = model._prefill(recent)
        window = jnp.pad(recent, ((0, 0), (0, C - keep)))
        return logits, window, jnp.asarray(keep, jnp.int32), ks, vs

    def body(carry, i):
        token, window, n, ks, vs = carry
        logits, window, n, ks, vs = jax.lax.cond(
            n == C, rebuild, append, (token, window, n, ks, vs)
        )
        nxt = pick(logits, i)
        return (nxt, window, n, ks, vs), nxt

    carry = (first, window, jnp.asarray(K, jnp.int32), ks, vs)
    _, rest = jax.lax.scan(body, carry, jnp.arange(1, steps, dtype=jnp.int32))
    return jnp.concatenate([first[:, None], rest.T], axis=1)


def generate(
    model: Transformer,
    prompts: Shaped[ArrayLike, "..."],
    steps: int,
    *,
    key: PRNGKeyArray,
    temperature: float = 1.0,
    keep: int | None = None,
) -> Int[Array, "*batch steps"]:
    """Continue token sequences with a trained `Transformer`, batched over prompts.

    Autoregressive decoding: each new token is drawn from softmax(logits / temperature)
    (`temperature` 0: the most probable token, the T -> 0 of Shalova & Oseledets 2020,
    arXiv:2002.05111) and appended. A key-value cache of `config.context` slots holds
    every layer's keys and values, so the prompt costs one pass and each new token one
    single-position pass (its query against the filled slots): L new tokens cost L - 1
    model steps after the prompt's pass, all in one compiled `lax.scan`.

    Beyond the context: when the cache is full (the window holds `context` tokens), it is
    rebuilt from the last `keep` tokens at positions 0..keep-1 (one pass over them) and
    decoding continues, so every token is predicted from a window of between `keep` and
    `context` preceding tokens, at the positions of a training window; the logits are
    those of the full model on that window. `keep` = context recomputes the window at
    every step (a sliding window, the cost of a full pass per token).

    **Arguments:**

    - `model`: a `Transformer`.
    - `prompts`: (batch, K) or (K,) integer tokens, 1 <= K <= `config.context`.
    - `steps`: new tokens per prompt, a positive int.
    - `key`: PRNG key for sampling (unused when greedy).
    - `temperature`: >= 0 (default 1.0: the model's distribution; 0: greedy).
    - `keep`: tokens kept when the cache is full, 1..context (default context // 2).

    **Returns:**

    (batch, steps) int32 tokens (or (steps,) for one prompt), the prompt not included.

    Example:

    ```python
    model = cj.learn.Transformer.init(cj.learn.TransformerConfig.test(50), jax.random.key(0))
    prompts = jnp.zeros((4, 10), jnp.int32)
    new = cj.learn.generate(model, prompts, 100, key=jax.random.key(1), temperature=0.0)
    ```
    """
    if not isinstance(model, Transformer):
        raise ValueError(f"`model` must be a cj.learn.Transformer, got {type(model).__name__}.")
    C = model.config.context
    t = _check_tokens(prompts, "prompts", model.config.vocab_size)
    if t.ndim not in (1, 2):
        raise ValueError(f"`prompts` must have shape (batch, K) or (K,), got {tuple(t.shape)}.")
    single = t.ndim == 1
    t = t[None] if single else t
    if not 1 <= t.shape[1] <= C:
        raise ValueError(
            f"`prompts` must hold 1 to {C} tokens (the model's context) per prompt, got "
            f"{t.shape[1]}; pass the last {C}."
        )
    if t.shape[0] < 1:
        raise ValueError("`prompts` must hold at least one prompt.")
    steps = v.positive_int(steps, "steps")
    if isinstance(temperature, bool) or not np.isfinite(float(temperature)) or temperature < 0:
        raise ValueError(f"`temperature` must be a finite float >= 0, got {temperature!r}.")
    keep = C // 2 if keep is None else v.positive_int(keep, "keep")
    if keep > C:
        raise ValueError(f"`keep` must be at most the context {C}, got {keep}.")
    keep = max(keep, 1)
    key = v.prng_key(key)
    out = _generate(
        model,
        t,
        key,
        jnp.asarray(temperature if temperature > 0 else 1.0, jnp.dtype(model.config.param_dtype)),
        steps=steps,
        keep=keep,
        greedy=temperature == 0,
    )
    return out[0] if single else out


# --------------------------------------------------------------------------- training


class _Windows(eqx.Module):
    # A batch of training windows (batch, context + 1) and the dropout key: what
    # `sample` draws; the loss tells it from the whole token array by its type.
    tokens: Array
    key: Array


def _window_loss(model: Transformer, windows: Array, key: Array | None) -> Array:
    logits = model(windows[:, :-1], key=key)
    targets = windows[:, 1:]
    lse = jax.nn.logsumexp(logits, axis=-1)
    picked = jnp.take_along_axis(logits, targets[..., None], axis=-1)[..., 0]
    return jnp.mean(lse - picked)


def _fixed_windows(
    n_traj: int, length: int, context: int, count: int
) -> tuple[np.ndarray, np.ndarray]:
    # `count` windows spread over trajectories (round robin) and times (evenly).
    w = np.arange(count)
    traj = w % n_traj
    starts = np.linspace(0, length - context - 1, count).round().astype(np.int64)
    return traj, starts


# The sampler and the loss are Modules of static fields, equal whenever their settings
# are: `cj.learn.fit` compiles its chunks for them once, not once per call.


class _WindowSampler(eqx.Module):
    # `batch_size` windows of context + 1 tokens: trajectory and start uniform.
    batch_size: int = eqx.field(static=True)
    context: int = eqx.field(static=True)

    def __call__(self, k: Array, data: Array) -> _Windows:
        k_traj, k_start, k_drop = jax.random.split(k, 3)
        rows = jax.random.randint(k_traj, (self.batch_size,), 0, data.shape[0])
        starts = jax.random.randint(k_start, (self.batch_size,), 0, data.shape[1] - self.context)
        cols = starts[:, None] + jnp.arange(self.context + 1)[None, :]
        return _Windows(tokens=data[rows[:, None], cols], key=k_drop)


class _WindowLoss(eqx.Module):
    # Mean next-token cross-entropy of sampled windows, or, given the whole token array
    # (the loop's evaluations), of fixed windows in batches (bounded memory). Returned in
    # `dtype`, the loop's float dtype (float64 under x64). `architecture` is not used in
    # the computation: through the loss's repr it puts the whole TransformerConfig (heads,
    # dropout, dtypes: what the parameter shapes do not show) into a checkpoint's identity.
    architecture: TransformerConfig
    batch_size: int = eqx.field(static=True)
    context: int = eqx.field(static=True)
    eval_batches: int = eqx.field(static=True)
    dropout: bool = eqx.field(static=True)
    dtype: str = eqx.field(static=True)

    def __call__(self, model: Transformer, batch: Any) -> Array:
        if isinstance(batch, _Windows):
            drop = batch.key if self.dropout else None
            return _window_loss(model, batch.tokens, drop).astype(self.dtype)
        b, n = self.batch_size, self.eval_batches
        rows, starts = _fixed_windows(batch.shape[0], batch.shape[1], self.context, n * b)
        cols = starts[:, None] + np.arange(self.context + 1)[None, :]
        windows = batch[rows[:, None], cols].reshape(n, b, self.context + 1)
        losses = jax.lax.map(lambda w: _window_loss(model, w, None), windows)
        return jnp.mean(losses).astype(self.dtype)


class TransformerFit(Result):
    """A trained transformer and its record (what `fit_transformer` returns).

    **Attributes:**

    - `model`: the trained `Transformer` (the best evaluation).
    - `tokenizer`: the `GridTokenizer` given to `fit_transformer`, or None.
    - `history`: the loss curves (`cj.learn.History`): next-token cross-entropy in nats,
      on fixed evaluation windows of the training (and validation) tokens.
    - `tokens_per_second`: training throughput (tokens predicted per second, the
      evaluations included) over the chunks that did not compile (the first chunk of
      each length compiles); over the whole call, compilation included, when every
      chunk did.
    - `fit`: the whole `cj.learn.FitResult`.
    """

    model: Transformer
    tokenizer: GridTokenizer | None
    history: History
    tokens_per_second: float
    fit: FitResult


def fit_transformer(
    tokens: Shaped[ArrayLike, "..."],
    *,
    key: PRNGKeyArray,
    steps: int,
    config: TransformerConfig | None = None,
    tokenizer: GridTokenizer | None = None,
    batch_size: int = 16,
    context: int | None = None,
    optimizer: str | AbstractOptimizer | optax.GradientTransformation | None = None,
    validation: Shaped[ArrayLike, "..."] | None = None,
    eval_every: int = 100,
    eval_batches: int = 4,
    early_stopping: int | None = None,
    checkpoint: str | os.PathLike | None = None,
    checkpoint_every: int | None = None,
    progress: bool = False,
    callback: Callable[[int, Any, Any], str | None] | None = None,
) -> TransformerFit:
    """Train a `Transformer` on token trajectories by next-token cross-entropy.

    Each step draws `batch_size` windows of `context + 1` consecutive tokens at random
    (trajectory and start uniform, with replacement) and minimises the mean of
    -log p(t_{i+1} | t_1..t_i) over the window's positions, the language-model loss
    GPT-2 was trained with (Radford et al. 2019) and the loss of Shalova & Oseledets
    (2020), arXiv:2002.05111, who trained with AdamW (Loshchilov & Hutter 2019,
    arXiv:1711.05101) at learning rate 5e-5. Training runs in `cj.learn.fit` (chunks of
    `eval_every` compiled steps, checkpoints with bit-identical resume, early stopping);
    after every chunk the loss is evaluated on `eval_batches * batch_size` fixed windows
    spread over the training trajectories (and over `validation`). Matrix products run
    in `config.compute_dtype` (bfloat16 on accelerators by default), parameters and the
    loss in `config.param_dtype`.

    **Arguments:**

    - `tokens`: (trajectories, time) integer tokens (e.g. `tokenizer.encode(xs)`),
      time >= context + 1.
    - `key`: PRNG key: initialisation and batches.
    - `steps`: optimiser steps.
    - `config`: the architecture (default `TransformerConfig.test(vocab)`, with vocab
      from `tokenizer`, else 1 + the largest token).
    - `tokenizer`: the `GridTokenizer` the tokens come from (kept in the result).
    - `batch_size`: windows per step (default 16).
    - `context`: tokens read per window, <= `config.context` (default `config.context`).
    - `optimizer`: default `cj.learn.AdamW(learning_rate=1e-3, weight_decay=1e-2)`,
      which trains the test-size model on a CPU in minutes (the paper's 5e-5 suits its
      larger model and data); any `cj.learn.fit` optimizer.
    - `validation`: (trajectories, time) tokens for the validation loss (default None).
    - `eval_every`: steps per compiled chunk between evaluations (default 100).
    - `eval_batches`: batches of fixed windows in each evaluation (default 4).
    - `early_stopping`, `checkpoint`, `checkpoint_every`: as for `cj.learn.fit`; a
      checkpoint of another architecture is a `ValueError` and is left untouched.
    - `progress`: a progress bar with the best loss and the throughput in tokens/s.
    - `callback`: `callback(step, train_losses, validation_losses)` after each
      evaluation (as for `cj.learn.fit`).

    **Returns:**

    A `TransformerFit` (`model`, `tokenizer`, `history`, `tokens_per_second`, `fit`).

    Example:

    ```python
    xs = cj.trajectory(cj.systems.Henon(), jnp.array([0.1, 0.1]), steps=3_000, transient=100)
    tok = cj.learn.GridTokenizer.fit(xs, 20)
    res = cj.learn.fit_transformer(tok.encode(xs)[None], key=jax.random.key(0), steps=200,
                                   tokenizer=tok, context=32)
    res.history.train, res.tokens_per_second
    ```
    """
    if tokenizer is not None and not isinstance(tokenizer, GridTokenizer):
        raise ValueError(f"`tokenizer` must be a cj.learn.GridTokenizer, got {tokenizer!r}.")
    t = jnp.asarray(tokens)
    if t.ndim != 2 or not jnp.issubdtype(t.dtype, jnp.integer) or t.size == 0:
        raise ValueError(
            f"`tokens` must be a non-empty integer array (trajectories, time), got "
            f"{t.dtype} {tuple(t.shape)}."
        )
    if config is None:
        vocab = tokenizer.vocab_size if tokenizer is not None else int(np.max(np.asarray(t))) + 1
        config = TransformerConfig.test(vocab)
    elif not isinstance(config, TransformerConfig):
        raise ValueError(f"`config` must be a cj.learn.TransformerConfig, got {config!r}.")
    if tokenizer is not None and tokenizer.vocab_size != config.vocab_size:
        raise ValueError(
            f"`config.vocab_size` ({config.vocab_size}) must equal the tokenizer's "
            f"vocabulary ({tokenizer.vocab_size})."
        )
    t = _check_tokens(t, "tokens", config.vocab_size)
    context = config.context if context is None else v.positive_int(context, "context")
    if context > config.context:
        raise ValueError(
            f"`context` ({context}) must be at most `config.context` ({config.context})."
        )
    if t.shape[1] < context + 1:
        raise ValueError(
            f"`tokens` trajectories must be at least context + 1 = {context + 1} long, got "
            f"{t.shape[1]}; use a shorter `context`."
        )
    batch_size = v.positive_int(batch_size, "batch_size")
    eval_batches = v.positive_int(eval_batches, "eval_batches")
    steps = v.positive_int(steps, "steps")
    eval_every = v.positive_int(eval_every, "eval_every")
    val = None
    if validation is not None:
        val = _check_tokens(validation, "validation", config.vocab_size)
        if val.ndim != 2 or val.shape[1] < context + 1:
            raise ValueError(
                f"`validation` must be (trajectories, time) tokens with time >= {context + 1}, "
                f"got shape {tuple(val.shape)}."
            )
    if optimizer is None:
        optimizer = AdamW(learning_rate=1e-3, weight_decay=1e-2)
    key = v.prng_key(key)

    sample = _WindowSampler(batch_size=batch_size, context=context)
    loss = _WindowLoss(
        architecture=config,
        batch_size=batch_size,
        context=context,
        eval_batches=eval_batches,
        dropout=config.dropout > 0,
        dtype=jnp.dtype(jnp.result_type(float)).name,
    )

    # (seconds, tokens, compiled) per chunk; the first chunk of each length compiles.
    chunks: list[tuple[float, int, bool]] = []
    lengths: set[int] = set()
    clock = [time.perf_counter()]

    def timing(step: int, train: Any, validation_losses: Any) -> str | None:
        now = time.perf_counter()
        # The chunk that ends at `step` began at the previous multiple of eval_every
        # (also for the first chunk after a resume).
        n = step - eval_every * ((step - 1) // eval_every)
        chunks.append((now - clock[0], n * batch_size * context, n not in lengths))
        lengths.add(n)
        clock[0] = now
        note = callback(step, train, validation_losses) if callback is not None else None
        seconds, done, compiled = chunks[-1]
        if compiled:
            return note
        rate = f"{done / seconds:,.0f} tokens/s"
        return rate if not isinstance(note, str) else f"{rate}, {note}"

    init = lambda k: Transformer.init(config, k)
    start = clock[0] = time.perf_counter()
    res = fit(
        init,
        loss,
        t,
        key=key,
        steps=steps,
        optimizer=optimizer,
        sample=sample,
        validation=val,
        eval_every=eval_every,
        early_stopping=early_stopping,
        checkpoint=checkpoint,
        checkpoint_every=checkpoint_every,
        progress=progress,
        callback=timing,
    )
    steady = [(sec, n) for sec, n, compiled in chunks if not compiled]
    if steady:
        elapsed, done = sum(sec for sec, _ in steady), sum(n for _, n in steady)
    else:
        elapsed, done = time.perf_counter() - start, sum(n for _, n, _ in chunks)
    rate = done / elapsed if elapsed > 0 and done else float("nan")
    model = res.model
    assert isinstance(model, Transformer)
    return TransformerFit(
        model=model, tokenizer=tokenizer, history=res.history, tokens_per_second=rate, fit=res
    )


# --------------------------------------------------------------------------- the model as a map


class TokenMap(Map):
    """A trained transformer as a `cj.Map` on token histories, decoding to states.

    The state is the window of the last `length` tokens, stored as floats (a `cj.Map`'s
    state is a float array; token ids are exact in float32 up to 2**24 and in float64
    up to 2**53, and are rounded back on use). One step runs the model on the window,
    appends its most probable next token (greedy, so the map is deterministic) and drops
    the oldest: the window slides by one. `observe(state)` is the centre of the newest
    token's cell, `synchronise(history)` encodes `length` observed states, so
    `cj.trajectory`, `cj.learn.evaluate` and every function that steps a map apply.

    Each step is a full pass over the window; `generate` (a key-value cache, sampling,
    many prompts) is the fast way to produce long runs. Lyapunov exponents of this map
    are not meaningful (its state is discrete, so its Jacobian carries no information
    about the dynamics); the exponents of a generated orbit come from the Jacobians of
    the true system at cell centres (M. Shalova & I. Oseledets 2020, arXiv:2002.05111).

    **Arguments:**

    - `model`: the `Transformer`.
    - `tokenizer`: the `GridTokenizer` of its tokens.
    - `initial`: (length,) the default state, a window of token ids (as floats), 1 <=
      length <= the model's context.
    - `dt`: time per step of the tokenised series (default 1.0: a map; the sampling
      interval for a flow), so that times and exponents come out per unit time.

    Example:

    ```python
    tm = cj.learn.TokenMap.from_states(model, tok, xs[:32])   # a window of 32 states
    ys = cj.trajectory(tm, tm.default_state(), steps=100)     # (101, 32) token windows
    states = jax.vmap(tm.observe)(ys)                          # (101, dim) cell centres
    ```
    """

    model: Transformer
    tokenizer: GridTokenizer
    initial: Float[Array, " length"] = eqx.field(converter=jnp.asarray)
    dt: float = eqx.field(static=True, default=1.0)

    def __check_init__(self):
        if not isinstance(self.model, Transformer):
            raise ValueError(f"`model` must be a cj.learn.Transformer, got {self.model!r}.")
        if not isinstance(self.tokenizer, GridTokenizer):
            raise ValueError(
                f"`tokenizer` must be a cj.learn.GridTokenizer, got {self.tokenizer!r}."
            )
        if self.tokenizer.vocab_size != self.model.config.vocab_size:
            raise ValueError(
                f"`tokenizer` has {self.tokenizer.vocab_size} tokens but `model` "
                f"{self.model.config.vocab_size}."
            )
        if self.initial.ndim != 1 or not 1 <= self.initial.shape[0] <= self.model.config.context:
            raise ValueError(
                f"`initial` must be a window (length,) with 1 <= length <= "
                f"{self.model.config.context}, got shape {tuple(self.initial.shape)}."
            )
        if not jnp.issubdtype(self.initial.dtype, jnp.floating):
            raise ValueError(f"`initial` must hold token ids as floats, got {self.initial.dtype}.")
        v.positive_float(self.dt, "dt")

    @classmethod
    def from_states(
        cls,
        model: Transformer,
        tokenizer: GridTokenizer,
        states: Shaped[ArrayLike, "..."],
        *,
        dt: float = 1.0,
    ) -> TokenMap:
        """The map whose default state is the window of tokens of `states` (length, dim).

        **Arguments:**

        - `model`, `tokenizer`, `dt`: as for `TokenMap`.
        - `states`: (length, dim) consecutive states; length <= the model's context.

        **Returns:**

        A `TokenMap` of history length `length`.
        """
        if not isinstance(tokenizer, GridTokenizer):
            raise ValueError(f"`tokenizer` must be a cj.learn.GridTokenizer, got {tokenizer!r}.")
        x = jnp.asarray(states)
        if x.ndim != 2:
            raise ValueError(f"`states` must be (length, dim), got shape {tuple(x.shape)}.")
        initial = tokenizer.encode(x).astype(jnp.result_type(float))
        return cls(model=model, tokenizer=tokenizer, initial=initial, dt=dt)

    @property
    def time_per_step(self) -> float:
        """`dt`: the time one step represents."""
        return float(self.dt)

    @property
    def history_length(self) -> int:
        """The window length: `synchronise` encodes this many observed states."""
        return int(self.initial.shape[0])

    def default_state(self) -> Float[Array, " length"]:
        """The window `initial`."""
        return self.initial

    def sample_state(self, key: PRNGKeyArray, n: int) -> Float[Array, "n length"]:
        """`n` copies of `initial` (noise has no meaning on token ids; the key is unused)."""
        return jnp.broadcast_to(self.initial, (n, self.initial.shape[0]))

    def _tokens(self, x: Array) -> Array:
        t = jnp.round(jax.lax.stop_gradient(x)).astype(jnp.int32)
        return jnp.clip(t, 0, self.model.config.vocab_size - 1)

    def step(self, x: Float[Array, " length"]) -> Float[Array, " length"]:
        """Slide the window by the model's most probable next token."""
        logits = self.model(self._tokens(x))[-1]
        nxt = jnp.argmax(logits).astype(x.dtype)
        return jnp.concatenate([x[1:], nxt[None]])

    def observe(self, x: Float[Array, " length"]) -> Float[Array, " dim"]:
        """The centre of the cell of the newest token."""
        return self.tokenizer.decode(self._tokens(x)[-1])

    def synchronise(self, history: Float[Array, "length dim"]) -> Float[Array, " length"]:
        """The window of tokens of `history_length` observed states (the oldest first)."""
        return self.tokenizer.encode(history).astype(self.initial.dtype)
