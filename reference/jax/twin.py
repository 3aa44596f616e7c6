"""The JAX twin of a spec: the same dense layers, loss and optimizer as scratch and the PyTorch
twin, in scratch's own layout (W (in, out), as JAX and Flax kernels), from the same parameters
and data. ``step`` returns ``TwinStep(out, loss, grads, params, state)`` exactly as
``reference.twin.Twin.step`` does (state keys are PyTorch's ``optimizer.state`` keys), so the
three can be compared record by record.

Forward: ``z = a @ W + b``, ``a = f(z)`` per layer; gradients from ``jax.value_and_grad`` of the
loss. The whole step (forward, grad, update) is one ``jax.jit`` function, compiled once per
twin: op-by-op eager dispatch compiles every primitive for every new shape, which took seconds
per spec, and jit and eager give the same bits on CPU (CONVENTIONS.md section 5). Every JAX
call runs inside ``precision(spec.dtype)``.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from nnparity.reference.twin import TwinStep
from nnparity.scratch import Spec, param_names

from .runtime import precision
from .variants import jax_activations, jax_losses, jax_optimizers

Array = np.ndarray


def _numpy(tree: dict[str, Any], names: list[str]) -> dict[str, Array]:
    """name -> fresh NumPy array, in ``names`` order (JAX returns dicts with sorted keys)."""
    return {n: np.array(tree[n]) for n in names}


class JaxTwin:
    """A spec's network, loss and optimizer in JAX, holding parameters and optimizer state."""

    def __init__(self, spec: Spec):
        self.spec = spec
        self.names = param_names(spec)
        self.acts = tuple(jax_activations[a.name].build(a.kwargs) for a in spec.activations)
        self.loss_fn = jax_losses[spec.loss.name].build(spec.loss.kwargs)
        self.opt = jax_optimizers[spec.opt.name].build(spec.opt.kwargs)
        self.params: dict[str, Any] = {}
        self.state: dict[str, Any] | None = None
        self._train_step = jax.jit(self._pure_step)
        self._init = jax.jit(self.opt.init)

    # -- parameters and state, in scratch's layout -----------------------------------------
    def set_params(self, params: dict[str, Array]) -> None:
        """Copy scratch's arrays in (bit-exact; same layout)."""
        with precision(self.spec.dtype):
            self.params = {n: jnp.asarray(np.array(params[n], self.spec.dtype)) for n in self.names}
            if self.state is None:
                self.state = self._fresh_state()

    def get_params(self) -> dict[str, Array]:
        return _numpy(self.params, self.names)

    def set_state(self, state: Any) -> None:
        """Make the optimizer state equal scratch's ``state`` NamedTuple (fields named as
        PyTorch's keys, each a dict name -> array, ``step`` an int)."""
        with precision(self.spec.dtype):
            fresh = self._fresh_state()
            for key, bufs in state._asdict().items():
                if key == "step":
                    fresh["step"] = int(bufs)
                elif bufs and fresh.get(key):
                    fresh[key] = {n: jnp.asarray(np.array(bufs[n])) for n in self.names}
            self.state = fresh

    def _fresh_state(self) -> dict[str, Any]:
        state = self._init(self.params)
        return {**state, "step": int(state["step"])}

    def get_state(self) -> dict[str, Any]:
        """``{'step': int, field: {name: array}}``: the fields PyTorch's state holds."""
        assert self.state is not None, "set_params first"
        out: dict[str, Any] = {}
        if self.opt.counts_steps:
            out["step"] = int(self.state["step"])
        for key, bufs in self.state.items():
            if key != "step" and bufs:
                out[key] = _numpy(bufs, self.names)
        return out

    # -- one training step -------------------------------------------------------------------
    def forward(self, params: dict[str, Any], X: Any) -> Any:
        a = X
        for l, f in enumerate(self.acts, start=1):
            z = a @ params[f"W{l}"]
            if self.spec.bias:
                z = z + params[f"b{l}"]
            a = f(z)
        return a

    def tensors(self, X: Array, y: Array) -> tuple[Array, Array]:
        """The data as NumPy arrays of the spec's dtype (class indices stay integers)."""
        X = np.ascontiguousarray(X, dtype=self.spec.dtype)
        y = np.ascontiguousarray(y if y.dtype.kind in "iu" else y.astype(self.spec.dtype))
        return X, y

    def _pure_step(self, params: dict[str, Any], state: dict[str, Any], X: Any, y: Any) -> Any:
        def objective(ps: dict[str, Any]) -> tuple[Any, Any]:
            out = self.forward(ps, X)
            return self.loss_fn(out, y), out

        (loss, out), grads = jax.value_and_grad(objective, has_aux=True)(params)
        new_params, new_state = self.opt.update(grads, state, params)
        return loss, out, grads, new_params, new_state

    def step(self, X: Array, y: Array) -> TwinStep:
        """Forward, loss, ``jax.grad``, optimizer update; everything read back as NumPy."""
        if self.state is None:
            raise RuntimeError("JaxTwin.step before set_params: copy scratch's weights in first")
        with precision(self.spec.dtype):
            state = {**self.state, "step": jnp.asarray(self.state["step"], jnp.int32)}
            loss, out, grads, self.params, new_state = self._train_step(
                self.params, state, jnp.asarray(X), jnp.asarray(y)
            )
            self.state = {**new_state, "step": int(new_state["step"])}
            return TwinStep(
                np.array(out),
                float(loss),
                _numpy(grads, self.names),
                self.get_params(),
                self.get_state(),
            )
