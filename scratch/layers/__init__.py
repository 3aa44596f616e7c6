"""Layers beyond dense, each a ``Layer`` record of pure functions (see ``base``), registered
by name in ``layers``; activations are layers too (``activation_layer``)."""

from . import basic, conv, norm, pool  # noqa: F401  (registers the layers, in this order)
from .base import POSITIONAL, Ctx, Layer, layers
from .basic import activation_layer, dropout_mask
from .conv import conv2d, conv2d_vjp
from .norm import batchnorm_forward, batchnorm_vjp, layernorm_forward, layernorm_vjp
from .pool import avgpool2d, avgpool2d_vjp, maxpool2d, maxpool2d_vjp

__all__ = [
    "POSITIONAL",
    "Ctx",
    "Layer",
    "activation_layer",
    "avgpool2d",
    "avgpool2d_vjp",
    "batchnorm_forward",
    "batchnorm_vjp",
    "conv2d",
    "conv2d_vjp",
    "dropout_mask",
    "layernorm_forward",
    "layernorm_vjp",
    "layers",
    "maxpool2d",
    "maxpool2d_vjp",
    "layers",
]
