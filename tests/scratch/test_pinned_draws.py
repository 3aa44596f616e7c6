"""The truncated-normal sampler's draws, pinned (seed 7): a seeded spec's initial weights (and
so every stored report) depend on them, and the statistical tests in test_initializers.py cannot
see a change to the proposal width, the batch size, the branch threshold or a bound's
closedness. The cases reach each branch: redraw from N(0, 1) when [a, b] holds over 30 % of the
mass, else a uniform proposal clipped to 10 around m (the point of [a, b] nearest 0)."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.scratch.initializers import _truncated_normal

# [a, b] with P(N(0,1) in [a, b]) exactly 0.3 in float64: the uniform-proposal branch ("over 30 %"
# takes the other one).
B_AT_THREE_TENTHS = -0.5244005127080408

PINNED = [
    (
        (-2.0, 2.0),
        [
            0.0012301533574825742,
            0.2987455375084699,
            -0.2741378553622176,
            -0.8905918387572742,
            -0.45467078517172255,
        ],
    ),
    (
        (0.5, 0.6),
        [
            0.5625095466604667,
            0.5897213800969575,
            0.5775685690245194,
            0.5225207189990592,
            0.5300166284911225,
        ],
    ),
    (
        (-12.5, -12.0),
        [
            -12.051393099515213,
            -12.06322327730187,
            -12.089385790808617,
            -12.002249858282804,
            -12.005519926159058,
        ],
    ),
    (
        (1.0, 30.0),
        [
            1.0526530456557472,
            1.4394200796138337,
            1.3568027877359614,
            1.1179402554250586,
            1.0373424205207595,
        ],
    ),
    (
        (-30.0, -1.0),
        [
            -1.0449971656560741,
            -1.1103985231811517,
            -2.8366189618092434,
            -1.5187593858918529,
            -2.0345947628399923,
        ],
    ),
    (
        (0.1, 0.9),  # 0 < a < 1: m = a (0.1), not 1 (clipped to 0.9), so not every x is kept
        [
            0.6000763732837335,
            0.8177710407756604,
            0.7205485521961549,
            0.2801657519924735,
            0.7988427563170095,
        ],
    ),
    (
        (-40.0, B_AT_THREE_TENTHS),
        [
            -1.5522625030122867,
            -1.7888660587454233,
            -0.5693976783641155,
            -0.6347990358891931,
            -2.3610194745172848,
        ],
    ),
    (
        (-40.0, -0.4),
        [
            -0.9916465549964624,
            -0.49220651855132963,
            -0.6204748998199404,
            -0.8905918387572742,
            -0.45467078517172255,
        ],
    ),
    (
        (0.4, 40.0),
        [
            0.4898420501851982,
            0.8843898673831739,
            1.3402152455545335,
            0.6953031944582878,
            1.0608986233860787,
        ],
    ),
]


@pytest.mark.parametrize(("bounds", "expected"), PINNED)
def test_truncated_normal_draws_are_pinned(bounds, expected):
    got = _truncated_normal(np.random.default_rng(7), (5,), *bounds)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0)


def test_the_threshold_case_really_holds_three_tenths():
    import math

    half = math.sqrt(0.5)
    assert 0.5 * (math.erf(B_AT_THREE_TENTHS * half) - math.erf(-40.0 * half)) == 0.3


@pytest.mark.parametrize(
    ("seed", "lo", "hi"),
    [
        # The first N(0, 1) draw of the seed lies exactly on a bound: [a, b] is closed, it is kept.
        (4, -0.6517911526116896, 10.0),
        (0, -10.0, 0.1257302210933933),
        # The first draw lies outside; the redraw lies exactly on the bound and is kept.
        (4, -0.17471729232577715, 10.0),
        (0, -10.0, -0.1321048632913019),
    ],
)
def test_truncated_normal_interval_is_closed(seed, lo, hi):
    on_bound = lo if lo > -10 else hi
    assert _truncated_normal(np.random.default_rng(seed), (1,), lo, hi).tolist() == [on_bound]
