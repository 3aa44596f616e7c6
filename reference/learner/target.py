"""``FILE.py[:NAME]``: the file holding a learner's adapter and the name that gives it.

Standard library only: the parent process of ``nnparity check`` reads the target without
importing NumPy (see ``sandbox``)."""

from __future__ import annotations

from pathlib import Path


def split_target(target: str) -> tuple[str, str]:
    """(``FILE.py``, ``NAME`` or "") from ``FILE.py[:NAME]``; a path that exists is whole."""
    if Path(target).exists() or ":" not in target:
        return target, ""
    path_text, _, name = target.rpartition(":")
    return (path_text, name) if name.isidentifier() else (target, "")
