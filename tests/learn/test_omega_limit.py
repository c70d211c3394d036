"""Training across a bifurcation: the omega-limit loss of the smoothed sigmoid map near
its period doubling and at the border collision of its discontinuous limit (C. Budd,
"Neural ODEs for, and as, dynamical systems", Lecture 7, Seattle, June 2025)."""

import pathlib
import re
import subprocess
import sys

import jax.numpy as jnp
import numpy as np
import pytest

import chaosjax as cj

EXAMPLE = (
    pathlib.Path(__file__).resolve().parents[2] / "examples" / "training_across_bifurcations.py"
)
X0 = jnp.array([0.1])


def test_power_law_fit_recovers_an_exact_power_law():
    d = jnp.logspace(-5, -2, 10)
    f = cj.learn.power_law_fit(d, -3.0 / jnp.sqrt(d))
    assert abs(f.exponent + 0.5) < 1e-12 and f.stderr < 1e-10
    assert abs(f.prefactor - 3.0) < 1e-10 and (f.lo, f.hi, f.n) == (1e-5, 1e-2, 10)
    with pytest.raises(ValueError, match="`distance`"):
        cj.learn.power_law_fit(-d, d)


def test_loss_vanishes_at_the_observed_parameters_and_its_gradient_is_autodiff():
    sig = cj.systems.SmoothedSigmoidMap(a=0.8, c=5.0, b=0.3)
    obs = cj.learn.omega_limit(sig, X0, transient=2_000, keep=16)[:, 0]
    # The period-2 orbit at b = 0.3: two values, alternating.
    np.testing.assert_allclose(np.asarray(obs[::2]), float(obs[0]), atol=1e-12)
    assert abs(float(obs[0] - obs[1])) > 0.2
    land = cj.learn.loss_landscape(sig, "b", jnp.array([0.3, 0.32]), obs, x0=X0, transient=2_000)
    assert float(land.loss[0]) < 1e-20
    h = 1e-6
    lp, lm = (
        cj.learn.omega_limit_loss(sig.replace(b=0.32 + s), obs, x0=X0, transient=2_000)
        for s in (h, -h)
    )
    assert abs(float(land.gradient[1]) - float(lp - lm) / (2 * h)) < 1e-6
    with pytest.raises(ValueError, match="`parameter`"):
        cj.learn.loss_landscape(sig, "d", jnp.array([0.3]), obs, x0=X0, transient=10)
    with pytest.raises(ValueError, match="`system`"):
        cj.learn.omega_limit(cj.systems.Lorenz63(), jnp.ones(3), transient=1, keep=1)


@pytest.mark.slow  # the default suite's time budget; unit tests cover the parts
def test_training_across_bifurcations_example_quick(tmp_path):
    out = subprocess.run(
        [sys.executable, str(EXAMPLE), "--quick", "--out", "res"],
        cwd=tmp_path, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    text = out.stdout
    p = re.search(r"fitted exponent p = ([-\d.]+) \+- ([\d.]+)", text)
    q = re.search(r"fitted exponent q = ([-\d.]+) \+- ([\d.]+)", text)
    assert p is not None and q is not None, text
    # The gradient diverges like (b - b*)^-1/2 and the loss moves like (b - b*)^1/2;
    # measured -0.520 +- 0.002 and 0.519 +- 0.004 over b - b* in [1e-5, 1e-3].
    assert abs(float(p.group(1)) + 0.5) < 0.1 and float(p.group(2)) < 0.02
    assert abs(float(q.group(1)) - 0.5) < 0.1
    jump = re.search(r"jump of the loss at b\*: ([-+\d.]+)", text)
    assert jump is not None and float(jump.group(1)) > 0.3  # measured +0.4444
    assert "c =      1: max finite |dL/db| 10; useless gradient" in text
    assert "at 0.0 % of b" in text.split("c =      1:")[1].splitlines()[0]
    assert (tmp_path / "res" / "loss_landscapes.png").exists()
    assert (tmp_path / "res" / "gradient_divergence.png").exists()
