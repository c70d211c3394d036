"""Floating-point precision: chaosjax computes in float64, but leaves JAX's global
configuration to the user.

Chaotic dynamics amplify rounding errors exponentially, and reference Lyapunov
exponents are quoted to 4-5 digits, so chaosjax is written and tested in float64.
Importing chaosjax does not change JAX's configuration (as diffrax and equinox do not):
turn float64 on with `cj.enable_x64()` (or `jax.config.update("jax_enable_x64", True)`,
or the environment variable `JAX_ENABLE_X64=1`) before creating arrays. In float32
chaosjax still runs (on GPUs an ensemble may want it) but warns once, with a
`cj.PrecisionWarning`, the first time a system is prepared for an algorithm. The
command-line tools and the report turn float64 on themselves: they own their process.
"""

from __future__ import annotations

import warnings

import jax


class PrecisionWarning(UserWarning):
    """chaosjax is running in float32 (JAX's default), not the float64 it is tested in.

    Issued once per process, the first time a system is prepared for an algorithm with
    float64 off.

    Example:

    ```python
    import warnings
    warnings.simplefilter("ignore", cj.PrecisionWarning)   # float32 on purpose
    ```
    """


_warned = [False]


def enable_x64(enabled: bool = True) -> None:
    """Turn JAX's float64 mode on (or off): `jax.config.update("jax_enable_x64", enabled)`.

    Call it at the start of a program, before arrays are created: arrays made before
    keep their dtype. Importing chaosjax never changes this setting.

    **Arguments:**

    - `enabled`: True (default) for float64, False for JAX's float32 default.

    **Returns:**

    None.

    Example:

    ```python
    import chaosjax as cj
    cj.enable_x64()
    ```
    """
    jax.config.update("jax_enable_x64", bool(enabled))


def x64_enabled() -> bool:
    """Whether JAX is in float64 mode.

    **Returns:**

    `jax.config.read("jax_enable_x64")` as a bool.

    Example:

    ```python
    cj.enable_x64()
    cj.x64_enabled()          # True
    ```
    """
    return bool(jax.config.read("jax_enable_x64"))


def check_precision() -> None:
    """Warn once per process when float64 is off."""
    if _warned[0] or x64_enabled():
        return
    _warned[0] = True
    warnings.warn(
        "JAX is in float32 mode; chaosjax is written and tested in float64 (chaotic "
        "dynamics amplify rounding errors). Call cj.enable_x64() at the start of the "
        "program, or set JAX_ENABLE_X64=1, unless float32 is what you want.",
        PrecisionWarning,
        stacklevel=3,
    )
