"""Orbit diagrams, period detection, fixed points, periodic orbits, stability boundaries
and attractor classification (issue 6)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import chaosjax as cj
from chaosjax.bifurcation import feigenbaum_ratios

LOG = cj.systems.Logistic()
X_HALF = jnp.array([0.5])  # the critical point: its orbit finds the attractor (Singer)
# Period-doubling points of the logistic map (Feigenbaum 1978; r2 = 1 + sqrt 6 exactly).
R_PD = (3.0, 1.0 + np.sqrt(6.0), 3.5440903596, 3.5644072661, 3.5687594195)
FEIGENBAUM = 4.669201609


# ----------------------------------------------------------------------- logistic


def test_logistic_orbit_diagram_shapes_and_periods():
    rs = jnp.array([2.8, 3.2, 3.5, 3.555, 3.83, 3.9])
    d = cj.orbit_diagram(LOG, "r", rs, X_HALF, transient=20_000, keep=256)
    assert d.points.shape == (6, 256, 1) and d.counts.tolist() == [256] * 6
    per, dist = cj.detect_period(d.points, max_period=32)
    # Known windows: fixed point, 2-, 4-, 8-cycle, the period-3 window, chaos.
    assert per.tolist() == [1, 2, 4, 8, 3, 0]
    assert dist.shape == (6, 32)
    # The kept points of r = 3.2 are the analytic 2-cycle (1 + r +- sqrt((r+1)(r-3))) / 2r.
    r = 3.2
    cyc = (1 + r + np.array([-1, 1]) * np.sqrt((r + 1) * (r - 3))) / (2 * r)
    assert np.allclose(np.unique(np.round(np.asarray(d.points[1, :, 0]), 10)), cyc, atol=1e-9)


def test_logistic_period_doubling_points_from_orbit_diagram():
    # Multisection of the detected period on orbit diagrams. The transient (3e5) sets the
    # accuracy: critical slowing down near r_n shifts the boundary by ~ln(1/tol)/transient
    # ~ 5e-5 for r1 and less further on (measured: r1 - 3 = -3e-5).
    found = []
    for lo, hi in [(2.9, 3.1), (3.3, 3.5), (3.5, 3.55)]:
        pc = cj.locate_period_change(
            LOG, "r", lo, hi, X_HALF, transient=300_000, keep=64, max_period=16, points=48, rounds=3
        )
        assert pc.period_after == 2 * pc.period_before
        found.append(pc.value)
    assert np.allclose(found, R_PD[:3], atol=1e-4)


def test_feigenbaum_ratio_from_stability_boundaries():
    # r_n located where the 2^(n-1)-cycle's multiplier crosses -1 (bisection on stability,
    # cycle continued by Newton on F^p); brackets around the known values are 1e-3 wide,
    # far tighter than the gaps r_{n+1} - r_n >= 4e-3.
    rs = []
    for n, r in enumerate(R_PD):
        lo, hi = round(r, 3) - 1e-3, round(r, 3) + 1e-3
        guess = cj.final_state(LOG.replace(r=lo), X_HALF, steps=20_000)
        sc = cj.stability_boundary(LOG, "r", lo, hi, guess, period=2**n)
        assert sc.kind == "period_doubling"
        assert np.isclose(float(sc.eigenvalues[0].real), -1.0, atol=1e-8)
        rs.append(sc.value)
    assert np.allclose(rs, R_PD, atol=1e-8)
    delta = feigenbaum_ratios(rs)
    # r1..r5 give three ratios 4.751, 4.656, 4.668; the last is within 0.02 % of delta.
    assert abs(delta[-1] / FEIGENBAUM - 1) < 0.01


@pytest.mark.slow
def test_feigenbaum_ratio_from_orbit_diagram_alone():
    # r1..r5 only from orbit diagrams + period detection (transient 1e6 iterations).
    found = []
    for lo, hi in [(2.9, 3.1), (3.3, 3.5), (3.5, 3.55), (3.56, 3.566), (3.566, 3.569)]:
        found.append(
            cj.locate_period_change(LOG, "r", lo, hi, X_HALF, transient=10**6, keep=128).value
        )
    assert np.allclose(found, R_PD, atol=2e-5)
    assert abs(feigenbaum_ratios(found)[-1] / FEIGENBAUM - 1) < 0.01


def test_logistic_cycles_fixed_points_and_multipliers():
    fp = cj.fixed_points(cj.systems.Logistic(r=2.5), jnp.linspace(-0.2, 0.9, 12)[:, None])
    assert np.allclose(np.asarray(fp.points[:, 0]), [0.0, 1 - 1 / 2.5], atol=1e-12)
    assert np.allclose(np.asarray(fp.eigenvalues[:, 0]), [2.5, 2 - 2.5])
    assert fp.stable.tolist() == [False, True]
    po = cj.periodic_orbits(cj.systems.Logistic(r=3.2), jnp.linspace(0.1, 0.9, 9)[:, None], 2)
    assert po.points.shape == (1, 2, 1) and int(po.period[0]) == 2
    # Multiplier of the 2-cycle: 4 + 2r - r^2 (exact).
    assert np.isclose(complex(po.multipliers[0, 0]), 4 + 2 * 3.2 - 3.2**2, atol=1e-10)
    # Period-3 window (r = 3.83 > 1 + sqrt 8): a stable and an unstable 3-cycle.
    po3 = cj.periodic_orbits(cj.systems.Logistic(r=3.83), jnp.linspace(0.01, 0.99, 60)[:, None], 3)
    assert po3.points.shape[0] == 2 and sorted(po3.stable.tolist()) == [False, True]


def test_henon_fixed_points_analytic():
    hen = cj.systems.Henon()
    a, b = 1.4, 0.3
    x = (-(1 - b) + np.array([-1, 1]) * np.sqrt((1 - b) ** 2 + 4 * a)) / (2 * a)
    fp = cj.fixed_points(hen, jnp.array([[-1.0, -0.3], [0.6, 0.2], [-1.2, -0.4]]))
    assert np.allclose(np.asarray(fp.points), np.c_[x, b * x], atol=1e-12)
    # det DF = -b for every point: the product of the multipliers.
    assert np.allclose(np.prod(np.asarray(fp.eigenvalues), axis=-1), -b)


# ----------------------------------------------------------------------- Lorenz63


def test_lorenz_hopf_point_from_eigenvalues():
    lor = cj.systems.Lorenz63()
    fp = cj.fixed_points(lor, jnp.array([[8.0, 8.0, 27.0], [-8.0, -8.0, 27.0], [0.1, 0.0, 0.0]]))
    assert fp.points.shape == (3, 3)
    # At rho = 28 C+- are saddle-foci with an unstable complex pair (0.094 +- 10.19 i).
    cpm = np.asarray(fp.eigenvalues)[[0, 2]]
    assert np.allclose(np.sort(cpm.real, axis=-1)[:, -1], 0.0940, atol=1e-3)
    h = cj.stability_boundary(lor, "rho", 20.0, 30.0, jnp.array([8.0, 8.0, 24.0]))
    s, b = 10.0, 8.0 / 3.0
    rho_h = s * (s + b + 3) / (s - b - 1)  # 24.7368 (Lorenz 1963)
    assert h.kind == "hopf" and abs(h.value - 24.74) < 1e-2 and abs(h.value - rho_h) < 1e-8
    assert np.isclose(np.max(np.asarray(h.eigenvalues).real), 0.0, atol=1e-8)


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


def test_stability_boundary_names_the_bifurcation():
    # Delayed logistic map: Neimark-Sacker at a = 2, multipliers e^{+-i pi/3}.
    ns = cj.stability_boundary(cj.systems.DelayedLogistic(), "a", 1.9, 2.1, jnp.array([0.5, 0.5]))
    assert ns.kind == "neimark_sacker" and abs(ns.value - 2.0) < 1e-9
    assert np.allclose(np.abs(np.asarray(ns.eigenvalues)), 1.0, atol=1e-9)
    # Lorenz origin at rho = 1 (pitchfork) and logistic x = 0 at r = 1 (transcritical): a
    # real eigenvalue through 0 / a multiplier through +1.
    pf = cj.stability_boundary(cj.systems.Lorenz63(), "rho", 0.5, 1.5, jnp.zeros(3))
    tc = cj.stability_boundary(LOG, "r", 0.5, 1.5, jnp.array([0.0]))
    assert pf.kind == tc.kind == "fold"
    assert abs(pf.value - 1.0) < 1e-9 and abs(tc.value - 1.0) < 1e-9


# ----------------------------------------------------------------------- classification


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


# ----------------------------------------------------------------------- sweeps


def test_sweep_matches_single_runs_and_is_one_compiled_call():
    rs = jnp.linspace(3.0, 4.0, 16)
    d = cj.orbit_diagram(LOG, "r", rs, X_HALF, transient=100, keep=10)
    for i in (0, 7, 15):
        xs = cj.trajectory(LOG.replace(r=rs[i]), X_HALF, steps=110)
        assert np.allclose(np.asarray(d.points[i]), np.asarray(xs[101:]), atol=1e-12)
    # Per-value initial states (n, dim) are accepted too.
    d2 = cj.orbit_diagram(LOG, "r", rs, jnp.full((16, 1), 0.5), transient=100, keep=10)
    assert np.array_equal(np.asarray(d.points), np.asarray(d2.points))
    p, x = d.scatter(0)
    assert p.shape == x.shape == (160,)
    # A diverging orbit (r = 4.2 escapes to -inf): counted up to its last finite iterate.
    e = cj.orbit_diagram(LOG, "r", jnp.array([3.2, 4.2]), jnp.array([0.3]), transient=0, keep=20)
    assert e.diverged.tolist() == [False, True] and int(e.counts[0]) == 20
    k = int(e.counts[1])
    assert 0 < k < 20 and np.all(np.isfinite(np.asarray(e.points[1, :k])))
    assert not np.any(np.isfinite(np.asarray(e.points[1, k:])))


def test_hyperplane_section_points_lie_on_the_plane():
    lor = cj.systems.Lorenz63()
    sec = cj.Hyperplane(normal=[0.0, 0.0, 1.0], offset=27.0, direction=1)
    d = cj.orbit_diagram(
        lor,
        "rho",
        jnp.array([28.0]),
        lor.default_state(),
        transient=1000,
        keep=50,
        dt=0.01,
        section=sec,
    )
    z = np.asarray(d.points[0, :, 2])
    assert np.max(np.abs(z - 27.0)) < 1e-9
    # Upward crossings only.
    up = jax.vmap(lor.vector_field)(d.points[0])[:, 2]
    assert np.all(np.asarray(up) > 0)


# ----------------------------------------------------------------------- bad input


def test_section_never_crossed_is_a_clear_error():
    lor = cj.systems.Lorenz63()
    sec = cj.Hyperplane(normal=[0.0, 0.0, 1.0], offset=1000.0)
    with pytest.raises(ValueError, match="never crosses the section"):
        cj.orbit_diagram(
            lor,
            "rho",
            jnp.array([28.0, 30.0]),
            lor.default_state(),
            transient=10,
            keep=5,
            dt=0.01,
            section=sec,
            steps=2000,
        )


def test_unknown_or_static_parameter_and_bad_values():
    with pytest.raises(ValueError, match=r"Parameter of Logistic: 'q' is unknown.*Known: r"):
        cj.orbit_diagram(LOG, "q", jnp.array([3.0]), X_HALF, transient=1, keep=1)
    with pytest.raises(ValueError, match="structural"):
        cj.orbit_diagram(
            cj.systems.Lorenz96(n=5), "n", jnp.array([6.0]), transient=1, keep=1, dt=0.01
        )
    with pytest.raises(ValueError, match="finite"):
        cj.orbit_diagram(LOG, "r", jnp.array([3.0, jnp.nan]), X_HALF, transient=1, keep=1)
    with pytest.raises(ValueError, match="`dt` is required"):
        cj.orbit_diagram(cj.systems.Lorenz63(), "rho", jnp.array([28.0]), transient=1, keep=1)
    with pytest.raises(ValueError, match="`keep` must be a positive int"):
        cj.orbit_diagram(LOG, "r", jnp.array([3.0]), X_HALF, transient=1, keep=0)
    with pytest.raises(ValueError, match="section.coordinate"):
        cj.orbit_diagram(
            cj.systems.Lorenz63(),
            "rho",
            jnp.array([28.0]),
            transient=1,
            keep=1,
            dt=0.01,
            section=cj.LocalMaxima(3),
        )
    with pytest.raises(ValueError, match="no stability change"):
        cj.stability_boundary(cj.systems.Lorenz63(), "rho", 26.0, 30.0, jnp.array([8.0, 8, 27]))
    with pytest.raises(ValueError, match="Parameter of Lorenz63"):
        cj.classify_sweep(cj.systems.Lorenz63(), "rh0", jnp.array([1.0]), dt=0.01)
    assert isinstance(eqx.filter(cj.LocalMaxima(2), eqx.is_array), cj.LocalMaxima)


# ----------------------------------------------------------------------- exponents, plots


def test_lyapunov_sweep_and_orbit_diagram_figure():
    rs = jnp.array([2.5, 3.5, 4.0, 4.2])
    lam = cj.bifurcation.lyapunov_sweep(
        LOG, "r", rs, jnp.array([0.3]), steps=20_000, transient=1000
    )
    assert lam.shape == (4, 1)
    assert np.isclose(float(lam[0, 0]), np.log(0.5), atol=1e-9)  # |f'(x*)| = |2 - r|
    assert abs(float(lam[2, 0]) - np.log(2)) < 0.02 and np.isnan(float(lam[3, 0]))
    import matplotlib.pyplot as plt

    import chaosjax.plot as cjp

    d = cj.orbit_diagram(LOG, "r", rs, jnp.array([0.3]), transient=100, keep=50)
    fig = cjp.orbit_diagram(d, lam, labels=["fixed_point", "periodic", "chaotic", "divergent"])
    assert len(fig.axes) == 2 and fig.axes[0].get_shared_x_axes().joined(*fig.axes)
    plt.close(fig)
    plt.close(cjp.poincare_section(d.points[:, :, [0, 0]]))
    plt.close(cjp.return_map(d.points[2]))


@pytest.mark.slow  # a fresh process: ~10 s of import and compilation
def test_sweep_is_sharded_over_devices():
    # A fresh process with two CPU devices: the parameter axis is split over both and the
    # result equals the unsharded one.
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(
        """
        import jax
        jax.config.update("jax_num_cpu_devices", 2)
        import jax.numpy as jnp, numpy as np
        import chaosjax as cj
        rs = jnp.linspace(2.8, 4.0, 64)
        log = cj.systems.Logistic()
        d = cj.orbit_diagram(log, "r", rs, jnp.array([0.5]), transient=100, keep=10)
        d1 = cj.orbit_diagram(log, "r", rs, jnp.array([0.5]), transient=100, keep=10,
                              shard=False)
        assert len(d.points.sharding.device_set) == 2, d.points.sharding
        assert np.array_equal(np.asarray(d.points), np.asarray(d1.points))
        print("ok")
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr[-2000:]
