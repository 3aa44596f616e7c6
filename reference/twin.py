"""The PyTorch twin of a spec: ``nn.Sequential`` of Linear + activation modules, the loss and the
optimizer, with parameters and optimizer state copied to and from scratch's arrays.

Scratch names ``W{l}`` (in, out) and ``b{l}`` (out,); the twin's layer l is
``module[2(l-1)]`` with weight (out, in). ``layout`` is the one place that converts.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn

from nnparity.scratch import Spec, param_names

from .variants import torch_activations, torch_losses, torch_optimizers

Array = np.ndarray
TORCH_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def layout(name: str, x: Array) -> Array:
    """Scratch layout <-> torch layout for parameter ``name``: weights are transposed, biases
    and everything else kept. Its own inverse; the only layout conversion in nnparity."""
    return x.T if name.startswith("W") and x.ndim == 2 else x


def torch_name(name: str) -> str:
    """``'W2'`` -> ``'2.weight'``, ``'b1'`` -> ``'0.bias'`` (the twin's state_dict keys)."""
    kind, layer = name[0], int(name[1:])
    return f"{2 * (layer - 1)}.{'weight' if kind == 'W' else 'bias'}"


def to_numpy(name: str, t: torch.Tensor) -> Array:
    """A torch tensor of parameter ``name`` as a fresh scratch-layout array."""
    return np.ascontiguousarray(layout(name, t.detach().cpu().numpy())).copy()


class _Linear(nn.Linear):
    """``nn.Linear`` that skips its random initialisation: scratch's weights are copied in."""

    def reset_parameters(self) -> None:
        pass


class TwinStep(NamedTuple):
    out: Array
    loss: float
    grads: dict[str, Array]
    params: dict[str, Array]
    state: dict[str, Any]


class Twin:
    """A spec's PyTorch model, loss and optimizer (single-tensor path, as the CPU default)."""

    def __init__(self, spec: Spec):
        self.spec = spec
        self.dtype = TORCH_DTYPES[spec.dtype]
        layers: list[nn.Module] = []
        for (n_in, n_out), a in zip(
            zip(spec.sizes[:-1], spec.sizes[1:], strict=False), spec.activations, strict=False
        ):
            layers.append(_Linear(n_in, n_out, bias=spec.bias, dtype=self.dtype))
            layers.append(torch_activations[a.name].build(a.kwargs))
        self.module = nn.Sequential(*layers)
        named = dict(self.module.named_parameters())
        self.names = param_names(spec)
        self.params = {n: named[torch_name(n)] for n in self.names}
        self.loss_fn = torch_losses[spec.loss.name].build(spec.loss.kwargs)
        self.optimizer = torch_optimizers[spec.opt.name].build(spec.opt.kwargs)(
            list(self.params.values())
        )

    # -- parameters ---------------------------------------------------------------------
    def set_params(self, params: dict[str, Array]) -> None:
        """Copy scratch's arrays in (bit-exact)."""
        with torch.no_grad():
            for n, p in self.params.items():
                p.copy_(torch.from_numpy(np.asarray(layout(n, params[n]))))

    def get_params(self) -> dict[str, Array]:
        return {n: to_numpy(n, p) for n, p in self.params.items()}

    # -- optimizer state ----------------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        """``{'step': int, field: {name: array}}`` in scratch's layout and field names."""
        out: dict[str, Any] = {}
        for n, p in self.params.items():
            for key, v in self.optimizer.state.get(p, {}).items():
                if key == "step":
                    out["step"] = int(v)
                elif isinstance(v, torch.Tensor):
                    out.setdefault(key, {})[n] = to_numpy(n, v)
        return out

    def set_state(self, state: Any) -> None:
        """Make the torch optimizer's state equal scratch's ``state`` NamedTuple."""
        opt = self.optimizer
        opt.state.clear()
        step = int(state.step)
        fresh = step == 0 and self.spec.opt.name != "adagrad"
        if fresh:
            return
        uses_step = self.spec.opt.name != "sgd"
        for n, p in self.params.items():
            st: dict[str, Any] = {}
            if uses_step:
                st["step"] = torch.tensor(float(step), dtype=torch.get_default_dtype())
            for key, bufs in state._asdict().items():
                if key != "step" and bufs:
                    st[key] = torch.from_numpy(np.array(layout(n, bufs[n]))).contiguous()
            opt.state[p] = st

    # -- one training step --------------------------------------------------------------
    def tensors(self, X: Array, y: Array) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.from_numpy(np.ascontiguousarray(X)), torch.from_numpy(np.ascontiguousarray(y))

    def step(self, X: torch.Tensor, y: torch.Tensor) -> TwinStep:
        """Forward, loss, backward, optimizer step; everything read back as scratch arrays."""
        self.optimizer.zero_grad(set_to_none=True)
        out = self.module(X)
        loss = self.loss_fn(out, y)
        loss.backward()
        grads = {n: to_numpy(n, p.grad) for n, p in self.params.items()}
        self.optimizer.step()
        return TwinStep(
            out.detach().numpy().copy(),
            float(loss.detach()),
            grads,
            self.get_params(),
            self.get_state(),
        )
