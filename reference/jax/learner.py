"""``nnparity check --against jax``: the learner is checked against PyTorch as always; JAX then
triangulates the *reference numbers* the learner was judged by. The declared spec (the twin's
conventions) is run by scratch, the PyTorch twin and the JAX twin from the learner's initial
weights on the learner's data (whole batch, free mode), and the verdict line says whether
PyTorch's numbers are corroborated by an independent framework (all three agree) or which one
is the odd one out. It does not run the learner's own code against JAX."""

from __future__ import annotations

from typing import Any

from .triangulate import Triangulation, triangulate

PREFIX = "JAX triangulation of the declared spec at your initial weights"


def learner_triangulation(adapter: Any, X: Any, y: Any, steps: int) -> tuple[Any, str]:
    """(the ``Triangulation`` or None, one line to show). None when the declared conventions
    hold what a plain spec does not (an L2 penalty, softmax folded into the loss, frozen
    parameters): the line then says so."""
    from nnparity.reference.learner.targets import learner_data as _data

    if getattr(adapter, "layered", None) is not None:  # a layered spec= network
        return None, (
            f"{PREFIX}: not run: --against jax holds dense specs only (the JAX twin has no conv, "
            "pooling, normalisation or dropout layers)"
        )
    if X is None and adapter.data is not None:  # the adapter's own data=(X, y)
        X, y = adapter.data
    conv = adapter.conventions
    codec = adapter.bind()
    if conv.l2 or conv.softmax_out or getattr(codec, "frozen", None):
        return None, (
            f"{PREFIX}: not run: the declared conventions (an L2 penalty, a softmax output "
            "folded into the loss, or frozen parameters) have no plain spec for the JAX twin"
        )
    spec = conv.spec(codec.dtype)
    Xs, ys, _ = _data(spec, X, y)
    tri: Triangulation = triangulate(spec, steps, "free", params=adapter.read(), data=(Xs, ys))
    return tri, f"{PREFIX} (scratch's reference, PyTorch, JAX): {tri.verdict()}"
