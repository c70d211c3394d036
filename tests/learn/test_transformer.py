import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import chaosjax as cj
from chaosjax.learn import checkpoint as ckpt

V, C = 30, 16


def small(dtype="float32", **changes):
    cfg = cj.learn.TransformerConfig(
        vocab_size=V, context=C, layers=2, width=32, heads=4, param_dtype=dtype, **changes
    )
    model = cj.learn.Transformer.init(cfg, jax.random.key(0))
    # Sharpen the random model (weights x 10) so that its greedy choices depend on the
    # whole window, not only on the last token.
    return jax.tree.map(lambda x: 10 * x if x.ndim >= 2 else x, model)


@pytest.fixture(scope="module")
def model32():
    return small("float32")


@pytest.fixture(scope="module")
def model64():
    return small("float64")


@eqx.filter_jit
def last_logits(model, window, n):
    # The window padded to the context: by the causal mask (tested exactly below) the
    # logits at n - 1 are those of the n tokens alone; one compilation for every n.
    return model(window)[n - 1]


def full_greedy(model, prompt, steps, keep):
    """Greedy continuation by full passes over the window generate() uses: it grows to
    the context, then restarts from the last `keep` tokens."""
    seq, n = [int(t) for t in prompt], len(prompt)
    for _ in range(steps):
        window = np.zeros(C, np.int32)
        window[:n] = seq[len(seq) - n :]
        seq.append(int(jnp.argmax(last_logits(model, jnp.asarray(window), jnp.int32(n)))))
        n = keep if n == C else n + 1
    return np.asarray(seq[len(prompt) :])


def test_shapes_parameter_count_and_gpt2_initialisation():
    cfg = cj.learn.TransformerConfig.test(500)
    assert (cfg.layers, cfg.width, cfg.context, cfg.heads) == (2, 64, 128, 4)
    paper = cj.learn.TransformerConfig.paper(125_000)
    assert (paper.layers, paper.width, paper.context, paper.heads) == (12, 768, 1024, 12)
    m = cj.learn.Transformer.init(cfg, jax.random.key(1))
    d, L, h = 64, 2, 256
    per_layer = 4 * d + (d * 3 * d + 3 * d) + (d * d + d) + (d * h + h) + (h * d + d)
    assert m.n_params == 500 * d + 128 * d + L * per_layer + 2 * d
    assert m.head is None and m.qkv_weight.dtype == jnp.float32
    # GPT-2: weights N(0, 0.02), residual projections N(0, 0.02 / sqrt(2 L)).
    assert float(jnp.std(m.fc_weight)) == pytest.approx(0.02, rel=0.02)
    assert float(jnp.std(m.out_weight)) == pytest.approx(0.02 / np.sqrt(4), rel=0.02)
    assert float(jnp.abs(m.qkv_bias).max()) == 0.0
    untied = cj.learn.Transformer.init(dataclasses.replace(cfg, tie_embeddings=False), key())
    assert untied.head is not None and untied.head.shape == (500, 64)
    forward = eqx.filter_jit(lambda model, t, k=None: model(t, key=k))
    logits = forward(m, jnp.zeros((3, 20), jnp.int32))
    assert logits.shape == (3, 20, 500) and logits.dtype == jnp.float32
    # Dropout acts only with a key: without one the model is deterministic.
    drop = eqx.tree_at(lambda t: t.config, m, dataclasses.replace(cfg, dropout=0.5))
    tokens = jnp.zeros((3, 20), jnp.int32)
    assert jnp.array_equal(forward(drop, tokens), logits)
    assert not jnp.array_equal(forward(drop, tokens, key()), logits)


def key():
    return jax.random.key(2)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_causal_mask_a_later_token_never_changes_an_earlier_logit(dtype, model32, model64):
    model = model32 if dtype == "float32" else model64
    tokens = jax.random.randint(jax.random.key(3), (C,), 0, V).astype(jnp.int32)
    forward = eqx.filter_jit(lambda m, t: m(t))
    base = forward(model, tokens)
    for j in (1, 7, C - 1):
        changed = forward(model, tokens.at[j].set((tokens[j] + 1) % V))
        # Exactly equal before j (the same operations on the same numbers) ...
        assert jnp.array_equal(changed[:j], base[:j])
        # ... and different from j on.
        assert not jnp.array_equal(changed[j], base[j])


