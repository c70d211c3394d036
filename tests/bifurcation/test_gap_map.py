"""The discontinuous map x -> 0.8 x - H(x) + b beside its smoothing at c = 1000: period
adding, and the two period sequences compared."""

from fractions import Fraction

import jax.numpy as jnp
import numpy as np
import pytest

from chaosjax.bifurcation import period_adding


def _windows(p, min_width):
    """(period, first, last) of runs of one period at least `min_width` values wide."""
    out, s = [], 0
    for i in range(1, len(p) + 1):
        if i == len(p) or p[i] != p[s]:
            if i - s >= min_width:
                out.append((int(p[s]), s, i - 1))
            s = i
    return out


@pytest.fixture(scope="module")
def pa():
    return period_adding(jnp.linspace(0.1, 0.9, 801), a=0.8, c=1000.0)


def test_discontinuous_map_is_period_adding(pa):
    pd = np.asarray(pa.period_discontinuous)
    rot = np.asarray(pa.rotation_discontinuous)
    assert np.all(pd > 0)  # a contracting gap map: periodic everywhere on the grid
    # The rotation number is a devil's staircase: non-decreasing in b, p/q at period q.
    assert np.all(np.diff(rot) >= 0)
    fr = [Fraction(float(r)).limit_denominator(64) for r in rot]
    assert all(f.denominator == q for f, q in zip(fr, pd, strict=True))
    # Farey: between neighbouring wide windows p/q < p'/q' (q p' - p q' = 1) the window
    # of smallest period in between has rotation number (p + p') / (q + q').
    wins = _windows(pd, 8)
    checked = 0
    for (_, s0, e0), (_, s1, _) in zip(wins, wins[1:], strict=False):
        f0, f1 = fr[s0], fr[s1]
        between = _windows(pd[e0 + 1 : s1], 1)
        if f0.numerator * f1.denominator - f1.numerator * f0.denominator == -1 and between:
            _, s, e = min(between, key=lambda w: w[0])
            mediant = Fraction(f0.numerator + f1.numerator, f0.denominator + f1.denominator)
            assert fr[e0 + 1 + s] == mediant
            checked += 1
    assert checked >= 5
    # The windows at least 4 values wide from b = 0.1: 6, 5, 4, 3, 2 with the Farey sums
    # between (6 + 5 = 11, 5 + 4 = 9, ...), symmetric about b = 1/2 (x -> -x, b -> 1 - b
    # conjugates the map to itself up to the value at the jump).
    seq = [p for p, _, _ in _windows(pd, 4)]
    assert seq[:5] == [6, 11, 5, 9, 4] and seq[-5:] == [4, 9, 5, 11, 6]


def test_smoothed_map_at_c_1000_has_the_same_periods(pa):
    pd = np.asarray(pa.period_discontinuous)
    ps = np.asarray(pa.period_smoothed)
    # Inside every window at least 3 grid values wide (its edges dropped) the periods
    # agree; the disagreements all lie at a window edge of the discontinuous map, where
    # an orbit point comes within ~1/c of the jump.
    for _, s, e in _windows(pd, 3):
        assert np.array_equal(pd[s + 1 : e], ps[s + 1 : e])
    edge = np.zeros(pd.size, bool)
    change = np.nonzero(np.diff(pd))[0]
    edge[change] = edge[change + 1] = True
    assert not np.any((pd != ps) & ~edge)
    assert pa.agreement > 0.85
