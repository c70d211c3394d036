"""A grid of trained recurrent networks, each with its task accuracy and the Lyapunov
spectrum of the trained network driven by the task's inputs.

This is the data of Vogt, Puelma Touzel, Shlizerman & Lajoie (2022), "On Lyapunov
exponents for RNNs", Front. Appl. Math. Stat. 8, and of AeLLE (Vogt, Zheng & Shlizerman,
"Lyapunov-guided representation of recurrent neural network performance",
arXiv:2204.04876; Neural Comput. Appl. 2024, doi:10.1007/s00521-024-09824-6): networks
of several architectures trained from several initial gains, widths, learning rates and
seeds; for each one the accuracy and the spectrum of the input-driven map
h_{t+1} = F(h_t, u_t) (Engelken, Wolf & Abbott 2020, arXiv:2006.02427), with the plain
features of that spectrum (largest and mean exponent, Kaplan-Yorke dimension).
`chaosjax.learn.aelle` asks how well the spectra predict the accuracy.
"""

from __future__ import annotations

import datetime
import itertools
import json
import time
from collections.abc import Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr
from jaxtyping import PRNGKeyArray

from .. import _validate as v
from .._progress import progress_bar
from .._version import __version__
from ..lyapunov import kaplan_yorke_dimension, lyapunov_spectrum
from ..systems import GRU, LSTM, RNN
from .rnn_task import DelayedParity, fit_classifiers

__all__ = ["ARCHITECTURES", "rnn_lyapunov_grid", "spectrum_features"]

#: The cells by name, in the order used to derive keys.
ARCHITECTURES: dict[str, type[RNN] | type[GRU] | type[LSTM]] = {
    "rnn": RNN,
    "gru": GRU,
    "lstm": LSTM,
}


def spectrum_features(spectra: Any) -> dict[str, np.ndarray]:
    """The plain features of Lyapunov spectra: largest exponent, mean exponent and
    Kaplan-Yorke dimension (the features Vogt et al. 2022 relate to performance).

    **Arguments:**

    - `spectra`: (networks, exponents), each row sorted descending and padded with NaN
      after its last exponent (networks of different state dimensions).

    **Returns:**

    A dict of (networks,) arrays: `lambda_max`, `lambda_mean` (over each row's
    exponents) and `ky_dimension` (`cj.kaplan_yorke_dimension` of each row's exponents).

    Example:

    ```python
    cj.learn.spectrum_features([[0.1, -0.2, -1.0], [-0.1, -0.3, np.nan]])
    ```
    """
    s = np.atleast_2d(np.asarray(spectra, dtype=float))
    if s.ndim != 2 or not np.all(np.isfinite(s[:, 0])):
        raise ValueError(
            f"`spectra` must be (networks, exponents) with a finite first column, got shape "
            f"{s.shape}."
        )
    ky = np.array([float(kaplan_yorke_dimension(jnp.asarray(row[np.isfinite(row)]))) for row in s])
    return {
        "lambda_max": s[:, 0].copy(),
        "lambda_mean": np.nanmean(s, axis=1),
        "ky_dimension": ky,
    }


def _tuple(values: Any, name: str, check) -> tuple:
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
        raise ValueError(f"`{name}` must be a non-empty list or tuple, got {values!r}.")
    return tuple(check(x, name) for x in values)


def _positive(x: Any, name: str) -> float:
    return v.positive_float(x, name)


def _spectra(models, us, steps, transient):
    def one(m):
        res = lyapunov_spectrum(
            m, m.default_state(), steps, transient=transient, inputs=us, throw=False
        )
        return res.exponents, res.diverged_at

    return jax.jit(jax.vmap(one))(models)


