"""Sharding over devices: runs in a fresh process with 4 virtual CPU devices (the
device count must be fixed before JAX starts its backend)."""

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import chaosjax as cj
    cj.enable_x64()
    cj.use_all_cpu_cores(4)
    import jax, jax.numpy as jnp, numpy as np
    assert len(jax.devices()) == 4, jax.devices()
    lor = cj.systems.Lorenz63()
    key = jax.random.key(3)
    kw = dict(steps=400, dt=0.01, transient=100)
    sharded = cj.ensemble_time_average(lor, key, 64, lambda x: x[2], shard=True, **kw)
    plain = cj.ensemble_time_average(lor, key, 64, lambda x: x[2], shard=False, **kw)
    assert len(sharded.values.sharding.device_set) == 4, sharded.values.sharding
    np.testing.assert_allclose(np.asarray(sharded.values), np.asarray(plain.values),
                               rtol=1e-12, atol=1e-12)
    rhos = jnp.linspace(20.0, 30.0, 8)
    x0 = lor.default_state()
    f = lambda r: cj.time_average(cj.systems.Lorenz63(rho=r), x0, lambda x: x[2], steps=200,
                                  dt=0.01)
    sweep = cj.parallel.sharded_vmap(f, rhos)
    assert len(sweep.sharding.device_set) == 4
    np.testing.assert_allclose(np.asarray(sweep), np.asarray(jax.vmap(f)(rhos)), rtol=1e-12)
    print("OK", len(jax.devices()))
    """
)


def test_sharded_ensemble_on_four_cpu_devices_equals_unsharded():
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "OK 4" in out.stdout


def test_use_all_cpu_cores_after_backend_start_says_so():
    import jax
    import pytest

    import chaosjax as cj

    n = len(jax.devices("cpu"))
    assert cj.use_all_cpu_cores(n) == n  # same count: fine
    with pytest.raises(RuntimeError, match="before JAX is first used"):
        cj.use_all_cpu_cores(n + 3)
