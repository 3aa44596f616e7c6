"""The report's tables, each a pandas DataFrame computed from the tidy frame (``frame.py``).

Divergence is ``max_rel``, the largest relative difference |scratch - PyTorch| / |PyTorch| over
a tensor's elements (the denominator floored at 1e-6 x the tensor's largest value), maximised
over the configurations, modes and steps a cell covers: relative, so a trajectory whose values
grow large does not swamp the table. "of tolerance" (``tol_used``) is the largest
|diff| / allowed, so a value above 1 is outside tolerance. Tables of numbers leave out
configurations that raised or diverged (non-finite on both sides); ``errors`` lists them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from nnparity.scratch import activations, initializers

from .frame import usable, usable_all

STAGES = {"forward": "forward", "grad": "gradients", "update": "post-step weights"}
STAGE_ORDER = ("forward", "loss", "grad", "update", "optimizer_state")
OUTPUT_SUFFIX = " (output)"


def ordered(labels: pd.Series, registry_names: list[str]) -> list[str]:
    """Distinct labels in registry order of their base name, then first appearance."""
    seen = list(dict.fromkeys(labels))
    rank = {n: i for i, n in enumerate(registry_names)}
    return sorted(seen, key=lambda s: (rank.get(s.split("(")[0], len(rank)), seen.index(s)))


def _row_keyed(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with a ``row`` column: the hidden activation, plus a second copy of the rows
    whose output layer is an output-only activation (softmax...), labelled ``'name (output)'``."""
    outs = activations.names("output")
    hidden = frame.assign(row=frame["activation"])
    tail = frame[frame["output"].str.split("(").str[0].isin(outs)]
    tail = tail.assign(row=tail["output"] + OUTPUT_SUFFIX)
    return pd.concat([hidden, tail], ignore_index=True)


def activation_initializer(
    frame: pd.DataFrame, stage: str, dtype: str, value: str = "max_rel"
) -> pd.DataFrame:
    """Max divergence of ``stage`` at ``dtype``: rows activation, columns initializer, and a
    last column counting the row's configurations that failed."""
    df = _row_keyed(usable(frame))
    df = df[df["dtype"] == dtype]
    rows = ordered(df["row"], activations.names())
    cols = ordered(df["initializer"], initializers.names())
    table = (
        df[df["stage"] == stage]
        .pivot_table(index="row", columns="initializer", values=value, aggfunc="max")
        .reindex(index=rows, columns=cols)
    )
    failed = df[df["status"] == "fail"].groupby("row")["config"].nunique()
    table["failed"] = failed.reindex(rows).fillna(0).astype(int)
    table.index.name, table.columns.name = "activation", None
    return table


def loss_optimizer(
    frame: pd.DataFrame, dtype: str, stage: str = "update", value: str = "max_rel"
) -> pd.DataFrame:
    """Max divergence of ``stage`` (post-step weights by default) at ``dtype``: rows optimizer,
    columns loss."""
    every = usable(frame)
    df = every[(every["dtype"] == dtype) & (every["stage"] == stage)]
    table = df.pivot_table(index="optimizer", columns="loss", values=value, aggfunc="max")
    table = table.reindex(  # the order of the whole frame: the same rows in every dtype's table
        index=list(dict.fromkeys(every["optimizer"])), columns=list(dict.fromkeys(every["loss"]))
    )
    table.index.name, table.columns.name = "optimizer", None
    return table


def growth(frame: pd.DataFrame, stage: str = "update", value: str = "max_rel") -> pd.DataFrame:
    """Free-running drift of ``stage``: per activation and dtype, the max divergence at step 1,
    at the last step N, and their ratio N / 1."""
    df = usable(frame)
    df = df[(df["mode"] == "free") & (df["stage"] == stage)]
    if df.empty:
        return pd.DataFrame()
    last = int(df["step"].max())
    parts = []
    for dtype in sorted(df["dtype"].unique()):
        d = df[df["dtype"] == dtype]
        by = d.groupby(["activation", "step"])[value].max().unstack("step")
        first, end = by.get(1), by.get(last)
        parts.append(
            pd.DataFrame(
                {
                    f"{dtype} step 1": first,
                    f"{dtype} step {last}": end,
                    f"{dtype} growth": end / first.where(first > 0),
                }
            )
        )
    table = pd.concat(parts, axis=1)
    table = table.reindex(ordered(df["activation"], activations.names()))
    table.index.name = "activation"
    return table


