"""Result records show their numbers: `print`, the notebook table and `to_xarray`."""

import re

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import xarray as xr
from jaxtyping import Array

import chaosjax as cj
from chaosjax._results import Result


@pytest.fixture(scope="module")
def lorenz() -> cj.LyapunovResult:
    return cj.lyapunov_spectrum(
        cj.systems.Lorenz63(), jnp.array([1.0, 1.0, 20.0]), steps=2000, dt=0.01
    )


def _numbers(line: str) -> np.ndarray:
    return np.array([float(s) for s in re.findall(r"-?\d+\.\d*(?:e[-+]\d+)?", line)])


def test_print_shows_the_exponents_to_four_decimals(lorenz):
    text = str(lorenz)
    assert text == repr(lorenz)
    assert text.startswith("LyapunovResult(\n")
    line = next(ln for ln in text.splitlines() if ln.strip().startswith("exponents="))
    shown = _numbers(line)
    assert shown.shape == (3,)
    np.testing.assert_allclose(shown, np.asarray(lorenz.exponents), rtol=0, atol=5e-5)
    # The exponents of a chaotic flow: one positive, one near zero, the sum negative.
    assert shown[0] > 0.5 and abs(shown[1]) < 0.3 and shown.sum() < -10
    assert "f64[3]" not in text
    assert "steps=2000" in text and "time_per_step=0.01" in text
    assert "diverged_at=-1" in text


def test_big_arrays_are_elided_with_their_shape(lorenz):
    text = repr(lorenz)
    # 200 history rows: numpy's summary (edge rows and "...") after the shape.
    assert "history=f64[200, 3] [[" in text
    assert "..." in text
    assert len(text.splitlines()) < 30
    # The last history row is the exponents, printed in full.
    assert text.count("\n") < 40
    with np.printoptions(threshold=10_000):
        assert len(repr(lorenz).splitlines()) > 200


def test_numpy_print_options_are_followed(lorenz):
    with np.printoptions(precision=6):
        line = next(ln for ln in repr(lorenz).splitlines() if "exponents=" in ln)
    np.testing.assert_allclose(_numbers(line), np.asarray(lorenz.exponents), atol=5e-7)


def test_html_table(lorenz):
    page = lorenz._repr_html_()
    assert page.startswith("<table>") and page.endswith("</table>")
    assert "<caption" in page and "LyapunovResult" in page
    assert page.count("<tr>") == 1 + 10  # header and one row per field
    assert f"{float(lorenz.exponents[0]):.4f}" in page
    assert "f64[200, 3]" in page


def test_to_xarray_round_trips_the_arrays(lorenz):
    ds = lorenz.to_xarray()
    assert isinstance(ds, xr.Dataset)
    for name in ("exponents", "history", "history_steps", "diverged_at", "final_state"):
        np.testing.assert_array_equal(ds[name].values, np.asarray(getattr(lorenz, name)))
    for name in ("basis", "log_sums"):
        np.testing.assert_array_equal(ds[name].values, np.asarray(getattr(lorenz, name)))
    assert ds["history"].dims == ("history_steps", "exponent")
    assert ds["basis"].dims == ("variable", "exponent")
    assert ds.attrs["steps"] == 2000 and ds.attrs["time_per_step"] == 0.01
    assert ds.attrs["record"] == "LyapunovResult"
    assert ds.attrs["backend"] == lorenz.backend in ("native", "xla")
    # history_steps is the coordinate of the history rows.
    np.testing.assert_array_equal(ds["history"].sel(history_steps=2000).values, ds["exponents"])


def test_a_batch_gains_a_batch_dimension():
    x0 = jnp.array([[0.0, 0.0], [0.1, 0.0]])
    res = jax.vmap(lambda x: cj.lyapunov_spectrum(cj.systems.Henon(), x, steps=200))(x0)
    ds = res.to_xarray()
    assert ds["exponents"].dims == ("batch", "exponent")
    assert ds["diverged_at"].dims == ("batch",)
    np.testing.assert_array_equal(ds["exponents"].values, np.asarray(res.exponents))
    lines = repr(res).splitlines()
    i = next(i for i, ln in enumerate(lines) if "exponents=" in ln)
    shown = np.concatenate([_numbers(lines[i]), _numbers(lines[i + 1])])
    np.testing.assert_allclose(shown, np.asarray(res.exponents).ravel(), atol=5e-5)


def test_under_jit_the_summary_is_equinox_s():
    seen = []

    @jax.jit
    def f(x):
        res = cj.lyapunov_spectrum(cj.systems.Henon(), x, steps=10)
        seen.append(repr(res))
        return res.exponents

    f(jnp.zeros(2))
    assert "exponents=f64[2]" in seen[0]


class _Plain(Result):
    a: Array
    b: Array
    label: str = eqx.field(static=True)
    flag: bool = eqx.field(static=True)


def test_generic_dimensions_and_attributes():
    rec = _Plain(a=jnp.arange(6.0).reshape(2, 3), b=jnp.array([1, 2]), label="x", flag=True)
    ds = rec.to_xarray()
    assert ds["a"].dims == ("a_dim0", "a_dim1") and ds["b"].dims == ("b_dim0",)
    np.testing.assert_array_equal(ds["a"].values, np.arange(6.0).reshape(2, 3))
    assert ds.attrs["label"] == "x" and ds.attrs["flag"] == 1
    assert "label='x'" in repr(rec) and "b=[1, 2]" in repr(rec)


def test_orbit_diagram_is_indexed_by_its_parameter():
    rs = jnp.linspace(2.8, 3.2, 5)
    d = cj.orbit_diagram(cj.systems.Logistic(), "r", rs, jnp.array([0.5]), transient=200, keep=4)
    ds = d.to_xarray()
    assert ds["points"].dims == ("r", "kept", "variable")
    np.testing.assert_array_equal(ds["r"].values, np.asarray(rs))
    np.testing.assert_array_equal(ds["points"].values, np.asarray(d.points))
    # Below r = 3 the logistic map's fixed point 1 - 1/r.
    np.testing.assert_allclose(ds["points"].sel(r=2.8).values, 1 - 1 / 2.8, atol=1e-6)


def test_fixed_points_by_point_and_variable():
    fp = cj.fixed_points(cj.systems.Henon(), jnp.array([[0.6, 0.2], [-1.1, -0.3]]))
    text = repr(fp)
    assert text.startswith("FixedPoints(") and "points=" in text
    ds = fp.to_xarray()
    assert ds["points"].dims == ("point", "variable")
    np.testing.assert_array_equal(ds["eigenvalues"].values, np.asarray(fp.eigenvalues))
    # Henon's fixed points x = (-(1 - b) +- sqrt((1 - b)^2 + 4a)) / (2a), a = 1.4, b = 0.3.
    a, b = 1.4, 0.3
    roots = (-(1 - b) + np.array([1, -1]) * np.sqrt((1 - b) ** 2 + 4 * a)) / (2 * a)
    np.testing.assert_allclose(np.sort(ds["points"].values[:, 0]), np.sort(roots), atol=1e-9)
