"""Check a learner's own NumPy network against PyTorch and name the bug.

    from nnparity.reference.learner import from_gradients, check
    adapter = from_gradients(net, ["W1", "b1", "W2", "b2"], net.gradients, sizes=[2, 4, 1],
                             activations="tanh,sigmoid", loss="bce", optimizer="sgd", lr=0.5)
    print(check(adapter, X, y, steps=10))

See ``adapters`` for the five styles and ``checker`` for what is compared. Importing the package
(and building adapters) does not import torch; ``check`` and ``assert_learner_matches`` do,
when first used.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

# imported when first used: the parent process of ``nnparity check`` imports this package for
# ``sandbox`` (standard library only) and needs none of these, nor NumPy
_LAZY = {
    **dict.fromkeys(
        ("Adapter", "from_forward", "from_gradients", "from_layers", "from_loss", "from_step"),
        ".adapters",
    ),
    "Conventions": ".conventions",
    "LearnerError": ".paths",
    **dict.fromkeys(
        (
            "CODE_VERDICTS",
            "TRAINING_OUTCOMES",
            "VERDICTS",
            "CheckResult",
            "Finding",
            "ParamRow",
            "Training",
        ),
        ".result",
    ),
    "check": ".checker",
    "assert_learner_matches": ".assertions",
    "load": ".loader",
    "layer_check": ".per_layer",
    "check_layers": ".per_layer",
}

if TYPE_CHECKING:  # pragma: no cover
    from .adapters import Adapter, from_forward, from_gradients, from_layers, from_loss, from_step
    from .assertions import assert_learner_matches
    from .checker import check
    from .conventions import Conventions
    from .loader import load
    from .paths import LearnerError
    from .per_layer import check_layers, layer_check
    from .result import (
        CODE_VERDICTS,
        TRAINING_OUTCOMES,
        VERDICTS,
        CheckResult,
        Finding,
        ParamRow,
        Training,
    )


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


__all__ = [
    "CODE_VERDICTS",
    "TRAINING_OUTCOMES",
    "VERDICTS",
    "Adapter",
    "CheckResult",
    "Conventions",
    "Finding",
    "LearnerError",
    "ParamRow",
    "Training",
    "assert_learner_matches",
    "check",
    "check_layers",
    "from_forward",
    "from_gradients",
    "from_layers",
    "from_loss",
    "from_step",
    "layer_check",
    "load",
]
