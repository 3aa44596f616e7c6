"""The conventions probes: what to run on each side, and which setting to try."""

from __future__ import annotations

from typing import Any

import numpy as np

from .conventions_measure import Probe
from .conventions_runs import (
    _DRAW,
    _STEPS,
    _torch_uniform_bound,
    default,
    dense_name,
    jax_dense_stats,
    jax_grad,
    jax_value,
    optax_run,
    torch_grad,
    torch_linear_stats,
    torch_run,
    torch_value,
)


def _probes() -> list[Probe]:
    import jax
    import jax.numpy as jnp
    import optax
    import torch
    import torch.nn.functional as F

    nn = torch.nn
    probes: list[Probe] = []
    add = probes.append

    # activations: values and gradients where the conventions part
    add(
        Probe(
            "gelu(1): default approximation",
            lambda: torch_value(nn.GELU(), [1.0]),
            lambda: jax_value(jax.nn.gelu, [1.0]),
            "jax.nn.gelu(x, approximate=False)",
            jax_set=lambda: jax_value(lambda v: jax.nn.gelu(v, approximate=False), [1.0]),
        )
    )
    grid = np.linspace(-6.0, 6.0, 1201)
    add(
        Probe(
            "gelu on [-6, 6]: default approximation (max over the grid)",
            lambda: torch_value(nn.GELU(), grid),
            lambda: jax_value(jax.nn.gelu, grid),
            "jax.nn.gelu(x, approximate=False)",
            jax_set=lambda: jax_value(lambda v: jax.nn.gelu(v, approximate=False), grid),
        )
    )
    kink = [0.0]
    slope = default(nn.LeakyReLU, "negative_slope")
    add(
        Probe(
            "leaky_relu'(0): gradient at the kink",
            lambda: torch_grad(nn.LeakyReLU(), kink),
            lambda: jax_grad(jax.nn.leaky_relu, kink),
            f"jnp.where(x > 0, x, {slope} * x) (JAX)",
            jax_set=lambda: jax_grad(lambda v: jnp.where(v > 0, v, slope * v), kink),
        )
    )
    add(
        Probe(
            "leaky_relu: default negative slope",
            lambda: slope,
            lambda: default(jax.nn.leaky_relu, "negative_slope"),
        )
    )
    bounds = [-1.0, 1.0]
    add(
        Probe(
            "hardtanh'(-1), hardtanh'(1): gradient at the kinks",
            lambda: torch_grad(nn.Hardtanh(), bounds),
            lambda: jax_grad(jax.nn.hard_tanh, bounds),
            "jnp.where(x <= -1, -1, jnp.where(x >= 1, 1, x)) (JAX)",
            jax_set=lambda: jax_grad(
                lambda v: jnp.where(v <= -1.0, -1.0, jnp.where(v >= 1.0, 1.0, v)), bounds
            ),
        )
    )
    six = [0.0, 6.0]
    add(
        Probe(
            "relu6'(0), relu6'(6): gradient at the kinks",
            lambda: torch_grad(nn.ReLU6(), six),
            lambda: jax_grad(jax.nn.relu6, six),
        )
    )
    add(
        Probe(
            "relu'(0): gradient at the kink",
            lambda: torch_grad(nn.ReLU(), kink),
            lambda: jax_grad(jax.nn.relu, kink),
        )
    )
    add(
        Probe(
            "elu'(0): gradient at the kink",
            lambda: torch_grad(nn.ELU(), kink),
            lambda: jax_grad(jax.nn.elu, kink),
        )
    )
    add(
        Probe(
            "abs'(0): gradient at the kink",
            lambda: torch_grad(torch.abs, kink),
            lambda: jax_grad(jnp.abs, kink),
            "jnp.where(x == 0, 0, jnp.abs(x)) (JAX)",
            jax_set=lambda: jax_grad(lambda v: jnp.where(v == 0, 0.0, jnp.abs(v)), kink),
        )
    )
    unit = [0.0, 1.0]
    add(
        Probe(
            "clamp/clip(x, 0, 1)' at 0 and 1: gradient at the bounds",
            lambda: torch_grad(lambda v: torch.clamp(v, 0.0, 1.0), unit),
            lambda: jax_grad(lambda v: jnp.clip(v, 0.0, 1.0), unit),
            "jnp.where(x < 0, 0, jnp.where(x > 1, 1, x)) (JAX)",
            jax_set=lambda: jax_grad(
                lambda v: jnp.where(v < 0.0, 0.0, jnp.where(v > 1.0, 1.0, v)), unit
            ),
        )
    )
    threshold = default(nn.Softplus, "threshold")
    above = [threshold + 0.5]
    add(
        Probe(
            f"softplus({above[0]}): torch's threshold (returns x above it)",
            lambda: torch_value(nn.Softplus(), above),
            lambda: jax_value(jax.nn.softplus, above),
            f"jnp.where(x > {threshold}, x, jax.nn.softplus(x)) (JAX)",
            jax_set=lambda: jax_value(
                lambda v: jnp.where(v > threshold, v, jax.nn.softplus(v)), above
            ),
        )
    )
    wide = np.linspace(-10.0, 10.0, 201)
    for name, tf, jf in (
        ("sigmoid", torch.sigmoid, jax.nn.sigmoid),
        ("silu", F.silu, jax.nn.silu),
        ("mish", F.mish, jax.nn.mish),
        ("selu", F.selu, jax.nn.selu),
    ):
        add(
            Probe(
                f"{name} on [-10, 10]: values and gradients",
                lambda tf=tf: np.concatenate([torch_value(tf, wide), torch_grad(tf, wide)]),
                lambda jf=jf: np.concatenate([jax_value(jf, wide), jax_grad(jf, wide)]),
            )
        )

    # optimizers: defaults read from the signatures, and 50 steps on a fixed gradient sequence
    rms_lr = default(torch.optim.RMSprop, "lr")
    rms_alpha = default(torch.optim.RMSprop, "alpha")
    add(
        Probe(
            "RMSprop: default decay (torch alpha, optax decay)",
            lambda: rms_alpha,
            lambda: default(optax.rmsprop, "decay"),
        )
    )
    add(
        Probe(
            f"RMSprop defaults, lr={rms_lr}: parameters after {_STEPS} steps",
            lambda: torch_run(lambda ps: torch.optim.RMSprop(ps, foreach=False)),
            lambda: optax_run(optax.rmsprop(rms_lr)),
            f"optax.rmsprop(lr, decay={rms_alpha}, eps_in_sqrt=False)",
            jax_set=lambda: optax_run(optax.rmsprop(rms_lr, decay=rms_alpha, eps_in_sqrt=False)),
        )
    )
    ada_lr = default(torch.optim.Adagrad, "lr")
    ada_init = default(torch.optim.Adagrad, "initial_accumulator_value")
    ada_eps = default(torch.optim.Adagrad, "eps")
    add(
        Probe(
            "Adagrad: default initial accumulator",
            lambda: ada_init,
            lambda: default(optax.adagrad, "initial_accumulator_value"),
        )
    )
    add(
        Probe(
            "Adagrad: default eps (torch outside the root, optax inside)",
            lambda: ada_eps,
            lambda: default(optax.adagrad, "eps"),
        )
    )
    add(
        Probe(
            f"Adagrad defaults, lr={ada_lr}: parameters after {_STEPS} steps",
            lambda: torch_run(lambda ps: torch.optim.Adagrad(ps, foreach=False)),
            lambda: optax_run(optax.adagrad(ada_lr)),
            f"optax.adagrad(lr, initial_accumulator_value={ada_init}, eps=0) "
            "with torch Adagrad(eps=0)",
            torch_set=lambda: torch_run(lambda ps: torch.optim.Adagrad(ps, eps=0.0, foreach=False)),
            jax_set=lambda: optax_run(
                optax.adagrad(ada_lr, initial_accumulator_value=ada_init, eps=0.0)
            ),
        )
    )
    wd = default(torch.optim.AdamW, "weight_decay")
    adamw_lr = default(torch.optim.AdamW, "lr")
    add(
        Probe(
            "AdamW: default weight decay",
            lambda: wd,
            lambda: default(optax.adamw, "weight_decay"),
        )
    )
    add(
        Probe(
            f"AdamW defaults, lr={adamw_lr}: parameters after {_STEPS} steps",
            lambda: torch_run(lambda ps: torch.optim.AdamW(ps, foreach=False)),
            lambda: optax_run(optax.adamw(adamw_lr)),
            f"optax.adamw(lr, weight_decay={wd})",
            jax_set=lambda: optax_run(optax.adamw(adamw_lr, weight_decay=wd)),
        )
    )
    adam_lr = default(torch.optim.Adam, "lr")
    add(
        Probe(
            f"Adam defaults, lr={adam_lr}: parameters after {_STEPS} steps",
            lambda: torch_run(lambda ps: torch.optim.Adam(ps, foreach=False)),
            lambda: optax_run(optax.adam(adam_lr)),
        )
    )
    add(
        Probe(
            f"SGD momentum=0.9, lr={adam_lr}: parameters after {_STEPS} steps",
            lambda: torch_run(
                lambda ps: torch.optim.SGD(ps, lr=adam_lr, momentum=0.9, foreach=False)
            ),
            lambda: optax_run(optax.sgd(adam_lr, momentum=0.9)),
        )
    )
    add(
        Probe(
            "SGD: default learning rate",
            lambda: default(torch.optim.SGD, "lr"),
            lambda: default(optax.sgd, "learning_rate"),
        )
    )

    # default initializers of a dense layer: statistics of a large draw (streams differ)
    fan_in = _DRAW[0]
    for part, setting, init in (
        (
            "weight",
            "jax.nn.initializers.variance_scaling(1/3, 'fan_in', 'uniform')",
            lambda: jax.nn.initializers.variance_scaling(1 / 3, "fan_in", "uniform"),
        ),
        (
            "bias",
            f"jax.random.uniform(key, shape, minval=-1/sqrt({fan_in}), maxval=1/sqrt({fan_in}))",
            _torch_uniform_bound,
        ),
    ):
        add(
            Probe(
                f"nn.Linear vs {dense_name()}: default {part} init "
                f"({fan_in}->{_DRAW[1]}), (std, max |w|)",
                lambda part=part: torch_linear_stats(part),
                lambda part=part: jax_dense_stats(part),
                setting,
                jax_set=lambda part=part, init=init: jax_dense_stats(part, init()),
                rel_tol=0.02,
            )
        )

    # dtypes: a float64 NumPy array handed to each framework, x64 as JAX ships it (off)
    def jax_dtype() -> str:
        with jax.enable_x64(False):
            return str(jnp.asarray(np.zeros(1)).dtype)

    def jax_dtype_x64() -> str:
        with jax.enable_x64(True):
            return str(jnp.asarray(np.zeros(1)).dtype)

    add(
        Probe(
            "dtype of a float64 NumPy array converted (JAX with x64 off, its default)",
            lambda: str(torch.from_numpy(np.zeros(1)).dtype).replace("torch.", ""),
            jax_dtype,
            'jax.config.update("jax_enable_x64", True) or the jax.enable_x64 context',
            jax_set=jax_dtype_x64,
        )
    )
    return probes


class _Probes:
    """``PROBES``: built on first use (torch, jax and optax are imported then)."""

    def __iter__(self):  # noqa: ANN204
        return iter(_probes())


PROBES: Any = _Probes()
