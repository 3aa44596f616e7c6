"""A learner's exception as the learner needs to see it: its own frames only (nnparity's left
out, a sandboxed program's carried over as ``remote.RemoteLearnerError``), and for a shape
error, how the checker lays out X and y."""

from __future__ import annotations

import inspect
import re
import sysconfig
import traceback
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from .paths import LearnerError
from .result import Finding

_OURS = str(Path(__file__).resolve().parent)


_SHAPE_WORDS = ("shape", "dimension", "broadcast", "size", "align", "index")


def orientation_hint(
    e: Exception, args: tuple, what: str, layout: str, classes: int | None = None
) -> str:
    """For a shape error that names the batch size: how the checker lays out X and y, and the
    transpose a samples-as-columns program needs in its adapter."""
    only = getattr(e, "remote", (None, ""))[1] or f"{type(e).__name__}: {e}"
    if not args or not only.startswith(("ValueError", "IndexError")):
        return ""
    text = only.lower()
    n = np.shape(args[0])[0] if np.ndim(args[0]) else None
    if n is None or not any(w in text for w in _SHAPE_WORDS):
        return ""
    if layout != "out_in" and not re.search(rf"\b{n}\b", text):
        return ""
    shapes = " and ".join(f"{k} of shape {np.shape(a)}" for k, a in zip("Xy", args, strict=False))
    said = f"; the checker calls {what} with {shapes}, one sample per row (batch first, always)"
    if "non-broadcastable output operand" in text and re.search(rf"\b{n}\b", text):
        return (
            f"; an in-place update (p -= lr * g) met a gradient that keeps the batch's axis "
            f"({n} rows): sum it over the batch, keepdims=True for a bias of shape (n, 1) or "
            "(1, n)"
        )
    other = _other_axis(text, n, args, classes)  # (before the target's shape: review s32 F3)
    if other:
        return other
    if len(args) > 1 and np.shape(args[1])[1:] == (1,) and layout != "out_in":
        return (
            f"{said}: y is a column because you gave one; if your code wants a vector (a - y "
            "with a of shape (N,) broadcasts to (N, N)), give check y.ravel()"
        )
    if len(args) > 1 and np.ndim(args[1]) == 1 and layout != "out_in":
        return (
            f"{said}: y is a vector because you gave one; if your code wants a column (a - y "
            "with a of shape (N, 1) broadcasts to (N, N)), give check y.reshape(-1, 1)"
        )
    return (
        f"{said}: if your code takes samples as columns and your adapter does not transpose "
        f"yet, transpose there, e.g. lambda X, y: {what}(X.T, y.T)"
    )


def _other_axis(text: str, n: int, args: tuple, classes: int | None = None) -> str:
    """For two broadcast shapes with the batch's ``n`` on the same axis that differ on one
    other axis: not the layout; where one side is this batch's y.max() + 1 and the other the
    network's ``classes``, perhaps a one-hot sized from the batch's own labels (review s31 F3:
    Samson Zhang's one_hot at batch 10; s33 F5: a hidden width that equals y.max() + 1 is
    another array, so it is said as a possibility)."""
    m = re.search(r"shapes \(([\d, ]+)\)\s*\(([\d, ]+)\)", text)
    if not m:
        return ""
    a, b = (tuple(int(d) for d in g.replace(" ", "").split(",") if d) for g in m.groups())
    if len(a) != len(b):
        return ""
    apart = [i for i, (p, q) in enumerate(zip(a, b, strict=True)) if p != q and 1 not in (p, q)]
    if len(apart) != 1 or not any(p == q == n for p, q in zip(a, b, strict=True)):
        return ""
    p, q = a[apart[0]], b[apart[0]]
    said = (
        f"; both arrays hold the batch's {n} samples on the same axis, so this is no transpose: "
        f"they differ in their other axis, {p} against {q}"
    )
    y = np.asarray(args[1]) if len(args) > 1 else None
    labels = y is not None and y.size and y.size == len(y) and np.issubdtype(y.dtype, np.number)
    hot = labels and np.all(y == np.round(y)) and y.min() >= 0 and int(y.max()) + 1 == min(p, q)
    if hot and classes in (None, max(p, q)):
        return (
            f"{said}: {min(p, q)} is this batch's y.max() + 1 and {max(p, q)} your classes; if "
            f"the {min(p, q)} is a one-hot sized from the batch's own labels (Y.max() + 1), it "
            f"has fewer columns than the classes where a batch lacks the last class: size it "
            f"by the number of classes (np.eye({max(p, q)})[y])"
        )
    return said


