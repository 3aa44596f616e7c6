"""What the learner showed at one step (``Obs``), and the crash of a learner's function
(``LearnerCrash``, carrying its finding)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .result import Finding

Array = np.ndarray


@dataclass
class Obs:
    """What the learner showed at one step, canonical (float64 gradients)."""

    step: int
    rows: Array
    params: dict[str, Array]
    out: Array | None = None
    loss: float | None = None
    grads: dict[str, Array] | None = None
    implied: bool = False
    noise: dict[str, float] = field(default_factory=dict)
    held: dict[str, str] = field(default_factory=dict)  # the dtype of each array it returned
    after: dict[str, Array] | None = None
    calls: int = 1  # backward passes run at these weights (2 with the determinism probe)
    warning: tuple[int, str] | None = None  # the learner's first RuntimeWarning so far
    penalty_added: bool = False  # l2_in='update': the declared penalty added to loss, grads
    returned: bool = False  # the loss is the float a whole step returned (it may be another)


class LearnerCrash(Exception):
    def __init__(self, finding: Finding):
        super().__init__(finding.evidence)
        self.finding = finding
