"""scratch.special.erf against math.erf: within a few ulp everywhere, exact special values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nnparity.scratch.special import erf


def test_erf_is_within_3_ulp_of_math_erf():
    rng = np.random.default_rng(0)
    x = np.concatenate(
        [
            rng.uniform(-1, 1, 20_000),  # the T/U branch
            rng.uniform(-8, 8, 40_000),  # the P/Q branch and the branch edges at 1
            rng.uniform(-30, 30, 5_000),  # the R/S branch from 8 on
            np.array([1.0, -1.0, np.nextafter(1.0, 2.0), 8.0, np.nextafter(8.0, 0.0), 26.0]),
            10.0 ** rng.uniform(-300, 0, 5_000),  # tiny arguments: erf(x) ~ 2x/sqrt(pi)
        ]
    )
    expected = np.array([math.erf(v) for v in x])
    ulp = np.abs(erf(x) - expected) / np.spacing(np.abs(expected))
    assert ulp.max() <= 3, (ulp.max(), x[ulp.argmax()])


@pytest.mark.parametrize(
    ("x", "expected"), [(0.0, 0.0), (np.inf, 1.0), (-np.inf, -1.0), (40.0, 1.0), (-40.0, -1.0)]
)
def test_erf_special_values(x, expected):
    assert erf(x) == expected


def test_erf_keeps_the_sign_of_zero_and_propagates_nan():
    assert math.copysign(1.0, erf(-0.0)) == -1.0
    assert np.isnan(erf(np.nan))


def test_erf_is_elementwise_over_any_shape():
    x = np.linspace(-3, 3, 24).reshape(2, 3, 4)
    assert erf(x).shape == (2, 3, 4)
    np.testing.assert_array_equal(erf(x).ravel(), erf(x.ravel()))
