"""What the sandbox's child left, as the parent reads it back: statuses, outcome, byte counts."""

from __future__ import annotations

import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# statuses: a verdict came back, or why not
VERDICT = "verdict"
UNUSABLE = "unusable"  # the file or adapter cannot be used (nnparity's LearnerError etc.)
EXITED = "exited"  # sys.exit / os._exit before the check finished
CRASHED = "crashed"  # killed by a signal (segfault, abort)
TIMEOUT = "timeout"
MEMORY = "memory"
INTERNAL = "internal"  # nnparity itself failed in the child
TAMPERED = "tampered"  # the result channel held a message the checker did not write
EXIT_CODES = {
    UNUSABLE: 2,
    EXITED: 2,
    CRASHED: 2,
    TIMEOUT: 2,
    MEMORY: 2,
    TAMPERED: 2,
    INTERNAL: 3,
}
GRACE = 0.5  # seconds a timed-out learner has to dump its stack before it is killed


@dataclass(frozen=True)
class IsolatedOutcome:
    """What came back from the child: ``status`` (``verdict`` or why none), ``result`` (the
    ``CheckResult.as_dict()`` when a verdict came back), ``render`` (its text), ``passed``,
    ``output`` (what the learner's program printed), ``error`` (what happened, when no
    verdict), ``note`` (what the copy of the folder left out), ``obj`` (the ``CheckResult``
    itself, when asked for and it could be read back)."""

    status: str
    result: dict | None = None
    render: str = ""
    passed: bool = False
    output: str = ""
    error: str | None = None
    note: str = ""
    obj: Any = field(default=None, repr=False, compare=False)
    fits: bool = False  # the training outcome is ``fits`` (for ``require_fit``)

    def passes(self, require_fit: bool = False) -> bool:
        """A verdict came back, its code is ``match``, and with ``require_fit`` it fits."""
        return self.status == VERDICT and self.passed and (self.fits or not require_fit)

    def exit_code(self, require_fit: bool = False) -> int:
        """0 for a passing verdict, 1 for another verdict, 2 when no verdict could be given
        (the learner's file could not be checked), 3 for an internal error of nnparity."""
        if self.status == VERDICT:
            return 0 if self.passes(require_fit) else 1
        return EXIT_CODES[self.status]


def _outcome(
    sent: dict | None,
    rc: int | None,
    timed_out: bool,
    timeout: float | None,
    memory: int | None,
    want_object: bool,
) -> IsolatedOutcome:
    """The outcome from what the checker sent (``sent``, already authenticated), or from how
    its process ended when it sent nothing."""
    if sent is not None and not timed_out:
        try:
            status = sent["status"]
            if status not in EXIT_CODES and status != VERDICT:
                raise ValueError(f"unknown status {status!r}")
        except Exception as e:  # noqa: BLE001 - a torn or foreign message: say so
            return IsolatedOutcome(INTERNAL, error=f"the check's result could not be read: {e}")
        if status == TIMEOUT and not sent.get("error"):
            sent = dict(sent, error=_timeout_message(timeout))
        obj = None
        if want_object and status == VERDICT and sent.get("result") is not None:
            from .result import CheckResult

            try:
                obj = CheckResult.from_dict(sent["result"])
            except Exception:  # noqa: BLE001 - the dict form still holds everything
                obj = None
        return IsolatedOutcome(
            status,
            sent.get("result"),
            str(sent.get("render", "")),
            sent.get("passed") is True,
            error=sent.get("error"),
            obj=obj,
            fits=sent.get("fits") is True,
        )
    if timed_out:
        return IsolatedOutcome(TIMEOUT, error=_timeout_message(timeout))
    assert rc is not None
    got = exit_outcome(rc, memory, "", checker=True)
    return IsolatedOutcome(got["status"], error=got["error"])


def _timeout_message(timeout: float | None) -> str:
    return (
        f"the check did not finish within {timeout or 0:g} s (the --timeout limit): "
        "your program may loop forever, at import or in a function nnparity calls; "
        "a larger network may need more time (--timeout SECONDS, 0 for none)"
    )


