"""Which automatic-differentiation frameworks the learner's own code imports, watched from the
learner's process by an audit hook (PEP 578) installed before its file loads: a hook cannot be
removed, so deleting ``torch`` from ``sys.modules`` afterwards, or patching nnparity's list,
hides nothing (review s58 F1: both passed a class). An import whose nearest caller outside
Python's import machinery is nnparity's own code (``nnparity.check`` run by the file) is not
the learner's; nor a module of that name in the learner's own folder (its own ``autograd.py``).
Not seen: a framework loaded before by nnparity's own code and imported again by the
learner's (read from ``sys.modules``, nothing loads), gradients from a
subprocess, from numerical differentiation, from nnparity's own network: the check compares
values, not how they were made."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

AUTODIFF = frozenset({"torch", "jax", "tensorflow", "autograd", "mxnet", "paddle"})


def watch(ours: str, folder: str) -> Seen:
    """Install the hook; the set it fills with the frameworks the learner's code imports
    (``ours``: nnparity's package folder; ``folder``: the learner's)."""
    seen: set[str] = set()

    def hook(event: str, args: tuple) -> None:
        if event != "import":
            return
        top = str(args[0]).partition(".")[0]
        if top in AUTODIFF and top not in seen and not _ours(ours, top):
            seen.add(top)

    sys.addaudithook(hook)
    return Seen(seen, folder)


def _ours(ours: str, top: str) -> bool:
    """Whether the import's nearest caller outside the import machinery and the framework's
    own package (its submodules import each other) is nnparity's code."""
    try:
        f: Any = sys._getframe(2)  # (0: this function, 1: the hook)
    except ValueError:
        return False
    while f is not None:
        name = f.f_code.co_filename
        path = name.replace("\\", "/")
        inside = f"/{top}/" in path  # (a learner's own importlib.py is no machinery)
        if not name.startswith("<frozen importlib") and "/importlib/" not in path and not inside:
            return name.startswith(ours)
        f = f.f_back
    return False


class Seen:
    """The frameworks seen, less a module of that name that lives in the learner's folder."""

    def __init__(self, seen: set[str], folder: str):
        self._seen, self._folder = seen, str(Path(folder).resolve())

    def names(self) -> list[str]:
        out = []
        for m in sorted(self._seen):
            where = getattr(sys.modules.get(m), "__file__", None) or ""
            if not (where and str(Path(where).resolve()).startswith(self._folder)):
                out.append(m)
        return out
