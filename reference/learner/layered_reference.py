"""The PyTorch side of a layered learner check: the layered twin (``Twin``, float64) evaluated
at the learner's weights, running statistics and dropout masks, in training mode (output, loss,
gradients, the running statistics after the pass in the declared convention) or in eval mode;
and the same with one layer replaced by a named wrong version (``layered_variants``).

Running statistics after a training pass, from the batch statistics of each batchnorm's input
(mean and biased variance ``v`` over the batch, and positions for channels):
PyTorch ``(1 - mom) r + mom * v * n / (n - 1)``; CS231n ``m r + (1 - m) v`` with m = 1 - mom.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from nnparity.reference.twin import Twin, to_numpy
from nnparity.scratch import build

from .layered_decl import LayeredDecl

Array = np.ndarray


@dataclass
class LStep:
    out: Array
    loss: float
    grads: dict[str, Array]
    buffers: dict[str, Array]


class LayeredRef:
    """The float64 twin of ``decl.spec``; module index and kind of every numbered layer."""

    def __init__(self, decl: LayeredDecl):
        self.decl = decl
        self.twin = Twin(decl.spec)
        self.net = build(decl.spec)
        self.index = {s.number: i for i, s in enumerate(self.net.slots) if s.number is not None}
        self.kind = {
            s.number: c.name
            for s, c in zip(self.net.slots, decl.spec.stack, strict=True)
            if s.number is not None
        }
        self.names = self.twin.names

    def tensors(self, X: Array, y: Array) -> tuple[torch.Tensor, torch.Tensor]:
        Xt = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float64))
        yt = torch.from_numpy(np.ascontiguousarray(y))
        return Xt, yt if yt.dtype == torch.int64 else yt.to(torch.float64)

    def run(
        self,
        P: dict[str, Array],
        buffers: dict[str, Array],
        X: Array,
        y: Array,
        masks: dict[str, Array],
        replace: dict[int, nn.Module] | None = None,
    ) -> LStep:
        """Training mode at ``P`` with ``buffers`` and ``masks``; ``replace``: module index ->
        a module computed instead (a named wrong version of that layer)."""
        tw = self.twin
        tw.set_params({n: np.asarray(v, dtype=np.float64) for n, v in P.items()})
        tw.set_buffers({n: np.asarray(v, dtype=np.float64) for n, v in buffers.items()})
        tw.module.train()
        if tw.dropouts:
            tw.set_masks({n: np.asarray(m) for n, m in masks.items()})
        seen: dict[int, torch.Tensor] = {}
        hooks = [
            tw.module[i].register_forward_pre_hook(
                lambda mod, args, i=i: seen.__setitem__(i, args[0].detach())
            )
            for n, i in self.index.items()
            if self.kind[n] == "batchnorm"
        ]
        try:
            mods = list(tw.module)
            for i, m in (replace or {}).items():
                mods[i] = m
            Xt, yt = self.tensors(X, y)
            a = Xt
            for m in mods:
                a = m(a)
            loss = tw.loss_fn(a, yt)
            if self.decl.l2:  # CS231n's reg: l2/2 * sum ||W||^2 over the weights (not b, gamma)
                ws = [tw.params[n] for n in self.names if n.startswith("W")]
                loss = loss + self.decl.l2 / 2 * sum((w * w).sum() for w in ws)
            gs = torch.autograd.grad(loss, [tw.params[n] for n in self.names], allow_unused=True)
        finally:
            for h in hooks:
                h.remove()
        grads = {
            n: to_numpy(n, g) if g is not None else np.zeros_like(P[n])
            for n, g in zip(self.names, gs, strict=True)
        }
        return LStep(
            a.detach().numpy().copy(), float(loss.detach()), grads, self.running(buffers, seen)
        )

    def influence(
        self, P: dict, B: dict, X: Array, y: Array, masks: dict, name: str, seed: int = 0
    ) -> Array:
        """|d s / d bm| per element of dropout ``name``'s backward mask ``bm``, with ``s`` a
        random projection of the gradients of the layers below it: non-zero exactly where
        the mask's value reaches a gradient (almost surely)."""
        n = int(name[4:])
        i = self.index[n]
        d = self.twin.module[i]
        keep = 1.0 - d.p
        fwd = torch.from_numpy(np.asarray(masks[name], dtype=np.float64)) / keep
        bm = fwd.clone().requires_grad_(True)
        mod = _Lambda(lambda x: x * bm + (x * (fwd - bm)).detach())
        below = [m for m in self.names if int("".join(filter(str.isdigit, m))) < n]
        if not below:
            return np.zeros(fwd.shape)
        tw = self.twin
        tw.set_params({k: np.asarray(v, dtype=np.float64) for k, v in P.items()})
        tw.set_buffers({k: np.asarray(v, dtype=np.float64) for k, v in B.items()})
        tw.module.train()
        tw.set_masks({k: np.asarray(m) for k, m in masks.items()})
        a, yt = self.tensors(X, y)
        for j, m in enumerate(tw.module):
            a = mod(a) if j == i else m(a)
        loss = tw.loss_fn(a, yt)
        gs = torch.autograd.grad(loss, [tw.params[k] for k in below], create_graph=True)
        rng = np.random.default_rng(seed)
        s = sum((g * torch.from_numpy(rng.standard_normal(tuple(g.shape)))).sum() for g in gs)
        (dbm,) = torch.autograd.grad(s, bm, allow_unused=True)
        return np.zeros(fwd.shape) if dbm is None else np.abs(dbm.detach().numpy())

    def running(self, before: dict[str, Array], seen: dict[int, torch.Tensor]) -> dict[str, Array]:
        """The running statistics after the pass, in the declared convention."""
        out = {}
        for n, i in self.index.items():
            if self.kind[n] != "batchnorm" or i not in seen:
                continue
            x = seen[i].numpy()
            axes = (0,) if x.ndim == 2 else (0, 2, 3)
            cnt = x.size // x.shape[1]
            mean, var = x.mean(axis=axes), x.var(axis=axes)
            out.update(running_update(self.decl, before, n, mean, var, cnt))
        return out

    def eval(self, P: dict[str, Array], buffers: dict[str, Array], X: Array) -> Array:
        tw = self.twin
        tw.set_params({n: np.asarray(v, dtype=np.float64) for n, v in P.items()})
        tw.set_buffers({n: np.asarray(v, dtype=np.float64) for n, v in buffers.items()})
        return tw.forward(self.tensors(X, np.zeros(1))[0], mode="eval")

    def momentum(self, number: int) -> float:
        return float(self.twin.module[self.index[number]].momentum)


