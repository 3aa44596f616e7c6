"""What the learner's forward pass returns, read at the first step: the declared output, or a
form of it that is no bug. Where the last activation is declared identity under cross-entropy,
a forward returning softmax of the logits (sigmoid of them under bce_with_logits); where it is
declared sigmoid or softmax, a forward returning the logits before it (a CS231n ``loss(X)``
returns the scores). From then on the twin's output is compared in that form, and a note says
so."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .explain import HYPOTHESIS_TOL
from .paths import LearnerError
from .result import Finding

if TYPE_CHECKING:
    from .runner import Obs
    from .torch_side import Reference, RefStep

SOFTMAX_NOTE = Finding(
    "softmax_output",
    ("forward",),
    None,
    1,
    "your forward pass returns softmax probabilities where the last activation is declared "
    "identity (logits); PyTorch's outputs were compared after a softmax",
    "declare the last activation 'softmax' with loss='cross_entropy' (the loss is taken on "
    "the logits either way)",
    "note",
)


SIGMOID_NOTE = Finding(
    "sigmoid_output",
    ("forward",),
    None,
    1,
    "your forward pass returns sigmoid probabilities where the last activation is declared "
    "identity (logits) under bce_with_logits; PyTorch's outputs were compared after a sigmoid",
    "nothing to change: the loss is taken on the logits (BCEWithLogitsLoss), and your "
    "predictions are their probabilities",
    "note",
)


def _logits_note(act: str, unsure: bool = False) -> Finding:
    cut = "0, not 0.5" if act == "sigmoid" else "the largest, as the probabilities would"
    said = (
        f"; whether your training applies the {act} your first step cannot tell (an adaptive "
        "optimizer's first step is about -lr sign(g), the same without it): your later steps "
        "are held to PyTorch's through it"
        if unsure
        else ""
    )
    return Finding(
        "logits_output",
        ("forward",),
        None,
        1,
        f"your forward pass returns the logits, the last layer's output before its {act}; "
        "PyTorch's logits were compared with them, and your loss and gradients are held to "
        f"PyTorch's, taken through the {act} as declared{said}",
        f"nothing to change for training; where you predict from these logits, threshold at "
        f"{cut} (or return {act}(logits) from the forward pass)",
        "note",
    )


def output_form(
    obs: Obs, rs: RefStep, refs: list[Reference | None], y: Any = None
) -> Finding | None:
    """The note for a forward output in another form than the declared one, with every twin in
    ``refs`` switched to compare that form; None when the output is the declared one (or
    neither form fits: a mismatch, which the checker explains)."""
    spec, out = refs[0].spec, obs.out  # type: ignore[union-attr]
    if out is None or out.shape != rs.out.shape:
        return None
    rtol, atol = HYPOTHESIS_TOL[spec.dtype]
    if np.allclose(out, rs.out, rtol=rtol, atol=atol):
        return None
    cut = 0.0 if spec.activations[-1].name == "identity" else 0.5
    if np.isin(out, (0.0, 1.0)).all() and np.array_equal(out, (rs.out > cut).astype(out.dtype)):
        raise LearnerError(
            f"your forward= returns labels (the network's outputs thresholded at {cut:g}); the "
            "check compares the outputs themselves: pass the function that returns the "
            "probabilities (or the logits), and threshold them in your own code"
        )
    logits = rs.z[-1].numpy()
    last = spec.activations[-1].name
    if spec.loss.name == "cross_entropy" and last == "identity" and not refs[0].softmax_out:
        z = logits - logits.max(axis=1, keepdims=True)
        if np.allclose(out, np.exp(z) / np.exp(z).sum(axis=1, keepdims=True), rtol=rtol, atol=atol):
            for r in refs:
                if r is not None:
                    r.softmax_out = True  # from here on, the output compared is softmax(logits)
            return SOFTMAX_NOTE
    if spec.loss.name == "bce_with_logits" and last == "identity":
        with np.errstate(over="ignore"):
            if np.allclose(out, 1 / (1 + np.exp(-logits)), rtol=rtol, atol=atol):
                for r in refs:
                    if r is not None:
                        r.sigmoid_out = True  # from here on, sigmoid(logits) is compared
                return SIGMOID_NOTE
    shown = "softmax" if refs[0].softmax_out else last
    if (
        shown in ("sigmoid", "softmax")
        and np.allclose(out, logits, rtol=rtol, atol=atol)
        and (through := _trains_through(obs, rs, refs[0], y, rtol, atol))
    ):
        for r in refs:
            if r is not None:
                r.logits_out = True
        return _logits_note(shown, through == "unsure")
    return _clipped(out, rs, refs, shown)


def late_clip(obs: Obs, rs: RefStep, refs: list[Reference | None], tol: Any) -> Finding | None:
    """``output_form``'s safe-log clip at a step after the first, where no output lay past eps
    at step 1 (review s39 F4: a Keras clip of 1e-4 first binding at step 142 was a forward
    bug); the other forms show at step 1 or not at all. ``tol``: the forward record's
    tolerance: only where the outputs part beyond it is a clip looked for."""
    r0 = refs[0]
    if obs.out is None or obs.out.shape != rs.out.shape or r0 is None or r0.clip_out:
        return None
    scale = float(np.abs(rs.out).max(initial=0.0)) or 1.0
    agree = np.allclose(obs.out, rs.out, rtol=tol.rtol, atol=tol.atol * scale)
    if r0.logits_out or r0.sigmoid_out or agree:  # outputs the record accepts need no clip
        return None  # (float32 round-off one step below 1 is none: review s41)
    shown = "softmax" if r0.softmax_out else r0.spec.activations[-1].name
    return _clipped(obs.out, rs, refs, shown, obs.step)


def _clipped(out: np.ndarray, rs: RefStep, refs: list, shown: str, step: int = 1) -> Finding | None:
    eps = clip_eps(out, rs.out) if shown in ("sigmoid", "softmax") else None
    if eps is None:
        return None
    for r in refs:
        if r is not None:
            r.clip_out = eps
    return _clip_note(shown, eps, int(np.sum((rs.out < eps) | (rs.out > 1 - eps))), out.size,
                      step)  # fmt: skip


CLIP_MAX = 1e-3  # the largest epsilon read as a safe log's


def clip_eps(out: np.ndarray, exact: np.ndarray) -> float | None:
    """eps where ``out`` is ``exact`` clipped to [eps, 1 - eps] (Keras's backend clips its
    outputs so that a log never sees 0 or 1), for 0 < eps <= ``CLIP_MAX``; else None."""
    lo, hi = float(out.min()), 1.0 - float(out.max())  # either side may be the clipped one
    for eps in sorted({e for e in (lo, hi) if 0 < e <= CLIP_MAX}):  # (s39 F4: the top alone)
        inner = eps * (1 - 1e-6)  # past it by more than round-off: the clip changed an output
        low, high = exact < inner, exact > 1 - inner
        if not (low | high).any():
            continue
        at = np.abs(np.where(low, out, 1 - out) - eps) <= 1e-6 * eps  # the bound itself there
        if not at[low | high].all():  # (an output rounded to 1 is no clip to 1 - eps)
            continue
        if np.array_equal(out, np.clip(exact, eps, 1 - eps).astype(out.dtype)) or np.allclose(
            out[~(low | high)], exact[~(low | high)], rtol=1e-12, atol=0
        ):
            return eps
    return None


def _clip_note(act: str, eps: float, past: int, n: int, step: int = 1) -> Finding:
    return Finding(
        "clip_convention",
        ("forward",),
        None,
        1,
        f"your forward pass clips the {act} outputs to [{eps:.3g}, 1 - {eps:.3g}] (a safe "
        f"log's epsilon, as Keras's backend does); {past} of {n} outputs lay past it at step "
        f"{step}, and PyTorch's outputs were compared after the same clip",
        "nothing to change: the clip keeps log() finite; it changes the gradient only where "
        "an output lies past it",
        "note",
    )


def _trains_through(
    obs: Obs, rs: RefStep, ref: Any, y: Any, rtol: float, atol: float
) -> bool | str:
    """Whether the declared last activation is applied in training, so that a forward without
    it is only what the forward returns, not a network that lacks the activation: the step's
    loss agrees with PyTorch's (taken through the activation), or the last layer's gradients
    agree with PyTorch's up to one positive factor (a network trained on the logits themselves
    has dL/dz = z - y there, not p - y), or, from a step that shows neither (Adam's, whose
    gradients its step does not imply), its post-step weights are the declared optimizer's
    on PyTorch's gradients (review s59c F1: Saito's TwoLayerNet, whose predict returns the
    scores, under his Adam). A backward bug below the last layer, or a scale on every
    layer, leaves the first two as they are, and is then named on the gradients it changes."""
    if obs.loss is not None and bool(np.isclose(obs.loss, rs.loss, rtol=rtol, atol=atol)):
        return True
    if not obs.grads:  # (an adaptive step's first is about -lr sign(g): "unsure" where the
        if obs.after is None or y is None:  # step without the activation, dz = z - y, is
            return False  # the learner's too; later steps are held through the activation)
        if not _steps_through(obs, rs.grads, ref.spec, rtol, atol):
            return "unsure"  # (an update slip: the later steps name it, review s60a F3)
        return "unsure" if _steps_through(obs, _bare_grads(obs, rs, ref, y), ref.spec, rtol,
                                          atol) else True  # fmt: skip
    last = len(ref.spec.sizes) - 1
    top = [k for k in (f"W{last}", f"b{last}") if k in obs.grads and k in rs.grads]
    return bool(top) and all(_parallel(obs.grads[k], rs.grads[k], rtol, atol) for k in top)


def _bare_grads(obs: Obs, rs: RefStep, ref: Any, y: Any) -> dict:
    """The gradients of the network trained on its logits themselves: dL/dz = (z - y) / N at
    the output (y one-hot for class labels), half_sse's."""
    from nnparity.scratch.losses import losses
    from nnparity.scratch.spec_choice import Choice, choice

    spec = ref.spec
    bare = spec.replace(activations=(*spec.activations[:-1], Choice("identity", ())),
                        loss=choice(losses, "half_sse"))  # fmt: skip
    y = np.asarray(y)
    k = spec.sizes[-1]
    if not np.issubdtype(y.dtype, np.floating) and k > 1:
        y = np.eye(k)[y.astype(int).ravel()]
    y = np.asarray(y, np.float64).reshape(len(y), k)
    other = type(ref)(bare, ref.frozen, ref.l2s, False, ref.l2_biases)
    return other.run(obs.params, rs.a[0].numpy(), y).grads


