"""Shared fixtures: a small plan that still holds every registered variant, and one report
of it made once per session (in this process, 2 steps)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reference.matrix import matrix
from reports.matrix_file import Plan
from reports.report import Report, make_report
from scratch import Spec, activations

DIVERGES = (
    "4-6-5-3 identity,identity,identity init=uniform(b=1000.0) loss=mse(reduction=sum) "
    "opt=sgd(lr=100.0) seed=0 dtype=float32"
)


def small_plan(steps: int = 2, extra: tuple[Spec, ...] = ()) -> Plan:
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
    return Plan("quick+", tuple(dict.fromkeys([*quick, *more, *extra])), steps)


@pytest.fixture(scope="session")
def report(tmp_path_factory: pytest.TempPathFactory) -> Report:
    out = tmp_path_factory.mktemp("report")
    return make_report(small_plan(), out, jobs=1, progress=False)


def read(path: Path) -> bytes:
    return Path(path).read_bytes()
