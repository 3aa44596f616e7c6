"""``ParityResult``: every comparison of a parity run, its verdict and its failure message."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from nnparity.scratch import Spec

from .compare import Record
from .finite_diff import Opinion
from .judge import GROWTH_CAP, STAGE_RANK

FRAMEWORKS = {"torch": "PyTorch", "jax": "JAX"}  # ``against=``: the reference held to


@dataclass(frozen=True)
class ParityResult:
    spec: Spec
    mode: str
    steps: int
    records: tuple[Record, ...]
    opinions: tuple[Opinion, ...] = ()
    arrays: dict[tuple[int, str, str], tuple[Any, Any]] = field(default_factory=dict, repr=False)
    resync: ParityResult | None = None  # free mode past GROWTH_CAP: the resync run that decides
    growth: float = 1.0  # free mode: the loss growth max |L_k| / |L_1| when resync decides
    side: str = "scratch"  # what was held to PyTorch: scratch, or "your network" (net=...)
    framework: str = "torch"  # the reference: "torch" (the twin) or "jax" (``against="jax"``)
    # (step, stage, why): from this step and stage on the run had left the range where a
    # comparison carries information (overflow); those records are kept, not judged
    # (``judge._cannot_judge``)
    unjudged: tuple[int, str, str] | None = None

    @property
    def judged(self) -> tuple[Record, ...]:
        """The records the verdict rests on: all of them, or those before ``unjudged``."""
        if self.unjudged is None:
            return self.records
        step, stage, _ = self.unjudged
        at = (step, STAGE_RANK.get(stage, 0))
        return tuple(r for r in self.records if (r.step, STAGE_RANK.get(r.stage, 0)) < at)

    @property
    def nothing_judged(self) -> bool:
        """The run (the one that decides) overflowed before any comparison could be judged."""
        run = self.resync if self.resync is not None else self
        return run.unjudged is not None and not run.judged

    @property
    def cannot_judge(self) -> str | None:
        """Why the run (the one that decides) cannot be judged from some step on, or None."""
        run = self.resync if self.resync is not None else self
        if run.unjudged is None:
            return None
        step, stage, why = run.unjudged
        return f"cannot judge from step {step} / {stage} on: {why}"

    @property
    def judged_by(self) -> str:
        """'resync' when free mode could not judge this run and a resync run decided."""
        return "resync" if self.resync is not None else self.mode

    @property
    def passed(self) -> bool:
        if self.resync is not None:
            return self.resync.passed
        if self.nothing_judged:
            return False  # never a vacuous pass (the CLI exits 2)
        return all(r.passed for r in self.judged)

    @property
    def failures(self) -> list[Record]:
        if self.resync is not None:
            return self.resync.failures
        return [r for r in self.judged if not r.passed]

    @property
    def first_failure(self) -> Record | None:
        return next(iter(self.failures), None)

    def message(self) -> str:
        """A torch.testing.assert_close-style account of the first failure, and the rest."""
        text = self._message()
        if self.framework != "torch":
            text = re.sub(r"\bPyTorch\b", FRAMEWORKS[self.framework], text)
        return text if self.side == "scratch" else re.sub(r"\bscratch\b", self.side, text)

    def _message(self) -> str:
        if self.resync is not None:
            return (
                f"free mode cannot judge this run: the loss grew {self.growth:.3g}x (past "
                f"{GROWTH_CAP:g}x, where round-off is amplified beyond any sound tolerance); "
                f"the resync comparison decides: {self.resync.message()}"
            )
        why = "" if self.unjudged is None else f"; {self.cannot_judge}"
        if self.nothing_judged:
            return f"nnparity cannot judge this run ({self.mode} mode): {self.cannot_judge}"
        if self.passed:
            n = len(self.judged)
            return f"parity holds: {n} comparisons over {self.steps} step(s){why}"
        fails = self.failures
        first = fails[0]
        head = (
            f"Parity failed for spec '{self.spec}' ({self.mode} mode, {self.steps} steps): "
            f"{len(fails)} of {len(self.judged)} comparisons outside tolerance{why}.\n"
            f"First: {first.message()}"
        )
        rest = [f.where for f in fails[1:6]]
        more = f"\nAlso: {'; '.join(rest)}" + (" ..." if len(fails) > 6 else "") if rest else ""
        ops = "".join(f"\n{o}" for o in self.opinions)
        return head + more + ops
