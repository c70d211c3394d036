"""Learning dynamics from data: every fitted model is a `cj.Map` or `cj.Flow`.

```python
ds = cj.learn.dataset(cj.systems.Lorenz63(), 20, 2_000, dt=0.01, key=jax.random.key(0))
res = cj.learn.fit(init, loss, data, key=jax.random.key(1), stages=[("adam", 2000),
                   ("lbfgs", 200)], restarts=10, checkpoint="fit.ckpt")
cj.learn.save(res.model, "model.eqx"); model = cj.learn.load("model.eqx")
```
"""

from .checkpoint import load as load
from .checkpoint import save as save
from .data import DelayPairs as DelayPairs
from .data import Normalizer as Normalizer
from .data import dataset as dataset
from .data import delay_embed as delay_embed
from .data import delay_pairs as delay_pairs
from .data import subset as subset
from .optimizers import LBFGS as LBFGS
from .optimizers import AbstractOptimizer as AbstractOptimizer
from .optimizers import Adam as Adam
from .optimizers import AdamW as AdamW
from .optimizers import Optax as Optax
from .optimizers import Stage as Stage
from .train import FitResult as FitResult
from .train import History as History
from .train import default_trainable as default_trainable
from .train import fit as fit
