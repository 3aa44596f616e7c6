"""PyTorch's module calls and optimizer steps without their per-call machinery, where none of
it is in use: a probe trains tiny networks for thousands of steps, and on those the hooks'
bookkeeping (``Module.__call__``'s hook checks, ``Optimizer.step``'s profiler record and step
hooks, ``zero_grad``'s record) costs as much as the arithmetic. The functions called are the
same ones, so every number is the same; wherever a hook is registered, the full call is made."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import nn
from torch.nn.modules import module as _module
from torch.optim import optimizer as _optimizer


def _hooked(m: nn.Module) -> bool:
    own = (m._forward_hooks, m._forward_pre_hooks, m._backward_hooks, m._backward_pre_hooks)
    glob = (_module._global_forward_hooks, _module._global_forward_pre_hooks,
            _module._global_backward_hooks, _module._global_backward_pre_hooks)  # fmt: skip
    return any(own) or any(glob)


def through(modules: Iterable[nn.Module], x: torch.Tensor) -> torch.Tensor:
    """``nn.Sequential(*modules)(x)``: each module's ``forward`` in turn (its ``__call__`` where
    a hook is registered)."""
    for m in modules:
        x = m(x) if _hooked(m) else m.forward(x)
    return x


def step_of(opt: torch.optim.Optimizer) -> Callable[[], object]:
    """``opt.step``: the optimizer's own step function, without the profiler record and step
    hooks ``Optimizer`` wraps it in, when no hook is registered and the step is the class's."""
    bare = getattr(type(opt).step, "__wrapped__", None)
    hooks = (opt._optimizer_step_pre_hooks, opt._optimizer_step_post_hooks)
    hooks += (_optimizer._global_optimizer_pre_hooks, _optimizer._global_optimizer_post_hooks)
    if bare is None or "step" in vars(opt) or any(hooks):
        return opt.step
    return lambda: bare(opt)


def no_grads(params: Iterable[torch.Tensor]) -> None:
    """``zero_grad(set_to_none=True)`` for ``params``."""
    for p in params:
        p.grad = None
