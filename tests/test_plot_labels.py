"""What the figures say: Unicode labels with units, no system's numbers on another
system's plot, readable scales for exponents of different sizes, dense diagrams that
do not saturate, tick labels that do not collide. Asserted on the drawn artists."""

import types

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.collections import QuadMesh
from matplotlib.patches import Polygon, Rectangle

import chaosjax as cj


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _result(finals, time_per_step=0.01):
    finals = np.asarray(finals, dtype=float)
    steps = np.array([10, 100, 1_000, 10_000])
    hist = finals[None, :] * (1.0 + 10.0 / np.sqrt(steps) - 0.1)[:, None]  # ends at finals
    return types.SimpleNamespace(
        history=hist, history_steps=steps, time_per_step=np.asarray(time_per_step)
    )


def _tick_labels_overlap(ax, axis="x") -> bool:
    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    ticks = ax.get_xticklabels() if axis == "x" else ax.get_yticklabels()
    boxes = [t.get_window_extent(renderer) for t in ticks if t.get_visible() and t.get_text()]
    return any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])


def test_convergence_switches_to_symlog_for_exponents_of_different_sizes():
    # Lorenz: 0.9, 0, -14.6 -- on a linear axis lambda_1's settling is a flat line.
    fig = cj.plot.lyapunov_convergence(_result([0.9056, 1e-4, -14.5723]))
    ax = fig.axes[0]
    assert ax.get_yscale() == "symlog"
    # Linear within the smallest exponent that is not numerically zero.
    assert ax.yaxis.get_transform().linthresh == pytest.approx(0.9056)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["λ₁", "λ₂", "λ₃"]
    assert "per unit time" in ax.get_ylabel() and "λ" in ax.get_ylabel()
    assert ax.get_xlabel() == "time t"
    assert not _tick_labels_overlap(ax, "y")
    # Henon: 0.42, -1.62 -- one order of magnitude at most, kept linear.
    ax = cj.plot.lyapunov_convergence(_result([0.42, -1.62], 1.0)).axes[0]
    assert ax.get_yscale() == "linear"
    assert "per iteration" in ax.get_ylabel() and ax.get_xlabel() == "iteration n"
    with pytest.raises(ValueError, match="`yscale`"):
        cj.plot.lyapunov_convergence(_result([1.0]), yscale="log")


def test_spectrum_bars_label_and_ticks_of_a_long_spectrum():
    lam = np.linspace(1.0, -5.0, 64)
    fig = cj.plot.lyapunov_spectrum_bars(lam, unit="per unit time")
    ax = fig.axes[0]
    assert ax.get_ylabel() == "λᵢ (per unit time)"
    assert "$D_{KY}$" in ax.get_title()
    ticks = [t for t in ax.get_xticks() if 1 <= t <= 64]
    assert len(ticks) < 20 and all(float(t).is_integer() for t in ticks)
    assert not _tick_labels_overlap(ax, "x")


def test_divergence_curve_shades_the_fit_range():
    t = np.arange(200) * 0.02
    d = np.minimum(0.9 * t - 2.0, 1.5)
    est = types.SimpleNamespace(
        times=t,
        divergence=d,
        fit=np.array([0.9 * 0.02, -2.0]),
        exponents=np.array([0.9]),
        fit_range=(20, 150),
    )
    ax = cj.plot.divergence_curve(est).axes[0]
    spans = [p for p in ax.patches if isinstance(p, (Polygon, Rectangle))]
    assert len(spans) == 1
    x = spans[0].get_xy()[:, 0] if isinstance(spans[0], Polygon) else None
    if x is None:
        x0 = spans[0].get_x()
        x = np.array([x0, x0 + spans[0].get_width()])
    assert np.min(x) == pytest.approx(t[20]) and np.max(x) == pytest.approx(t[149])
    texts = [x.get_text() for x in ax.get_legend().get_texts()]
    assert "⟨ln d(t)⟩" in texts and any(s.startswith("fit: λ₁ = 0.9") for s in texts)


_TABLE = types.SimpleNamespace(
    horizons=np.array([0.5, 2.0, 5.0, 10.0]),
    gradients=np.array([[1.0, 0.8], [2.0, -3.0], [40.0, 9.0], [80.0, -90.0]]),
    std=np.array([0.1, 3.5, 22.0, 100.0]),
    median=np.array([0.9, -0.5, 24.0, -5.0]),
)


def _growth_line(ax):
    lines = [ln for ln in ax.lines if str(ln.get_label()).startswith("exp(λ₁ T)")]
    return lines[0] if lines else None


def test_blowup_growth_uses_the_systems_own_exponent():
    # Nothing Lorenz-specific by default: no exponent, no growth line.
    assert _growth_line(cj.plot.sensitivity_blowup(_TABLE).axes[0]) is None
    # Rossler's own lambda_1 = 0.0714, anchored at the std at T = 2.
    ax = cj.plot.sensitivity_blowup(_TABLE, system=cj.systems.Rossler()).axes[0]
    line = _growth_line(ax)
    assert line is not None and "0.0714" in line.get_label()
    np.testing.assert_allclose(
        line.get_ydata(), 3.5 * np.exp(0.0714 * (_TABLE.horizons - 2.0)), rtol=1e-12
    )
    # An exponent given wins; a system without a reference one must be given it.
    line = _growth_line(cj.plot.sensitivity_blowup(_TABLE, exponent=0.5).axes[0])
    np.testing.assert_allclose(line.get_ydata()[-1], 3.5 * np.exp(0.5 * 8.0))
    with pytest.raises(ValueError, match="`exponent`"):
        cj.plot.sensitivity_blowup(_TABLE, system=cj.systems.Halvorsen())


