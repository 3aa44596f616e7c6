"""``assert_learner_matches``: the learner check as one assertion, for pytest (a course's CI
validates a student's file in a few lines). Imported by ``nnparity.reference.plugin``."""

from __future__ import annotations

from typing import Any

from .adapters import Adapter
from .result import CheckResult


def assert_learner_matches(
    adapter: Adapter,
    X: Any = None,
    y: Any = None,
    *,
    steps: int = 10,
    expect: str = "match",
    **kwargs: Any,
) -> CheckResult:
    """Run ``check(adapter, X, y, steps=steps, **kwargs)`` and raise AssertionError with the
    rendered report (verdict, findings, per-parameter table) unless the verdict is ``expect``.
    Returns the ``CheckResult``."""
    from .checker import check

    __tracebackhide__ = True
    result = check(adapter, X, y, steps=steps, **kwargs)
    if result.verdict != expect:
        raise AssertionError(
            f"expected verdict {expect!r}, got {result.verdict!r}\n\n{result.render()}"
        )
    return result