def exit_outcome(rc: int | None, memory: int | None, phase: str, checker: bool = False) -> dict:
    """{status, error} for a process that ended with return code ``rc`` before the check
    finished: the learner's (``phase``: what nnparity was doing), or the checker's own
    (``checker``: the learner's code may have killed it)."""
    if rc is None:
        return {"status": CRASHED, "error": "your program's process did not end when told to"}
    when = f" ({phase})" if phase else ""
    if rc == -signal.SIGXCPU:  # sent only by the kernel at RLIMIT_CPU
        return {
            "status": TIMEOUT,
            "error": "the check used up its CPU time (the CPU-time limit, set from --timeout): "
            "your program may loop forever, at import or in a function nnparity calls; "
            "a larger network may need more time (--timeout SECONDS, 0 for none)",
        }
    if rc < 0:
        try:
            name = signal.Signals(-rc).name
        except ValueError:
            name = f"signal {-rc}"
        why = _SIGNALS.get(name, "")
        mem = (
            f"; it may also have run out of memory under the {format_bytes(memory)} limit "
            "(--memory-limit)"
            if memory and name in ("SIGSEGV", "SIGABRT", "SIGKILL", "SIGBUS")
            else ""
        )
        who = (
            f"nnparity's checker process ended ({name}{why}; a program of yours can kill it)"
            if checker
            else f"the Python process running your program crashed ({name}{why})"
        )
        return {
            "status": CRASHED,
            "error": f"{who} before the check finished{when}, so there is no verdict{mem}",
        }
    if checker:
        return {
            "status": EXITED,
            "error": f"nnparity's checker process ended (exit status {rc}) without a result, "
            "so there is no verdict (a program of yours can end it)",
        }
    return {
        "status": EXITED,
        "error": f"your program ended the process (exit status {rc}) before the check "
        f"finished{when}, so there is no verdict: remove os._exit() (or any exit) from the code "
        'nnparity runs; keep your own training under `if __name__ == "__main__":`',
    }


_SIGNALS = {
    "SIGSEGV": ": a segmentation fault, e.g. from ctypes or a C extension",
    "SIGABRT": ": an abort, e.g. a failed C-level assertion or allocation",
    "SIGKILL": ": killed from outside, often by the system when memory ran out",
    "SIGBUS": ": a bus error",
    "SIGFPE": ": a floating-point exception in C code",
}


def _where_from_dump(dump: str, work: str) -> str:
    """The learner's frames in a ``faulthandler`` dump, most recent first, as one line each."""
    lines = [ln.strip() for ln in dump.splitlines() if work in ln and ln.strip().startswith("File")]
    if not lines:
        return ""
    return "it was running (most recent call first):\n  " + "\n  ".join(dict.fromkeys(lines))


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


@dataclass(frozen=True)
class _Paths:
    """Replaces the copy's folder by the learner's own in what is shown."""

    copy: str
    original: str

    def __call__(self, text: str) -> str:
        return text.replace(self.copy, self.original) if text else text

    def deep(self, x: Any) -> Any:
        if isinstance(x, str):
            return self(x)
        if isinstance(x, dict):
            return {k: self.deep(v) for k, v in x.items()}
        if isinstance(x, list | tuple):
            return type(x)(self.deep(v) for v in x)
        return x


def format_bytes(n: int | None) -> str:
    """``4 GiB``, ``512 MiB``: a byte count as the options write it."""
    if not n:
        return "no"
    units = (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10))
    whole = next(((u, s) for u, s in units if n % s == 0), None)
    unit, size = whole or next(((u, s) for u, s in units if n >= s), ("bytes", 1))
    return f"{n / size:g} {unit}"


def parse_bytes(text: str) -> int:
    """``4G``, ``512M``, ``2GiB``, ``1000000``: a byte count (binary units); 0 means none."""
    t = text.strip().upper().removesuffix("IB").removesuffix("B")
    scale = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}.get(t[-1:], 1)
    try:
        value = float(t[:-1] if scale > 1 else t)
    except ValueError:
        raise ValueError(f"not a size: {text!r} (write e.g. 4G, 512M or 0 for no limit)") from None
    if value < 0:
        raise ValueError(f"a size cannot be negative: {text!r}")
    return int(value * scale)
