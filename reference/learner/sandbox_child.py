"""The sandbox's checker process (``sandbox.BOOT`` runs ``child_main``): PyTorch, the check
and the verdict, against the learner's file running in a child of its own (``remote``,
``serve``); no line of the learner's code runs here. The result goes to the parent on a pipe
the learner's process does not hold, signed with a key the parent made (HMAC-SHA256), so a
message written there by anyone else is refused."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import pickle
import signal
import sys
from pathlib import Path

from . import reaper, remote
from .sandbox_outcome import (
    EXITED,
    GRACE,
    INTERNAL,
    MEMORY,
    TIMEOUT,
    UNUSABLE,
    VERDICT,
    exit_outcome,
    format_bytes,
)


def child_main(request_path: str) -> None:
    """The checker's entry point (see ``sandbox.BOOT``): start the learner's process, run the
    check against it, send the result (signed) on the parent's pipe, kill what is left, exit."""
    import faulthandler

    req = pickle.loads(Path(request_path).read_bytes())  # written by the parent: trusted
    Path(request_path).unlink()  # its key is never on disk once the learner's code runs
    guarded = reaper.guard()  # before any of the learner's code: see ``reaper``
    limit_cpu(req.get("cpu"))
    faulthandler.enable(file=sys.stderr)
    learner = remote.start(
        req["file"],
        req["name"],
        {
            "cpu": req.get("cpu"),
            "memory": req["memory"],
            "faults": req["faults"],
            "tmp": req["tmp"],
            "writable": [str(Path(req["file"]).parent), req["tmp"], "/dev/shm"],
        },
        list(sys.path),
        str(Path(req["file"]).parent),
    )
    state = {"learner": learner, "req": req, "sent": False}
    _arm(state)
    try:
        sent = _child_check(req, learner)
    except BaseException:  # noqa: BLE001 - whatever escapes is ours to report, not a verdict
        import traceback

        sent = {"status": INTERNAL, "error": traceback.format_exc()}
    _finish(state, sent, guarded)


def _arm(state: dict) -> None:
    """The wall-time limit, kept here: at the deadline the learner's process dumps its stack,
    everything below is killed and a ``timeout`` result is sent."""
    deadline = state["req"].get("deadline")
    if deadline is None:
        return
    import time

    def _expired(signum: int, frame: object) -> None:
        remote.dump(state["learner"])
        time.sleep(GRACE)
        _finish(state, {"status": TIMEOUT}, True)

    signal.signal(signal.SIGALRM, _expired)
    signal.setitimer(signal.ITIMER_REAL, max(0.001, deadline - time.monotonic()))


def _finish(state: dict, sent: dict, guarded: bool) -> None:
    signal.setitimer(signal.ITIMER_REAL, 0)
    if state["sent"]:
        return
    state["sent"] = True
    state["learner"].stop()
    reaper.kill_descendants()
    if not guarded:
        sent["unguarded"] = True
    payload = json.dumps(sent).encode()
    mac = hmac.new(bytes.fromhex(state["req"]["key"]), payload, hashlib.sha256).hexdigest()
    data = memoryview(mac.encode() + b"\n" + payload)
    fd = state["req"]["result_fd"]
    while data:
        data = data[os.write(fd, data) :]
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # nothing of the learner's can hold this process


def _child_check(req: dict, learner: remote.Learner) -> dict:
    """The check itself, against the learner's process: its result as a plain dict, or why
    there is none."""
    import traceback

    # ours; no limit yet: the limit is on what comes on top of PyTorch's own import (whose
    # address space varies with the build)
    from nnparity.reference.learner import lazy_dynamo

    lazy_dynamo.defer()  # imports torch; torch.compile's machinery only if ever asked for
    from dataclasses import replace

    from nnparity.reference.learner import checker, limitations
    from nnparity.reference.learner.coverage import framework_note
    from nnparity.reference.learner.per_layer import check_layers
    from nnparity.scratch.errors import NNParityError

    against = req["options"].pop("against", ("torch",))
    if "jax" in against:  # imported before the memory limit, as PyTorch is
        import nnparity.reference.jax  # noqa: F401
    limit_memory(req["memory"])
    limitations.DEADLINE = req.get("deadline")  # the probe's optional runs keep within it
    phase = "while nnparity loaded your file (its import and the adapter function)"
    try:
        h, arrays = learner.ask(None)  # the learner's process describes its adapter
        phase = "during the check (in a function of yours that nnparity called)"
        adapter, X, y = remote.describe(learner, h, arrays)
        if "layers" in h:  # nnparity_layers(): one verdict per layer
            result = check_layers(adapter)
        else:
            X = X if req["X"] is None else req["X"]
            y = y if req["y"] is None else req["y"]
            result = checker.check(adapter, X, y, **req["options"])
        mods = learner.ask({"op": "frameworks"})[0].get("frameworks", [])  # imported by the
        # learner's code, at the top or in its functions since (reviews s54 F2, s58 F2: the
        # layer checks too)
        if mods and "layers" not in h:
            result = replace(result, unchecked=(*result.unchecked, framework_note(mods)))
        sent = {
            "status": VERDICT,
            "result": {**result.as_dict(), "frameworks": mods},
            "render": result.render(),
            "passed": result.passed,
            "fits": result.training.outcome == "fits",
        }
        if "jax" in against and "layers" not in h:  # nnparity check --against jax
            from nnparity.reference.jax.learner import learner_triangulation

            tri, line = learner_triangulation(adapter, X, y, req["options"].get("steps", 10))
            sent["render"] += f"\n{line}"
            sent["result"]["jax"] = {
                "verdict": line,
                "odd_one_out": None if tri is None else tri.odd_one_out,
            }
        return sent
    except remote.LearnerExit as e:
        return {
            "status": EXITED,
            "error": f"your program called sys.exit({e.code}) {phase}{e.where}, so there is "
            "no verdict: remove the exit from the code nnparity runs (keep your own training "
            'and exits under `if __name__ == "__main__":`)',
        }
    except remote.Unreadable as e:
        return {"status": UNUSABLE, "error": str(e)}
    except remote.LearnerGone:
        rc = learner.returncode()
        return exit_outcome(rc, req["memory"], phase)
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


def limit_memory(memory: int | None) -> None:
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


def limit_cpu(seconds: int | None) -> None:
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
