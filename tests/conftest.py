import gc

import jax
import pytest

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_rank_promotion", "raise")
jax.config.update("jax_numpy_dtype_promotion", "strict")

import chaosjax  # noqa: E402,F401


@pytest.fixture(autouse=True, scope="module")
def _release_compiled_programs():
    """Drop JAX's compiled programs after each test module.

    Every compiled XLA program keeps memory mappings alive; one process running the whole
    suite otherwise passes the kernel's limit on mappings per process
    (`vm.max_map_count`, 65,530 by default) and the next compilation aborts.
    """
    yield
    jax.clear_caches()
    gc.collect()
