"""A named wrong version of a layer (``Variant``) and the PyTorch-autograd way to compute one
(``_torch_variant``), shared by ``layer_variants`` and ``conv_variants``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .layer_cases import Case, _autograd

Array = np.ndarray


@dataclass(frozen=True)
class Variant:
    """``code`` (the catalogue's name), ``what`` it does, the ``fix``, and ``tensors(case,
    dout)``: every tensor computed that wrong way (None: the variant does not apply)."""

    code: str
    what: str
    fix: str
    tensors: Callable[[Case, Array], dict[str, Array] | None]
    backward_fix: str = ""  # where a forward variant's gradient is the backward's alone


def _torch_variant(f: Callable) -> Callable[[Case, Array], dict[str, Array] | None]:
    """``tensors`` from a PyTorch function ``f(case)`` -> ``g(x, *params)``: its output and
    autograd's gradients."""

    def tensors(case: Case, dout: Array) -> dict[str, Array] | None:
        g = f(case)
        if g is None:
            return None
        out, grads = _autograd(g, case)
        if out.shape != dout.shape:
            return {"out": out}
        return {"out": out, **grads(dout)}

    return tensors
