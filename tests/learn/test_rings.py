"""The nested rings: a plain neural ODE's boundary is unbounded (its flow map is a
homeomorphism), the augmented neural ODE and the lecture's non-smooth flow enclose the
disc (Dupont, Doucet & Teh 2019, arXiv:1904.01681; C. Budd, "Neural ODEs for, and as,
dynamical systems", Lecture 7, Seattle, June 2025)."""

import pathlib
import re
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import chaosjax as cj

EXAMPLE = pathlib.Path(__file__).resolve().parents[2] / "examples" / "nested_rings.py"


def test_nested_rings_lie_in_their_annuli():
    x, y = cj.learn.nested_rings(1_000, key=jax.random.key(0))
    r = np.linalg.norm(np.asarray(x), axis=-1)
    inner = np.asarray(y) == 0.0
    assert x.shape == (1_000, 2) and inner.sum() == 500
    assert r[inner].max() <= 0.5 and r[~inner].min() >= 1.0 and r[~inner].max() <= 1.5
    # Uniform by area: the median radius of the ring is sqrt((1 + 1.5^2) / 2) = 1.275.
    assert abs(np.median(r[~inner]) - 1.2748) < 0.02


def test_bad_arguments_name_the_argument():
    with pytest.raises(ValueError, match="`n`"):
        cj.learn.nested_rings(7, key=jax.random.key(0))
    with pytest.raises(ValueError, match="`outer`"):
        cj.learn.nested_rings(8, key=jax.random.key(0), outer=(0.4, 1.0))
    x, y = cj.learn.nested_rings(8, key=jax.random.key(0))
    with pytest.raises(ValueError, match="`kind`.*'augmented'"):
        cj.learn.fit_ring_classifier(x, y, kind="augmentd", key=jax.random.key(0))
    with pytest.raises(ValueError, match="`augment`"):
        cj.learn.fit_ring_classifier(x, y, kind="augmented", augment=0, key=jax.random.key(0))
    with pytest.raises(ValueError, match="`y`"):
        cj.learn.fit_ring_classifier(x, y + 2.0, kind="nonsmooth", key=jax.random.key(0))


def test_boundary_traced_by_the_inverse_flow_is_the_decision_boundary():
    # An untrained planar neural ODE: the traced curve, carried forward by the flow, lies
    # on the readout's line (to the RK4 error of 400 steps both ways), and it is
    # unbounded: both ends far outside the rings.
    mlp = cj.learn.MLP.init(jax.random.key(3), 2, 2, hidden=8, depth=1)
    unit = cj.learn.Normalizer(mean=jnp.zeros(2), scale=jnp.ones(2))
    flow = cj.learn.NeuralODE(
        mlp=mlp, state_normalizer=unit, derivative_normalizer=unit, initial_state=jnp.zeros(2)
    )
    clf = cj.learn.RingClassifier(
        flow=flow, weights=jnp.array([1.0, -2.0]), bias=jnp.array(0.3), steps=400
    )
    curve = cj.learn.decision_boundary_preimage(clf, points=201)
    np.testing.assert_allclose(np.asarray(clf.logits(curve)), 0.0, atol=1e-9)
    assert float(jnp.linalg.norm(curve[0])) > 10 and float(jnp.linalg.norm(curve[-1])) > 10
    with pytest.raises(ValueError, match="`model`"):
        cj.learn.decision_boundary_preimage(
            cj.learn.RingClassifier(flow=flow, weights=jnp.ones(3), bias=0.0, augment=1)
        )


def test_nonsmooth_flow_maps_the_rings_to_two_points():
    clf = cj.learn.RingClassifier(
        flow=cj.systems.RingSeparatingFlow(),
        weights=jnp.array([4.0, 0.0]),
        bias=-4.0,
        time=5.0,
        steps=50,
    )
    x, y = cj.learn.nested_rings(200, key=jax.random.key(1))
    z = np.asarray(clf.transform(x))
    inner = np.asarray(y) == 0.0
    # r(5) = r0 e^-5 <= 0.0034 inside; outside r -> 2, |theta(5)| <= pi e^-5 = 0.021.
    assert np.linalg.norm(z[inner], axis=-1).max() < 0.004
    np.testing.assert_allclose(z[~inner], [[2.0, 0.0]] * (~inner).sum(), atol=0.05)
    assert clf.accuracy(x, y) == 1.0 and cj.learn.inner_region_is_bounded(clf)


def _run(tmp_path, *args):
    out = subprocess.run(
        [sys.executable, str(EXAMPLE), *args, "--out", "rings"],
        cwd=tmp_path, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert (tmp_path / "rings" / "decision_boundaries.png").exists()
    acc = re.search(r"test accuracies \(%\): (\{.*\})", out.stdout)
    assert acc is not None, out.stdout
    return out.stdout, eval(acc.group(1))


def _check(text, acc):
    # The augmented and non-smooth models enclose the disc and reach >= 99 %; the plain
    # neural ODE's boundary runs out to infinity through the ring (a homeomorphism).
    assert acc["augmented"] >= 99.0 and acc["nonsmooth"] >= 99.0
    assert "augmented neural ODE (+1 dim)" in text and "(unbounded both ways)" in text
    lines = {ln.split("train")[0].strip(): ln for ln in text.splitlines() if "enclosed" in ln}
    assert lines["non-smooth flow (readout only)"].split("grid: ")[1].startswith("True")
    ends = re.search(r"runs from radius ([\d.]+) to radius ([\d.]+)", text)
    assert ends is not None and min(float(ends.group(1)), float(ends.group(2))) > 1.5


@pytest.mark.slow  # the default suite's time budget; unit tests cover the parts
def test_nested_rings_example_quick(tmp_path):
    text, acc = _run(tmp_path, "--quick")
    _check(text, acc)


@pytest.mark.slow
def test_nested_rings_example_full(tmp_path):
    text, acc = _run(tmp_path)
    _check(text, acc)
    assert acc["augmented"] == 100.0 and acc["nonsmooth"] == 100.0
