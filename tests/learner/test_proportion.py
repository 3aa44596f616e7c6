"""``factors.proportion``: the one reading of g = c e that three diagnoses share."""

import numpy as np
import pytest

from nnparity.reference.learner.factors import proportion


def test_a_multiple_reads_its_constant_at_cosine_one() -> None:
    e = np.array([[1.0, -2.0], [3.0, 0.5]])
    c, cos = proportion(-2.5 * e, e)
    assert c == pytest.approx(-2.5) and cos == pytest.approx(-1.0)


def test_other_directions_read_a_cosine_below_one() -> None:
    c, cos = proportion(np.array([1.0, 0.0]), np.array([1.0, 1.0]))
    assert c == pytest.approx(0.5) and cos == pytest.approx(np.sqrt(0.5))


@pytest.mark.parametrize(
    "a, e", [([0.0, 0.0], [1.0, 2.0]), ([1.0, 2.0], [0.0, 0.0]), ([1.0], [1.0, 2.0])]
)
def test_zeros_or_unequal_sizes_read_nothing(a: list, e: list) -> None:
    assert proportion(np.array(a), np.array(e)) is None


def test_large_values_do_not_overflow_the_cosine() -> None:
    e = np.array([1e150, -3e150])  # <e, e> ~ 1e301: its square would overflow
    c, cos = proportion(2 * e, e)
    assert c == pytest.approx(2.0) and cos == pytest.approx(1.0)
