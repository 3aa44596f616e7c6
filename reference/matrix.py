"""Configuration matrices: the specs the CI suite and the reports sweep over.

Axes list the variants (with hyperparameters) of each kind; by default every registered
activation, initializer, loss and optimizer, plus hyperparameter settings that take other code
paths (momentum, nesterov, amsgrad, centered, label smoothing, reductions).

- ``covering``: every (hidden activation, initializer) pair at every dtype, with the
  (loss, optimizer) pairs dealt round-robin over them so that every (loss, optimizer) pair
  appears at every dtype too; plus the output-only activations (softmax, log_softmax).
- ``product``: the full Cartesian product (``--full``).

Network shape: ``in-h1-h2-out``, both hidden layers with the row's activation; the output
activation and width follow from the loss (bce: 1 unit after sigmoid; cross_entropy: 3 logits;
nll: 3 units after log_softmax; regression losses: 3 units, identity).

The layer axis (``Axes.layers``): layered bodies (input shape and hidden layers, ``{act}``
standing for the row's activation), each closed by ``dense(width)`` and the loss's output
activation. Together they hold every layer type (conv with stride 2 and padding, max and
average pooling with overlapping windows, batchnorm over features and over channels, at batch
2 too, layernorm, dropout). ``covering`` deals them each a row of the other axes per dtype;
``product`` (``--full``) crosses each body with every (activation, initializer) pair and every
(loss, optimizer) pair at every dtype (the covering design per body: 2,520 specs, where the
full product of all six axes would be 250,000).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from functools import lru_cache

from nnparity.scratch import Spec, activations, initializers, losses

DTYPES = ("float32", "float64")

OPTIMIZERS = (
    "sgd(lr=0.1)",
    "sgd(lr=0.05,momentum=0.9)",
    "sgd(lr=0.05,momentum=0.9,nesterov=true)",
    "sgd(lr=0.05,momentum=0.5,dampening=0.3,weight_decay=0.01)",
    "adam(lr=0.01)",
    "adam(lr=0.01,weight_decay=0.01,amsgrad=true)",
    "adamw(lr=0.01)",
    "rmsprop(lr=0.01)",
    "rmsprop(lr=0.01,momentum=0.5,centered=true,weight_decay=0.01)",
    "adagrad(lr=0.1)",
    "adagrad(lr=0.1,lr_decay=0.01,initial_accumulator_value=0.1,weight_decay=0.01)",
)
LOSSES = (
    "mse",
    "mse(reduction=sum)",
    "half_sse",
    "huber(delta=0.5)",
    "bce",
    "bce_with_logits",
    "cross_entropy",
    "cross_entropy(label_smoothing=0.1)",
    "nll",
    "sse",  # then l1, last: the matrices' earlier configurations keep their pairs
    "l1",
)
# The margin losses: rows of their own in each built-in design (every optimizer in the full
# product), not a product axis: crossed with every other axis they grew the full matrix past its
# memory budget. A matrix file lists them under ``losses`` like any other.
MARGIN_LOSSES = ("hinge", "multi_margin(reduction=batch)")
SYMMETRIC = ("zeros", "constant")
# (body, batch): None keeps Axes.batch
LAYER_NETS: tuple[tuple[str, int | None], ...] = (
    ("1x6x6 conv(3,k=3,stride=2,pad=1) {act} maxpool(2,stride=1) flatten", None),
    ("1x6x6 conv(2,k=3) {act} avgpool(2,stride=1) flatten", None),
    ("1x8x8 conv(4,k=3,pad=1) {act} maxpool(2) flatten dense(16) batchnorm {act} dropout(0.25)",
     None),
    ("2x4x4 batchnorm {act} flatten", None),
    ("6 dense(5) batchnorm {act}", 2),
    ("6 dense(5) layernorm {act}", None),
    ("6 dense(5) {act} dropout(0.25)", None),
)  # fmt: skip
EXTRA_ACTIVATIONS = ("leaky_relu(slope=0.2)", "elu(alpha=2.0)", "gelu(approximate=tanh)")


def _hidden_activations() -> tuple[str, ...]:
    return (*activations.names("elementwise"), *EXTRA_ACTIVATIONS)


@dataclass(frozen=True)
class Axes:
    activations: tuple[str, ...] = field(default_factory=_hidden_activations)
    initializers: tuple[str, ...] = field(default_factory=lambda: tuple(initializers.names()))
    losses: tuple[str, ...] = LOSSES
    optimizers: tuple[str, ...] = OPTIMIZERS
    dtypes: tuple[str, ...] = DTYPES
    sizes: tuple[int, ...] = (4, 6, 5)  # input and hidden widths; the output follows the loss
    layers: tuple[tuple[str, int | None], ...] = LAYER_NETS
    margin_losses: tuple[str, ...] = MARGIN_LOSSES
    batch: int = 8
    seed: int = 0


def _width(loss: str) -> int:
    return 1 if loss in ("bce", "bce_with_logits", "hinge") else 3


def margin_rows(axes: Axes, dtype: str, every_optimizer: bool = False) -> list[Spec]:
    """The margin losses' rows at ``dtype``: each with an activation and a non-symmetric
    initializer dealt round-robin, and one optimizer (or, ``every_optimizer``, each)."""
    inits = [i for i in axes.initializers if i not in SYMMETRIC] or list(axes.initializers)
    opts = range(len(axes.optimizers)) if every_optimizer else None
    specs = []
    for j, loss in enumerate(axes.margin_losses):
        for k in opts if opts is not None else ((3 * j + 4) % len(axes.optimizers),):
            i = j * len(axes.optimizers) + k
            specs.append(make_spec(axes.activations[i % len(axes.activations)],
                                   inits[i % len(inits)], loss, axes.optimizers[k], dtype, axes,
                                   axes.seed + 2000 + i))  # fmt: skip
    return specs


def make_spec(
    act: str,
    init: str,
    loss: str,
    opt: str,
    dtype: str,
    axes: Axes,
    seed: int,
    output: str | None = None,
) -> Spec:
    """The matrix's spec for one configuration."""
    name = loss.split("(")[0]
    expects = losses[name].build().expects
    width = _width(name)
    out_act = output or expects or "identity"
    sizes = (*axes.sizes, width)
    acts = (act,) * (len(axes.sizes) - 1) + (out_act,)
    return Spec(
        sizes, acts, init=init, loss=loss, opt=opt, dtype=dtype, seed=seed, batch=axes.batch
    )


