"""The report's first lines: one sentence that answers "does scratch hold PyTorch?", then the
few facts a reader looks for next (where it came closest to its tolerance, with the command
that replays it; how far float32 drifts from float64)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import tables
from .frame import usable
from .render import cell


def verdict(frame: pd.DataFrame, n_tasks: int) -> str:
    """``'N configurations: P agree with PyTorch within tolerance, F disagree, D diverged alike
    on both sides (exploded training)'``, plus those that raised and those not run."""
    status = frame.drop_duplicates("config")["status"].value_counts()
    n = int(status.sum())
    text = (
        f"{n_tasks} configurations: {int(status.get('pass', 0))} agree with PyTorch within "
        f"tolerance, {int(status.get('fail', 0))} disagree, {int(status.get('diverged', 0))} "
        "diverged alike on both sides (exploded training)"
    )
    if status.get("error", 0):
        text += f", {int(status['error'])} raised an error (no verdict)"
    if n < n_tasks:
        text += f"; {n_tasks - n} not run yet (the same command with --resume runs them)"
    return text


def highlights(frame: pd.DataFrame) -> list[str]:
    """The configuration closest to (or furthest past) its tolerance with its replay command,
    and the largest float32 drift from float64 (trainings that exploded left out)."""
    out = []
    worst = tables.worst(frame, n=1)
    if not worst.empty:
        w = worst.iloc[0]
        out.append(
            f"Closest to its tolerance: {cell(float(w['of tolerance']))} of it "
            f"({'failed' if w['status'] == 'fail' else 'passed'}, judged by {w['judged_by']}), "
            f"{w['mode']} mode, {w['where']}; replay: {w['command']}"
        )
    drift = _drift(frame)
    if drift is not None:
        out.append(drift)
    return out


def _drift(frame: pd.DataFrame) -> str | None:
    """The float32 comparison furthest from a float64 run, scratch's error next to PyTorch's."""
    u = usable(frame)
    u = u[(u["dtype"] == "float32") & np.isfinite(u["oracle_scratch"])]
    boom = tables.loss_growth(frame)
    u = u[~u["config"].isin(boom[boom > tables.EXPLODED].index)]
    if u.empty:
        return None
    r = u.loc[u["oracle_scratch"].idxmax()]
    return (
        f"Largest float32 drift from float64: scratch {cell(float(r['oracle_scratch']))}, "
        f"PyTorch's own {cell(float(r['oracle_torch']))} (absolute), in '{r['spec']}', "
        f"{r['mode']} mode, step {r['step']} / {r['stage']} / {r['tensor']}"
    )
