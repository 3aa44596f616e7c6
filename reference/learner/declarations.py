"""The keyword declarations of a ``from_*`` call, made into ``Conventions``."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from nnparity.scratch.errors import SpecError

from .conventions import Conventions
from .paths import DeclarationError, LearnerError


def _conv(kw: dict[str, Any]) -> Conventions:
    keys = (
        "sizes",
        "activations",
        "bias",
        "loss",
        "reduction",
        "optimizer",
        "lr",
        "layout",
        "fold",
        "per_sample",
        "batch_size",
        "l2",
        "l2_in",
        "l2_bias",
        "clip_grad_value",
        "clip_grad_norm",
    )
    kw = _optimizer_options(kw)
    unknown = set(kw) - set(keys)
    if unknown:
        meant = [f"{k} (write {SPELLINGS[k]})" if k in SPELLINGS else k for k in sorted(unknown)]
        raise LearnerError(
            f"unknown declaration(s) {', '.join(meant)}; known: {', '.join(keys)}, and the "
            f"optimizer's own options {', '.join(OPT_OPTIONS)}"
        )
    if "sizes" not in kw or "activations" not in kw:
        raise LearnerError("declare sizes=[inputs, hidden..., outputs] and activations=...")
    kw["sizes"] = _sizes(kw["sizes"])
    try:
        return Conventions.make(**kw)
    except SpecError as e:  # one line naming the fix, not scratch's frames
        raise DeclarationError(str(e)) from None


def _sizes(sizes: Any) -> list[int]:
    """``sizes`` as a list of ints: a list or tuple of whole numbers, or the spec's "3-4-1"."""
    parts = sizes.split("-") if isinstance(sizes, str) else sizes
    try:
        out = [int(v) for v in parts]
        if not all(float(v) == n for v, n in zip(parts, out, strict=True)):
            raise ValueError
    except (TypeError, ValueError):
        raise DeclarationError(
            f"sizes={sizes!r}: give the layer widths as a list of whole numbers, inputs first, "
            "e.g. sizes=[3, 4, 1] (or the spec's '3-4-1')"
        ) from None
    return out


OPT_OPTIONS = (
    "momentum",
    "dampening",
    "nesterov",
    "weight_decay",
    "beta1",
    "beta2",
    "eps",
    "alpha",
    "amsgrad",
    "centered",
    "lr_decay",
    "lr_gamma",
    "lr_step_size",
    "lr_outside",
)
SPELLINGS = {  # other libraries' names for a declaration (PyTorch's, Keras's)
    "epsilon": "eps=",
    "rho": "alpha= (RMSprop's smoothing constant)",
    "betas": "beta1=..., beta2=...",
    "beta_1": "beta1=",
    "beta_2": "beta2=",
    "learning_rate": "lr=",
    "decay": "lr_decay= (inverse-time decay) or weight_decay=",
    "gamma": "lr_gamma= (the lr times lr_gamma every lr_step_size steps: PyTorch's StepLR, "
    "ExponentialLR)",
    "step_size": "lr_step_size= (in optimizer steps: epochs times batches per epoch)",
    "decay_rate": "lr_gamma= (Keras's ExponentialDecay: with staircase=True, lr_gamma=decay_rate "
    "and lr_step_size=decay_steps; without, lr_gamma=decay_rate ** (1 / decay_steps))",
    "decay_steps": "lr_step_size= (see decay_rate)",
    "clip_value": "clip_grad_value=",
    "clipvalue": "clip_grad_value=",
    "max_norm": "clip_grad_norm=",
    "clipnorm": "clip_grad_norm= if your clip scales all gradients by their one global norm "
    "(Keras's global_clipnorm, PyTorch's clip_grad_norm_); Keras's clipnorm clips each tensor "
    "by its own norm, which cannot be declared yet: check with that clip switched off",
    "global_clipnorm": "clip_grad_norm=",
    "clip_norm": "clip_grad_norm=",
}
OPT_ALIASES = {  # names learners write for a declared optimizer with options
    "sgd_momentum": "sgd(momentum=0.9)",
    "momentum": "sgd(momentum=0.9)",
    "nesterov": "sgd(momentum=0.9,nesterov=true)",
}


def _optimizer_options(kw: dict[str, Any]) -> dict[str, Any]:
    """``optimizer="sgd", momentum=0.9`` -> ``optimizer="sgd(momentum=0.9)"``: optimizer
    options given as declarations join the optimizer's own; a known alias such as
    ``sgd_momentum`` gets a did-you-mean."""
    opt = str(kw.get("optimizer", "sgd"))
    base = opt.split("(")[0].strip()
    if base in OPT_ALIASES:
        raise DeclarationError(
            f"unknown optimizer {base!r}: did you mean optimizer={OPT_ALIASES[base]!r}? "
            "(or optimizer='sgd', momentum=0.9)"
        )
    betas = kw.get("betas")
    if isinstance(betas, tuple | list) and len(betas) == 2:  # PyTorch's keyword, as a pair
        kw = {k: v for k, v in kw.items() if k != "betas"}
        kw["beta1"], kw["beta2"] = float(betas[0]), float(betas[1])
    opt = re.sub(r"betas\s*=\s*\(\s*([^,()]+?)\s*,\s*([^,()]+?)\s*\)", r"beta1=\1,beta2=\2", opt)
    kw = {**kw, "optimizer": opt} if "optimizer" in kw else kw
    if "lr" in kw and (m := re.search(r"\blr\s*=\s*([^,)]+)", opt)):
        if _num(m.group(1)) != _num(kw["lr"]):
            raise DeclarationError(
                f"lr is given twice: {m.group(1).strip()} in optimizer={opt!r} and "
                f"lr={kw['lr']!r}: keep one"
            )
    extra = {k: kw[k] for k in OPT_OPTIONS if k in kw}
    if not extra:
        return kw
    inner = opt[len(base) :].strip()[1:-1] if "(" in opt else ""
    given = [p for p in inner.split(",") if p.strip()]
    for k, v in extra.items():
        if any(p.split("=")[0].strip() == k for p in given):
            raise DeclarationError(f"{k} is given twice: in optimizer={opt!r} and as {k}={v!r}")
        given.append(f"{k}={str(v).lower() if isinstance(v, bool) else v}")
    out = {k: v for k, v in kw.items() if k not in extra}
    out["optimizer"] = f"{base}({','.join(given)})"
    return out


def _num(v: Any) -> float | str:
    try:
        return float(v)
    except (TypeError, ValueError):
        return str(v).strip()


def _paths(params: Sequence[str] | str) -> tuple[str, ...]:
    return (params,) if isinstance(params, str) else tuple(params)