def _steps_through(obs: Obs, grads: dict, spec: Any, rtol: float, atol: float) -> bool:
    """The learner's first step is the declared optimizer's (fresh state) on ``grads``, every
    parameter within the tolerance: PyTorch's form, or a form of it that is said as a note
    (eps before Adam's bias correction, eps inside RMSprop's root)."""
    from .evidence import to_tensors
    from .optim_sim import Sim

    P, G = to_tensors(obs.params), to_tensors(grads)
    for form in (None, "eps_hat", "eps_inside"):
        Q = Sim(spec.opt.name, dict(spec.opt.kwargs), form).step(P, G)
        got = [(np.asarray(obs.after[k], float), v.numpy()) for k, v in Q.items() if k in obs.after]
        scale = max((float(np.abs(q).max(initial=0.0)) for _, q in got), default=0.0) or 1.0
        if got and all(np.allclose(a, q, rtol=rtol, atol=atol * scale) for a, q in got):
            return True
    return False


def _parallel(g: np.ndarray, ref: np.ndarray, rtol: float, atol: float) -> bool:
    """``g`` = c ``ref`` for one c > 0, within the tolerance (a zero gradient: equal)."""
    if np.shape(g) != np.shape(ref):
        return False
    den = float(np.vdot(ref, ref))
    if den == 0.0:
        return bool(np.allclose(g, ref, rtol=rtol, atol=atol))
    c = float(np.vdot(g, ref)) / den
    return c > 0 and bool(np.allclose(g, c * ref, rtol=rtol, atol=atol * abs(c)))
