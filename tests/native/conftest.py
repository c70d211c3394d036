"""What the native tests share: a call with the XLA kernels only."""

import jax
import numpy as np
import pytest


@pytest.fixture
def xla_env(monkeypatch):
    """`run(fn)`: fn() with CHAOSJAX_CGEN=0 (the XLA kernels, also when traced), as NumPy."""

    def run(fn):
        monkeypatch.setenv("CHAOSJAX_CGEN", "0")
        try:
            return jax.tree.map(np.asarray, fn())
        finally:
            monkeypatch.delenv("CHAOSJAX_CGEN")

    return run
