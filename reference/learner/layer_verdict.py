"""The per-layer checks' answers: one layer's ``LayerVerdict``, every layer's ``LayersResult``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .result import Finding, Training


@dataclass(frozen=True)
class LayerVerdict:
    """One layer's answer: ``code`` (``match`` or ``implementation_bug``), the findings, the
    cases run, the largest relative difference per tensor where they agreed."""

    name: str
    layer: str
    code: str
    findings: tuple[Finding, ...]
    cases: tuple[str, ...]
    worst: dict[str, float] = field(default_factory=dict)

    def render(self) -> str:
        head = f"{self.name} ({self.layer}): {self.code}"
        lines = [head, f"  cases: {'; '.join(self.cases)}"]
        if self.code == "match" and self.worst:
            agreed = ", ".join(f"{k} {v:.1e}" for k, v in self.worst.items())
            lines.append(f"  largest relative difference: {agreed}")
        for f in self.findings:
            lines += [
                f"  {f.code} [{', '.join(f.params)}]",
                f"    evidence: {f.evidence}",
                f"    fix: {f.hint}",
            ]
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "layer": self.layer,
            "code": self.code,
            "cases": list(self.cases),
            "worst": self.worst,
            "findings": [
                {"code": f.code, "tensors": list(f.params), "evidence": f.evidence, "fix": f.hint}
                for f in self.findings
            ],
        }


@dataclass(frozen=True)
class LayersResult:
    """Every layer's verdict; ``code`` is ``match`` when all match. Reads like a
    ``CheckResult`` where ``nnparity check`` and the sandbox need it (``as_dict``,
    ``render``, ``passed``, ``training``)."""

    layers: tuple[LayerVerdict, ...]
    training: Training = Training("not_assessed", reached="per-layer checks train nothing")

    @property
    def code(self) -> str:
        return "match" if all(v.code == "match" for v in self.layers) else "implementation_bug"

    @property
    def verdict(self) -> str:
        return self.code

    @property
    def passed(self) -> bool:
        return self.code == "match"

    def passes(self, require_fit: bool = False) -> bool:
        return self.passed and not require_fit

    def render(self) -> str:
        n_ok = sum(v.code == "match" for v in self.layers)
        head = f"code: {self.code} ({n_ok} of {len(self.layers)} layer(s) match PyTorch)"
        return "\n\n".join([head, *(v.render() for v in self.layers)])

    def __str__(self) -> str:
        return self.render()

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "training": {
                "outcome": self.training.outcome,
                "criterion": "",
                "reached": self.training.reached,
            },
            "findings": [
                {"code": f["code"], "layer": v["name"], **f}
                for v in (x.as_dict() for x in self.layers)
                for f in v["findings"]
            ],
            "layers": [v.as_dict() for v in self.layers],
        }
