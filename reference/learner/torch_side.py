"""The PyTorch side of a learner check: the twin (``nnparity.reference.twin.Twin``) of the declared
network evaluated at the learner's parameters, a shadow optimizer fed with given gradients, and
free training runs for the model-limitation probes.

A layer declared without bias keeps a zero bias with ``requires_grad=False`` (so no gradient and
no update touch it). For a sigmoid output with ``bce``, the reference gradient is the exact one,
computed from the logits (``binary_cross_entropy_with_logits``): the same function as BCELoss on
sigmoid outputs, without BCELoss's 1e-12 clamp, which makes torch's own gradient wrong for
|z| > 27.6 (CONVENTIONS.md section 2) and would blame a learner for being exact.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from nnparity.reference.twin import Twin, layout, to_numpy
from nnparity.scratch import Spec

from .bare import no_grads, step_of, through
from .conventions import l2_on, top

Array = np.ndarray


@dataclass
class RefStep:
    out: Array
    loss: float
    grads: dict[str, Array]
    z: list[torch.Tensor]  # z[l] for l = 1..L (z[0] is None)
    a: list[torch.Tensor]  # a[0] = X, a[l] = f(z[l])


class Reference:
    """The twin of ``spec`` with the biases in ``frozen`` held at zero; ``l2`` adds
    l2/2 * sum ||W_l||^2 (weights only) to the loss, ``l2_bias`` l2_bias/2 * sum ||b_l||^2;
    ``softmax_out``: the output shown is softmax of the (identity) last layer, the loss is
    still taken on the logits; ``clip`` (value, norm): the gradients clipped before each step
    (``Conventions.clip``)."""

    def __init__(
        self,
        spec: Spec,
        frozen: set[str],
        l2: float | tuple = 0.0,
        softmax_out: bool = False,
        l2_bias: float | tuple = 0.0,
        clip: tuple[float, float] = (0.0, 0.0),
    ):
        self.spec, self.frozen = spec, set(frozen)
        self.l2s, self.l2_biases = l2, l2_bias  # as declared: one number, or one per layer
        self.l2, self.l2_bias = top(l2), top(l2_bias)  # one number each (the largest)
        self.clip = clip
        self.clip_eps = 1e-6  # the norm clip's: torch's total_norm + 1e-6 (0: the textbook's)
        self.textbook_clip = False  # a step of the learner's was the textbook clip's (update)
        self.softmax_out = softmax_out  # the forward output compared is softmax(logits)
        self.logits_out = False  # ... or the logits themselves (``output_form``)
        self.sigmoid_out = False  # ... or sigmoid of them, under bce_with_logits (``output_form``)
        self.clip_out = 0.0  # ... or clipped to [eps, 1 - eps], a safe log's (``output_form``)
        self.twin = self._twin(spec)
        self.shadow = self._twin(spec)
        L = spec.n_layers
        self.linears = [self.twin.module[2 * i] for i in range(L)]
        self.acts = [self.twin.module[2 * i + 1] for i in range(L)]
        self.stable = spec.loss.name == "bce" and spec.activations[-1].name == "sigmoid"
        self.reduction = spec.loss.kwargs.get("reduction", "mean")

    def l2_on(self, name: str) -> float:
        """The declared L2 coefficient on parameter ``name`` (``conventions.l2_on``)."""
        return l2_on(name, self.l2s, self.l2_biases)

    def like(self, spec: Spec) -> Reference:
        """This twin's conventions (frozen biases, penalties, output form) on ``spec``."""
        other = Reference(spec, self.frozen, self.l2s, self.softmax_out, self.l2_biases, self.clip)
        other.clip_eps = self.clip_eps
        return other

    def _twin(self, spec: Spec) -> Twin:
        twin = Twin(spec)
        for n in self.frozen & set(twin.params):
            twin.params[n].requires_grad_(False)
        return twin

    def tensors(self, X: Array, y: Array, dtype: torch.dtype | None = None) -> tuple:
        Xt, yt = self.twin.tensors(X, y)
        dt = dtype or self.twin.dtype
        return Xt.to(dt), yt if yt.dtype == torch.int64 else yt.to(dt)

    def loss_of(self, out_or_z: torch.Tensor, y: torch.Tensor, logits: bool) -> torch.Tensor:
        """The declared loss; from the logits ``z_L`` for sigmoid + bce when ``logits``."""
        if logits:
            return _bce_logits(out_or_z, y, self.reduction)
        return self.twin.loss_fn(out_or_z, y)

    def penalty(self, twin: Twin) -> torch.Tensor | float:
        """l2/2 * sum ||W_l||^2 over the weights of ``twin`` plus l2_bias/2 * sum ||b_l||^2
        over its biases (0.0 without either)."""
        if not (self.l2 or self.l2_bias):
            return 0.0
        terms = [(self.l2_on(n), p) for n, p in twin.params.items()]
        return sum(lam / 2 * (p * p).sum() for lam, p in terms if lam)

    def run(self, params: dict[str, Array], X: Array, y: Array, literal: bool = False) -> RefStep:
        """Forward (keeping every z and a), loss and gradients at ``params``; ``literal``: the
        declared loss module itself on the outputs (BCELoss on a sigmoid: its clamped log)."""
        twin = self.twin
        twin.set_params(params)
        Xt, yt = self.tensors(X, y)
        z: list = [None]
        a = [Xt]
        for lin, act in zip(self.linears, self.acts, strict=True):
            z.append(lin(a[-1]))
            a.append(act(z[-1]))
        stable = self.stable and not literal
        loss = self.loss_of(z[-1] if stable else a[-1], yt, stable) + self.penalty(twin)
        names = [n for n in twin.names if n not in self.frozen]
        gs = torch.autograd.grad(loss, [twin.params[n] for n in names], allow_unused=True)
        grads = {
            n: to_numpy(n, g) if g is not None else np.zeros_like(params[n])
            for n, g in zip(names, gs, strict=True)
        }
        out = torch.softmax(a[-1], dim=1) if self.softmax_out else a[-1]
        out = torch.sigmoid(out) if self.sigmoid_out else out
        out = z[-1] if self.logits_out else out
        out = out.clamp(self.clip_out, 1 - self.clip_out) if self.clip_out else out
        return RefStep(
            out.detach().numpy().copy(),
            float(loss.detach()),
            grads,
            [None, *(t.detach() for t in z[1:])],
            [t.detach() for t in a],
        )

    def reset_shadow(self) -> None:
        """The twin's optimizer as before its first step: its state, and an lr_decay's count."""
        opt = self.shadow.optimizer
        opt.state.clear()
        if hasattr(opt, "lr_steps"):  # (torch_lr.scheduled)
            opt.lr_steps = 0

    def update(
        self, params: dict[str, Array], grads: dict[str, Array], after: dict | None = None
    ) -> dict[str, Array]:
        """One step of the declared torch optimizer from ``params`` with the given gradients
        (the shadow's optimizer state carries over between calls). Under a norm clip, where
        the learner's post-step weights ``after`` are given, the clip is PyTorch's (the norm
        + 1e-6) or the textbook's (the norm alone: TensorFlow's, Keras's), whichever step is
        nearer them: both are the clip, 1e-6 / ||g|| apart (review s34 F1, s35 F1-F2)."""
        sh = self.shadow
        sh.set_params(params)
        for n, p in sh.params.items():
            p.grad = (
                None
                if n in self.frozen
                else torch.from_numpy(np.ascontiguousarray(layout(n, grads[n]))).to(p.dtype)
            )
        if not (self.clip[1] and after is not None):  # no norm clip's form to choose
            if any(self.clip):  # clipped in place: on copies, never the caller's arrays
                for p in sh.params.values():
                    p.grad = None if p.grad is None else p.grad.clone()
                clipped(sh.params.values(), self.clip, self.clip_eps)
            sh.optimizer.step()
            return sh.get_params()
        raw = {n: None if p.grad is None else p.grad.clone() for n, p in sh.params.items()}
        state = copy.deepcopy(sh.optimizer.state_dict())
        count = getattr(sh.optimizer, "lr_steps", None)  # a schedule's count (torch_lr), which
        steps = []  # the state dict does not hold: each form steps from it (review s46 F1)
        for eps in (self.clip_eps, 0.0):
            sh.set_params(params)
            sh.optimizer.load_state_dict(copy.deepcopy(state))
            if count is not None:
                sh.optimizer.lr_steps = count  # type: ignore[attr-defined]
            for n, p in sh.params.items():  # clipped in place: on copies of the gradients
                p.grad = None if raw[n] is None else raw[n].clone()
            clipped(sh.params.values(), self.clip, eps)
            sh.optimizer.step()
            out = sh.get_params()
            far = max((float(np.abs(np.asarray(after[k]) - v).max()) for k, v in out.items()
                       if k in after), default=0.0)  # fmt: skip
            steps.append((far, eps, out, copy.deepcopy(sh.optimizer.state_dict())))
        far, eps, out, kept = min(steps, key=lambda t: t[0])  # (PyTorch's first: ties keep it)
        scale = max((float(np.abs(v).max(initial=0.0)) for v in out.values()), default=1.0)
        near = far <= 1e-9 * max(scale, 1e-300)  # (a wrong clip's step is near neither)
        self.textbook_clip = self.textbook_clip or (eps == 0.0 and far < steps[0][0] and near)
        sh.set_params(out)
        sh.optimizer.load_state_dict(kept)
        if count is not None:
            sh.optimizer.lr_steps = count + 1  # type: ignore[attr-defined]
        return out

    def train(
        self,
        spec: Spec,
        params: dict[str, Array],
        batches: list[tuple[Array, Array]],
        steps: int,
        frozen: set[str],
        fits: Callable[[Array], bool],
        seconds: float | None = None,
    ) -> Trained:
        """``train_torch``'s run, on NumPy where scratch's network takes step 1 as PyTorch's
        does (``numpy_train``: a third of the per-step cost), else on PyTorch."""
        from .numpy_train import train_numpy

        run = train_numpy(self, spec, params, batches, steps, frozen, fits, seconds)
        if run is None:
            run = self.train_torch(spec, params, batches, steps, frozen, fits, seconds)
        return run

    def train_torch(
        self,
        spec: Spec,
        params: dict[str, Array],
        batches: list[tuple[Array, Array]],
        steps: int,
        frozen: set[str],
        fits: Callable[[Array], bool],
        seconds: float | None = None,
    ) -> Trained:
        """Train a twin of ``spec`` from ``params`` for up to ``steps`` steps, cycling through
        ``batches`` (in order, then each later pass over the rows reshuffled into batches of
        the same sizes, seeded, as a training loop's epochs: data stored class by class would
        otherwise hand each batch one class); stop early once ``fits(output on all data)`` has
        held from its first check at step k to step max(2k, steps / 2) (a run that touches the
        criterion and swings away is no fit), or, unfitted, once ``seconds`` of wall time are
        spent."""
        end = None if seconds is None else time.monotonic() + seconds
        twin = Twin(spec)
        for n in frozen:
            twin.params[n].requires_grad_(False)
        twin.set_params({n: params.get(n, np.zeros(twin.params[n].shape[0])) for n in twin.names})
        stable = spec.loss.name == "bce" and spec.activations[-1].name == "sigmoid"
        data = [self.tensors(Xb, yb, twin.dtype) for Xb, yb in batches]
        X_all = torch.cat([d[0] for d in data])
        y_all, sizes = torch.cat([d[1] for d in data]), [len(d[0]) for d in data]
        body, head = list(twin.module)[:-1], twin.module[-1]
        for group in twin.optimizer.param_groups:  # one call per operation for all the
            if "foreach" in group:  # parameters: the same numbers (test_bare), less overhead
                group["foreach"] = True
        params, step = list(twin.params.values()), step_of(twin.optimizer)
        losses, fit, k, hold = [], False, 0, 0
        gen = torch.Generator().manual_seed(0)
        for k in range(1, steps + 1):
            if k > 1 and len(data) > 1 and (k - 1) % len(data) == 0:  # a new pass: reshuffled
                data = reshuffled(X_all, y_all, sizes, gen)
            Xb, yb = data[(k - 1) % len(data)]
            no_grads(params)
            zb = through(body, Xb)
            loss = (
                _bce_logits(zb, yb, self.reduction)
                if stable
                else twin.loss_fn(through([head], zb), yb)
            ) + self.penalty(twin)
            loss.backward()
            clipped(twin.params.values(), self.clip, self.clip_eps)
            step()
            losses.append(float(loss.detach()))
            if not np.isfinite(losses[-1]):
                break
            if k % 25 == 0 or k == steps:
                with torch.no_grad():
                    fit = fits(through(twin.module, X_all).numpy())
                hold = held_to(fit, hold, k, steps)
                if fit and k >= hold or end is not None and time.monotonic() > end:
                    break
        with torch.no_grad():
            out = twin.module(X_all).numpy().copy()
        return Trained(losses, twin.get_params(), out, fit and k >= hold, k)


