"""The JAX side of every registered variant, under the same name and hyperparameters as in
``scratch`` and ``reference.variants`` (a variant on one side only fails the test suite).

Each implements the spec's DECLARED math (PyTorch's conventions, CONVENTIONS.md sections 1, 2
and 4), not JAX's own defaults: ``jax.nn`` / ``optax`` where their equations are the declared
ones, written out in ``jax.numpy`` where they are not. Written out: leaky_relu (jax.nn's grad at 0
is 1, the declared one is the slope), hardtanh (jnp.clip's grad at a bound is 0.5, declared 0),
softplus (jax.nn has no beta and no threshold), bce (PyTorch's log clamp at -100 and its gradient
clamp p(1-p) >= float32(1e-12), as a custom VJP), sgd with dampening, adam/adamw with amsgrad
(optax's amsgrad takes the max of the bias-corrected second moment, PyTorch of the raw one),
adagrad (optax puts eps inside the square root and starts the sum at 0.1). Gradients come from
``jax.grad``, never from a hand-written formula, except bce's declared clamp.

Activations map z -> a; losses map (output, target) -> scalar; optimizers are
``JaxOptimizer(init, update, counts_steps)`` over dicts name -> array, with a state dict whose
keys are PyTorch's ``optimizer.state`` keys (``step``, ``momentum_buffer``, ``exp_avg``, ...);
``step`` may be a traced integer (the twin jit-compiles its training step), so nothing branches
on it in Python.
"""

from .activations import jax_activations
from .losses import jax_losses
from .optimizers import JaxOptimizer, jax_optimizers

__all__ = ["JaxOptimizer", "jax_activations", "jax_losses", "jax_optimizers"]
