"""AeLLE: an autoencoder on Lyapunov spectra of recurrent networks, and a cross-validated
test of whether its latent coordinates predict the networks' accuracy better than the
plain features of the spectra.

Vogt, Zheng & Shlizerman ("Lyapunov-guided representation of recurrent neural network
performance", arXiv:2204.04876; Neural Comput. Appl. 2024,
doi:10.1007/s00521-024-09824-6) encode each trained network's Lyapunov spectrum with an
autoencoder whose latent layer also feeds a linear prediction of the accuracy, and find
that a linear classifier on the latent coordinates separates well-performing networks
from the others better than fixed features of the spectrum (largest and mean exponent,
Kaplan-Yorke dimension; Vogt, Puelma Touzel, Shlizerman & Lajoie 2022, Front. Appl.
Math. Stat. 8). `cross_validate_aelle` puts that claim to a test on any set of networks:
k-fold over networks, the autoencoder refitted inside each fold on the training networks
only, and the same classifiers on the latent coordinates and on the plain features.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Bool, Float, PRNGKeyArray

from .. import _validate as v
from .._results import Result
from .data import Normalizer
from .neural_ode import MLP
from .train import fit

__all__ = [
    "AeLLE",
    "AeLLEComparison",
    "AeLLEFit",
    "cross_validate_aelle",
    "fit_aelle",
    "fixed_length",
]


def fixed_length(spectra: Float[ArrayLike, "networks exponents"], length: int) -> np.ndarray:
    """Lyapunov spectra of networks of different sizes cut or padded to one length.

    Each row keeps its first `length` finite exponents (largest first); a row with
    fewer is padded by repeating its smallest exponent, so a small network reads as one
    whose remaining directions contract at its fastest rate (NaN entries, the padding
    of `cj.learn.rnn_lyapunov_grid`, are dropped first).

    **Arguments:**

    - `spectra`: (networks, exponents), rows sorted descending, NaN past each row's end.
    - `length`: the number K of exponents kept, a positive int.

    **Returns:**

    A numpy array (networks, K).

    Example:

    ```python
    cj.learn.fixed_length([[0.1, -0.5, np.nan], [0.2, -0.1, -0.9]], 3)
    # [[0.1, -0.5, -0.5], [0.2, -0.1, -0.9]]
    ```
    """
    length = v.positive_int(length, "length")
    s = np.asarray(spectra, dtype=float)
    if s.ndim != 2 or s.shape[0] < 1:
        raise ValueError(f"`spectra` must be (networks, exponents), got shape {s.shape}.")
    out = np.empty((s.shape[0], length))
    for i, row in enumerate(s):
        finite = row[np.isfinite(row)]
        if finite.size == 0:
            raise ValueError(f"`spectra` row {i} has no finite exponent.")
        kept = finite[:length]
        out[i, : kept.size] = kept
        out[i, kept.size :] = kept[-1]
    return out


class AeLLE(eqx.Module):
    """An autoencoder of Lyapunov spectra with a linear accuracy head on its latent
    layer (Vogt, Zheng & Shlizerman, arXiv:2204.04876).

    A spectrum s (K exponents) is standardised per exponent index, z = (s - mean) /
    scale; the encoder (an MLP) maps z to the latent coordinates l, the decoder maps l
    back to z, and the head (affine) maps l to the standardised accuracy. The statistics
    are frozen `cj.learn.Normalizer`s fitted on the training networks.

    **Arguments:**

    - `spectra_normalizer`: per-exponent statistics, shape (K,).
    - `accuracy_normalizer`: the accuracy's statistics, shape ().
    - `encoder`: `cj.learn.MLP` from K to the latent size.
    - `decoder`: `cj.learn.MLP` from the latent size to K.
    - `head`: `cj.learn.MLP` of depth 0 from the latent size to 1, or None (a plain
      autoencoder).

    Example:

    ```python
    res = cj.learn.fit_aelle(spectra, accuracy, latent=2, key=jax.random.key(0))
    res.model.encode(spectra), res.model.predict(spectra)
    ```
    """

    spectra_normalizer: Normalizer
    accuracy_normalizer: Normalizer
    encoder: MLP
    decoder: MLP
    head: MLP | None = None

    def __check_init__(self):
        k = self.spectra_normalizer.mean.shape
        if len(k) != 1 or self.encoder.in_size != k[0] or self.decoder.out_size != k[0]:
            raise ValueError(
                f"`encoder` must take and `decoder` give the {k} exponents of "
                f"`spectra_normalizer`, got {self.encoder.in_size} and {self.decoder.out_size}."
            )
        if self.decoder.in_size != self.encoder.out_size:
            raise ValueError(
                f"`decoder` must take the encoder's {self.encoder.out_size} latent "
                f"coordinates, got {self.decoder.in_size}."
            )
        if self.head is not None and (
            self.head.in_size != self.encoder.out_size or self.head.out_size != 1
        ):
            raise ValueError(
                f"`head` must map {self.encoder.out_size} latent coordinates to 1, got "
                f"{self.head.in_size} -> {self.head.out_size}."
            )

    @property
    def latent_size(self) -> int:
        return self.encoder.out_size

    def encode(self, spectra: Float[ArrayLike, "*batch K"]) -> Float[Array, "*batch latent"]:
        """The latent coordinates of spectra (K exponents each)."""
        return self.encoder(self.spectra_normalizer.normalize(jnp.asarray(spectra)))

    def reconstruct(self, spectra: Float[ArrayLike, "*batch K"]) -> Float[Array, "*batch K"]:
        """Spectra encoded and decoded, in their own units."""
        return self.spectra_normalizer.denormalize(self.decoder(self.encode(spectra)))

    def predict(self, spectra: Float[ArrayLike, "*batch K"]) -> Float[Array, "*batch"]:
        """The head's prediction of the accuracy."""
        if self.head is None:
            raise ValueError("this AeLLE has no accuracy head (it was fitted without accuracy).")
        z = self.head(self.encode(spectra))[..., 0]
        return self.accuracy_normalizer.denormalize(z)


