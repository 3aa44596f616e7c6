"""pytest plugin (entry point ``pytest11: nnparity``): hold NumPy code to PyTorch in a test.

    def test_my_mlp_matches_torch(assert_parity):
        assert_parity("4-8-3 tanh,identity loss=cross_entropy opt=adam(lr=0.01)", steps=10,
                      net=MyNetwork(...))

A course's CI holds a student's own network to PyTorch (``nnparity check`` as a test)::

    def test_student_network(assert_learner_matches):
        assert_learner_matches("student_net.py", steps=10)  # the file's nnparity_adapter()

Both are also importable from ``nnparity.reference.plugin``. Loading the plugin imports
nothing heavy; torch is imported when a helper first runs.
"""

from __future__ import annotations

from typing import Any

import pytest


def assert_parity(spec: Any, steps: int = 5, mode: str = "free", **kwargs: Any) -> Any:
    """Run ``nnparity.run_parity`` and fail with an assert_close-style message (stage,
    tensor, step, mismatched k / n, greatest difference and where, tolerance) unless every
    comparison passes. Returns the ``ParityResult``."""
    from nnparity.reference.engine import run_parity

    __tracebackhide__ = True
    result = run_parity(spec, steps, mode, **kwargs)
    if not result.passed:
        raise AssertionError(result.message())
    return result


@pytest.fixture(name="assert_parity")
def assert_parity_fixture() -> Any:
    """The ``assert_parity`` helper as a fixture."""
    return assert_parity


def assert_learner_matches(target: Any, X: Any = None, y: Any = None, **kwargs: Any) -> Any:
    """``nnparity.reference.learner.assert_learner_matches`` that also takes a learner's file:
    ``target`` is an adapter, or ``"FILE.py[:NAME]"`` whose ``NAME()`` (default
    ``nnparity_adapter``) builds one, as ``nnparity check`` reads it. Fails with the full
    report unless the verdict is ``expect`` (default ``match``); returns the ``CheckResult``."""
    from pathlib import Path

    from nnparity.reference.learner import assert_learner_matches as check_adapter

    __tracebackhide__ = True
    if isinstance(target, (str, Path)):
        from nnparity.reference.learner.loader import load

        target, file_X, file_y = load(str(target))
        X = file_X if X is None else X
        y = file_y if y is None else y
    return check_adapter(target, X, y, **kwargs)


@pytest.fixture(name="assert_learner_matches")
def assert_learner_matches_fixture() -> Any:
    """The ``assert_learner_matches`` helper as a fixture."""
    return assert_learner_matches