def make_layered(
    body: tuple[str, int | None], act: str, init: str, loss: str, opt: str, dtype: str,
    axes: Axes, seed: int,
) -> Spec:  # fmt: skip
    """The matrix's layered spec: ``body`` with the row's activation, closed by
    ``dense(width)`` and the loss's output activation (as ``make_spec``)."""
    name = loss.split("(")[0]
    expects = losses[name].build().expects
    width = _width(name)
    return _layered_head(body[0], act, width, expects or "identity").replace(
        init=init, loss=loss, opt=opt, dtype=dtype, seed=seed, batch=body[1] or axes.batch
    )


@lru_cache(maxsize=4096)
def _layered_head(text: str, act: str, width: int, out_act: str) -> Spec:
    head = text.replace("{act}", act) + f" dense({width})"
    return Spec.parse(head if out_act == "identity" else f"{head} {out_act}")


def layered(axes: Axes | None = None, full: bool = False) -> list[Spec]:
    """The layer axis: each body at every dtype, with a row of the other axes dealt
    round-robin (non-symmetric initializers), or (``full``) with every pair of them."""
    axes = axes or Axes()
    if full:  # per body: every (activation, initializer) and every (loss, optimizer) pair
        pairs = list(itertools.product(axes.losses, axes.optimizers))
        cells = list(itertools.product(axes.activations, axes.initializers))
        n = max(len(pairs), len(cells))
        rows = itertools.product(axes.dtypes, enumerate(axes.layers), range(n))
        return [
            make_layered(
                b,
                *cells[i % len(cells)],
                *pairs[i % len(pairs)],
                d,
                axes,
                axes.seed + 1000 + n * j + i,
            )  # fmt: skip
            for d, (j, b), i in rows
        ]
    inits = [i for i in axes.initializers if i not in SYMMETRIC] or list(axes.initializers)
    specs = []
    for dtype in axes.dtypes:
        for j, body in enumerate(axes.layers):
            loss = axes.losses[(j + 4) % len(axes.losses)]  # classification losses first
            opt = axes.optimizers[(3 * j + 4) % len(axes.optimizers)]  # adam first
            act = axes.activations[(3 * j + 1) % len(axes.activations)]
            specs.append(make_layered(body, act, inits[j % len(inits)], loss, opt, dtype, axes,
                                      axes.seed + 1000 + j))  # fmt: skip
    return specs