class AeLLEFit(Result):
    """What `fit_aelle` returns.

    **Attributes:**

    - `model`: the fitted `AeLLE`.
    - `latent`: (networks, latent) the latent coordinates of the training spectra.
    - `reconstruction_error`: the mean squared error of the reconstructed spectra over
      their variance (0 is perfect, 1 is as good as the mean spectrum).
    - `loss`: the final training loss.
    """

    model: AeLLE
    latent: Float[Array, "networks latent"]
    reconstruction_error: Float[Array, ""]
    loss: Float[Array, ""]


def _check_spectra(spectra: Any) -> np.ndarray:
    s = np.asarray(spectra, dtype=float)
    if s.ndim != 2 or s.shape[0] < 2 or s.shape[1] < 1:
        raise ValueError(
            f"`spectra` must be (networks, K) with at least 2 networks, got shape {s.shape}; "
            "use cj.learn.fixed_length for spectra of different lengths."
        )
    if not np.all(np.isfinite(s)):
        raise ValueError("`spectra` must be finite (cut or pad them with cj.learn.fixed_length).")
    return s


def _check_accuracy(accuracy: Any, n: int) -> np.ndarray:
    a = np.asarray(accuracy, dtype=float)
    if a.shape != (n,) or not np.all(np.isfinite(a)):
        raise ValueError(f"`accuracy` must be {n} finite numbers (one per network), got {a.shape}.")
    return a


class _AeLLELoss(eqx.Module):
    # A Module, not a closure: equal losses hash equal, so the compiled training chunks
    # of `cj.learn.fit` are reused across the folds of a cross-validation.
    weight: float = eqx.field(static=True)

    def __call__(self, model: AeLLE, batch: Any) -> Array:
        spectra, accuracy = batch
        z = model.spectra_normalizer.normalize(spectra)
        lat = model.encoder(z)
        loss = jnp.mean((model.decoder(lat) - z) ** 2)
        if model.head is not None:
            target = model.accuracy_normalizer.normalize(accuracy)
            loss = loss + self.weight * jnp.mean((model.head(lat)[..., 0] - target) ** 2)
        return loss


