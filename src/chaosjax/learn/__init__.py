"""Learning dynamics from data; every fitted model is a `cj.Map` or `cj.Flow`.

```python
import chaosjax as cj
model = cj.learn.fit_sindy(xs, dt=0.002)          # a cj.Flow
flow = cj.learn.fit_linear_flow(xs, dt=0.1)       # a cj.systems.LinearFlow
```
"""

from .derivatives import AbstractDerivative as AbstractDerivative
from .derivatives import FiniteDifference as FiniteDifference
from .derivatives import SavitzkyGolay as SavitzkyGolay
from .derivatives import Spline as Spline
from .derivatives import derivative as derivative
from .derivatives import state_derivative_pairs as state_derivative_pairs
from .linear import fit_linear_flow as fit_linear_flow
from .sindy import AbstractLibrary as AbstractLibrary
from .sindy import ConcatLibrary as ConcatLibrary
from .sindy import FourierLibrary as FourierLibrary
from .sindy import PolynomialLibrary as PolynomialLibrary
from .sindy import SINDyFlow as SINDyFlow
from .sindy import STLSQResult as STLSQResult
from .sindy import fit_sindy as fit_sindy
from .sindy import stlsq as stlsq
