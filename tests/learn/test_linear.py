"""Least squares for A in dx/dt = A x (Budd 2025's linear example)."""

import pathlib
import subprocess
import sys

import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg

import chaosjax as cj

A = jnp.array([[-0.1, -1.0], [1.0, -0.1]])
EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"


def exact_samples(n, x0=(2.0, 0.0), t_end=15.0):
    """x(t) = expm(A t) x0 at n times spread evenly over [0, t_end], and the step."""
    t = np.linspace(0.0, t_end, n)
    xs = np.stack([scipy.linalg.expm(np.asarray(A) * s) @ np.asarray(x0) for s in t])
    return jnp.asarray(xs), float(t[1] - t[0])


@pytest.mark.parametrize(
    "method, low, high",
    [
        # 100 samples over [0, 15] (dt ~ 0.15): fd4 and the quintic spline recover A to
        # 1e-3 (measured ~1.8e-5 and ~3.5e-7); fd2's dt^2 error leaves ~3.7e-3.
        ("fd4", 0.0, 1e-4),
        ("spline", 0.0, 1e-6),
        ("fd2", 3e-3, 5e-3),
    ],
)
def test_recovers_A_from_100_samples(method, low, high):
    xs, dt = exact_samples(100)
    flow = cj.learn.fit_linear_flow(xs, dt=dt, derivative=method)
    assert isinstance(flow, cj.systems.LinearFlow)
    err = float(jnp.max(jnp.abs(flow.A - A)))
    assert low <= err < high
    assert err < 1e-3 or method == "fd2"


def test_equals_an_independent_least_squares_solve():
    xs, dt = exact_samples(100)
    d = np.asarray(cj.learn.derivative(xs, dt, "fd4"))
    expected = np.linalg.lstsq(np.asarray(xs), d, rcond=None)[0].T
    flow = cj.learn.fit_linear_flow(xs, dt=dt)
    np.testing.assert_allclose(np.asarray(flow.A), expected, rtol=0, atol=1e-13)


def test_fd4_error_shrinks_like_dt4():
    errs = []
    for n in (200, 400):
        xs, dt = exact_samples(n)
        errs.append(float(jnp.max(jnp.abs(cj.learn.fit_linear_flow(xs, dt=dt).A - A))))
    # Halving dt divides a fourth-order error by ~16.
    assert 10 < errs[0] / errs[1] < 24


def test_several_trajectories_are_fitted_together_and_the_exponents_follow():
    a, dt = exact_samples(60, x0=(2.0, 0.0), t_end=3.0)
    b, _ = exact_samples(60, x0=(0.0, -1.0), t_end=3.0)
    flow = cj.learn.fit_linear_flow(jnp.stack([a, b]), dt=dt, derivative="spline")
    assert float(jnp.max(jnp.abs(flow.A - A))) < 1e-6
    # The fitted model is a system: its Lyapunov exponents are Re eig(A) = -0.1, -0.1.
    res = cj.lyapunov_spectrum(flow, jnp.array([1.0, 0.0]), steps=2_000, dt=0.05)
    np.testing.assert_allclose(np.asarray(res.exponents), [-0.1, -0.1], atol=1e-5)


def test_given_x_dot_is_used():
    xs, dt = exact_samples(50)
    x_dot = xs @ A.T
    flow = cj.learn.fit_linear_flow(xs, dt=dt, x_dot=x_dot)
    np.testing.assert_allclose(np.asarray(flow.A), np.asarray(A), rtol=0, atol=1e-13)


def test_bad_input_raises_value_error_naming_the_argument():
    xs, dt = exact_samples(20)
    with pytest.raises(ValueError, match="`data` must be finite"):
        cj.learn.fit_linear_flow(xs.at[3, 1].set(jnp.nan), dt=dt)
    with pytest.raises(ValueError, match="`data` has 4 samples"):
        cj.learn.fit_linear_flow(xs[:4], dt=dt, derivative="fd4")
    with pytest.raises(ValueError, match="`data` must have shape"):
        cj.learn.fit_linear_flow(xs[:, 0], dt=dt)
    with pytest.raises(ValueError, match="`x_dot` must have the shape"):
        cj.learn.fit_linear_flow(xs, dt=dt, x_dot=xs[:-1])
    with pytest.raises(ValueError, match="`derivative`"):
        cj.learn.fit_linear_flow(xs, dt=dt, derivative="fd3")
    with pytest.raises(ValueError, match="`dt`"):
        cj.learn.fit_linear_flow(xs, dt=-0.1)


@pytest.mark.slow
def test_example_prints_the_figures(tmp_path):
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / "linear_least_squares.py")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    block = out.stdout.split("100 samples")[1].split("400 samples")[0]
    errors = {line.split()[0]: float(line.split()[1]) for line in block.splitlines()[2:6]}
    assert errors["fd4"] < 1e-3 and errors["spline"] < 1e-3
    assert 3e-3 < errors["fd2"] < 5e-3
    assert errors["lecture"] == pytest.approx(7e-4)
