"""Whole-output candidates for dL/dz_L, computed per step in ``step_evidence.step_data``: under
cross-entropy, softmax normalised over the wrong axis, and a softmax layer of its own whose
backward keeps only its Jacobian's diagonal; under a sigmoid and binary cross-entropy, the
chain rule dL/da * a (1 - a) with a clipped to [eps, 1 - eps] in dL/da, eps added to its
denominators, a (1 - a) held above eps as PyTorch's BCELoss does, or a - y from an output
clipped in the forward pass, as Keras's epsilon (a safe log's epsilon: a
convention, not a bug, which only saturated samples show); under one output unit and a
target of numbers, the target vector (N,) broadcast against the (N, 1) output and the (N, N)
difference reduced back over its second axis: every output held to the mean target; under
any loss, the target's term left out of dL/dz (``p`` for ``p - y``)."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from .candidates import Deriv

Tensor = torch.Tensor


OUTPUT_DZ = {  # whole-output candidates for dL/dz_L, computed in ``step_evidence.step_data``
    "softmax_diag": Deriv(
        "softmax_diag",
        "softmax_jacobian",
        "only the diagonal of your softmax layer's Jacobian, dz = dp * p (1 - p), without the "
        "-p_i p_j terms that couple the classes",
        1.0,
    ),
    "softmax_diagflat": Deriv(
        "softmax_diagflat",
        "softmax_jacobian",
        "your softmax layer's Jacobian taken as diag(p) alone (np.diagflat(p), the - p p^T term "
        "left out): dz = dp * p",
        1.0,
    ),
    "softmax_axis": Deriv(
        "softmax_axis",
        "softmax_axis",
        "softmax normalised over the samples instead of over the classes (axis 0 instead of "
        "1, samples as rows)",
        1.0,
    ),
    "softmax_axis_shifted": Deriv(
        "softmax_axis_shifted",
        "softmax_axis",
        "softmax normalised over the samples instead of over the classes (axis 0 instead of "
        "1, samples as rows), of the scores less each row's maximum",
        1.0,
    ),
    "softmax_twice": Deriv(
        "softmax_twice",
        "derivative_of_output",
        "the softmax's Jacobian applied again to p - y, which already is cross-entropy's "
        "gradient through the softmax: dz = p (d - <d, p>) with d = p - y",
        1.0,
    ),
    "target_missing": Deriv(
        "target_missing",
        "target_missing",
        "the output's gradient without the target's term: dz = p where it is p - y (p the "
        "softmax or sigmoid output; y one-hot for classes)",
        1.0,
    ),
    "logits_dz": Deriv(
        "logits_dz",
        "derivative_of_output",
        "the output activation left out of dL/dz: z - y, the logits used where the "
        "probabilities belong (p - y, p = softmax(z) or sigmoid(z))",
        1.0,
    ),
    "target_columns": Deriv(
        "target_columns",
        "rows_mispaired",
        "every row's target taken at every sample's class: probs[:, y] and dscores[:, y] -= 1 "
        "(an (N, N) selection, every row holding 1 at each class the batch's labels name) "
        "where probs[np.arange(N), y] belongs",
        1.0,
    ),
    "target_mean": Deriv(
        "target_mean",
        "broadcast_shape",
        "out - y with y of shape (N,) against the (N, 1) output: an (N, N) array, reduced "
        "back over its second axis, so every output is held to the mean target",
        1.0,
    ),
}


CLIPS = tuple(10.0**-k for k in range(3, 17))  # the epsilons a safe log takes (Keras: 1e-3 too)


CLIP_FORMS = {  # what each safe-log candidate is, with its eps as {e}
    "ceclip": "dL/dp = -y / clip(p, {e}, 1) through the softmax's Jacobian (a safe log's "
    "epsilon in cross-entropy)",
    "ceout": "dz = clip(p, {e}, 1 - {e}) - y: p - y from a softmax clipped in the forward pass "
    "(Keras's epsilon)",
    "ceadd": "dL/dp = -y / (p + {e}) through the softmax's Jacobian (a safe log's epsilon added "
    "in cross-entropy, -log(p + {e}))",
    "out": "dz = clip(a, {e}, 1 - {e}) - y: a - y from an output clipped in the forward pass "
    "(Keras's epsilon)",
    "add": "dL/da = -(y / (a + {e}) - (1 - y) / (1 - a + {e})), times sigma'(z)",
    "clamp": "dL/da = (a - y) / max(a (1 - a), {e}) (PyTorch's BCELoss on sigmoid(z)), times "
    "sigma'(z)",
    "clip": "a clipped to [{e}, 1 - {e}] in dL/da = (a - y) / (a (1 - a)), times sigma'(z)",
    "cmask": "a clipped to [{e}, 1 - {e}] with the clip's own derivative, 0 where it binds "
    "(TensorFlow's clip_by_value under autodiff)",
}


def clip_deriv(key: str) -> Deriv:
    """The candidate of ``key``, "<form> <eps>" (``CLIP_FORMS``): a safe log's epsilon."""
    how, eps = key.split()
    return Deriv(key, None, CLIP_FORMS[how].format(e=f"{float(eps):g}"), 0.5)