def covering(axes: Axes | None = None) -> list[Spec]:
    """Every (activation, initializer) pair x dtype; (loss, optimizer) pairs dealt round-robin."""
    axes = axes or Axes()
    pairs = list(itertools.product(axes.losses, axes.optimizers))
    cells = list(itertools.product(axes.activations, axes.initializers))
    # With constant weights a softmax-normalised loss gives every earlier layer a gradient of
    # exactly zero, and float32 trajectories become round-off. Symmetric cells are placed where
    # the round-robin deals the first (regression) losses.
    sym = [c for c in cells if c[1] in SYMMETRIC]
    rest = [c for c in cells if c[1] not in SYMMETRIC]
    if len(rest) >= len(pairs):
        cells = rest[: len(pairs)] + sym + rest[len(pairs) :]
    n = max(len(pairs), len(cells))
    specs = []
    for dtype in axes.dtypes:
        for i in range(n):
            act, init = cells[i % len(cells)]
            loss, opt = pairs[i % len(pairs)]
            specs.append(make_spec(act, init, loss, opt, dtype, axes, axes.seed + i))
        for j, out in enumerate(o for o in activations.names("output")):
            loss = "nll" if out == "log_softmax" else "mse"
            specs.append(
                make_spec(
                    axes.activations[j % len(axes.activations)],
                    axes.initializers[0],
                    loss,
                    axes.optimizers[0],
                    dtype,
                    axes,
                    axes.seed + n + j,
                    output=out,
                )
            )
        specs += margin_rows(axes, dtype)
    return specs + layered(axes)


def product(axes: Axes | None = None) -> list[Spec]:
    """The full Cartesian product of the axes."""
    axes = axes or Axes()
    combos = itertools.product(
        axes.dtypes, axes.activations, axes.initializers, axes.losses, axes.optimizers
    )
    dense = [
        make_spec(a, i, lo, o, d, axes, axes.seed + k) for k, (d, a, i, lo, o) in enumerate(combos)
    ]
    margins = [s for d in axes.dtypes for s in margin_rows(axes, d, every_optimizer=True)]
    return dense + margins + layered(axes, full=True)


def quick(axes: Axes | None = None) -> list[Spec]:
    """Every variant at least once per dtype (not every pair): a fast smoke sweep."""
    axes = axes or Axes()
    n = max(len(axes.activations), len(axes.initializers), len(axes.losses), len(axes.optimizers))
    specs = []
    for dtype in axes.dtypes:
        for i in range(n):
            specs.append(
                make_spec(
                    axes.activations[i % len(axes.activations)],
                    axes.initializers[i % len(axes.initializers)],
                    axes.losses[i % len(axes.losses)],
                    axes.optimizers[i % len(axes.optimizers)],
                    dtype,
                    axes,
                    axes.seed + i,
                )
            )
        specs += margin_rows(axes, dtype)
    return specs


MATRICES = {"quick": quick, "default": covering, "full": product}


def matrix(name: str = "default", axes: Axes | None = None) -> list[Spec]:
    """The named matrix: quick, default (covering) or full (product)."""
    from nnparity.scratch import SpecError

    if name not in MATRICES:
        raise SpecError(f"unknown matrix {name!r}; known: {', '.join(MATRICES)} or a TOML file")
    return MATRICES[name](axes)
