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

With ``spec="1x8x8 conv(4,k=3) relu maxpool(2) flatten dense(3) ..."`` (the layered one-line
form) instead of ``sizes``/``activations``, (a), (b) and (e) take a whole network with conv,
pooling, batchnorm and dropout: parameters in the spec's order (W1 b1 gamma2 beta2 ...), and
the conventions, running statistics and dropout masks of ``layered_decl``; ``check`` then runs
``layered_check``. A ``spec=`` of dense layers and activations only is a dense spec: its
sizes, activations, loss and optimizer become the dense declarations (``as_dense``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnparity.scratch.data import strings_message

from .codec import Codec
from .conventions import Conventions
from .declarations import _conv, _paths
from .grad_formats import _is_loss_pair, _match, as_grad, loss_pair
from .keep import put_synced, restore, snapshot
from .layer_attrs import has_attributes
from .layered_decl import LayeredDecl, as_dense, is_layered, layered_decl
from .paths import LearnerError, get, put

Array = np.ndarray


@dataclass
class Adapter:
    """A learner's network as the checker sees it. Build one with a ``from_*`` function."""

    style: str
    conventions: Conventions | None  # None for a layered spec (see ``layered``)
    root: Any
    paths: tuple[str, ...]
    forward: Callable[[Array], Any] | None = None
    grads: Callable[[Array, Array], Any] | None = None
    grad_paths: tuple[str, ...] | None = None
    step: Callable[[Array, Array], Any] | None = None
    returns_loss: bool | None = None
    data: tuple[Any, Any] | None = None
    codec: Codec | None = field(default=None, repr=False)
    layered: LayeredDecl | None = None  # a layered spec (spec="1x8x8 conv(...) ...")

    def __post_init__(self) -> None:
        d = self.data  # an array's rows are never read as (X, y)
        if d is not None and not (isinstance(d, tuple | list) and len(d) == 2):
            what = f"an array of shape {np.shape(d)}" if hasattr(d, "shape") else type(d).__name__
            raise LearnerError(
                f"data= takes a pair (X, y), got {what}: pass data=(X, y), one row per sample "
                "in each (for an autoencoder, whose targets are its inputs, data=(X, X))"
            )
        if d is not None:  # a pandas DataFrame or Series: its values (crossing as arrays)
            self.data = tuple(v.to_numpy() if hasattr(v, "to_numpy") else v for v in d)
            if np.asarray(self.data[1]).dtype.kind in "US":  # labels as text: said here, in
                raise LearnerError(strings_message(self.data[1]))  # the learner's process

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
                if not np.issubdtype(a.dtype, np.floating):  # in-place writes would truncate
                    raise LearnerError(
                        f"{p} is {a.dtype}: use float weights "
                        f"(np.array(..., dtype=float)); an integer array cannot hold a training "
                        "step (w -= lr * g truncates or fails)"
                    )
            self.codec = Codec(self.conventions, list(self.paths), raw)
        return self.codec

    def read_raw(self) -> list[Array]:
        """Copies of the learner's arrays; Python numbers (``b = 0``, which an update rebinds
        to a float) as floats."""
        out = []
        for p in self.paths:
            v = get(self.root, p)
            a = np.array(v, dtype=None, copy=True)
            out.append(a.astype(float) if a.dtype.kind in "iu" and _python_numbers(v) else a)
        return out

    def values(self, paths: Sequence[str]) -> list[Any]:
        """The objects at the learner's own names ``paths`` (a ``RemoteAdapter`` asks the
        learner's process)."""
        return [get(self.root, p) for p in paths]

    def aliased(self) -> tuple[str, str] | None:
        """The first two of the learner's parameters (its own names) that share memory (a
        ``RemoteAdapter`` asks the learner's process)."""
        vals = [(p, v) for p, v in zip(self.paths, self.values(self.paths), strict=True)
                if isinstance(v, np.ndarray) and v.size]  # fmt: skip
        for i, (p, a) in enumerate(vals):
            for q, b in vals[i + 1 :]:
                if np.may_share_memory(a, b):
                    try:
                        if np.shares_memory(a, b, max_work=10_000):
                            return p, q
                    except np.exceptions.TooHardError:
                        continue
        return None

    def rng_state(self) -> Any:
        """NumPy's global generator state where the learner's code runs (this process)."""
        return np.random.get_state()

    def keep(self, pin: bool = False) -> Any:
        """The learner's state below ``root``, to ``restore`` (``keep.py``; this process;
        ``pin``: kept for the whole check where snapshots are kept remotely)."""
        return snapshot(self.root, self.forward, self.grads, self.step), self.read_raw()

    def restore(self, kept: Any) -> None:
        """``keep``'s state put back, the named parameters by name (below its reach too)."""
        entries, raw = kept
        restore(entries)
        for p, a in zip(self.paths, raw, strict=True):
            put(self.root, p, a)

    def write_synced(self, params: dict[str, Array]) -> int:
        """``write``, and the copies the learner keeps of them too (``keep.put_synced``)."""
        raw = [np.asarray(a) for a in self.bind().from_canonical(params)]
        return put_synced(self.root, self.paths, (self.forward, self.grads, self.step), raw)

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
        if result is None:
            raise LearnerError(
                "your gradient function returned None: return the gradients (a dict by your "
                "names, a list, or (loss, grads)); a function that only fills attributes is "
                "style (b), from_layers"
            )
        if _is_loss_pair(result, self.returns_loss, len(self.paths)):
            loss, result = loss_pair(result)
        return loss, _match(result, self.paths, self.bind())


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
    declared = as_dense(declared)  # a spec of dense layers only: the dense path
    if is_layered(declared):
        return Adapter("gradients", None, net, _paths(params), forward, grads, step=step,
                       data=data, layered=layered_decl(declared))  # fmt: skip
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
    declared = as_dense(declared)  # a spec of dense layers only: the dense path
    layered = layered_decl(declared) if is_layered(declared) else None
    if layered is None:
        declared.setdefault("bias", "separate" if biases else "none")
    names = {"weights": weights, "biases": biases, "dweights": dweights, "dbiases": dbiases}
    for layer in layers:
        has_attributes(layer, {k: v for k, v in names.items() if v}, dweights, dbiases)
    paths, gpaths = [], []
    for i in range(len(layers)):
        paths.append(f"layers[{i}].{weights}")
        gpaths.append(f"layers[{i}].{dweights}")
        if biases:
            paths.append(f"layers[{i}].{biases}")
            gpaths.append(f"layers[{i}].{dbiases}")
    return Adapter(
        "layers",
        None if layered else _conv(declared),
        {"layers": list(layers)},
        tuple(paths),
        forward,
        backward,
        tuple(gpaths),
        step=step,
        data=data,
        layered=layered,
    )


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
    post-step weights and the declared optimizer (SGD, with or without momentum; with a
    layered ``spec=``, plain SGD: see ``_implied``)."""
    declared = as_dense(declared)  # a spec of dense layers only: the dense path
    if is_layered(declared):
        layered = layered_decl(declared)
        grads = _implied(net, _paths(params), step, layered.spec.opt)
        return Adapter("step", None, net, _paths(params), forward, grads, data=data,
                       layered=layered)  # fmt: skip
    return Adapter("step", _conv(declared), net, _paths(params), forward, step=step, data=data)


def _implied(net: Any, paths: tuple[str, ...], step: Callable, opt: Any) -> Callable:
    """For a layered spec: a gradient function that runs the learner's step and reads its
    gradients from the move, g = (w - w') / lr under plain SGD, then puts the weights back
    (the check moves them itself): an update inside backward, as the CNN tutorials write it
    (Victor Zhou's, The Independent Code's), is checked as its gradients."""
    kw = dict(opt.kwargs)
    lr = float(kw.pop("lr", 1e-3))
    if opt.name != "sgd" or any(kw.values()):
        raise LearnerError(
            f"from_step with a layered spec reads your gradients from your step under plain SGD "
            f"(w -= lr * g), and {opt} is declared: declare opt=sgd(lr=...) as your step takes "
            "it, or expose your gradients (from_gradients, from_layers)"
        )

    def grads(X: Array, y: Array) -> Any:
        before = [np.array(get(net, p), copy=True) for p in paths]
        out = step(X, y)
        after = [np.array(get(net, p), copy=True) for p in paths]
        for p, b in zip(paths, before, strict=True):
            put(net, p, b)  # as it was: the check writes each step's weights itself
        g = [(b - a) / lr for b, a in zip(before, after, strict=True)]
        # the loss a step returns goes on: it replays dropout's masks (review s28 f14)
        real = isinstance(out, int | float | np.number) and not isinstance(out, bool)
        return (float(out), g) if real and np.isfinite(out) else g

    return grads


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
    declared = as_dense(declared)  # a spec of dense layers only: the dense path
    layered = layered_decl(declared) if is_layered(declared) else None
    conv = None if layered else _conv(declared)
    if names is None and layered is not None:
        names = layered.param_names()
    elif names is None:
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
        layered=layered,
    )


def _python_numbers(v: Any) -> bool:
    """A Python int, or a list or tuple of them (nested): no array an update writes into."""
    if isinstance(v, list | tuple):
        return all(map(_python_numbers, v))
    return isinstance(v, int) and not isinstance(v, bool)
