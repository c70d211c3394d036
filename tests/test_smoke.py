import jax.numpy as jnp

import chaosjax as cj


def test_lorenz_trajectory_shape_and_first_row():
    lor = cj.systems.Lorenz63()
    xs = cj.trajectory(lor, lor.default_state(), steps=100, dt=0.01, save_every=10)
    assert xs.shape == (11, 3)
    assert jnp.allclose(xs[0], lor.default_state())