def held_to(fit: bool, hold: int, k: int, steps: int) -> int:
    """The step a fit first seen at check step k must hold to: max(2k, steps / 2), at most
    ``steps`` (0 once it fails: a run that touches the criterion and swings away is no fit)."""
    return (hold or min(steps, max(2 * k, steps // 2))) if fit else 0


def reshuffled(X: Any, y: Any, sizes: list[int], gen: torch.Generator) -> list[tuple[Any, Any]]:
    """A new pass over the rows of ``X``, ``y`` (tensors or arrays) in batches of ``sizes``,
    in the order ``gen`` draws (seeded: each pass as a training loop's epoch)."""
    perm = torch.randperm(len(X), generator=gen)
    if isinstance(X, np.ndarray):
        perm, cuts = perm.numpy(), np.cumsum(sizes)[:-1]
        return list(zip(np.split(X[perm], cuts), np.split(y[perm], cuts), strict=True))
    return list(zip(X[perm].split(sizes), y[perm].split(sizes), strict=True))


@dataclass
class Trained:
    losses: list[float]
    params: dict[str, Array]
    out: Array
    fit: bool
    steps: int


def _bce_logits(z: torch.Tensor, y: torch.Tensor, reduction: str) -> torch.Tensor:
    """PyTorch's stable BCE from the logits, with the 'batch' reduction too (over the rows)."""
    if reduction == "batch":
        return F.binary_cross_entropy_with_logits(z, y, reduction="sum") / z.shape[0]
    return F.binary_cross_entropy_with_logits(z, y, reduction=reduction)


def clipped(params: Any, clip: tuple[float, float], eps: float = 1e-6) -> None:
    """Clip the gradients of ``params`` in place: each element to +-value, then all of them
    together to a 2-norm of at most norm (torch.nn.utils' own functions; 0: no clip), with
    ``eps`` 0 as TensorFlow, Keras and the textbooks do it, g * norm / max(||g||, norm)."""
    value, norm = clip
    if not (value or norm):
        return
    grads = [p for p in params if p.grad is not None]
    if value:
        torch.nn.utils.clip_grad_value_(grads, value)
    if norm and eps:
        torch.nn.utils.clip_grad_norm_(grads, norm)
    elif norm:
        total = torch.linalg.vector_norm(
            torch.stack([torch.linalg.vector_norm(p.grad) for p in grads])
        )
        if total > norm:
            for p in grads:
                p.grad.mul_(norm / total)
