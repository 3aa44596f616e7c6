"""Shared helpers for the learner-check tests: the example learners and a loader."""

from __future__ import annotations

from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "learners"


@pytest.fixture(scope="session")
def examples() -> Path:
    return EXAMPLES


@pytest.fixture
def run_example():
    """``run_example("seed000_relu_xor.py", steps=8)`` -> CheckResult."""
    from nnparity.reference.learner import check
    from nnparity.reference.learner.loader import load

    def run(name: str, **kwargs):
        adapter, X, y = load(str(EXAMPLES / name))
        return check(adapter, X, y, **kwargs)

    return run
