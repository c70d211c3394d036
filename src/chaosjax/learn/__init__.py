"""Learning dynamics from data: every fitted model is a `cj.Map` or `cj.Flow`, so every
analysis of chaosjax applies to it unchanged.

```python
import jax
import chaosjax as cj
cj.enable_x64()
ds = cj.learn.dataset(cj.systems.Lorenz63(), 20, 2_000, dt=0.01, key=jax.random.key(0))
xs = cj.learn.subset(ds, "train").states.values[0]
model = cj.learn.fit_sindy(xs, dt=0.01)            # a cj.Flow
flow = cj.learn.fit_linear_flow(xs, dt=0.01)       # a cj.systems.LinearFlow
dh = cj.systems.DelayedHenon(d=4)
series = cj.trajectory(dh, dh.default_state(), steps=511, transient=1_000)[:, 0]
net = cj.learn.fit_delay_mlp(series, lags=5, hidden=4, key=jax.random.key(0)).model
cj.lag_sensitivities(net, net.default_state(), 5_000)   # a delay map, a cj.Map
node = cj.learn.fit_neural_ode(xs, dt=0.01, key=jax.random.key(1)).model   # a cj.Flow
esn = cj.learn.fit_esn(xs, dt=0.01, key=jax.random.key(2), n=200).model  # a cj.Map
ngrc = cj.learn.fit_ngrc(xs, dt=0.01, lags=2).model                      # a cj.Map
```

A causal transformer learns trajectories tokenised on a grid (`GridTokenizer`,
`fit_transformer`, `generate` with a key-value cache), and the trained model is a
`cj.Map` on token histories (`TokenMap`).

Recurrent networks trained on a sequence task are input-driven maps too
(`fit_classifiers`, `rnn_lyapunov_grid`), and AeLLE (`fit_aelle`,
`cross_validate_aelle`) asks whether their Lyapunov spectra predict their accuracy.

`cj.learn.fit` is the one training loop (optax): restarts, stages such as Adam then
L-BFGS, early stopping and checkpoints from which a killed run resumes bit for bit.
Reservoir models (`fit_esn`, `fit_ngrc`) are fitted in closed form (ridge regression)
and run closed-loop; their hidden state relates to the observations through
`observe`, `synchronise` and `history_length`.
"""

from ._reservoir import SearchResult as SearchResult
from .aelle import AeLLE as AeLLE
from .aelle import AeLLEComparison as AeLLEComparison
from .aelle import AeLLEFit as AeLLEFit
from .aelle import cross_validate_aelle as cross_validate_aelle
from .aelle import fit_aelle as fit_aelle
from .aelle import fixed_length as fixed_length
from .anneal import Annealing as Annealing
from .anneal import AnnealResult as AnnealResult
from .anneal import anneal as anneal
from .checkpoint import load as load
from .checkpoint import save as save
from .data import DelayPairs as DelayPairs
from .data import Normalizer as Normalizer
from .data import dataset as dataset
from .data import delay_embed as delay_embed
from .data import delay_pairs as delay_pairs
from .data import subset as subset
from .delay_mlp import AbstractSelection as AbstractSelection
from .delay_mlp import DelayMLP as DelayMLP
from .delay_mlp import DelayMLPFit as DelayMLPFit
from .delay_mlp import LowestNMSE as LowestNMSE
from .delay_mlp import Parsimonious as Parsimonious
from .delay_mlp import fit_delay_mlp as fit_delay_mlp
from .derivatives import AbstractDerivative as AbstractDerivative
from .derivatives import FiniteDifference as FiniteDifference
from .derivatives import SavitzkyGolay as SavitzkyGolay
from .derivatives import Spline as Spline
from .derivatives import derivative as derivative
from .derivatives import state_derivative_pairs as state_derivative_pairs
from .esn import EchoStateNetwork as EchoStateNetwork
from .esn import ESNFit as ESNFit
from .esn import SparseMatrix as SparseMatrix
from .esn import fit_esn as fit_esn
from .evaluate import Verdict as Verdict
from .evaluate import evaluate as evaluate
from .evaluate import verdict_table as verdict_table
from .linear import fit_linear_flow as fit_linear_flow
from .neural_ode import MLP as MLP
from .neural_ode import NeuralODE as NeuralODE
from .neural_ode import NeuralODEResult as NeuralODEResult
from .neural_ode import fit_neural_ode as fit_neural_ode
from .neural_ode import shooting_loss as shooting_loss
from .ngrc import NGRC as NGRC
from .ngrc import NGRCFit as NGRCFit
from .ngrc import fit_ngrc as fit_ngrc
from .omega_limit import LossLandscape as LossLandscape
from .omega_limit import OmegaLimitFit as OmegaLimitFit
from .omega_limit import PowerLawFit as PowerLawFit
from .omega_limit import fit_omega_limit as fit_omega_limit
from .omega_limit import loss_landscape as loss_landscape
from .omega_limit import omega_limit as omega_limit
from .omega_limit import omega_limit_loss as omega_limit_loss
from .omega_limit import power_law_fit as power_law_fit
from .optimizers import LBFGS as LBFGS
from .optimizers import AbstractOptimizer as AbstractOptimizer
from .optimizers import Adam as Adam
from .optimizers import AdamW as AdamW
from .optimizers import Optax as Optax
from .optimizers import Stage as Stage
from .rings import RingClassifier as RingClassifier
from .rings import RingClassifierFit as RingClassifierFit
from .rings import decision_boundary_preimage as decision_boundary_preimage
from .rings import fit_ring_classifier as fit_ring_classifier
from .rings import inner_region_is_bounded as inner_region_is_bounded
from .rings import nested_rings as nested_rings
from .rnn_grid import rnn_lyapunov_grid as rnn_lyapunov_grid
from .rnn_grid import spectrum_features as spectrum_features
from .rnn_task import ClassifierFit as ClassifierFit
from .rnn_task import DelayedParity as DelayedParity
from .rnn_task import RecurrentClassifier as RecurrentClassifier
from .rnn_task import fit_classifiers as fit_classifiers
from .sindy import AbstractLibrary as AbstractLibrary
from .sindy import ConcatLibrary as ConcatLibrary
from .sindy import FourierLibrary as FourierLibrary
from .sindy import PolynomialLibrary as PolynomialLibrary
from .sindy import SINDyFlow as SINDyFlow
from .sindy import STLSQResult as STLSQResult
from .sindy import fit_sindy as fit_sindy
from .sindy import stlsq as stlsq
from .svr import RBFExpansion as RBFExpansion
from .svr import SVRFit as SVRFit
from .svr import SVRMap as SVRMap
from .svr import fit_svr as fit_svr
from .token_verdict import TokenVerdict as TokenVerdict
from .token_verdict import token_verdict as token_verdict
from .tokenize import GridTokenizer as GridTokenizer
from .train import FitResult as FitResult
from .train import History as History
from .train import default_trainable as default_trainable
from .train import fit as fit
from .transformer import TokenMap as TokenMap
from .transformer import Transformer as Transformer
from .transformer import TransformerConfig as TransformerConfig
from .transformer import TransformerFit as TransformerFit
from .transformer import fit_transformer as fit_transformer
from .transformer import generate as generate

