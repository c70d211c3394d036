"""Numerical configuration applied when chaosjax is imported.

chaosjax works in float64: chaotic dynamics amplify rounding errors
exponentially, and reference Lyapunov exponents are quoted to 4-5 digits.
`jax_enable_x64` is switched on at import unless the environment variable
`CHAOSJAX_X64` is set to `0` (or `false`/`no`/`off`).
"""

import os

import jax


def x64_requested() -> bool:
    return os.environ.get("CHAOSJAX_X64", "1").strip().lower() not in {"0", "false", "no", "off"}


if x64_requested():
    jax.config.update("jax_enable_x64", True)
