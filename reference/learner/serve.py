"""The learner's process: it imports the learner's file, builds its adapter and then only
answers calls from the checker (``remote``), which holds PyTorch and gives the verdict.

Nothing this process sends is believed beyond what it is: the learner's arrays and what its
functions returned. Requests (``wire`` messages): ``call`` (a function of the adapter or of a
layer check, with arrays; the reply carries the result, the arguments the function changed in
place, its RuntimeWarnings, or what it raised), ``read`` (the parameters, as arrays), ``get``
(values at the learner's own names, e.g. the gradient attributes of style (b)), ``put`` (write
parameters), ``rng`` (NumPy's global generator state here: a layered check replays dropout
from it). The first message, sent unasked, describes the adapter (or the layer checks) or
says why there is none: the file exited, ran out of memory, or cannot be used; a failure of
nnparity's own code here is ``internal`` (a bug of ours, never the learner's exit).
"""

from __future__ import annotations

import dataclasses
import sys
import traceback
import warnings
from pathlib import Path
from types import GeneratorType
from typing import Any

import numpy as np

from .import_watch import Seen, watch
from .wire import decode, encode, recv, send

WATCHED: Any = None  # the frameworks the learner's code imports (import_watch)

MAKES_NAN = ("invalid value encountered", "divide by zero encountered")  # a warning's words

_OURS = str(Path(__file__).resolve().parent)
_PACKAGE = str(Path(__file__).resolve().parents[2])  # nnparity's root: scratch, reference
IMPORT_PHASE = "while nnparity loaded your file (its import and the adapter function)"


def _frameworks() -> list[str]:
    """The watch's frameworks; a watch replaced by the learner's code is said as such."""
    return WATCHED.names() if isinstance(WATCHED, Seen) else ["(its import watch, replaced)"]


def serve_main(req_fd: int, resp_fd: int, file: str, name: str | None, limits: dict) -> None:
    """The learner process's entry point (``remote.BOOT`` runs it): load, describe, serve."""
    import faulthandler
    import signal

    from .sandbox_child import limit_cpu, limit_memory

    limit_cpu(limits.get("cpu"))
    faults = open(limits["faults"], "w")  # noqa: SIM115 - open for the process's lifetime
    faulthandler.enable(file=faults)
    faulthandler.register(signal.SIGUSR1, file=faults, all_threads=False)
    from .landlock import confine

    confine(limits.get("writable", []), ["/dev/null"])  # before any of the learner's code
    from nnparity.scratch.errors import NNParityError

    from . import adapters, loader, per_layer  # noqa: F401 - ours, before the learner's folder

    limit_memory(limits.get("memory"))
    folder = str(Path(file).parent)
    global WATCHED  # noqa: PLW0603 - the learner process's one watch
    WATCHED = watch(_PACKAGE, folder)  # before any of the learner's code
    sys.argv = [file]
    sys.path.insert(0, folder)
    server = _Server(folder)
    try:
        made = loader.load(file + (f":{name}" if name else ""))
        header, arrays = server.describe(made)
    except SystemExit as e:
        header, arrays = {"exit": repr(e.code), "where": _line(e, folder)}, []
    except MemoryError:
        header, arrays = {"memory": True}, []
    except NNParityError as e:
        header, arrays = {"unusable": str(e)}, []
    except Exception as e:  # noqa: BLE001 - the load reports the learner's own: see _failed
        header, arrays = _failed(e, folder), []
    send(resp_fd, header, arrays)
    if not ("adapter" in header or "layers" in header):
        return
    while (msg := recv(req_fd)) is not None:
        try:
            header, arrays = server.answer(*msg)
        except Exception:  # noqa: BLE001 - answer reports the learner's own: this is ours
            header, arrays = {"internal": traceback.format_exc()}, []
        send(resp_fd, header, arrays)


def _failed(e: BaseException, folder: str) -> dict:
    """What describing the adapter raised: the learner's error (``unusable``, its line) when
    the innermost frame of nnparity's or the learner's is the learner's (a property of its
    object that raised), else nnparity's own failure (``internal``: a bug of ours, with its
    traceback; never said as the learner's exit)."""
    frames = [f.filename for f in traceback.extract_tb(e.__traceback__)]
    kinds = [_theirs(f, folder) for f in frames if _theirs(f, folder) or f.startswith(_PACKAGE)]
    if kinds and kinds[-1]:
        only = "".join(traceback.format_exception_only(type(e), e)).strip()
        where = _line(e, folder)
        return {"unusable": f"your code raised while nnparity read your adapter{where}: {only}"}
    return {"internal": traceback.format_exc()}


