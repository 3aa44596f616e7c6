"""pytest plugin (entry point ``pytest11: nnparity``): hold NumPy code to PyTorch in a test.

    def test_my_mlp_matches_torch(assert_parity):
        assert_parity("4-8-3 tanh,identity loss=cross_entropy opt=adam(lr=0.01)", steps=10,
                      net=MyNetwork(...))

``assert_parity`` is also importable: ``from reference.plugin import assert_parity``. Loading
the plugin imports nothing heavy; torch is imported when the helper first runs.
"""

from __future__ import annotations

from typing import Any

import pytest


def assert_parity(spec: Any, steps: int = 5, mode: str = "free", **kwargs: Any) -> Any:
    """Run ``reference.engine.run_parity`` and fail with an assert_close-style message (stage,
    tensor, step, mismatched k / n, greatest difference and where, tolerance) unless every
    comparison passes. Returns the ``ParityResult``."""
    from reference.engine import run_parity

    __tracebackhide__ = True
    result = run_parity(spec, steps, mode, **kwargs)
    if not result.passed:
        raise AssertionError(result.message())
    return result


@pytest.fixture(name="assert_parity")
def assert_parity_fixture() -> Any:
    """The ``assert_parity`` helper as a fixture."""
    return assert_parity
