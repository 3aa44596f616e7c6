"""Helpers for the report tests: a small plan holding every registered variant, and planted
runners. A module of its own (not conftest.py, whose name other test folders share) so that
worker processes can import the runners by name."""

from __future__ import annotations

import os
from pathlib import Path

from reference.matrix import matrix
from reports.checkpoint import Outcome
from reports.matrix_file import Plan
from reports.sweep import run_config
from scratch import Spec, activations

DIVERGES = (
    "4-6-5-3 identity,identity,identity init=uniform(b=1000.0) loss=mse(reduction=sum) "
    "opt=sgd(lr=100.0) seed=0 dtype=float32"
)
PLANTED_SEED = 3
MARKUP = "<script>alert('x')</script> & <b>"


def small_plan(steps: int = 2) -> Plan:
    """The quick matrix plus the default matrix's specs with an output-only activation the
    quick one lacks (softmax): every registered activation and initializer, once per dtype."""
    quick = matrix("quick")
    seen = {a.name for s in quick for a in s.activations}
    more = [
        s
        for s in matrix("default")
        if s.activations[-1].name in activations.names("output")
        and s.activations[-1].name not in seen
    ]
    return Plan("quick+", tuple(dict.fromkeys([*quick, *more])), steps)


def read(path: Path) -> bytes:
    return Path(path).read_bytes()


def planted(spec: str, mode: str, steps: int) -> Outcome:
    """run_config, except that the specs with seed PLANTED_SEED raise."""
    if Spec.parse(spec).seed == PLANTED_SEED:
        raise RuntimeError(f"planted failure {MARKUP}")
    return run_config(spec, mode, steps)


def raises(spec: str, mode: str, steps: int) -> Outcome:
    """A cheap runner (no torch) that raises on the planted seed."""
    if Spec.parse(spec).seed == PLANTED_SEED:
        raise RuntimeError(f"planted failure {MARKUP}")
    return Outcome(spec, mode, "pass")


def dies(spec: str, mode: str, steps: int) -> Outcome:
    """A cheap runner whose worker dies (as on a segfault or the OOM killer) on the planted
    seed."""
    if Spec.parse(spec).seed == PLANTED_SEED:
        os._exit(1)
    return Outcome(spec, mode, "pass")
