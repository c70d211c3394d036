"""The generated-C Lyapunov spectrum (`native/spectrum.py`) against the XLA kernel."""

import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import chaosjax as cj
from chaosjax import native
from chaosjax.native import spectrum as native_spectrum

needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None, reason="no gcc")

FIELDS = (
    "exponents",
    "history",
    "history_steps",
    "diverged_at",
    "final_state",
    "basis",
    "log_sums",
)


@pytest.fixture
def c_calls(monkeypatch):
    """Counts the runs the C path took (a None return is the XLA fallback)."""
    calls = {"c": 0, "fallback": 0}
    real = native.lyapunov_spectrum

    def spy(*args, **kwargs):
        out = real(*args, **kwargs)
        calls["c" if out is not None else "fallback"] += 1
        return out

    monkeypatch.setattr(native, "lyapunov_spectrum", spy)
    return calls


def both(monkeypatch, fn):
    """fn() on the C path (default) and with CHAOSJAX_CGEN=0 (the XLA kernel)."""
    monkeypatch.delenv("CHAOSJAX_CGEN", raising=False)
    c = fn()
    monkeypatch.setenv("CHAOSJAX_CGEN", "0")
    xla = fn()
    monkeypatch.delenv("CHAOSJAX_CGEN")
    return c, xla


def same(c, xla, rtol=1e-12):
    for f in FIELDS:
        a, b = getattr(c, f), getattr(xla, f)
        assert isinstance(a, jax.Array) and a.dtype == b.dtype and a.shape == b.shape, f
        a, b = np.asarray(a), np.asarray(b)
        if a.dtype.kind in "iu":
            np.testing.assert_array_equal(a, b, err_msg=f)
        else:
            np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * np.abs(b).max(), err_msg=f)
    assert c.steps == xla.steps and c.time_per_step == xla.time_per_step


lor = cj.systems.Lorenz63()
l96 = cj.systems.Lorenz96(n=8)
# Short runs: FMA contraction and the C `rsqrt` change the last bit of a step, and
# chaos amplifies it (a few thousand RK4 steps of Lorenz63 stay within ~1e-15).
CASES = [
    ("lorenz63", lor, lor.default_state(), dict(steps=3000, dt=0.01, transient=13, history=7)),
    ("henon", cj.systems.Henon(), jnp.zeros(2), dict(steps=200, transient=5, history=9)),
    (
        "lorenz96_k3_qr5",
        l96,
        l96.default_state(),
        dict(steps=1003, dt=0.01, k=3, qr_every=5, transient=7, history=11),
    ),
    ("henon_qr3_tail", cj.systems.Henon(), jnp.zeros(2), dict(steps=100, qr_every=3, history=7)),
    ("logistic", cj.systems.Logistic(r=3.9), jnp.array([0.3]), dict(steps=40, history=4)),
]


@needs_gcc
@pytest.mark.parametrize("name, system, x0, kw", CASES, ids=[c[0] for c in CASES])
def test_c_spectrum_equals_xla(monkeypatch, c_calls, name, system, x0, kw):
    c, xla = both(monkeypatch, lambda: cj.lyapunov_spectrum(system, x0, **kw))
    assert c_calls["c"] == 1 and c_calls["fallback"] == 1
    same(c, xla)


@needs_gcc
def test_resume_and_finite_time(monkeypatch, c_calls):
    first = cj.lyapunov_spectrum(lor, lor.default_state(), steps=500, dt=0.01)
    c, xla = both(monkeypatch, lambda: cj.lyapunov_spectrum(lor, None, 700, dt=0.01, resume=first))
    same(c, xla)
    hen = cj.systems.Henon()
    c, xla = both(
        monkeypatch,
        lambda: cj.finite_time_lyapunov(hen, jnp.zeros(2), window=10, windows=5, transient=3),
    )
    np.testing.assert_allclose(np.asarray(c.exponents), np.asarray(xla.exponents), rtol=1e-12)


