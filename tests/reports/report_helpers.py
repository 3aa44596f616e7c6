"""Helpers for the report tests: a small plan holding every registered variant, and planted
runners. A module of its own (not conftest.py, whose name other test folders share) so that
worker processes can import the runners by name."""

from __future__ import annotations

import os
from pathlib import Path

from nnparity.reference.matrix import matrix
from nnparity.reports.checkpoint import Outcome
from nnparity.reports.matrix_file import Plan
from nnparity.reports.sweep import run_config
from nnparity.scratch import Spec, activations

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
        if not s.layered
        and s.activations[-1].name in activations.names("output")
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


ONE_SIDE = "3-4-1 relu,identity loss=mse opt=adam(lr=0.01) dtype=float32 seed=77"


def one_side(spec: str, mode: str, steps: int) -> Outcome:
    """run_config, except that ONE_SIDE goes non-finite: on both sides at step 1's forward
    (a comparison that passes), then on PyTorch's side only in step 2's gradient of W1 (as when
    one side passes NaN on and the other does not): a failure with infinite differences."""
    import dataclasses
    import math

    from nnparity.reference.engine import run_parity
    from nnparity.reports.sweep import outcome

    if spec != str(Spec.parse(ONE_SIDE)):
        return run_config(spec, mode, steps)
    records = list(run_parity(spec, steps, mode).records)
    for i, r in enumerate(records):
        if (r.step, r.stage) == (1, "forward"):
            records[i] = dataclasses.replace(
                r, nonfinite=True, scratch_value=math.nan, torch_value=math.nan
            )
        if (r.step, r.stage, r.tensor) == (2, "grad", "W1"):
            inf = math.inf
            records[i] = dataclasses.replace(
                r, nonfinite=True, passed=False, max_abs=inf, max_rel=inf, tol_used=inf,
                mismatched=r.numel, scratch_value=0.0, torch_value=math.nan,
            )  # fmt: skip
    return outcome(spec, mode, records)