# Relative to the largest logit: the cached and the full pass sum in other orders (the
# cache's empty slots are masked out), float32 rounding amplified by the sharpened weights.
@pytest.mark.parametrize("dtype, tol", [("float32", 5e-5), ("float64", 1e-10)])
def test_cached_decoding_equals_full_recomputation(dtype, tol, model32, model64):
    model = model32 if dtype == "float32" else model64
    tokens = jax.random.randint(jax.random.key(4), (3, C), 0, V).astype(jnp.int32)
    full = model(tokens)
    scale = float(jnp.abs(full).max())
    logits, ks, vs = eqx.filter_jit(lambda m, t: m._prefill(t))(model, tokens[:, :5])
    np.testing.assert_allclose(logits, full[:, 4], atol=tol * scale, rtol=0)
    decode = eqx.filter_jit(lambda m, *args: m._decode(*args))
    for pos in range(5, C):
        logits, ks, vs = decode(model, tokens[:, pos], jnp.int32(pos), ks, vs)
        np.testing.assert_allclose(logits, full[:, pos], atol=tol * scale, rtol=0)


@pytest.mark.parametrize(
    "dtype, keep, prompt_length",
    [("float32", 8, 5), ("float64", 8, 5), ("float32", 1, 5), ("float64", C, C)],
)
def test_greedy_generation_equals_full_recomputation(dtype, keep, prompt_length, model32, model64):
    model = model32 if dtype == "float32" else model64
    prompts = jax.random.randint(jax.random.key(5), (2, prompt_length), 0, V).astype(jnp.int32)
    steps = 40  # past the context: the cache is rebuilt several times
    out = cj.learn.generate(
        model, prompts, steps, key=jax.random.key(0), temperature=0.0, keep=keep
    )
    assert out.shape == (2, steps) and out.dtype == jnp.int32
    for b in range(2):
        np.testing.assert_array_equal(out[b], full_greedy(model, prompts[b], steps, keep))
    # Not trivially constant.
    assert len(np.unique(np.asarray(out))) > 3


def test_sampling_draws_from_the_tempered_distribution(model32):
    prompt = jnp.array([3, 1, 4, 1, 5], jnp.int32)
    logits = model32(prompt)[-1]
    for temperature in (1.0, 2.5):
        n = 2_000
        first = cj.learn.generate(
            model32, jnp.tile(prompt, (n, 1)), 1, key=jax.random.key(6), temperature=temperature
        )[:, 0]
        freq = np.bincount(np.asarray(first), minlength=V) / n
        p = np.asarray(jax.nn.softmax(logits / temperature))
        # Binomial standard error: 5 sigma bounds every frequency.
        assert np.all(np.abs(freq - p) <= 5 * np.sqrt(p * (1 - p) / n) + 1e-3)
    # The same key gives the same draws; another key others.
    a = cj.learn.generate(model32, prompt, 20, key=jax.random.key(7))
    b = cj.learn.generate(model32, prompt, 20, key=jax.random.key(7))
    c = cj.learn.generate(model32, prompt, 20, key=jax.random.key(8))
    assert a.shape == (20,) and jnp.array_equal(a, b) and not jnp.array_equal(a, c)


def test_bfloat16_compute_is_close_to_float32():
    cfg = cj.learn.TransformerConfig(vocab_size=V, context=C, layers=2, width=32, heads=4)
    f32 = cj.learn.Transformer.init(cfg, jax.random.key(0))
    bf = eqx.tree_at(lambda m: m.config, f32, dataclasses.replace(cfg, compute_dtype="bfloat16"))
    tokens = jnp.arange(C, dtype=jnp.int32) % V
    a, b = f32(tokens), bf(tokens)
    assert b.dtype == jnp.float32
    # bfloat16 keeps 8 bits of mantissa: relative errors of a few 1e-3 per product.
    assert float(jnp.abs(a - b).max()) < 0.05 * float(jnp.abs(a).max())
    assert float(jnp.abs(a - b).max()) > 0.0


