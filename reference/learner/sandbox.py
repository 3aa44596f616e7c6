"""Run a learner's file in a child process: ``run_isolated(target, options, timeout, memory)``.

A learner's file is code nnparity does not control: it may print, read ``sys.argv``, call
``sys.exit`` or ``os._exit``, crash the interpreter, loop forever, exhaust memory or delete
files. So the whole check (the learner's file and the PyTorch side) runs in a child Python
process, and only its result crosses back, as a file the child writes at the end:

- working directory: a temporary copy of the file's folder (``workspace.copy_folder``: at most
  ``COPY_LIMIT`` bytes, Python files first; what was left out is said), so a file that deletes
  files deletes only the copy; the folder is first on ``sys.path`` once nnparity and torch are
  imported, so the learner's ``scratch.py`` or ``reference.py`` is the one it imports and never
  shadows ours (ours live under ``nnparity.*``);
- ``sys.argv == [FILE]``, stdin from /dev/null, stdout and stderr captured (head and tail,
  ``OUTPUT_LIMIT`` characters each) and returned as ``output``;
- a wall-time limit (the child's process group is killed; what it was running is said, from a
  ``faulthandler`` dump) and an address-space limit (``RLIMIT_AS``, Linux) on what comes on top
  of PyTorch's import (a CUDA build maps gigabytes of libraries before any work is done);
- a CPU-time limit (``RLIMIT_CPU``, ``cpu_limit(timeout)``): a busy loop is stopped by the
  kernel even where the parent's clock cannot act (a parent that was killed, a paused one);
- ``sys.exit``, ``os._exit``, a crash (a signal) or a hang: a verdict-less outcome saying what
  happened and where, never a pass.

The result travels as JSON, never as a pickle: the child runs the learner's code, so whatever it
leaves for the parent is untrusted, and unpickling it could run code in the parent (a grader's
process). It holds ``CheckResult.as_dict()``, ``render()``, ``passed`` and ``fits``, so fields a
``CheckResult`` gains pass through untouched; the ``CheckResult`` itself is rebuilt with
``CheckResult.from_dict`` when asked (``want_object``). This module imports only the standard
library: the parent never needs torch.
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .target import split_target
from .workspace import COPY_LIMIT, copy_folder

DEFAULT_TIMEOUT = 60.0  # seconds: a tiny network's check takes a few (torch's import included)
DEFAULT_MEMORY = 4 * 2**30  # bytes of address space beyond PyTorch's import; a tiny check uses
# well under 1 GiB of it
OUTPUT_LIMIT = 32_000  # characters of the learner's output kept at the head and at the tail
GRACE = 0.5  # seconds a timed-out child has to dump its stack before it is killed
CPU_MARGIN = 5.0  # CPU seconds on top of timeout x threads (the wall clock acts first)

# statuses: a verdict came back, or why not
VERDICT = "verdict"
UNUSABLE = "unusable"  # the file or adapter cannot be used (nnparity's LearnerError etc.)
EXITED = "exited"  # sys.exit / os._exit before the check finished
CRASHED = "crashed"  # killed by a signal (segfault, abort)
TIMEOUT = "timeout"
MEMORY = "memory"
INTERNAL = "internal"  # nnparity itself failed in the child
EXIT_CODES = {UNUSABLE: 2, EXITED: 2, CRASHED: 2, TIMEOUT: 2, MEMORY: 2, INTERNAL: 3}


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
        request = {
            "file": str(work / src.name),
            "name": name,
            "options": dict(options or {}),
            "X": X,
            "y": y,
            "memory": memory or None,
            "cpu": cpu_limit(timeout),
            "want_object": want_object,
            "result": str(box / "result.json"),
            "faults": str(box / "faults.txt"),
        }
        (box / "request.pkl").write_bytes(pickle.dumps(request))
        rc, timed_out, output = _spawn(box, work, timeout)
        fix = _Paths(str(work), str(src.parent))
        outcome = _outcome(box, rc, timed_out, timeout, memory, want_object)
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
    "from nnparity.reference.learner.sandbox import child_main; child_main({request!r})"
)


def _spawn(box: Path, work: Path, timeout: float | None) -> tuple[int | None, bool, str]:
    """Run the child in ``work``; (return code or None when killed for time, timed out,
    captured output)."""
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(var, "1")  # the check runs single-threaded anyway; fewer thread pools
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONUNBUFFERED"] = "1"  # the learner's prints arrive in order with its errors
    code = BOOT.format(paths=_child_paths(), request=str(box / "request.pkl"))
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=work,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: killed whole, children included
        env=env,
    )
    reader = _Capture(proc.stdout)
    timed_out = False
    try:
        rc: int | None = proc.wait(timeout=timeout or None)
    except subprocess.TimeoutExpired:
        timed_out = True
        _signal_group(proc.pid, signal.SIGUSR1)  # faulthandler: where was it?
        try:
            proc.wait(timeout=GRACE)
        except subprocess.TimeoutExpired:
            pass
        rc = None
    finally:  # also on Ctrl-C: nothing the learner started outlives the check
        _signal_group(proc.pid, signal.SIGKILL)
        proc.wait()
    return rc, timed_out, reader.text()


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
                    del self.tail[:cut]

    def text(self) -> str:
        self.thread.join(timeout=5)
        head = self.head.decode("utf-8", "replace")
        tail = self.tail.decode("utf-8", "replace")
        if self.dropped:
            return f"{head}\n[... {self.dropped} bytes left out ...]\n{tail}"
        return head + tail


def _outcome(
    box: Path,
    rc: int | None,
    timed_out: bool,
    timeout: float | None,
    memory: int | None,
    want_object: bool,
) -> IsolatedOutcome:
    """Read the child's result, or say why there is none."""
    res = box / "result.json"
    if res.is_file() and not timed_out:
        try:
            sent = json.loads(res.read_text())
            status = sent["status"]
            if status not in EXIT_CODES and status != VERDICT:
                raise ValueError(f"unknown status {status!r}")
        except Exception as e:  # noqa: BLE001 - a torn or foreign file: say so
            return IsolatedOutcome(INTERNAL, error=f"the check's result could not be read: {e}")
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
        return IsolatedOutcome(
            TIMEOUT,
            error=f"the check did not finish within {timeout:g} s (the --timeout limit): "
            "your program may loop forever, at import or in a function nnparity calls; "
            "a larger network may need more time (--timeout SECONDS, 0 for none)",
        )
    assert rc is not None
    if rc == -signal.SIGXCPU:  # sent only by the kernel at RLIMIT_CPU
        return IsolatedOutcome(
            TIMEOUT,
            error="the check used up its CPU time (the CPU-time limit, set from --timeout): "
            "your program may loop forever, at import or in a function nnparity calls; "
            "a larger network may need more time (--timeout SECONDS, 0 for none)",
        )
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
        return IsolatedOutcome(
            CRASHED,
            error=f"the Python process running your program crashed ({name}{why}) before the "
            f"check finished, so there is no verdict{mem}",
        )
    return IsolatedOutcome(
        EXITED,
        error=f"your program ended the process (exit status {rc}) before the check finished, "
        "so there is no verdict: remove os._exit() (or any exit) from the code nnparity runs; "
        'keep your own training under `if __name__ == "__main__":`',
    )


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


