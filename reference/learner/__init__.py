"""Check a learner's own NumPy network against PyTorch and name the bug.

    from reference.learner import from_gradients, check
    adapter = from_gradients(net, ["W1", "b1", "W2", "b2"], net.gradients, sizes=[2, 4, 1],
                             activations="tanh,sigmoid", loss="bce", optimizer="sgd", lr=0.5)
    print(check(adapter, X, y, steps=10))

See ``adapters`` for the five styles and ``check`` for what is compared.
"""

from .adapters import Adapter, from_forward, from_gradients, from_layers, from_loss, from_step
from .assertions import assert_learner_matches
from .check import check
from .conventions import Conventions
from .paths import LearnerError
from .result import VERDICTS, CheckResult, Finding, ParamRow

__all__ = [
    "VERDICTS",
    "Adapter",
    "CheckResult",
    "Conventions",
    "Finding",
    "LearnerError",
    "ParamRow",
    "assert_learner_matches",
    "check",
    "from_forward",
    "from_gradients",
    "from_layers",
    "from_loss",
    "from_step",
]
