"""Attractor classification: every label with its evidence, and its options."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import chaosjax as cj

LOG = cj.systems.Logistic()
X_HALF = jnp.array([0.5])  # the critical point: its orbit finds the attractor (Singer)


def test_lorenz_z_maxima_orbit_diagram_and_classification():
    lor = cj.systems.Lorenz63()
    sec = cj.LocalMaxima(2)
    rhos = jnp.array([28.0, 100.5, 160.0])
    d = cj.orbit_diagram(
        lor, "rho", rhos, lor.default_state(), transient=20_000, keep=128, dt=0.01, section=sec
    )
    assert d.counts.tolist() == [128] * 3
    per, _ = cj.detect_period(d.points, max_period=32, tol=1e-4, count=d.counts)
    assert per[0] == 0 and per[1] >= 1 and per[2] >= 1
    # z-maxima at rho = 28 fill the cusp-shaped return map's range (about 30..48).
    z = np.asarray(d.points[0, :, 2])
    assert 29 < z.min() < 33 and 45 < z.max() < 49 and len(np.unique(z.round(3))) > 100
    # Each stored point is a maximum of z: dz/dt = xy - beta z vanishes there.
    dz = jax.vmap(lor.vector_field)(d.points[1])[:, 2]
    assert np.max(np.abs(np.asarray(dz))) < 1e-8
    c = cj.classify_sweep(
        lor,
        "rho",
        rhos,
        lor.default_state(),
        dt=0.01,
        section=sec,
        transient=20_000,
        keep=128,
        max_period=32,
        lyap_steps=20_000,
    )
    assert c.labels == ["chaotic", "periodic", "periodic"]
    lam = np.asarray(c.exponents)
    assert abs(lam[0, 0] - 0.906) < 0.1  # Sprott: 0.9056
    assert np.all(np.abs(lam[1:, 0]) < 0.02) and np.all(lam[1:, 1] < -0.05)
    assert int(c.period[1]) == int(per[1])


@pytest.mark.slow
def test_lorenz_rho_sweep_0_to_200():
    lor = cj.systems.Lorenz63()
    rhos = jnp.linspace(0.25, 200.0, 800)
    c = cj.classify_sweep(
        lor,
        "rho",
        rhos,
        lor.default_state(),
        dt=0.01,
        section=cj.LocalMaxima(2),
        transient=50_000,
        keep=128,
        max_period=32,
        lyap_steps=20_000,
    )
    labels = np.array(c.labels)
    r = np.asarray(rhos)
    assert set(labels[r < 13.9]) == {"fixed_point"}  # origin, then C+- (rho > 1)
    assert labels[np.argmin(abs(r - 28))] == "chaotic"
    window = (r > 100.0) & (r < 100.8)
    assert window.any() and set(labels[window]) == {"periodic"}
    assert np.all(np.abs(np.asarray(c.exponents)[window, 0]) < 0.02)
    assert labels[(r > 30) & (r < 99)].tolist().count("chaotic") > 0.8 * ((r > 30) & (r < 99)).sum()


class _Rotation(cj.Map):
    """x -> R(2 pi w) x: a quasi-periodic orbit for irrational w (exponents 0, 0)."""

    w: jax.Array = cj.systems.param(0.5 * (np.sqrt(5.0) - 1.0))

    def step(self, x):
        c, s = jnp.cos(2 * jnp.pi * self.w), jnp.sin(2 * jnp.pi * self.w)
        return jnp.stack([c * x[0] - s * x[1], s * x[0] + c * x[1]])

    def default_state(self):
        return jnp.array([1.0, 0.0])


class _TwoOscillators(cj.Flow):
    """Two uncoupled harmonic oscillators with frequencies 1 and sqrt 2: a 2-torus."""

    w: jax.Array = cj.systems.param(np.sqrt(2.0))

    def vector_field(self, x):
        return jnp.stack([x[1], -x[0], self.w * x[3], -self.w * x[2]])

    def default_state(self):
        return jnp.array([1.0, 0.0, 1.0, 0.0])


def test_classification_of_every_label_with_evidence():
    c = cj.classify_sweep(
        LOG, "r", jnp.array([2.8, 3.5, 3.83, 4.0, 4.1]), jnp.array([0.3]), transient=5_000
    )
    assert c.labels == ["fixed_point", "periodic", "periodic", "chaotic", "divergent"]
    assert c.period.tolist()[:3] == [1, 4, 3]
    # Evidence: exponent ln 2 at r = 4; the 4-cycle's return distance vanishes at p = 4.
    assert abs(float(c.exponents[3, 0]) - np.log(2)) < 0.02
    assert float(c.return_distances[1, 3]) < 1e-12 < float(c.return_distances[1, 1])
    assert c.counts() == {"fixed_point": 1, "periodic": 2, "chaotic": 1, "divergent": 1}
    qp = cj.classify_attractor(_Rotation(), transient=100)
    assert qp.label == "quasi_periodic" and int(qp.period) == 0
    torus = cj.classify_attractor(_TwoOscillators(), dt=0.05, transient=100)
    assert torus.label == "quasi_periodic"
    assert np.all(np.abs(np.asarray(torus.exponents)) < 0.02)
    # Flows' limit cycles and equilibria: tests/test_piecewise.py and the Lorenz tests.


def test_unresolved_is_not_forced():
    # From x0 = 0.5 at r = 4 the orbit lands exactly on the unstable fixed point 0
    # (0.5 -> 1 -> 0): period 1 but exponent ln 4 > 0. The evidence conflicts.
    c = cj.classify_attractor(cj.systems.Logistic(r=4.0), X_HALF, transient=100)
    assert c.label == "unresolved"
    assert int(np.argmax(np.asarray(c.return_distances) <= float(c.threshold))) == 0
    assert abs(float(c.exponents[0]) - np.log(4)) < 1e-9


def test_options_module_and_keywords_are_the_same_classification():
    rs = jnp.array([2.8, 3.5, 4.0])
    opts = cj.ClassifyOptions(transient=2_000, keep=64, max_period=16, lyap_steps=2_000)
    x0 = jnp.array([0.3])
    by_module = cj.classify_sweep(LOG, "r", rs, x0, options=opts)
    by_keywords = cj.classify_sweep(
        LOG, "r", rs, x0, transient=2_000, keep=64, max_period=16, lyap_steps=2_000
    )
    assert by_module.labels == by_keywords.labels == ["fixed_point", "periodic", "chaotic"]
    # The same options, hence the same compiled computation: identical evidence.
    for a, b in zip(jax.tree.leaves(by_module), jax.tree.leaves(by_keywords), strict=True):
        assert np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True)
    one = cj.classify_attractor(LOG.replace(r=3.5), X_HALF, options=opts)
    assert one.label == "periodic" and int(one.period) == 4
    # NumPy scalars are accepted and stored as Python numbers (static under jit).
    o = cj.ClassifyOptions(keep=np.int64(128), tol=np.float64(1e-5))
    assert type(o.keep) is int and o.keep == 128 and type(o.tol) is float and o.tol == 1e-5


def test_options_check_themselves():
    with pytest.raises(ValueError, match="`keep` must be a positive int"):
        cj.ClassifyOptions(keep=0)
    with pytest.raises(ValueError, match=r"`keep` \(100\) must be at least 2 \* max_period"):
        cj.ClassifyOptions(keep=100, max_period=64)
    with pytest.raises(ValueError, match="`lyap_tol` must be a positive"):
        cj.ClassifyOptions(lyap_tol=-1e-3)
    with pytest.raises(ValueError, match="`transient` must be a non-negative int"):
        cj.ClassifyOptions(transient=-1)
    with pytest.raises(ValueError, match="`bound` must be a positive finite float"):
        cj.ClassifyOptions(bound=float("inf"))
    # Checked against the system when used: the number of exponents, the section.
    with pytest.raises(ValueError, match="`exponents` must be at most dim = 1"):
        cj.classify_attractor(LOG, X_HALF, options=cj.ClassifyOptions(exponents=2))
    with pytest.raises(ValueError, match="section.coordinate"):
        cj.classify_attractor(cj.systems.Lorenz63(), dt=0.01, section=cj.LocalMaxima(5))
    # One way at a time, and only known names.
    with pytest.raises(ValueError, match="either as `options="):
        cj.classify_attractor(LOG, X_HALF, options=cj.ClassifyOptions(), keep=64)
    with pytest.raises(TypeError, match="'kepp'.*fields of cj.ClassifyOptions"):
        cj.classify_attractor(LOG, X_HALF, kepp=64)
