"""The PyTorch side of every registered variant, under the same name and hyperparameters as in
``scratch`` (a variant on one side only, or with other defaults, fails the test suite).

Activations and losses are ``torch.nn`` modules; optimizers are ``torch.optim`` classes pinned
to the single-tensor path (``foreach=False``); initializers are ``torch.nn.init`` calls on a
weight in torch's (out, in) layout, used to check scratch's initializers statistically
(scratch's own draws are what both sides start from).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from nnparity.scratch.registry import Registry

from .torch_layers import Conv2d, LinearNoInit, MaskedDropout
from .torch_losses import torch_losses  # noqa: F401  (re-exported: one import for every kind)
from .torch_lr import adam_of, scheduled

torch_activations: Registry[nn.Module] = Registry("activation")
torch_optimizers: Registry[Callable[[list], torch.optim.Optimizer]] = Registry("optimizer")
torch_initializers: Registry[Callable[[torch.Tensor], torch.Tensor]] = Registry("initializer")

act = torch_activations.register
opt = torch_optimizers.register
init = torch_initializers.register


# -- activations --------------------------------------------------------------------------
@act()
def identity() -> nn.Module:
    return nn.Identity()


@act()
def sigmoid() -> nn.Module:
    return nn.Sigmoid()


@act()
def tanh() -> nn.Module:
    return nn.Tanh()


@act()
def relu() -> nn.Module:
    return nn.ReLU()


@act()
def leaky_relu(slope: float = 0.01) -> nn.Module:
    return nn.LeakyReLU(slope)


@act()
def elu(alpha: float = 1.0) -> nn.Module:
    return nn.ELU(alpha)


@act()
def selu() -> nn.Module:
    return nn.SELU()


@act()
def gelu(approximate: str = "none") -> nn.Module:
    return nn.GELU(approximate=approximate)


@act()
def silu() -> nn.Module:
    return nn.SiLU()


@act()
def softplus(beta: float = 1.0, threshold: float = 20.0) -> nn.Module:
    return nn.Softplus(beta, threshold)


@act()
def mish() -> nn.Module:
    return nn.Mish()


@act()
def hardtanh(min_val: float = -1.0, max_val: float = 1.0) -> nn.Module:
    return nn.Hardtanh(min_val, max_val)


@act()
def softmax() -> nn.Module:
    return nn.Softmax(dim=1)


@act()
def log_softmax() -> nn.Module:
    return nn.LogSoftmax(dim=1)


# -- optimizers ---------------------------------------------------------------------------
@opt()
def sgd(
    lr: float = 1e-3,
    momentum: float = 0.0,
    dampening: float = 0.0,
    weight_decay: float = 0.0,
    nesterov: bool = False,
    lr_decay: float = 0.0,
    lr_gamma: float = 1.0,
    lr_step_size: int = 1,
    lr_outside: bool = False,
) -> Callable:
    return scheduled(
        lambda ps: torch.optim.SGD(
            ps,
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            foreach=False,
        ),
        lr,
        lr_decay,
        lr_gamma,
        lr_step_size,
        scale_momentum=not lr_outside,
    )


@opt()
def adam(
    lr: float = 1e-3,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    amsgrad: bool = False,
    lr_decay: float = 0.0,
    lr_gamma: float = 1.0,
    lr_step_size: int = 1,
) -> Callable:
    return adam_of(
        torch.optim.Adam,
        lr,
        beta1,
        beta2,
        eps,
        weight_decay,
        amsgrad,
        lr_decay,
        lr_gamma,
        lr_step_size,
    )


@opt()
def adamw(
    lr: float = 1e-3,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 1e-2,
    amsgrad: bool = False,
    lr_decay: float = 0.0,
    lr_gamma: float = 1.0,
    lr_step_size: int = 1,
) -> Callable:
    return adam_of(
        torch.optim.AdamW,
        lr,
        beta1,
        beta2,
        eps,
        weight_decay,
        amsgrad,
        lr_decay,
        lr_gamma,
        lr_step_size,
    )


@opt()
def rmsprop(
    lr: float = 1e-2,
    alpha: float = 0.99,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    momentum: float = 0.0,
    centered: bool = False,
    lr_decay: float = 0.0,
    lr_gamma: float = 1.0,
    lr_step_size: int = 1,
    lr_outside: bool = False,
) -> Callable:
    return scheduled(
        lambda ps: torch.optim.RMSprop(
            ps,
            lr=lr,
            alpha=alpha,
            eps=eps,
            weight_decay=weight_decay,
            momentum=momentum,
            centered=centered,
            foreach=False,
        ),
        lr,
        lr_decay,
        lr_gamma,
        lr_step_size,
        scale_momentum=not lr_outside,
    )


@opt()
def adagrad(
    lr: float = 1e-2,
    lr_decay: float = 0.0,
    lr_gamma: float = 1.0,
    lr_step_size: int = 1,
    weight_decay: float = 0.0,
    initial_accumulator_value: float = 0.0,
    eps: float = 1e-10,
) -> Callable:
    return scheduled(
        lambda ps: torch.optim.Adagrad(
            ps,
            lr=lr,
            lr_decay=lr_decay,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            eps=eps,
            foreach=False,
        ),
        lr,
        lr_decay,
        lr_gamma,
        lr_step_size,
        decay_inside=True,
    )


# -- initializers: fill a weight of torch's (out, in) layout in place -------------------
@init()
def zeros() -> Callable:
    return lambda w: nn.init.zeros_(w)


@init()
def constant(value: float = 0.1) -> Callable:
    return lambda w: nn.init.constant_(w, value)


@init()
def uniform(a: float = 0.0, b: float = 1.0) -> Callable:
    return lambda w: nn.init.uniform_(w, a, b)


@init()
def normal(mean: float = 0.0, std: float = 1.0) -> Callable:
    return lambda w: nn.init.normal_(w, mean, std)


@init()
def trunc_normal(mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0) -> Callable:
    return lambda w: nn.init.trunc_normal_(w, mean, std, a, b)


@init()
def xavier_uniform(gain: float = 1.0) -> Callable:
    return lambda w: nn.init.xavier_uniform_(w, gain)


@init()
def xavier_normal(gain: float = 1.0) -> Callable:
    return lambda w: nn.init.xavier_normal_(w, gain)


@init()
def kaiming_uniform(
    a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"
) -> Callable:
    return lambda w: nn.init.kaiming_uniform_(w, a, mode, nonlinearity)


@init()
def kaiming_normal(
    a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"
) -> Callable:
    return lambda w: nn.init.kaiming_normal_(w, a, mode, nonlinearity)


@init()
def lecun_normal() -> Callable:
    def fill(w: torch.Tensor) -> torch.Tensor:
        s = math.sqrt(1.0 / w.shape[1]) / 0.87962566103423978
        return nn.init.trunc_normal_(w, 0.0, s, -2 * s, 2 * s)

    return fill


@init()
def orthogonal(gain: float = 1.0) -> Callable:
    return lambda w: nn.init.orthogonal_(w, gain)


@init()
def torch_default() -> Callable:
    return lambda w: nn.init.kaiming_uniform_(w, a=math.sqrt(5))


# -- layers: factories (in_shape, bias, dtype) -> nn.Module, in_shape one sample's shape ---
torch_layers: Registry[Callable[..., nn.Module]] = Registry("layer")
layer = torch_layers.register


@layer()
def dense(units: int = 0) -> Callable[..., nn.Module]:
    return lambda in_shape, bias, dtype: LinearNoInit(in_shape[0], units, bias=bias, dtype=dtype)


@layer()
def flatten() -> Callable[..., nn.Module]:
    return lambda in_shape, bias, dtype: nn.Flatten(1)


@layer()
def dropout(p: float = 0.5, inverted: bool = True) -> Callable[..., nn.Module]:
    return lambda in_shape, bias, dtype: MaskedDropout(p, inverted)


@layer()
def conv(out: int = 0, k: int = 0, stride: int = 1, pad: int = 0) -> Callable[..., nn.Module]:
    return lambda in_shape, bias, dtype: Conv2d(
        in_shape[0], out, k, stride=stride, padding=pad, bias=bias, dtype=dtype
    )


@layer()
def batchnorm(eps: float = 1e-5, momentum: float = 0.1) -> Callable[..., nn.Module]:
    def make(in_shape: tuple[int, ...], bias: bool, dtype: torch.dtype) -> nn.Module:
        cls = nn.BatchNorm1d if len(in_shape) == 1 else nn.BatchNorm2d
        return cls(in_shape[0], eps=eps, momentum=momentum, dtype=dtype)

    return make


@layer()
def layernorm(eps: float = 1e-5) -> Callable[..., nn.Module]:
    return lambda in_shape, bias, dtype: nn.LayerNorm(in_shape, eps=eps, dtype=dtype)


@layer()
def maxpool(k: int = 0, stride: int = 0) -> Callable[..., nn.Module]:
    return lambda in_shape, bias, dtype: nn.MaxPool2d(k, stride or k)


@layer()
def avgpool(k: int = 0, stride: int = 0) -> Callable[..., nn.Module]:
    return lambda in_shape, bias, dtype: nn.AvgPool2d(k, stride or k)
