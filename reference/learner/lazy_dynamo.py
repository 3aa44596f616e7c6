"""Keep ``torch._dynamo`` (torch.compile's machinery) out of a check that never compiles.

Eager PyTorch reaches ``torch._dynamo`` through two functions only: ``Optimizer.step`` calls
``torch._dynamo.graph_break()`` (an empty function: it means something only while dynamo
traces), and the functions decorated ``torch._disable_dynamo`` (``Optimizer.add_param_group``,
``zero_grad``, ...) wrap themselves once with ``torch._dynamo.disable(fn)``, which changes
nothing outside a compiled region. Importing ``torch._dynamo`` for those two costs about as much
CPU as importing torch itself (1.4 s on a 2-core machine), at the first optimizer of every check.

``defer()`` puts a stand-in module at ``torch._dynamo`` that answers those two as eager mode
does (``graph_break``: nothing; ``disable``: the function itself, unwrapped) and imports the
real module the first time anything else is asked of it (``torch.compile``, ``config``, a
submodule), so code that does compile still gets the real thing. The arithmetic of every
PyTorch operation is untouched. ``defer`` is called in the check's child process only
(``sandbox``), which compiles nothing; a user's own process is never changed.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

NAME = "torch._dynamo"


class _Deferred(types.ModuleType):
    """``torch._dynamo`` until something beyond ``graph_break`` and ``disable`` is needed."""

    @staticmethod
    def graph_break(msg: str = "") -> None:
        """Eager mode: nothing to break (the real one is an empty function too)."""

    @staticmethod
    def disable(fn: Any = None, recursive: bool = True, **_: Any) -> Any:
        """Eager mode: the function itself (as a decorator factory when ``fn`` is None)."""
        return fn if fn is not None else (lambda f: f)

    def __getattr__(self, name: str) -> Any:
        return getattr(real(), name)


def defer() -> bool:
    """Install the stand-in unless ``torch._dynamo`` is already imported; whether it is in place
    now (it stays until something beyond ``graph_break``/``disable`` is asked of it)."""
    import torch

    current = sys.modules.get(NAME)
    if current is None:
        current = _Deferred(NAME, __doc__)
        sys.modules[NAME] = current
        torch._dynamo = current  # type: ignore[attr-defined]
    return isinstance(current, _Deferred)


def real() -> types.ModuleType:
    """The real ``torch._dynamo``, imported now in place of the stand-in if needed."""
    import torch

    mod = sys.modules.get(NAME)
    if isinstance(mod, _Deferred) or mod is None:
        sys.modules.pop(NAME, None)
        if isinstance(getattr(torch, "_dynamo", None), _Deferred):
            del torch._dynamo  # type: ignore[attr-defined]
        mod = importlib.import_module(NAME)
    return mod


def deferred() -> bool:
    """Whether ``torch._dynamo`` is still the stand-in (the real one was never needed)."""
    return isinstance(sys.modules.get(NAME), _Deferred)
