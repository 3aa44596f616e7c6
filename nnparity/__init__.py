"""nnparity: hold from-scratch NumPy neural networks to PyTorch.

    import nnparity

    spec = nnparity.Spec.parse("4-8-3 tanh,identity loss=cross_entropy opt=adam(lr=0.01)")
    result = nnparity.run_parity(spec, steps=5)  # scratch vs its PyTorch twin
    print(result.message())

The parts: ``nnparity.scratch`` (the NumPy library, NumPy only), ``nnparity.reference`` (the
PyTorch twin, the parity engine, the learner checker), ``nnparity.reports`` (sweeps, reports,
the command line). Importing ``nnparity`` imports nothing heavy: NumPy comes with ``Spec``,
``build`` or a part, torch when a function that needs it is first called.
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any

# Installed from a wheel, the parts live inside this package. In a source checkout they are the
# folders beside it (scratch/, reference/, reports/): look there too, so that a checkout always
# imports its own parts (also a second checkout, or one on PYTHONPATH, next to an editable
# install of another).
_CHECKOUT = Path(__file__).resolve().parent.parent
if not (Path(__file__).parent / "scratch").is_dir() and (_CHECKOUT / "scratch").is_dir():
    __path__.append(str(_CHECKOUT))

_LAZY = {  # imported when first used: the check command's parent process needs none of them
    "Spec": "nnparity.scratch",
    "build": "nnparity.scratch",
    "run_parity": "nnparity.reference.engine",
    "check": "nnparity.reference.learner",
    "assert_learner_matches": "nnparity.reference.learner",
    "from_gradients": "nnparity.reference.learner",
    "from_layers": "nnparity.reference.learner",
    "from_step": "nnparity.reference.learner",
    "from_forward": "nnparity.reference.learner",
    "from_loss": "nnparity.reference.learner",
    "layer_check": "nnparity.reference.learner",
    "check_layers": "nnparity.reference.learner",
}

if TYPE_CHECKING:  # pragma: no cover
    from .reference.engine import run_parity
    from .reference.learner import (
        assert_learner_matches,
        check,
        check_layers,
        from_forward,
        from_gradients,
        from_layers,
        from_loss,
        from_step,
        layer_check,
    )
    from .scratch import Spec, build


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    if name == "__version__":  # importlib.metadata costs a tenth of a second: only when asked
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("nnparity")
        except PackageNotFoundError:  # pragma: no cover - a source tree, not installed
            return "0+unknown"
    raise AttributeError(f"module 'nnparity' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


__all__ = [
    "Spec",
    "__version__",
    "assert_learner_matches",
    "build",
    "check",
    "check_layers",
    "from_forward",
    "from_gradients",
    "from_layers",
    "from_loss",
    "from_step",
    "layer_check",
    "run_parity",
]
