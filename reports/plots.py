"""The report's PNG plots, drawn with matplotlib's Agg backend (no display needed, no pyplot
state): a heatmap of activation x initializer per dtype, and divergence against step per
activation. Each function returns PNG bytes; the PNGs carry no timestamp."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

from scratch import activations

from . import tables

PANELS = ("forward", "grad", "update")


def _png(fig: object) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)  # type: ignore[arg-type]
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, metadata={"Software": None})  # type: ignore[attr-defined]
    return buf.getvalue()


def _positive_floor(values: np.ndarray) -> float:
    pos = values[np.isfinite(values) & (values > 0)]
    return float(pos.min()) / 10 if pos.size else 1e-20


def heatmap(frame: pd.DataFrame, dtype: str) -> bytes:
    """Max relative |scratch - torch| per activation x initializer at ``dtype``, one panel per
    stage (forward, gradients, post-step weights), log colour scale; grey cells were not swept."""
    from matplotlib.colors import LogNorm
    from matplotlib.figure import Figure

    grids = {
        s: tables.activation_initializer(frame, s, dtype).drop(columns="failed") for s in PANELS
    }
    allv = np.concatenate([g.to_numpy(dtype=float).ravel() for g in grids.values()])
    floor = _positive_floor(allv)
    top = max(float(np.nanmax(allv, initial=floor)), floor * 10)
    first = next(iter(grids.values()))
    n_rows, n_cols = first.shape
    fig = Figure(figsize=(4 + 0.45 * n_cols * 3, 1.5 + 0.32 * n_rows), layout="constrained")
    axes = fig.subplots(1, 3, sharey=True)
    import matplotlib

    cmap = matplotlib.colormaps["viridis"].with_extremes(bad="#eeeeee")
    image = None
    for ax, (stage, grid) in zip(axes, grids.items(), strict=True):
        v = grid.to_numpy(dtype=float)
        v = np.where(v == 0, floor, v)
        image = ax.imshow(
            np.ma.masked_invalid(v), cmap=cmap, norm=LogNorm(floor, top), aspect="auto"
        )
        ax.set_title(tables.STAGES[stage])
        ax.set_xticks(range(n_cols), list(grid.columns), rotation=70, ha="right", fontsize=8)
        ax.set_yticks(range(n_rows), list(grid.index), fontsize=8)
    fig.suptitle(f"{dtype}: max relative difference scratch - PyTorch, activation x initializer")
    if image is not None:
        cb = fig.colorbar(image, ax=list(axes), shrink=0.8)
        cb.set_label(f"max relative difference (exact agreement drawn at {floor:.1g})")
    return _png(fig)


def divergence_vs_step(frame: pd.DataFrame, stage: str = "update") -> bytes:
    """Max relative |scratch - torch| of ``stage`` against step, free-running, one line per
    activation, one panel per dtype (log scale; exact agreement drawn at the floor)."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    df = tables.usable(frame)
    df = df[(df["mode"] == "free") & (df["stage"] == stage)]
    dtypes = sorted(df["dtype"].unique()) or ["float64"]
    fig = Figure(figsize=(6 * len(dtypes) + 2, 4.5), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(dtypes)))
    order = tables.ordered(df["activation"], activations.names())
    colors = _colors(len(order))
    for ax, dtype in zip(axes, dtypes, strict=True):
        d = df[df["dtype"] == dtype].groupby(["activation", "step"])["max_rel"].max()
        floor = _positive_floor(d.to_numpy(dtype=float))
        for act, color in zip(order, colors, strict=True):
            if act in d.index.get_level_values(0):
                s = d.loc[act]
                y = np.maximum(s.to_numpy(dtype=float), floor)
                ax.plot(s.index.to_numpy(dtype=int), y, marker="o", ms=3, label=act, color=color)
        ax.set_yscale("log")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("step")
        ax.set_ylabel(f"max relative difference, {tables.STAGES[stage]}")
        ax.set_title(f"{dtype}, free-running")
        ax.grid(True, which="major", alpha=0.3)
    axes[-1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5))
    return _png(fig)


def _colors(n: int) -> list[tuple[float, ...]]:
    import matplotlib

    cmap = matplotlib.colormaps["tab20"]
    return [cmap(i % 20) for i in range(n)]
