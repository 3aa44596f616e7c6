"""Several starts of one dense network trained by PyTorch at once: ``train_many``.

The training probe asks whether the network fits from fresh random initialisations (up to 16
for a tiny one, ``remedies.fresh_start``). One at a time that is 16 runs of up to 2,000 steps
whose cost is PyTorch's per-step overhead, not arithmetic. Here the K starts are stacked
(every parameter gains a leading axis of K), the forward and the loss are ``torch.vmap``-ed
over it, and one optimizer steps the stacked tensors: the declared optimizers are
elementwise, and the gradient of the sum of the K losses is each start's own gradient, so
each start follows its own run (to round-off: a batched product may round otherwise than one
GEMM). Each start stops as ``Reference.train`` stops it (its fit held, or a non-finite loss).

Before it trains, the K losses at the starts are compared with the K losses taken one by one;
where they differ (a loss or an activation that vmap does not carry), or the spec is one this
does not stack (layered, a clip by norm: a norm over each start's own gradients), it gives
None and the caller trains the starts one by one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import numpy as np
import torch
from torch.func import functional_call

from nnparity.reference.twin import Twin, to_numpy
from nnparity.reference.variants import torch_optimizers
from nnparity.scratch import Spec

from .torch_side import Reference, Trained, _bce_logits, clipped, held_to, reshuffled

Array = np.ndarray


def train_many(
    ref: Reference,
    spec: Spec,
    starts: list[dict[str, Array]],
    batches: list[tuple[Array, Array]],
    steps: int,
    frozen: set[str],
    fits: Callable[[Array], bool],
    seconds: float | None = None,
) -> list[Trained] | None:
    """``Reference.train`` from each of ``starts``, in their order, all at once (on NumPy
    where ``numpy_many`` holds the spec, else on PyTorch); None where the spec does not stack
    (see the module): the caller trains them one at a time."""
    from .numpy_many import train_many_numpy

    runs = train_many_numpy(ref, spec, starts, batches, steps, frozen, fits, seconds)
    if runs is not None:
        return runs
    return train_many_torch(ref, spec, starts, batches, steps, frozen, fits, seconds)


def train_many_torch(
    ref: Reference,
    spec: Spec,
    starts: list[dict[str, Array]],
    batches: list[tuple[Array, Array]],
    steps: int,
    frozen: set[str],
    fits: Callable[[Array], bool],
    seconds: float | None = None,
) -> list[Trained] | None:
    """``train_many`` on PyTorch (vmap over the stacked starts)."""
    if spec.layered or ref.clip[1] or len(starts) < 2:
        return None
    many = _Many(ref, spec, frozen)
    if not many.agrees(starts, batches):
        return None
    return list(many.train(starts, batches, steps, fits, seconds))


class _Many:
    """The stacked twin of ``spec``: parameters (K, ...) under the twin's module keys."""

    def __init__(self, ref: Reference, spec: Spec, frozen: set[str]):
        self.ref, self.spec, self.frozen = ref, spec, frozen
        self.twin = Twin(spec)
        self.keys = {n: self.twin.names_map[n] for n in self.twin.names}
        self.stable = spec.loss.name == "bce" and spec.activations[-1].name == "sigmoid"
        self.body, self.head = self.twin.module[:-1], self.twin.module[-1]

    def set(self, P: dict[str, Array]) -> None:
        """The twin at ``P`` (a frozen bias missing from it: zeros, as ``Reference.train``)."""
        self.twin.set_params(
            {n: P.get(n, np.zeros(p.shape[0])) for n, p in self.twin.params.items()}
        )

    def stack(self, starts: list[dict[str, Array]]) -> dict[str, torch.Tensor]:
        """The starts' parameters, each stacked on a new leading axis, under module keys."""
        one: dict[str, list[torch.Tensor]] = {k: [] for k in self.keys.values()}
        for P in starts:
            self.set(P)
            for n, k in self.keys.items():
                one[k].append(self.twin.params[n].detach().clone())
        return {
            k: torch.stack(ts).requires_grad_(n not in self.frozen)
            for (n, k), ts in zip(self.keys.items(), one.values(), strict=True)
        }

    def loss(self, z: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        """One start's declared loss from its body's output (the last layer's z), as
        ``Reference.train`` takes it: from the logits for sigmoid + bce."""
        if self.stable:
            return _bce_logits(z, yb, self.ref.reduction)
        return self.twin.loss_fn(self.head(z), yb)

    def losses(
        self, params: dict[str, torch.Tensor], Xb: torch.Tensor, yb: torch.Tensor
    ) -> torch.Tensor:
        """Each start's loss on (Xb, yb), its penalty included: (K,)."""

        loss = torch.vmap(lambda p: self.loss(functional_call(self.body, p, (Xb,)), yb))(params)
        ref = self.ref
        if ref.l2 or ref.l2_bias:
            for n, k in self.keys.items():
                lam = ref.l2_on(n)
                if lam:
                    p = params[k]
                    loss = loss + lam / 2 * (p * p).reshape(len(p), -1).sum(1)
        return loss

    def out(self, params: dict[str, torch.Tensor], X: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return torch.vmap(lambda p: functional_call(self.twin.module, p, (X,)))(params)

    def agrees(self, starts: list[dict[str, Array]], batches: list[tuple[Array, Array]]) -> bool:
        """Whether the stacked losses at the starts are the losses one by one (a loss or an
        activation vmap does not carry raises or differs: then one by one)."""
        Xb, yb = self.ref.tensors(*batches[0], self.twin.dtype)
        try:
            with torch.no_grad():
                stacked = self.losses(self.stack(starts), Xb, yb).numpy()
        except Exception:  # noqa: BLE001  (vmap's refusal: train one at a time)
            return False
        alone = []
        for P in starts:
            self.set(P)
            with torch.no_grad():
                alone.append(float(self.loss(self.body(Xb), yb) + self.ref.penalty(self.twin)))
        tol = 1e-10 if self.twin.dtype == torch.float64 else 1e-4
        return bool(np.allclose(stacked, alone, rtol=tol, atol=0.0, equal_nan=True))

    def train(
        self,
        starts: list[dict[str, Array]],
        batches: list[tuple[Array, Array]],
        steps: int,
        fits: Callable[[Array], bool],
        seconds: float | None,
    ) -> Iterator[Trained]:
        params = self.stack(starts)
        K = len(starts)
        opt = torch_optimizers[self.spec.opt.name].build(self.spec.opt.kwargs)(
            list(params.values())
        )
        data = [self.ref.tensors(Xb, yb, self.twin.dtype) for Xb, yb in batches]
        X_all = torch.cat([d[0] for d in data])
        y_all, sizes = torch.cat([d[1] for d in data]), [len(d[0]) for d in data]
        gen = torch.Generator().manual_seed(0)
        stops = Stops(K, steps, fits, seconds)
        snap = partial(self._trained, params, X=X_all)  # (params: stepped in place)
        k = 0
        for k in range(1, steps + 1):
            if k > 1 and len(data) > 1 and (k - 1) % len(data) == 0:  # a new pass: reshuffled
                data = reshuffled(X_all, y_all, sizes, gen)
            Xb, yb = data[(k - 1) % len(data)]
            opt.zero_grad(set_to_none=True)
            loss = self.losses(params, Xb, yb)
            loss.sum().backward()
            clipped(params.values(), self.ref.clip, self.ref.clip_eps)
            opt.step()
            if stops.after(
                k, loss.detach().tolist(), lambda: self.out(params, X_all).numpy(), snap
            ):
                break
        yield from stops.runs(k, snap)

    def _trained(
        self, params: dict[str, torch.Tensor], i: int, losses: list[float], fit: bool, k: int,
        X: torch.Tensor,
    ) -> Trained:  # fmt: skip
        one = {key: p[i].detach() for key, p in params.items()}
        with torch.no_grad():
            out = functional_call(self.twin.module, one, (X,)).numpy().copy()
        got = {n: to_numpy(n, one[key].clone()) for n, key in self.keys.items()}
        return Trained(list(losses), got, out, fit, k)


class Stops:
    """K starts' losses and stops, each start stopped as ``Reference.train`` stops a run alone
    (a non-finite loss; its fit held, ``held_to``; or the time) while the others go on.
    ``snap(i, losses, fit, k)``: start i's ``Trained`` at the parameters of the moment."""

    def __init__(self, K: int, steps: int, fits: Callable[[Array], bool], seconds: float | None):
        self.K, self.steps, self.fits = K, steps, fits
        self.end = None if seconds is None else time.monotonic() + seconds
        self.losses: list[list[float]] = [[] for _ in range(K)]
        self.fit, self.hold = [False] * K, [0] * K
        self.done: dict[int, Trained] = {}

    def after(self, k: int, values: list[float], outputs: Callable[[], Array], snap: Any) -> bool:
        """Step k taken with each start's loss ``values``; ``outputs()``: each start's output
        on all rows, asked at a check. True once every start has stopped."""
        for i, v in enumerate(values):
            if i not in self.done:
                self.losses[i].append(v)
                if not np.isfinite(v):
                    self.done[i] = snap(i, self.losses[i], False, k)
        if k % 25 == 0 or k == self.steps:
            out = outputs()
            late = self.end is not None and time.monotonic() > self.end
            for i in (i for i in range(self.K) if i not in self.done):
                self.fit[i] = self.fits(out[i])
                self.hold[i] = held_to(self.fit[i], self.hold[i], k, self.steps)
                if self.fit[i] and k >= self.hold[i] or late:
                    held = self.fit[i] and k >= self.hold[i]
                    self.done[i] = snap(i, self.losses[i], held, k)
        return len(self.done) == self.K

    def runs(self, k: int, snap: Any) -> Iterator[Trained]:
        """Every start's run, in order, those still going as they are after step k."""
        for i in range(self.K):
            held = self.fit[i] and k >= self.hold[i]
            yield self.done.get(i) or snap(i, self.losses[i], held, k)
