"""The generated-C path of batched time averages (`chaosjax.native`) against the XLA path."""

import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import chaosjax as cj
from chaosjax import native
from chaosjax.native import simulate as native_simulate

needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None, reason="no gcc")


@pytest.fixture
def c_calls(monkeypatch):
    """Counts the chunks the C path ran (a None return is the XLA fallback)."""
    calls = {"c": 0, "fallback": 0}
    real = native.iterate_and_sum

    def spy(*args, **kwargs):
        out = real(*args, **kwargs)
        calls["c" if out is not None else "fallback"] += 1
        return out

    monkeypatch.setattr(native, "iterate_and_sum", spy)
    return calls


def both(monkeypatch, fn):
    """fn() on the C path (default) and with CHAOSJAX_CGEN=0 (XLA)."""
    c = jax.tree.map(np.asarray, fn())
    monkeypatch.setenv("CHAOSJAX_CGEN", "0")
    xla = jax.tree.map(np.asarray, fn())
    monkeypatch.delenv("CHAOSJAX_CGEN")
    return c, xla


def close(a, b, rtol=1e-11):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_allclose(x, y, rtol=rtol, atol=rtol * (1 + np.abs(y).max()))


# (system, dt, observable, batch, steps): FMA contraction changes the last bit of a
# step, and chaos amplifies it, so each case runs only a few Lyapunov times (maps: a
# few dozen iterations) before the comparison at 1e-11.
CASES = [
    (cj.systems.Lorenz63(), 0.005, lambda x: x[2], 256, 200),
    (cj.systems.Rossler(), 0.01, lambda x: x[0] * x[1], 100, 200),  # not a multiple of 64
    (cj.systems.Lorenz96(n=8), 0.01, lambda x: jnp.mean(x**2), 70, 200),
    (cj.systems.Henon(), None, lambda x: x, 65, 20),
    (cj.systems.Thomas(), 0.05, lambda x: jnp.tanh(x[0]) + jnp.sin(x[1]), 129, 200),
    (
        cj.systems.RNN.random(jax.random.key(3), 6, g=1.5),
        None,
        lambda x: jnp.maximum(x, 0.0) ** 3,
        5,
        20,
    ),
]


@needs_gcc
@pytest.mark.parametrize("system, dt, obs, n, steps", CASES, ids=lambda c: getattr(c, "name", None))
def test_c_path_equals_xla_path(monkeypatch, c_calls, system, dt, obs, n, steps):
    x0s = system.sample_state(jax.random.key(1), n)
    x0s = cj.final_state(system, x0s, steps=50, dt=dt)

    def run():
        return cj.time_average(
            system, x0s, obs, steps=steps, dt=dt, transient=2, chunk_size=steps * 3 // 5
        )

    c, xla = both(monkeypatch, run)
    assert c_calls["c"] == 2 and c_calls["fallback"] == 2  # 2 chunks each way
    close(c, xla)
    assert isinstance(
        jax.tree.leaves(cj.time_average(system, x0s, obs, steps=3, dt=dt))[0], jax.Array
    )


@needs_gcc
def test_default_and_pytree_observables(monkeypatch, c_calls):
    lor = cj.systems.Lorenz63(rho=35.0)  # parameters are inputs, not compiled in
    x0s = lor.sample_state(jax.random.key(2), 33)
    c, xla = both(monkeypatch, lambda: cj.time_average(lor, x0s, steps=300, dt=0.01))
    assert c_calls["c"] == 1
    close(c, xla)
    ta = getattr(cj.time_average, "__wrapped__", cj.time_average)  # pytest's type checks

    def tree(x):
        return {"z": x[2], "xy": jnp.stack([x[0] * x[1], jnp.abs(x[1])])}

    c, xla = both(monkeypatch, lambda: ta(lor, x0s, tree, steps=300, dt=0.01))
    assert c_calls["c"] == 2 and c["xy"].shape == (33, 2)
    close(c, xla)


