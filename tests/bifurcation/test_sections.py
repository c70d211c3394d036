"""Poincare sections: crossings located inside a step, on the section to rounding."""

from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import chaosjax as cj
from chaosjax.bifurcation import AbstractSection
from chaosjax.bifurcation.sections import section_crossings


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


class _HeightAbove(AbstractSection):
    """x[2] = height crossed upwards: a user's own section, written on the abstract base."""

    height: float = 27.0
    direction: ClassVar[int] = 1

    def value(self, x, f):
        return x[2] - self.height

    def describe(self):
        return f"x[2] = {self.height}"

    def check_dim(self, dim):
        if dim < 3:
            raise ValueError(f"needs dim >= 3, got {dim}.")


def test_a_users_section_gives_the_points_of_the_equal_hyperplane():
    lor = cj.systems.Lorenz63()
    kw = dict(transient=200, keep=8, dt=0.01)
    mine = cj.orbit_diagram(lor, "rho", jnp.array([28.0]), section=_HeightAbove(), **kw)
    plane = cj.Hyperplane(normal=[0.0, 0.0, 1.0], offset=27.0, direction=1)
    ref = cj.orbit_diagram(lor, "rho", jnp.array([28.0]), section=plane, **kw)
    # The same section function up to the order of its terms: the same crossings.
    assert np.allclose(np.asarray(mine.points), np.asarray(ref.points), rtol=0, atol=1e-12)
    assert np.allclose(np.asarray(mine.times), np.asarray(ref.times), rtol=0, atol=1e-12)


def test_crossings_need_a_discretised_flow():
    with pytest.raises(ValueError, match="AbstractDiscretizedFlow"):
        section_crossings(cj.systems.Henon(), cj.LocalMaxima(0), jnp.zeros(2), 4, 10)
