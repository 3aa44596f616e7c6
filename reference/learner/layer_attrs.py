"""What ``from_layers`` reads off each layer: its weight and bias attributes (or paths below
it), and, where they are missing, the usual names among the arrays it does hold."""

from __future__ import annotations

from typing import Any

import numpy as np

from .paths import LearnerError, get


def has_attributes(layer: Any, names: dict[str, str], dw: str, db: str) -> None:
    """A ``LearnerError`` naming the layer's own arrays when it lacks an attribute named in
    ``names`` (the gradient attributes may appear only after the first backward pass)."""
    missing = [  # gradient attributes often appear only after the first backward pass
        (k, v) for k, v in names.items() if k in ("weights", "biases") and not _reaches(layer, v)
    ]  # (a path below the layer too, numpy-ml's "parameters['W']": review s59c F4)
    if not missing:
        return
    held = list(getattr(layer, "__dict__", {}).values())
    held += [x for v in held if isinstance(v, dict) for x in v.values()]  # numpy-ml's dicts
    if not any(isinstance(v, np.ndarray) and v.ndim >= 2 for v in held):  # ReLU, Flatten, ...
        raise LearnerError(
            f"{type(layer).__name__} holds no weights: pass from_layers only the layers with "
            "parameters (model.layers[i] for each dense or conv layer), in order; the others "
            "are the spec's activations and shape layers"
        )
    arrays = (
        [
            a
            for a in sorted(vars(layer))
            if hasattr(layer, "__dict__")
            if isinstance(getattr(layer, a), np.ndarray) or getattr(layer, a) is None
        ]
        if hasattr(layer, "__dict__")
        else []
    )
    cls = type(layer).__name__
    which = ", ".join(repr(v) for _, v in missing)
    its = f"; its arrays are {', '.join(arrays)}" if arrays else ""
    guess = _guess(arrays)
    hint = (
        ": pass " + ", ".join(f"{k}={v!r}" for k, v in guess.items())
        if guess
        else ": pass weights=, biases=, dweights=, dbiases= with its attribute names"
    )
    raise LearnerError(f"{cls} has no {which}{its}{hint} to from_layers")


def _reaches(layer: Any, path: str) -> bool:
    try:
        get(layer, path)
    except LearnerError:
        return False
    return True


def _guess(arrays: list[str]) -> dict[str, str]:
    """The usual attribute names among ``arrays``: W/b/dW/db, w/b/dw/db, weight/bias/..."""
    for w, b in (
        ("W", "b"),
        ("w", "b"),
        ("weight", "bias"),
        ("weights", "biases"),
        ("kernel", "bias"),
    ):
        dws = [f"d{w}", f"grad_{w}", f"{w}_grad", f"d_{w}"]
        dbs = [f"d{b}", f"grad_{b}", f"{b}_grad", f"d_{b}"]
        dw = next((x for x in dws if x in arrays), None)
        db = next((x for x in dbs if x in arrays), None)
        if w in arrays:
            out = {"weights": w}
            if b in arrays:
                out["biases"] = b
            if dw:
                out["dweights"] = dw
            if db and b in arrays:
                out["dbiases"] = db
            return out
    return {}