def bce_clip_dz(
    z: Tensor, y: Tensor, eps: float, reduction: str, clamp: bool | str = False
) -> Tensor:
    """dL/da with a clipped to [eps, 1 - eps] (``clamp``: with a (1 - a) held above eps, as
    PyTorch's BCELoss; ``"add"``: eps added to each denominator), times a (1 - a) unclipped:
    binary cross-entropy's chain rule as a safe-log learner writes it; ``"out"``: a - y with
    a clipped (an output clipped in the forward pass)."""
    a = torch.sigmoid(z)
    if clamp == "out":  # a - y with a clipped in the forward pass (Keras's epsilon)
        q = a.clamp(eps, 1 - eps) - y
    elif clamp == "mask":  # through the clip's own derivative: 0 where it binds (autodiff's)
        q = (a - y) * ((a > eps) & (a < 1 - eps)).to(a.dtype)
    elif clamp == "add":  # eps added to each denominator: y / (a + eps), (1 - y) / (1 - a + eps)
        q = -(y / (a + eps) - (1 - y) / (1 - a + eps)) * (a * (1 - a))
    elif clamp:
        q = (a - y) / (a * (1 - a)).clamp_min(eps) * (a * (1 - a))
    else:
        p = a.clamp(eps, 1 - eps)
        q = (p - y) / (p * (1 - p)) * (a * (1 - a))
    n = {"mean": y.numel(), "batch": y.shape[0]}.get(reduction, 1)
    return q / n


def ce_clip_dz(
    z: Tensor, y: Tensor, eps: float, reduction: str, exact: Tensor, form: str = "clip",
    smoothing: float = 0.0,
) -> Tensor:  # fmt: skip
    """Cross-entropy's dL/dz as a safe-log learner writes it: dL/dp = -y / clip(p, eps, 1)
    through the softmax's full Jacobian, p (dp - <dp, p>); ``"out"``: p - y with p clipped to
    [eps, 1 - eps] in the forward pass; ``"add"``: dL/dp = -y / (p + eps), the gradient of
    -log(p + eps), through the Jacobian. A clip's rows that it does not touch take ``exact``
    (the twin's dL/dz, with the declared loss's own targets and weights): a clip differs from
    it only where a sample saturates, and a candidate must claim nothing else; an added eps
    moves every row, by eps / p relative, so it takes the declared targets (``smoothing``:
    cross_entropy's label_smoothing) itself."""
    p = torch.softmax(z, dim=1)
    t = y if y.is_floating_point() else F.one_hot(y, z.shape[1]).to(z.dtype)
    if form == "add" and smoothing:  # every row is claimed: the declared targets, smoothed
        t = t * (1 - smoothing) + smoothing / z.shape[1]
    if form == "out":
        q = p.clamp(eps, 1 - eps) - t
        clipped = ((p < eps) | (p > 1 - eps)).any(dim=1, keepdim=True)
    else:
        dp = -t / (p + eps) if form == "add" else -t / p.clamp(eps, 1.0)
        q = p * (dp - (dp * p).sum(1, keepdim=True))
        clipped = ((p < eps) & (t != 0)).any(dim=1, keepdim=True) | (form == "add")
    q = q / z.shape[0] if reduction in ("mean", "batch") else q
    return torch.where(clipped, q, exact)


