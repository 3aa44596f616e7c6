"""Derivative candidates of activation families: the self-gated ones, a = z s(z) (SiLU, GELU,
Mish), whose derivative s(z) + z s'(z) a learner takes as the gate s(z) alone (and GELU's other
form's derivative); and any activation with parameters, its derivative at PyTorch's defaults
where others are declared (a softplus beta, an ELU alpha left out of the backward pass)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.nn import functional as F

from .deriv import Deriv, prime

Tensor = torch.Tensor

_ERF = {"gelu": ("Phi(z)", lambda z: 0.5 * (1 + torch.erf(z * 0.5**0.5)))}
GATES: dict[str, tuple[str, Callable[[Tensor], Tensor]]] = {  # a = z s(z), s the gate
    "silu": ("sigma(z)", torch.sigmoid),
    "mish": ("tanh(softplus(z))", lambda z: torch.tanh(F.softplus(z))),
    **_ERF,
}
_TANH_GATE = (
    "(1 + tanh(u))/2",
    lambda z: 0.5 * (1 + torch.tanh((2 / torch.pi) ** 0.5 * (z + 0.044715 * z**3))),
)


def at_defaults(sym: str, module: torch.nn.Module) -> list[Deriv]:
    """The derivative at the activation's default parameters where others are declared (a
    softplus beta, an ELU alpha, a leaky slope left out of the backward pass), or []."""
    try:
        base = type(module)()
    except (TypeError, ValueError):  # no defaults to fall back on
        return []
    given = {
        k: v
        for k, v in vars(module).items()
        if not k.startswith("_") and isinstance(v, int | float) and not isinstance(v, bool)
    }
    moved = {k: (getattr(base, k), v) for k, v in given.items() if getattr(base, k, v) != v}
    if not moved:
        return []
    said = ", ".join(f"{k} = {d:g}" for k, (d, _) in moved.items())
    declared = ", ".join(f"{k} = {v:g}" for k, (_, v) in moved.items())
    return [
        Deriv(
            "defaults",
            "wrong_activation_derivative",
            f"{sym}'(z) at the default {said} where {declared} is declared: the parameter left "
            "out of the derivative",
            1.0,
            lambda z, a: prime(base, z),
        )
    ]


def gated(name: str, module: torch.nn.Module) -> list[Deriv]:
    """The self-gated activations, a = z s(z) (SiLU, GELU, Mish): the derivative s(z) +
    z s'(z) taken as the gate s(z) alone (the product rule's second term left out); for GELU,
    also the other form's derivative (the exact erf form's beside the tanh approximation's
    forward, or the reverse)."""
    tanh_form = name == "gelu" and getattr(module, "approximate", "none") == "tanh"
    gate = _TANH_GATE if tanh_form else GATES.get(name)
    if gate is None:
        return []
    out = [
        Deriv(
            "gate",
            "wrong_activation_derivative",
            f"the gate {gate[0]} alone in place of {name}'(z) = {gate[0]} + z ({gate[0]})': the "
            f"product rule's second term left out (a = z {gate[0]})",
            1.0,
            lambda z, a, s=gate[1]: s(z),
        )
    ]
    if name == "gelu":
        other = _ERF["gelu"] if tanh_form else _TANH_GATE
        form = "exact (erf)" if tanh_form else "tanh approximation's"
        out.append(
            Deriv(
                "other_gelu",
                "wrong_activation_derivative",
                f"the {form} GELU derivative beside the other form's forward pass: "
                f"d/dz [z {other[0]}] in place of gelu'(z)",
                1.0,
                lambda z, a, s=other[1]: prime(lambda x: x * s(x), z),
            )
        )
    return out
