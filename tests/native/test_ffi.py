"""The generated kernels inside jit, vmap and grad: XLA custom calls (`jax.ffi`)."""

import logging
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import chaosjax as cj
from chaosjax.native import ffi

needs_gcc = pytest.mark.skipif(
    shutil.which("gcc") is None or shutil.which("g++") is None, reason="no gcc/g++"
)
lor = cj.systems.Lorenz63()
z = lambda x: x[2]  # noqa: E731


def hlo(fn, *args) -> str:
    return jax.jit(fn).lower(*args).as_text()


@needs_gcc
def test_jit_vmap_time_average_is_the_batched_kernel(xla_env):
    x0s = lor.sample_state(jax.random.key(0), 70)  # not a multiple of the tile

    def avg(x):
        return cj.time_average(lor, x, z, steps=200, dt=0.01, transient=10)

    text = hlo(jax.vmap(avg), x0s)
    assert "chaosjax_sum" in text and text.count("custom_call_target") <= 2
    eager = np.asarray(avg(x0s))
    np.testing.assert_array_equal(np.asarray(jax.jit(jax.vmap(avg))(x0s)), eager)
    np.testing.assert_array_equal(np.asarray(jax.jit(avg)(x0s)), eager)
    # Nested vmaps merge into one batch; the XLA kernels agree to rounding.
    nested = jax.jit(jax.vmap(jax.vmap(avg)))(x0s.reshape(7, 10, 3))
    np.testing.assert_array_equal(np.asarray(nested).reshape(70), eager)
    xla = xla_env(lambda: jax.jit(jax.vmap(avg))(x0s))
    np.testing.assert_allclose(eager, xla, rtol=1e-11)
    ens = cj.ensemble_time_average(lor, None, 70, z, steps=200, dt=0.01, x0=x0s, shard=False)
    assert ens.backend == "native"

    def ens_backend():
        return cj.ensemble_time_average(lor, None, 70, steps=20, dt=0.01, x0=x0s).backend

    assert xla_env(lambda: np.array(ens_backend() == "xla"))


@needs_gcc
def test_vmap_over_parameters_and_grad(xla_env, caplog):
    x0s = lor.sample_state(jax.random.key(1), 4)
    rhos = jnp.array([24.0, 28.0, 35.0])

    def avg(rho, x0s=x0s):
        return cj.time_average(cj.systems.Lorenz63(rho=rho), x0s, z, steps=50, dt=0.01).mean()

    # A vmapped parameter: the kernel reading one parameter vector per trajectory.
    assert "chaosjax_sum" in hlo(jax.vmap(avg), rhos)
    swept = np.asarray(jax.jit(jax.vmap(avg))(rhos))
    one_by_one = np.array([float(avg(r)) for r in rhos])
    np.testing.assert_allclose(swept, one_by_one, rtol=1e-13)
    # Parameter and state vmapped together, and nested: member by member the same.
    pairs = jax.jit(
        jax.vmap(lambda r, x: cj.time_average(cj.systems.Lorenz63(rho=r), x, z, steps=50, dt=0.01))
    )(rhos, x0s[:3])
    for i in range(3):
        ref = cj.time_average(
            cj.systems.Lorenz63(rho=rhos[i]), x0s[i : i + 1], z, steps=50, dt=0.01
        )
        np.testing.assert_allclose(float(pairs[i]), float(ref[0]), rtol=1e-13)
    nested = jax.jit(jax.vmap(jax.vmap(avg)))(jnp.stack([rhos, rhos + 1.0]))
    np.testing.assert_allclose(np.asarray(nested[0]), one_by_one, rtol=1e-13)
    ffi._grad_notice.cache_clear()
    with caplog.at_level(logging.WARNING, logger="chaosjax.native"):
        g = float(jax.grad(avg)(28.0))
        g2 = float(jax.grad(avg)(30.0))
    assert sum("derivatives" in r.message for r in caplog.records) == 1  # once
    g_xla = float(xla_env(lambda: jax.grad(avg)(28.0)))
    assert abs(g - g_xla) <= 1e-10 * max(1.0, abs(g_xla)) and np.isfinite(g2)


@needs_gcc
def test_spectrum_under_jit(xla_env):
    x0 = lor.default_state()

    def spec(x):
        return cj.lyapunov_spectrum(lor, x, 400, dt=0.01, transient=20, history=4)

    assert "chaosjax_spectrum" in hlo(lambda x: spec(x).exponents, x0)
    eager, traced = spec(x0), jax.jit(spec)(x0)
    assert eager.backend == traced.backend == "native"
    for a, b in zip(jax.tree.leaves(eager), jax.tree.leaves(traced), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-13, atol=1e-13)
    xla = xla_env(lambda: jax.jit(spec)(x0))
    np.testing.assert_allclose(np.asarray(traced.exponents), xla.exponents, rtol=1e-10)
    # Divergence flagged as the XLA kernel flags it under jit (the end of its row).
    log5 = cj.systems.Logistic(r=5.0)

    def bad(x):
        return cj.lyapunov_spectrum(log5, x, 40, history=8, throw=False).diverged_at

    x = jnp.array([0.9])
    assert int(jax.jit(bad)(x)) == int(xla_env(lambda: jax.jit(bad)(x))) > 0


@needs_gcc
def test_an_unregistered_kernel_is_an_error_not_a_call():
    assert ffi.available()
    X, A = jnp.zeros((3, 64)), jnp.zeros((1, 1))
    run = jax.jit(lambda X: ffi.sum_call("no-such-kernel", jnp.zeros(1), X, A, 5, 1)[0])
    with pytest.raises(Exception, match="not loaded in this process"):
        jax.block_until_ready(run(X))