def rnn_lyapunov_grid(
    task: DelayedParity | None = None,
    *,
    key: PRNGKeyArray,
    architectures: Sequence[str] = ("rnn", "gru", "lstm"),
    widths: Sequence[int] = (8, 16, 32),
    gains: Sequence[float] = (0.5, 1.0, 1.5, 2.5),
    learning_rates: Sequence[float] = (3e-3, 1e-2),
    seeds: Sequence[int] = (0, 1),
    steps: int = 1_200,
    batch_size: int = 64,
    test_size: int = 4_000,
    spectrum_steps: int = 2_000,
    transient: int = 200,
    progress: bool = False,
) -> xr.Dataset:
    """Train a grid of recurrent networks on a task and compute each one's input-driven
    Lyapunov spectrum.

    For each architecture and width, the networks of every (gain, learning rate, seed)
    are trained together by `cj.learn.fit_classifiers`. Network cells are
    `cj.systems.RNN`/`GRU`/`LSTM.random(key, width, n_inputs=1, g=gain)`, with a key
    that depends on (seed, architecture, width) only: networks that differ in gain or
    learning rate start from the same random directions and see the same training
    sequences, so the grid isolates the hyper-parameters. Each trained network is then
    driven by one long stream from the task's input distribution (`task.stream`, the
    same for every network), and its full spectrum is computed by the QR method
    (`cj.lyapunov_spectrum(net, x0, spectrum_steps, transient=..., inputs=us)`; Vogt
    et al. 2022, Front. Appl. Math. Stat. 8; Engelken, Wolf & Abbott 2020,
    arXiv:2006.02427), as is the largest exponent of the untrained network.

    **Arguments:**

    - `task`: a `cj.learn.DelayedParity` (default `DelayedParity()`: delays (3, 8),
      length 20, noise 0.5).
    - `key`: a JAX key.
    - `architectures`: names among "rnn", "gru", "lstm" (default all three).
    - `widths`: hidden sizes n (default (8, 16, 32)); an LSTM's state has 2n
      coordinates.
    - `gains`: initial gains g of the recurrent weights, N(0, g^2/n) (default (0.5, 1,
      1.5, 2.5)).
    - `learning_rates`: Adam learning rates (default (3e-3, 1e-2)).
    - `seeds`: non-negative ints (default (0, 1)).
    - `steps`, `batch_size`, `test_size`: training steps, sequences per step and test
      sequences per network (defaults 1200, 64, 4000).
    - `spectrum_steps`, `transient`: steps accumulated for the spectra and steps run
      before (defaults 2000, 200).
    - `progress`: a progress bar over the (architecture, width) groups (default False).

    **Returns:**

    An `xarray.Dataset` over `network` (and `exponent` for the spectra): `architecture`,
    `width`, `gain`, `learning_rate`, `seed`, `state_dim`, `accuracy` and `test_loss`
    (on fresh sequences), `final_loss` (mean training loss over the last tenth of the
    steps), `spectrum` (network, exponent; per iteration, descending, NaN past
    `state_dim`), `diverged` (the driven orbit left every bound), `lambda_max`,
    `lambda_mean`, `ky_dimension` (`spectrum_features`) and `lambda_max_initial` (the
    untrained network). Attributes record the task, its `bayes_accuracy`, the settings
    and the seconds spent training (`train_seconds`) and on spectra
    (`spectrum_seconds`).

    Example:

    ```python
    ds = cj.learn.rnn_lyapunov_grid(key=jax.random.key(0), architectures=("rnn",),
                                    widths=(8,), gains=(0.5, 1.5), learning_rates=(1e-2,),
                                    seeds=(0,), steps=300, spectrum_steps=500)
    ds.accuracy.values, ds.lambda_max.values
    ```
    """
    task = DelayedParity() if task is None else task
    if not isinstance(task, DelayedParity):
        raise ValueError(f"`task` must be a cj.learn.DelayedParity, got {task!r}.")
    archs = _tuple(architectures, "architectures", lambda a, n: v.one_of(a, n, ARCHITECTURES))
    widths_ = _tuple(widths, "widths", v.positive_int)
    gains_ = _tuple(gains, "gains", _positive)
    rates = _tuple(learning_rates, "learning_rates", _positive)
    seeds_ = _tuple(seeds, "seeds", v.nonnegative_int)
    steps = v.positive_int(steps, "steps")
    batch_size = v.positive_int(batch_size, "batch_size")
    test_size = v.positive_int(test_size, "test_size")
    spectrum_steps = v.positive_int(spectrum_steps, "spectrum_steps")
    transient = v.nonnegative_int(transient, "transient")
    if not isinstance(key, jax.Array) or not jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        raise ValueError(f"`key` must be a typed JAX key (jax.random.key), got {key!r}.")

    k_nets, k_stream = jax.random.split(key)
    us = task.stream(k_stream, transient + spectrum_steps)
    combos = list(itertools.product(gains_, rates, seeds_))
    rows: list[dict[str, Any]] = []
    spectra: list[np.ndarray] = []
    t_train = t_spec = 0.0
    order = list(ARCHITECTURES)
    with progress_bar(progress, len(archs) * len(widths_), "training RNNs") as bar:
        for arch in archs:
            for width in widths_:
                cls = ARCHITECTURES[arch]
                bases = {
                    s: jax.random.fold_in(
                        jax.random.fold_in(jax.random.fold_in(k_nets, s), order.index(arch)),
                        width,
                    )
                    for s in seeds_
                }
                cells = [
                    cls.random(jax.random.split(bases[s])[0], width, n_inputs=1, g=g)
                    for g, _, s in combos
                ]
                train_keys = jnp.stack([jax.random.split(bases[s])[1] for _, _, s in combos])
                t0 = time.perf_counter()
                fit = fit_classifiers(
                    cells,
                    task,
                    key=train_keys,
                    learning_rates=[lr for _, lr, _ in combos],
                    steps=steps,
                    batch_size=batch_size,
                    test_size=test_size,
                )
                accuracy = np.asarray(fit.accuracy)
                t1 = time.perf_counter()
                # The untrained networks ride along in the same compiled call: the same
                # classifiers with the initial cells (the readout plays no part).
                initial = eqx.tree_at(
                    lambda m: m.cell, fit.models, jax.tree.map(lambda *a: jnp.stack(a), *cells)
                )
                both = jax.tree.map(lambda a, b: jnp.concatenate([a, b]), fit.models, initial)
                all_exps, all_div = _spectra(both, us, spectrum_steps, transient)
                m = len(combos)
                exps, div = np.asarray(all_exps[:m]), np.asarray(all_div[:m])
                initial = np.asarray(all_exps[m:])
                t2 = time.perf_counter()
                t_train += t1 - t0
                t_spec += t2 - t1
                tail = max(1, steps // 10)
                final = np.asarray(jnp.mean(fit.loss[:, -tail:], axis=1))
                for i, (g, lr, s) in enumerate(combos):
                    rows.append(
                        dict(
                            architecture=arch,
                            width=width,
                            gain=g,
                            learning_rate=lr,
                            seed=s,
                            state_dim=exps.shape[1],
                            accuracy=accuracy[i],
                            test_loss=float(fit.test_loss[i]),
                            final_loss=final[i],
                            diverged=int(div[i] >= 0),
                            lambda_max_initial=initial[i, 0],
                        )
                    )
                    spectra.append(exps[i])
                bar.advance(1)

    n_exp = max(len(s) for s in spectra)
    padded = np.full((len(spectra), n_exp), np.nan)
    for i, s in enumerate(spectra):
        padded[i, : len(s)] = s
    feats = spectrum_features(padded)
    per_net = {name: np.array([r[name] for r in rows]) for name in rows[0]}
    units = {"units": "per iteration"}
    described = {
        "architecture": {"long_name": "recurrent cell"},
        "width": {"long_name": "hidden units n"},
        "gain": {"long_name": "initial gain g of the recurrent weights"},
        "learning_rate": {"long_name": "Adam learning rate"},
        "seed": {"long_name": "seed of the initial weights and training data"},
        "state_dim": {"long_name": "dimension of the state (2n for an LSTM)"},
        "accuracy": {"long_name": f"test accuracy on {test_size} fresh sequences"},
        "test_loss": {"long_name": "logistic loss on the test sequences"},
        "final_loss": {"long_name": "mean training loss over the last tenth of the steps"},
        "diverged": {"long_name": "driven orbit left every bound (1) or not (0)"},
        "lambda_max_initial": {"long_name": "largest exponent before training", **units},
    }
    data: dict[str, Any] = {name: ("network", per_net[name], described[name]) for name in described}
    data["spectrum"] = (
        ("network", "exponent"),
        padded,
        {"long_name": "Lyapunov spectrum driven by the task's inputs", **units},
    )
    data["lambda_max"] = (
        "network",
        feats["lambda_max"],
        {"long_name": "largest exponent", **units},
    )
    data["lambda_mean"] = ("network", feats["lambda_mean"], {"long_name": "mean exponent", **units})
    data["ky_dimension"] = (
        "network",
        feats["ky_dimension"],
        {"long_name": "Kaplan-Yorke dimension"},
    )
    attrs = {
        "content": "trained recurrent networks and their Lyapunov spectra",
        "task": "delayed parity",
        "task_length": task.length,
        "task_delays": json.dumps(list(task.delays)),
        "task_noise": float(task.noise),
        "bayes_accuracy": task.bayes_accuracy,
        "steps": steps,
        "batch_size": batch_size,
        "test_size": test_size,
        "spectrum_steps": spectrum_steps,
        "transient": transient,
        "train_seconds": round(t_train, 3),
        "spectrum_seconds": round(t_spec, 3),
        "chaosjax_version": __version__,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    coords = {
        "network": np.arange(len(rows)),
        "exponent": ("exponent", np.arange(1, n_exp + 1), {"long_name": "index, descending"}),
    }
    return xr.Dataset(data, coords=coords, attrs=attrs)
