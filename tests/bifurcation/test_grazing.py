"""Grazing of a periodic orbit and non-smooth folds located along a sweep, against the
closed-form answers of a forced linear oscillator and of the piecewise-linear normal form."""

import jax.numpy as jnp
import numpy as np
import pytest

import chaosjax as cj
from chaosjax.bifurcation import locate_grazing, nonsmooth_folds, switching_minimum
from chaosjax.systems import param


class ForcedStopOscillator(cj.systems.PiecewiseSmoothFlow):
    """x'' + 2 zeta x' + x = cos(omega t), with a stiff spring k (x - d) beyond x = d (a
    soft stop; Shaw & Holmes 1983, J. Sound Vib. 90, 129-155). State (x, v, theta)."""

    zeta: float = param(0.1)
    omega: float = param(0.8)
    k: float = param(20.0)
    d: float = param(2.0)

    def switching_function(self, x):
        return self.d - x[0]

    def mode_vector_field(self, x, mode):
        spring = jnp.where(mode[0], 0.0, self.k * (x[0] - self.d))
        acc = -2 * self.zeta * x[1] - x[0] - spring + jnp.cos(x[2])
        return jnp.stack([x[1], acc, self.omega])

    def default_state(self):
        return jnp.zeros(3)


OSC = ForcedStopOscillator()
# Amplitude of the free periodic orbit: 1 / sqrt((1 - w^2)^2 + (2 zeta w)^2) = 2.5384.
AMP = 1.0 / np.sqrt((1 - 0.8**2) ** 2 + (2 * 0.1 * 0.8) ** 2)
PERIOD = 2 * np.pi / 0.8
OPTS = dict(dt=PERIOD / 200, period_steps=200, transient=200 * 40)


@pytest.mark.slow  # the example test covers it in the default suite
def test_grazing_of_a_forced_oscillator_with_a_stop():
    h, _ = switching_minimum(OSC, "d", jnp.array([3.0, 3.5]), jnp.zeros(3), **OPTS)
    # Before the grazing the orbit is the free one: min h = d - amplitude.
    assert np.allclose(np.asarray(h), [3.0 - AMP, 3.5 - AMP], atol=1e-6)
    g = locate_grazing(OSC, "d", 2.0, 3.0, jnp.zeros(3), **OPTS, xtol=1e-9)
    assert abs(g.value - AMP) < 1e-6
    assert g.minimum_lo < 0 < g.minimum_hi
    # The sample nearest the grazing point: within A (omega dt)^2 / 8 = 2e-4 of it.
    assert abs(float(g.point[0]) - AMP) < 3e-4 and abs(float(g.point[1])) < 0.05


def test_nonsmooth_fold_along_a_sweep():
    # Stable focus for c.x < 0, saddle for c.x >= 0: two equilibria for mu < 0, none
    # for mu > 0 (bifurcation/pwl_normal_form.py classifies it "nonsmooth fold").
    pwl = cj.systems.PiecewiseLinearFlow(
        A1=((-1.0, 1.0), (-1.0, 0.0)), A2=((-1.0, 1.0), (1.0, 0.0)), b=(0.0, 1.0), c=(1.0, 0.0)
    )
    mus = jnp.linspace(-1.0, 1.0, 9) + 0.01
    nf = nonsmooth_folds(pwl, "mu", mus, jnp.array([[0.0, 0.0]]))
    assert nf.counts.tolist() == [2, 2, 2, 2, 0, 0, 0, 0, 0]
    assert len(nf.folds) == 1 and abs(nf.folds[0]) < 1e-10


def test_grazing_bad_input():
    with pytest.raises(ValueError, match="`system`"):
        switching_minimum(cj.systems.Lorenz63(), "rho", jnp.array([1.0]), jnp.zeros(3), **OPTS)
    with pytest.raises(ValueError, match="no grazing bracketed"):
        locate_grazing(OSC, "d", 3.0, 3.5, jnp.zeros(3), **OPTS)
