"""Load a learner's adapter from a Python file: ``FILE.py[:NAME]``.

The file is imported as a module (its directory first on ``sys.path``, so its own imports
work; keep training code under ``if __name__ == "__main__":``). ``NAME`` (default
``nnparity_adapter``) is a function taking no arguments, or a variable, that gives an
``Adapter`` carrying its data (``data=(X, y)``), or a tuple ``(adapter, X, y)``. A file
without ``nnparity_adapter`` may define ``nnparity_layers`` instead: per-layer checks
(``per_layer.layer_check``, one or a list or dict of them), returned as the "adapter".
"""

from __future__ import annotations

import importlib.util
import sys
import traceback
from pathlib import Path
from typing import Any

from nnparity.scratch.errors import NNParityError

from .adapters import Adapter
from .crash import learner_tail
from .paths import LearnerError
from .per_layer import is_layer_checks
from .target import split_target

DEFAULT_NAME = "nnparity_adapter"
LAYERS_NAME = "nnparity_layers"


def resolve_target(target: str, folders: list[Path]) -> str:
    """``target`` with a relative ``FILE.py`` found in the first of ``folders`` that holds it
    (a test's own folder, then the working directory); a ``LearnerError`` naming the folders
    searched when none does."""
    path_text, name = split_target(target)
    path = Path(path_text).expanduser()
    places = [path] if path.is_absolute() else [f / path for f in dict.fromkeys(folders)]
    found = next((p for p in places if p.is_file()), None)
    if found is None:
        where = ", ".join(str(p.parent) for p in places)
        raise LearnerError(f"no such file: {path_text} (looked in {where})")
    return str(found) + (f":{name}" if name else "")


def load(target: str) -> tuple[Adapter, Any, Any]:
    """(adapter, X, y) from ``FILE.py[:NAME]``; X and y are None when the adapter has data."""
    path_text, name = split_target(target)
    path = Path(path_text)
    if not path.is_file():
        raise LearnerError(f"no such file: {path_text}")
    name = name or DEFAULT_NAME
    mod_name = f"nnparity_learner_{path.stem}"
    spec = importlib.util.spec_from_file_location(mod_name, path)
    if spec is None or spec.loader is None:
        raise LearnerError(f"cannot import {path}: is it a Python file?")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.resolve().parent))
    try:
        sys.modules[mod_name] = module
        spec.loader.exec_module(module)
        if name == DEFAULT_NAME and not hasattr(module, name) and hasattr(module, LAYERS_NAME):
            name = LAYERS_NAME  # per-layer checks (per_layer.layer_check)
        if not hasattr(module, name):
            raise LearnerError(
                f"{path} defines no {name!r}: add a function `def {name}():` that returns "
                "an adapter (nnparity.from_gradients or another adapter constructor), "
                f"or `def {LAYERS_NAME}():` that returns layer checks (layer_check), "
                "or name yours with FILE.py:NAME"
            )
        obj = getattr(module, name)
        made = obj() if callable(obj) and not isinstance(obj, Adapter) else obj
    except MemoryError:  # out of memory is not a fault of the file's code: said as such
        raise
    except NNParityError as e:  # a declaration or name that does not fit: one line, and where
        raise LearnerError(f"{_where(e, path)}{e}") from None
    except EOFError as e:  # input() at import: the check's run has no one at the keyboard
        raise LearnerError(
            f"{path} read from the keyboard (input()) while building the adapter, and a check "
            f"has no one to answer:\n{learner_tail(e)}\nfix: move the input() call under "
            '`if __name__ == "__main__":`, or give the value as a default in the file'
        ) from None
    except Exception as e:  # noqa: BLE001 - the learner's file failed: show its traceback
        raise LearnerError(
            f"{path} failed while building the adapter:\n{learner_tail(e)}"
        ) from None
    finally:
        sys.path.remove(str(path.resolve().parent))
    if is_layer_checks(made):  # nnparity_layers(): run by per_layer.check_layers
        return made, None, None
    if isinstance(made, tuple) and len(made) == 3 and isinstance(made[0], Adapter):
        return made
    if isinstance(made, Adapter):
        return made, None, None
    raise LearnerError(
        f"{name} gave a {type(made).__name__}; it must give an Adapter "
        "(with data=(X, y)) or a tuple (adapter, X, y)"
    )


def _where(exc: BaseException, path: Path) -> str:
    """``"a_nielsen.py:53 (in typo_act): "``: the learner's last line that led to ``exc``."""
    mine = [
        f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename) == path.resolve()
    ]
    if not mine:
        return ""
    f = mine[-1]
    return f"{path.name}:{f.lineno} (in {f.name}): "
