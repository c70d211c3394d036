"""Lyapunov spectra against literature values and exact identities."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import chaosjax as cj
from chaosjax.lyapunov import spectrum_on_map


@pytest.fixture(scope="module")
def lorenz_result():
    lor = cj.systems.Lorenz63()
    return cj.lyapunov_spectrum(lor, lor.default_state(), steps=100_000, dt=0.01, transient=1_000)


def test_lorenz63_spectrum_matches_sprott(lorenz_result):
    lam = np.asarray(lorenz_result.exponents)
    # Sprott (2003): 0.9056, 0, -14.5723; 1e5 steps (T = 1000) land within ~5e-3.
    assert abs(lam[0] - 0.9056) < 0.01
    assert abs(lam[1]) < 0.01
    assert abs(lam[2] + 14.5723) < 0.05
    assert lorenz_result.history.shape == (200, 3)
    assert int(lorenz_result.history_steps[-1]) == 100_000
    np.testing.assert_allclose(lorenz_result.history[-1], lam, rtol=0, atol=1e-12)
    assert int(lorenz_result.diverged_at) == -1


def test_lorenz63_sum_is_divergence_up_to_rk4_error_shrinking_like_dt4(lorenz_result):
    # The divergence of Lorenz63 is the constant -(sigma + 1 + beta): the exponents of
    # the exact flow sum to it for any run length, so what is left is RK4's error.
    exact = -(10.0 + 1.0 + 8.0 / 3.0)
    err_01 = abs(float(lorenz_result.exponents.sum()) - exact)
    assert err_01 < 3e-4
    lor = cj.systems.Lorenz63()
    res = cj.lyapunov_spectrum(lor, lor.default_state(), steps=40_000, dt=0.005, transient=200)
    err_005 = abs(float(res.exponents.sum()) - exact)
    # Fourth order: halving dt divides the error by ~16; demand at least 8.
    assert err_01 / err_005 > 8.0


def test_kaplan_yorke_lorenz_and_henon(lorenz_result):
    assert abs(float(cj.kaplan_yorke_dimension(lorenz_result.exponents)) - 2.062) < 0.005
    hen = cj.systems.Henon()
    res = cj.lyapunov_spectrum(hen, hen.default_state(), steps=200_000, transient=1_000)
    assert abs(float(cj.kaplan_yorke_dimension(res.exponents)) - 1.258) < 0.003


def test_kaplan_yorke_edge_cases_and_batching():
    ky = cj.kaplan_yorke_dimension
    assert float(ky(jnp.array([-0.1, -1.0]))) == 0.0
    assert float(ky(jnp.array([0.5, 0.1]))) == 2.0
    # Order does not matter; 1 + 0.5 / 1.0.
    assert float(ky(jnp.array([-1.0, 0.5]))) == pytest.approx(1.5)
    batch = ky(jnp.array([[0.9056, 0.0, -14.5723], [0.41922, -1.62319, 0.0]]))
    assert batch.shape == (2,)


def test_rossler_spectrum():
    ros = cj.systems.Rossler()
    res = cj.lyapunov_spectrum(ros, ros.default_state(), steps=200_000, dt=0.05, transient=2_000)
    lam = np.asarray(res.exponents)
    # Sprott (2003): 0.0714, 0, -5.3943 (T = 1e4 time units).
    assert abs(lam[0] - 0.0714) < 0.005
    assert abs(lam[1]) < 0.005
    assert abs(lam[2] + 5.3943) < 0.05


def test_thomas_spectrum_matches_sprott():
    th = cj.systems.Thomas()
    assert th.b == 0.18
    res = cj.lyapunov_spectrum(th, th.default_state(), steps=1_000_000, dt=0.1, transient=20_000)
    lam = np.asarray(res.exponents)
    # Sprott (2010), Elegant Chaos: 0.0349, 0, -0.5749 at b = 0.18. Over T = 1e5 time
    # units four starts give 0.0341-0.0354 (T = 1e6: 0.0348-0.0349); the sum is the
    # constant divergence -3b.
    np.testing.assert_allclose(lam, th.reference_exponents, atol=0.0025)
    assert lam.sum() == pytest.approx(-0.54, abs=1e-6)


def test_henon_spectrum_identity_and_inverse():
    hen = cj.systems.Henon()
    x0 = hen.default_state()
    res = cj.lyapunov_spectrum(hen, x0, steps=200_000, transient=1_000)
    # Sprott (2003): 0.41922, -1.62319; 2e5 steps land within ~1e-3.
    np.testing.assert_allclose(res.exponents, [0.41922, -1.62319], atol=2e-3)
    # Exact for any run length: the sum is log|det J| = log b.
    assert abs(float(res.exponents.sum()) - np.log(0.3)) < 1e-10
    inv = cj.lyapunov_spectrum(hen, x0, steps=200_000, transient=1_000, inverse=True)
    # The inverted map's spectrum along the same forward orbit: minus the forward one.
    np.testing.assert_allclose(inv.exponents, -res.exponents[::-1], atol=1e-4)


def test_inverse_without_inverse_step_uses_inverse_jacobian():
    # Tinkerbell has no inverse_step; its Jacobian is invertible on the attractor.
    tb = cj.systems.Tinkerbell(b=-0.6)
    fwd = cj.lyapunov_spectrum(tb, tb.default_state(), steps=100_000, transient=1_000)
    inv = cj.lyapunov_spectrum(tb, tb.default_state(), steps=100_000, transient=1_000, inverse=True)
    np.testing.assert_allclose(inv.exponents, -fwd.exponents[::-1], atol=1e-3)


def test_inverse_of_a_discretised_flow_is_minus_the_spectrum():
    lor = cj.systems.Lorenz63()
    kw = dict(steps=5_000, dt=0.01, transient=500)
    fwd = cj.lyapunov_spectrum(lor, lor.default_state(), **kw)
    inv = cj.lyapunov_spectrum(lor, lor.default_state(), inverse=True, **kw)
    np.testing.assert_allclose(inv.exponents, -fwd.exponents[::-1], atol=0.05)
    assert abs(float(inv.exponents.sum() + fwd.exponents.sum())) < 1e-8


def test_logistic_r4_is_ln2():
    res = cj.lyapunov_spectrum(
        cj.systems.Logistic(), jnp.array([0.3]), steps=400_000, transient=1_000
    )
    assert abs(float(res.exponents[0]) - np.log(2.0)) < 1e-3


@pytest.mark.parametrize(
    "system, ref, rtol",
    [
        # Sprott (2003), App. A, with Sprott's (and A. Maus's 2011) Tinkerbell b = -0.6,
        # the class default.
        (cj.systems.Tinkerbell(), (0.1900, -0.5209), 0.02),
        (cj.systems.Lozi(), (0.4702, -1.1634), 0.02),
        (cj.systems.Ikeda(), (0.5076, -0.7183), 0.02),
        # Not reproducible from Sprott's table (see the class docstrings): the values
        # computed here by a 4e6-iteration run, checked below by exact identities.
        (cj.systems.Tinkerbell(b=-0.6013), (0.1999, -0.4999), 0.02),
        (cj.systems.Burgers(), (0.1209, -0.2213), 0.02),
    ],
    ids=["tinkerbell_sprott", "lozi", "ikeda", "tinkerbell_default", "burgers"],
)
def test_planar_maps_match_references(system, ref, rtol):
    res = cj.lyapunov_spectrum(system, system.default_state(), steps=300_000, transient=10_000)
    np.testing.assert_allclose(res.exponents, ref, rtol=rtol)


def test_delayed_logistic_largest_matches_sprott_and_sum_matches_log_det():
    dl = cj.systems.DelayedLogistic()
    res = cj.lyapunov_spectrum(dl, dl.default_state(), steps=300_000, transient=10_000)
    # Sprott (2003): lam_1 = 0.1830, to 2%.
    assert abs(float(res.exponents[0]) - 0.1830) < 0.02 * 0.1830
    # lam_1 + lam_2 = <ln|det J|> = <ln(a x_n)> along the same orbit (an independent
    # computation from the stored trajectory, no QR).
    xs = cj.trajectory(dl, dl.default_state(), steps=300_000, transient=10_000)
    log_det = jnp.mean(jnp.log(jnp.abs(2.27 * xs[:-1, 0])))
    assert abs(float(res.exponents.sum() - log_det)) < 1e-8


def test_burgers_sum_matches_log_det():
    bu = cj.systems.Burgers()
    res = cj.lyapunov_spectrum(bu, bu.default_state(), steps=100_000, transient=1_000)
    xs = cj.trajectory(bu, bu.default_state(), steps=100_000, transient=1_000)
    det = jax.vmap(lambda x: jnp.linalg.det(bu.jacobian(x)))(xs[:-1])
    assert abs(float(res.exponents.sum() - jnp.mean(jnp.log(jnp.abs(det))))) < 1e-8


def test_leading_k_and_max_lyapunov_agree_with_full_spectrum(lorenz_result):
    lor = cj.systems.Lorenz63()
    kw = dict(steps=100_000, dt=0.01, transient=1_000)
    two = cj.lyapunov_spectrum(lor, lor.default_state(), k=2, **kw)
    assert two.exponents.shape == (2,)
    np.testing.assert_allclose(two.exponents, lorenz_result.exponents[:2], atol=5e-3)
    one = cj.max_lyapunov(lor, lor.default_state(), **kw)
    assert one.exponents.shape == (1,)
    assert abs(float(one.largest) - float(lorenz_result.exponents[0])) < 5e-3


def test_qr_kernels_jacobians_and_qr_every_agree():
    hen = cj.systems.Henon()
    x0 = hen.default_state()
    ref = spectrum_on_map(hen, x0, steps=20_000, qr="householder", use_jacobian=False)
    for qr in ("gram_schmidt", "cholesky"):
        for use_jacobian in (True, False):
            res = spectrum_on_map(hen, x0, steps=20_000, qr=qr, use_jacobian=use_jacobian)
            np.testing.assert_allclose(res.exponents, ref.exponents, atol=1e-9)
    # Re-orthonormalising every 5 steps changes only rounding.
    every5 = spectrum_on_map(hen, x0, steps=20_000, qr_every=5)
    np.testing.assert_allclose(every5.exponents, ref.exponents, atol=1e-9)
    odd = spectrum_on_map(hen, x0, steps=20_003, qr_every=7, history=13)
    assert odd.history.shape == (13, 2)
    # 13 rows of 219 QR blocks (1,533 steps) each, then a tail of 74 steps: each row is
    # the estimate of a run that long, and the exponents are those of all 20,003 steps.
    np.testing.assert_array_equal(odd.history_steps, 1_533 * np.arange(1, 14))
    row13 = spectrum_on_map(hen, x0, steps=13 * 1_533, qr_every=7)
    np.testing.assert_allclose(odd.history[-1], row13.exponents, atol=1e-12)
    whole = spectrum_on_map(hen, x0, steps=20_003)
    np.testing.assert_allclose(odd.exponents, whole.exponents, atol=1e-9)


def test_analytic_jacobians_match_autodiff():
    for system in (
        cj.systems.Henon(),
        cj.systems.Tinkerbell(),
        cj.systems.Burgers(),
        cj.systems.DelayedLogistic(),
        cj.systems.Logistic(),
    ):
        x = system.default_state() + 0.01
        np.testing.assert_allclose(system.jacobian(x), jax.jacfwd(system.step)(x), atol=1e-12)


def test_batched_initial_states_and_parameter_sweep_in_one_call():
    hen = cj.systems.Henon()
    x0s = hen.sample_state(jax.random.key(1), 4)
    res = cj.lyapunov_spectrum(hen, x0s, steps=20_000, transient=1_000)
    assert res.exponents.shape == (4, 2)
    np.testing.assert_allclose(res.exponents[:, 0], 0.4192, atol=0.01)
    # Largest exponent of the logistic map on 10,000 values of r, one compiled call.
    rs = jnp.linspace(2.9, 4.0, 10_000)

    @jax.jit
    def sweep(rs):
        return jax.vmap(
            lambda r: (
                cj.max_lyapunov(
                    cj.systems.Logistic(r=r), jnp.array([0.3]), steps=2_000, transient=500
                ).largest
            )
        )(rs)

    lam = sweep(cj.parallel.shard_batch(rs))
    assert lam.shape == (10_000,)
    assert abs(float(lam[-1]) - np.log(2.0)) < 0.03
    # r = 3.2: a stable 2-cycle, exponent ln|f'(x1) f'(x2)| / 2 = ln|4 + 2r - r^2| / 2.
    i = int(jnp.argmin(jnp.abs(rs - 3.2)))
    r = float(rs[i])
    assert abs(float(lam[i]) - 0.5 * np.log(abs(4 + 2 * r - r * r))) < 1e-3
    # Below the first period doubling (r < 3) every exponent is negative.
    assert bool(jnp.all(lam[rs < 2.99] < 0))


def test_finite_time_exponents_average_to_the_exponent():
    hen = cj.systems.Henon()
    ftle = cj.finite_time_lyapunov(
        hen, hen.default_state(), window=20, windows=5_000, transient=1_000
    )
    assert ftle.exponents.shape == (5_000, 1)
    full = cj.max_lyapunov(hen, hen.default_state(), steps=100_000, transient=1_000)
    # The windows tile the same run: their mean is the exponent up to rounding.
    assert abs(float(ftle.mean[0] - full.largest)) < 1e-10
    assert 0.05 < float(ftle.std[0]) < 1.0


def test_divergence_is_reported():
    class Blowup(cj.Map):
        def step(self, x):
            return 3.0 * x * x + 1.0

        def default_state(self):
            return jnp.array([1.0])

    with pytest.raises(cj.DivergenceError):
        cj.lyapunov_spectrum(Blowup(), jnp.array([1.0]), steps=1_000)
    res = cj.lyapunov_spectrum(Blowup(), jnp.array([1.0]), steps=1_000, throw=False)
    assert 0 < int(res.diverged_at) < 20


class _SingularMap(cj.Map):
    def step(self, x):
        s = jnp.sin(3.0 * x[0] + x[1])
        return jnp.stack([s, 0.5 * s])

    def default_state(self):
        return jnp.array([0.1, 0.2])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(system=cj.systems.Henon(), k=3), "`k`"),
        (dict(system=cj.systems.Henon(), k=0), "`k`"),
        (dict(system=_SingularMap(), inverse=True), "inverse"),
        (dict(system=cj.systems.Henon(), steps=0), "`steps`"),
        (dict(system=cj.systems.Henon(), dt=0.1), "`dt`"),
        (dict(system=cj.systems.LinearFlow(A=-jnp.eye(3))), "`dt`"),  # no default_dt
        (dict(system=cj.systems.Henon(), x0=jnp.zeros(3)), "`x0`"),
        (dict(system=cj.systems.Henon(), x0=jnp.array([jnp.nan, 0.0])), "`x0`"),
        (dict(system=cj.systems.Henon(), qr="lu"), "`qr`"),
        (dict(system=cj.systems.Henon(), qr_every=0), "`qr_every`"),
        (dict(system=cj.systems.Henon(), inputs=jnp.zeros((10, 1))), "`inputs`"),
        (dict(system=cj.systems.Henon(a=jnp.inf)), "non-finite"),
    ],
)
def test_bad_input_raises_before_tracing(kwargs, match):
    system = kwargs.pop("system")
    x0 = kwargs.pop("x0", jnp.zeros(system.dim) if not isinstance(system, str) else None)
    kwargs.setdefault("steps", 10)
    with pytest.raises(ValueError, match=match):
        cj.lyapunov_spectrum(system, x0, **kwargs)


def test_result_is_a_pytree_usable_under_jit():
    hen = cj.systems.Henon()

    @eqx.filter_jit
    def f(a):
        return cj.lyapunov_spectrum(
            cj.systems.Henon(a=a), hen.default_state(), steps=1_000, throw=False
        )

    res = f(jnp.asarray(1.4))
    assert isinstance(res, cj.LyapunovResult)
    assert res.exponents.shape == (2,)
    # The same numbers as outside `jit`.
    eager = cj.lyapunov_spectrum(hen, hen.default_state(), steps=1_000)
    np.testing.assert_allclose(res.exponents, eager.exponents, rtol=1e-12)
    np.testing.assert_allclose(res.history, eager.history, rtol=1e-12)
    assert int(res.diverged_at) == -1


def test_resume_continues_a_run_exactly():
    hen = cj.systems.Henon()
    whole = cj.lyapunov_spectrum(hen, hen.default_state(), 40_000, transient=100)
    first = cj.lyapunov_spectrum(hen, hen.default_state(), 15_000, transient=100)
    rest = cj.lyapunov_spectrum(hen, None, 25_000, resume=first)
    assert rest.steps == 40_000
    np.testing.assert_allclose(rest.exponents, whole.exponents, atol=1e-12)
    np.testing.assert_allclose(rest.final_state, whole.final_state, atol=1e-12)
    assert rest.history.shape == (400, 2)
    assert int(rest.history_steps[-1]) == 40_000
    with pytest.raises(ValueError, match="`transient`"):
        cj.lyapunov_spectrum(hen, None, 10, resume=first, transient=5)
    with pytest.raises(ValueError, match="`k`"):
        cj.lyapunov_spectrum(hen, None, 10, resume=first, k=1)


def test_delay_map_spectrum_and_inverse():
    # Delayed Henon (d = 4): |det J| = b, so the four exponents sum to ln b exactly.
    dh = cj.systems.DelayedHenon(d=4)
    fwd = cj.lyapunov_spectrum(dh, dh.default_state(), 50_000, transient=1_000)
    assert abs(float(fwd.exponents.sum()) - np.log(0.1)) < 1e-10
    assert float(fwd.exponents[0]) > 0.3
    inv = cj.lyapunov_spectrum(dh, dh.default_state(), 50_000, transient=1_000, inverse=True)
    np.testing.assert_allclose(inv.exponents, -fwd.exponents[::-1], atol=1e-3)


def test_adaptive_solver_uses_variational_equations():
    # diffrax's adjoint is reverse-mode only: the tangent map comes from integrating
    # the variational equations with the same adaptive solver.
    lor = cj.systems.Lorenz63()
    res = cj.lyapunov_spectrum(
        lor, lor.default_state(), 1_000, dt=0.05, solver="dopri5", transient=100
    )
    # The sum is the divergence up to the solver's tolerance (RK4 at this dt is off
    # by 0.1); T = 50 leaves a statistical error of ~0.05 on each exponent.
    assert abs(float(res.exponents.sum()) + 13.6667) < 1e-3
    np.testing.assert_allclose(res.exponents, [0.9056, 0.0, -14.5723], atol=0.1)


def test_runs_shorter_than_one_qr_block_keep_one_history_row():
    hen = cj.systems.Henon()
    res = cj.lyapunov_spectrum(hen, hen.default_state(), 5, qr_every=7)
    assert res.history.shape == (1, 2)
    np.testing.assert_allclose(res.history[0], res.exponents)
    assert int(res.history_steps[0]) == 5