def _theirs(filename: str, folder: str) -> bool:
    return filename.startswith(folder + "/") and not filename.startswith(_OURS)


class _Server:
    def __init__(self, folder: str):
        self.folder = folder
        self.fns: list[Any] = []
        self.ours: set[int] = set()
        self.kept: dict[int, Any] = {}
        self.adapter: Any = None

    def keep(self, obj: Any) -> int:
        self.kept[len(self.kept)] = obj
        return len(self.kept) - 1

    def fn(self, f: Any, ours: bool = False) -> int | None:
        """``f``'s id for ``call``; ``ours``: nnparity's reader around the learner's objects,
        whose ``NNParityError`` is said as such (a declaration that does not fit)."""
        if f is None:
            return None
        self.fns.append(f)
        if ours:
            self.ours.add(len(self.fns) - 1)
        return len(self.fns) - 1

    def describe(self, made: tuple) -> tuple[dict, list]:
        from .layer_state import plain
        from .per_layer import as_checks, is_layer_checks

        obj, X, y = made
        arrays: list = []
        if is_layer_checks(obj):
            checks = [
                {
                    "forward": self.fn(c.forward),
                    "backward": self.fn(c.backward),
                    "layer": c.layer,
                    "name": c.name,
                    "conventions": dataclasses.asdict(c.conventions),
                    "plain": plain(c.forward, c.backward),
                }
                for c in as_checks(obj)
            ]
            return {"layers": checks}, arrays
        a = self.adapter = obj
        if a.layered is None:
            a.bind()  # None or integer weights: said here, as the learner's error
        info = {
            "style": a.style,
            "conventions": None
            if a.conventions is None
            else encode(dataclasses.asdict(a.conventions), arrays, None),
            "layered": None if a.layered is None else self.layered(a, arrays),
            "paths": list(a.paths),
            "grad_paths": None if a.grad_paths is None else list(a.grad_paths),
            "returns_loss": a.returns_loss,
            "forward": self.fn(a.forward),
            "grads": self.fn(a.grads),
            "step": self.fn(a.step),
            "data": encode((a.data, X, y), arrays, self.keep),
            "frameworks": _frameworks(),  # the learner's own imports
        }
        return {"adapter": info}, arrays

    def layered(self, a: Any, arrays: list) -> dict:
        """A layered adapter's declarations (``LayeredDecl``) as data: the spec as text, and
        each buffer and mask source as a function of this process returning arrays
        (``remote_layered``), so that no learner object crosses."""
        from .layered_masks import seeds_of
        from .remote_layered import buffer_reader, mask_reader

        d = a.layered
        owner = d.owner if d.owner is not None else a.root
        plain = (d.running, d.biased, d.keep_p, d.dropout_seed, d.batch_size, d.l2)
        return {
            "spec": str(d.spec),
            "plain": encode(plain, arrays, self.keep),
            "buffers": [self.fn(buffer_reader(s, owner), ours=True) for s in d.buffers],
            "masks": [self.fn(mask_reader(s, owner), ours=True) for s in d.masks],
            "seeds": seeds_of(owner),  # CS231n's dropout_param seeds, tried in replay
        }

    def answer(self, header: dict, arrays: list) -> tuple[dict, list]:
        from nnparity.scratch.errors import NNParityError

        from .keep import put_synced
        from .paths import get, put

        op, out = header["op"], []
        if op == "call":
            try:
                args = decode(header["args"], arrays, self.kept.__getitem__)
            except Exception:  # noqa: BLE001 - ours, not the learner's
                return {"internal": traceback.format_exc()}, []
        try:
            if op == "call":
                fn = self.fns[header["fn"]]
                return self.call(fn, args, header.get("want", True), header["fn"] in self.ours)
            if op == "rng":  # NumPy's global generator here, before the learner's pass
                return {"state": encode(np.random.get_state(), out, None)}, out
            if op == "read":  # the parameters as the adapter reads them
                return {"ok": True}, self.adapter.read_raw()
            if op == "get":
                got = [get(self.adapter.root, p) for p in header["paths"]]
                return {"values": encode(got, out, self.keep)}, out
            if op == "keep":  # the learner's state, kept here (keep.py)
                snaps, pins = getattr(self, "snaps", {}), getattr(self, "pins", set())
                n = max(snaps, default=-1) + 1
                self.pins = pins | {n} if header.get("pin") else pins  # kept for the check
                self.snaps = {k: v for k, v in snaps.items() if k > n - 4 or k in pins}
                self.snaps[n] = self.adapter.keep()
                return {"kept": n}, out
            if op == "restore":
                self.adapter.restore(self.snaps[header["kept"]])
                return {"ok": True}, out
            if op == "frameworks":  # imported by now, a lazy import in a gradient function too
                return {"frameworks": _frameworks()}, out
            if op == "put_synced":  # fresh weights, and the copies kept of them
                a = self.adapter
                fns = (a.forward, a.grads, a.step)
                return {"synced": put_synced(a.root, header["paths"], fns, arrays)}, out
            if op == "aliased":  # parameters sharing memory, seen only where they live
                return {"pair": self.adapter.aliased()}, out
            if op == "put":
                for p, a in zip(header["paths"], arrays, strict=True):
                    put(self.adapter.root, p, a)
                return {"ok": True}, out
            return {"unusable": f"unknown request {op!r}"}, out
        except MemoryError:
            return {"memory": True}, []
        except NNParityError as e:
            return {"unusable": str(e)}, []
        except SystemExit as e:
            return {"exit": repr(e.code), "where": _line(e, self.folder)}, []
        except Exception as e:  # noqa: BLE001 - the learner's code failed: its traceback
            return _raised(e), []

    def call(self, fn: Any, args: list, want: bool, ours: bool = False) -> tuple[dict, list]:
        from nnparity.scratch.errors import NNParityError

        before = [np.array(a, copy=True) if isinstance(a, np.ndarray) else None for a in args]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                result = fn(*args)
                if isinstance(result, GeneratorType):  # its items, made here in its process
                    result = list(result)
            except MemoryError:
                return {"memory": True}, []
            except NNParityError as e:
                if not ours:
                    return _raised(e), []
                return {"unusable": str(e)}, []
            except SystemExit as e:
                return {"exit": repr(e.code), "where": _line(e, self.folder)}, []
            except BaseException as e:  # noqa: BLE001 - the learner's error, reported as such
                from .crash import binds

                said = _raised(e)
                said["misfit"] = isinstance(e, TypeError) and not binds(fn, len(args))
                return said, []
        out: list = []
        changed = {}
        for i, (a, b) in enumerate(zip(args, before, strict=True)):
            if isinstance(a, dict) or (
                b is not None and (a.shape != b.shape or not np.array_equal(a, b, equal_nan=True))
            ):
                changed[str(i)] = encode(a, out, self.keep)
        said = [
            [str(w.message), str(w.filename), int(w.lineno)]
            for w in caught
            if issubclass(w.category, RuntimeWarning)
        ]  # the first, and the first that makes a NaN or Inf after it (``runner.noted``)
        said = said[:1] + [w for w in said[1:] if any(m in w[0] for m in MAKES_NAN)][:1]
        if want == "number":  # a step's result: a loss it returns, a float alone (s45 F3)
            floats = (float, np.floating)
            one = isinstance(result, np.ndarray) and result.size == 1 and result.dtype.kind == "f"
            result = (
                float(np.asarray(result).reshape(-1)[0])
                if isinstance(result, floats) or one
                else None
            )
        res = encode(result, out, self.keep) if want else None
        return {"result": res, "changed": changed, "warnings": said}, out


def _raised(e: BaseException) -> dict:
    """What the learner's code raised: its type's name, its frames (nnparity's left out), the
    error line."""
    frames = [
        [f.filename, f.lineno, f.name, f.line or ""]
        for f in traceback.extract_tb(e.__traceback__)
        if not f.filename.startswith((_OURS, "<frozen"))
    ]
    only = "".join(traceback.format_exception_only(type(e), e)).strip()
    return {"raised": type(e).__name__, "frames": frames, "only": only}


def _line(exc: BaseException, folder: str) -> str:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith(folder)]
    if not frames:
        return ""
    f = frames[-1]
    return f" at {Path(f.filename).name}:{f.lineno} (in {f.name})"