class _Lambda(nn.Module):
    def __init__(self, f):  # noqa: ANN001
        super().__init__()
        self.f = f

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.f(x)


def running_update(
    decl: LayeredDecl,
    before: dict[str, Array],
    n: int,
    mean: Array,
    var: Array,
    cnt: int,
    running: str | None = None,
    biased: bool | None = None,
) -> dict[str, Array]:
    """running_mean{n}, running_var{n} after one batch with ``mean`` and the biased ``var``
    of ``cnt`` values per feature, in ``running`` ('torch' | 'cs231n') with the ``biased`` or
    unbiased variance (default: the declared ones)."""
    mom = dict(decl.spec.stack[_slot_index(decl, n)].params).get("momentum", 0.1)
    running = decl.running if running is None else running
    biased = decl.biased if biased is None else biased
    v = var if biased else var * cnt / max(cnt - 1, 1)
    rm, rv = before[f"running_mean{n}"], before[f"running_var{n}"]
    if running == "cs231n":
        m = 1.0 - mom
        return {
            f"running_mean{n}": m * rm + (1 - m) * mean,
            f"running_var{n}": m * rv + (1 - m) * v,
        }
    return {
        f"running_mean{n}": (1 - mom) * rm + mom * mean,
        f"running_var{n}": (1 - mom) * rv + mom * v,
    }


def _slot_index(decl: LayeredDecl, n: int) -> int:
    net = build(decl.spec)
    return next(i for i, s in enumerate(net.slots) if s.number == n)
