"""``ParityResult``: every comparison of a parity run, its verdict and its failure message."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from nnparity.scratch import Spec

from .compare import Record
from .finite_diff import Opinion
from .judge import GROWTH_CAP

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

    @property
    def judged_by(self) -> str:
        """'resync' when free mode could not judge this run and a resync run decided."""
        return "resync" if self.resync is not None else self.mode

    @property
    def passed(self) -> bool:
        if self.resync is not None:
            return self.resync.passed
        return all(r.passed for r in self.records)

    @property
    def failures(self) -> list[Record]:
        if self.resync is not None:
            return self.resync.failures
        return [r for r in self.records if not r.passed]

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
        if self.passed:
            return f"parity holds: {len(self.records)} comparisons over {self.steps} step(s)"
        fails = self.failures
        first = fails[0]
        head = (
            f"Parity failed for spec '{self.spec}' ({self.mode} mode, {self.steps} steps): "
            f"{len(fails)} of {len(self.records)} comparisons outside tolerance.\n"
            f"First: {first.message()}"
        )
        rest = [f.where for f in fails[1:6]]
        more = f"\nAlso: {'; '.join(rest)}" + (" ..." if len(fails) > 6 else "") if rest else ""
        ops = "".join(f"\n{o}" for o in self.opinions)
        return head + more + ops
