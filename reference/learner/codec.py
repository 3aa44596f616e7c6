"""The one translation between a learner's arrays and scratch's canonical parameters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .conventions import LAYOUTS
from .grad_shape import ShapeProblem, _squeeze
from .paths import LearnerError

if TYPE_CHECKING:
    from .conventions import Conventions

Array = np.ndarray


@dataclass(frozen=True)
class Slot:
    """One learner array: its name, layer, role, shape and dtype."""

    path: str
    layer: int
    role: str
    shape: tuple[int, ...]
    dtype: np.dtype

    def canonical(self) -> tuple[str, ...]:
        return {"W": (f"W{self.layer}",), "b": (f"b{self.layer}",)}.get(
            self.role, (f"W{self.layer}", f"b{self.layer}")
        )


class Codec:
    """Learner arrays <-> canonical params, for one network whose shapes have been seen."""

    def __init__(self, conv: Conventions, paths: list[str], arrays: list[Array]):
        roles = conv.slot_names()
        if len(paths) != len(roles):
            want = ", ".join(f"{r}{l}" for l, r in roles)
            folded = " (Wb: weights with the bias folded in)" if "folded" in conv.bias else ""
            layers = len(conv.sizes) - 1
            if len(paths) == layers and all(b == "separate" for b in conv.bias):
                folded += (
                    f"; {layers} names for {layers} layers: a network without biases is "
                    "declared bias='none' (a bias folded into its weight, bias='folded')"
                )
            raise LearnerError(
                f"{len(paths)} parameter name(s) given ({', '.join(paths)}); a "
                f"{'-'.join(map(str, conv.sizes))} network with bias {','.join(conv.bias)} needs "
                f"{len(roles)}, in this order: {want}{folded}"
            )
        self.conv = conv
        self.slots = [
            Slot(p, l, r, np.shape(a), np.asarray(a).dtype)
            for p, (l, r), a in zip(paths, roles, arrays, strict=True)
        ]
        self._check_order(paths, arrays)
        try:
            self.layout = conv.layout or self._infer_layout()
            for s in self.slots:
                self._check_shape(s)
        except LearnerError as e:
            implied = self._implied_sizes()
            if implied is None or implied[0] == conv.sizes:
                raise
            sizes, lay = implied
            shapes = ", ".join(f"{s.path} is {s.shape}" for s in self.slots if s.role != "b")
            raise LearnerError(
                f"the declared sizes={list(conv.sizes)} do not fit the arrays ({shapes}): "
                f"they imply sizes={list(sizes)} (layout {lay}); declare those sizes"
            ) from e
        self.frozen = {
            f"b{l}"
            for l, k in enumerate(conv.bias, start=1)
            if k == "none" and any(b != "none" for b in conv.bias)
        }
        dts = {_judged(s.dtype) for s in self.slots if np.issubdtype(s.dtype, np.floating)}
        self.dtype = "float32" if dts == {np.dtype(np.float32)} else "float64"
        # the narrowest float among the arrays: its round-off bounds what can agree
        self.precision = min(dts, key=lambda d: d.itemsize).name if dts else self.dtype

    def held_in(self, arrays: list | None = None) -> dict[str, str]:
        """Each canonical name -> the float dtype the learner holds it in: its weight's, or,
        given the learner's arrays in slot order (its gradients), theirs (float64 for what
        is no float array: a list, an integer array)."""
        try:
            dts = [np.asarray(a).dtype for a in arrays] if arrays is not None else None
        except (ValueError, TypeError):
            dts = None
        dts = dts or [s.dtype for s in self.slots]
        return {
            n: _judged(d).name if np.issubdtype(d, np.floating) else "float64"
            for s, d in zip(self.slots, dts, strict=True)
            for n in s.canonical()
        }

    # -- shapes ------------------------------------------------------------------------
    def _exact(self, s: Slot, shape: tuple[int, ...], layout: str, strict: bool = False) -> bool:
        """Whether ``shape`` is exactly what slot ``s`` holds in ``layout`` (``strict``: a
        bias is a vector (n,), never a column)."""
        if s.role == "b":
            n = self.conv.sizes[s.layer]
            return shape in (((n,),) if strict else ((n,), (n, 1), (1, n)))
        n_in, n_out = self._dims(s)
        return shape == ((n_in, n_out) if layout == "in_out" else (n_out, n_in))

    def _check_order(self, paths: list[str], arrays: list[Array]) -> None:
        """A ``LearnerError`` when the names are listed in another order than the one whose
        shapes fit every slot exactly (e.g. W1, W2, b1, b2 for W1, b1, W2, b2)."""
        shapes = [np.shape(a) for a in arrays]
        lays = (self.conv.layout,) if self.conv.layout else LAYOUTS
        pairs = list(zip(self.slots, shapes, strict=True))
        if any(all(self._exact(s, sh, lay) for s, sh in pairs) for lay in lays):
            return  # in order in some layout (a 6-3-6 net (out, in) reorders in (in, out))
        for strict in (False, True):
            for lay in lays:
                order = self._fitting_order(paths, shapes, lay, strict)
                if order is not None and order != list(paths):
                    want = ", ".join(f"{r}{l}" for l, r in self.conv.slot_names())
                    raise LearnerError(
                        f"the parameter names are not in the canonical order ({want}): their "
                        f"shapes fit as {order!r} (layout {lay}); list them in that order"
                    )

    def _fitting_order(
        self, paths: list[str], shapes: list[tuple[int, ...]], lay: str, strict: bool
    ) -> list[str] | None:
        """The names reordered so that every slot's shape fits exactly, or None."""
        free, order = list(range(len(paths))), []
        for s in self.slots:
            i = next((i for i in free if self._exact(s, shapes[i], lay, strict)), None)
            if i is None:
                return None
            free.remove(i)
            order.append(paths[i])
        return order

    def _implied_sizes(self) -> tuple[tuple[int, ...], str] | None:
        """(sizes, layout) that the weight arrays imply as a chain, or None."""
        ws = [s for s in self.slots if s.role != "b"]
        if any(len(s.shape) != 2 for s in ws) or len(ws) != self.conv.n_layers:
            return None
        for lay in LAYOUTS:
            dims = [(a, b) if lay == "in_out" else (b, a) for a, b in (s.shape for s in ws)]
            dims = [(i - (s.role == "Wb"), o) for (i, o), s in zip(dims, ws, strict=True)]
            if all(dims[k][1] == dims[k + 1][0] for k in range(len(dims) - 1)):
                return (dims[0][0], *(o for _, o in dims)), lay
        return None

    def _dims(self, s: Slot) -> tuple[int, int]:
        l = s.layer
        extra = 1 if s.role == "Wb" else 0
        return self.conv.sizes[l - 1] + extra, self.conv.sizes[l]

    def _infer_layout(self) -> str:
        votes = set()
        for s in self.slots:
            if s.role == "b" or len(s.shape) != 2:
                continue
            n_in, n_out = self._dims(s)
            fits = {
                k
                for k, shp in (("in_out", (n_in, n_out)), ("out_in", (n_out, n_in)))
                if s.shape == shp
            }
            if len(fits) == 1:
                votes |= fits
        if len(votes) > 1:
            raise LearnerError(
                "the weights disagree on layout (some (in, out), some (out, in)); "
                "declare layout='in_out' or 'out_in'"
            )
        if votes:
            return votes.pop()
        if any(s.role != "b" and len(s.shape) == 2 and 1 not in s.shape for s in self.slots):
            raise LearnerError(
                "cannot tell the layout from square weights: declare layout='in_out' "
                "(x @ W) or layout='out_in' (W @ x)"
            )
        return "in_out"

    def expected(self, s: Slot) -> tuple[int, ...]:
        if s.role == "b":
            return (self.conv.sizes[s.layer],)
        n_in, n_out = self._dims(s)
        return (n_in, n_out) if self.layout == "in_out" else (n_out, n_in)

    def _check_shape(self, s: Slot) -> None:
        want = self.expected(s)
        size = int(np.prod(want))
        if s.shape == want or (
            int(np.prod(s.shape)) == size and _vector_like(s.shape) and _vector_like(want)
        ):
            return
        folded = " (with the folded bias)" if s.role == "Wb" else ""
        shared = (
            f": one bias shared by the layer's {size} units (Matt Mazur's walkthrough) is not "
            f"PyTorch's, which has one per unit; keep one per unit, np.full({size}, b), or "
            "declare bias='none' for a layer whose bias stays 0"
            if s.role == "b" and int(np.prod(s.shape)) == 1 and size > 1
            else ""
        )
        raise LearnerError(
            f"parameter {s.path!r} has shape {s.shape}; layer {s.layer} "
            f"({self.conv.sizes[s.layer - 1]} -> {self.conv.sizes[s.layer]}){folded} needs "
            f"{want} in layout {self.layout}{shared}"
        )

    # -- conversions -------------------------------------------------------------------
    def _as_in_out(self, s: Slot, a: Array) -> Array:
        n_in, n_out = self._dims(s)
        if a.shape == self.expected(s):
            return a.T if self.layout == "out_in" else a
        return a.reshape(n_in, n_out)  # vector-like: the order of elements is the same

    def to_canonical(self, arrays: list[Array], dtype: str | None = None) -> dict[str, Array]:
        """Learner arrays (canonical order) -> ``{"W1": (in, out), "b1": (out,), ...}``."""
        dt = dtype or self.dtype
        out: dict[str, Array] = {}
        for s, a in zip(self.slots, arrays, strict=True):
            a = np.asarray(a, dtype=np.float64)
            if s.role == "b":
                out[f"b{s.layer}"] = a.reshape(-1)
                continue
            m = self._as_in_out(s, a)
            if s.role == "Wb":
                w, b = (m[:-1], m[-1]) if self.conv.fold == "last" else (m[1:], m[0])
                out[f"W{s.layer}"], out[f"b{s.layer}"] = w, b
            else:
                out[f"W{s.layer}"] = m
        for name in sorted(self.frozen):
            out[name] = np.zeros(self.conv.sizes[int(name[1:])])
        return {k: np.array(v, dtype=dt) for k, v in sorted(out.items(), key=_order)}

    def from_canonical(self, params: dict[str, Array]) -> list[Array]:
        """Canonical params -> learner arrays, each in its slot's shape and dtype."""
        out = []
        for s in self.slots:
            if s.role == "b":
                a = params[f"b{s.layer}"]
            else:
                w = params[f"W{s.layer}"]
                if s.role == "Wb":
                    b = params[f"b{s.layer}"][None, :]
                    w = np.vstack([w, b] if self.conv.fold == "last" else [b, w])
                a = w.T if self.layout == "out_in" else w
            a = np.asarray(a)
            a = a.reshape(s.shape) if a.shape != s.shape else a
            out.append(np.array(a, dtype=s.dtype if np.issubdtype(s.dtype, np.floating) else None))
        return out

    def grad_to_canonical(
        self, grads: list[Array], batch: int = 0, y_vector: bool = False
    ) -> dict[str, Array]:
        """Learner gradients -> canonical; wrong shapes raise the first one's ``ShapeProblem``
        with the rest in its ``others`` (``batch``: the rows of the call, to recognise a
        batch-sized axis; ``y_vector``: the learner's target is a vector (n,), which could
        broadcast against an (n, 1) output)."""
        fixed, problems = [], []
        for s, g in zip(self.slots, grads, strict=True):
            g = np.asarray(g, dtype=np.float64)
            if g.shape != s.shape:
                if g.size == int(np.prod(s.shape)) and _squeeze(g.shape) == _squeeze(s.shape):
                    g = g.reshape(s.shape)
                else:
                    problems.append(ShapeProblem(s, g.shape, self, batch, y_vector))
            fixed.append(g)
        if problems:
            problems[0].others = problems[1:]
            raise problems[0]
        out = self.to_canonical(fixed, "float64")
        return {k: v for k, v in out.items() if k not in self.frozen}

    def own(self, name: str, index: tuple[int, ...]) -> tuple[int, ...]:
        """A canonical (in, out) index or shape of weight ``name`` in the learner's layout."""
        return index[::-1] if name[0] == "W" and self.layout == "out_in" else index

    def labels(self, names: list[str]) -> tuple[str, ...]:
        """The learner's names for canonical ``names``; a folded weight's two parts as one."""
        out = list(dict.fromkeys(self.label(k) for k in names))
        for x in list(out):
            if x.endswith(" (weights)") and x.replace("(weights)", "(bias column)") in out:
                out.remove(x.replace("(weights)", "(bias column)"))
                out[out.index(x)] = x[: -len(" (weights)")]
        return tuple(out)

    def label(self, name: str) -> str:
        """The learner's name for canonical ``name``: ``Ws`` or ``Ws (bias column)``."""
        for s in self.slots:
            if name in s.canonical():
                if s.role == "Wb":
                    return f"{s.path} ({'bias column' if name[0] == 'b' else 'weights'})"
                return s.path
        return name


def _judged(d: np.dtype) -> np.dtype:
    """The dtype whose tolerance judges an array of float dtype ``d``: float64 for the wider
    ones (np.longdouble), whose round-off is finer still."""
    return np.dtype(np.float64) if d.itemsize > 8 else np.dtype(d)


def _vector_like(shape: tuple[int, ...]) -> bool:
    return sum(d != 1 for d in shape) <= 1


def canonical_key(name: str) -> tuple[int, int]:
    """The order of canonical names: W1, b1, W2, b2, ..."""
    return int(name[1:]), 0 if name[0] == "W" else 1


def _order(item: tuple[str, Array]) -> tuple[int, int]:
    return canonical_key(item[0])
