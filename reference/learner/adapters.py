"""Adapters: a few lines around a learner's NumPy network, in any of five styles.

Every adapter names the learner's parameters by the learner's own names (``paths``), in
canonical order (W1, b1, W2, b2, ...; a folded or absent bias takes no name), and declares the
network's conventions (``Conventions``). The checker calls the learner's functions with
``X`` of shape (batch, inputs) and ``y`` as the learner's data holds it, batch first: (batch,
outputs), or (batch,) for a vector of targets (class indices (batch,) for cross_entropy);
reshape inside the lambda if your code wants columns.

    (a) from_gradients: ``grads(X, y)`` returns a dict, a list, Nielsen's (nabla_b, nabla_w)
    (b) from_layers:    ``backward(X, y)`` runs forward + backward; layers keep dweights/dbiases
    (c) from_step:      ``step(X, y)`` updates the weights in place; no gradient is exposed
    (d) from_forward:   ``forward(X)`` only
    (e) from_loss:      a params dict and ``loss(X, y) -> (loss, grads)`` (CS231n)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnparity.scratch.errors import SpecError

from .conventions import Codec, Conventions
from .paths import DeclarationError, LearnerError, get, put, short

Array = np.ndarray


@dataclass
class Adapter:
    """A learner's network as the checker sees it. Build one with a ``from_*`` function."""

    style: str
    conventions: Conventions
    root: Any
    paths: tuple[str, ...]
    forward: Callable[[Array], Any] | None = None
    grads: Callable[[Array, Array], Any] | None = None
    grad_paths: tuple[str, ...] | None = None
    step: Callable[[Array, Array], Any] | None = None
    returns_loss: bool | None = None
    data: tuple[Any, Any] | None = None
    codec: Codec | None = field(default=None, repr=False)

    def bind(self) -> Codec:
        """Read the learner's arrays once: check shapes and fix the layout."""
        if self.codec is None:
            for p in self.paths:
                if get(self.root, p) is None:
                    raise LearnerError(
                        f"{p} is None: the array does not exist yet (frameworks that create "
                        "weights on the first forward pass or in build()): run one forward "
                        "pass or initialise the weights before building the adapter"
                    )
            raw = self.read_raw()
            for p, a in zip(self.paths, raw, strict=True):
                if not np.issubdtype(a.dtype, np.floating):  # writes would truncate
                    raise LearnerError(
                        f"{p} is {a.dtype}: use float weights "
                        f"(np.array(..., dtype=float)); an integer array cannot hold a training "
                        "step (w -= lr * g truncates or fails)"
                    )
            self.codec = Codec(self.conventions, list(self.paths), raw)
        return self.codec

    def read_raw(self) -> list[Array]:
        return [np.array(get(self.root, p), dtype=None, copy=True) for p in self.paths]

    def read(self) -> dict[str, Array]:
        """The learner's current parameters, canonical."""
        return self.bind().to_canonical(self.read_raw())

    def write(self, params: dict[str, Array]) -> None:
        """Set the learner's parameters (by its own names) from canonical ``params``."""
        for p, a in zip(self.paths, self.bind().from_canonical(params), strict=True):
            put(self.root, p, a)

    def parse_grads(self, result: Any) -> tuple[float | None, list[Array]]:
        """(loss or None, learner gradients in canonical order) from what ``grads`` returned,
        or from the gradient attributes after ``backward`` (style b)."""
        loss = None
        if self.grad_paths is not None:
            return None, [as_grad(p, get(self.root, p)) for p in self.grad_paths]
        if _is_loss_pair(result, self.returns_loss):
            loss, result = float(np.asarray(result[0])), result[1]
        return loss, _match(result, self.paths, self.bind())


def _is_loss_pair(r: Any, declared: bool | None) -> bool:
    if declared is not None:
        return declared
    if not (isinstance(r, tuple | list) and len(r) == 2):
        return False
    first = r[0]
    scalar = isinstance(first, int | float | np.number) or (
        isinstance(first, np.ndarray) and first.ndim == 0
    )
    return scalar and isinstance(r[1], Mapping | list | tuple)