def learner_tail(exc: BaseException, limit: int = 4) -> str:
    """The last ``limit`` frames of the traceback that are not nnparity's, and the error
    (raised in the learner's process: its frames, ``remote.RemoteLearnerError``)."""
    frames, only = getattr(exc, "remote", (None, ""))
    if frames is None:
        frames = [
            f
            for f in traceback.extract_tb(exc.__traceback__)
            if not f.filename.startswith((_OURS, "<frozen"))
        ]
        only = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    shown = frames[-limit:]
    own = [i for i, f in enumerate(frames) if not _library(f.filename)]
    if own and not any(not _library(f.filename) for f in shown):  # raised deep in a library:
        shown = [frames[own[-1]], *frames[-(limit - 1) :]]  # your line that called it first
    if only.startswith("FileNotFoundError"):
        only += (
            "\n(your program runs in a temporary copy of its folder: a relative path is read "
            "from there, so the file must lie in your program's folder or below it)"
        )
    return "".join(traceback.format_list(shown)) + only


class OwnFailure(RuntimeError):
    """A failure of the checker's own computation (PyTorch's reference, a tolerance floor),
    raised past the learner's: an internal error, never graded as the learner's code."""


def raised_by_us(exc: BaseException) -> bool:
    """Whether the innermost frame of ``exc`` that is not a library's is nnparity's own (its
    ``reference`` package): a failure of the checker, never to be graded as the learner's."""
    frames = [
        f.filename
        for f in traceback.extract_tb(exc.__traceback__)
        if f.filename.startswith(_REFERENCE) or not _library(f.filename)
    ]
    return bool(frames) and frames[-1].startswith(_REFERENCE)


_REFERENCE = str(Path(__file__).resolve().parents[1])


def _library(filename: str) -> bool:
    """Whether a frame is an installed library's or Python's own, not the learner's code."""
    return "site-packages" in filename or filename.startswith((_STDLIB, "<"))


_STDLIB = sysconfig.get_paths()["stdlib"]


def misfit(what: str, fn: Any, n: int, e: BaseException) -> None:
    """Raise ``LearnerError`` (no verdict: the adapter is misused) where ``e`` is the call's
    own TypeError: ``fn`` cannot take the ``n`` arguments the check passes, (X, y) or (X,),
    so its code never ran (review s24c F6: a one-argument lambda was a learner_exception);
    a sandboxed program's process says so itself (``misfit`` on the error it sends)."""
    if not (getattr(e, "misfit", False) or isinstance(e, TypeError) and not binds(fn, n)):
        return
    args = ("X", "y")[:n] if n <= 2 else tuple(f"arg{i}" for i in range(n))
    only = e.remote[1] if hasattr(e, "remote") else f"{type(e).__name__}: {e}"
    raise LearnerError(
        f"your {what} function cannot be called as {what}({', '.join(args)}), as the check "
        f"calls it ({only}); give one that takes {', '.join(args)}, e.g. "
        f"{what}=lambda {', '.join(args)}: ..."
    ) from None


def binds(fn: Any, n: int) -> bool:
    """Whether ``fn`` takes ``n`` positional arguments (True where no signature is read)."""
    try:
        inspect.signature(fn, follow_wrapped=False).bind(*range(n))  # a decorator's own
    except TypeError:
        return False
    except ValueError:  # a builtin without a signature: its own error stands
        return True
    return True


def crash_after(
    crash: Finding | None, bad: list, diag: list[Finding]
) -> tuple[list[Finding], list[Finding]]:
    """(findings before the diagnosis, after it): the crash first, or, where a named bug parted
    steps before it (weights it drove apart until an exp overflowed), after that bug, said as
    its likely consequence (review s28 f05: Brownlee's derivative slip crashed at step 5, and
    the crash led with "fix the error in your code")."""
    if crash is None:
        return [], []
    named = [f for f in diag if f.kind == "bug" and f.code != "unexplained_mismatch"]
    first = min((r.step for r in bad), default=None)
    if not named or first is None or crash.step is None or first >= crash.step:
        return [crash], []
    said = f"(likely a consequence of {named[0].code} from step {first}: fix that first)"
    return [], [replace(crash, evidence=f"{crash.evidence}\n{said}")]
