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
        from nnparity.scratch.spec_layers import is_activation

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


CONFIG_COLUMNS = ("config", "spec", "mode", "framework", *SPEC_COLUMNS, "status", "error")
RECORD_COLUMNS = ("config", *FIELDS)


def to_tables(outcomes: Sequence[Outcome]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``outcomes`` as two typed tables: the configurations (one row each: ``config`` id, spec,
    mode, the spec's axes, status, error message) and the records (one row per step x stage x
    tensor, keyed by ``config``; columns ``RECORD_COLUMNS``)."""
    per_spec: dict[str, dict[str, str]] = {}
    confs: list[dict[str, Any]] = []
    recs: list[tuple[Any, ...]] = []
    for i, o in enumerate(outcomes):
        axes = per_spec.setdefault(o.spec, spec_columns(o.spec))
        mode, _, fw = o.mode.partition("@")  # 'free@jax': held to JAX (sweep.with_framework)
        confs.append(
            {"config": i, "spec": o.spec, "mode": mode, "framework": fw or "torch", **axes,
             "status": o.status, "error": o.error}
        )  # fmt: skip
        recs += [(i, *r) for r in o.records]
    configurations = pd.DataFrame(confs, columns=list(CONFIG_COLUMNS))
    configurations["config"] = configurations["config"].astype("int64")
    records = pd.DataFrame(recs, columns=list(RECORD_COLUMNS))
    records["shape"] = ["x".join(map(str, v)) if v is not None else "" for v in records["shape"]]
    return configurations.astype({c: str for c in CONFIG_COLUMNS[1:]}), typed_records(records)


def typed_records(records: pd.DataFrame) -> pd.DataFrame:
    """``records`` with one dtype per column: integers int64, floats float64, flags bool,
    text str."""
    out = records.copy()
    for c in ("config", *INTS):
        out[c] = pd.to_numeric(out[c]).astype("int64")
    for c in FLOATS:
        if c in out.columns:
            out[c] = pd.to_numeric(out[c], errors="coerce").astype("float64")
    for c in BOOLS:
        out[c] = out[c].astype(bool)
    for c in ("stage", "tensor", "shape", "judged_by"):
        out[c] = out[c].fillna("").astype(str)
    return out


def join(configurations: pd.DataFrame, records: pd.DataFrame) -> pd.DataFrame:
    """The tidy frame (``COLUMNS``) of the two tables ``to_tables`` makes: each record with
    its configuration's columns, plus one message row (step, stage and tensor empty) per
    configuration that raised, went non-finite or has no records (see the module
    docstring)."""
    recs = records.assign(error="")
    has = set(recs["config"])
    msg = configurations[(configurations["error"] != "") | ~configurations["config"].isin(has)]
    message = pd.DataFrame(
        {
            "config": msg["config"].to_numpy(),
            "error": msg["error"].to_numpy(),
            "passed": (msg["status"] == "pass").to_numpy(),
            "nonfinite": msg["status"].isin(("diverged", "fail")).to_numpy(),
        }
    )  # a fail's message: non-finite
    rows = pd.concat([recs, message], ignore_index=True, sort=False)
    rows = rows.sort_values("config", kind="stable", ignore_index=True)
    axes = configurations.drop(columns="error").set_index("config")
    frame = axes.reindex(rows["config"]).reset_index().join(rows.drop(columns="config"))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = frame["oracle_scratch"] / frame["oracle_torch"]
    both0 = (frame["oracle_scratch"] == 0) & (frame["oracle_torch"] == 0)
    frame["oracle_ratio"] = ratio.where(~both0, 1.0)
    frame = frame[list(COLUMNS)]
    for c in FLOATS:
        frame[c] = frame[c].astype("float64")
    for c in INTS:
        frame[c] = frame[c].astype("Int64")
    for c in BOOLS:
        frame[c] = frame[c].fillna(False).astype(bool)
    for c in ("stage", "tensor", "shape", "judged_by", "error"):
        frame[c] = frame[c].fillna("").astype(str)
    return frame


def to_frame(outcomes: Sequence[Outcome]) -> pd.DataFrame:
    """The tidy frame of ``outcomes`` (columns ``COLUMNS``; see the module docstring)."""
    return join(*to_tables(outcomes))


def usable(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows of configurations whose numbers mean something (status pass or fail): the tables
    leave out the ones that raised or diverged, which the report lists on their own. Rows held
    to PyTorch only (``framework == 'torch'``): other references have their own table
    (``tables.frameworks``)."""
    return usable_all(frame[frame["framework"] == "torch"])


def usable_all(frame: pd.DataFrame) -> pd.DataFrame:
    """``usable`` over every framework."""
    return frame[frame["status"].isin(("pass", "fail")) & (frame["stage"] != "")]
