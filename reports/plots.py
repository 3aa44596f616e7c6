"""The report's PNG plots, drawn with matplotlib's Agg backend (no display needed, no pyplot
state): a heatmap of activation x initializer per dtype, and divergence against step per
activation. Each function returns PNG bytes; the PNGs carry no timestamp."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

from nnparity.scratch import activations

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


NONE_COLOUR = "#f2f2f2"  # no configuration swept
NO_NUMBERS_COLOUR = "#8c8c8c"  # every configuration raised or diverged
INF_COLOUR = "#d62728"  # non-finite on one side only: a failure


def heatmap(frame: pd.DataFrame, dtype: str) -> bytes:
    """Max relative |scratch - torch| per activation x initializer at ``dtype``, one panel per
    stage (forward, gradients, post-step weights), on a log colour scale of the finite values;
    cells with no configuration, with only configurations that raised or diverged, and with a
    comparison non-finite on one side only ('inf') each have a colour of their own, named in a
    legend."""
    from matplotlib.colors import LogNorm
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    cover = tables.coverage(frame, dtype)
    grids = {
        s: tables.activation_initializer(frame, s, dtype)
        .drop(columns="failed")
        .reindex(index=cover.index, columns=cover.columns)
        for s in PANELS
    }
    allv = np.concatenate([g.to_numpy(dtype=float).ravel() for g in grids.values()])
    finite = allv[np.isfinite(allv)]
    floor = _positive_floor(finite)
    top = max(float(finite.max(initial=floor)), floor * 10)
    norm = LogNorm(floor, top)
    n_rows, n_cols = cover.shape
    fig = Figure(figsize=(4 + 0.45 * n_cols * 3, 2.2 + 0.32 * n_rows), layout="constrained")
    axes = fig.subplots(1, 3, sharey=True)
    import matplotlib
    from matplotlib.cm import ScalarMappable

    cmap = matplotlib.colormaps["viridis"]
    special = {
        "none": (NONE_COLOUR, "no configuration swept"),
        "no numbers": (NO_NUMBERS_COLOUR, "every configuration raised or diverged"),
        "inf": (INF_COLOUR, "non-finite on one side only (failed)"),
    }
    seen: set[str] = set()
    for ax, (stage, grid) in zip(axes, grids.items(), strict=True):
        v = grid.to_numpy(dtype=float)
        kind = np.where(np.isinf(v), "inf", cover.to_numpy(dtype=str))
        kind = np.where(np.isfinite(v), "numbers", kind)
        rgba = cmap(norm(np.where(np.isfinite(v), np.maximum(np.nan_to_num(v), floor), floor)))
        for k, (colour, _) in special.items():
            mask = kind == k
            if mask.any():
                rgba[mask] = matplotlib.colors.to_rgba(colour)
                seen.add(k)
        ax.imshow(rgba, aspect="auto", interpolation="nearest")
        for i, j in zip(*np.nonzero(kind == "inf"), strict=True):
            ax.text(j, i, "inf", ha="center", va="center", fontsize=6, color="white")
        ax.set_title(tables.STAGES[stage])
        ax.set_xticks(range(n_cols), list(grid.columns), rotation=70, ha="right", fontsize=8)
        ax.set_yticks(range(n_rows), list(grid.index), fontsize=8)
        ax.set_xlabel("initializer")
    axes[0].set_ylabel("activation")
    fig.suptitle(f"{dtype}: max relative difference scratch - PyTorch, activation x initializer")
    cb = fig.colorbar(ScalarMappable(norm, cmap), ax=list(axes), shrink=0.8)
    cb.set_label(f"max relative difference (exact agreement drawn at {floor:.1g})")
    handles = [
        Patch(facecolor=special[k][0], edgecolor="#555555", label=special[k][1])
        for k in special
        if k in seen
    ]
    if handles:
        fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize=8)
    return _png(fig)


LINESTYLES = ("-", "--", "-.", ":")
MARKERS = ("o", "s", "^", "D", "v", "P", "X")


def divergence_vs_step(frame: pd.DataFrame, stage: str = "update") -> bytes:
    """Max relative |scratch - torch| of ``stage`` against step, free-running, one line per
    activation, one panel per dtype (log scale; exact agreement drawn at the floor). Lines
    differ by colour, line style and marker; non-finite comparisons (one side only) are left
    out and counted in the panel's title."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    df = tables.usable(frame)
    df = df[(df["mode"] == "free") & (df["stage"] == stage)]
    dtypes = sorted(df["dtype"].unique()) or ["float64"]
    fig = Figure(figsize=(6 * len(dtypes) + 2, 4.5), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(dtypes)))
    order = tables.ordered(df["activation"], activations.names())
    styles = _styles(len(order))
    for ax, dtype in zip(axes, dtypes, strict=True):
        dd = df[df["dtype"] == dtype]
        value = dd["max_rel"].where(np.isfinite(dd["max_rel"]))
        d = value.groupby([dd["activation"], dd["step"]]).max().dropna()
        floor = _positive_floor(d.to_numpy(dtype=float))
        for act, style in zip(order, styles, strict=True):
            if act in d.index.get_level_values(0):
                s = d.loc[act]
                y = np.maximum(s.to_numpy(dtype=float), floor)
                ax.plot(s.index.to_numpy(dtype=int), y, ms=4, lw=1.3, label=act, **style)
        ax.set_yscale("log")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("step")
        ax.set_ylabel(f"max relative difference, {tables.STAGES[stage]}")
        title = f"{dtype}, free-running"
        n_inf = int(np.isinf(dd["max_rel"]).sum())
        if n_inf:
            title += f" ({n_inf} non-finite comparison{'s' if n_inf > 1 else ''} left out)"
        ax.set_title(title)
        ax.grid(True, which="major", alpha=0.3)
    lines = {h.get_label(): h for ax in axes for h in ax.get_lines()}
    handles = [lines[a] for a in order if a in lines]  # every panel's lines, one entry each
    if handles:
        fig.legend(handles=handles, loc="outside right center", fontsize=7)
    return _png(fig)


