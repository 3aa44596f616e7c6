"""What ``check`` returns: two answers, findings, and a per-parameter table (frozen records).

``code`` answers "is the code right?": ``match`` (forward, gradients and updates agree with
PyTorch at every step run), ``implementation_bug`` (they part: where first and the likely
class), ``numerical_instability`` (they agree while finite, then NaN/Inf appears where PyTorch's
formulation stays finite). ``training`` answers "does this model learn this task?": ``fits``
(PyTorch trained the declared way from the learner's weights meets the criterion),
``model_limitation`` (it does not; the findings of kind ``limitation`` say why), or
``not_assessed`` (no targets, a forward-only adapter, or the probe skipped). The exit code and
``assert_learner_matches`` follow ``code``; ``require_fit`` also demands ``fits``. The JSON form
(``as_dict``) carries both and ``CheckResult.from_dict`` reads it back (the records aside).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from nnparity.reference.compare import Record

CODE_VERDICTS = ("match", "implementation_bug", "numerical_instability")
TRAINING_OUTCOMES = ("fits", "model_limitation", "not_assessed")
VERDICTS = CODE_VERDICTS  # the code verdict decides the exit code


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
class Training:
    """The second answer: ``outcome`` (fits / model_limitation / not_assessed), the criterion
    the probe judged by ("accuracy: argmax of each one-hot row"), what it reached ("8/8
    classified after 25 steps"), or why it was not assessed."""

    outcome: str
    criterion: str = ""
    reached: str = ""

    def line(self, codes: list[str]) -> str:
        head = self.outcome + (f" ({', '.join(codes)})" if codes else "")
        if self.outcome == "not_assessed":
            return f"{head}: {self.reached}" if self.reached else head
        return f"{head}: {self.reached} [{self.criterion}]" if self.reached else head


NOT_ASSESSED = Training("not_assessed", "", "the training probe was not run")


@dataclass(frozen=True)
class CheckResult:
    code: str
    findings: tuple[Finding, ...]
    table: tuple[ParamRow, ...]
    records: tuple[Record, ...]
    spec: str
    style: str
    steps: int
    training: Training = NOT_ASSESSED
    unchecked: tuple[Finding, ...] = ()  # what a match cannot vouch for (kind 'note')

    @property
    def verdict(self) -> str:
        """The code verdict (``code``): what the exit code follows."""
        return self.code

    @property
    def passed(self) -> bool:
        """The code matches PyTorch (whatever the training outcome)."""
        return self.code == "match"

    def passes(self, require_fit: bool = False) -> bool:
        """``passed``, and with ``require_fit`` also ``training.outcome == "fits"``."""
        return self.passed and (not require_fit or self.training.outcome == "fits")

    def training_codes(self) -> list[str]:
        """The limitation codes behind a ``model_limitation`` outcome (no_bias, capacity...)."""
        return list(dict.fromkeys(f.code for f in self.findings if f.kind == "limitation"))

    def codes(self) -> list[str]:
        return [f.code for f in self.findings]

    def finding(self, code: str) -> Finding | None:
        return next((f for f in self.findings if f.code == code), None)

    def as_dict(self) -> dict:
        """JSON-ready (README "JSON output"): code, training {outcome, codes, criterion,
        reached}, spec, style, steps, findings (code/params/layer/step/evidence/hint/kind),
        params (the table), unchecked (findings of kind note: what a match cannot vouch for)."""
        return {
            "code": self.code,
            "training": {**asdict(self.training), "codes": self.training_codes()},
            "spec": self.spec,
            "style": self.style,
            "steps": self.steps,
            "findings": [{**asdict(f), "params": list(f.params)} for f in self.findings],
            "params": [{**asdict(r), "shape": list(r.shape)} for r in self.table],
            "unchecked": [{**asdict(f), "params": list(f.params)} for f in self.unchecked],
        }

    @classmethod
    def from_dict(cls, d: dict) -> CheckResult:
        """The result back from ``as_dict``'s JSON (across a process boundary); the
        comparison records are not part of the JSON and come back empty."""
        t = dict(d.get("training") or {})
        t.pop("codes", None)
        return cls(
            d["code"],
            tuple(Finding(**{**f, "params": tuple(f["params"])}) for f in d["findings"]),
            tuple(ParamRow(**{**r, "shape": tuple(r["shape"])}) for r in d["params"]),
            (),
            d["spec"],
            d["style"],
            d["steps"],
            Training(**t) if t else NOT_ASSESSED,
            tuple(Finding(**{**f, "params": tuple(f["params"])}) for f in d.get("unchecked", ())),
        )

    def render(self) -> str:
        """Human-readable: both answers first, then the findings, then the parameter table."""
        lines = [
            f"code: {self.code}",
            f"training: {self.training.line(self.training_codes())}",
            f"twin: {self.spec} ({self.style} style, {self.steps} step(s) compared)",
        ]
        lines += [f"not checked: {f.evidence}; {f.hint}" for f in self.unchecked]
        if self.findings:
            lines += ["", "findings:"]
            lines += [f"  {i}. {f}".replace("\n", "\n   ") for i, f in enumerate(self.findings, 1)]
        if self.table:
            lines += ["", "parameters:", *_table(self.table)]
            if any(r.c is not None for r in self.table):
                lines.append(TABLE_NOTE)
        return "\n".join(lines)

    __str__ = render


TABLE_NOTE = (
    "  (c = <yours, PyTorch's> / <PyTorch's, PyTorch's>: the scale of your gradient against "
    "PyTorch's (1 when equal, -1 for the opposite sign); cos = their cosine similarity "
    "(1 when they point the same way))"
)


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


def distinct(a: float, b: float) -> tuple[str, str]:
    """``a`` and ``b`` printed with the fewest significant digits (6 at least) that tell them
    apart: a safe log's epsilon moves a loss in its 8th digit."""
    for digits in range(6, 18):
        pair = f"{a:.{digits}g}", f"{b:.{digits}g}"
        if pair[0] != pair[1]:
            break
    return pair


def factor_text(c: float, digits: int = 4, fmt: str = "f") -> str:
    """``c`` with ``digits`` decimals (``fmt`` 'f') or significant digits ('g'), and more where
    those would print a factor that is not whole as a whole number (1.0001, not 1.0000)."""
    text = f"{c:.{digits}{fmt}}"
    off = abs(c - round(c)) > 1e-9 * max(1.0, abs(c))  # round-off of a fitted 1 is not off
    while digits < 12 and off and float(text) == round(c):
        digits += 1
        text = f"{c:.{digits}{fmt}}"
    return text


def value_apart(a: float, b: float) -> str:
    """What a loss value ``a`` that parts from PyTorch's ``b`` while every gradient agrees
    most likely is: a whole factor (a sum where the mean belongs: review s61a F6, x N D), else
    a clip or an offset inside the loss."""
    c = a / b if b else 0.0
    if round(c) >= 2 and abs(c - round(c)) < 1e-6 * abs(c):
        return f"ratio {round(c)}: a sum where the mean belongs, or another reduction"
    return "a clip or an offset inside the loss, as nnfs's clip at 1e-7"
