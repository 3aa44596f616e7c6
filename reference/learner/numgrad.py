"""Gradients computed numerically (finite differences of the loss, as a gradient check does)
where backprop belongs: the learner's gradients equal the declared loss's central or forward
differences with one step h, to the differences' own round-off, and differ from the exact
gradient by their truncation error. Tried only on small networks whose gradients part by a
small relative amount, the way such differences do."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from nnparity.scratch import build

from .codec import canonical_key
from .result import Finding

if TYPE_CHECKING:
    from .codec import Codec
    from .torch_side import Reference

STEPS = (1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7)
MAX_ELEMENTS = 2000  # every difference costs two forward passes
U = float(np.finfo(np.float64).eps)


KINKED = ("relu", "leaky_relu", "relu6", "hardtanh", "elu", "celu", "selu")


def at_kink(z: list, acts: list[str]) -> bool:
    """Some unit sits exactly on its activation's kink at 0 (XOR with zero biases: the [0, 0]
    row): a one-sided difference there is exactly a convention's derivative (relu'(0) = 1 of
    ``z >= 0``), so differences cannot be told from backprop with that convention."""
    return any(
        a in KINKED and t is not None and bool((t == 0).any())
        for a, t in zip(acts, z[1:], strict=False)
    )


def explain_numerical(
    obs: object, twin: dict, X: np.ndarray, y: np.ndarray, ref: Reference, codec: Codec,
    failing: dict[str, int],
) -> list[Finding]:  # fmt: skip
    """``finite_difference_gradients`` for the learner's gradients ``obs.grads`` at
    ``obs.params`` on (X, y), against ``twin`` (PyTorch's exact gradients there); []
    otherwise."""
    names = sorted(failing, key=canonical_key)
    grads, params = obs.grads, obs.params
    if not grads or sum(np.size(grads[k]) for k in names) > MAX_ELEMENTS:
        return []
    net = build(ref.spec.replace(dtype="float64"))
    P = {k: np.zeros_like(v) for k, v in net.init_params().items()}
    P.update({k: np.array(v, dtype=np.float64) for k, v in params.items() if k in P})
    if any(P[k].shape != np.shape(grads[k]) for k in names):
        return []

    def loss() -> float:
        return net.loss(P, X, y) + _penalty(P, ref)

    L0 = loss()
    for kind in ("central", "forward"):
        for h in STEPS:
            fd = {k: _differences(P, k, h, kind, loss, L0) for k in names}
            noise = 100 * U * max(abs(L0), 1e-300) / h
            fits = all(
                np.all(np.abs(grads[k] - fd[k]) <= noise + 1e-9 * np.abs(fd[k])) for k in names
            )
            apart = any(np.any(np.abs(fd[k] - twin[k]) > noise) for k in names)
            if fits and apart and _truncation(fd, twin, P, names, h, kind, loss, L0, noise):
                return [_finding(codec, names, min(failing.values()), kind, h)]
    return _of_a_safe_log(grads, twin, P, names, net, X, y, ref, codec, min(failing.values()))


SAFE = (("add", 1e-7), ("clip", 1e-7))  # -log(p + eps) (Deep Learning from Scratch), a clip
NEAR = 1e-3  # the learner's gradients this near PyTorch's, relative: differences, perhaps


def _of_a_safe_log(grads: dict, twin: dict, P: dict, names: list, net: Any, X: np.ndarray,
                   y: np.ndarray, ref: Reference, codec: Codec,
                   step: int) -> list[Finding]:  # fmt: skip
    """``finite_difference_gradients`` of the declared loss with a safe log's epsilon (review
    s59a F2, s59c F3: Saito's ch. 4 numerical_gradient of -log(p + 1e-7)): central differences
    that match the learner's gradients to their round-off, where the learner's are not that
    loss's own gradient (their Richardson limit) but part from it by the truncation error;
    asked only of gradients within ``NEAR`` of PyTorch's."""
    spec = ref.spec
    if spec.loss.name not in ("cross_entropy", "bce") or ref.reduction != "mean":
        return []
    top = max(float(np.abs(twin[k]).max(initial=0.0)) for k in names) or 1.0
    if any(float(np.abs(grads[k] - twin[k]).max(initial=0.0)) > NEAR * top for k in names):
        return []
    Y = np.asarray(y, np.float64)
    if spec.loss.name == "cross_entropy" and not np.issubdtype(np.asarray(y).dtype, np.floating):
        Y = np.eye(spec.sizes[-1])[np.asarray(y).astype(int).ravel()]
    for how, eps in SAFE:

        def loss(how: str = how, eps: float = eps) -> float:
            o = net.forward(P, X)[0]
            if spec.loss.name == "cross_entropy":
                e = np.exp(o - o.max(axis=1, keepdims=True))
                p = e / e.sum(axis=1, keepdims=True)
                q = p + eps if how == "add" else np.clip(p, eps, 1 - eps)
                value = -float((Y.reshape(p.shape) * np.log(q)).sum()) / len(p)
            else:
                a = o + eps if how == "add" else np.clip(o, eps, 1 - eps)
                b = 1 - o + eps if how == "add" else 1 - a
                t = Y.reshape(o.shape)
                value = -float((t * np.log(a) + (1 - t) * np.log(b)).mean())
            return value + _penalty(P, ref)

        L0 = loss()
        for h in STEPS:
            noise = 100 * U * max(abs(L0), 1e-300) / h
            fd = {k: _differences(P, k, h, "central", loss, L0) for k in names}
            if not all(np.all(np.abs(grads[k] - fd[k]) <= noise + 1e-9 * np.abs(fd[k]))
                       for k in names):  # fmt: skip
                continue
            half = {k: _differences(P, k, h / 2, "central", loss, L0) for k in names}
            limit = {k: (4 * half[k] - fd[k]) / 3 for k in names}  # the loss's own gradient
            if not any(np.any(np.abs(limit[k] - twin[k]) > 3 * noise) for k in names):
                continue  # (its eps is below the differences' round-off here: no reading)
            said = f"-log(p + {eps:g})" if how == "add" else f"a log of p clipped at {eps:g}"
            if any(np.any(np.abs(grads[k] - limit[k]) > 3 * noise) for k in names):
                f = _finding(codec, names, step, "central", h)
                return [replace(f, evidence=f.evidence.replace(
                    "the declared loss's", f"the declared loss's, with {said},"))]  # fmt: skip
            return [  # that loss's own gradient, to the differences' round-off: a convention
                Finding(
                    "clip_convention",
                    codec.labels(names),
                    None,
                    step,
                    f"your gradients are the declared loss's with {said}, to 1e-9 of them (its "
                    f"central differences at h = {h:g} and their limit agree with them alike): "
                    "the exact gradient (PyTorch's, from the logits) differs from it by eps / p "
                    "relative, visibly only where a probability comes near eps",
                    "nothing to fix: a safe log's epsilon is a convention",
                    "note",
                )
            ]
    return []


def _penalty(P: dict, ref: Reference) -> float:
    """The declared L2 terms of the loss at ``P``: l2 / 2 * sum W^2 per parameter."""
    return sum(ref.l2_on(k) / 2 * float((v * v).sum()) for k, v in P.items())


def _truncation(fd: dict, twin: dict, P: dict, names: list, h: float, kind: str, loss, L0: float,
                noise: float) -> bool:  # fmt: skip  # noqa: ANN001
    """Whether the differences part from the exact gradient ``twin`` by their truncation error
    (or round-off): by no more than ten times what halving h changes them (3/4 of central
    differences' h^2 error, 1/2 of forward ones' h error), not by a loss that differs from
    the exact gradient's own (a clamped log, flat where the samples saturate: review s42a F1)."""
    half = {k: _differences(P, k, h / 2, kind, loss, L0) for k in names}
    return all(
        np.all(np.abs(fd[k] - twin[k]) <= 10 * (np.abs(fd[k] - half[k]).max() + 2 * noise))
        for k in names
    )


def _differences(P: dict, k: str, h: float, kind: str, loss, L0: float) -> np.ndarray:  # noqa: ANN001
    """The loss's finite differences along every element of parameter ``k``, step ``h``."""
    v = P[k]
    out = np.zeros_like(v)
    for i in np.ndindex(v.shape):
        old = v[i]
        v[i] = old + h
        up = loss()
        if kind == "central":
            v[i] = old - h
            out[i] = (up - loss()) / (2 * h)
        else:
            out[i] = (up - L0) / h
        v[i] = old
    return out


def _finding(codec: Codec, names: list[str], step: int, kind: str, h: float) -> Finding:
    labels = codec.labels(names)
    return Finding(
        "finite_difference_gradients",
        labels,
        None,
        step,
        f"your gradients of {', '.join(labels)} equal the declared loss's {kind} differences "
        f"with a step of {h:g}, to their round-off: numerical gradients, not backprop, and "
        f"their truncation error (of order {'h^2' if kind == 'central' else 'h'}) is what "
        "parts from PyTorch's exact gradients",
        "differences are a test of backprop, not a substitute: compute the gradients "
        "analytically (the chain rule, layer by layer), then compare them with these",
    )
