"""The gradient formats a learner's ``grads`` may return, read into canonical order."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from .codec import Codec
from .paths import LearnerError, get, grad_keys

Array = np.ndarray


def _is_loss_pair(r: Any, declared: bool | None, n: int = 0) -> bool:
    """Whether ``r`` is (loss, grads), or (grads, loss) with the grads a dict or arrays: put
    the pair in that order with ``loss_pair``. A loss is one number: a float, or an array of
    one element (the course's (1, 1) cost); an array of several beside the gradients is
    refused with its shape. With one parameter (``n``), (loss, dW) is the gradient alone
    beside the loss (CS231n's ``svm_loss_vectorized``: review s42a F5)."""
    if declared is not None:
        return declared
    if not (isinstance(r, tuple | list) and len(r) == 2):
        return False
    sizes = [np.size(v) if isinstance(v, np.ndarray | np.number | float | int) else 0 for v in r]
    if n == 1 and sorted(sizes)[0] == 1 and sorted(sizes)[1] > 1:
        return True  # (a one-element gradient beside a loss cannot be told: left as it was)
    for loss, grads in (r, r[::-1]):
        if grads is r[0] and not isinstance(grads, Mapping) and not _arrays(grads):
            continue  # (grads, loss) with a dict or arrays: (dW.tolist(), float(db)) is two
        if isinstance(grads, Mapping | list | tuple) and not isinstance(
            loss, Mapping | list | tuple
        ):
            if isinstance(loss, int | float | np.number) or np.size(loss) == 1:
                return True
            if isinstance(loss, np.ndarray) and loss.ndim and isinstance(grads, Mapping):
                raise LearnerError(
                    f"your function returned a loss of shape {loss.shape} beside the gradients: "
                    "return one number (the mean over every entry for mse, np.mean((a - y)**2))"
                )
    return False


def _arrays(g: Any) -> bool:
    """A list or tuple of two or more NumPy arrays (gradients, not one gradient's numbers)."""
    return isinstance(g, list | tuple) and len(g) > 1 and all(isinstance(a, np.ndarray) for a in g)


def loss_pair(r: Any) -> tuple[float, Any]:
    """(loss as a float, grads) from a pair ``_is_loss_pair`` accepted, in either order."""
    first = r[0]
    one = isinstance(first, int | float | np.number) or (
        not isinstance(first, Mapping | list | tuple) and np.size(first) == 1
    )
    loss, grads = (r[0], r[1]) if one else (r[1], r[0])
    grads = [grads] if isinstance(grads, np.ndarray) else grads  # one parameter's
    return float(np.asarray(loss, dtype=np.float64).reshape(-1)[0]), grads


def as_grad(path: str, g: Any) -> Array:
    """A learner's gradient as an array of numbers, or a ``LearnerError`` saying what it is."""
    what = type(g).__name__
    if isinstance(g, str | bytes) or g is None:
        raise LearnerError(f"{path}'s gradient is a {what}: return an array shaped like {path}")
    try:
        raw = np.asarray(g)
        # a float array keeps its dtype: each gradient is judged at the dtype it is held in
        # (codec.held_in); anything else (a list, integers, objects) becomes float64
        a = (
            None
            if raw.dtype.kind == "c"
            else raw
            if raw.dtype.kind == "f"
            else raw.astype(np.float64)
        )
    except (TypeError, ValueError) as e:
        raise LearnerError(
            f"{path}'s gradient ({what}) is not an array of numbers ({e}): return a NumPy "
            f"array shaped like {path}"
        ) from None
    if a is None:
        raise LearnerError(
            f"{path}'s gradient is complex ({raw.dtype}): return a real float array (a complex "
            "value comes from a square root or log of a negative number upstream)"
        )
    return a


def _layers_off(missing: str, paths: tuple[str, ...], keys: Mapping) -> str:
    """Where the keys' layer numbers are the parameters' shifted down by one (review s31 F6:
    a backward loop that writes layer L's gradients under L - 1, dA0 among them): say so."""

    def numbers(names: Any) -> set[int]:
        return {int(m.group()) for n in names if (m := re.search(r"\d+$", str(n)))}

    ours, theirs = numbers(paths), numbers(keys)
    if not ours or not theirs or not re.search(r"\d+$", missing):
        return ""
    if min(theirs) == min(ours) - 1:
        return (
            f" (their layer numbers run from {min(theirs)}, the parameters' from {min(ours)}: "
            "your backward loop's layer index is off by one: layer L's gradients are written "
            "under L - 1)"
        )
    return f" (their layer numbers: {', '.join(map(str, sorted(theirs)))})"


def _match(result: Any, paths: tuple[str, ...], codec: Codec) -> list[Array]:
    n = len(paths)
    if isinstance(result, Iterator):  # a generator (yield dW1; yield db1; ...): its items
        result = list(result)
    if isinstance(result, Mapping):
        out = []
        for p in paths:
            for key in grad_keys(p):
                if key in result:
                    out.append(as_grad(p, result[key]))
                    break
            else:
                if (nested := _nested(result, p)) is not None:  # shaped like the parameters
                    out.append(as_grad(p, nested))
                    continue
                raise LearnerError(
                    f"the gradients have no entry for {p!r}; their keys: "
                    f"{', '.join(map(str, result))}{_layers_off(p, paths, result)}"
                )
        return out
    _unrolled(result, codec)
    pairs = _pairs(result, codec)
    if pairs is not None:
        return pairs
    if (
        isinstance(result, tuple | list)
        and len(result) == 2
        and all(isinstance(r, list | tuple) for r in result)
        and not (n == 2 and any(len(r) != codec.conv.n_layers for r in result))
    ):  # (two parameters given as lists of numbers: one gradient each)
        return _nielsen(result, codec)
    if isinstance(result, np.ndarray) and n > 1 and result.shape[:1] == (n,):
        result = list(result)
    if not isinstance(result, tuple | list) and n == 1:
        result = [result]
    if not isinstance(result, tuple | list) or len(result) != n:
        got = len(result) if isinstance(result, tuple | list) else type(result).__name__
        raise LearnerError(
            f"the gradients should be a dict, or {n} arrays in the order "
            f"{', '.join(paths)}; got {got}"
        )
    return [as_grad(p, r) for p, r in zip(paths, _by_shape(list(result), codec), strict=True)]


def _by_shape(items: list, codec: Codec) -> list:
    """``items`` in the parameters' order: as given where each fits its parameter's shape;
    else, where their shapes are the parameters' in another order (Real Python's and
    Nielsen's bias first: ``(db, dW)``), sorted by shape, in the given order among equal
    shapes. A shape that fits no parameter is left where it is, for ``wrong_shape``."""
    want = [s.shape for s in codec.slots]
    try:
        shapes = [np.shape(a) for a in items]
    except ValueError:  # a ragged list: as_grad says what it is
        return items
    if len(want) != len(items):
        return items
    for fit in (tuple, _squeezed):
        got = [fit(sh) for sh in shapes]
        need = [fit(w) for w in want]
        if got == need:
            return items
        fits = {tuple(o) for o in _structured(codec) if [need[i] for i in o] == got}
        if len(fits) == 1:  # one order a program writes fits the shapes: read by it, not by
            (o,) = fits  # shape alone (backprop order's two (3,) biases, review s24c F1)
            back = dict(zip(o, items, strict=True))
            return [back[i] for i in range(len(items))]
        if sorted(got) == sorted(need):
            left = list(range(len(items)))
            order = [left.pop(next(i for i, j in enumerate(left) if got[j] == n)) for n in need]
            return [items[j] for j in order]
    return items


def _structured(codec: Codec) -> list[list[int]]:
    """The orders programs return gradients in, as the parameter index at each position: per
    layer (first or last layer first; weight or bias first within a layer) or grouped (every
    weight, then every bias, or the reverse; first or last layer first)."""
    slots = codec.slots
    layers = sorted({s.layer for s in slots})
    by = {l: [i for i, s in enumerate(slots) if s.layer == l] for l in layers}
    ws = [i for i, s in enumerate(slots) if s.role != "b"]
    bs = [i for i, s in enumerate(slots) if s.role == "b"]
    out = [[i for l in ls for i in (by[l][::-1] if flip else by[l])]
           for ls in (layers, layers[::-1]) for flip in (False, True)]  # fmt: skip
    out += [a[::r] + b[::r] for a, b in ((ws, bs), (bs, ws)) for r in (1, -1)]
    return out


def _unrolled(result: Any, codec: Codec) -> None:
    """Refuse, with the split, gradients given as one flat vector of every parameter's entries
    (Ng's unrolled ``grad``), alone or beside the loss."""
    sizes = [int(np.prod(s.shape)) for s in codec.slots]
    parts = list(result) if isinstance(result, tuple | list) else [result]
    flat = [r for r in parts if isinstance(r, np.ndarray) and r.ndim == 1]
    if len(sizes) < 2 or not any(f.size == sum(sizes) for f in flat):
        return
    cuts, at = [], 0
    for s, n in zip(codec.slots, sizes, strict=True):
        cuts.append(f"g[{at}:{at + n}].reshape{s.shape}")
        at += n
    raise LearnerError(
        f"your gradients came as one flat vector of {sum(sizes)} entries for {len(sizes)} "
        f"parameters ({' + '.join(map(str, sizes))}): split it in the adapter's lambda, in the "
        f"order you unrolled it, e.g. [{', '.join(cuts)}] (with order='F' if you unrolled "
        "column by column)"
    )


def _nielsen(result: Sequence, codec: Codec) -> list[Array]:
    """Nielsen's ``(nabla_b, nabla_w)``: two per-layer lists, told apart by the weights'
    shapes (in that order unless the first list has them and the second not); without
    biases, ``nabla_b`` is ignored."""
    first, second = (list(r) for r in result)
    L = codec.conv.n_layers
    if len(first) != L or len(second) != L:
        raise LearnerError(f"(nabla_b, nabla_w) lists need {L} entries each (one per layer)")
    w_shapes = [_squeezed(s.shape) for s in codec.slots if s.role != "b"]
    first_w = [_squeezed(np.shape(a)) for a in first] == w_shapes
    second_w = [_squeezed(np.shape(a)) for a in second] == w_shapes
    bs, ws = (second, first) if first_w and not second_w else (first, second)
    out = []
    for s in codec.slots:
        out.append(as_grad(s.path, (bs if s.role == "b" else ws)[s.layer - 1]))
    return out


def _pairs(result: Any, codec: Codec) -> list[Array] | None:
    """Per-layer ``[(dW1, db1), (dW2, db2), ...]`` (either order within a pair), told apart
    from Nielsen's ``(nabla_b, nabla_w)`` by the shapes: pair l holds layer l's weight and
    bias gradients. A pair whose two shapes do not tell (one input: W1 (1, n) and b1 (n,))
    takes the order of the pairs that do. None when ``result`` is not such a list."""
    L = codec.conv.n_layers
    if not isinstance(result, tuple | list) or len(result) != L:
        return None
    if not all(isinstance(p, tuple | list) and len(p) == 2 for p in result):
        return None
    slots = {(s.layer, s.role): s for s in codec.slots}
    orders: list[set[bool]] = []  # per pair: the orders its shapes allow (True: (dW, db))
    for l, pair in enumerate(result, start=1):
        w, b = slots.get((l, "W")), slots.get((l, "b"))
        if w is None or b is None:
            return None
        orders.append(_orders([np.shape(a) for a in pair], w.shape, b.shape))
        if not orders[-1]:
            return None
    if any(len(o) > 1 for o in orders) and _nielsen_fits(result, codec):
        return None  # (nabla_b, nabla_w) of two layers, whose shapes all tell: Nielsen's
    told = {next(iter(o)) for o in orders if len(o) == 1}
    usual = next(iter(told)) if len(told) == 1 else True
    out: dict[str, Array] = {}
    for l, (pair, o) in enumerate(zip(result, orders, strict=True), start=1):
        w, b = slots[(l, "W")], slots[(l, "b")]
        gw, gb = pair if (next(iter(o)) if len(o) == 1 else usual) else pair[::-1]
        out[w.path], out[b.path] = as_grad(w.path, gw), as_grad(b.path, gb)
    return [out[s.path] for s in codec.slots]


def _nielsen_fits(result: Any, codec: Codec) -> bool:
    """``result`` is two per-layer lists shaped as every bias and every weight gradient."""
    if len(result) != 2 or any(len(r) != codec.conv.n_layers for r in result):
        return False
    b = [_squeezed(s.shape) for s in codec.slots if s.role == "b"]
    w = [_squeezed(s.shape) for s in codec.slots if s.role != "b"]
    got = [[_squeezed(np.shape(a)) for a in r] for r in result]
    return got in ([b, w], [w, b])


def _orders(shapes: list[tuple], w: tuple, b: tuple) -> set[bool]:
    """The orders (True: weight first) that ``shapes`` fit, exact shapes before squeezed:
    one, both (the shapes do not tell) or none."""
    found: set[bool] = set()
    for fit in (tuple, _squeezed):
        pairs = ((True, (w, b)), (False, (b, w)))
        found = {o for o, want in pairs if all(map(lambda s, t: fit(s) == fit(t), shapes, want))}
        if len(found) == 1:
            break
    return found


def _squeezed(shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(d for d in shape if d != 1)


def _nested(result: Mapping, path: str) -> Any:
    """The gradient at ``path`` in a dict shaped like the parameters (``{"layer1": {"W": dW}}``
    for ``layer1['W']``), or None."""
    try:
        return get(result, path)
    except (LearnerError, KeyError, IndexError, TypeError, AttributeError):
        return None
