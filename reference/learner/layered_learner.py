"""The learner's side of a layered check: its arrays read in the spec's canonical names and
shapes, its training and inference calls, and its running statistics.

A dense weight is stored (in, out) (``x @ W``) or (out, in) (``W @ x``, ``x @ W.T``): a
non-square one tells by its shape; a square one by ``layout=`` ('in_out' or 'out_in') or, when
undeclared, by which reading reproduces the learner's loss and gradients at step 1
(``layered_check``). A bias (1, n) or (n, 1) is reshaped.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nnparity.scratch import build

from .adapters import Adapter
from .crash import learner_tail
from .declared_masks import read_source
from .grad_formats import as_grad
from .layered_decl import LayeredDecl
from .paths import LearnerError, grad_keys, put
from .result import Finding
from .runner import LearnerCrash

Array = np.ndarray


class Learner:
    """The learner's arrays in the spec's canonical names and shapes, and its calls."""

    def __init__(self, adapter: Adapter, decl: LayeredDecl):
        self.a, self.decl = adapter, decl
        self.names = decl.param_names()
        self.shapes = {n: v.shape for n, v in build(decl.spec).init_params().items()}
        if len(adapter.paths) != len(self.names):
            raise LearnerError(
                f"{len(adapter.paths)} parameter name(s) given ({', '.join(adapter.paths)}); the "
                f"spec's learnable arrays are {len(self.names)}, in this order: "
                f"{', '.join(self.names)} (the spec numbers every layer, activations included: "
                "give names=[...] with your keys in that order)"
                + (
                    "; bias=false takes every layer's bias: one layer without a bias beside "
                    "others with one cannot be declared yet"
                    if not decl.spec.bias and len(adapter.paths) > len(self.names)
                    else "; if a layer of yours has no bias (a conv without one), that cannot be "
                    "declared beside layers with one yet"  # (review s33 F8)
                    if decl.spec.bias and len(adapter.paths) < len(self.names)
                    else ""
                )
            )
        self.owner = decl.owner if decl.owner is not None else adapter.root
        try:
            raw = self.raw()
        except LearnerError as e:
            raise LearnerError(
                f"{e} (the spec numbers its layers with activations, batchnorm and dropout "
                f"counted: its arrays are {', '.join(self.names)}; give names=[your keys in "
                "that order])"
            ) from None
        self.flip: set[str] = set()  # canonical names stored (out, in)
        self.square: list[str] = []  # square dense weights, layout undeclared
        for n, v in zip(self.names, raw, strict=True):
            want = self.shapes[n]
            if n.startswith("W") and v.ndim == 2 and len(want) == 2:
                if decl.layout == "out_in" or (v.shape != want and v.T.shape == want):
                    self.flip.add(n)
                elif want[0] == want[1] and decl.layout is None:
                    self.square.append(n)
        for p, n, v in zip(adapter.paths, self.names, raw, strict=True):
            if not np.issubdtype(v.dtype, np.floating):
                raise LearnerError(f"{p} is {v.dtype}: use float weights")
            try:
                self.fit(n, p, v)
            except LearnerError as e:
                order = self._fitting_order(raw)
                hint = (
                    f"; the shapes fit the order {', '.join(order)}: list them so" if order else ""
                )
                raise LearnerError(f"{e}{hint}") from None
        self.dtype = "float32" if {v.dtype for v in raw} == {np.dtype(np.float32)} else "float64"
        self.raw_grads: list[Any] = []
        self.k = 1  # the step of the last pass

    def _fitting_order(self, raw: list[Array]) -> list[str] | None:
        """Your names in an order whose shapes fit the spec's arrays one by one (each taking
        the first unused one that fits), or None."""
        left = list(zip(self.a.paths, raw, strict=True))
        out = []
        for n in self.names:
            want = self.shapes[n]
            hit = next(
                (
                    (p, v)
                    for p, v in left
                    if v.shape == want
                    or (n.startswith("W") and v.ndim == 2 and v.T.shape == want)
                    or (not n.startswith("W") and v.ndim <= 2 and v.size == np.prod(want))
                ),
                None,
            )
            if hit is None:
                return None
            left.remove(hit)
            out.append(hit[0])
        return out if out != list(self.a.paths) else None

    def raw(self) -> list[Array]:
        out = []
        for p, v in zip(self.a.paths, self.a.values(self.a.paths), strict=True):
            if v is None:
                raise LearnerError(f"{p} is None: initialise the weights before the adapter")
            out.append(np.array(v, copy=True))
        return out

    def fit(self, name: str, path: str, v: Array) -> Array:
        want = self.shapes[name]
        v = np.asarray(v)
        if name in self.flip and v.ndim == 2 and v.T.shape == want:
            return v.T.astype(np.float64)
        if v.shape == want:
            return v.astype(np.float64)
        if v.size == int(np.prod(want)) and not name.startswith("W"):
            return v.reshape(want).astype(np.float64)
        lay = " (as layout='out_in' declares)" if name in self.flip else ""
        if v.ndim == 4 and len(want) == 4 and v.shape == (want[2], want[3], want[1], want[0]):
            lay += (
                ": yours is channels-last (kh, kw, in, out), as Keras stores it; the check "
                "takes PyTorch's channels-first (out, in, kh, kw) only: keep a channels-first "
                "copy for the check (W.transpose(3, 2, 0, 1)) or check a channels-first version"
            )
        if name.startswith("b") and len(want) == 1 and v.ndim == 3 and v.shape[0] == want[0]:
            lay += (  # (review s32 F8: The Independent Code's Convolutional layer)
                f": one bias per output position (untied), where PyTorch's Conv2d and the spec "
                f"keep one per output channel; untied biases cannot be declared yet: for the "
                f"check, keep one per channel (shape ({want[0]},), added as b[:, None, None]), "
                "or check the layer's backward alone with layer_check(..., layer='conv')"
            )
        raise LearnerError(
            f"{path} ({name}) has shape {v.shape}; the spec gives {name} the shape {want}{lay}"
        )

    def read(self) -> dict[str, Array]:
        return {
            n: self.fit(n, p, v)
            for n, p, v in zip(self.names, self.a.paths, self.raw(), strict=True)
        }

    def write(self, P: dict[str, Array]) -> None:
        for n, p, v in zip(self.names, self.a.paths, self.raw(), strict=True):
            new = P[n].T if n in self.flip else P[n]
            put(self.a.root, p, np.asarray(new).reshape(v.shape).astype(v.dtype))

    def buffers(self, fresh: dict[str, Array], first: bool = False) -> dict[str, Array] | None:
        """The declared running statistics; before the first pass a source that is not there
        yet (CS231n's ``bn_param``) or None is the fresh start, after a pass it is an error."""
        if not self.decl.buffers:
            return None
        out = {}
        for (n, f), src in zip(fresh.items(), self.decl.buffers, strict=True):
            try:
                v = read_source(src, self.owner)
            except LearnerError as e:
                if first:
                    v = None
                else:
                    raise LearnerError(
                        f"{said(src, n)} cannot be read after your training pass: {e}; your "
                        "pass does not store it there (CS231n's batchnorm_forward ends with "
                        "bn_param['running_mean'] = running_mean and likewise running_var): "
                        "store it, or declare buffers= where it is"
                    ) from None
            if v is None and not first:
                raise LearnerError(f"{said(src, n)} is None after your training pass")
            if v is not None and np.size(v) != f.size:
                raise LearnerError(f"{said(src, n)} has {np.size(v)} values; {n} has {f.size}")
            out[n] = f if v is None else np.array(v, dtype=np.float64, copy=True).reshape(f.shape)
        return out

    def step(self, k: int, X: Array, y: Array) -> tuple[float | None, dict[str, Array]]:
        """(loss or None, gradients canonical) of one training pass."""
        self.k = k
        res = guarded(self.a.grads, k, "your training pass", X.copy(), y.copy())
        loss = None
        if self.a.grad_paths is not None:  # style (b): the layers hold the gradients
            grads = self.a.values(self.a.grad_paths)
            if isinstance(res, int | float | np.number) or np.ndim(res) == 0 and res is not None:
                loss = float(res)
        else:
            if isinstance(res, tuple | list) and len(res) == 2 and np.ndim(res[0]) == 0:
                loss, res = float(res[0]), res[1]
            if isinstance(res, dict):
                grads = [_key(res, p, self) for p in self.a.paths]
            else:
                grads = list(res)
        self.raw_grads = [
            np.array(as_grad(p, g), copy=True) for p, g in zip(self.a.paths, grads, strict=True)
        ]
        return loss, self.grads()

    def grads(self) -> dict[str, Array]:
        """The last pass's gradients, read with the current layout; a bias gradient left
        unsummed over some of its axes is the learner's bug (``bias_reduction``)."""
        out = {}
        for n, p, g in zip(self.names, self.a.paths, self.raw_grads, strict=True):
            try:
                out[n] = self.fit(n, f"{p}'s gradient", g)
            except LearnerError:
                w = self.shapes.get(f"W{n[1:]}") if n[0] == "b" and n[1:].isdigit() else None
                want = self.shapes[n]
                if w is None or np.ndim(g) <= 1 or want[0] not in np.shape(g):
                    raise
                axes, over = (
                    ("(0, 2, 3)", "the batch and the positions")
                    if len(w) == 4
                    else ("0", "the batch")
                )
                label = p if p == n else f"{p} ({n})"
                raise LearnerCrash(
                    Finding(
                        "bias_reduction",
                        (p,),
                        int(n[1:]),
                        self.k,
                        f"your gradient of {label} has shape {np.shape(g)} where the bias has "
                        f"{want}: it is not summed over every axis but the units'",
                        f"sum the incoming gradient over {over}: db = dout.sum(axis={axes})",
                    )
                ) from None
        return out


def _key(d: dict, p: str, learner: Learner) -> Any:
    for key in grad_keys(p):
        if key in d:
            return d[key]
    raise LearnerError(
        f"the gradients have no entry for {p!r}; their keys: {', '.join(map(str, d))} (the "
        f"spec's arrays are {', '.join(learner.names)}, numbered by layer, activations "
        "included: give names=[...] with your keys in that order)"
    )


def guarded(fn: Any, k: int, what: str, *args: Any) -> Any:
    try:
        return fn(*args)
    except MemoryError:
        raise
    except Exception as e:  # noqa: BLE001 - the learner's error is a finding
        raise LearnerCrash(
            Finding(
                "learner_exception",
                (),
                None,
                k,
                f"{what} raised at step {k}:\n{learner_tail(e)}",
                "fix the error in your code (the traceback is yours)",
            )
        ) from None


def said(src: Any, name: str) -> str:
    """A declared buffer as the learner wrote it: its path, else the statistic's name (a
    callable, or one wrapped for the learner's process, has no words of its own)."""
    return f"buffer {src!r} ({name})" if isinstance(src, str) else f"buffer {name}"
