"""Shared helpers for the learner-check tests: the example learners and a loader."""

from __future__ import annotations

import importlib.util
import itertools
from pathlib import Path
from types import ModuleType

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "learners"
_copies = itertools.count()


def load_example(stem: str) -> ModuleType:
    """A fresh copy of ``examples/learners/<stem>.py`` (its own module: a test may replace
    its functions without touching another test's copy)."""
    spec = importlib.util.spec_from_file_location(
        f"{stem}_{next(_copies)}", EXAMPLES / f"{stem}.py"
    )
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m


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
