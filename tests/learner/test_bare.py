"""The probe's PyTorch training runs (``Reference.train_torch``: modules' ``forward``, the
optimizer's own step function, all parameters per operation) are PyTorch's plain training
loop, bit for bit, and the full calls are kept wherever a hook is registered."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nnparity.reference.learner.bare import step_of, through
from nnparity.reference.learner.torch_side import Reference, _bce_logits
from nnparity.reference.twin import Twin
from nnparity.scratch import Spec, build

SPECS = [
    "2-4-1 tanh,sigmoid loss=bce opt=adam(lr=0.03) dtype=float64",
    "2-4-1 tanh,sigmoid loss=bce opt=adam(lr=0.03,amsgrad=true,weight_decay=0.01) dtype=float32",
    "2-3-3-2 relu,tanh,identity loss=cross_entropy opt=sgd(lr=0.1,momentum=0.9,nesterov=true)",
    "2-3-2 relu,identity loss=cross_entropy opt=sgd(lr=0.1,momentum=0.9,dampening=0.1) "
    "dtype=float32",
    "2-5-1 sigmoid,identity loss=mse opt=rmsprop(lr=0.01,centered=true,momentum=0.5)",
    "2-5-1 tanh,identity loss=mse opt=adagrad(lr=0.1,lr_decay=0.01) dtype=float32",
    "2-5-1 tanh,sigmoid loss=bce opt=adamw(lr=0.01,weight_decay=0.1)",
    "2-4-1 tanh,identity loss=mse opt=sgd(lr=0.1,lr_decay=0.01,weight_decay=0.01)",
]


def _plain(ref: Reference, spec: Spec, P: dict, batches: list, steps: int, frozen: set) -> tuple:
    """PyTorch's training loop as written in its tutorials (single-tensor optimizer)."""
    twin = Twin(spec)
    for n in frozen:
        twin.params[n].requires_grad_(False)
    twin.set_params(P)
    for group in twin.optimizer.param_groups:
        group["foreach"] = False
    stable = spec.loss.name == "bce" and spec.activations[-1].name == "sigmoid"
    data = [ref.tensors(X, y, twin.dtype) for X, y in batches]
    losses = []
    for k in range(steps):
        X, y = data[k % len(data)]
        twin.optimizer.zero_grad(set_to_none=True)
        z = twin.module[:-1](X)
        loss = _bce_logits(z, y, "mean") if stable else twin.loss_fn(twin.module[-1](z), y)
        loss = loss + ref.penalty(twin)
        loss.backward()
        if any(ref.clip):
            from nnparity.reference.learner.torch_side import clipped

            clipped(twin.params.values(), ref.clip)
        twin.optimizer.step()
        losses.append(float(loss.detach()))
    return losses, twin.get_params()


@pytest.mark.parametrize("text", SPECS)
@pytest.mark.parametrize("frozen,l2,clip", [(set(), 0.0, (0.0, 0.0)), ({"b1"}, 0.01, (0.5, 0.0)),
                                            (set(), 0.0, (0.0, 1.0))])  # fmt: skip
def test_a_probe_run_is_the_plain_loop_bit_for_bit(text, frozen, l2, clip):
    spec = Spec.parse(text)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(8, 2))
    y = (X[:, 0] > 0).astype(int) if "cross_entropy" in text else (X[:, :1] > 0).astype(float)
    P = build(spec).init_params(seed=1)
    P = {n: np.zeros_like(v) if n in frozen else v for n, v in P.items()}
    ref = Reference(spec, frozen, l2=l2, clip=clip)
    run = ref.train_torch(spec, P, [(X, y)], 60, frozen, lambda out: False)
    losses, params = _plain(ref, spec, P, [(X, y)], 60, frozen)
    assert run.losses == losses
    for n, p in params.items():
        assert np.array_equal(run.params[n], p), n


def test_hooks_are_kept():
    lin = torch.nn.Linear(2, 1)
    seen = []
    lin.register_forward_hook(lambda m, i, o: seen.append(1))
    through([lin], torch.zeros(1, 2))
    assert seen == [1]
    opt = torch.optim.SGD(lin.parameters(), lr=0.1)
    opt.register_step_post_hook(lambda o, a, k: seen.append(2))
    for p in lin.parameters():
        p.grad = torch.zeros_like(p)
    step_of(opt)()
    assert seen == [1, 2]
    bare = torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=0.1)
    assert step_of(bare) != bare.step  # no hook: the step function itself
