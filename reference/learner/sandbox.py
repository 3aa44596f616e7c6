"""Run a learner's file isolated: ``run_isolated(target, options, timeout, memory)``.

A learner's file is code nnparity does not control: it may print, read ``sys.argv``, call
``sys.exit`` or ``os._exit``, crash the interpreter, loop forever, exhaust memory, delete files,
or be written to cheat. So this process (the caller's: the command line, a grader, pytest)
starts a checker process (``sandbox_child``: PyTorch, the comparison, the verdict), which starts
the learner's process (``serve``: the learner's file, its adapter, nothing of ours that judges)
and calls the learner's functions over a pipe (``remote``, ``wire``: arrays as raw bytes with
dtype and shape, never pickles). No line of the learner's code runs where the verdict is made,
so patching nnparity in its process changes nothing. The learner's process:

- works in a temporary copy of the file's folder (``workspace.copy_folder``: at most
  ``COPY_LIMIT`` bytes, Python files first; what was left out is said); the folder is first on
  ``sys.path`` once nnparity is imported, so the learner's ``scratch.py`` or ``reference.py``
  never shadows ours (ours live under ``nnparity.*``);
- has ``sys.argv == [FILE]``, stdin from /dev/null, stdout and stderr captured (head and tail,
  ``OUTPUT_LIMIT`` characters each) and returned as ``output``;
- is confined with Landlock where the kernel has it (``landlock``): it writes only beneath its
  copy and its TMPDIR, and cannot ptrace, read the memory or descriptors of, or signal the
  checker or this process;
- has an address-space limit (``RLIMIT_AS``) and a CPU-time limit (``RLIMIT_CPU``,
  ``cpu_limit(timeout)``), as the checker has on top of PyTorch's import; the checker keeps the
  wall-time limit (what the learner's code was running is said, from a ``faulthandler`` dump);
- ``sys.exit``, ``os._exit``, a crash (a signal) or a hang in it: a verdict-less outcome saying
  what happened and where, never a pass.

The checker is a child subreaper and kills every process below it at the end (``reaper``:
``setsid`` and double forks included). Its result comes back on a pipe only it holds, as JSON
signed with a key made here (HMAC-SHA256); a message anyone else wrote there is refused
(``tampered``, exit 2), and a file the learner writes is never read. The result holds
``CheckResult.as_dict()``, ``render()``, ``passed`` and ``fits``; the ``CheckResult`` is
rebuilt with ``CheckResult.from_dict`` when asked (``want_object``). This module imports only
the standard library: this process never needs torch. The outcome read back:
``sandbox_outcome``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import pickle
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from .sandbox_outcome import (
    CRASHED,
    INTERNAL,
    TAMPERED,
    TIMEOUT,
    VERDICT,
    IsolatedOutcome,
    _outcome,
    _Paths,
    _read,
    _where_from_dump,
    parse_bytes,
)
from .target import split_target
from .workspace import COPY_LIMIT, copy_folder

__all__ = [
    "BOOT",
    "DEFAULT_MEMORY",
    "DEFAULT_TIMEOUT",
    "INTERNAL",
    "TIMEOUT",
    "VERDICT",
    "IsolatedOutcome",
    "cpu_limit",
    "parse_bytes",
    "run_isolated",
]

DEFAULT_TIMEOUT = 60.0  # seconds: a tiny network's check takes a few (torch's import included)
DEFAULT_MEMORY = 4 * 2**30  # bytes of address space beyond PyTorch's import; a tiny check uses
# well under 1 GiB of it
OUTPUT_LIMIT = 32_000  # characters of the learner's output kept at the head and at the tail
BACKSTOP = 15.0  # seconds past the time limit before a checker that did not stop is killed
RESULT_LIMIT = 256 * 2**20  # bytes of result read back from the checker
CPU_MARGIN = 5.0  # CPU seconds on top of timeout x threads (the wall clock acts first)


def run_isolated(
    target: str,
    options: dict[str, Any] | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
    memory: int | None = DEFAULT_MEMORY,
    *,
    X: Any = None,
    y: Any = None,
    want_object: bool = False,
    copy_limit: int = COPY_LIMIT,
) -> IsolatedOutcome:
    """Check ``target`` (``FILE.py[:NAME]``) in a child process: ``check(adapter, X, y,
    **options)`` on the adapter the file builds, within ``timeout`` seconds of wall time and
    ``memory`` bytes of address space (None or 0: no limit). See the module docstring."""
    path_text, name = split_target(target)
    src = Path(path_text).resolve()
    if not src.is_file():
        from .paths import LearnerError

        raise LearnerError(f"no such file: {path_text}")
    with tempfile.TemporaryDirectory(prefix="nnparity-check-") as tmp:
        box = Path(tmp)
        work = box / "work" / (src.parent.name or "root")
        note = copy_folder(src.parent, work, src, copy_limit)
        key = secrets.token_hex(32)
        result_r, result_w = os.pipe()
        request = {
            "file": str(work / src.name),
            "name": name,
            "options": dict(options or {}),
            "X": X,
            "y": y,
            "memory": memory or None,
            "cpu": cpu_limit(timeout),
            "deadline": time.monotonic() + timeout if timeout else None,
            "want_object": want_object,
            "key": key,
            "result_fd": result_w,
            "faults": str(box / "faults.txt"),
            "tmp": str(box / "tmp"),  # the learner's TMPDIR, writable under Landlock
        }
        (box / "tmp").mkdir()
        (box / "request.pkl").write_bytes(pickle.dumps(request))
        try:
            rc, timed_out, output, message = _spawn(box, work, timeout, result_r, result_w)
        finally:
            os.close(result_r)
        fix = _Paths(str(work), str(src.parent))
        sent = _authentic(message, key)
        if sent is False:
            outcome = IsolatedOutcome(TAMPERED, error=TAMPERED_MESSAGE)
        else:
            outcome = _outcome(sent, rc, timed_out, timeout, memory, want_object)
        faults = _read(box / "faults.txt")
    error = outcome.error
    if outcome.status in (TIMEOUT, CRASHED) and (where := _where_from_dump(faults, str(work))):
        error = f"{error}\n{where}"
    return IsolatedOutcome(
        outcome.status,
        fix.deep(outcome.result),
        fix(outcome.render),
        outcome.passed,
        fix(output),
        fix(error) if error else None,
        note,
        outcome.obj,
        outcome.fits,
    )


# -- the parent side -----------------------------------------------------------------------


def cpu_limit(timeout: float | None) -> int | None:
    """The child's CPU-time limit in seconds: ``timeout`` times the threads it may use (its
    ``OMP_NUM_THREADS``, 1 unless set) plus ``CPU_MARGIN``, so the wall-time limit acts first
    on a program that computes; None without a timeout."""
    if not timeout:
        return None
    try:
        threads = max(1, int(os.environ.get("OMP_NUM_THREADS", "1")))
    except ValueError:
        threads = os.cpu_count() or 1
    return int(timeout * threads + CPU_MARGIN) + 1


def _child_paths() -> list[str]:
    """``sys.path`` for the child: nnparity's own root first, then the parent's entries except
    the current directory (the child's is the learner's copy, put first later)."""
    import nnparity

    root = str(Path(nnparity.__file__).resolve().parent.parent)
    cwd = os.getcwd()
    rest = [p for p in sys.path if p not in ("", ".", cwd, root)]
    return [root, *rest]


BOOT = (
    "import sys; sys.path[:] = {paths!r}; "
    "from nnparity.reference.learner.sandbox_child import child_main; child_main({request!r})"
)


def _spawn(
    box: Path, work: Path, timeout: float | None, result_r: int, result_w: int
) -> tuple[int | None, bool, str, bytes]:
    """Run the checker in ``work``; (its return code or None when killed for time, timed out,
    captured output, what it sent on the result pipe). The checker keeps the time limit itself
    (``sandbox_child``); this one is a backstop for a checker that was stopped."""
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(var, "1")  # the check runs single-threaded anyway; fewer thread pools
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONUNBUFFERED"] = "1"  # the learner's prints arrive in order with its errors
    code = BOOT.format(paths=_child_paths(), request=str(box / "request.pkl"))
    try:
        proc = subprocess.Popen(
            [sys.executable, "-c", code],
            cwd=work,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: killed whole, children included
            pass_fds=(result_w,),
            env=env,
        )
    finally:
        os.close(result_w)  # the checker holds the only writing end now
    reader = _Capture(proc.stdout)
    result = _Drain(result_r)
    timed_out = False
    try:
        rc: int | None = proc.wait(timeout=timeout + BACKSTOP if timeout else None)
    except subprocess.TimeoutExpired:
        timed_out = True
        rc = None
    finally:  # also on Ctrl-C: nothing the learner started outlives the check
        _signal_group(proc.pid, signal.SIGKILL)
        proc.wait()
    return rc, timed_out, reader.text(), result.data()


TAMPERED_MESSAGE = (
    "the check's result channel held a message nnparity's checker did not write (your program "
    "wrote to it), so there is no verdict: a program being checked must not touch nnparity's "
    "processes or files"
)


def _authentic(message: bytes, key: str) -> dict | None | bool:
    """The checker's result when ``message`` is signed with ``key``; None when there is no
    message; False when there is one that is not the checker's."""
    if not message:
        return None
    mac, _, payload = message.partition(b"\n")
    good = hmac.new(bytes.fromhex(key), payload, hashlib.sha256).hexdigest().encode()
    if not hmac.compare_digest(mac, good):
        return False
    try:
        sent = json.loads(payload)
    except ValueError:
        return False
    return sent if isinstance(sent, dict) else False


