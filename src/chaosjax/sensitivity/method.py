"""What a method of `shadowing_sensitivity` is: the abstract base class its options live on,
the windows it is handed and the estimates it returns.

`shadowing_sensitivity` does what every method shares: it checks the arguments, builds
the one-step map, runs the transient and cuts the orbit into windows. It then hands the
window starts to `method.estimate`. A method is an `AbstractSensitivityMethod`: its
options are fields, checked in `__check_init__`, and `estimate` returns one estimate of
`d<S>/dp` per window (`LSS`, `NILSS`, `S3`).
"""

import abc
from collections.abc import Callable
from typing import TYPE_CHECKING

import equinox as eqx
import numpy as np
from jaxtyping import Array, Float

from .._results import Result
from ..lyapunov import lyapunov_spectrum
from ..systems import Map

# Type checkers know ClassVar, not equinox's run-time check that subclasses set it (which
# needs the annotation evaluated: no `from __future__ import annotations` in this module).
if TYPE_CHECKING:
    from typing import ClassVar as AbstractClassVar
else:
    from equinox import AbstractClassVar


class Windows(eqx.Module):
    """The windows of an orbit that a method estimates on (built by `shadowing_sensitivity`).

    - `m`: the one-step map (a flow discretised with its `dt` and solver, or the map).
    - `get`: `m -> p`, the scalar parameter differentiated.
    - `obs`: the observable S, a state (dim,) -> 0-d array of the state's dtype.
    - `starts`: (windows, dim), the first state of every window.
    - `steps_per_window`: each window's length in steps.
    - `steps`, `segments`: the caller's arguments, for error messages.
    - `is_flow`: whether the system is a flow (its neutral exponent is not unstable).
    """

    m: Map
    get: Callable
    obs: Callable
    starts: Float[Array, "windows dim"]
    steps_per_window: int = eqx.field(static=True)
    steps: int = eqx.field(static=True)
    segments: int = eqx.field(static=True)
    is_flow: bool = eqx.field(static=True)


class WindowEstimates(Result):
    """What a method returns: one estimate per window, and what it chose on the way.

    - `estimates`: (windows,), `d<S>/dp` of each window.
    - `averages`: (windows,), `<S>` over each window.
    - `steps_per_window`: the steps each estimate used (NILSS drops a partial segment).
    - `num_unstable`: the number of unstable tangent directions used, or None.
    - `alpha`: the time-dilation weight used (LSS on flows), or None.
    - `parts`: (3,), the window means of S3's three contributions, or None.
    """

    estimates: Float[Array, " windows"]
    averages: Float[Array, " windows"]
    steps_per_window: int = eqx.field(static=True)
    num_unstable: int | None = eqx.field(static=True, default=None)
    alpha: float | None = eqx.field(static=True, default=None)
    parts: Float[Array, "3"] | None = None


class AbstractSensitivityMethod(eqx.Module):
    """A method of `cj.shadowing_sensitivity`: `cj.LSS()`, `cj.NILSS()` or `cj.S3()`.

    Subclasses hold their options as fields, check them in `__check_init__` (a
    `ValueError` naming the option), and implement `check_steps` and `estimate`.
    `name` is the string the result reports (`ShadowingSensitivity.method`).
    """

    name: AbstractClassVar[str]

    @abc.abstractmethod
    def check_steps(self, steps: int, segments: int) -> None:
        """Raise a `ValueError` naming `steps` when windows of steps // segments steps are
        too short for this method, as far as that is known before the orbit is computed."""

    @abc.abstractmethod
    def estimate(self, windows: Windows) -> WindowEstimates:
        """One estimate of `d<S>/dp` (and of `<S>`) per window of `windows`."""


def count_unstable(m: Map, x: Array, steps: int, is_flow: bool) -> tuple[int, float]:
    """(number of positive Lyapunov exponents, largest exponent per step) along an orbit,
    from `cj.lyapunov_spectrum` (QR every 5 steps) on the one-step map.

    For a flow the exponent closest to zero is the neutral direction f, not counted.
    """
    res = lyapunov_spectrum(m, x, steps=max(5, steps), qr_every=5)
    lam = np.sort(np.asarray(res.exponents) * float(m.time_per_step))[::-1]
    if is_flow and lam.size > 1:
        lam = np.delete(lam, int(np.argmin(np.abs(lam))))
    return int(np.sum(lam > 0)), float(lam[0])
