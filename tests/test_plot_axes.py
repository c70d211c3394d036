"""The plotting helpers compose: they leave matplotlib's backend alone, draw into the
Axes or Figure they are given, and return the figure they drew into."""

import os
import pathlib
import subprocess
import sys
import types

import matplotlib.pyplot as plt
import numpy as np
import pytest
import xarray as xr
from mpl_toolkits.mplot3d import Axes3D
from mpl_toolkits.mplot3d.art3d import Line3D

import chaosjax as cj

SRC = pathlib.Path(__file__).resolve().parents[1] / "src"


def _python(code: str, **env: str) -> str:
    environ = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    environ.update(env, PYTHONPATH=str(SRC))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=environ
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_importing_the_plots_keeps_the_users_backend():
    # A backend chosen in code, as `%matplotlib inline` or `matplotlib.use` do ...
    code = (
        "import matplotlib; matplotlib.use('svg'); import matplotlib.pyplot as plt\n"
        "import chaosjax as cj; import chaosjax.plot; cj.plot.lyapunov_spectrum_bars([0.9, -1.0])\n"
        "print(plt.get_backend())"
    )
    assert _python(code) == "svg"
    # ... or in the environment, read when pyplot first loads (after chaosjax.plot).
    code = "import chaosjax.plot; import matplotlib.pyplot as plt; print(plt.get_backend())"
    assert _python(code, MPLBACKEND="pdf") == "pdf"


def test_plot_is_an_attribute_loaded_on_first_use():
    code = (
        "import sys; import chaosjax as cj\n"
        "print('matplotlib' in sys.modules, 'plot' in dir(cj))\n"
        "print(cj.plot.phase_portrait.__module__, 'matplotlib' in sys.modules)"
    )
    assert _python(code).split() == ["False", "True", "chaosjax.plot._simulate", "True"]
    with pytest.raises(AttributeError, match="no attribute 'plots'"):
        cj.plots  # noqa: B018


def test_saving_works_without_a_display(tmp_path):
    # No display and no backend chosen: matplotlib falls back to Agg by itself.
    code = (
        "import chaosjax as cj\n"
        "fig = cj.plot.lyapunov_spectrum_bars([0.9, -1.0])\n"
        f"cj.io.save_figure(fig.axes[0], {str(tmp_path / 'bars.png')!r})\n"
        "import matplotlib.pyplot as plt; print(plt.get_backend(), plt.get_fignums())"
    )
    environ = {"DISPLAY": "", "WAYLAND_DISPLAY": ""}
    assert _python(code, **environ).lower() == "agg []"
    assert (tmp_path / "bars.png").read_bytes()[:4] == b"\x89PNG"


# Inputs of every helper, small and made by hand (the helpers read attributes only).
_T = np.linspace(0.0, 1.0, 50)
_XS = np.stack([np.sin(7 * _T), np.cos(5 * _T), _T], axis=-1)


def _verdict() -> xr.Dataset:
    c, T = 3, 50
    rng = np.random.default_rng(0)
    data = {
        "time": ("time", _T),
        "vpt_steps": ("start", np.array([20])),
        "truth_forecast": (("start", "time", "coordinate"), _XS[None]),
        "forecast": (("start", "time", "coordinate"), _XS[None] + 0.01),
        "forecast_error": (("start", "time"), np.linspace(0.0, 1.0, T)[None]),
        "long_truth": (("sample", "coordinate"), rng.normal(size=(200, c))),
        "long_model": (("sample", "coordinate"), rng.normal(size=(200, c))),
        "wasserstein_ratio": ("coordinate", np.array([1.1, 1.2, 0.9])),
        "exponents_model": ("exponent", np.array([0.9, 0.0, -14.0])),
        "exponents_truth": ("exponent", np.array([0.906, 0.0, -14.57])),
        "ky_model": ((), 2.06),
        "ky_truth": ((), 2.06),
    }
    attrs = {"lyapunov_time": 1.1, "threshold": 0.4, "model": "esn", "truth": "lorenz63"}
    return xr.Dataset(data, coords={"coordinate": ["x", "y", "z"]}, attrs=attrs | {"dt": 0.02})


