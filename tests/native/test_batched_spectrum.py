"""Benettin's loop for a batch of orbits in generated C (native/batched_spectrum.py):
vmapped spectra and parameter sweeps against the XLA kernels (CHAOSJAX_CGEN=0)."""

import logging
import shutil
import subprocess

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import chaosjax as cj
from chaosjax.lyapunov import _qr
from chaosjax.lyapunov._tangent import forward_push
from chaosjax.native import batched_spectrum, ffi

needs_gcc = pytest.mark.skipif(
    shutil.which("gcc") is None or shutil.which("g++") is None, reason="no gcc/g++"
)
lor = cj.systems.Lorenz63()
TARGET = "chaosjax_spectrum_batch"


def hlo(fn, *args) -> str:
    return jax.jit(fn).lower(*args).as_text()


def close(a, b, rtol=1e-10):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=rtol)


@needs_gcc
@pytest.mark.parametrize("k", [1, 3])
def test_sweep_over_rho_is_the_batched_kernel(xla_env, k):
    # Below the chaotic range, at its onset and in it (short runs: rounding stays small).
    rhos = jnp.array([0.5, 10.0, 20.0, 24.5, 28.0, 45.0, 100.0])

    def sweep():
        return cj.bifurcation.lyapunov_sweep(
            lor, "rho", rhos, lor.default_state(), steps=300, transient=50, dt=0.01, k=k
        )

    native = np.asarray(sweep())
    xla = xla_env(sweep)
    assert native.shape == (7, k) and np.isfinite(native).all()
    close(native, xla)
    assert native[0, 0] < 0 < native[4, 0]  # a stable equilibrium; chaos at rho = 28


@needs_gcc
def test_vmap_over_parameters_and_states(xla_env):
    avals = jnp.array([1.2, 1.3, 1.4])
    x0s = 0.1 * jax.random.normal(jax.random.key(3), (5, 2))

    def spec(a, x0):
        m = cj.systems.Henon(a=a)
        return cj.lyapunov_spectrum(m, x0, steps=203, transient=31, history=7, qr_every=2)

    # One custom call: the vmapped parameter and the vmapped state merge into one batch.
    both = jax.vmap(jax.vmap(spec, in_axes=(None, 0)), in_axes=(0, None))
    text = hlo(both, avals, x0s)
    assert text.count("@chaosjax_") == 1 and f"@{TARGET}" in text
    res = jax.jit(both)(avals, x0s)
    assert res.exponents.shape == (3, 5, 2) and res.backend == "native"
    # Member by member, the one-orbit kernel (eager, native) gives the same numbers.
    one = spec(avals[2], x0s[1])
    close(res.exponents[2, 1], one.exponents, 1e-12)
    close(res.history[2, 1], one.history, 1e-12)
    ref = xla_env(lambda: jax.jit(both)(avals, x0s))
    for name in ("exponents", "history", "final_state", "basis", "log_sums"):
        close(getattr(res, name), getattr(ref, name))
    np.testing.assert_array_equal(np.asarray(res.diverged_at), ref.diverged_at)
    np.testing.assert_array_equal(np.asarray(res.history_steps), ref.history_steps)
    close(res.exponents[2, 1], [0.42, -1.62], 0.05)  # Henon's classic attractor


@needs_gcc
def test_a_diverging_member_poisons_no_other(xla_env):
    rs = jnp.array([3.5, 3.9, 4.5, 4.0])  # r = 4.5 leaves [0, 1] and runs off to -inf

    def lam(r):
        res = cj.max_lyapunov(
            cj.systems.Logistic(r=r), jnp.array([0.3]), steps=400, transient=10, throw=False
        )
        return res.exponents[0], res.diverged_at

    assert TARGET in hlo(jax.vmap(lam), rs)
    exps, div = jax.jit(jax.vmap(lam))(rs)
    exps_x, div_x = xla_env(lambda: jax.jit(jax.vmap(lam))(rs))
    np.testing.assert_array_equal(np.asarray(div), div_x)
    assert int(div[2]) >= 0 and (np.asarray(div)[[0, 1, 3]] == -1).all()
    ok = [0, 1, 3]
    close(np.asarray(exps)[ok], exps_x[ok])
    assert abs(float(exps[3]) - np.log(2.0)) < 0.05  # r = 4: log 2


@needs_gcc
def test_one_vector_normalised_per_group_and_rerun_on_underflow(xla_env):
    # k = 1 pushes 16 steps between normalisations; near a superstable orbit the
    # product of 16 derivatives underflows (r = 2: log |f'| ~ -36 a step), and the
    # tile's group runs again step by step: same numbers as the XLA loop.
    rs = jnp.array([2.0, 3.2, 3.4985617, 3.83, 1.0 + 5**0.5, 4.0])

    def lam(r):
        res = cj.max_lyapunov(
            cj.systems.Logistic(r=r), jnp.array([0.3]), steps=1003, transient=37, history=7
        )
        return res.exponents[0], res.history[:, 0], res.diverged_at

    assert TARGET in hlo(jax.vmap(lam), rs)
    got = jax.tree.map(np.asarray, jax.jit(jax.vmap(lam))(rs))
    want = xla_env(lambda: jax.jit(jax.vmap(lam))(rs))
    close(got[0], want[0])
    close(got[1], want[1])
    np.testing.assert_array_equal(got[2], want[2])
    assert got[0][0] < -30 and abs(got[0][-1] - np.log(2.0)) < 0.02