def test_a_tiny_model_overfits_one_sequence_and_generation_reproduces_it():
    seq = jax.random.randint(jax.random.key(9), (1, 25), 0, 12).astype(jnp.int32)
    cfg = cj.learn.TransformerConfig(vocab_size=12, context=24, layers=1, width=32, heads=4)
    res = cj.learn.fit_transformer(
        seq, config=cfg, key=jax.random.key(0), steps=150, batch_size=2, eval_every=50,
        optimizer=cj.learn.AdamW(learning_rate=1e-2, weight_decay=0.0),
    )  # fmt: skip
    assert isinstance(res.model, cj.learn.Transformer)
    # Cross-entropy of the one window, in nats; log(12) = 2.48 at the start.
    assert float(res.history.train[0, -1]) < 0.02
    assert res.history.train[0, 0] > res.history.train[0, -1]
    assert res.tokens_per_second > 0
    out = cj.learn.generate(res.model, seq[:, :1], 24, key=jax.random.key(0), temperature=0.0)
    np.testing.assert_array_equal(out, seq[:, 1:])


def henon_tokens(n_traj=6, steps=400):
    hen = cj.systems.Henon()
    x0 = jnp.array([[-0.95, 0.35]]) + 0.05 * jax.random.uniform(
        jax.random.key(10), (n_traj, 2), minval=-1.0, maxval=1.0
    )
    xs = jax.vmap(lambda x: cj.trajectory(hen, x, steps=steps, transient=0))(x0)
    tok = cj.learn.GridTokenizer.fit(xs, 10)
    return tok, tok.encode(xs)


class Stop(Exception):
    pass


@pytest.mark.slow  # the default suite's time budget; other tests cover the parts
def test_interrupted_fit_resumes_bit_identical_and_another_architecture_is_refused(tmp_path):
    tok, tokens = henon_tokens()
    cfg = cj.learn.TransformerConfig(vocab_size=100, context=16, layers=1, width=16, heads=2)
    kw = dict(config=cfg, key=jax.random.key(1), steps=30, batch_size=4, eval_every=10)
    reference = cj.learn.fit_transformer(tokens, **kw)

    def stop_after_20(step, *_):
        if step == 20:
            raise Stop

    path = tmp_path / "fit.ckpt"
    with pytest.raises(Stop):
        cj.learn.fit_transformer(tokens, checkpoint=path, callback=stop_after_20, **kw)
    assert ckpt.read_header(path)["steps"] == 10
    resumed = cj.learn.fit_transformer(tokens, checkpoint=path, tokenizer=tok, **kw)
    assert ckpt.read_header(path)["steps"] == 30
    for a, b in zip(jax.tree.leaves(reference.model), jax.tree.leaves(resumed.model), strict=True):
        assert jnp.array_equal(a, b)
    assert resumed.tokenizer is tok
    # Another architecture on the same file: refused, the file untouched; also with 4
    # heads instead of 2, where every parameter keeps its shape.
    before = path.read_bytes()
    for other in (dict(width=32, heads=2), dict(width=16, heads=4)):
        cfg2 = cj.learn.TransformerConfig(vocab_size=100, context=16, layers=1, **other)
        with pytest.raises(ValueError, match="`checkpoint`"):
            cj.learn.fit_transformer(tokens, checkpoint=path, **{**kw, "config": cfg2})
    assert path.read_bytes() == before


@pytest.mark.parametrize("tie", [True, False])
def test_save_load_round_trip_without_a_template(tmp_path, tie):
    model = small("float32", tie_embeddings=tie)
    path = cj.learn.save(model, tmp_path / "gpt.eqx")
    back = cj.learn.load(path)
    assert isinstance(back, cj.learn.Transformer) and back.config == model.config
    tokens = jnp.arange(C, dtype=jnp.int32)
    assert jnp.array_equal(back(tokens), model(tokens))
    # A model of another architecture does not load into this one.
    other = cj.learn.Transformer.init(
        cj.learn.TransformerConfig(vocab_size=V, context=C, layers=1, width=32, heads=4),
        jax.random.key(0),
    )
    with pytest.raises(ValueError, match="`like`"):
        cj.learn.load(path, like=other)


