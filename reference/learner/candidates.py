"""Candidate bugs, each as the computation a buggy learner would do, in torch:
activation derivatives, weight and bias gradient forms, and the named scale factors.

A derivative candidate gives dz from (z, a, da): ``true`` is PyTorch's vector-Jacobian
product; the others multiply da by a replacement for f'(z). Codes follow LEARNER_BUGS.md:
``derivative_of_output`` for f' evaluated at the output, applied twice or missing;
``wrong_activation_derivative`` for f' replaced by another function. ``kink`` candidates differ
from PyTorch only where z is exactly at a kink (relu'(0) = 1): not a bug, never reported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch.nn import functional as F

from .deriv import Deriv, prime
from .gated import at_defaults, gated

Tensor = torch.Tensor
FNS: dict[str, Callable[[Tensor], Tensor]] = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "leaky_relu": lambda z: F.leaky_relu(z, 0.01),
    "identity": lambda z: z,
}
SYMBOL = {
    "sigmoid": "sigma",
    "tanh": "tanh",
    "relu": "relu",
    "leaky_relu": "leaky_relu",
    "identity": "identity",
}


OUTPUT_FORMULA: dict[str, tuple[str, Callable[[Tensor, Tensor], Tensor]]] = {
    "sigmoid": ("a (1 - a)", lambda z, a: a * (1 - a)),
    "tanh": ("1 - a^2", lambda z, a: 1 - a * a),
}


def derivatives(name: str, module: torch.nn.Module, slope: float = 0.01) -> list[Deriv]:
    """Candidates for the derivative of activation ``name`` (a scratch registry name); a
    leaky ReLU's slope is its module's (``slope`` where the module has none)."""
    slope = float(getattr(module, "negative_slope", slope))
    sym = SYMBOL.get(name, name)
    out = [Deriv("true", None, f"{sym}'(z)", 0.0)]
    if name not in FNS and name not in (
        "elu",
        "selu",
        "gelu",
        "silu",
        "softplus",
        "mish",
        "hardtanh",
    ):
        out.append(
            Deriv(
                "missing",
                "derivative_of_output",
                f"no {sym}' at all (dL/dz taken as dL/da)",
                1.0,
                lambda z, a: torch.ones_like(z),
            )
        )
        if name == "softmax":  # LEARNER_BUGS.md 12: the Jacobian's diagonal taken for the whole
            out.append(
                Deriv(
                    "diagonal",
                    "softmax_jacobian",
                    "only the diagonal of softmax's Jacobian, dz = da * a (1 - a), without the "
                    "-a_i a_j terms that couple the classes",
                    1.0,
                    lambda z, a: a * (1 - a),
                )
            )
        return out
    f = module
    if name in ("relu", "leaky_relu"):  # nnfs: dinputs[dvalues <= 0] = 0, the wrong array
        out.append(
            Deriv(
                "at_grad",
                "wrong_activation_derivative",
                f"{sym}'(dL/da): the mask taken on the incoming gradient, not on z",
                1.0,
            )
        )
    if name in ("relu", "leaky_relu"):  # PyTorch's derivative but at z = 0: never a bug
        took = "0" if name == "relu" else f"the slope, {slope:g}"
        mid = (1 + (0.0 if name == "relu" else slope)) / 2  # np.heaviside(z, 0.5): s51 F6
        out += [
            Deriv(key, None, f"{sym}'(0) = {v:g} (PyTorch takes {took})", 0.5,
                  lambda z, a, v=v: torch.where(z == 0, v, prime(f, z)).to(z.dtype))
            for key, v in (("kink", 1.0), ("kink mid", mid))
        ]  # fmt: skip
    out += [
        Deriv(
            "missing",
            "derivative_of_output",
            f"no {sym}' at all (dL/dz taken as dL/da)",
            1.0,
            lambda z, a: torch.ones_like(z),
        ),
        Deriv(
            "at_output",
            "derivative_of_output",
            f"{sym}'(a): the derivative evaluated at the output a = {sym}(z), not at z",
            1.0,
            lambda z, a: prime(f, a),
        ),
        Deriv(
            "twice",
            "derivative_of_output",
            f"{sym}'(z) applied twice"
            + (
                f" (1 for z > 0, {slope**2:g} below: also a derivative written with the slope "
                f"{slope**2:g} where the forward pass uses {slope:g})"
                if name == "leaky_relu"
                else ""
            ),
            1.0,
            lambda z, a: prime(f, z) ** 2,
        ),
        Deriv(
            "z",
            "wrong_activation_derivative",
            f"z itself in place of {sym}'(z)",
            1.0,
            lambda z, a: z,
        ),
        Deriv(
            "a",
            "wrong_activation_derivative",
            f"the activation a = {sym}(z) itself in place of {sym}'(z)",
            1.0,
            lambda z, a: a,
        ),
    ]
    if name == "sigmoid":
        out.append(
            Deriv(
                "z(1-z)",
                "wrong_activation_derivative",
                "z (1 - z): the formula a (1 - a) given z instead of a",
                1.0,
                lambda z, a: z * (1 - z),
            )
        )
    if name == "tanh":
        out.append(
            Deriv(
                "1-z^2",
                "wrong_activation_derivative",
                "1 - z^2: the formula 1 - a^2 given z instead of a",
                1.0,
                lambda z, a: 1 - z * z,
            )
        )
    out += gated(name, module) + at_defaults(sym, module)
    for other, formula in OUTPUT_FORMULA.items():  # another's derivative written in its output
        if other != name:
            out.append(
                Deriv(
                    f"{other}'(a)",
                    "wrong_activation_derivative",
                    f"{formula[0]}, {SYMBOL[other]}'s derivative in terms of its output, applied "
                    f"to a = {sym}(z) in place of {sym}'(z)",
                    1.0,
                    formula[1],
                )
            )
    for other, g in FNS.items():
        if other in (name, "identity"):
            continue
        o = SYMBOL[other]
        out.append(
            Deriv(
                f"{other}'",
                "wrong_activation_derivative",
                f"{o}'(z) in place of {sym}'(z)",
                1.0,
                lambda z, a, g=g: prime(g, z),
            )
        )
        out.append(
            Deriv(
                f"{other}",
                "wrong_activation_derivative",
                f"{o}(z), the activation itself, in place of {sym}'(z)",
                1.0,
                lambda z, a, g=g: g(z),
            )
        )
    return out


def apply(d: Deriv, module: torch.nn.Module, z: Tensor, a: Tensor, da: Tensor) -> Tensor:
    """dz under candidate ``d``."""
    if d.key == "at_grad":  # the derivative (a mask) read off the incoming gradient
        return apply(Deriv("true", None, "", 0.0), module, da, module(da), da)
    if d.mult is not None:
        return da * d.mult(z, a)
    zr = z.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(module(zr), zr, da)
    return g.detach()


@dataclass(frozen=True)
class Form:
    """A way to build a parameter gradient from dz (and the cached activations)."""

    key: str
    code: str | None
    label: str
    cost: float


def weight_forms(l: int, sizes: tuple[int, ...], first: bool = False) -> list[Form]:
    """dW_l = A^T dz with A the right cache, or a wrong one (``first``: also a_{l-1} as it was
    at step 1), or the result transposed."""
    n_prev, n = sizes[l - 1], sizes[l]
    out = [Form("a_prev", None, "a_{l-1}^T dz", 0.0)]
    if first:
        out.append(
            Form(
                "a_first",
                "stale_input",
                f"dW{l} built from a_{l - 1} as it was at step 1 (the input of layer {l} kept "
                "from the first call, not this call's)",
                1.0,
            )
        )
    if n_prev == n:
        out.append(Form("T", "transposed", "dW transposed (square, so the shape hides it)", 1.0))
        out.append(
            Form(
                "a_l",
                "wrong_cached_activation",
                f"dW{l} built from a_{l} (this layer's output) instead of a_{l - 1}",
                1.0,
            )
        )
    if l >= 2:
        out.append(
            Form(
                "z_prev",
                "wrong_cached_activation",
                f"dW{l} built from z_{l - 1} (pre-activation) instead of a_{l - 1}",
                1.0,
            )
        )
    if l >= 2:
        out.append(
            Form(
                "deriv_prev",
                "inplace_mutation",
                f"dW{l} built from f'(z_{l - 1}) (the derivative of layer {l - 1}'s activation) "
                f"instead of a_{l - 1}: the cached a_{l - 1} was overwritten in place with its "
                "derivative (a[a > 0] = 1, a *= 1 - a) before dW used it",
                1.0,
            )
        )
    if l >= 2 and sizes[l - 2] == n_prev:
        out.append(
            Form(
                "a_prev2",
                "wrong_cached_activation",
                f"dW{l} built from a_{l - 2} instead of a_{l - 1}",
                1.0,
            )
        )
    return out


def weight_grad(
    form: str,
    l: int,
    dz: Tensor,
    a: list[Tensor],
    z: list[Tensor],
    prev: torch.nn.Module | None = None,
    first: list[Tensor] | None = None,
) -> Tensor:
    """dW_l under ``form``; ``prev`` is layer l-1's activation (for ``deriv_prev``), ``first``
    the activations of step 1 (for ``a_first``)."""
    cache = {
        "a_prev": lambda: a[l - 1],
        "a_first": lambda: (first or a)[l - 1],
        "T": lambda: a[l - 1],
        "a_l": lambda: a[l],
        "z_prev": lambda: z[l - 1],
        "a_prev2": lambda: a[l - 2],
        "deriv_prev": lambda: prime(prev, z[l - 1]),
    }[form]()
    g = cache.T @ dz
    return g.T if form == "T" else g


def bias_forms(batch: int, n: int) -> list[Form]:
    out = [
        Form("sum", None, "dz summed over the batch", 0.0),
        Form("mean", "bias_reduction", "averaged over the batch instead of summed", 1.0),
        Form(
            "total",
            "bias_reduction",
            "one scalar (dz summed over batch and units) for the whole layer",
            1.0,
        ),
        Form("first", "bias_reduction", "the first sample's dz only (not summed at all)", 1.0),
    ]
    if batch == n and batch > 1:
        out.append(
            Form(
                "axis1",
                "bias_reduction",
                "summed over the units instead of the batch (one sum per sample, not per unit)",
                1.0,
            )
        )
    return out


ABOVE = Form(  # (``bias_grad`` takes the layer above's dz for it)
    "above",
    "wrong_cached_activation",
    "the layer above's dz summed over the batch: its bias gradient line copied (square "
    "layers hide it)",
    1.0,
)


def bias_grad(form: str, dz: Tensor) -> Tensor:
    if form in ("sum", "above"):
        return dz.sum(0)
    if form == "mean":
        return dz.mean(0)
    if form == "total":
        return dz.sum().expand(dz.shape[1])
    if form == "first":
        return dz[0]
    return dz.sum(1)