def fit_aelle(
    spectra: Float[ArrayLike, "networks K"],
    accuracy: Float[ArrayLike, " networks"] | None = None,
    *,
    key: PRNGKeyArray,
    latent: int = 2,
    hidden: int = 32,
    depth: int = 1,
    prediction_weight: float = 1.0,
    steps: int = 2_000,
    learning_rate: float = 3e-3,
) -> AeLLEFit:
    """Fit an AeLLE autoencoder to Lyapunov spectra (and accuracies).

    The loss is the mean squared reconstruction error of the standardised spectra plus
    `prediction_weight` times the mean squared error of the head's prediction of the
    standardised accuracy (Vogt, Zheng & Shlizerman, arXiv:2204.04876: the latent
    coordinates are shaped both by the spectra and by the accuracy). Without `accuracy`
    it is a plain autoencoder with no head. Full-batch Adam through `cj.learn.fit`.

    **Arguments:**

    - `spectra`: (networks, K) finite exponents (`cj.learn.fixed_length`).
    - `accuracy`: (networks,) task accuracies, or None for a plain autoencoder.
    - `key`: a JAX key (initial weights).
    - `latent`: the latent size (default 2).
    - `hidden`, `depth`: width and number of hidden layers of the encoder and of the
      decoder (tanh MLPs; defaults 32 and 1).
    - `prediction_weight`: the weight of the accuracy term, >= 0 (default 1).
    - `steps`, `learning_rate`: Adam steps and rate (defaults 2000 and 3e-3).

    **Returns:**

    An `AeLLEFit` (`model`, `latent`, `reconstruction_error`, `loss`).

    Example:

    ```python
    s = cj.learn.fixed_length(ds.spectrum.values, 16)       # ds: cj.learn.rnn_lyapunov_grid
    res = cj.learn.fit_aelle(s, ds.accuracy.values, key=jax.random.key(0))
    res.latent              # (networks, 2)
    ```
    """
    s = _check_spectra(spectra)
    n, k = s.shape
    a = None if accuracy is None else _check_accuracy(accuracy, n)
    latent = v.positive_int(latent, "latent")
    hidden = v.positive_int(hidden, "hidden")
    depth = v.nonnegative_int(depth, "depth")
    steps = v.positive_int(steps, "steps")
    learning_rate = v.positive_float(learning_rate, "learning_rate")
    if (
        isinstance(prediction_weight, bool)
        or not isinstance(prediction_weight, (int, float))
        or not math.isfinite(prediction_weight)
        or prediction_weight < 0
    ):
        raise ValueError(f"`prediction_weight` must be a float >= 0, got {prediction_weight!r}.")
    weight = float(prediction_weight)
    norm_s = Normalizer.fit(s)
    norm_a = Normalizer.fit(a if a is not None else np.zeros(n))

    def init(key: PRNGKeyArray) -> AeLLE:
        ke, kd, kh = jax.random.split(key, 3)
        return AeLLE(
            spectra_normalizer=norm_s,
            accuracy_normalizer=norm_a,
            encoder=MLP.init(ke, k, latent, hidden=hidden, depth=depth),
            decoder=MLP.init(kd, latent, k, hidden=hidden, depth=depth),
            head=None if a is None else MLP.init(kh, latent, 1, depth=0),
        )

    data = (jnp.asarray(s), jnp.asarray(a if a is not None else np.zeros(n)))
    res = fit(
        init,
        _AeLLELoss(weight=weight),
        data,
        key=key,
        steps=steps,
        optimizer="adam",
        learning_rate=learning_rate,
        eval_every=min(steps, 500),
    )
    model = res.model
    assert isinstance(model, AeLLE)
    rec = model.reconstruct(data[0])
    err = jnp.mean((rec - data[0]) ** 2) / jnp.mean(jnp.var(data[0], axis=0))
    return AeLLEFit(
        model=model,
        latent=model.encode(data[0]),
        reconstruction_error=err,
        loss=jnp.asarray(res.restart_losses[res.best_restart]),
    )