__all__ = [
    "LossLandscape",
    "OmegaLimitFit",
    "PowerLawFit",
    "fit_omega_limit",
    "loss_landscape",
    "omega_limit",
    "omega_limit_loss",
    "power_law_fit",
    "RingClassifier",
    "RingClassifierFit",
    "decision_boundary_preimage",
    "fit_ring_classifier",
    "inner_region_is_bounded",
    "nested_rings",
    "AbstractDerivative",
    "AeLLE",
    "AeLLEComparison",
    "AeLLEFit",
    "ClassifierFit",
    "DelayedParity",
    "RecurrentClassifier",
    "cross_validate_aelle",
    "fit_aelle",
    "fit_classifiers",
    "fixed_length",
    "rnn_lyapunov_grid",
    "spectrum_features",
    "AbstractLibrary",
    "AbstractOptimizer",
    "AbstractSelection",
    "Adam",
    "AdamW",
    "AnnealResult",
    "Annealing",
    "ConcatLibrary",
    "DelayMLP",
    "DelayMLPFit",
    "DelayPairs",
    "ESNFit",
    "EchoStateNetwork",
    "FiniteDifference",
    "FitResult",
    "FourierLibrary",
    "GridTokenizer",
    "History",
    "LBFGS",
    "LowestNMSE",
    "MLP",
    "NGRC",
    "NGRCFit",
    "NeuralODE",
    "NeuralODEResult",
    "Normalizer",
    "Optax",
    "Parsimonious",
    "PolynomialLibrary",
    "SINDyFlow",
    "STLSQResult",
    "RBFExpansion",
    "SVRFit",
    "SVRMap",
    "SavitzkyGolay",
    "SearchResult",
    "SparseMatrix",
    "Spline",
    "Stage",
    "TokenMap",
    "TokenVerdict",
    "Transformer",
    "TransformerConfig",
    "TransformerFit",
    "Verdict",
    "anneal",
    "dataset",
    "default_trainable",
    "evaluate",
    "delay_embed",
    "delay_pairs",
    "derivative",
    "fit",
    "fit_delay_mlp",
    "fit_esn",
    "fit_linear_flow",
    "fit_neural_ode",
    "fit_ngrc",
    "fit_sindy",
    "fit_svr",
    "fit_transformer",
    "generate",
    "load",
    "save",
    "shooting_loss",
    "state_derivative_pairs",
    "stlsq",
    "subset",
    "token_verdict",
    "verdict_table",
]
