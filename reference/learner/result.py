"""What ``check`` returns: a verdict, findings, and a per-parameter table (frozen records).

Verdicts: ``match`` (forward, gradients and updates agree with PyTorch at every step run, and
training works), ``implementation_bug`` (they part: where first and the likely class),
``numerical_instability`` (they agree while finite, then NaN/Inf appears), ``model_limitation``
(the code matches PyTorch, yet training fails in PyTorch too, from the same weights).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from nnparity.reference.compare import Record

VERDICTS = ("match", "implementation_bug", "numerical_instability", "model_limitation")


@dataclass(frozen=True)
class Finding:
    """One diagnosis: a code from LEARNER_BUGS.md, where (the learner's parameter names,
    layer, first step), the numbers behind it, and a one-line fix."""

    code: str
    params: tuple[str, ...]
    layer: int | None
    step: int | None
    evidence: str
    hint: str
    kind: str = "bug"  # bug | instability | limitation | hygiene | note

    def line(self) -> str:
        where = ", ".join(self.params) if self.params else "-"
        layer = f" layer {self.layer}" if self.layer else ""
        step = f" step {self.step}" if self.step else ""
        return f"{self.code} [{where}]{layer}{step}"

    def __str__(self) -> str:
        return f"{self.line()}\n    evidence: {self.evidence}\n    fix: {self.hint}"


@dataclass(frozen=True)
class ParamRow:
    """One learner parameter (or folded part): how it compared over the steps run."""

    name: str
    canonical: str
    shape: tuple[int, ...]
    steps: int
    first_bad_step: int | None
    stage: str
    max_abs: float
    max_rel: float
    c: float | None = None
    cos: float | None = None


@dataclass(frozen=True)
class CheckResult:
    verdict: str
    findings: tuple[Finding, ...]
    table: tuple[ParamRow, ...]
    records: tuple[Record, ...]
    spec: str
    style: str
    steps: int

    @property
    def passed(self) -> bool:
        return self.verdict == "match"

    def codes(self) -> list[str]:
        return [f.code for f in self.findings]

    def finding(self, code: str) -> Finding | None:
        return next((f for f in self.findings if f.code == code), None)

    def as_dict(self) -> dict:
        """JSON-ready: verdict, findings (code/params/layer/step/evidence/hint), table."""
        return {
            "verdict": self.verdict,
            "spec": self.spec,
            "style": self.style,
            "steps": self.steps,
            "findings": [{**asdict(f), "params": list(f.params)} for f in self.findings],
            "params": [{**asdict(r), "shape": list(r.shape)} for r in self.table],
        }

    def render(self) -> str:
        """Human-readable: the verdict first, then the findings, then the parameter table."""
        lines = [
            f"verdict: {self.verdict}",
            f"twin: {self.spec} ({self.style} style, {self.steps} step(s) compared)",
        ]
        if self.findings:
            lines += ["", "findings:"]
            lines += [f"  {i}. {f}".replace("\n", "\n   ") for i, f in enumerate(self.findings, 1)]
        if self.table:
            lines += ["", "parameters:", *_table(self.table)]
        return "\n".join(lines)

    __str__ = render


def _table(rows: tuple[ParamRow, ...]) -> list[str]:
    head = (
        "parameter",
        "twin",
        "shape",
        "stage",
        "first bad step",
        "max abs",
        "max rel",
        "c",
        "cos",
    )
    body = [
        (
            r.name,
            r.canonical,
            "x".join(map(str, r.shape)) or "()",
            r.stage,
            "-" if r.first_bad_step is None else str(r.first_bad_step),
            f"{r.max_abs:.3g}",
            f"{r.max_rel:.3g}",
            "-" if r.c is None else f"{r.c:.4f}",
            "-" if r.cos is None else f"{r.cos:.4f}",
        )
        for r in rows
    ]
    widths = [max(len(x) for x in col) for col in zip(head, *body, strict=False)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return ["  " + fmt.format(*head).rstrip()] + ["  " + fmt.format(*b).rstrip() for b in body]
