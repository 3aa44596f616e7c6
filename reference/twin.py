"""The PyTorch twin of a spec: ``nn.Sequential`` of Linear + activation modules, the loss and the
optimizer, with parameters and optimizer state copied to and from scratch's arrays.

Scratch names ``W{l}`` (in, out) and ``b{l}`` (out,); the twin's layer l is
``module[2(l-1)]`` with weight (out, in). ``layout`` is the one place that converts.

A layered spec's twin is one module per layer (``nn.Conv2d``, ``nn.MaxPool2d``,
``nn.AvgPool2d``, ``nn.BatchNorm1d/2d``, ``nn.LayerNorm``, ``nn.Flatten``, ``nn.Linear``,
activations, and ``MaskedDropout``, which applies scratch's mask). Scratch's ``W{n}``/``b{n}``
are the layer's weight/bias, ``gamma{n}``/``beta{n}`` a norm layer's weight/bias, and
``running_mean{n}``/``running_var{n}`` its buffers (``Twin.names_map``). Conv weights are
(out, in, kh, kw) on both sides, so ``layout`` leaves them (and every non-2-D array) alone.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn

from nnparity.scratch import NetState, Spec, param_names
from nnparity.scratch.spec_layers import is_activation, layer_shapes
from nnparity.scratch.stack import build_layered

from .variants import (
    MaskedDropout,
    torch_activations,
    torch_layers,
    torch_losses,
    torch_optimizers,
)

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
    buffers: dict[str, Array] = {}  # running statistics after the step (layered specs)
    dx: Array | None = None  # dL/dX, when the step was asked for it


def layered_modules(spec: Spec, dtype: torch.dtype) -> tuple[list[nn.Module], dict[str, str]]:
    """One module per layer of a layered spec, and scratch name -> state_dict key (parameters
    and buffers), e.g. ``'W1' -> '0.weight'``, ``'running_var3' -> '5.running_var'``."""
    net = build_layered(spec)
    modules, names = [], {}
    shapes = [spec.in_shape, *layer_shapes(spec)]
    for i, (c, slot) in enumerate(zip(spec.stack, net.slots, strict=True)):
        if is_activation(c.name):
            modules.append(torch_activations[c.name].build(c.kwargs))
            continue
        module = torch_layers[c.name].build(c.kwargs)(shapes[i], spec.bias, dtype)
        modules.append(module)
        short = (
            {"weight": "W", "bias": "b"}
            if c.name in ("conv", "dense")
            else {"weight": "gamma", "bias": "beta"}
        )
        for key in [*dict(module.named_parameters()), *dict(module.named_buffers())]:
            if key != "num_batches_tracked":
                names[f"{short.get(key, key)}{slot.number}"] = f"{i}.{key}"
    return modules, names


class Twin:
    """A spec's PyTorch model, loss and optimizer (single-tensor path, as the CPU default)."""

    def __init__(self, spec: Spec):
        self.spec = spec
        self.dtype = TORCH_DTYPES[spec.dtype]
        self.names = param_names(spec)
        if spec.layered:
            layers, self.names_map = layered_modules(spec, self.dtype)
        else:
            layers = []
            for (n_in, n_out), a in zip(
                zip(spec.sizes[:-1], spec.sizes[1:], strict=False), spec.activations, strict=False
            ):
                layers.append(_Linear(n_in, n_out, bias=spec.bias, dtype=self.dtype))
                layers.append(torch_activations[a.name].build(a.kwargs))
            self.names_map = {n: torch_name(n) for n in self.names}
        self.module = nn.Sequential(*layers)
        named = dict(self.module.named_parameters())
        self.params = {n: named[self.names_map[n]] for n in self.names}
        bufs = dict(self.module.named_buffers())
        self.buffers = {n: bufs[k] for n, k in self.names_map.items() if n not in self.params}
        self.dropouts = (
            {
                f"mask{slot.number}": m
                for m, slot in zip(self.module, build_layered(spec).slots, strict=True)
                if isinstance(m, MaskedDropout)
            }
            if spec.layered
            else {}
        )
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

    # -- buffers (running statistics) ---------------------------------------------------
    def set_buffers(self, buffers: dict[str, Array]) -> None:
        """Copy scratch's running statistics in (bit-exact)."""
        with torch.no_grad():
            for n, b in self.buffers.items():
                b.copy_(torch.from_numpy(np.asarray(buffers[n])))

    def get_buffers(self) -> dict[str, Array]:
        return {n: b.detach().numpy().copy() for n, b in self.buffers.items()}

    def set_state(self, state: Any) -> None:
        """Make the torch optimizer's state equal scratch's ``state`` NamedTuple; for a
        layered net's ``NetState`` the running statistics too."""
        if isinstance(state, NetState):
            self.set_buffers(state.buffers)
            state = state.opt
        opt = self.optimizer
        opt.state.clear()
        step = int(state.step)
        if hasattr(opt, "lr_steps"):  # an lr schedule (torch_lr.scheduled)
            opt.lr_steps = step
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

    def set_masks(self, masks: dict[str, Array]) -> None:
        """Give every dropout layer scratch's mask for the next training forward pass."""
        for n, m in self.dropouts.items():
            if n not in masks:
                raise KeyError(f"no dropout mask {n!r}: pass the masks scratch's step returned")
            m.mask = torch.from_numpy(np.ascontiguousarray(masks[n]))

    def step(
        self,
        X: torch.Tensor,
        y: torch.Tensor,
        masks: dict[str, Array] | None = None,
        input_grad: bool = False,
    ) -> TwinStep:
        """Forward (training mode), loss, backward, optimizer step; everything read back as
        scratch arrays. ``masks``: scratch's dropout masks for this step; ``input_grad``: also
        return dL/dX."""
        self.optimizer.zero_grad(set_to_none=True)
        self.module.train()
        if self.dropouts:
            self.set_masks(masks or {})
        if input_grad:
            X = X.detach().clone().requires_grad_(True)
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
            self.get_buffers(),
            X.grad.numpy().copy() if input_grad else None,
        )

    def forward(self, X: torch.Tensor, mode: str = "eval") -> Array:
        """The output in ``mode`` ('eval': running statistics, no dropout), without a graph."""
        self.module.train(mode == "train")
        try:
            with torch.no_grad():
                return self.module(X).numpy().copy()
        finally:
            self.module.train()
