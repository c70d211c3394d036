"""`cj.learn.token_verdict`: the paper's evaluation of a token model, with its controls."""

import jax
import numpy as np
import pytest

import chaosjax as cj


@pytest.fixture(scope="module")
def henon_tokens():
    hen = cj.systems.Henon()
    xs = cj.trajectory(hen, hen.sample_state(jax.random.key(1), 6), steps=599, transient=1_000)
    tok = cj.learn.GridTokenizer.fit(xs, 50, margin=0.0)
    config = cj.learn.TransformerConfig.test(tok.vocab_size, context=32, layers=1, width=32)
    model = cj.learn.Transformer.init(config, jax.random.key(0))
    return tok, tok.encode(xs), model


def test_an_untrained_model_is_far_from_the_truth_and_the_controls_are_sane(henon_tokens):
    tok, tokens, model = henon_tokens
    v = cj.learn.token_verdict(
        model, tok, tokens, key=jax.random.key(2), prompt=20, system=cj.systems.Henon()
    )
    assert v.temperatures == (1.0, 0.0) and v.generated.shape == (2, 6, 580)
    # The true halves are close; a random network's tokens are spread over the grid.
    assert float(v.reference) > 0 and np.all(np.asarray(v.ratio) > 3.0)
    # The control: true orbits at cube centres of a 50-cell grid: about 0.413 (QR 0.419).
    assert float(v.control) == pytest.approx(0.413, abs=0.015)
    assert "greedy" in v.table() and "control" in v.table()


def test_bad_input_names_the_argument(henon_tokens):
    tok, tokens, model = henon_tokens
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="`prompt`"):
        cj.learn.token_verdict(model, tok, tokens, key=key, prompt=64)
    with pytest.raises(ValueError, match="`test_tokens`"):
        cj.learn.token_verdict(model, tok, tokens[:, :40], key=key, prompt=20)
    with pytest.raises(ValueError, match="`temperatures`"):
        cj.learn.token_verdict(model, tok, tokens, key=key, prompt=20, temperatures=(-1.0,))
