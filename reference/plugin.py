"""pytest plugin (entry point ``pytest11: nnparity``): hold NumPy code to PyTorch in a test.

    def test_my_mlp_matches_torch(assert_parity):
        assert_parity("4-8-3 tanh,identity loss=cross_entropy opt=adam(lr=0.01)", steps=10,
                      net=MyNetwork(...))

A course's CI holds a student's own network to PyTorch (``nnparity check`` as a test)::

    def test_student_network(assert_learner_matches):
        assert_learner_matches("student_net.py", steps=10)  # the file's nnparity_adapter()

One layer at a time (CS231n's ``batchnorm_forward``/``batchnorm_backward`` and the like)::

    def test_my_batchnorm(assert_layer_matches):
        assert_layer_matches(batchnorm_forward, batchnorm_backward, layer="batchnorm",
                             convention="cs231n")

All are also importable from ``nnparity.reference.plugin``. Loading the plugin imports
nothing heavy; torch is imported when a helper first runs.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Any

import pytest


def assert_parity(
    spec: Any, steps: int = 5, mode: str = "free", against: Any = "torch", **kwargs: Any
) -> Any:
    """Run ``nnparity.run_parity`` and fail with an assert_close-style message (stage,
    tensor, step, mismatched k / n, greatest difference and where, tolerance) unless every
    comparison passes. Returns the ``ParityResult``. ``against``: "torch" (default), "jax",
    or several ("torch,jax" or a list): then scratch must match each, the failure message ends
    with the triangulated verdict, and an ``AgainstResult`` is returned."""
    from nnparity.reference.against import parse_against, run_against
    from nnparity.reference.engine import run_parity

    __tracebackhide__ = True
    names = parse_against(against)
    if names != ("torch",):
        many = run_against(spec, steps, mode, against=names, **kwargs)
        if not many.passed:
            raise AssertionError(many.message())
        return many
    result = run_parity(spec, steps, mode, **kwargs)
    if not result.passed:
        raise AssertionError(result.message())
    return result


@pytest.fixture(name="assert_parity")
def assert_parity_fixture() -> Any:
    """The ``assert_parity`` helper as a fixture."""
    return assert_parity


def assert_learner_matches(
    target: Any,
    X: Any = None,
    y: Any = None,
    *,
    expect: str = "match",
    timeout: float | None = None,
    memory_limit: int | None = None,
    _folder: Path | None = None,
    **kwargs: Any,
) -> Any:
    """``nnparity.reference.learner.assert_learner_matches`` that also takes a learner's file:
    ``target`` is an adapter, or ``"FILE.py[:NAME]"`` whose ``NAME()`` (default
    ``nnparity_adapter``) builds one, as ``nnparity check`` reads it. A relative file is looked
    for beside the calling test file, then in the working directory. A file is checked as
    ``nnparity check`` does, in a child process (a copy of its folder, ``timeout`` seconds,
    ``memory_limit`` bytes; the sandbox's defaults when None): a program that exits, crashes,
    hangs or runs out of memory fails the test, never passes it. Fails with the full report
    (and what the program printed) unless the code verdict is ``expect`` (default ``match``)
    and, with ``require_fit=True``, the training outcome is ``fits``;
    returns the ``CheckResult``."""
    from nnparity.reference.learner import assert_learner_matches as check_adapter

    __tracebackhide__ = True
    if not isinstance(target, str | Path):
        return check_adapter(target, X, y, expect=expect, **kwargs)
    from nnparity.reference.learner import sandbox
    from nnparity.reference.learner.loader import resolve_target

    if _folder is None:  # the caller's file: the test module that called us
        caller = sys._getframe(1).f_globals.get("__file__")
        _folder = Path(caller).resolve().parent if caller else Path.cwd()
    target = resolve_target(str(target), [_folder, Path.cwd()])
    require_fit = bool(kwargs.pop("require_fit", False))
    outcome = sandbox.run_isolated(
        target,
        {"steps": kwargs.pop("steps", 10), **kwargs},
        sandbox.DEFAULT_TIMEOUT if timeout is None else timeout,
        sandbox.DEFAULT_MEMORY if memory_limit is None else memory_limit,
        X=X,
        y=y,
        want_object=True,
    )
    printed = _printed(outcome)
    if outcome.status != sandbox.VERDICT:
        raise AssertionError(f"nnparity could not check {target}: {outcome.error}{printed}")
    code = (outcome.result or {}).get("code")
    if code != expect:
        raise AssertionError(
            f"expected verdict {expect!r}, got {code!r} (the code verdict)\n\n"
            f"{outcome.render}{printed}"
        )
    if require_fit and not outcome.fits:
        training = (outcome.result or {}).get("training") or {}
        raise AssertionError(
            f"require_fit: the code is {code!r} but the training outcome is "
            f"{training.get('outcome')!r}, not 'fits'\n\n{outcome.render}{printed}"
        )
    return outcome.obj if outcome.obj is not None else outcome


def _printed(outcome: Any) -> str:
    if not outcome.output.strip():
        return ""
    return "\n\nyour program printed:\n" + outcome.output.rstrip("\n")


def assert_layer_matches(
    forward: Any,
    backward: Any = None,
    layer: str = "affine",
    *,
    expect: str = "match",
    **conventions: Any,
) -> Any:
    """Hold one layer's ``forward``/``backward`` (CS231n signatures) to PyTorch autograd at
    several shapes and seeds (``nnparity.reference.learner.layer_check``; ``conventions``:
    ``convention="cs231n"``, ``momentum``, ``running_var``, ``p``). Runs in this process (the
    functions are yours, already imported). Fails with the layer's report unless its verdict
    is ``expect`` (default ``match``); returns the ``LayerVerdict``."""
    from nnparity.reference.learner.per_layer import check_layer, layer_check

    __tracebackhide__ = True
    verdict = check_layer(layer_check(forward, backward, layer, **conventions))
    if verdict.code != expect:
        raise AssertionError(
            f"expected verdict {expect!r}, got {verdict.code!r}\n\n{verdict.render()}"
        )
    return verdict


@pytest.fixture(name="assert_layer_matches")
def assert_layer_matches_fixture() -> Any:
    """The ``assert_layer_matches`` helper as a fixture."""
    return assert_layer_matches


@pytest.fixture(name="assert_learner_matches")
def assert_learner_matches_fixture(request: pytest.FixtureRequest) -> Any:
    """The ``assert_learner_matches`` helper as a fixture; a relative file is looked for beside
    the requesting test's file first."""
    return functools.partial(assert_learner_matches, _folder=Path(request.path).parent)
