"""The sandbox's child side (``sandbox.BOOT`` runs ``child_main``): the check and its result."""

from __future__ import annotations

import json
import os
import pickle
import signal
import sys
from pathlib import Path

from .sandbox_outcome import EXITED, INTERNAL, MEMORY, UNUSABLE, VERDICT, format_bytes


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
