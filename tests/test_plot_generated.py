"""Figures of generated against true trajectories and of paired distances against
time draw what they are given."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

import chaosjax.plot as cjp


def _series(runs, T, dim, seed):
    rng = np.random.default_rng(seed)
    return np.cumsum(rng.normal(size=(runs, T, dim)), axis=1)


def test_generated_vs_true_draws_every_coordinate_and_a_phase_portrait():
    true, gen = _series(2, 50, 3, 0), _series(2, 50, 3, 1)
    fig = cjp.generated_vs_true(true, gen, dt=0.03, condition=10, labels="xyz", phase=(0, 2))
    # Two runs: 3 time-series panels and one phase portrait each.
    assert len(fig.axes) == 2 * (3 + 1)
    top = fig.axes[0]
    np.testing.assert_allclose(top.lines[0].get_ydata(), true[0, :, 0])
    np.testing.assert_allclose(top.lines[1].get_ydata(), gen[0, :, 0])
    np.testing.assert_allclose(top.lines[0].get_xdata(), 0.03 * np.arange(50))
    assert top.lines[2].get_xdata()[0] == pytest.approx(0.3)  # end of the condition
    phase = fig.axes[3]
    np.testing.assert_allclose(phase.lines[0].get_ydata(), true[0, :, 2])
    assert phase.get_xlabel() == "x" and phase.get_ylabel() == "z"
    plt.close(fig)
    # One run of a map, drawn as points; a 1-D series gets its return map.
    fig = cjp.generated_vs_true(true[0, :, :2], gen[0, :, :2], points=True)
    assert len(fig.axes) == 3 and fig.axes[0].lines[0].get_marker() == "."
    plt.close(fig)
    fig = cjp.generated_vs_true(true[0, :, :1], gen[0, :, :1])
    np.testing.assert_allclose(fig.axes[1].lines[0].get_ydata(), true[0, 1:, 0])
    plt.close(fig)
    with pytest.raises(ValueError, match="`generated` must have the shape of `true`"):
        cjp.generated_vs_true(true, gen[:, :40])


def test_distance_vs_time_draws_the_mean_over_pairs_without_nans():
    t = 0.1 * np.arange(20)
    model = np.exp(0.5 * t)[None] * np.array([[1.0], [3.0]])
    reference = np.exp(0.5 * t)[None] * np.array([[2.0], [np.nan]])
    fig = cjp.distance_vs_time(t, model, reference, condition_time=0.5, exponent=0.5)
    ax = fig.axes[0]
    np.testing.assert_allclose(ax.lines[0].get_ydata(), 2.0 * np.exp(0.5 * t))
    np.testing.assert_allclose(ax.lines[1].get_ydata(), 2.0 * np.exp(0.5 * t))
    # The guide e^{lambda t} starts on the reference curve at the end of the condition.
    guide = ax.lines[3]
    np.testing.assert_allclose(guide.get_ydata(), 2.0 * np.exp(0.5 * guide.get_xdata()))
    assert ax.get_yscale() == "log"
    plt.close(fig)
    fig = cjp.distance_vs_time(t, model[0], reference[0], log=False)
    assert fig.axes[0].get_yscale() == "linear"
    plt.close(fig)
    with pytest.raises(ValueError, match="`reference` must have shape"):
        cjp.distance_vs_time(t, model, reference[:, :5])
