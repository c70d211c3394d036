"""Orbit diagrams of maps and flows: shapes, known windows, sweeps, bad input."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import chaosjax as cj

LOG = cj.systems.Logistic()
X_HALF = jnp.array([0.5])  # the critical point: its orbit finds the attractor (Singer)


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
    # Row-major pairs: each r beside its 10 kept points.
    np.testing.assert_array_equal(p, np.repeat(np.asarray(rs), 10))
    np.testing.assert_array_equal(x, np.asarray(d.points[:, :, 0]).ravel())
    # A diverging orbit (r = 4.2 escapes to -inf): counted up to its last finite iterate.
    e = cj.orbit_diagram(LOG, "r", jnp.array([3.2, 4.2]), jnp.array([0.3]), transient=0, keep=20)
    assert e.diverged.tolist() == [False, True] and int(e.counts[0]) == 20
    k = int(e.counts[1])
    assert 0 < k < 20 and np.all(np.isfinite(np.asarray(e.points[1, :k])))
    assert not np.any(np.isfinite(np.asarray(e.points[1, k:])))


def test_a_maps_iteration_numbers_are_made_when_read():
    d = cj.orbit_diagram(LOG, "r", jnp.array([2.9, 3.3, 3.7]), X_HALF, transient=50, keep=5)
    want = np.tile(np.arange(1.0, 6.0), (3, 1))
    assert d._times is None  # nothing of (n, keep) stored
    np.testing.assert_array_equal(np.asarray(d.times), want)
    np.testing.assert_array_equal(d.to_xarray()["times"].values, want)
    assert "times=[[1., 2., 3., 4., 5.]," in repr(d)
    # A slice of the record keeps its numbers consistent with its points.
    part = jax.tree.map(lambda a: a[1:], d)
    np.testing.assert_array_equal(np.asarray(part.times), want[1:])
    # Returned from jit: the same.
    got = jax.jit(lambda r: cj.orbit_diagram(LOG, "r", r, X_HALF, transient=50, keep=5))(
        jnp.array([2.9, 3.3, 3.7])
    )
    np.testing.assert_array_equal(np.asarray(got.times), want)
    np.testing.assert_array_equal(np.asarray(got.points), np.asarray(d.points))


class _Decay(cj.Flow):
    """A flow without a `default_dt`: `dt` must be given."""

    k: float = cj.systems.param(0.5)

    def vector_field(self, x):
        return -self.k * x

    def default_state(self):
        return jnp.ones(1)


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
        cj.orbit_diagram(_Decay(), "k", jnp.array([0.5]), transient=1, keep=1)
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
    # A turning-point section is all static (its coordinate is an index); a hyperplane's
    # normal and offset are array leaves, traced under jit.
    assert eqx.filter(cj.LocalMaxima(2), eqx.is_array) == cj.LocalMaxima(2)
    assert jax.tree.leaves(cj.LocalMaxima(2)) == []
    plane = cj.Hyperplane(normal=[0.0, 0.0, 1.0], offset=27.0)
    leaves = jax.tree.leaves(plane)
    assert [np.asarray(a).tolist() for a in leaves] == [[0.0, 0.0, 1.0], 27.0]


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
