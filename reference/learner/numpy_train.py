"""The probe's training runs on NumPy: ``Reference.train``'s loop with scratch's network in
place of PyTorch's twin, for a dense network.

A probe trains tiny networks for thousands of steps, and there PyTorch's per-operation cost
(autograd, the optimizer's foreach calls) is most of the time: scratch's step costs a third
of it. Scratch's network is the twin's own spec resolved by the same names, held equal to
PyTorch's by the parity suite; here each run is also checked against PyTorch first: step 1
is taken by both (``Reference.train_torch`` for one step), and only where the loss and the
weights after it agree to round-off of the step does NumPy take the run, from its own step
1. Elsewhere (a layered network, a target form or optimizer setting scratch reads otherwise,
anything that raises) it gives None and PyTorch trains. The loop is the same: the batches in
order, then each pass reshuffled by the same seeded torch generator; the declared L2 terms
and clip (``clip_grad_value_`` then ``clip_grad_norm_``'s arithmetic); frozen parameters held;
the same stopping rule (``Reference.train`` says it). Its numbers are PyTorch's to round-off,
not to the bit: a run that stops on a criterion at the edge may stop a check earlier or later.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from nnparity.scratch import Choice, Spec, build, param_names

from .torch_side import Reference, Trained, held_to, reshuffled

Array = np.ndarray
# step 1's weights agree when |numpy - torch| <= AGREE[dtype] * (max |torch's step| + |w|)
AGREE = {np.dtype(np.float64): 1e-9, np.dtype(np.float32): 1e-5}
NORM_EPS = 1e-6  # clip_grad_norm_'s max_norm / (total_norm + 1e-6)


def train_numpy(
    ref: Reference,
    spec: Spec,
    params: dict[str, Array],
    batches: list[tuple[Array, Array]],
    steps: int,
    frozen: set[str],
    fits: Callable[[Array], bool],
    seconds: float | None = None,
) -> Trained | None:
    """``Reference.train`` on NumPy (see the module), or None where PyTorch must train."""
    if spec.layered or steps < 2 or not batches:
        return None
    try:
        run = _Run(ref, spec, params, frozen)
        data = [run.data(X, y) for X, y in batches]
        if not run.agrees(params, batches, data[0]):
            return None
    except Exception:  # noqa: BLE001 - anything scratch does not hold: PyTorch trains instead
        return None
    return run.train(data, steps, fits, seconds)


class _Run:
    def __init__(self, ref: Reference, spec: Spec, params: dict[str, Array], frozen: set[str]):
        self.ref, self.spec = ref, spec
        self.stable = spec.loss.name == "bce" and spec.activations[-1].name == "sigmoid"
        own = spec
        if self.stable:  # the loss from the logits, as PyTorch's run takes it
            own = spec.replace(
                activations=(*spec.activations[:-1], Choice("identity")),
                loss=Choice("bce_with_logits", {"reduction": ref.reduction}),
            )
        self.net = build(own)
        self.dtype = self.net.dtype
        self.names = param_names(spec)
        self.P0 = {
            n: np.array(params[n] if n in params else np.zeros(spec.sizes[int(n[1:])]), self.dtype)
            for n in self.names
        }
        self.moving = [n for n in self.names if n not in frozen]
        self.l2 = {n: lam for n in self.names if (lam := ref.l2_on(n))}

    def data(self, X: Array, y: Array) -> tuple[Array, Array]:
        """The batch as PyTorch's run holds it (``Reference.tensors``), as arrays."""
        dt = {np.dtype(np.float64): torch.float64, np.dtype(np.float32): torch.float32}
        Xt, yt = self.ref.tensors(X, y, dt[self.dtype])
        return Xt.numpy(), yt.numpy()

    def agrees(self, params: dict[str, Array], batches: list, first: tuple) -> bool:
        """Step 1 taken by both: the same loss and weights, to round-off of the step."""
        frozen = set(self.names) - set(self.moving)
        torch_run = self.ref.train_torch(self.spec, params, batches[:1], 1, frozen, _never)
        P, state = dict(self.P0), self.net.opt.init({n: self.P0[n] for n in self.moving})
        loss, P, _ = self.step(P, state, *first)
        return same_step(torch_run, loss, P, self.P0, self.dtype)

    def step(self, P: dict, state: Any, X: Array, y: Array) -> tuple[float, dict, Any]:
        """(loss, parameters after the step, optimizer state after it)."""
        loss, grads, _ = self.net.checked_loss_and_grads(P, X, y)
        for n, lam in self.l2.items():
            loss += lam / 2 * float((P[n] * P[n]).sum())
            grads[n] = grads[n] + lam * P[n]
        grads = {n: grads[n] for n in self.moving}
        value, norm = self.ref.clip
        if value:
            grads = {n: np.clip(g, -value, value) for n, g in grads.items()}
        if norm:
            total = np.linalg.norm([np.linalg.norm(g.ravel()) for g in grads.values()])
            coef = min(norm / (total + NORM_EPS), 1.0)
            grads = {n: g * self.dtype.type(coef) for n, g in grads.items()}
        new, state = self.net.opt.update(grads, state, {n: P[n] for n in self.moving})
        return loss, {**P, **new}, state

    def out(self, P: dict, X: Array) -> Array:
        """The network's output on ``X`` (the sigmoid of the logits under a stable bce)."""
        z = self.net.forward(P, X)[0]
        return 1.0 / (1.0 + np.exp(-z)) if self.stable else z

    def train(self, data: list, steps: int, fits: Callable, seconds: float | None) -> Trained:
        """``Reference.train``'s loop (its docstring says the rule)."""
        end = None if seconds is None else time.monotonic() + seconds
        X_all = np.concatenate([X for X, _ in data])
        y_all, sizes = np.concatenate([y for _, y in data]), [len(X) for X, _ in data]
        P, state = dict(self.P0), self.net.opt.init({n: self.P0[n] for n in self.moving})
        losses: list[float] = []
        fit, k, hold = False, 0, 0
        gen = torch.Generator().manual_seed(0)
        with np.errstate(all="ignore"):  # (inf and NaN as PyTorch makes them: the run stops)
            for k in range(1, steps + 1):
                if k > 1 and len(data) > 1 and (k - 1) % len(data) == 0:  # a new pass
                    data = reshuffled(X_all, y_all, sizes, gen)
                loss, P, state = self.step(P, state, *data[(k - 1) % len(data)])
                losses.append(float(loss))
                if not np.isfinite(losses[-1]):
                    break
                if k % 25 == 0 or k == steps:
                    fit = fits(self.out(P, X_all))
                    hold = held_to(fit, hold, k, steps)
                    if fit and k >= hold or end is not None and time.monotonic() > end:
                        break
            out = self.out(P, X_all).copy()
        return Trained(losses, {n: P[n].copy() for n in self.names}, out, fit and k >= hold, k)


def same_step(torch_run: Trained, loss: float, P: dict, P0: dict, dtype: np.dtype) -> bool:
    """Whether NumPy's step 1 (``loss``, weights ``P`` from ``P0``) is PyTorch's
    (``torch_run``): the loss to ``AGREE`` of itself, each weight to ``AGREE`` of its own
    size plus the largest move of its parameter."""
    tol = AGREE.get(np.dtype(dtype))
    if tol is None or not np.isfinite(loss):
        return False
    if abs(loss - torch_run.losses[0]) > tol * max(abs(torch_run.losses[0]), 1e-30):
        return False
    for n, p in P.items():
        t = torch_run.params[n]
        scale = float(np.abs(t - P0[n]).max(initial=0.0)) + np.abs(t)
        if t.shape != p.shape or not (np.abs(p - t) <= tol * scale).all():
            return False
    return True


def _never(_out: Array) -> bool:
    return False