_RESULT = types.SimpleNamespace(
    history=np.array([[1.0, -1.0], [0.95, -1.2], [0.91, -1.3]]),
    history_steps=np.array([10, 100, 1000]),
    time_per_step=np.asarray(0.01),
)
_ESTIMATE = types.SimpleNamespace(
    times=_T[:20],
    divergence=0.9 * _T[:20] - 3.0,
    fit=np.array([0.9 * 0.02, -3.0]),
    exponents=np.array([0.9]),
)
_CLV = types.SimpleNamespace(angles=np.random.default_rng(1).uniform(0, 1.5, size=(100, 3)))
_TABLE = types.SimpleNamespace(
    horizons=np.array([0.5, 2.0, 5.0]),
    gradients=np.array([[1.0, 0.8], [2.0, -3.0], [40.0, 9.0]]),
    std=np.array([0.1, 3.5, 22.0]),
    median=np.array([0.9, -0.5, 24.0]),
)
_DIAGRAM = types.SimpleNamespace(
    values=np.array([3.5, 3.6, 3.7]),
    points=np.array([[[0.5], [0.8]], [[0.3], [0.9]], [[0.2], [np.nan]]]),
    counts=np.array([2, 2, 1]),
    final_states=np.array([[0.8], [0.9], [0.2]]),
    param="r",
)

# name -> a call that draws into the Axes it is given; the line it draws first, if any.
_ON_AXES = {
    "phase_portrait": (lambda ax: cj.plot.phase_portrait(_XS, ax=ax), _XS[:, 1]),
    "cumulative_average_band": (
        lambda ax: cj.plot.cumulative_average_band(_T, _XS.T, ax=ax),
        _XS[:, 0],
    ),
    "lyapunov_convergence": (lambda ax: cj.plot.lyapunov_convergence(_RESULT, ax=ax), None),
    "lyapunov_spectrum_bars": (lambda ax: cj.plot.lyapunov_spectrum_bars([0.9, -1.0], ax=ax), None),
    "divergence_curve": (lambda ax: cj.plot.divergence_curve(_ESTIMATE, ax=ax), None),
    "clv_angles": (lambda ax: cj.plot.clv_angles(_CLV, ax=ax), None),
    "sensitivity_blowup": (lambda ax: cj.plot.sensitivity_blowup(_TABLE, ax=ax), [1.0, 0.8]),
    "poincare_section": (lambda ax: cj.plot.poincare_section(_XS, ax=ax), _XS[:, 1]),
    "return_map": (lambda ax: cj.plot.return_map(_XS, ax=ax), _XS[1:, 0]),
    "loss_curves": (lambda ax: cj.plot.loss_curves([1, 2, 3], [[1.0, 0.1, 0.01]], ax=ax), None),
    "spectra_side_by_side": (lambda ax: cj.plot.spectra_side_by_side(_verdict(), ax=ax), None),
    "distance_vs_time": (
        lambda ax: cj.plot.distance_vs_time(_T, _XS[:, 2] + 1, _XS[:, 2] + 2, ax=ax),
        _XS[:, 2] + 1,
    ),
}


class _Half:
    """A classifier of the plane: class 1 where x > 0."""

    def predict(self, points):
        return np.asarray(points)[:, 0] > 0


