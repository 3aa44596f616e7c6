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
