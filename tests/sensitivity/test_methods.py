"""The methods of `shadowing_sensitivity` as objects: their option checks and shorthands."""

import jax
import jax.numpy as jnp
import pytest

import chaosjax as cj

X0 = lambda x: x[0]  # noqa: E731


@pytest.mark.parametrize(
    "make, option",
    [
        (lambda: cj.LSS(alpha=-1.0), "alpha"),
        (lambda: cj.LSS(alpha=0.0), "alpha"),
        (lambda: cj.LSS(alpha=float("inf")), "alpha"),
        (lambda: cj.NILSS(num_unstable=0), "num_unstable"),
        (lambda: cj.NILSS(segment_steps=-3), "segment_steps"),
        (lambda: cj.S3(burn_in=0), "burn_in"),
        (lambda: cj.S3(burn_in=100, correlation_steps=0), "correlation_steps"),
    ],
)
def test_bad_options_raise_naming_the_option(make, option):
    with pytest.raises(ValueError, match=f"`{option}`"):
        make()


def test_methods_are_exported():
    for method in (cj.LSS(), cj.NILSS(), cj.S3()):
        assert isinstance(method, cj.AbstractSensitivityMethod)
        assert isinstance(method, cj.sensitivity.AbstractSensitivityMethod)
    assert (cj.LSS.name, cj.NILSS.name, cj.S3.name) == ("lss", "nilss", "s3")


@pytest.fixture(scope="module")
def henon_x0():
    hen = cj.systems.Henon()
    return hen, cj.final_state(hen, hen.default_state(), steps=2000)


@pytest.mark.parametrize(
    "shorthand, default",
    [
        ("lss", cj.LSS()),
        ("nilss", cj.NILSS()),
        ("nilss", cj.NILSS(key=jax.random.PRNGKey(0))),
        ("s3", cj.S3()),
    ],
)
def test_shorthand_and_default_object_give_identical_results(henon_x0, shorthand, default):
    hen, x0 = henon_x0
    kw = dict(steps=2 * 1000, segments=2)
    a = cj.shadowing_sensitivity(hen, "a", X0, x0, method=shorthand, **kw)
    b = cj.shadowing_sensitivity(hen, "a", X0, x0, method=default, **kw)
    assert a.method == b.method == shorthand
    assert jnp.array_equal(a.estimates, b.estimates)
    assert jnp.array_equal(a.average, b.average)
    assert (a.steps_per_window, a.num_unstable, a.alpha) == (
        b.steps_per_window,
        b.num_unstable,
        b.alpha,
    )
    assert (a.parts is None) == (b.parts is None)
    if a.parts is not None:
        assert jnp.array_equal(a.parts, b.parts)


def test_method_options_take_effect(henon_x0):
    hen, x0 = henon_x0
    kw = dict(steps=2 * 1000, segments=2)
    nilss = cj.shadowing_sensitivity(hen, "a", X0, x0, method=cj.NILSS(segment_steps=30), **kw)
    # Windows of 1000 steps hold 33 whole segments of 30: the partial one is dropped.
    assert nilss.steps_per_window == 990
    s3 = cj.shadowing_sensitivity(
        hen, "a", X0, x0, method=cj.S3(burn_in=50, correlation_steps=20), **kw
    )
    assert s3.steps_per_window == 1000 and s3.num_unstable == 1
    with pytest.raises(ValueError, match="`steps`.*s3.*170"):  # 50 + 6 * 20 = 170 steps
        cj.shadowing_sensitivity(
            hen, "a", X0, x0, steps=8 * 100, method=cj.S3(burn_in=50, correlation_steps=20)
        )


def test_unknown_shorthand_names_the_argument_and_suggests(henon_x0):
    hen, x0 = henon_x0
    with pytest.raises(ValueError, match="`method`.*'nilss'"):
        cj.shadowing_sensitivity(hen, "a", X0, x0, steps=1000, method="nills")
