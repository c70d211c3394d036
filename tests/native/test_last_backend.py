"""`cj.simulate.last_backend()`: which backend computed the last time average."""

from __future__ import annotations

import shutil

import jax
import jax.numpy as jnp
import pytest

import chaosjax as cj

needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None, reason="no gcc")


def _z(x):
    return x[2]


@needs_gcc
def test_last_backend_names_the_kernel_that_ran(monkeypatch):
    lor = cj.systems.Lorenz63()
    x0s = lor.sample_state(jax.random.key(0), 8)
    native = cj.time_average(lor, x0s, _z, steps=20, dt=0.01)
    assert cj.simulate.last_backend() == "native"
    ens = cj.ensemble_time_average(lor, None, 8, _z, steps=20, dt=0.01, x0=x0s)
    assert ens.backend == cj.simulate.last_backend() == "native"
    # Under jit the backend is decided when tracing: the custom call here.
    f = jax.jit(jax.vmap(lambda x: cj.time_average(lor, x, _z, steps=20, dt=0.01)))
    f(x0s)
    assert cj.simulate.last_backend() == "native"
    monkeypatch.setenv("CHAOSJAX_CGEN", "0")
    xla = cj.time_average(lor, x0s, _z, steps=20, dt=0.01)
    assert cj.simulate.last_backend() == "xla"
    assert jnp.max(jnp.abs(native - xla)) < 1e-12
    f(x0s)  # compiled already: no trace, so the record is unchanged
    assert cj.simulate.last_backend() == "xla"
