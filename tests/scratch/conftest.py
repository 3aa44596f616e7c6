"""Fixtures shared by the scratch/ tests (helpers live in scratch_testing.py)."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
