"""The checker's side of the learner's process (``serve``): start it, and stand-ins for its
adapter and layer checks whose functions forward each call over the ``wire``.

The checker (PyTorch, the comparison, the verdict) runs in a process where no line of the
learner's code ever runs: the learner's file is imported in a child of it (``start``), which
only answers calls. A ``RemoteAdapter`` is an ``Adapter`` whose ``forward``/``grads``/``step``
are ``RemoteFn``s and whose parameters are read and written by request, so ``checker.check``
runs unchanged on it. What the learner's code raised comes back as a ``RemoteLearnerError``
carrying its frames (``runner.learner_tail`` shows them); ``sys.exit`` as ``LearnerExit``; a
process that died (``os._exit``, a crash, a CPU limit) as ``LearnerGone``.
"""

from __future__ import annotations

import os
import signal
import struct
import subprocess
import sys
import warnings
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from .adapters import Adapter
from .conventions import Conventions
from .grad_formats import as_grad
from .paths import LearnerError, parse
from .wire import WireError, decode, encode, recv, send

BOOT = (
    "import sys; sys.path[:] = {paths!r}; "
    "from nnparity.reference.learner.serve import serve_main; "
    "serve_main({req}, {resp}, {file!r}, {name!r}, {limits!r})"
)


class LearnerExit(BaseException):  # noqa: N818 - not an error of ours: the learner's exit
    """The learner's code called ``sys.exit``: ``code`` (its repr) and ``where`` (its line)."""

    def __init__(self, code: str, where: str):
        super().__init__(code)
        self.code, self.where = code, where


class LearnerGone(BaseException):  # noqa: N818
    """The learner's process ended while the checker waited for it."""


class Unreadable(BaseException):  # noqa: N818 - passes the learner-error handlers by design
    """A reply that does not follow the wire's format (the learner's process wrote it): the
    conversation is over, and no handler of a learner's error may take it for one."""


def unreadable(e: BaseException) -> Unreadable:
    return Unreadable(
        f"your program's process sent nnparity a reply it cannot read ({e}), so there is no "
        "verdict: a program being checked must not write to nnparity's pipes"
    )


def _decode(x: Any, arrays: list) -> Any:
    try:
        return decode(x, arrays, None)
    except (WireError, TypeError, ValueError, IndexError, KeyError, RecursionError) as e:
        raise unreadable(e) from None


class RemoteLearnerError(Exception):
    """An exception the learner's code raised in its process: ``remote`` holds its frames
    (``traceback.FrameSummary``) and its error line."""

    remote: tuple[list, str] = ([], "")


_KINDS: dict[str, type] = {}


def _raise(h: dict) -> None:
    """Raise what a reply says went wrong, if anything."""
    if "exit" in h:
        raise LearnerExit(str(h["exit"]), str(h.get("where", "")))
    if "memory" in h:
        raise MemoryError("in your program's process")
    if "unusable" in h:
        raise LearnerError(str(h["unusable"]))
    if "internal" in h:
        raise RuntimeError(f"nnparity failed in your program's process:\n{h['internal']}")
    if "raised" in h:
        import traceback

        name = str(h["raised"])
        if not name.isidentifier():
            name = "Exception"
        cls = _KINDS.setdefault(name, type(name, (RemoteLearnerError,), {}))
        frames = [traceback.FrameSummary(f, int(n), q, line=t) for f, n, q, t in h["frames"]]
        e = cls(str(h["only"]))
        e.remote = (frames, str(h["only"]))
        e.misfit = bool(h.get("misfit"))  # a function that cannot take the call's arguments
        raise e


class Learner:
    """The learner's process, seen from the checker: ``ask`` sends a request, waits for the
    reply and raises what went wrong there."""

    def __init__(self, proc: subprocess.Popen, req: int, resp: int):
        self.proc, self.req, self.resp = proc, req, resp

    broken: Unreadable | None = None

    def ask(self, header: dict | None, arrays: list | None = None) -> tuple[dict, list]:
        if self.broken is not None:  # the stream is out of step: nothing more can be read
            raise self.broken
        try:
            return self._ask(header, arrays)
        except Unreadable as e:
            self.broken = e
            raise

    def _ask(self, header: dict | None, arrays: list | None) -> tuple[dict, list]:
        try:
            if header is not None:
                send(self.req, header, arrays or [])
            msg = recv(self.resp)
        except OSError:
            msg = None
        except WireError as e:
            if "ended" not in str(e):
                raise unreadable(e) from None
            msg = None  # torn by the end of the process
        except (ValueError, RecursionError, struct.error) as e:
            raise unreadable(e) from None
        if msg is None:
            raise LearnerGone()
        if not isinstance(msg[0], dict):
            raise unreadable(TypeError("not a JSON object"))
        _raise(msg[0])
        return msg

    def returncode(self, wait: float = 5.0) -> int | None:
        try:
            return self.proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            return None

    def stop(self) -> None:
        """Kill the learner's process (its descendants: ``reaper.kill_descendants``)."""
        try:
            self.proc.kill()
        except OSError:
            pass
        self.returncode()