@needs_gcc
def test_fallbacks(monkeypatch, c_calls):
    hen = cj.systems.Henon()
    ref = np.asarray(cj.lyapunov_spectrum(hen, jnp.zeros(2), steps=60).exponents)
    assert c_calls["c"] == 1
    # Traced (inside jit): the kernel as an XLA custom call (tests/native/test_ffi.py).
    jitted = jax.jit(lambda x: cj.lyapunov_spectrum(hen, x, steps=60).exponents)
    np.testing.assert_allclose(np.asarray(jitted(jnp.zeros(2))), ref, rtol=1e-12)
    assert c_calls["c"] == 2
    # A batch of x0 (vmapped): the custom call's batching rule runs the XLA kernel.
    batch = cj.lyapunov_spectrum(hen, jnp.zeros((2, 2)), steps=60).exponents
    np.testing.assert_allclose(np.asarray(batch), np.stack([ref, ref]), rtol=1e-12)
    assert c_calls["c"] == 3
    # A Householder QR (dim > 8): the XLA kernel.
    big = cj.systems.Lorenz96(n=10)
    res = cj.lyapunov_spectrum(big, big.default_state(), steps=5, dt=0.01, k=2)
    assert c_calls["c"] == 3 and res.backend == "xla"
    # Driving inputs: the XLA kernel.
    net = cj.systems.RNN.random(jax.random.key(0), 4, g=1.5, n_inputs=1)
    cj.lyapunov_spectrum(net, net.default_state(), steps=5, inputs=jnp.ones((5, 1)))
    assert c_calls["c"] == 3


@needs_gcc
def test_missing_compiler_falls_back(monkeypatch, c_calls):
    monkeypatch.setenv("CC", "/nonexistent/cc-for-chaosjax-tests")
    monkeypatch.setattr(native_spectrum, "_kernels", {})
    monkeypatch.setattr(native.compile, "_warned", set())
    monkeypatch.setattr(native.compile, "_no_compiler", set())
    with pytest.warns(native.NativeWarning, match="no C compiler"):
        out = cj.lyapunov_spectrum(lor, lor.default_state(), steps=50, dt=0.01)
    assert c_calls["c"] == 0 and c_calls["fallback"] == 1
    monkeypatch.setenv("CHAOSJAX_CGEN", "0")
    same(out, cj.lyapunov_spectrum(lor, lor.default_state(), steps=50, dt=0.01))


@needs_gcc
def test_divergence_step_as_xla(monkeypatch, c_calls):
    log5 = cj.systems.Logistic(r=5.0)
    for transient in (0, 3, 30):
        c, xla = both(
            monkeypatch,
            lambda: cj.lyapunov_spectrum(
                log5, jnp.array([0.9]), steps=40, transient=transient, history=8, throw=False
            ),
        )
        np.testing.assert_array_equal(np.asarray(c.diverged_at), np.asarray(xla.diverged_at))
        # C multiplies diag R^2 into running products, XLA sums logarithms: the last bits.
        np.testing.assert_allclose(np.asarray(c.history), np.asarray(xla.history), rtol=1e-13)
    with pytest.raises(cj.DivergenceError):
        cj.lyapunov_spectrum(log5, jnp.array([0.9]), steps=40)
    assert c_calls["c"] >= 4


@needs_gcc
def test_products_span_far_beyond_a_double(monkeypatch, c_calls):
    """The C loop keeps products of diag R^2 with their exponents split off each step: a
    run whose product spans ~1e5 binary orders of magnitude loses nothing against the
    XLA kernel's summed logarithms."""
    hen = cj.systems.Henon()
    c, xla = both(monkeypatch, lambda: cj.lyapunov_spectrum(hen, jnp.zeros(2), steps=100_000))
    assert abs(float(xla.log_sums[1])) > 1e5 * np.log(2)  # far beyond a double's range
    np.testing.assert_allclose(np.asarray(c.log_sums), np.asarray(xla.log_sums), rtol=1e-11)
    # The closed 2 x 2 QR: the sum of the exponents is log|det J| = log 0.3 to rounding.
    assert abs(float(c.exponents.sum()) - np.log(0.3)) < 1e-14