def test_token_map_is_a_map_whose_runs_are_greedy_generation(tmp_path, model64):
    tok = cj.learn.GridTokenizer(jnp.zeros(1), jnp.ones(1), V)
    states = tok.decode(jax.random.randint(jax.random.key(11), (C,), 0, V))
    tm = cj.learn.TokenMap.from_states(model64, tok, states, dt=0.1)
    assert isinstance(tm, cj.Map) and tm.history_length == C and tm.time_per_step == 0.1
    np.testing.assert_array_equal(tm.synchronise(states), tm.default_state())
    np.testing.assert_allclose(tm.observe(tm.default_state()), states[-1])
    run = cj.trajectory(tm, tm.default_state(), steps=20)
    newest = np.asarray(run[1:, -1]).astype(int)
    # A sliding window of `context` tokens: generate() with keep = context.
    ref = cj.learn.generate(model64, tok.encode(states), 20, key=jax.random.key(0),
                            temperature=0.0, keep=C)  # fmt: skip
    np.testing.assert_array_equal(newest, ref)
    np.testing.assert_allclose(jax.vmap(tm.observe)(run[1:]), tok.decode(ref))
    back = cj.learn.load(cj.learn.save(tm, tmp_path / "tm.eqx"))
    assert jnp.array_equal(back.step(tm.default_state()), tm.step(tm.default_state()))


def test_bad_input(model32):
    with pytest.raises(ValueError, match="`prompts`"):
        cj.learn.generate(model32, jnp.zeros((2, C + 1), jnp.int32), 5, key=jax.random.key(0))
    with pytest.raises(ValueError, match="`prompts`"):
        cj.learn.generate(model32, jnp.full((2, 3), V, jnp.int32), 5, key=jax.random.key(0))
    with pytest.raises(ValueError, match="`prompts`"):
        cj.learn.generate(model32, jnp.zeros((2, 3)), 5, key=jax.random.key(0))
    with pytest.raises(ValueError, match="`temperature`"):
        cj.learn.generate(model32, jnp.zeros(3, jnp.int32), 5, key=jax.random.key(0),
                          temperature=-1.0)  # fmt: skip
    with pytest.raises(ValueError, match="`keep`"):
        cj.learn.generate(model32, jnp.zeros(3, jnp.int32), 5, key=jax.random.key(0), keep=C + 1)
    with pytest.raises(ValueError, match="`steps`"):
        cj.learn.generate(model32, jnp.zeros(3, jnp.int32), 0, key=jax.random.key(0))
    with pytest.raises(ValueError, match="`tokens`"):
        model32(jnp.zeros(C + 1, jnp.int32))
    with pytest.raises(ValueError, match="`width`"):
        cj.learn.TransformerConfig(vocab_size=10, width=30, heads=4)
    with pytest.raises(ValueError, match="`compute_dtype`"):
        cj.learn.TransformerConfig(vocab_size=10, compute_dtype="float8")
    with pytest.raises(ValueError, match="`dropout`"):
        cj.learn.TransformerConfig(vocab_size=10, dropout=1.0)
    with pytest.raises(ValueError, match="`position_embedding`"):
        dataclasses.replace(model32, position_embedding=jnp.zeros((C + 1, 32), jnp.float32))
    tokens = jnp.zeros((2, 50), jnp.int32)
    with pytest.raises(ValueError, match="`tokens`"):
        cj.learn.fit_transformer(tokens, key=jax.random.key(0), steps=1, context=60)
    with pytest.raises(ValueError, match="`tokens`"):
        cj.learn.fit_transformer(tokens[0], key=jax.random.key(0), steps=1)
    with pytest.raises(ValueError, match="`tokens`"):
        cj.learn.fit_transformer(tokens + 40, config=model32.config, key=jax.random.key(0), steps=1)
    with pytest.raises(ValueError, match="`context`"):
        cj.learn.fit_transformer(tokens, config=model32.config, key=jax.random.key(0), steps=1,
                                 context=C + 1)  # fmt: skip