def _diagram(n_values, keep, seed=0):
    rng = np.random.default_rng(seed)
    vals = np.linspace(3.5, 4.0, n_values)
    pts = rng.uniform(0.0, 1.0, size=(n_values, keep, 1))
    return types.SimpleNamespace(
        values=vals,
        points=pts,
        counts=np.full(n_values, keep),
        final_states=pts[:, -1],
        param="r",
    )


def test_orbit_diagram_small_faint_markers_then_a_density_image():
    # 300 points: visible dots.
    ax = cj.plot.orbit_diagram(_diagram(30, 10)).axes[0]
    (dots,) = ax.lines
    assert dots.get_markersize() == pytest.approx(1.0) and dots.get_alpha() == pytest.approx(1.0)
    # 100,000 points: the smallest, faint markers (they would otherwise fill the panel).
    ax = cj.plot.orbit_diagram(_diagram(500, 200)).axes[0]
    (dots,) = ax.lines
    assert dots.get_markersize() == pytest.approx(0.15) and dots.get_alpha() == pytest.approx(0.3)
    # 250,000 points: a density image of counts per cell, every point counted once.
    ax = cj.plot.orbit_diagram(_diagram(500, 500)).axes[0]
    assert len(ax.lines) == 0
    (mesh,) = [c for c in ax.collections if isinstance(c, QuadMesh)]
    counts = np.nan_to_num(np.asarray(mesh.get_array(), dtype=float))
    assert counts.sum() == 250_000
    assert mesh.norm.__class__.__name__ == "LogNorm"
    # Forced either way.
    ax = cj.plot.orbit_diagram(_diagram(30, 10), density=True, bins=50).axes[0]
    assert len(ax.lines) == 0 and np.nan_to_num(ax.collections[0].get_array()).sum() == 300
    assert not _tick_labels_overlap(ax, "x") and not _tick_labels_overlap(ax, "y")


def test_the_reports_convergence_figure_is_readable_too():
    from chaosjax.plot._report import lyapunov_convergence

    res = _result([0.9056, 1e-4, -14.5723])
    fig = lyapunov_convergence(res.history_steps * 0.01, res.history, reference=[0.9056, 0, -14.57])
    ax = fig.axes[0]
    assert ax.get_yscale() == "symlog"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["λ₁", "λ₂", "λ₃"]
    assert ax.get_ylabel() == "λᵢ (per unit time)"
    assert not _tick_labels_overlap(ax, "y")


def _figures_of_realistic_size():
    rng = np.random.default_rng(0)
    t = np.linspace(0.0, 100.0, 1_000)
    xs = np.stack([np.sin(t), np.cos(1.3 * t), 20 + 5 * np.sin(0.7 * t)], axis=-1)
    lam = np.linspace(-0.5, 0.4, 200)
    yield cj.plot.phase_portrait(xs[:, :2])
    yield cj.plot.time_series(t, xs)
    yield cj.plot.orbit_diagram(_diagram(200, 50), lam)
    yield cj.plot.lyapunov_convergence(_result([0.42, -1.62], 1.0))
    yield cj.plot.lyapunov_spectrum_bars(np.linspace(0.5, -30.0, 40), unit="per unit time")
    yield cj.plot.clv_angles(types.SimpleNamespace(angles=rng.uniform(0, 1.5, (200, 3))))
    yield cj.plot.sensitivity_blowup(_TABLE, exponent=0.9)
    yield cj.plot.return_map(xs[:, :1])
    yield cj.plot.cumulative_average_band(t, 20 + rng.normal(size=(8, t.size)))


def test_no_helper_draws_colliding_tick_labels():
    for fig in _figures_of_realistic_size():
        for ax in fig.axes:
            if ax.name == "3d":
                continue
            assert not _tick_labels_overlap(ax, "x"), (fig, ax.get_xlabel())
            assert not _tick_labels_overlap(ax, "y"), (fig, ax.get_ylabel())
        plt.close(fig)


@pytest.mark.parametrize(
    "lam, dky",
    [
        ([0.9056, 0.0, -14.5723], 2 + 0.9056 / 14.5723),
        ([-0.1, -2.0], 0.0),
        ([1.0, 0.5], 2.0),
        ([-1.62, 0.42], 1 + 0.42 / 1.62),
    ],
)
def test_the_bars_title_has_the_kaplan_yorke_dimension(lam, dky):
    # Kaplan & Yorke (1979): j + (lam_1 + ... + lam_j) / |lam_{j+1}|.
    title = cj.plot.lyapunov_spectrum_bars(lam).axes[0].get_title()
    assert title == f"Lyapunov spectrum ($D_{{KY}}$ = {dky:.3f})"
