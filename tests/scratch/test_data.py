"""Data checks: a target array in another layout is told how to fit, never reshaped wrongly."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.scratch import DataError, Spec, check_data


def test_targets_given_one_column_per_sample_are_told_to_transpose_not_reshape():
    """Review s9c: y of shape (3, 32) was told y.reshape(32, 3), which mixes the samples."""
    spec = Spec.parse("4-5-3 tanh,identity loss=mse")
    with pytest.raises(DataError, match=r"use y\.T \(one row per sample\)"):
        check_data(spec, np.zeros((32, 4)), np.zeros((3, 32)))


@pytest.mark.parametrize(
    ("X", "said"),
    [(np.zeros((2, 40)), r"pass X\.T \(and y\.T\)"), (np.zeros((40, 1, 2)), r"X\.reshape\(len")],
)
def test_inputs_in_another_layout_are_told_the_fix(X, said):
    spec = Spec.parse("2-4-1 tanh,identity loss=mse")
    with pytest.raises(DataError, match=said):
        check_data(spec, X, np.zeros((40, 1)))


def test_minus_one_plus_one_labels_under_bce_are_told_the_fix():
    spec = Spec.parse("2-4-1 tanh,sigmoid loss=bce")
    y = np.where(np.arange(8) % 2, 1.0, -1.0)[:, None]
    with pytest.raises(DataError, match=r"got -1\.\.1; for -1/\+1 labels use \(y \+ 1\) / 2"):
        check_data(spec, np.zeros((8, 2)), y)


def test_labels_as_text_are_refused_with_the_encoding_to_use():
    """Review s10d: string labels said 'takes class indices of shape (45,), got ()'."""
    spec = Spec.parse("4-3 identity loss=cross_entropy")
    y = np.array(["setosa", "virginica", "setosa"])
    with pytest.raises(DataError, match=r"not numbers \(such as 'setosa'\).*np\.unique"):
        check_data(spec, np.zeros((3, 4)), y)