# -- the child side ------------------------------------------------------------------------


def child_main(request_path: str) -> None:
    """The child's entry point (see ``BOOT``): run the check, write the result, exit."""
    import faulthandler

    req = pickle.loads(Path(request_path).read_bytes())  # written by the parent: trusted
    _limit_cpu(req.get("cpu"))
    faults = open(req["faults"], "w")  # noqa: SIM115 - open for the process's lifetime
    faulthandler.enable(file=faults)
    faulthandler.register(signal.SIGUSR1, file=faults, all_threads=False)
    try:
        sent = _child_check(req)
    except BaseException:  # noqa: BLE001 - whatever escapes is ours to report, not a verdict
        import traceback

        sent = {"status": INTERNAL, "error": traceback.format_exc()}
    tmp = req["result"] + ".part"
    with open(tmp, "w") as f:
        f.write(json.dumps(sent))
    os.replace(tmp, req["result"])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # the learner's threads or atexit hooks cannot hold the process


def _child_check(req: dict) -> dict:
    """The check itself, in the child: its result as a plain dict, or why there is none."""
    import traceback

    # ours first, before the learner's folder can shadow anything; no limit yet: the limit is
    # on what comes on top of PyTorch's own import (whose address space varies with the build)
    from nnparity.reference.learner import lazy_dynamo

    lazy_dynamo.defer()  # imports torch; torch.compile's machinery only if ever asked for
    from nnparity.reference.learner import checker
    from nnparity.reference.learner.loader import load
    from nnparity.reference.learner.per_layer import check_layers, is_layer_checks
    from nnparity.scratch.errors import NNParityError

    against = req["options"].pop("against", ("torch",))
    if "jax" in against:  # imported before the memory limit, as PyTorch is
        import nnparity.reference.jax  # noqa: F401
    _limit_memory(req["memory"])
    file = req["file"]
    folder = str(Path(file).parent)
    sys.argv = [file]
    sys.path.insert(0, folder)
    phase = "while nnparity loaded your file (its import and the adapter function)"
    try:
        adapter, X, y = load(file + (f":{req['name']}" if req["name"] else ""))
        phase = "during the check (in a function of yours that nnparity called)"
        X = X if req["X"] is None else req["X"]
        y = y if req["y"] is None else req["y"]
        if is_layer_checks(adapter):  # nnparity_layers(): one verdict per layer
            result = check_layers(adapter)
        else:
            result = checker.check(adapter, X, y, **req["options"])
        sent = {
            "status": VERDICT,
            "result": result.as_dict(),
            "render": result.render(),
            "passed": result.passed,
            "fits": result.training.outcome == "fits",
        }
        if "jax" in against:  # nnparity check --against jax (reference/jax/learner.py)
            from nnparity.reference.jax.learner import learner_triangulation

            tri, line = learner_triangulation(adapter, X, y, req["options"].get("steps", 10))
            sent["render"] += f"\n{line}"
            sent["result"]["jax"] = {
                "verdict": line,
                "odd_one_out": None if tri is None else tri.odd_one_out,
            }
        return sent
    except SystemExit as e:
        where = _learner_line(e, folder)
        return {
            "status": EXITED,
            "error": f"your program called sys.exit({e.code!r}) {phase}{where}, so there is "
            "no verdict: remove the exit from the code nnparity runs (keep your own training "
            'and exits under `if __name__ == "__main__":`)',
        }
    except MemoryError:
        return {"status": MEMORY, "error": _memory_message(req["memory"], phase)}
    except NNParityError as e:
        return {"status": UNUSABLE, "error": str(e)}
    except TypeError as e:
        if "check() got an unexpected keyword" in str(e):
            return {"status": UNUSABLE, "error": str(e)}
        return {"status": INTERNAL, "error": traceback.format_exc()}
    except Exception:  # noqa: BLE001 - our own failure, never a verdict on the learner
        return {"status": INTERNAL, "error": traceback.format_exc()}


