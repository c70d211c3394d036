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
node = cj.learn.fit_neural_ode(xs, dt=0.01, key=jax.random.key(1)).model   # a cj.Flow
```

`cj.learn.fit` is the one training loop (optax): restarts, stages such as Adam then
L-BFGS, early stopping and checkpoints from which a killed run resumes bit for bit.
"""

from .checkpoint import load as load
from .checkpoint import save as save
from .data import DelayPairs as DelayPairs
from .data import Normalizer as Normalizer
from .data import dataset as dataset
from .data import delay_embed as delay_embed
from .data import delay_pairs as delay_pairs
from .data import subset as subset
from .derivatives import AbstractDerivative as AbstractDerivative
from .derivatives import FiniteDifference as FiniteDifference
from .derivatives import SavitzkyGolay as SavitzkyGolay
from .derivatives import Spline as Spline
from .derivatives import derivative as derivative
from .derivatives import state_derivative_pairs as state_derivative_pairs
from .linear import fit_linear_flow as fit_linear_flow
from .neural_ode import MLP as MLP
from .neural_ode import NeuralODE as NeuralODE
from .neural_ode import NeuralODEResult as NeuralODEResult
from .neural_ode import fit_neural_ode as fit_neural_ode
from .neural_ode import shooting_loss as shooting_loss
from .optimizers import LBFGS as LBFGS
from .optimizers import AbstractOptimizer as AbstractOptimizer
from .optimizers import Adam as Adam
from .optimizers import AdamW as AdamW
from .optimizers import Optax as Optax
from .optimizers import Stage as Stage
from .sindy import AbstractLibrary as AbstractLibrary
from .sindy import ConcatLibrary as ConcatLibrary
from .sindy import FourierLibrary as FourierLibrary
from .sindy import PolynomialLibrary as PolynomialLibrary
from .sindy import SINDyFlow as SINDyFlow
from .sindy import STLSQResult as STLSQResult
from .sindy import fit_sindy as fit_sindy
from .sindy import stlsq as stlsq
from .train import FitResult as FitResult
from .train import History as History
from .train import default_trainable as default_trainable
from .train import fit as fit

__all__ = [
    "AbstractDerivative",
    "AbstractLibrary",
    "AbstractOptimizer",
    "Adam",
    "AdamW",
    "ConcatLibrary",
    "DelayPairs",
    "FiniteDifference",
    "FitResult",
    "FourierLibrary",
    "History",
    "LBFGS",
    "MLP",
    "NeuralODE",
    "NeuralODEResult",
    "Normalizer",
    "Optax",
    "PolynomialLibrary",
    "SINDyFlow",
    "STLSQResult",
    "SavitzkyGolay",
    "Spline",
    "Stage",
    "dataset",
    "default_trainable",
    "delay_embed",
    "delay_pairs",
    "derivative",
    "fit",
    "fit_linear_flow",
    "fit_neural_ode",
    "fit_sindy",
    "load",
    "save",
    "shooting_loss",
    "state_derivative_pairs",
    "stlsq",
    "subset",
]
