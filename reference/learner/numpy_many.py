"""Several starts of one dense network trained at once on NumPy: ``many_starts.train_many``'s
run with scratch's arithmetic (``numpy_train`` says why NumPy, and how it is held to PyTorch).

The K starts are stacked on a leading axis: each layer's product is a batched matmul, the
activations act on the stack's rows (a softmax on each row's units), the declared optimizer
(scratch's: elementwise) on the stack, and the loss and its gradient are taken start by
start. Step 1 of every start is checked against PyTorch's
(``Reference.train_torch``) first; where one differs beyond round-off, or the spec is one this
does not hold (layered, a clip by norm: a norm over each start's own gradients), it gives
None and PyTorch trains them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial

import numpy as np
import torch

from .many_starts import Stops
from .numpy_train import _never, _Run, same_step
from .torch_side import Reference, Trained, reshuffled

Array = np.ndarray


def train_many_numpy(
    ref: Reference,
    spec: object,
    starts: list[dict[str, Array]],
    batches: list[tuple[Array, Array]],
    steps: int,
    frozen: set[str],
    fits: Callable[[Array], bool],
    seconds: float | None = None,
) -> list[Trained] | None:
    """``train_many`` on NumPy (see the module), or None where PyTorch must train."""
    if spec.layered or ref.clip[1] or len(starts) < 2 or steps < 2 or not batches:
        return None
    try:
        runs = [_Run(ref, spec, P, frozen) for P in starts]
        many = _Many(runs)
        data = [runs[0].data(X, y) for X, y in batches]
        if not many.agrees(starts, batches, data[0]):
            return None
    except Exception:  # noqa: BLE001 - anything scratch does not hold: PyTorch trains instead
        return None
    return list(many.train(data, steps, fits, seconds))


class _Many:
    def __init__(self, runs: list[_Run]):
        one = runs[0]
        self.one, self.net, self.names, self.moving = one, one.net, one.names, one.moving
        self.P0 = {n: np.stack([r.P0[n] for r in runs]) for n in self.names}
        self.K = len(runs)

    def step(self, P: dict, state: object, X: Array, y: Array) -> tuple[Array, dict, object]:
        """(each start's loss, the stacked parameters after the step, the optimizer state)."""
        net, one, L = self.net, self.one, self.one.spec.n_layers
        bias = one.spec.bias
        a, cache = X, []
        for l, act in enumerate(net.acts, start=1):
            z = a @ P[f"W{l}"]
            if bias:
                z = z + P[f"b{l}"][:, None, :]
            cache.append((a, z, _rows(act.f, z)))
            a = cache[-1][2]
        losses, douts = np.empty(self.K), np.empty_like(a)
        for k in range(self.K):  # the loss start by start: its value and reduction its own
            losses[k], douts[k] = net.loss_fn.value_and_grad(a[k], y)
        grads, da = {}, douts
        for l in range(L, 0, -1):
            a_prev, z, a_l = cache[l - 1]
            dz = _rows(net.acts[l - 1].vjp, z, a_l, da)
            grads[f"W{l}"] = np.swapaxes(a_prev, -1, -2) @ dz
            if bias:
                grads[f"b{l}"] = dz.sum(axis=1)
            if l > 1:
                da = dz @ np.swapaxes(P[f"W{l}"], -1, -2)
        for n, lam in one.l2.items():
            p = P[n]
            losses = losses + lam / 2 * (p * p).reshape(self.K, -1).sum(1)
            grads[n] = grads[n] + lam * p
        value = one.ref.clip[0]
        grads = {n: np.clip(grads[n], -value, value) if value else grads[n] for n in self.moving}
        new, state = net.opt.update(grads, state, {n: P[n] for n in self.moving})
        return losses, {**P, **new}, state

    def out(self, P: dict, X: Array) -> Array:
        """Each start's output on ``X``: (K, rows, outputs)."""
        a = X
        for l, act in enumerate(self.net.acts, start=1):
            z = a @ P[f"W{l}"]
            a = _rows(act.f, z + P[f"b{l}"][:, None, :] if self.one.spec.bias else z)
        return 1.0 / (1.0 + np.exp(-a)) if self.one.stable else a

    def agrees(self, starts: list[dict[str, Array]], batches: list, first: tuple) -> bool:
        """Step 1 of every start taken here and by PyTorch: the same losses and weights."""
        frozen = set(self.names) - set(self.moving)
        losses, P, _ = self.step(dict(self.P0), self._init(), *first)
        for k, start in enumerate(starts):
            t = self.one.ref.train_torch(self.one.spec, start, batches[:1], 1, frozen, _never)
            mine, mine0 = {n: P[n][k] for n in P}, {n: self.P0[n][k] for n in self.P0}
            if not same_step(t, float(losses[k]), mine, mine0, self.net.dtype):
                return False
        return True

    def _init(self) -> object:
        return self.net.opt.init({n: self.P0[n] for n in self.moving})

    def train(self, data: list, steps: int, fits: Callable, seconds: float | None) -> Iterator:
        """``many_starts._Many.train``'s loop: each start stops as ``Reference.train`` would
        stop it (its fit held, a non-finite loss, the time), the others go on."""
        X_all = np.concatenate([X for X, _ in data])
        y_all, sizes = np.concatenate([y for _, y in data]), [len(X) for X, _ in data]
        P, state = dict(self.P0), self._init()
        stops = Stops(self.K, steps, fits, seconds)
        gen = torch.Generator().manual_seed(0)
        k = 0
        with np.errstate(all="ignore"):
            for k in range(1, steps + 1):
                if k > 1 and len(data) > 1 and (k - 1) % len(data) == 0:  # a new pass
                    data = reshuffled(X_all, y_all, sizes, gen)
                loss, P, state = self.step(P, state, *data[(k - 1) % len(data)])
                snap = partial(self._trained, P, X=X_all)
                if stops.after(k, loss.tolist(), lambda P=P: self.out(P, X_all), snap):
                    break
            yield from stops.runs(k, partial(self._trained, P, X=X_all))

    def _trained(self, P: dict, i: int, losses: list, fit: bool, k: int, X: Array) -> Trained:
        one = {n: P[n][i].copy() for n in self.names}
        return Trained(list(losses), one, self.one.out(one, X).copy(), fit, k)


def _rows(f: Callable[..., Array], *xs: Array) -> Array:
    """``f`` of stacked (K, rows, units) arrays as of one (K * rows, units) array: a softmax
    over a row's units sees that row alone, an elementwise function is the same."""
    k = xs[0].shape[0]
    return f(*(x.reshape(-1, x.shape[-1]) for x in xs)).reshape(k, -1, xs[0].shape[-1])
