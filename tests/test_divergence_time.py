"""Divergence times of token sequences: exact counts, the sampling procedure against an
independent bit count on the doubling map, and the time scales of the Lorenz and
Rössler systems at the standard parameters and at those printed by Shalova &
Oseledets (2020)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import chaosjax as cj


class Doubling(cj.Map):
    """x -> 2x mod 1: exact in binary floating point, so its tokens floor(2 x_t) are the
    binary digits of x_0."""

    def step(self, x):
        return jnp.mod(2.0 * x, 1.0)

    def default_state(self):
        return jnp.array([0.3])


def _bits(x0, length):
    """The first `length` binary digits of each x0 in [0, 1), from its exact 53-bit
    integer numerator (independent of iterating the map)."""
    m = (np.asarray(x0, dtype=np.float64) * 2.0**53).astype(np.int64)
    return np.stack([(m >> (52 - t)) & 1 for t in range(length)], axis=-1)


def _grid_encoder(states, n):
    flat = states.reshape(-1, states.shape[-1])
    lo, hi = flat.min(0), flat.max(0)
    h = (hi - lo) / n

    def encode(x):
        flat = x.reshape(-1, x.shape[-1])
        i = jnp.clip(jnp.floor((flat - lo[None]) / h[None]), 0, n - 1).astype(jnp.int32)
        tok = (i[:, 0] * n + i[:, 1]) * n + i[:, 2]
        return tok.reshape(x.shape[:-1])

    return encode, 0.5 * float(jnp.sqrt(jnp.sum(h * h)))


def test_divergence_time_counts_tokens_after_the_condition():
    ref = jnp.array([3, 3, 4, 5, 6, 7])
    cont = jnp.array(
        [[3, 3, 4, 5, 0, 0], [3, 3, 4, 5, 6, 7], [3, 1, 4, 5, 6, 7], [3, 3, 9, 5, 6, 7]]
    )
    res = cj.metrics.divergence_time(ref, cont, condition=2, dt=0.1)
    np.testing.assert_array_equal(res.steps, [2, 4, 4, 0])
    np.testing.assert_array_equal(res.accepted, [True, True, False, True])
    np.testing.assert_array_equal(res.reached_end, [False, True, True, False])
    assert res.horizon == 4 and res.condition == 2
    np.testing.assert_allclose(res.time, [0.2, 0.4, 0.4, 0.0])
    assert float(res.longest_time) == pytest.approx(0.4)
    assert float(res.mean_time) == pytest.approx(0.2)  # (0.2 + 0.4 + 0) / 3
    assert float(res.median_time) == pytest.approx(0.2)
    assert float(res.acceptance) == pytest.approx(0.75)
    # Without a condition every continuation is accepted and counted from the start.
    free = cj.metrics.divergence_time(ref, cont, condition=0)
    np.testing.assert_array_equal(free.steps, [4, 6, 1, 2])
    assert bool(jnp.all(free.accepted))
    # Negative tokens (invalid states) never match, not even each other.
    bad = cj.metrics.divergence_time(
        jnp.array([1, -1, 2]), jnp.array([[1, -1, 2], [1, 2, 2]]), condition=1
    )
    np.testing.assert_array_equal(bad.steps, [0, 0])


def test_divergence_time_keeps_reference_axes_and_marks_empty_references():
    ref = jnp.array([[0, 1, 2, 3], [5, 5, 5, 5]])
    cont = jnp.array([[[0, 1, 2, 0], [0, 1, 0, 0]], [[4, 5, 5, 5], [4, 5, 5, 5]]])
    res = cj.metrics.divergence_time(ref, cont, condition=1, dt=2.0)
    assert res.steps.shape == (2, 2)
    np.testing.assert_array_equal(res.longest_steps, [2, -1])
    assert float(res.longest_time[0]) == 4.0 and np.isnan(float(res.longest_time[1]))
    # The mean over references leaves out the one without an accepted continuation.
    assert float(res.mean_longest_time) == 4.0
    assert float(res.mean_time) == pytest.approx(3.0)  # (4 + 2) / 2


def test_sampled_divergence_on_the_doubling_map_equals_an_independent_bit_count():
    # Tokens floor(2 x_t) are the binary digits of x_0: a sample matches the reference
    # as long as its digits agree, which the exact integer bits of x_0 decide.
    k, horizon = 4, 20
    x0 = jnp.array([[0.3], [0.71]])
    res = cj.metrics.sampled_divergence_time(
        Doubling(),
        x0,
        encode=lambda x: jnp.floor(2.0 * x[..., 0]).astype(jnp.int32),
        condition=k,
        horizon=horizon,
        samples=500,
        scale=1e-3,
        key=jax.random.key(3),
    )
    d = res.divergence
    assert d.steps.shape == (2, 500) and res.initial_states.shape == (2, 500, 1)
    ref_bits = _bits(x0[:, 0], k + horizon)
    np.testing.assert_array_equal(res.reference_tokens, ref_bits)
    bits = _bits(res.initial_states[..., 0], k + horizon)
    same = bits == ref_bits[:, None, :]
    accepted = same[..., :k].all(-1)
    after = same[..., k:]
    steps = np.where(after.all(-1), horizon, np.argmin(after, axis=-1))
    np.testing.assert_array_equal(d.accepted, accepted)
    np.testing.assert_array_equal(d.steps, steps)
    assert d.dt == 1.0 and int(res.invalid.sum()) == 0
    # A perturbation of 1e-3 ~ 2^-10 leaves ~10 digits in common, k = 4 of them first.
    assert 3.0 < float(d.mean_time) < 8.0
    # The paired state is the first accepted sample's orbit.
    first = int(np.argmax(np.asarray(d.accepted[0])))
    np.testing.assert_allclose(res.paired_states[0, 0], res.initial_states[0, first])
    # Comparing against given tokens: the reference itself gives the same result.
    again = cj.metrics.sampled_divergence_time(
        Doubling(),
        x0,
        encode=lambda x: jnp.floor(2.0 * x[..., 0]).astype(jnp.int32),
        condition=k,
        horizon=horizon,
        samples=500,
        scale=1e-3,
        key=jax.random.key(3),
        reference=res.reference_tokens,
    )
    np.testing.assert_array_equal(again.divergence.steps, d.steps)


@pytest.fixture(scope="module")
def lorenz_attractor():
    lor = cj.systems.Lorenz63()
    xs = cj.trajectory(
        lor, lor.default_state(), steps=90_000, dt=0.01, transient=3_000, save_every=3
    )
    return lor, xs


def test_lorenz_divergence_time_is_near_the_inverse_exponent(lorenz_attractor):
    # The paper's set-up (N = 50 grid, tau = 0.03, k = 100) with true trajectories on
    # both sides. Its perturbation l_d exp(-lambda k tau) is accepted for ~0.05% of the
    # samples; a tenth of it for ~4%, and the mean time after the condition measured
    # with 20 x 5,000 samples was 0.88 (at the paper's scale 0.84), beside
    # 1/lambda = 1.10 and the paper's 1.11 (from its model).
    lor, xs = lorenz_attractor
    encode, radius = _grid_encoder(xs, 50)
    k, tau = 100, 0.03
    scale = 0.1 * radius * np.exp(-0.9056 * k * tau)
    res = cj.metrics.sampled_divergence_time(
        lor,
        xs[1000::3000][:8],
        encode=encode,
        condition=k,
        horizon=200,
        samples=1_000,
        scale=scale,
        key=jax.random.key(0),
        dt=0.01,
        save_every=3,
    )
    d = res.divergence
    assert d.dt == pytest.approx(tau)
    assert 0.01 < float(d.acceptance) < 0.1
    # 8 x 1000 samples leave ~300 accepted: the mean is within +-30% of 0.88.
    assert 0.6 < float(d.mean_time) < 1.25
    # Few accepted samples outlast the horizon (6 time units).
    assert float(jnp.sum(d.reached_end & d.accepted)) < 0.05 * float(jnp.sum(d.accepted))
    # The paired trajectories share the reference's first k tokens.
    ok = ~jnp.isnan(res.paired_states[:, 0, 0])
    assert bool(jnp.all(encode(res.paired_states[ok][:, :k]) == res.reference_tokens[ok][:, :k]))


def test_printed_lorenz_parameters_are_not_chaotic():
    # sigma = 28, rho = 10, beta = 2.67 (the paper's text): rho is below the Hopf value
    # sigma (sigma + beta + 3) / (sigma - beta - 1) = 38.7, so C+- are stable foci.
    lor = cj.systems.Lorenz63(sigma=28.0, rho=10.0, beta=2.67)
    x = cj.final_state(lor, jnp.array([0.05, -0.03, 0.08]), steps=20_000, dt=0.01)
    c = np.sqrt(2.67 * 9.0)
    np.testing.assert_allclose(np.abs(np.asarray(x)), [c, c, 9.0], atol=1e-6)
    res = cj.lyapunov_spectrum(lor, x, steps=20_000, dt=0.01)
    # At a fixed point the exponents are the real parts of the Jacobian's eigenvalues
    # (-0.945 twice, -29.78); the pair of a focus converges slowly (rotation), and the
    # sum is the divergence -(sigma + 1 + beta) up to RK4's error.
    eig = np.linalg.eigvals(np.asarray(lor.jacobian(x)))
    np.testing.assert_allclose(np.asarray(res.exponents), np.sort(eig.real)[::-1], atol=0.02)
    assert float(res.exponents.sum()) == pytest.approx(-(28.0 + 1.0 + 2.67), abs=1e-2)
    assert float(res.exponents[0]) < -0.9
    # Token sequences near it never diverge: every accepted sample reaches the horizon
    # (tokens are non-negative: negative ones mark invalid states).
    encode = lambda s: jnp.floor(s[..., 0] + 20.0).astype(jnp.int32)  # noqa: E731
    d = cj.metrics.sampled_divergence_time(
        lor, x, encode=encode, condition=10, horizon=100, samples=50, scale=1e-3,
        key=jax.random.key(1), dt=0.03,
    ).divergence  # fmt: skip
    assert bool(jnp.all(d.reached_end[d.accepted])) and float(d.acceptance) > 0.9


def test_printed_rossler_parameters_give_an_inverse_exponent_near_11():
    # a = 0.15, b = 0.2, c = 10: lambda_1 = 0.0897 (2e5 steps of 0.01 after 5e4),
    # so 1/lambda_1 = 11.1, not the 5.33 the paper quotes.
    ros = cj.systems.Rossler(a=0.15, b=0.2, c=10.0)
    res = cj.lyapunov_spectrum(
        ros, jnp.array([5.0, 0.0, 0.0]), steps=100_000, dt=0.01, transient=20_000
    )
    assert abs(1.0 / float(res.exponents[0]) - 11.1) < 1.0
    # The sum is the mean divergence a + <x> - c; the third exponent is about -9.8.
    assert abs(float(res.exponents[2]) + 9.8) < 0.1


@pytest.mark.parametrize(
    ("cont_shape", "kwargs", "match"),
    [
        ((2, 5), dict(condition=1), "`continuations` must have the reference's length"),
        ((3, 2, 4), dict(condition=1), "`continuations` must have shape"),
        ((2, 4), dict(condition=4), "`condition` must be less than"),
        ((2, 4), dict(condition=-1), "`condition` must be a non-negative int"),
        ((2, 4), dict(condition=1, dt=0.0), "`dt` must be a positive"),
    ],
)
def test_divergence_time_bad_input(cont_shape, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cj.metrics.divergence_time(jnp.zeros(4, int), jnp.zeros(cont_shape, int), **kwargs)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        (dict(x0=jnp.zeros(2)), "`x0` must have shape"),
        (dict(condition=-1), "`condition` must be a non-negative int"),
        (dict(horizon=0), "`horizon` must be a positive int"),
        (dict(samples=0), "`samples` must be a positive int"),
        (dict(scale=0.0), "`scale` must be a positive"),
        (dict(encode=lambda x: x[..., 0]), "`encode` must map states"),
        (dict(reference=jnp.zeros(5, int)), r"`reference` must have shape \(24,\)"),
        (dict(dt=0.1), "`dt`"),
    ],
)
def test_sampled_divergence_time_bad_input(changes, match):
    args = dict(
        x0=jnp.array([0.3]),
        encode=lambda x: jnp.floor(2.0 * x[..., 0]).astype(jnp.int32),
        condition=4,
        horizon=20,
        samples=10,
        scale=1e-3,
        key=jax.random.key(0),
    )
    args.update(changes)
    with pytest.raises(ValueError, match=match):
        cj.metrics.sampled_divergence_time(Doubling(), **args)