class AeLLEComparison(Result):
    """Cross-validated prediction of network accuracy from spectra (`cross_validate_aelle`).

    Methods, in order (`methods`): "latent" (a classifier/regression on the AeLLE
    latent coordinates), "head" (the AeLLE accuracy head itself), two controls that
    see the same spectra without the autoencoder, "pca" (as many principal components
    as latent coordinates) and "spectrum" (the K exponents themselves), then
    "features" (the plain features together) and each plain feature alone.

    **Attributes:**

    - `methods`: the method names.
    - `auc`: (methods, repeats) area under the ROC curve for "top network" of the
      out-of-fold scores, pooled over the folds of one repeat (0.5 is chance).
    - `spearman`: (methods, repeats) Spearman rank correlation of the out-of-fold
      predicted accuracy with the accuracy.
    - `feature_spearman`: (features,) Spearman correlation of each plain feature with
      the accuracy over all networks (nothing fitted; NaN for a constant feature).
    - `top`: (networks,) whether a network is a top network.
    - `threshold`: the accuracy from which a network is a top network.
    - `scores`: (methods, repeats, networks) the out-of-fold scores (probability of
      being a top network).
    - `predictions`: (methods, repeats, networks) the out-of-fold predicted accuracies.
    """

    methods: tuple[str, ...] = eqx.field(static=True)
    auc: Float[Array, "methods repeats"]
    spearman: Float[Array, "methods repeats"]
    feature_spearman: Float[Array, " features"]
    top: Bool[Array, " networks"]
    threshold: Float[Array, ""]
    scores: Float[Array, "methods repeats networks"]
    predictions: Float[Array, "methods repeats networks"]

    def summary(self) -> dict[str, dict[str, float]]:
        """Per method: mean and standard deviation over repeats of AUC and Spearman."""
        auc, rho = np.asarray(self.auc), np.asarray(self.spearman)
        return {
            m: {
                "auc": float(auc[i].mean()),
                "auc_std": float(auc[i].std()),
                "spearman": float(rho[i].mean()),
                "spearman_std": float(rho[i].std()),
            }
            for i, m in enumerate(self.methods)
        }


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    from scipy.stats import spearmanr

    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan  # undefined for a constant (scipy would warn)
    return float(spearmanr(x, y).statistic)  # pyright: ignore[reportAttributeAccessIssue]


def _features(features: Any, n: int) -> dict[str, np.ndarray]:
    if not isinstance(features, Mapping) or not features:
        raise ValueError(
            f"`features` must be a non-empty dict name -> (networks,) array, got {features!r}."
        )
    out = {}
    for name, x in features.items():
        arr = np.asarray(x, dtype=float)
        if arr.shape != (n,) or not np.all(np.isfinite(arr)):
            raise ValueError(f"`features[{name!r}]` must be {n} finite numbers, got {arr.shape}.")
        out[str(name)] = arr
    return out


def _classify_and_regress(train_x, train_top, train_acc, test_x):
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5_000))
    clf.fit(train_x, train_top)
    reg = make_pipeline(StandardScaler(), LinearRegression()).fit(train_x, train_acc)
    return clf.predict_proba(test_x)[:, 1], reg.predict(test_x)


