"""Outcomes -> one tidy pandas DataFrame: the only place in nnparity where one is built.

A row per configuration (spec x mode) x step x stage x tensor, plus one row (step, stage and
tensor empty) carrying the message of each configuration that raised or went non-finite; in a
message row ``passed`` is false (true only for a configuration that passed without records)
and ``nonfinite`` says whether the message is about non-finite values, so both columns are
plain booleans throughout (a CSV reader infers one dtype for them). Rows
keep the sweep's order (the matrix's order, then the engine's), so the same seed gives the same
frame whatever order the workers finished in.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from nnparity.scratch import Spec

from .checkpoint import FIELDS, Outcome

SPEC_COLUMNS = ("activation", "output", "initializer", "loss", "optimizer", "dtype")
COLUMNS = (
    "config",
    "spec",
    "mode",
    "framework",
    *SPEC_COLUMNS,
    "status",
    *(f for f in FIELDS if f not in ("scratch_value", "torch_value")),
    "oracle_ratio",
    "scratch_value",
    "torch_value",
    "error",
)
FLOATS = (
    "max_abs",
    "max_rel",
    "tol_used",
    "rtol",
    "atol",
    "oracle_scratch",
    "oracle_torch",
    "oracle_ratio",
    "scratch_value",
    "torch_value",
)
INTS = ("step", "numel", "mismatched")
BOOLS = ("passed", "nonfinite")


def spec_columns(spec: str) -> dict[str, str]:
    """The spec's axes: hidden activation (the only one for one layer), output activation,
    initializer, loss, optimizer and dtype, each as written in the spec's one-line form."""
    s = Spec.parse(spec)
    if s.layered:  # the first activation layer, and the one the output comes out of
        from nnparity.scratch.spec import is_activation

        acts = [str(c) for c in s.layers if is_activation(c.name)] or ["identity"]
        hidden, out = acts[0], s.last_activation
    else:
        hidden, out = str(s.activations[0 if s.n_layers > 1 else -1]), str(s.activations[-1])
    return {
        "activation": hidden,
        "output": out,
        "initializer": str(s.init),
        "loss": str(s.loss),
        "optimizer": str(s.opt),
        "dtype": s.dtype,
    }


def to_frame(outcomes: Sequence[Outcome]) -> pd.DataFrame:
    """The tidy frame of ``outcomes`` (columns ``COLUMNS``; see the module docstring)."""
    cols: dict[str, list[Any]] = {c: [] for c in COLUMNS}
    per_spec: dict[str, dict[str, str]] = {}
    empty = dict.fromkeys(FIELDS)
    for i, o in enumerate(outcomes):
        axes = per_spec.setdefault(o.spec, spec_columns(o.spec))
        rows: list[dict[str, Any]] = [dict(zip(FIELDS, r, strict=True)) for r in o.records]
        message = {
            **empty,
            "error": o.error,
            "passed": o.status == "pass",
            "nonfinite": o.status in ("diverged", "fail"),  # a fail's message: non-finite
        }
        extra = [message] if o.error or not o.records else []
        for row in [*rows, *extra]:
            cols["config"].append(i)
            cols["spec"].append(o.spec)
            mode, _, fw = o.mode.partition("@")  # 'free@jax': held to JAX (sweep.with_framework)
            cols["mode"].append(mode)
            cols["framework"].append(fw or "torch")
            cols["status"].append(o.status)
            cols["error"].append(row.get("error", ""))
            for k, v in axes.items():
                cols[k].append(v)
            for f in FIELDS:
                v = row[f]
                cols[f].append("x".join(map(str, v)) if f == "shape" and v is not None else v)
    frame = pd.DataFrame({c: cols[c] for c in COLUMNS if c != "oracle_ratio"})
    for c in FLOATS:
        if c != "oracle_ratio":
            frame[c] = pd.to_numeric(frame[c], errors="coerce").astype("float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = frame["oracle_scratch"] / frame["oracle_torch"]
    ratio = ratio.where(~((frame["oracle_scratch"] == 0) & (frame["oracle_torch"] == 0)), 1.0)
    frame.insert(list(COLUMNS).index("oracle_ratio"), "oracle_ratio", ratio)
    for c in INTS:
        frame[c] = frame[c].astype("Int64")
    for c in BOOLS:
        frame[c] = frame[c].astype(bool)  # no missing values: one dtype in every CSV chunk
    for c in ("stage", "tensor", "shape", "judged_by"):
        frame[c] = frame[c].fillna("").astype(str)
    return frame


def usable(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows of configurations whose numbers mean something (status pass or fail): the tables
    leave out the ones that raised or diverged, which the report lists on their own. Rows held
    to PyTorch only (``framework == 'torch'``): other references have their own table
    (``tables.frameworks``)."""
    return usable_all(frame[frame["framework"] == "torch"])


def usable_all(frame: pd.DataFrame) -> pd.DataFrame:
    """``usable`` over every framework."""
    return frame[frame["status"].isin(("pass", "fail")) & (frame["stage"] != "")]