def _limit_memory(memory: int | None) -> None:
    """Cap the address space at its present size (Python, NumPy, PyTorch loaded) plus
    ``memory`` bytes, where the system allows (Linux); nothing elsewhere."""
    if not memory:
        return
    try:
        import resource

        status = Path("/proc/self/status").read_text()
        now = next(
            int(ln.split()[1]) * 1024 for ln in status.splitlines() if ln.startswith("VmSize")
        )
        resource.setrlimit(resource.RLIMIT_AS, (now + memory, now + memory))
    except (ImportError, OSError, ValueError, StopIteration):
        pass


def _limit_cpu(seconds: int | None) -> None:
    """Cap this process's CPU time at ``seconds`` (SIGXCPU there, SIGKILL 5 s later), where the
    system allows; nothing elsewhere."""
    if not seconds:
        return
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 5))
    except (ImportError, OSError, ValueError):
        pass


def _memory_message(memory: int | None, phase: str) -> str:
    limit = (
        f"the {format_bytes(memory)} memory limit (on top of PyTorch's own)"
        if memory
        else "the machine's memory"
    )
    return (
        f"your program ran out of memory {phase} (MemoryError under {limit}; --memory-limit "
        "raises it, 0 removes it): look for an array far larger than the network needs"
    )


def _learner_line(exc: BaseException, folder: str) -> str:
    import traceback

    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith(folder)]
    if not frames:
        return ""
    f = frames[-1]
    return f" at {Path(f.filename).name}:{f.lineno} (in {f.name})"