def as_grad(path: str, g: Any) -> Array:
    """A learner's gradient as an array of numbers, or a ``LearnerError`` saying what it is."""
    what = type(g).__name__
    if isinstance(g, str | bytes) or g is None:
        raise LearnerError(f"{path}'s gradient is a {what}: return an array shaped like {path}")
    try:
        a = np.asarray(g, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise LearnerError(
            f"{path}'s gradient ({what}) is not an array of numbers ({e}): return a NumPy "
            f"array shaped like {path}"
        ) from None
    return a


def _match(result: Any, paths: tuple[str, ...], codec: Codec) -> list[Array]:
    n = len(paths)
    if isinstance(result, Mapping):
        out = []
        for p in paths:
            for key in (p, short(p)):
                if key in result:
                    out.append(as_grad(p, result[key]))
                    break
            else:
                raise LearnerError(
                    f"the gradients have no entry for {p!r}; their keys: "
                    f"{', '.join(map(str, result))}"
                )
        return out
    pairs = _pairs(result, codec)
    if pairs is not None:
        return pairs
    if (
        isinstance(result, tuple | list)
        and len(result) == 2
        and all(isinstance(r, list | tuple) for r in result)
    ):
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
    return [as_grad(p, r) for p, r in zip(paths, result, strict=True)]


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
    bias gradients. None when ``result`` is not such a list."""
    L = codec.conv.n_layers
    if not isinstance(result, tuple | list) or len(result) != L:
        return None
    if not all(isinstance(p, tuple | list) and len(p) == 2 for p in result):
        return None
    slots = {(s.layer, s.role): s for s in codec.slots}
    out: dict[str, Array] = {}
    for l, pair in enumerate(result, start=1):
        w, b = slots.get((l, "W")), slots.get((l, "b"))
        if w is None or b is None:
            return None
        shapes = [_squeezed(np.shape(a)) for a in pair]
        ws, bs = _squeezed(w.shape), _squeezed(b.shape)
        if shapes == [ws, bs]:
            gw, gb = pair
        elif shapes == [bs, ws]:
            gb, gw = pair
        else:
            return None
        out[w.path], out[b.path] = as_grad(w.path, gw), as_grad(b.path, gb)
    return [out[s.path] for s in codec.slots]


def _squeezed(shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(d for d in shape if d != 1)


def _conv(kw: dict[str, Any]) -> Conventions:
    keys = (
        "sizes",
        "activations",
        "bias",
        "loss",
        "reduction",
        "optimizer",
        "lr",
        "layout",
        "fold",
        "per_sample",
        "batch_size",
        "l2",
    )
    kw = _optimizer_options(kw)
    unknown = set(kw) - set(keys)
    if unknown:
        raise LearnerError(
            f"unknown declaration(s) {', '.join(sorted(unknown))}; known: {', '.join(keys)}"
        )
    if "sizes" not in kw or "activations" not in kw:
        raise LearnerError("declare sizes=[inputs, hidden..., outputs] and activations=...")
    try:
        return Conventions.make(**kw)
    except SpecError as e:  # one line naming the fix, not scratch's frames
        raise DeclarationError(str(e)) from None


OPT_OPTIONS = (
    "momentum",
    "dampening",
    "nesterov",
    "weight_decay",
    "beta1",
    "beta2",
    "eps",
    "alpha",
    "amsgrad",
    "centered",
)
OPT_ALIASES = {  # names learners write for a declared optimizer with options
    "sgd_momentum": "sgd(momentum=0.9)",
    "momentum": "sgd(momentum=0.9)",
    "nesterov": "sgd(momentum=0.9,nesterov=true)",
}


def _optimizer_options(kw: dict[str, Any]) -> dict[str, Any]:
    """``optimizer="sgd", momentum=0.9`` -> ``optimizer="sgd(momentum=0.9)"``: optimizer
    options given as declarations join the optimizer's own; a known alias such as
    ``sgd_momentum`` gets a did-you-mean."""
    opt = str(kw.get("optimizer", "sgd"))
    base = opt.split("(")[0].strip()
    if base in OPT_ALIASES:
        raise DeclarationError(
            f"unknown optimizer {base!r}: did you mean optimizer={OPT_ALIASES[base]!r}? "
            "(or optimizer='sgd', momentum=0.9)"
        )
    extra = {k: kw[k] for k in OPT_OPTIONS if k in kw}
    if not extra:
        return kw
    inner = opt[len(base) :].strip()[1:-1] if "(" in opt else ""
    given = [p for p in inner.split(",") if p.strip()]
    for k, v in extra.items():
        if any(p.split("=")[0].strip() == k for p in given):
            raise DeclarationError(f"{k} is given twice: in optimizer={opt!r} and as {k}={v!r}")
        given.append(f"{k}={str(v).lower() if isinstance(v, bool) else v}")
    out = {k: v for k, v in kw.items() if k not in extra}
    out["optimizer"] = f"{base}({','.join(given)})"
    return out


def _paths(params: Sequence[str] | str) -> tuple[str, ...]:
    return (params,) if isinstance(params, str) else tuple(params)


def from_gradients(
    net: Any,
    params: Sequence[str],
    grads: Callable,
    *,
    forward: Callable | None = None,
    step: Callable | None = None,
    data: tuple | None = None,
    **declared: Any,
) -> Adapter:
    """(a) ``grads(X, y)`` returns gradients: a dict keyed by your names, a list in the order
    of ``params``, Nielsen's ``(nabla_b, nabla_w)``, or ``(loss, grads)``. ``per_sample=True``
    calls it once per row and sums (reduction 'sum') or averages ('mean') the results."""
    return Adapter(
        "gradients", _conv(declared), net, _paths(params), forward, grads, step=step, data=data
    )


def from_layers(
    layers: Sequence[Any],
    backward: Callable,
    *,
    weights: str = "weights",
    biases: str | None = "biases",
    dweights: str = "dweights",
    dbiases: str = "dbiases",
    forward: Callable | None = None,
    step: Callable | None = None,
    data: tuple | None = None,
    **declared: Any,
) -> Adapter:
    """(b) Layer objects: ``backward(X, y)`` runs your forward and backward passes, after which
    each layer holds its gradients as attributes (``dweights``, ``dbiases``)."""
    declared.setdefault("bias", "separate" if biases else "none")
    names = {"weights": weights, "biases": biases, "dweights": dweights, "dbiases": dbiases}
    for layer in layers:
        _has_attributes(layer, {k: v for k, v in names.items() if v}, dweights, dbiases)
    paths, gpaths = [], []
    for i in range(len(layers)):
        paths.append(f"layers[{i}].{weights}")
        gpaths.append(f"layers[{i}].{dweights}")
        if biases:
            paths.append(f"layers[{i}].{biases}")
            gpaths.append(f"layers[{i}].{dbiases}")
    return Adapter(
        "layers",
        _conv(declared),
        {"layers": list(layers)},
        tuple(paths),
        forward,
        backward,
        tuple(gpaths),
        step=step,
        data=data,
    )


def _has_attributes(layer: Any, names: dict[str, str], dw: str, db: str) -> None:
    """A ``LearnerError`` naming the layer's own arrays when it lacks an attribute named in
    ``names`` (the gradient attributes may appear only after the first backward pass)."""
    missing = [  # gradient attributes often appear only after the first backward pass
        (k, v) for k, v in names.items() if k in ("weights", "biases") and not hasattr(layer, v)
    ]
    if not missing:
        return
    arrays = (
        [
            a
            for a in sorted(vars(layer))
            if hasattr(layer, "__dict__")
            if isinstance(getattr(layer, a), np.ndarray) or getattr(layer, a) is None
        ]
        if hasattr(layer, "__dict__")
        else []
    )
    cls = type(layer).__name__
    which = ", ".join(repr(v) for _, v in missing)
    its = f"; its arrays are {', '.join(arrays)}" if arrays else ""
    guess = _guess(arrays)
    hint = (
        ": pass " + ", ".join(f"{k}={v!r}" for k, v in guess.items())
        if guess
        else ": pass weights=, biases=, dweights=, dbiases= with its attribute names"
    )
    raise LearnerError(f"{cls} has no {which}{its}{hint} to from_layers")


def _guess(arrays: list[str]) -> dict[str, str]:
    """The usual attribute names among ``arrays``: W/b/dW/db, w/b/dw/db, weight/bias/..."""
    for w, b in (
        ("W", "b"),
        ("w", "b"),
        ("weight", "bias"),
        ("weights", "biases"),
        ("kernel", "bias"),
    ):
        dws = [f"d{w}", f"grad_{w}", f"{w}_grad", f"d_{w}"]
        dbs = [f"d{b}", f"grad_{b}", f"{b}_grad", f"d_{b}"]
        dw = next((x for x in dws if x in arrays), None)
        db = next((x for x in dbs if x in arrays), None)
        if w in arrays:
            out = {"weights": w}
            if b in arrays:
                out["biases"] = b
            if dw:
                out["dweights"] = dw
            if db and b in arrays:
                out["dbiases"] = db
            return out
    return {}


def from_step(
    net: Any,
    params: Sequence[str],
    step: Callable,
    *,
    forward: Callable | None = None,
    data: tuple | None = None,
    **declared: Any,
) -> Adapter:
    """(c) ``step(X, y)`` trains one step in place. The gradients are implied from the
    post-step weights and the declared optimizer (SGD, with or without momentum)."""
    return Adapter("step", _conv(declared), net, _paths(params), forward, step=step, data=data)


def from_forward(
    net: Any,
    params: Sequence[str],
    forward: Callable,
    *,
    data: tuple | None = None,
    **declared: Any,
) -> Adapter:
    """(d) ``forward(X)`` only: outputs are compared at several weight settings."""
    declared.setdefault("loss", "mse")
    return Adapter("forward", _conv(declared), net, _paths(params), forward, data=data)


def from_loss(
    params: Mapping[str, Array],
    loss_and_grads: Callable,
    *,
    names: Sequence[str] | None = None,
    forward: Callable | None = None,
    step: Callable | None = None,
    data: tuple | None = None,
    **declared: Any,
) -> Adapter:
    """(e) A params dict (``model.params``) and ``loss_and_grads(X, y) -> (loss, grads)``
    (CS231n's ``model.loss``), ``grads`` keyed like ``params``. ``names`` defaults to W1, b1,
    W2, b2, ... in canonical order."""
    conv = _conv(declared)
    if names is None:
        names = [f"{r[0]}{l}" if r != "Wb" else f"W{l}" for l, r in conv.slot_names()]
    return Adapter(
        "loss",
        conv,
        params,
        tuple(names),
        forward,
        loss_and_grads,
        step=step,
        returns_loss=True,
        data=data,
    )
