"""The report's summary paragraph: configurations, verdicts and each dtype's worst comparison."""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import tables
from .checkpoint import Outcome
from .frame import usable
from .matrix_file import Plan
from .render import cell


def summary(frame: pd.DataFrame, plan: Plan, n_tasks: int, outcomes: list[Outcome]) -> str:
    """One readable paragraph: how many configurations, how many passed, worst per dtype."""
    status = pd.Series([o.status for o in outcomes], dtype=str).value_counts()
    n = len(outcomes)
    modes = ", ".join(plan.modes)
    head = (
        f"{len(plan.specs)} specs x {len(plan.modes)} mode(s) ({modes}) = {n_tasks} "
        f"configurations, {plan.steps} step(s) each"
    )
    if n < n_tasks:
        head += f" (partial: {n} finished; run again with --resume to finish)"
    words = {
        "pass": "passed",
        "fail": "failed parity",
        "diverged": "diverged (non-finite on both sides: the model, not the code)",
        "error": "raised an error",
    }
    counts = ", ".join(
        f"{int(status.get(k, 0))} {w}"
        for k, w in words.items()
        if k in ("pass", "fail") or status.get(k, 0)
    )
    n_cmp = int((frame["stage"] != "").sum())
    parts = [f"{head}; {n_cmp:,} comparisons: {counts}."]
    u = usable(frame)
    parts += [_dtype_sentence(u[u["dtype"] == d], d) for d in sorted(u["dtype"].unique())]
    parts += _one_side_sentence(u) + _exploded_sentence(frame)
    if not u.empty:
        parts.append(
            "The 'Worst configurations' table lists the configurations closest to their "
            "tolerance, with a command to replay each."
        )
    return " ".join(parts)


def _where(r: pd.Series) -> str:
    return f"step {r['step']} / {r['stage']} / {r['tensor']}"


def _dtype_sentence(d: pd.DataFrame, dtype: str) -> str:
    """The dtype's worst fraction of tolerance (finite comparisons) and the configuration it
    comes from; then its largest relative difference, with its configuration and how much of
    tolerance that comparison used."""
    d = d[np.isfinite(d["tol_used"]) & np.isfinite(d["max_rel"])]
    if d.empty:
        return f"{dtype}: no finite comparison."
    r = d.loc[d["tol_used"].idxmax()]
    if not r["passed"]:
        verdict = "failed: outside tolerance"
    elif r["judged_by"] == "oracle":
        verdict = (
            "passed, judged by the float64 oracle: outside tolerance, but scratch is no "
            "further from float64 than PyTorch's own float32 error"
        )
    else:
        verdict = "passed"
    text = (
        f"{dtype}: at worst {cell(float(r['tol_used']))} of tolerance ({verdict}), in "
        f"'{r['spec']}' ({r['mode']} mode, {_where(r)})"
    )
    m = d.loc[d["max_rel"].idxmax()]
    same = "the same configuration" if m["config"] == r["config"] else "the same spec"
    where = (
        f"{same} ({m['mode']} mode, {_where(m)})"
        if m["spec"] == r["spec"]
        else f"'{m['spec']}' ({m['mode']} mode, {_where(m)})"
    )
    text += (
        f"; the largest relative difference, {cell(float(m['max_rel']))}, is in {where}, "
        f"and used {cell(float(m['tol_used']))} of tolerance"
    )
    if m["tol_used"] <= 1 and m["max_rel"] > m["rtol"]:
        text += (
            " (within it: a relative difference is large on an element small next to its "
            "tensor's largest)"
        )
    return text + "."


def _one_side_sentence(u: pd.DataFrame) -> list[str]:
    """The configurations non-finite on one side only (infinite differences), which the
    figures above leave out, and where the first one went."""
    bad = u[u["nonfinite"] & np.isinf(u["max_abs"])]
    if bad.empty:
        return []
    n = bad["config"].nunique()
    r = bad.iloc[0]
    return [
        f"{n} configuration{'s' if n > 1 else ''} went non-finite on one side only: "
        f"{'failures' if n > 1 else 'a failure'}, with infinite differences, left out of the "
        f"figures above (first '{r['spec']}', {r['mode']} mode, at {_where(r)}: scratch "
        f"{float(r['scratch_value'])!r}, PyTorch {float(r['torch_value'])!r})."
    ]


def _exploded_sentence(frame: pd.DataFrame) -> list[str]:
    """The configurations whose training exploded (finite, but the loss grew more than
    ``tables.EXPLODED``-fold): why their absolute differences are huge."""
    growth = tables.loss_growth(frame)
    boom = growth[growth > tables.EXPLODED]
    if boom.empty:
        return []
    n = len(boom)
    return [
        f"{n} configuration{'s' if n > 1 else ''} exploded, scratch and PyTorch alike (the "
        f"loss grew up to {cell(float(boom.max()))}-fold over the run, values staying "
        "finite): absolute differences grow with the values, so they are judged relative to "
        "them ('loss grew' in the 'Worst configurations' table)."
    ]
