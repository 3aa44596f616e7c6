"""The inputs a per-layer check feeds a learner's layer, and PyTorch autograd's answer.

Each layer kind (``KINDS``) draws ``Case`` records at several shapes and seeds, edge cases
included (ties in max-pool, padding, a stride that skips columns, a non-square kernel, a batch
of 2 for batchnorm, eval mode), in CS231n's layout: ``x`` (N, D) or (N, C, H, W), affine
weights (D, M), conv weights (F, C, HH, WW), the layer's dict (``bn_param``, ``conv_param``,
...) as CS231n's ``layers.py`` reads it. ``reference(case)`` returns PyTorch's forward output
and a function giving every gradient for an upstream gradient ``dout`` (float64 autograd).

Conventions (``LayerConventions``): batchnorm's running average is PyTorch's
(``new = (1 - m) old + m batch``, m = 0.1, the unbiased variance stored) unless the learner
declares CS231n's (``new = m old + (1 - m) batch``, m = 0.9, the biased variance stored);
dropout's ``p`` is the drop probability (PyTorch) unless declared the keep probability (CS231n).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

Array = np.ndarray
EPS = 1e-5
DROP = 0.3  # the drop probability the dropout cases use (keep 0.7)


@dataclass(frozen=True)
class LayerConventions:
    """``momentum``: ``"pytorch"`` or ``"cs231n"`` (batchnorm's running average);
    ``running_var``: ``"unbiased"`` (PyTorch) or ``"biased"`` (CS231n) variance stored;
    ``p``: ``"drop"`` (PyTorch) or ``"keep"`` (CS231n) meaning of dropout's ``p``."""

    momentum: str = "pytorch"
    running_var: str = "unbiased"
    p: str = "drop"

    def momentum_value(self) -> float:
        """The ``momentum`` the cases pass: 0.1 (PyTorch's), or 0.9 (CS231n's)."""
        return 0.9 if self.momentum == "cs231n" else 0.1

    def p_value(self) -> float:
        """The ``p`` the dropout cases pass for a drop probability of ``DROP``."""
        return 1 - DROP if self.p == "keep" else DROP


CS231N = LayerConventions("cs231n", "biased", "keep")
PYTORCH = LayerConventions()


@dataclass
class Case:
    """One call of the learner's layer: ``x``, the parameters in the order the forward takes
    them (after ``x``), the layer's dict (None: the forward takes none), a label naming what
    the case probes."""

    label: str
    x: Array
    params: dict[str, Array]
    layer_param: dict[str, Any] | None
    train: bool = True
    info: dict[str, Any] = field(default_factory=dict)


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(1000 + seed)


# -- affine --------------------------------------------------------------------------------


def affine_cases(conv: LayerConventions) -> list[Case]:
    out = []
    for seed, (xshape, m, label) in enumerate(
        [((4, 3), 5, "N=4, D=3, M=5"), ((3, 4), 4, "square W (4x4)"), ((2, 2, 3), 4, "x (2, 2, 3)")]
    ):
        r = _rng(seed)
        d = int(np.prod(xshape[1:]))
        out.append(
            Case(
                label,
                r.normal(size=xshape),
                {"w": r.normal(size=(d, m)), "b": r.normal(size=m)},
                None,
            )
        )
    return out


def affine_ref(case: Case) -> tuple[Array, Callable]:
    def f(x, w, b):
        return x.reshape(x.shape[0], -1) @ w + b

    return _autograd(f, case)


# -- batchnorm / layernorm -----------------------------------------------------------------


def _bn_param(conv: LayerConventions, d: int, r: np.random.Generator, train: bool) -> dict:
    return {
        "mode": "train" if train else "test",
        "eps": EPS,
        "momentum": conv.momentum_value(),
        "running_mean": r.normal(size=d),
        "running_var": 1 + r.random(d),
    }


def batchnorm_cases(conv: LayerConventions, spatial: bool = False) -> list[Case]:
    shapes = (
        [((4, 3, 3, 2), "N=4, C=3, 3x2"), ((2, 2, 2, 2), "batch of 2, C=2, 2x2")]
        if spatial
        else [((5, 4), "N=5, D=4"), ((4, 4), "N=D=4"), ((2, 3), "batch of 2")]
    )
    out = []
    for seed, (shape, label) in enumerate(shapes):
        r = _rng(10 + seed)
        c = shape[1]
        x = 2 * r.normal(size=shape) + r.normal(size=(1, c, *([1] * (len(shape) - 2))))
        p = {"gamma": 1 + r.random(c), "beta": r.normal(size=c)}
        out.append(Case(label, x, p, _bn_param(conv, c, r, True), info={"conv": conv}))
    if conv.momentum == "cs231n":  # its net starts each bn_param as {'mode': 'train'}
        bare = {k: v for k, v in out[0].layer_param.items() if not k.startswith("running")}
        first = "first call, no running statistics in bn_param"
        out.append(replace(out[0], label=first, layer_param=bare, info={"conv": conv, "bare": 1}))
    r = _rng(19)
    shape = (3, 2, 2, 2) if spatial else (3, 4)
    p = {"gamma": 1 + r.random(shape[1]), "beta": r.normal(size=shape[1])}
    x = r.normal(size=shape)
    out.append(Case("eval mode", x, p, _bn_param(conv, shape[1], r, False), train=False))
    return out


def bn_axes(x: Array) -> tuple[int, ...]:
    return (0,) if x.ndim == 2 else (0, 2, 3)


def _vec(x: Array) -> tuple[int, ...]:
    return (1, -1) if x.ndim == 2 else (1, -1, 1, 1)


def batchnorm_ref(case: Case) -> tuple[Array, Callable]:
    import torch.nn.functional as F

    bp = case.layer_param or {}

    def f(x, gamma, beta):
        import torch

        c = x.shape[1]  # a first call's statistics do not reach a training output
        rm = torch.as_tensor(bp.get("running_mean", np.zeros(c)))
        rv = torch.as_tensor(bp.get("running_var", np.ones(c)))
        return F.batch_norm(x, rm, rv, gamma, beta, training=case.train, eps=EPS)

    return _autograd(f, case)


def running_expected(case: Case) -> dict[str, Array]:
    """The running statistics after one training forward, by the declared conventions."""
    conv: LayerConventions = case.info["conv"]
    bp = case.layer_param or {}
    axes = bn_axes(case.x)
    mean = case.x.mean(axis=axes)
    var = case.x.var(axis=axes)
    m = case.x.size // case.x.shape[1]
    stored = var if conv.running_var == "biased" else var * m / (m - 1)
    mom = bp["momentum"]  # the value passed, read by the declared rule
    keep = mom if conv.momentum == "cs231n" else 1 - mom
    return {
        "running_mean": keep * bp["running_mean"] + (1 - keep) * mean,
        "running_var": keep * bp["running_var"] + (1 - keep) * stored,
    }


def layernorm_cases(conv: LayerConventions) -> list[Case]:
    out = []
    for seed, (shape, label) in enumerate(
        [((3, 5), "N=3, D=5"), ((4, 4), "N=D=4"), ((2, 6), "batch of 2")]
    ):
        r = _rng(20 + seed)
        x = 2 * r.normal(size=shape) + r.normal(size=(shape[0], 1))
        p = {"gamma": 1 + r.random(shape[1]), "beta": r.normal(size=shape[1])}
        out.append(Case(label, x, p, {"eps": EPS}))
    return out


def layernorm_ref(case: Case) -> tuple[Array, Callable]:
    import torch.nn.functional as F

    def f(x, gamma, beta):
        return F.layer_norm(x, (x.shape[1],), gamma, beta, eps=EPS)

    return _autograd(f, case)


# -- conv and pool -------------------------------------------------------------------------


def conv_cases(conv: LayerConventions) -> list[Case]:
    specs = [  # x shape, w shape, stride, pad, label
        ((2, 3, 5, 5), (2, 3, 3, 3), 1, 1, "3x3 kernel, stride 1, pad 1"),
        ((2, 2, 5, 5), (3, 2, 3, 3), 2, 1, "stride 2, pad 1"),
        ((2, 1, 8, 8), (2, 1, 2, 2), 3, 0, "stride 3 skips columns, pad 0"),
        ((1, 2, 5, 6), (2, 2, 3, 2), 1, 0, "non-square kernel 3x2, pad 0"),
    ]
    out = []
    for seed, (xs, ws, s, pad, label) in enumerate(specs):
        r = _rng(30 + seed)
        p = {"w": r.normal(size=ws), "b": r.normal(size=ws[0])}
        out.append(Case(label, r.normal(size=xs), p, {"stride": s, "pad": pad}))
    return out


def conv_ref(case: Case) -> tuple[Array, Callable]:
    import torch.nn.functional as F

    cp = case.layer_param or {}

    def f(x, w, b):
        return F.conv2d(x, w, b, stride=cp["stride"], padding=cp["pad"])

    return _autograd(f, case)


def pool_cases(conv: LayerConventions) -> list[Case]:
    specs = [  # x shape, (ph, pw, stride), ties, label
        ((2, 2, 4, 4), (2, 2, 2), False, "2x2 windows, stride 2"),
        ((2, 1, 5, 5), (3, 3, 1), False, "overlapping 3x3 windows, stride 1"),
        ((1, 2, 4, 6), (2, 3, 2), True, "ties, 2x3 windows"),
        ((1, 1, 5, 5), (3, 3, 2), True, "ties in overlapping windows"),
    ]
    out = []
    for seed, (xs, (ph, pw, s), ties, label) in enumerate(specs):
        r = _rng(40 + seed)
        x = r.integers(0, 3, size=xs).astype(float) if ties else r.normal(size=xs)
        out.append(Case(label, x, {}, {"pool_height": ph, "pool_width": pw, "stride": s}))
    return out


def pool_ref(case: Case) -> tuple[Array, Callable]:
    import torch.nn.functional as F

    pp = case.layer_param or {}

    def f(x):
        return F.max_pool2d(x, (pp["pool_height"], pp["pool_width"]), pp["stride"])

    return _autograd(f, case)


# -- dropout -------------------------------------------------------------------------------


def dropout_cases(conv: LayerConventions) -> list[Case]:
    out = []
    for seed, (train, label) in enumerate(
        [(True, "train, seed 0"), (True, "train, seed 1"), (False, "eval mode")]
    ):
        r = _rng(50 + seed)
        x = r.normal(size=(200, 250))  # 50,000 draws: a kept fraction 1.5 points off shows
        x[x == 0] = 1.0  # a kept element is told from a dropped one by out != 0
        dp = {"p": conv.p_value(), "mode": "train" if train else "test", "seed": 123 + seed}
        out.append(Case(label, x, {}, dp, train=train, info={"keep": 1 - DROP}))
    return out


# -- autograd ------------------------------------------------------------------------------


def _autograd(f: Callable, case: Case) -> tuple[Array, Callable]:
    """PyTorch's output of ``f(x, *params)`` in float64 and ``grads(dout)`` giving
    ``{"dx": ..., "d<param>": ...}`` by autograd."""
    import torch

    leaves = [torch.tensor(case.x, dtype=torch.float64, requires_grad=True)]
    leaves += [
        torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in case.params.values()
    ]
    out = f(*leaves)

    def grads(dout: Array) -> dict[str, Array]:
        gs = torch.autograd.grad(out, leaves, torch.as_tensor(dout), retain_graph=True)
        names = ["dx", *(f"d{k}" for k in case.params)]
        return {n: g.detach().numpy() for n, g in zip(names, gs, strict=True)}

    return out.detach().numpy(), grads