def _styles(n: int) -> list[dict[str, object]]:
    """``n`` distinguishable line styles: tab10 colours, with line style and marker cycling
    at other periods, so no two of the first 20 lines look alike."""
    import matplotlib

    cmap = matplotlib.colormaps["tab10"]
    return [
        {
            "color": cmap(i % 10),
            "linestyle": LINESTYLES[i % len(LINESTYLES)],
            "marker": MARKERS[i % len(MARKERS)],
        }
        for i in range(n)
    ]


def layer_heatmap(frame: pd.DataFrame) -> bytes:
    """``tables.layer_types`` drawn as a heatmap: layer type x dtype, the largest fraction of
    its allowance a comparison of that layer's arrays used (log colour scale; 1 is the limit)."""
    import matplotlib
    from matplotlib.colors import LogNorm
    from matplotlib.figure import Figure

    grid = tables.layer_types(frame)
    fig = Figure(figsize=(2.5 + 1.2 * max(len(grid.columns), 1), 1.6 + 0.4 * len(grid)),
                 layout="constrained")  # fmt: skip
    ax = fig.subplots()
    v = grid.to_numpy(dtype=float) if not grid.empty else np.zeros((0, 0))
    floor = _positive_floor(v) if v.size else 1e-20
    shown = np.where(np.isfinite(v), np.maximum(np.nan_to_num(v), floor), 1.0)
    top = max(1.0, float(shown.max(initial=1.0)))
    cmap = matplotlib.colormaps["viridis"]
    image = ax.imshow(shown, aspect="auto", cmap=cmap, norm=LogNorm(vmin=floor, vmax=top))
    for i, j in np.ndindex(v.shape):
        ax.text(j, i, f"{v[i, j]:.2g}", ha="center", va="center", fontsize=8, color="white")
    ax.set_xticks(range(len(grid.columns)), list(grid.columns))
    ax.set_yticks(range(len(grid.index)), list(grid.index))
    ax.set_title("largest fraction of allowance used, by layer type")
    fig.colorbar(image, ax=ax).set_label("fraction of allowance (1: the limit)")
    return _png(fig)