# name -> (a call that draws into the Figure or SubFigure it is given, the panels it makes).
_ON_FIGURE = {
    "time_series": (lambda fig: cj.plot.time_series(_T, _XS, fig=fig), 3),
    "orbit_diagram": (lambda fig: cj.plot.orbit_diagram(_DIAGRAM, [0.1, 0.2, 0.3], fig=fig), 2),
    "forecast_vs_truth": (lambda fig: cj.plot.forecast_vs_truth(_verdict(), fig=fig), 4),
    "invariant_distributions": (
        lambda fig: cj.plot.invariant_distributions(_verdict(), fig=fig),
        3,
    ),
    "generated_vs_true": (lambda fig: cj.plot.generated_vs_true(_XS, _XS + 0.1, fig=fig), 4),
    "decision_boundaries": (
        lambda fig: cj.plot.decision_boundaries(
            [_Half(), _Half()], _XS[:, :2], _XS[:, 0] > 0, resolution=20, fig=fig
        ),
        2,
    ),
    "loss_landscapes": (
        lambda fig: cj.plot.loss_landscapes(
            _T, {"c = 1": _T**2 + 1}, gradients={"c = 1": 2 * _T}, fig=fig
        ),
        2,
    ),
}


def test_every_helper_is_covered():
    # `verdict_figures` makes its three figures with the helpers tested here.
    assert set(cj.plot.__all__) == set(_ON_AXES) | set(_ON_FIGURE) | {"verdict_figures"}


@pytest.mark.parametrize("name", sorted(_ON_AXES))
def test_a_helper_draws_into_the_axes_it_is_given(name):
    draw, first = _ON_AXES[name]
    fig, (left, right) = plt.subplots(1, 2)
    try:
        assert draw(right) is fig
        assert fig.axes == [left, right]  # nothing added
        assert not left.has_data() and right.has_data()
        if first is not None:
            np.testing.assert_allclose(right.lines[0].get_ydata(), first)
    finally:
        plt.close(fig)


def test_a_3d_axes_gets_the_3d_portrait():
    fig = plt.figure()
    ax = fig.add_subplot(projection="3d")
    try:
        assert cj.plot.phase_portrait(_XS, ax=ax) is fig and fig.axes == [ax]
        line = ax.lines[0]
        assert isinstance(ax, Axes3D) and isinstance(line, Line3D)
        np.testing.assert_allclose(np.stack(line.get_data_3d(), axis=-1), _XS)
        assert ax.get_zlabel() == "u3"  # generic names without a system
        # With the system as `labels`, its variable names label the axes.
        ax.cla()
        cj.plot.phase_portrait(_XS, ax=ax, labels=cj.systems.Lorenz63())
        assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_zlabel()) == ("x", "y", "z")
    finally:
        plt.close(fig)


@pytest.mark.parametrize("name", sorted(_ON_FIGURE))
def test_a_multi_panel_helper_draws_into_the_figure_it_is_given(name):
    draw, panels = _ON_FIGURE[name]
    fig = plt.figure(figsize=(12, 6))
    left, right = np.asarray(fig.subfigures(1, 2)).ravel()
    try:
        assert draw(left) is left
        assert len(left.axes) == panels and right.axes == []
        assert all(ax.has_data() for ax in left.axes)
    finally:
        plt.close(fig)


def test_the_orbit_diagram_draws_into_given_axes():
    fig, (top, bottom) = plt.subplots(2, 1)
    try:
        out = cj.plot.orbit_diagram(
            _DIAGRAM, [0.1, 0.2, 0.3], ax_points=top, ax_exponent=bottom, param_label="r"
        )
        assert out is fig and fig.axes == [top, bottom]
        np.testing.assert_allclose(bottom.lines[0].get_ydata(), [0.1, 0.2, 0.3])
        np.testing.assert_allclose(np.sort(top.lines[0].get_ydata()), [0.2, 0.3, 0.5, 0.8, 0.9])
        assert bottom.get_xlabel() == "r"
    finally:
        plt.close(fig)


def test_a_wrong_target_is_named():
    with pytest.raises(ValueError, match="`ax` must be a matplotlib Axes"):
        cj.plot.loss_curves([1, 2], [[1.0, 0.5]], ax="left")
    with pytest.raises(ValueError, match="`fig` must be a matplotlib Figure or SubFigure"):
        cj.plot.time_series(_T, _XS, fig=plt.gca())
    plt.close("all")