def start(file: str, name: str | None, limits: dict, paths: list[str], cwd: str) -> Learner:
    """Start the learner's process in ``cwd`` (stdin /dev/null, stdout and stderr this
    process's own), with the pipes of the wire as its only extra descriptors."""
    req_r, req_w = os.pipe()
    resp_r, resp_w = os.pipe()
    code = BOOT.format(
        paths=paths, req=req_r, resp=resp_w, file=file, name=name, limits=dict(limits)
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        pass_fds=(req_r, resp_w),
        env=dict(os.environ, TMPDIR=limits.get("tmp") or os.environ.get("TMPDIR", "/tmp")),
    )
    os.close(req_r)
    os.close(resp_w)
    return Learner(proc, req_w, resp_r)


@dataclass
class RemoteFn:
    """A learner's function in its process; calling it sends the arguments and returns what it
    returned. Arrays it changed in place are changed here too (``runner.Runner.call`` sees the
    mutation); its first RuntimeWarning is raised again here with the learner's file and line."""

    learner: Learner
    ident: int
    want: bool | str = True  # the result is needed ("number": a float alone, a step's loss)

    def __call__(self, *args: Any) -> Any:
        arrays: list = []
        body = encode(list(args), arrays, None)
        h, got = self.learner.ask(
            {"op": "call", "fn": self.ident, "args": body, "want": self.want}, arrays
        )
        for i, v in h.get("changed", {}).items():
            _change(args[int(i)], _decode(v, got))
        for message, filename, lineno in h.get("warnings", []):
            warnings.warn_explicit(str(message), RuntimeWarning, str(filename), int(lineno))
        return _decode(h.get("result"), got)


def _change(arg: Any, new: Any) -> None:
    if isinstance(arg, dict) and isinstance(new, dict):
        arg.clear()
        arg.update(new)
    elif isinstance(arg, np.ndarray):
        new = np.asarray(new) if isinstance(new, np.ndarray) else None
        if new is not None and new.shape == arg.shape:
            arg[...] = new
        elif arg.dtype.kind in "fc":
            arg[...] = np.nan  # reshaped in place: seen as changed
        else:
            arg[...] = ~arg if arg.dtype.kind == "b" else arg + 1


class _RemoteRoot(MutableMapping):
    """The learner's objects as ``paths.put`` walks them: writing at the end of a path sends
    the array to the learner's process."""

    def __init__(self, adapter: RemoteAdapter, keys: tuple = ()):
        self.adapter, self.keys = adapter, keys

    def __getitem__(self, key: Any) -> _RemoteRoot:
        return _RemoteRoot(self.adapter, (*self.keys, key))

    def __setitem__(self, key: Any, value: Any) -> None:
        path = self.adapter.by_keys[(*self.keys, key)]
        self.adapter.learner.ask({"op": "put", "paths": [path]}, [np.asarray(value)])

    def __delitem__(self, key: Any) -> None:
        raise LearnerError("nnparity never deletes the learner's objects")

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(())

    def __len__(self) -> int:
        return 0


