"""The report's PNG plots, drawn with matplotlib's Agg backend (no display needed, no pyplot
state): a heatmap of activation x initializer per dtype, and divergence against step per
activation, both as fractions of tolerance on one log scale for the whole report, with a
palette diverging around 1. Each function returns PNG bytes; the PNGs carry no timestamp."""

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
    fig.savefig(buf, format="png", dpi=90, metadata={"Software": None})  # type: ignore[attr-defined]
    return buf.getvalue()


NONE_COLOUR = "#ffffff"  # no configuration swept
DIVERGED_COLOUR = "#8c8c8c"  # every configuration diverged on both sides
RAISED_COLOUR = "#c9b8e6"  # every configuration raised an error
INF_COLOUR = "#67001f"  # non-finite on one side only: a failure
PALETTE = "RdBu_r"  # diverging around 1 (the tolerance): blue inside it, red outside
SPECIAL = {
    "none": (NONE_COLOUR, "", "not swept"),
    "diverged": (DIVERGED_COLOUR, "div", "diverged on both sides"),
    "raised": (RAISED_COLOUR, "err", "raised an error"),
}


def tolerance_scale(frame: pd.DataFrame) -> tuple[float, float]:
    """The one colour scale of every heatmap and table of a report: fractions of tolerance on
    a log scale symmetric around 1, from 1e-4 to 1e4, or wider when a finite value of the frame
    (any dtype, any stage) lies above 1e4; values below the lower end take its colour (far
    inside tolerance; each cell is annotated with its value)."""
    v = tables.usable(frame)["tol_used"].to_numpy(dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    decades = 4.0
    if v.size and v.max() > 1:
        decades = max(decades, float(np.ceil(np.log10(v.max()))))
    return 10.0**-decades, 10.0**decades


def tolerance_colour(value: float, scale: tuple[float, float]) -> tuple[str, str]:
    """Background and text colour (hex) of a fraction of tolerance on ``scale``: the palette
    ``PALETTE`` on a log scale, 0 at the lowest colour, inf at ``INF_COLOUR``."""
    import matplotlib
    from matplotlib.colors import LogNorm, to_hex

    if not np.isfinite(value):
        return INF_COLOUR, "#ffffff"
    lo, hi = scale
    rgba = matplotlib.colormaps[PALETTE](LogNorm(lo, hi, clip=True)(max(value, lo)))
    light = 0.299 * rgba[0] + 0.587 * rgba[1] + 0.114 * rgba[2]
    return to_hex(rgba), "#000000" if light > 0.5 else "#ffffff"


def grid_heatmap(
    panels: dict[str, pd.DataFrame],
    kinds: pd.DataFrame,
    failed: pd.DataFrame,
    scale: tuple[float, float],
    title: str,
    xlabel: str,
    ylabel: str,
) -> bytes:
    """Fractions of tolerance, one panel per entry of ``panels`` (all on the index and columns
    of ``kinds``), coloured on ``scale`` (``tolerance_colour``), each cell annotated with its
    value; ``kinds`` marks the cells without numbers ("none": not swept, "diverged", "raised"),
    ``failed`` (True where a configuration failed) boxes a cell in black. Any table of
    fractions of tolerance becomes a heatmap through this function."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch, Rectangle

    n_rows, n_cols = kinds.shape
    width = max(6.0, 2.5 + 0.55 * n_cols * len(panels))
    fig = Figure(figsize=(width, 2.6 + 0.36 * n_rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(panels), sharey=True))
    fail = failed.reindex(index=kinds.index, columns=kinds.columns).fillna(False).astype(bool)
    for ax, (name, grid) in zip(axes, panels.items(), strict=True):
        v = grid.reindex(index=kinds.index, columns=kinds.columns).to_numpy(dtype=float)
        ax.set_xlim(-0.5, n_cols - 0.5)
        ax.set_ylim(n_rows - 0.5, -0.5)
        for i in range(n_rows):
            for j in range(n_cols):
                x = v[i, j]
                kind = kinds.iat[i, j]
                if np.isnan(x):
                    colour, label, _ = SPECIAL.get(kind, SPECIAL["none"])
                    ink = "#000000"
                else:
                    colour, ink = tolerance_colour(x, scale)
                    label = "0" if x == 0 else "inf" if np.isinf(x) else f"{x:.1g}"
                ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, facecolor=colour, lw=0))
                ax.text(j, i, label, ha="center", va="center", fontsize=7, color=ink)
                if fail.iat[i, j]:
                    box = Rectangle((j - 0.46, i - 0.46), 0.92, 0.92, fill=False, lw=1.8)
                    ax.add_patch(box)
        ax.set_title(name, fontsize=11)
        ax.set_xticks(range(n_cols), list(kinds.columns), rotation=60, ha="right", fontsize=9)
        ax.set_yticks(range(n_rows), list(kinds.index), fontsize=9)
        ax.set_xlabel(xlabel, fontsize=9)
    axes[0].set_ylabel(ylabel, fontsize=9)
    fig.suptitle(title, fontsize=12)
    _colourbar(fig, list(axes), scale)
    handles = [
        Patch(facecolor=colour, edgecolor="#555555", label=f"{text or 'blank'}: {what}")
        for colour, text, what in SPECIAL.values()
    ] + [Patch(facecolor="none", edgecolor="black", lw=1.8, label="boxed: a configuration failed")]
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize=8)
    return _png(fig)


def _colourbar(fig: object, axes: list[object], scale: tuple[float, float]) -> None:
    import matplotlib
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import LogNorm

    norm = LogNorm(*scale)
    mappable = ScalarMappable(norm, matplotlib.colormaps[PALETTE])
    cb = fig.colorbar(mappable, ax=axes, shrink=0.85)  # type: ignore[attr-defined]
    cb.ax.axhline(1.0, color="black", lw=2)
    cb.set_label("fraction of tolerance (1 = at the tolerance; 0 drawn at the bottom)")
    cb.ax.tick_params(labelsize=9)


def heatmap(frame: pd.DataFrame, dtype: str) -> bytes:
    """Fraction of tolerance used per activation x initializer at ``dtype``, one panel per
    stage (forward, gradients, post-step weights), on the report's one scale
    (``tolerance_scale``: the same for every dtype)."""
    kinds = tables.coverage(frame, dtype)
    panels = {
        tables.STAGES[s]: tables.activation_initializer(frame, s, dtype, "tol_used").drop(
            columns="failed"
        )
        for s in PANELS
    }
    return grid_heatmap(
        panels,
        kinds,
        tables.failed_cells(frame, dtype),
        tolerance_scale(frame),
        f"{dtype}: fraction of tolerance used, activation x initializer (max over its "
        "configurations, steps and modes)",
        "initializer",
        "activation",
    )


DTYPE_STYLE = {
    "float32": {"color": "#d95f02", "marker": "o", "linestyle": "-"},
    "float64": {"color": "#1b9e77", "marker": "s", "linestyle": "--"},
}


def divergence_vs_step(frame: pd.DataFrame, stage: str = "update") -> bytes:
    """Fraction of tolerance of ``stage`` against step, free-running: small multiples, one
    panel per activation, one line per dtype (distinct colour, marker and line style), a
    black line at 1 (the tolerance), one log scale shared by every panel. Comparisons
    non-finite on one side only are left out and counted in the panel's title."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    df = tables.usable(frame)
    df = df[(df["mode"] == "free") & (df["stage"] == stage)]
    order = tables.ordered(df["activation"], activations.names()) or ["(none)"]
    n_cols = min(5, len(order))
    n_rows = -(-len(order) // n_cols)
    fig = Figure(figsize=(2.9 * n_cols + 1, 2.3 * n_rows + 1.2), layout="constrained")
    axes = np.atleast_2d(fig.subplots(n_rows, n_cols, sharex=True, sharey=True, squeeze=False))
    lo, hi = tolerance_scale(frame)
    for ax, act in zip(axes.ravel(), order, strict=False):
        d = df[df["activation"] == act]
        n_inf = int(np.isinf(d["tol_used"]).sum())
        for dtype in sorted(d["dtype"].unique()):
            dd = d[(d["dtype"] == dtype) & np.isfinite(d["tol_used"])]
            s = dd.groupby("step")["tol_used"].max()
            style = DTYPE_STYLE.get(dtype, {"color": "#555555", "marker": "x"})
            y = np.maximum(s.to_numpy(dtype=float), lo)
            ax.plot(s.index.to_numpy(dtype=int), y, ms=4, lw=1.4, label=dtype, **style)
        ax.axhline(1.0, color="black", lw=1.2)
        ax.set_yscale("log")
        ax.set_ylim(lo, hi)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(act + (f" ({n_inf} inf left out)" if n_inf else ""), fontsize=10)
        ax.grid(True, which="major", alpha=0.3)
    for ax in axes.ravel()[len(order) :]:
        ax.set_visible(False)
    fig.supxlabel("step")
    fig.supylabel(
        f"fraction of tolerance, {tables.STAGES[stage]} (1 = the tolerance; below 1e-4 drawn at it)"
    )
    fig.suptitle(
        f"{tables.STAGES[stage].capitalize()} against step, free-running: max fraction of "
        "tolerance per hidden activation"
    )
    lines = {h.get_label(): h for ax in axes.ravel() for h in ax.get_lines()}
    handles = [lines[d] for d in sorted(lines) if not d.startswith("_")]
    if handles:
        fig.legend(handles=handles, loc="outside right upper", fontsize=9)
    return _png(fig)


def layer_heatmap(frame: pd.DataFrame) -> bytes:
    """``tables.layer_types`` drawn as a heatmap: layer type x dtype, the largest fraction of
    its tolerance a comparison of that layer's arrays used, on the report's one colour scale."""
    grid = tables.layer_types(frame)
    kinds = pd.DataFrame("", index=grid.index, columns=grid.columns)
    kinds = kinds.mask(grid.isna(), "none")
    return grid_heatmap(
        {"all stages": grid},
        kinds,
        grid > 1,
        tolerance_scale(frame),
        "largest fraction of tolerance used, by layer type",
        "dtype",
        "layer type",
    )