l96_6 = cj.systems.Lorenz96(n=6)
MORE = [
    # dim 6, all six exponents: the columns as 8-lane vectors (Euler: a short kernel).
    (
        "lorenz96_6_euler",
        l96_6,
        l96_6.default_state(),
        dict(steps=2000, dt=0.01, solver="euler", history=5),
    ),
    # k < dim (4 lanes) with a partial block at the end and in the transient.
    (
        "lorenz96_6_k4_qr3",
        l96_6,
        l96_6.default_state(),
        dict(steps=1001, dt=0.01, solver="euler", k=4, qr_every=3, transient=5, history=6),
    ),
    # |x| in the step: the tangent has a select, so the scalar (not vector) kernel.
    ("lozi", cj.systems.Lozi(), jnp.array([0.1, 0.1]), dict(steps=500, transient=3, history=5)),
    # One column: the scalar kernel on two-lane vectors (codegen.in_lanes), with calls
    # (sin, cos) between vector lines for Ikeda.
    ("lorenz63_k1", lor, lor.default_state(), dict(steps=3000, dt=0.01, k=1, history=6)),
    ("ikeda_k1", cj.systems.Ikeda(), jnp.array([0.1, 0.2]), dict(steps=400, k=1, history=4)),
]


@needs_gcc
@pytest.mark.parametrize("name, system, x0, kw", MORE, ids=[c[0] for c in MORE])
def test_more_c_spectra_equal_xla(monkeypatch, c_calls, name, system, x0, kw):
    c, xla = both(monkeypatch, lambda: cj.lyapunov_spectrum(system, x0, **kw))
    assert c_calls["c"] == 1 and c.backend == "native" and xla.backend == "xla"
    same(c, xla)


@needs_gcc
def test_long_lorenz_run_as_xla(monkeypatch, c_calls):
    """1e5 RK4 steps: the state does not depend on the basis, so it is bitwise the XLA
    kernel's; the C loop's Gram-Schmidt without normalisation (no square root, no
    logarithm per step) gives the exponents of the XLA kernel's Cholesky QR."""
    x0 = jnp.array([-5.5, -9.0, 18.0])
    c, xla = both(monkeypatch, lambda: cj.lyapunov_spectrum(lor, x0, steps=100_000, dt=0.01))
    np.testing.assert_array_equal(np.asarray(c.final_state), np.asarray(xla.final_state))
    np.testing.assert_allclose(np.asarray(c.exponents), np.asarray(xla.exponents), rtol=1e-10)
    np.testing.assert_allclose(np.asarray(c.history), np.asarray(xla.history), rtol=1e-10)
    assert float(c.exponents[0]) == pytest.approx(0.906, abs=0.02)


@needs_gcc
def test_divergence_of_several_columns_as_xla(monkeypatch, c_calls):
    """Henon from (2, 0) escapes to infinity: the vector kernel marks the same step, and
    the same history rows are non-finite (which of inf and NaN a column shows there may
    differ: the XLA kernel closes the last column of a square basis, C projects it)."""
    hen = cj.systems.Henon()
    for transient in (0, 4):
        c, xla = both(
            monkeypatch,
            lambda: cj.lyapunov_spectrum(
                hen, jnp.array([2.0, 0.0]), steps=40, transient=transient, history=8,
                throw=False,
            ),
        )  # fmt: skip
        assert int(c.diverged_at) == int(xla.diverged_at) >= 0
        hc, hx = np.asarray(c.history), np.asarray(xla.history)
        ok = np.isfinite(hx).all(axis=1)
        np.testing.assert_array_equal(np.isfinite(hc).all(axis=1), ok)
        assert ok.any() and not ok.all()
        # Before the overflow the tangent map is ill-conditioned beyond 1e40 (x ~ 1e20):
        # the leading column agrees to rounding, the contracting one only roughly.
        np.testing.assert_allclose(hc[ok, 0], hx[ok, 0], rtol=1e-13)
        np.testing.assert_allclose(hc[ok, 1], hx[ok, 1], rtol=1e-2)


@needs_gcc
def test_a_vanishing_single_column_as_xla(monkeypatch, c_calls):
    """The logistic map at r = 4 from 0.5: the derivative is 0 at the first step, the
    one column vanishes (-inf in its sum) and is NaN from the next time on, in both
    lanes of the one-column kernel, as on the XLA path."""
    log4 = cj.systems.Logistic(r=4.0)
    c, xla = both(
        monkeypatch,
        lambda: cj.lyapunov_spectrum(log4, jnp.array([0.5]), steps=10, history=5, throw=False),
    )
    assert c.backend == "native" and xla.backend == "xla"
    assert int(c.diverged_at) == int(xla.diverged_at) >= 0
    np.testing.assert_array_equal(
        np.isnan(np.asarray(c.history)), np.isnan(np.asarray(xla.history))
    )