@dataclass
class RemoteAdapter(Adapter):
    """An ``Adapter`` whose network lives in the learner's process (see the module)."""

    learner: Any = field(default=None, repr=False)
    by_keys: dict = field(default_factory=dict, repr=False)

    def read_raw(self) -> list[np.ndarray]:
        _, arrays = self.learner.ask({"op": "read"})
        if len(arrays) != len(self.paths):
            raise LearnerError("the learner's process sent the wrong number of parameters")
        return [np.array(a, copy=True) for a in arrays]

    def write(self, params: dict[str, np.ndarray]) -> None:
        arrays = [np.asarray(a) for a in self.bind().from_canonical(params)]
        self.learner.ask({"op": "put", "paths": list(self.paths)}, arrays)

    def parse_grads(self, result: Any) -> tuple[float | None, list[np.ndarray]]:
        if self.grad_paths is None:
            return super().parse_grads(result)
        values = self.values(self.grad_paths)
        return None, [as_grad(p, v) for p, v in zip(self.grad_paths, values, strict=True)]

    def values(self, paths: Sequence[str]) -> list[Any]:
        h, got = self.learner.ask({"op": "get", "paths": list(paths)})
        values = _decode(h.get("values"), got)
        if not isinstance(values, list) or len(values) != len(paths):
            raise unreadable(ValueError("the wrong number of values"))
        return values

    def aliased(self) -> tuple[str, str] | None:
        h, _ = self.learner.ask({"op": "aliased"})
        pair = h.get("pair")
        return (pair[0], pair[1]) if pair else None

    def rng_state(self) -> tuple:
        from .remote_layered import rng_state

        return rng_state(self.learner)

    def keep(self, pin: bool = False) -> Any:
        h, _ = self.learner.ask({"op": "keep", "pin": pin})
        return h.get("kept")

    def restore(self, kept: Any) -> None:
        self.learner.ask({"op": "restore", "kept": kept})

    def write_synced(self, params: dict[str, np.ndarray]) -> int:
        arrays = [np.asarray(a) for a in self.bind().from_canonical(params)]
        h, _ = self.learner.ask({"op": "put_synced", "paths": list(self.paths)}, arrays)
        return int(h.get("synced", 0))


def describe(learner: Learner, h: dict, arrays: list) -> tuple[Any, Any, Any]:
    """(adapter, X, y), or (layer checks, None, None), from the learner's first message."""
    try:
        if "layers" in h:
            return remote_layers(learner, h["layers"]), None, None
        return remote_adapter(learner, h["adapter"], arrays)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as e:
        raise unreadable(e) from None


def remote_adapter(learner: Learner, info: dict, arrays: list) -> tuple[Adapter, Any, Any]:
    """(adapter, X, y) from the learner's description of its adapter."""
    conv = _decode(info.get("conventions"), arrays)
    names = {f.name for f in fields(Conventions)}
    layered = None
    if info.get("layered") is not None:  # a layered spec: its declarations, no conventions
        from .remote_layered import remote_decl

        conventions, layered = None, remote_decl(learner, info["layered"], arrays)
    else:
        conventions = Conventions(**{k: v for k, v in conv.items() if k in names})
    data, X, y = _decode(info.get("data"), arrays)

    def fn(key: str, want: bool | str = True) -> RemoteFn | None:
        return None if info[key] is None else RemoteFn(learner, int(info[key]), want)

    if all(info[k] is None for k in ("forward", "grads", "step")):  # nothing to compare
        raise LearnerError(
            "your adapter gives nnparity none of your functions to call (forward, grads or "
            "step), so nothing can be compared: build it with nnparity.from_gradients, "
            "from_layers, from_step, from_forward or from_loss"
        )
    grad_paths = None if info["grad_paths"] is None else tuple(info["grad_paths"])
    a = RemoteAdapter(
        str(info["style"]),
        conventions,
        None,
        tuple(str(p) for p in info["paths"]),
        fn("forward"),
        fn("grads", grad_paths is None or layered is not None),  # a layered check reads the loss
        grad_paths,
        fn("step", "number"),
        info["returns_loss"],
        tuple(data) if data is not None else None,
        layered=layered,
        learner=learner,
    )
    a.root = _RemoteRoot(a)
    a.by_keys = {tuple(k for _, k in parse(p)): p for p in a.paths}
    return a, X, y


def remote_layers(learner: Learner, checks: list[dict]) -> list:
    """The learner's layer checks, their functions in its process."""
    from .layer_cases import LayerConventions
    from .per_layer import LayerCheck

    names = {f.name for f in fields(LayerConventions)}
    out = []
    for c in checks:
        back = c["backward"]
        out.append(
            LayerCheck(
                RemoteFn(learner, int(c["forward"])),
                None if back is None else RemoteFn(learner, int(back)),
                str(c["layer"]),
                str(c["name"]),
                LayerConventions(**{k: str(v) for k, v in c["conventions"].items() if k in names}),
                bool(c.get("plain")),
            )
        )
    return out


def dump(learner: Learner) -> None:
    """Ask the learner's process where it is (its ``faulthandler`` writes the stack)."""
    try:
        os.kill(learner.proc.pid, signal.SIGUSR1)
    except OSError:
        pass