def softmax_diag_dz(z: Tensor, y: Tensor, reduction: str) -> Tensor:
    """A separate softmax layer's backward with only its Jacobian's diagonal, under
    cross-entropy on its output p: dL/dp * p (1 - p) = -onehot (1 - p) (/ N)."""
    p = torch.softmax(z, dim=1)
    q = -F.one_hot(y, z.shape[1]).to(z.dtype) * (1 - p)
    return q / z.shape[0] if reduction in ("mean", "batch") else q


def softmax_diagflat_dz(z: Tensor, y: Tensor, reduction: str) -> Tensor:
    """A separate softmax layer's backward with its Jacobian taken as diag(p) (np.diagflat of
    the output, the outer product -p p^T dropped), under cross-entropy on its output p:
    dL/dp * p = -onehot (/ N) (review s24a F6: nnfs's Jacobian without its second term)."""
    q = -F.one_hot(y, z.shape[1]).to(z.dtype)
    return q / z.shape[0] if reduction in ("mean", "batch") else q


def softmax_twice_dz(dl_dz: Tensor, z: Tensor) -> Tensor:
    """Cross-entropy's dz = p - y (over its reduction's count) sent back through the softmax's
    Jacobian once more: p (d - <d, p>) with d = dl_dz."""
    p = torch.softmax(z, dim=1)
    return p * (dl_dz - (dl_dz * p).sum(1, keepdim=True))


def softmax_axis_dz(z: Tensor, y: Tensor, reduction: str, shifted: bool = False) -> Tensor:
    """(softmax over the batch - onehot) / N: cross-entropy's dz with the wrong axis;
    ``shifted``: of the scores less each row's maximum (CS231n's ``scores -= max(axis=1)``
    before the sum over axis 0, which a sum over the batch does not undo: review s24a F5)."""
    zs = z - z.max(dim=1, keepdim=True).values if shifted else z
    p = torch.softmax(zs, dim=0) - F.one_hot(y, z.shape[1]).to(z.dtype)
    return p / z.shape[0] if reduction in ("mean", "batch") else p


def target_mean_dz(dz_of: Callable[[Tensor], Tensor], y: Tensor) -> Tensor:
    """dL/dz with every target replaced by their mean: what (out - y).mean(axis=1) of an
    (N, 1) output minus a (N,) target gives where dL/dz is affine in y (MSE; binary
    cross-entropy's a - y); a sum over the axis is N times it (a scale the search fits)."""
    return dz_of(y.mean().expand_as(y))


def target_missing_dz(
    dz_of: Callable[[Tensor], Tensor], dl_dz: Tensor, y: Tensor, n: int, ce: bool
) -> Tensor:
    """dL/dz without the target's term: under cross-entropy ``(p - y) / n`` with the target's
    share added back, ``p / n`` (``n`` the samples under a mean, 1 under a sum); under any
    other loss dL/dz at a target of 0 (``sigmoid(z)`` for binary cross-entropy, ``2 a`` for
    MSE, each over its reduction's count)."""
    if ce:
        t = y if y.is_floating_point() else F.one_hot(y, dl_dz.shape[1]).to(dl_dz.dtype)
        return dl_dz + t / n
    return dz_of(torch.zeros_like(y))


def target_columns_dz(dl_dz: Tensor, y: Tensor, n: int) -> Tensor:
    """Cross-entropy's dz with ``dscores[:, y] -= 1`` for ``dscores[np.arange(N), y] -= 1``:
    (p - M) / n, M holding 1 in every row at each class of the batch's labels."""
    t = F.one_hot(y, dl_dz.shape[1]).to(dl_dz.dtype)
    seen = (t.sum(0, keepdim=True) > 0).to(dl_dz.dtype)
    return dl_dz + (t - seen) / n


def logits_dz(z: Tensor, y: Tensor, reduction: str, ce: bool) -> Tensor:
    """(z - y) over the reduction's count: cross-entropy's (``ce``) or binary cross-entropy's
    dL/dz with the logits in place of the softmax's (sigmoid's) probabilities, as a network
    written without its output activation computes it."""
    t = y if y.is_floating_point() else F.one_hot(y, z.shape[1]).to(z.dtype)
    n = {"mean": z.shape[0] if ce else t.numel(), "batch": z.shape[0]}.get(reduction, 1)
    return (z - t) / n
