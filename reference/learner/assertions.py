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
    require_fit: bool = False,
    **kwargs: Any,
) -> CheckResult:
    """Run ``check(adapter, X, y, steps=steps, **kwargs)`` and raise AssertionError with the
    rendered report (both answers, findings, per-parameter table) unless the code verdict is
    ``expect`` (whatever the training outcome); with ``require_fit=True`` the training outcome
    must also be ``fits``. Returns the ``CheckResult``."""
    from .checker import check

    __tracebackhide__ = True
    result = check(adapter, X, y, steps=steps, **kwargs)
    if result.code != expect:
        raise AssertionError(
            f"expected verdict {expect!r}, got {result.code!r} (the code verdict)\n\n"
            f"{result.render()}"
        )
    if require_fit and result.training.outcome != "fits":
        raise AssertionError(
            f"require_fit: the code is {result.code!r} but the training outcome is "
            f"{result.training.outcome!r}, not 'fits'\n\n{result.render()}"
        )
    return result