class _Drain:
    """Reads the result pipe to its end in a thread (at most ``RESULT_LIMIT`` bytes)."""

    def __init__(self, fd: int):
        self.chunks: list[bytes] = []
        self.size = 0
        self.fd = fd
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            while chunk := os.read(self.fd, 1 << 16):
                if self.size < RESULT_LIMIT:
                    self.chunks.append(chunk)
                    self.size += len(chunk)
        except OSError:
            pass

    def data(self) -> bytes:
        self.thread.join(timeout=5)
        return b"".join(self.chunks)


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


class _Capture:
    """Reads a pipe to its end in a thread, keeping the first and the last ``OUTPUT_LIMIT``
    characters (a program that prints gigabytes costs no memory)."""

    def __init__(self, pipe: Any):
        self.head = bytearray()
        self.tail = bytearray()
        self.dropped = 0
        self.lines_dropped = 0  # newlines among the dropped bytes
        self.at_line = True
        self.thread = threading.Thread(target=self._read, args=(pipe,), daemon=True)
        self.thread.start()

    def _read(self, pipe: Any) -> None:
        with pipe:
            while chunk := pipe.read1(65536):
                room = OUTPUT_LIMIT - len(self.head)
                self.head += chunk[:room]
                self.tail += chunk[room:] if room > 0 else chunk
                if len(self.tail) > OUTPUT_LIMIT:
                    cut = len(self.tail) - OUTPUT_LIMIT
                    self.dropped += cut
                    self.lines_dropped += self.tail.count(b"\n", 0, cut)
                    self.at_line = self.tail[cut - 1 : cut] == b"\n"  # the tail starts a line
                    del self.tail[:cut]

    def text(self) -> str:
        self.thread.join(timeout=5)
        head = self.head.decode("utf-8", "replace")
        tail = self.tail.decode("utf-8", "replace")
        if self.dropped:  # whole lines on each side of the cut (review s19b: one cut in two)
            head, _, part = head.rpartition("\n") if "\n" in head else (head, "", "")
            first = ""
            if not self.at_line and "\n" in tail:  # a line begun in the cut ends in the tail
                first, _, tail = tail.partition("\n")
            left = self.dropped + len(part.encode()) + len(first.encode())
            lines = self.lines_dropped + (not self.at_line)
            return f"{head}\n[... {lines} line(s), {left} bytes left out ...]\n{tail}"
        return head + tail
