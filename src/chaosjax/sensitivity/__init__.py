"""Sensitivities: autodiff through trajectories, least-squares shadowing, lag space.

- `finite_time_gradient`: d/dp of a finite-time average by forward or reverse mode
  autodiff through the simulation (`ForwardMode`, `ReverseMode`; exact, but exploding
  for chaotic systems).
- `sensitivity_blowup_table`: the table of that explosion over horizons, as in the blog
  post "Chaotic Dynamical Systems Using JAX" (UW PLSE, 2026,
  https://uwplse.org/2026/06/16/jax.html), whose numbers are `PUBLISHED_BLOWUP_TABLE`.
- `shadowing_sensitivity`: `d<S>/dp` of the long-time average by a method given as an
  object with its options: least-squares shadowing (`LSS`, Wang 2014), non-intrusive
  LSS (`NILSS`, Ni & Wang 2017), or the whole linear response by space-split
  sensitivity (`S3`, Chandramoorthy & Wang 2022; one unstable direction). A new method
  subclasses `AbstractSensitivityMethod` (see src/chaosjax/sensitivity/README.md).
- `lag_sensitivities`: S(j) = mean |dx_n/dx_{n-j}| of delay maps and learned
  models, the lag space and the embedding dimension (Maus & Sprott 2011).
"""

from .blowup import PUBLISHED_BLOWUP_TABLE as PUBLISHED_BLOWUP_TABLE
from .blowup import BlowupTable as BlowupTable
from .blowup import sensitivity_blowup_table as sensitivity_blowup_table
from .finite_time import AbstractGradientMode as AbstractGradientMode
from .finite_time import FiniteTimeGradient as FiniteTimeGradient
from .finite_time import ForwardMode as ForwardMode
from .finite_time import ReverseMode as ReverseMode
from .finite_time import finite_time_gradient as finite_time_gradient
from .lag import LagSensitivities as LagSensitivities
from .lag import lag_sensitivities as lag_sensitivities
from .linear_response import S3 as S3
from .lss import LSS as LSS
from .method import AbstractSensitivityMethod as AbstractSensitivityMethod
from .method import WindowEstimates as WindowEstimates
from .method import Windows as Windows
from .nilss import NILSS as NILSS
from .shadowing import ShadowingSensitivity as ShadowingSensitivity
from .shadowing import shadowing_sensitivity as shadowing_sensitivity

__all__ = [
    "LSS",
    "NILSS",
    "PUBLISHED_BLOWUP_TABLE",
    "S3",
    "AbstractGradientMode",
    "AbstractSensitivityMethod",
    "BlowupTable",
    "FiniteTimeGradient",
    "ForwardMode",
    "LagSensitivities",
    "ReverseMode",
    "ShadowingSensitivity",
    "WindowEstimates",
    "Windows",
    "finite_time_gradient",
    "lag_sensitivities",
    "sensitivity_blowup_table",
    "shadowing_sensitivity",
]