@needs_gcc
def test_rows_tail_blocks_and_tail_steps_against_xla(xla_env):
    # 70 members (not a multiple of the tile), one system each, k = 2 of 3, QR every 2
    # steps: 3 history rows of 10 blocks, 2 more blocks and 1 step (65 = 3 x 20 + 4 + 1).
    scale = jnp.linspace(0.9, 1.1, 70)
    x0s = lor.sample_state(jax.random.key(1), 70)

    def spec(s, x0):
        m = cj.systems.Lorenz63(sigma=10.0 * s, rho=28.0 * s)
        return cj.lyapunov_spectrum(m, x0, steps=65, transient=11, k=2, qr_every=2, history=3)

    fn = jax.vmap(spec)
    assert TARGET in hlo(fn, scale, x0s)
    res = jax.jit(fn)(scale, x0s)
    ref = xla_env(lambda: jax.jit(fn)(scale, x0s))
    for name in ("exponents", "history", "final_state", "basis", "log_sums"):
        close(getattr(res, name), getattr(ref, name))
    np.testing.assert_array_equal(np.asarray(res.diverged_at), ref.diverged_at)
    np.testing.assert_array_equal(np.asarray(res.history_steps)[0], [20, 40, 60])
    hist = np.asarray(res.history)  # every row its own running estimate
    assert hist.shape == (70, 3, 2) and np.isfinite(hist).all()
    assert (np.diff(hist, axis=1) != 0).all()


@needs_gcc
def test_grad_through_a_vmapped_spectrum_falls_back(xla_env, caplog):
    def total(scale):
        avals = scale * jnp.array([1.2, 1.4])
        lam = lambda a: cj.max_lyapunov(  # noqa: E731
            cj.systems.Henon(a=a), jnp.array([0.1, 0.1]), steps=50
        ).exponents[0]
        return jax.vmap(lam)(avals).sum()

    ffi._grad_notice.cache_clear()
    with caplog.at_level(logging.WARNING, logger="chaosjax.native"):
        g = float(jax.jit(jax.grad(total))(1.0))
    assert sum("derivatives" in r.message for r in caplog.records) == 1
    g_xla = float(xla_env(lambda: jax.jit(jax.grad(total))(1.0)))
    assert abs(g - g_xla) <= 1e-10 * max(1.0, abs(g_xla))


@needs_gcc
def test_history_rows_dropped_where_nothing_reads_them(xla_env):
    # jit(vmap(lambda r: max_lyapunov(...).largest)): the history rows and the divergence
    # step are dead code, so the custom call keeps no rows (an empty history output) and
    # runs them as one: the same orbits, the full result's exponents to rounding.
    rs = jnp.linspace(2.9, 4.0, 100)
    x1 = jnp.array([0.3])

    def one(r):
        return cj.max_lyapunov(cj.systems.Logistic(r=r), x1, 400, transient=50, throw=False)

    largest = jax.vmap(lambda r: one(r).largest)
    full = jax.vmap(one)
    lean_text, full_text = hlo(largest, rs), hlo(full, rs)
    assert f"@{TARGET}" in lean_text and "tensor<0x2x128xf64>" in lean_text
    assert "tensor<0x2x128xf64>" not in full_text and "tensor<200x2x128xf64>" in full_text
    # Reading the divergence step keeps the rows (it is found from them).
    div_text = hlo(jax.vmap(lambda r: (one(r).largest, one(r).diverged_at)), rs)
    assert "tensor<200x2x128xf64>" in div_text
    got = np.asarray(jax.jit(largest)(rs))
    res = jax.jit(full)(rs)
    close(got, res.exponents[:, 0], 1e-14)
    assert not np.array_equal(got, np.asarray(res.exponents[:, 0]))  # other groups
    close(got, xla_env(lambda: jax.jit(largest)(rs)))
    assert abs(got[-1] - np.log(2.0)) < 0.02  # r = 4: ln 2


@needs_gcc
@pytest.mark.parametrize(
    "flags", [["-fopenmp"], [], ["-fopenmp", "-U__linux__"]], ids=["openmp", "serial", "not-linux"]
)
def test_kernel_source_builds_with_and_without_openmp_and_linux(tmp_path, monkeypatch, flags):
    # The worker placement (sched_getcpu, CPU_CLR, omp_get_thread_num) is for Linux with
    # OpenMP only: the same source links as serial C, and where neither is there.
    m = cj.as_map(lor, 0.01)
    push = forward_push(m, driven=False, use_jacobian=m.has_analytic_jacobian)
    dyn, static = eqx.partition(push, eqx.is_array)
    leaves, treedef = jax.tree.flatten(dyn)
    spec = (treedef, static, [np.shape(a) for a in leaves])
    src = []
    monkeypatch.setattr(batched_spectrum, "compile_kernel", lambda s, args: src.append(s))
    batched_spectrum._generate(spec, _qr.RAW_KERNELS["gram_schmidt"], 3, 1)
    path = tmp_path / "k.c"
    path.write_text(src[0])
    cmd = ["gcc", "-O0", "-shared", "-fPIC", "-Wl,-z,defs", *flags, str(path), "-lm"]
    subprocess.run([*cmd, "-o", str(tmp_path / "k.so")], check=True, capture_output=True)
    assert "CJ_SPREAD" in src[0] and src[0].startswith("#define _GNU_SOURCE")
