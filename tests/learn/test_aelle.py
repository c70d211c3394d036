"""Recurrent classifiers as input-driven maps, the grid of their spectra, and AeLLE
(Vogt, Zheng & Shlizerman, arXiv:2204.04876) with a cross-validation that does not leak."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import chaosjax as cj

# --------------------------------------------------------------------------- the task


def test_delayed_parity_labels_and_bayes_accuracy():
    task = cj.learn.DelayedParity(length=12, delays=(2, 5), noise=0.5)
    us, y = task.sample(jax.random.key(0), 20_000)
    assert us.shape == (20_000, 12, 1) and y.shape == (20_000,)
    # The optimal rule reads each bit as sign(u); its accuracy is the closed form
    # (1 + (1 - 2q)^2) / 2, q = Phi(-2) = 0.02275; 2e4 samples: standard error 1.5e-3.
    guess = jnp.sign(us[:, 12 - 1 - 2, 0]) * jnp.sign(us[:, 12 - 1 - 5, 0])
    q = 0.5 * math.erfc(2.0 / math.sqrt(2.0))
    assert task.bayes_accuracy == pytest.approx(0.5 * (1 + (1 - 2 * q) ** 2), rel=1e-12)
    assert float(jnp.mean(guess == y)) == pytest.approx(task.bayes_accuracy, abs=6e-3)
    # Noise-free: the labels are exactly the parity of the picked inputs.
    clean = cj.learn.DelayedParity(length=6, delays=(0, 3, 4), noise=0.0)
    us, y = clean.sample(jax.random.key(1), 64)
    np.testing.assert_array_equal(y, us[:, 5, 0] * us[:, 2, 0] * us[:, 1, 0])
    assert clean.bayes_accuracy == 1.0
    assert clean.stream(jax.random.key(2), 50).shape == (50, 1)
    for bad in [dict(delays=(3, 3)), dict(delays=(20,)), dict(delays=()), dict(noise=-1.0)]:
        with pytest.raises(ValueError, match="`delays`|`noise`"):
            cj.learn.DelayedParity(**bad)


def test_classifier_is_the_cells_driven_map_and_training_learns():
    task = cj.learn.DelayedParity(length=6, delays=(1,), noise=0.3)  # delayed recall
    cells = [cj.systems.GRU.random(jax.random.key(s), 8, n_inputs=1, g=1.0) for s in range(2)]
    fit = cj.learn.fit_classifiers(
        cells, task, key=jax.random.key(0), learning_rates=[1e-2, 3e-2], steps=150,
        test_size=2_000,
    )  # fmt: skip
    assert fit.loss.shape == (2, 150) and fit.accuracy.shape == (2,)
    # Delayed recall of one bit is easy: close to the best possible 1 - Phi(-1/0.3).
    assert np.all(np.asarray(fit.accuracy) > task.bayes_accuracy - 0.03)
    assert float(fit.loss[:, -20:].mean()) < float(fit.loss[:, :20].mean())
    clf = fit.model(1)
    assert isinstance(clf, cj.systems.DrivenMap) and clf.dim == 8
    # Its driven map is the cell's, so its spectrum is the trained network's spectrum.
    us = task.stream(jax.random.key(3), 400)
    x0 = clf.default_state()
    a = cj.lyapunov_spectrum(clf, x0, steps=300, transient=100, inputs=us)
    b = cj.lyapunov_spectrum(clf.cell, x0, steps=300, transient=100, inputs=us)
    np.testing.assert_array_equal(a.exponents, b.exponents)
    # The logit is the readout of the hidden state after the sequence.
    seq, _ = task.sample(jax.random.key(4), 1)
    x = jnp.zeros(8)
    for u in seq[0]:
        x = clf.cell.driven_step(x, u)
    np.testing.assert_allclose(clf.logit(seq[0]), x @ clf.weights + clf.bias, atol=1e-12)


def test_lstm_classifier_reads_the_hidden_part_and_bad_input_is_named():
    task = cj.learn.DelayedParity(length=5, delays=(0,), noise=0.1)
    lstm = cj.systems.LSTM.random(jax.random.key(0), 4, n_inputs=1)
    clf = cj.learn.RecurrentClassifier.init(jax.random.key(1), lstm)
    assert clf.weights.shape == (4,) and clf.dim == 8
    with pytest.raises(ValueError, match="`weights`"):
        cj.learn.RecurrentClassifier(cell=lstm, weights=jnp.zeros(8), bias=jnp.zeros(()))
    rnn = cj.systems.RNN.random(jax.random.key(0), 4, n_inputs=1)
    with pytest.raises(ValueError, match="`cells`"):
        cj.learn.fit_classifiers([rnn, lstm], task, key=jax.random.key(0))
    with pytest.raises(ValueError, match="`cells`"):
        cj.learn.fit_classifiers(
            [cj.systems.RNN.random(jax.random.key(0), 4, n_inputs=2)], task, key=jax.random.key(0)
        )
    with pytest.raises(ValueError, match="`learning_rates`"):
        cj.learn.fit_classifiers([rnn], task, key=jax.random.key(0), learning_rates=-1.0)
    with pytest.raises(ValueError, match="`key`"):
        cj.learn.fit_classifiers([rnn, rnn], task, key=jax.random.split(jax.random.key(0), 3))
    with pytest.raises(ValueError, match="`architectures`"):
        cj.learn.rnn_lyapunov_grid(key=jax.random.key(0), architectures=("transformer",))
    with pytest.raises(ValueError, match="`widths`"):
        cj.learn.rnn_lyapunov_grid(key=jax.random.key(0), widths=())


# --------------------------------------------------------------------------- features


def test_fixed_length_and_spectrum_features():
    s = np.array([[0.1, -0.5, np.nan, np.nan], [0.2, -0.1, -0.9, -1.2]])
    np.testing.assert_array_equal(
        cj.learn.fixed_length(s, 3), [[0.1, -0.5, -0.5], [0.2, -0.1, -0.9]]
    )
    f = cj.learn.spectrum_features(s)
    np.testing.assert_allclose(f["lambda_max"], [0.1, 0.2])
    np.testing.assert_allclose(f["lambda_mean"], [-0.2, -0.5])
    # Kaplan-Yorke: 1 + 0.1/0.5 and 2 + (0.2 - 0.1)/0.9.
    np.testing.assert_allclose(f["ky_dimension"], [1.2, 2 + 0.1 / 0.9], rtol=1e-12)
    with pytest.raises(ValueError, match="`length`"):
        cj.learn.fixed_length(s, 0)


# --------------------------------------------------------------------------- AeLLE


def test_aelle_reconstructs_low_dimensional_spectra():
    # Spectra on a 2-parameter family: a 2-D latent layer can reconstruct them.
    rng = np.random.default_rng(0)
    a, b = rng.uniform(-1, 1, (2, 80))
    idx = np.arange(8)
    s = a[:, None] * 0.1 - 0.05 * idx[None, :] * (1.5 + b[:, None])
    acc = 0.7 + 0.2 * a
    res = cj.learn.fit_aelle(s, acc, key=jax.random.key(0), latent=2, steps=3_000)
    assert res.latent.shape == (80, 2)
    assert float(res.reconstruction_error) < 0.02
    assert float(jnp.mean((res.model.predict(s) - acc) ** 2)) < 0.05 * acc.var()
    plain = cj.learn.fit_aelle(s, key=jax.random.key(0), latent=2, steps=200)
    assert plain.model.head is None
    with pytest.raises(ValueError, match="accuracy head"):
        plain.model.predict(s)
    with pytest.raises(ValueError, match="`spectra`"):
        cj.learn.fit_aelle(np.full((4, 3), np.nan), key=jax.random.key(0))
    with pytest.raises(ValueError, match="`accuracy`"):
        cj.learn.fit_aelle(s, np.where(idx[0] == 0, np.nan, acc), key=jax.random.key(0))


@pytest.mark.slow  # the default suite's time budget; other tests cover the parts
def test_cross_validation_does_not_leak():
    rng = np.random.default_rng(1)
    n = 120
    acc = rng.uniform(0.5, 1.0, n)
    noise = rng.normal(size=(n, 6))  # spectra that know nothing of the accuracy
    cmp = cj.learn.cross_validate_aelle(
        noise,
        acc,
        {"noise": rng.normal(size=n), "oracle": acc},
        key=jax.random.key(0),
        folds=4,
        repeats=1,
        steps=400,
    )
    s = cmp.summary()
    assert cmp.methods == ("latent", "head", "pca", "spectrum", "features", "noise", "oracle")
    assert int(cmp.top.sum()) == 30 and float(cmp.threshold) == pytest.approx(
        np.quantile(acc, 0.75)
    )
    # Held-out networks only: pure noise scores at chance. The AUC of 30 positives
    # against 90 has a standard error of ~0.06 at 0.5; 0.15 is 2.5 of them.
    for m in ("latent", "head", "pca", "spectrum", "noise"):
        assert abs(s[m]["auc"] - 0.5) < 0.15, (m, s[m])
        assert abs(s[m]["spearman"]) < 0.3, (m, s[m])
    # A feature equal to the accuracy ranks the networks perfectly.
    assert s["oracle"]["auc"] > 0.99 and s["oracle"]["spearman"] > 0.999
    # Spectra that carry the accuracy: the autoencoder finds it out of fold.
    informative = np.concatenate([noise[:, :3], acc[:, None] + 0.02 * noise[:, 3:]], axis=1)
    cmp = cj.learn.cross_validate_aelle(
        informative, acc, {"noise": noise[:, 0]}, key=jax.random.key(1), folds=4, repeats=1,
        steps=800,
    )  # fmt: skip
    assert cmp.summary()["latent"]["auc"] > 0.9 and cmp.summary()["head"]["spearman"] > 0.9
    with pytest.raises(ValueError, match="`folds`"):
        cj.learn.cross_validate_aelle(noise[:8], acc[:8], {"x": acc[:8]}, key=jax.random.key(0))
    with pytest.raises(ValueError, match="`features"):
        cj.learn.cross_validate_aelle(noise, acc, {"x": acc * np.nan}, key=jax.random.key(0))
    with pytest.raises(ValueError, match="`top`"):
        cj.learn.cross_validate_aelle(noise, acc, {"x": acc}, key=jax.random.key(0), top=1.0)