def cross_validate_aelle(
    spectra: Float[ArrayLike, "networks K"],
    accuracy: Float[ArrayLike, " networks"],
    features: Mapping[str, Float[ArrayLike, " networks"]],
    *,
    key: PRNGKeyArray,
    folds: int = 5,
    repeats: int = 3,
    top: float = 0.25,
    **aelle_options: Any,
) -> AeLLEComparison:
    """How well AeLLE latent coordinates, and plain spectrum features, predict accuracy:
    k-fold cross-validation over networks, with no information from the test networks.

    A top network is one whose accuracy is at least the (1 - `top`) quantile of all
    accuracies (`top` = 0.25: the top quartile; the label is a property of the
    population, as in Vogt, Zheng & Shlizerman, arXiv:2204.04876). For each of
    `repeats` stratified shuffles into `folds` folds, and each fold: `fit_aelle` is
    fitted to the training networks' spectra and accuracies only (the standardisation
    statistics too); on their latent coordinates a logistic regression (top or not)
    and a linear regression (accuracy) are fitted (scikit-learn, features standardised
    on the training networks), and both score the held-out networks. The same
    classifier and regression are fitted on the plain features (together, and each one
    alone) and, as controls that see the whole spectrum without an autoencoder, on its
    leading principal components and on the K exponents themselves; the autoencoder's
    own head predicts the held-out accuracy directly (its prediction is also its
    score). Pooling the held-out scores of a repeat gives one
    AUC (`sklearn.metrics.roc_auc_score`) and one Spearman correlation with the
    accuracy (`scipy.stats.spearmanr`) per method and repeat.

    **Arguments:**

    - `spectra`: (networks, K) finite exponents (`cj.learn.fixed_length`).
    - `accuracy`: (networks,) task accuracies.
    - `features`: plain features, name -> (networks,) array, e.g.
      `cj.learn.spectrum_features(...)`.
    - `key`: a JAX key (fold shuffles, autoencoder weights).
    - `folds`: folds per repeat, >= 2 (default 5); at least `folds` top and `folds`
      other networks are needed.
    - `repeats`: independent shuffles (default 3).
    - `top`: the fraction of networks called top, in (0, 1) (default 0.25).
    - `**aelle_options`: passed to `fit_aelle` (`latent`, `hidden`, `depth`,
      `prediction_weight`, `steps`, `learning_rate`).

    **Returns:**

    An `AeLLEComparison` (`methods`, `auc`, `spearman`, `feature_spearman`, `top`,
    `threshold`, `scores`, `predictions`; `summary()` for means and spreads).

    Example:

    ```python
    s = cj.learn.fixed_length(ds.spectrum.values, 16)       # ds: cj.learn.rnn_lyapunov_grid
    feats = {k: ds[k].values for k in ("lambda_max", "lambda_mean", "ky_dimension")}
    cmp = cj.learn.cross_validate_aelle(s, ds.accuracy.values, feats, key=jax.random.key(0))
    cmp.summary()["latent"]["auc"], cmp.summary()["features"]["auc"]
    ```
    """
    from sklearn.decomposition import PCA
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    s = _check_spectra(spectra)
    n = s.shape[0]
    acc = _check_accuracy(accuracy, n)
    feats = _features(features, n)
    folds = v.positive_int(folds, "folds")
    repeats = v.positive_int(repeats, "repeats")
    if folds < 2:
        raise ValueError(f"`folds` must be at least 2, got {folds}.")
    if isinstance(top, bool) or not isinstance(top, (int, float)) or not 0 < top < 1:
        raise ValueError(f"`top` must be a fraction in (0, 1), got {top!r}.")
    unknown = set(aelle_options) - {
        "latent", "hidden", "depth", "prediction_weight", "steps", "learning_rate"
    }  # fmt: skip
    if unknown:
        raise ValueError(f"unknown option(s) for fit_aelle: {sorted(unknown)}.")
    threshold = float(np.quantile(acc, 1.0 - top))
    is_top = acc >= threshold
    n_top = int(is_top.sum())
    if min(n_top, n - n_top) < folds:
        raise ValueError(
            f"`folds` ({folds}) must not exceed the number of top ({n_top}) or other "
            f"({n - n_top}) networks, so that every fold holds both."
        )

    names = list(feats)
    methods = ("latent", "head", "pca", "spectrum", "features", *names)
    n_latent = int(aelle_options.get("latent", 2))
    all_feats = np.stack([feats[k] for k in names], axis=1)
    scores = np.zeros((len(methods), repeats, n))
    preds = np.zeros((len(methods), repeats, n))
    seeds = np.asarray(jax.random.randint(key, (repeats,), 0, 2**31 - 1))
    for r in range(repeats):
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=int(seeds[r]))
        for f, (train, test) in enumerate(splitter.split(s, is_top)):
            k_fold = jax.random.fold_in(key, r * folds + f + 1)
            ae = fit_aelle(s[train], acc[train], key=k_fold, **aelle_options).model
            lat_train = np.asarray(ae.encode(s[train]))
            lat_test = np.asarray(ae.encode(s[test]))
            pca = make_pipeline(StandardScaler(), PCA(n_components=min(n_latent, s.shape[1])))
            pca.fit(s[train])
            inputs = [
                (lat_train, lat_test),
                None,
                (pca.transform(s[train]), pca.transform(s[test])),
                (s[train], s[test]),
                (all_feats[train], all_feats[test]),
            ]
            inputs += [(feats[k][train, None], feats[k][test, None]) for k in names]
            for i, xs in enumerate(inputs):
                if xs is None:  # the head: its own prediction
                    p = np.asarray(ae.predict(s[test]))
                    scores[i, r, test], preds[i, r, test] = p, p
                    continue
                score, pred = _classify_and_regress(xs[0], is_top[train], acc[train], xs[1])
                scores[i, r, test], preds[i, r, test] = score, pred
    auc = np.array(
        [[roc_auc_score(is_top, scores[i, r]) for r in range(repeats)] for i in range(len(methods))]
    )
    rho = np.array(
        [[_spearman(preds[i, r], acc) for r in range(repeats)] for i in range(len(methods))]
    )
    return AeLLEComparison(
        methods=methods,
        auc=jnp.asarray(auc),
        spearman=jnp.asarray(rho),
        feature_spearman=jnp.asarray([_spearman(feats[k], acc) for k in names]),
        top=jnp.asarray(is_top),
        threshold=jnp.asarray(threshold),
        scores=jnp.asarray(scores),
        predictions=jnp.asarray(preds),
    )