def oracle(frame: pd.DataFrame, by: str = "activation") -> pd.DataFrame:
    """float32 error against the float64 oracle per ``by`` (activation or stage): scratch's
    and PyTorch's absolute error side by side (median and max over comparisons), and the median
    over comparisons of scratch's error / PyTorch's (near 1: scratch rounds like PyTorch;
    comparisons where both sides equal the oracle exactly are left out of the ratio)."""
    df = usable(frame)
    df = df[(df["dtype"] == "float32") & df["oracle_scratch"].notna()]
    if df.empty:
        return pd.DataFrame()
    growth = loss_growth(frame)
    boom = df["config"].isin(growth[growth > EXPLODED].index)
    exploded = df[boom].groupby(by)["config"].nunique()
    df = df[~boom]
    g = df.groupby(by)
    moved = df[(df["oracle_scratch"] > 0) | (df["oracle_torch"] > 0)]
    table = pd.DataFrame(
        {
            "scratch median": g["oracle_scratch"].median(),
            "PyTorch median": g["oracle_torch"].median(),
            "median ratio": moved.groupby(by)["oracle_ratio"].median(),
            "scratch max": g["oracle_scratch"].max(),
            "PyTorch max": g["oracle_torch"].max(),
            "comparisons": g.size(),
        }
    )
    table["exploded, left out"] = exploded.reindex(table.index).fillna(0).astype(int)
    names = STAGE_ORDER if by == "stage" else activations.names()
    table = table.reindex(ordered(pd.concat([df[by], exploded.index.to_series()]), list(names)))
    table["exploded, left out"] = table["exploded, left out"].fillna(0).astype(int)
    table.index.name = by
    return table


EXPLODED = 1e3  # a loss that grows more than this many times over a run: the training exploded


def loss_growth(frame: pd.DataFrame) -> pd.Series:
    """Per configuration (``config``): the largest finite loss over the run against the first
    step's (scratch's values; NaN where the first loss is zero or not finite). Above
    ``EXPLODED`` the training exploded, scratch and PyTorch alike: values, and with them
    absolute differences, grow by as much."""
    df = usable(frame)
    loss = df.loc[df["stage"] == "loss", ["config", "scratch_value"]]
    value = loss["scratch_value"].abs().where(np.isfinite(loss["scratch_value"]))
    g = value.groupby(loss["config"], sort=False)
    first = g.first()
    return g.max() / first.where(first > 0)


def worst(frame: pd.DataFrame, n: int = 15) -> pd.DataFrame:
    """The ``n`` specs closest to (or furthest past) their tolerance, one row each: the mode
    and comparison where the spec came closest, how it was judged (``tolerance``, or ``oracle``:
    outside tolerance but no further from float64 than PyTorch's own float32 error), how much
    its loss grew over the run, and the ``nnparity compare`` command that replays it."""
    df = usable(frame)
    if df.empty:
        return pd.DataFrame()
    idx = df.sort_values(["spec", "tol_used", "max_abs"], ascending=[True, False, False])
    top = idx.drop_duplicates("spec", keep="first")
    top = top.sort_values(["tol_used", "max_abs", "spec"], ascending=[False, False, True])
    top = top.head(n)
    steps = int(frame["step"].max())
    growth = loss_growth(frame)
    return pd.DataFrame(
        {
            "spec": top["spec"],
            "mode": top["mode"],
            "status": top["status"],
            "judged_by": top["judged_by"],
            "where": "step "
            + top["step"].astype(str)
            + " / "
            + top["stage"]
            + " / "
            + top["tensor"],
            "max_abs": top["max_abs"],
            "max_rel": top["max_rel"],
            "of tolerance": top["tol_used"],
            "loss grew": growth.reindex(top["config"]).to_numpy(),
            "command": [
                f"nnparity compare '{s}' --mode {m} --steps {steps}"
                for s, m in zip(top["spec"], top["mode"], strict=True)
            ],
        }
    ).reset_index(drop=True)


def coverage(frame: pd.DataFrame, dtype: str) -> pd.DataFrame:
    """Per activation x initializer at ``dtype`` (rows and columns as ``activation_initializer``
    plus those whose configurations all raised or diverged): ``"numbers"`` where some
    configuration has comparisons, ``"diverged"`` where none has and some diverged on both
    sides, ``"raised"`` where every one raised, ``"none"`` where no configuration was swept."""
    df = _row_keyed(frame[frame["dtype"] == dtype])
    rows = ordered(df["row"], activations.names())
    cols = ordered(df["initializer"], initializers.names())
    n = (df["status"].isin(("pass", "fail")) & (df["stage"] != "")).astype(int)
    div = (df["status"] == "diverged").astype(int)
    grid = df.assign(n=n, d=div).pivot_table(
        index="row", columns="initializer", values=["n", "d"], aggfunc="max"
    )
    has, diverged = (grid[k].reindex(index=rows, columns=cols) for k in ("n", "d"))
    out = pd.DataFrame("none", index=has.index, columns=has.columns)
    out[has == 1] = "numbers"
    out[(has == 0) & (diverged == 1)] = "diverged"
    out[(has == 0) & (diverged == 0)] = "raised"
    out.index.name, out.columns.name = "activation", None
    return out


def failed_cells(frame: pd.DataFrame, dtype: str) -> pd.DataFrame:
    """Per activation x initializer at ``dtype``: True where some configuration failed."""
    df = _row_keyed(frame[frame["dtype"] == dtype])
    f = df.assign(f=df["status"] == "fail").pivot_table(
        index="row", columns="initializer", values="f", aggfunc="max"
    )
    return f.fillna(False).astype(bool)