@needs_gcc
def test_fallbacks_give_the_xla_result(monkeypatch, c_calls):
    lor = cj.systems.Lorenz63()
    x0s = lor.sample_state(jax.random.key(0), 40)
    ref, _ = both(
        monkeypatch, lambda: cj.time_average(lor, x0s, lambda x: x[2], steps=100, dt=0.01)
    )
    calls = c_calls["c"]
    # Traced (inside jit): the kernel as an XLA custom call (tests/native/test_ffi.py).
    traced = jax.jit(lambda x: cj.time_average(lor, x, lambda y: y[2], steps=100, dt=0.01))
    close(np.asarray(traced(x0s)), ref)
    calls += 1
    # An unsupported primitive (sort): the XLA path.
    srt = cj.time_average(lor, x0s, lambda x: jnp.sort(x)[-1], steps=100, dt=0.01)
    monkeypatch.setenv("CHAOSJAX_CGEN", "0")
    srt_xla = cj.time_average(lor, x0s, lambda x: jnp.sort(x)[-1], steps=100, dt=0.01)
    monkeypatch.delenv("CHAOSJAX_CGEN")
    close(np.asarray(srt), np.asarray(srt_xla), rtol=1e-12)
    assert c_calls["c"] == calls and c_calls["fallback"] >= 1
    # Gradients with respect to parameters: the derivative on the XLA path.
    g = jax.grad(
        lambda r: cj.time_average(
            cj.systems.Lorenz63(rho=r), x0s, lambda x: x[2], steps=20, dt=0.01
        ).mean()
    )(28.0)
    assert np.isfinite(float(g))


@needs_gcc
def test_missing_compiler_falls_back(monkeypatch, c_calls):
    monkeypatch.setenv("CC", "/nonexistent/cc-for-chaosjax-tests")
    monkeypatch.setattr(native_simulate, "_kernels", {})
    lor = cj.systems.Lorenz63()
    x0s = lor.sample_state(jax.random.key(0), 16)
    monkeypatch.setattr(native.compile, "_warned", set())
    monkeypatch.setattr(native.compile, "_no_compiler", set())
    with pytest.warns(native.NativeWarning, match="no C compiler"):
        out = cj.time_average(lor, x0s, lambda x: x[0] - 1.0, steps=50, dt=0.01)
    assert c_calls["c"] == 0 and c_calls["fallback"] == 1
    monkeypatch.setenv("CHAOSJAX_CGEN", "0")
    close(
        np.asarray(out),
        np.asarray(cj.time_average(lor, x0s, lambda x: x[0] - 1.0, steps=50, dt=0.01)),
    )


@needs_gcc
def test_divergence_named_at_its_step(c_calls):
    log5 = cj.systems.Logistic(r=5.0)
    xs = cj.trajectory(log5, jnp.array([2.0]), steps=12, throw=False)
    first_bad = int(np.argmax(~np.isfinite(np.asarray(xs[:, 0]))))
    x0s = jnp.array([[0.0]] * 70 + [[2.0]] + [[0.0]] * 3)  # 0 is a fixed point
    # Diverges after the transient (steps count from x0), then within it.
    for transient in (first_bad - 3, first_bad + 3):
        with pytest.raises(
            cj.DivergenceError, match=f"member 70 became non-finite at step {first_bad} "
        ) as info:
            cj.time_average(log5, x0s, steps=30, transient=transient)
        assert info.value.step == first_bad and info.value.member == 70
    with pytest.raises(cj.DivergenceError, match=f"step {first_bad}"):
        cj.time_average(log5, x0s, steps=30, chunk_size=4)
    assert c_calls["c"] >= 1
    nan = cj.time_average(log5, x0s, steps=30, throw=False)
    assert not np.isfinite(np.asarray(nan)[70]) and np.isfinite(np.asarray(nan)[:70]).all()
