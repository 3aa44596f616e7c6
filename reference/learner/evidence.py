"""One step's evidence for the hypothesis search (hypotheses.py): the learner's gradients and
PyTorch's at the same weights, with the activations and tolerances, as float64 tensors."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

Tensor = torch.Tensor


@dataclass
class StepData:
    """One step's evidence, float64 torch tensors keyed by canonical name."""

    step: int
    P: dict[str, Tensor]
    P_new: dict[str, Tensor] | None
    a: list[Tensor]
    z: list[Tensor]
    dl_da: Tensor  # dL/da_L from the declared torch loss
    dl_dz: Tensor  # the exact dL/dz_L (PyTorch's vjp, or from logits for sigmoid + bce)
    g: dict[str, Tensor]  # the learner's gradients
    atol: dict[str, float]  # absolute tolerance per parameter (atol * scale + noise)
    rtol: float
    ref: dict[str, Tensor]  # PyTorch's gradients
    alt_dz: dict[str, Tensor] = field(default_factory=dict)  # output-layer dz candidates
    full: int = 0  # the run's full batch size (its largest), where a short last batch meets it
    P_first: dict[str, Tensor] | None = None  # the weights at step 1, for a copy cached then
    a_first: list[Tensor] | None = None  # the activations at step 1, for an input cached then
    rows: int = 0  # the data set's rows, for a mean taken over all of them
    loss_agrees: bool = False  # the learner returns a loss value, and it is PyTorch's


def to_tensors(d: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """Each array as a float64 tensor, by name."""
    return {k: torch.as_tensor(np.asarray(v, dtype=np.float64)) for k, v in d.items()}
