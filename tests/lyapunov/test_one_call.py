"""An eager spectrum of a short run is one compiled call: the same bits as the call inside
`jax.jit`, the checks of a repeated call kept, divergence still located exactly."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import chaosjax as cj
from chaosjax.lyapunov import spectrum as S

FIELDS = ("exponents", "history", "history_steps", "diverged_at", "final_state", "basis")


def _equal(a, b):
    for f in FIELDS:
        np.testing.assert_array_equal(np.asarray(getattr(a, f)), np.asarray(getattr(b, f)), f)
    assert a.backend == b.backend and a.steps == b.steps


@pytest.mark.parametrize("k", [None, 1])
def test_eager_equals_jit_bit_for_bit(k):
    lor = cj.systems.Lorenz63()
    x0 = lor.default_state()
    kw = dict(steps=1500, dt=0.01, transient=10, history=9, k=k)
    eager = cj.lyapunov_spectrum(lor, x0, **kw)
    jitted = jax.jit(lambda x: cj.lyapunov_spectrum(lor, x, **kw))(x0)
    _equal(eager, jitted)
    # Again with another state: the checked settings are reused, the result is that
    # state's, as from a fresh system object (nothing reused).
    x1 = x0 + 0.5
    again = cj.lyapunov_spectrum(lor, x1, **kw)
    fresh = cj.lyapunov_spectrum(cj.systems.Lorenz63(), np.asarray(x1), **kw)
    _equal(again, fresh)
    assert not np.array_equal(np.asarray(again.exponents), np.asarray(eager.exponents))


def test_repeated_call_still_checks_the_state():
    hen = cj.systems.Henon()
    cj.lyapunov_spectrum(hen, jnp.zeros(2), steps=300)
    with pytest.raises(ValueError, match="x0"):
        cj.lyapunov_spectrum(hen, jnp.zeros(3), steps=300)
    with pytest.raises(ValueError, match="x0"):
        cj.lyapunov_spectrum(hen, jnp.array([0.0, np.nan]), steps=300)


def test_divergence_after_a_cached_call_is_located_exactly(monkeypatch):
    hen = cj.systems.Henon()
    cj.lyapunov_spectrum(hen, jnp.zeros(2), steps=300)
    x = jnp.array([2.0, 2.0])  # escapes to infinity
    with pytest.raises(cj.DivergenceError) as err:
        cj.lyapunov_spectrum(hen, x, steps=300)
    part = cj.lyapunov_spectrum(hen, x, steps=300, throw=False)
    monkeypatch.setenv("CHAOSJAX_CGEN", "0")  # the XLA kernel, step by step
    xla = cj.lyapunov_spectrum(cj.systems.Henon(), x, steps=300, throw=False)
    assert err.value.step == int(part.diverged_at) == int(xla.diverged_at) > 0


def test_long_runs_are_not_one_call(monkeypatch):
    """Beyond one call's work the run goes step by step (Ctrl-C lands between calls)."""
    monkeypatch.setattr(S, "_ONE_CALL_WORK", 100)
    S._one_calls.clear()  # (other tests' runs of 400 steps)
    hen = cj.systems.Henon()
    res = cj.lyapunov_spectrum(hen, jnp.array([0.1, 0.0]), steps=400)
    assert all(fn is False for key, fn in S._one_calls.items() if key[4] == 400)
    np.testing.assert_allclose(np.asarray(res.exponents), [0.42, -1.62], atol=0.08)


def test_under_disable_jit_the_run_goes_step_by_step():
    hen = cj.systems.Henon()
    S._one_calls.clear()
    with jax.disable_jit():
        res = cj.lyapunov_spectrum(hen, jnp.zeros(2), steps=100)
    assert not S._one_calls and isinstance(res.exponents, jax.Array)
    # (the C loop's results finished in NumPy: the same to rounding)
    want = cj.lyapunov_spectrum(hen, jnp.zeros(2), steps=100)
    np.testing.assert_allclose(np.asarray(res.exponents), np.asarray(want.exponents), rtol=1e-14)


@pytest.mark.parametrize("dim, k", [(3, 1), (3, 2), (6, 4), (2, 1)])
def test_default_basis_is_a_constant_with_the_sampled_bits(dim, k):
    # The default starting basis (key None, k < dim) is made once, eagerly, and held as
    # a constant: the bits of the normal sample's Q, eager or traced, and no sampling or
    # LAPACK factorisation left in a compiled run.
    want = jax.jit(lambda: S._sampled_basis(jax.random.key(0), dim, k, jnp.float64))()
    got = jax.jit(lambda: jnp.asarray(S._initial_basis(dim, k, None, jnp.float64)))()
    np.testing.assert_array_equal(np.asarray(got), np.asarray(want))
    assert S._initial_basis(dim, k, None, np.float64) is S._initial_basis(dim, k, None, np.float64)
    lor = cj.systems.Lorenz63()
    text = (
        jax.jit(lambda x: cj.max_lyapunov(lor, x, steps=50, dt=0.01).largest)
        .lower(lor.default_state())
        .as_text()
    )
    assert "geqrf" not in text and "threefry" not in text
    # An explicit key still samples (traced keys included).
    keyed = jax.jit(lambda key: S._initial_basis(dim, k, key, jnp.float64))(jax.random.key(0))
    np.testing.assert_array_equal(np.asarray(keyed), np.asarray(want))


def test_checked_one_call_runs_fail_only_where_they_diverge(monkeypatch):
    # The one-call run is traced in `native.checked_calls()`: its kernels fail where
    # the run diverged, so a returned run needs no look at `diverged_at`. The check
    # stays inside that run: the same computation under the user's `jit` still returns
    # `diverged_at`, and the XLA path (no kernel to check) still reads it.
    from chaosjax import native
    from chaosjax.native import ffi

    lor = cj.systems.Lorenz63()
    far = jnp.array([1e3, 1e3, 1e3])  # RK4 with dt = 0.01 overflows within a few steps
    kw = dict(steps=600, dt=0.01, history=6)
    ok = cj.max_lyapunov(lor, lor.default_state(), **kw)  # (checked; remembered)
    assert ok.backend == "native" and int(ok.diverged_at) == -1
    key = next(k for k in S._one_calls if k[4] == 600 and k[6] == 1 and S._one_calls[k])
    fn, checked = S._one_calls[key]
    assert checked is True
    for attempt in range(2):  # the full path, then the remembered one
        with pytest.raises(cj.DivergenceError) as err:
            cj.max_lyapunov(lor, far, **kw)
        assert err.value.step > 0
        part = cj.max_lyapunov(lor, far, throw=False, **kw)
        assert int(part.diverged_at) == err.value.step
    traced = jax.jit(lambda x: cj.max_lyapunov(lor, x, throw=False, **kw).diverged_at)(far)
    assert int(traced) > 0  # (a row end under a trace), not an error
    with native.checked_calls() as seen, pytest.raises(Exception) as failed:
        jax.block_until_ready(jax.jit(lambda x: cj.max_lyapunov(lor, x, **kw).exponents)(far))
    assert seen["checked"] and ffi.failed_check(failed.value)
    monkeypatch.setenv("CHAOSJAX_CGEN", "0")
    xla = cj.max_lyapunov(cj.systems.Lorenz63(), far, throw=False, **kw)
    assert xla.backend == "xla" and int(xla.diverged_at) == err.value.step
