import os

os.environ.setdefault("CHAOSJAX_X64", "1")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_rank_promotion", "raise")

import chaosjax  # noqa: E402,F401