def errors(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per configuration that raised, diverged or went non-finite: spec, mode, status,
    message."""
    df = frame[frame["error"] != ""]
    cols = ["spec", "mode"] + (["framework"] if frame["framework"].nunique() > 1 else [])
    return df[[*cols, "status", "error"]].reset_index(drop=True)


def summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Per dtype and mode: configurations, how many passed, failed, diverged, raised and
    exploded (the loss grew more than ``EXPLODED``-fold, scratch and PyTorch alike), and the
    largest relative difference and fraction of tolerance ('inf': non-finite on one side)."""
    configs = frame.drop_duplicates("config")
    keys = ["dtype", "mode"] + (["framework"] if frame["framework"].nunique() > 1 else [])
    counts = (
        configs.groupby(keys)["status"]
        .value_counts()
        .unstack(fill_value=0)
        .reindex(columns=["pass", "fail", "diverged", "error"], fill_value=0)
    )
    counts.insert(0, "configurations", counts.sum(axis=1))
    growth = loss_growth(frame)
    boom = configs.set_index("config").reindex(growth[growth > EXPLODED].index)
    counts["exploded"] = boom.groupby(keys).size().reindex(counts.index, fill_value=0).astype(int)
    u = usable_all(frame).groupby(keys)
    counts["max_rel"] = u["max_rel"].max()
    counts["of tolerance"] = u["tol_used"].max()
    counts.columns.name = None
    return counts.rename(columns={"pass": "passed", "fail": "failed", "error": "raised"})


def frameworks(frame: pd.DataFrame) -> pd.DataFrame:
    """PyTorch against JAX, per dtype and mode, over the configurations swept against both
    (``nnparity report --against torch,jax``): scratch's largest relative difference from each
    and the configurations that fail against PyTorch only (scratch agrees with JAX: PyTorch's
    convention or a borderline), against JAX only, and against both (scratch is the odd one
    out when PyTorch and JAX agree). Empty when one framework only was swept."""
    df = frame[frame["status"].isin(("pass", "fail"))]
    both = df.groupby(["spec", "mode"])["framework"].nunique()
    keep = both[both > 1].index
    df = df.set_index(["spec", "mode"]).loc[lambda d: d.index.isin(keep)].reset_index()
    if df.empty:
        return pd.DataFrame()
    per = df.drop_duplicates(["spec", "mode", "framework"]).pivot_table(
        index=["dtype", "mode", "spec"], columns="framework", values="status", aggfunc="first"
    )
    t_fail, j_fail = per.get("torch") == "fail", per.get("jax") == "fail"
    rel = usable_all(df).pivot_table(
        index=["dtype", "mode"], columns="framework", values="max_rel", aggfunc="max"
    )
    g = ["dtype", "mode"]
    table = pd.DataFrame(
        {
            "configurations": per.groupby(level=g).size(),
            "max_rel vs PyTorch": rel.get("torch"),
            "max_rel vs JAX": rel.get("jax"),
            "fail vs PyTorch only": (t_fail & ~j_fail).groupby(level=g).sum(),
            "fail vs JAX only": (j_fail & ~t_fail).groupby(level=g).sum(),
            "fail vs both": (t_fail & j_fail).groupby(level=g).sum(),
        }
    )
    table.columns.name = None
    return table


HOLDS_ARRAYS = ("conv", "dense", "batchnorm", "layernorm", "dropout")


def _layer_names(spec: str) -> dict[str, str]:
    """Layer number -> layer type of a spec ('1' -> 'conv'); a dense spec's layers are dense."""
    from nnparity.scratch import Spec

    s = Spec.parse(spec)
    numbered = [c.name for c in s.stack if c.name in HOLDS_ARRAYS]
    return {str(i): name for i, name in enumerate(numbered, start=1)}


def layer_types(frame: pd.DataFrame) -> pd.DataFrame:
    """Per layer type x dtype: the largest fraction of its allowance any comparison of that
    layer's arrays used (gradients, post-step weights, optimizer state, running statistics of
    every layer of that type; forward, loss and eval records belong to no one layer). Layers
    without arrays (activations, pooling, flatten) show in the gradients of the layers below."""
    df = usable(frame)
    df = df[df["stage"].isin(("grad", "update", "optimizer_state", "buffers"))]
    if df.empty:
        return pd.DataFrame()
    names = {s: _layer_names(s) for s in df["spec"].unique()}
    number = df["tensor"].str.extract(r"(\d+)$", expand=False).fillna("")
    kind = [names[s].get(n, "") for s, n in zip(df["spec"], number, strict=True)]
    df = df.assign(layer=kind)
    df = df[df["layer"] != ""]
    grid = df.pivot_table(index="layer", columns="dtype", values="tol_used", aggfunc="max")
    grid = grid.reindex(index=[n for n in HOLDS_ARRAYS if n in grid.index])
    grid.index.name, grid.columns.name = "layer type", None
    return grid
